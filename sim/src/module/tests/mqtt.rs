//! The embedded MQTT client (§6): the profile, NVM, the session and its
//! URCs, publishes text and binary, reading messages.

use super::*;
use crate::jobs::{MqttCommand, MqttEvent, MqttFailure};

// ---- MQTT (§6) ----------------------------------------------------------

const FACTORY_UMQTT: &[&str] = &[
    "+UMQTT: 0,\"357862090033897\"",
    "+UMQTT: 2,\"\",1883",
    "+UMQTT: 3,\"\",1883",
    "+UMQTT: 4,\"\"",
    "+UMQTT: 6,0",
    "+UMQTT: 7,0",
    "+UMQTT: 8,\"\"",
    "+UMQTT: 9,0,\"\"",
    "+UMQTT: 10,0",
    "+UMQTT: 11,0",
    "+UMQTT: 12,1",
    "+UMQTT: 20,1,0",
];

fn mqtt_ready() -> Harness {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h
}

#[test]
fn umqtt_read_is_the_notes_format_and_sets_show_up() {
    let mut h = mqtt_ready();
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
    for line in [
        "AT+UMQTT=0,\"gw-1\"",
        "AT+UMQTT=1,50000",
        "AT+UMQTT=2, \"192.168.105.30\", 1883",
        "AT+UMQTT=4,\"user\",\"secret\"",
        "AT+UMQTT=6,1",
        "AT+UMQTT=7,1",
        "AT+UMQTT=8,\"u-blox/publish\"",
        "AT+UMQTT=9,\"Unrequested disconnect.\"",
        "AT+UMQTT=10,30",
        "AT+UMQTT=11,1,2",
        "AT+UMQTT=12,0",
        "AT+UMQTT=20,2,1",
    ] {
        assert_eq!(h.send(line), OK, "{line}");
    }
    assert_eq!(
        h.send("AT+UMQTT?"),
        ok_with(&[
            "+UMQTT: 0,\"gw-1\"",
            "+UMQTT: 2,\"192.168.105.30\",1883",
            "+UMQTT: 3,\"\",1883",
            "+UMQTT: 4,\"user\"",
            "+UMQTT: 6,1",
            "+UMQTT: 7,1",
            "+UMQTT: 8,\"u-blox/publish\"",
            "+UMQTT: 9,0,\"Unrequested disconnect.\"",
            "+UMQTT: 10,30",
            "+UMQTT: 11,1,2",
            "+UMQTT: 12,0",
            "+UMQTT: 20,2,1",
        ])
    );
    assert_eq!(h.send("AT+UMQTT=1"), ok_with(&["+UMQTT: 1,50000"]));
    // A name clears the address [model]; the port is shared.
    assert_eq!(h.send("AT+UMQTT=3,\"broker.test\",8883"), OK);
    assert_eq!(
        h.send("AT+UMQTT=2;+UMQTT=3"),
        ok_with(&["+UMQTT: 2,\"\",8883", "+UMQTT: 3,\"broker.test\",8883"])
    );
    assert!(!h.send("AT+UMQTT?").contains("secret"));
}

#[test]
fn umqtt_refuses_bad_values_in_every_cmee_form() {
    let mut h = mqtt_ready();
    for bad in [
        "AT+UMQTT=2,\"not-an-ip\",1883",
        "AT+UMQTT=2,\"10.0.0.1\",0",
        "AT+UMQTT=6,3",
        "AT+UMQTT=7,2",
        "AT+UMQTT=9,\"XYZ\",1",
        "AT+UMQTT=20,0,0",
        "AT+UMQTT=5,1",
        "AT+UMQTT=0,17",
        "AT+UMQTT=11,1",
    ] {
        h.send("AT+CMEE=0");
        assert_eq!(h.send(bad), ERROR, "{bad}");
        h.send("AT+CMEE=1");
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
        h.send("AT+CMEE=2");
        assert_eq!(
            h.send(bad),
            "\r\n+CME ERROR: incorrect parameters\r\n",
            "{bad}"
        );
    }
    h.send("AT+CMEE=0");
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
}

#[test]
fn the_notes_typos_answer_error() {
    let mut h = mqtt_ready();
    h.send("AT+CMEE=2");
    assert_eq!(h.send("AT+UMQTTTC=1"), ERROR);
    assert_eq!(h.send("AT+UUMQTTTC: 2,1"), ERROR);
    assert_eq!(h.send("AT+UMQTTTC=6,1"), ERROR);
}

#[test]
fn umqttnv_stores_loads_and_resets_and_a_boot_forgets_the_volatile_profile() {
    let mut h = mqtt_ready();
    h.send("AT+UMQTT=2,\"185.215.193.15\",1883");
    h.take_effects();
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert_eq!(
        saves[0].mqtt.as_ref().map(|p| p.server_ip.as_str()),
        Some("185.215.193.15")
    );
    // Storing the same profile again writes nothing.
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    assert!(h.saves().is_empty());
    assert_eq!(h.m.snapshot().nvm_writes, 1);
    assert_eq!(h.send("AT+UMQTTNV=0"), OK);
    assert_eq!(h.send("AT+UMQTT=2"), ok_with(&["+UMQTT: 2,\"\",1883"]));
    assert_eq!(h.send("AT+UMQTTNV=1"), OK);
    assert_eq!(
        h.send("AT+UMQTT=2"),
        ok_with(&["+UMQTT: 2,\"185.215.193.15\",1883"])
    );
    // A reboot loses the volatile profile; NVM keeps it.
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+UMQTT=2"), ok_with(&["+UMQTT: 2,\"\",1883"]));
    h.send("AT+UMQTTNV=1");
    assert_eq!(
        h.send("AT+UMQTT=2"),
        ok_with(&["+UMQTT: 2,\"185.215.193.15\",1883"])
    );
    assert_eq!(h.send("AT+UMQTTNV=3"), ERROR);
}

#[test]
fn session_ops_need_a_session() {
    let mut h = mqtt_ready();
    h.send("AT+CMEE=1");
    for op in [
        "AT+UMQTTC=0",
        "AT+UMQTTC=2,0,0,0,\"t\",\"m\"",
        "AT+UMQTTC=4,0,\"t\"",
        "AT+UMQTTC=5,\"t\"",
        "AT+UMQTTC=8,1",
        "AT+UMQTTC=9,0,0,\"t\",3",
    ] {
        assert_eq!(h.send(op), "\r\n+CME ERROR: 3\r\n", "{op}");
    }
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 38,3"]));
    // Reading an empty inbox is fine [model].
    assert_eq!(h.send("AT+UMQTTC=6,1"), OK);
}

#[test]
fn login_without_pdp_fails_with_13_50() {
    let mut cfg = config();
    cfg.sim_pin = Some("1234".into()); // never entered: never registers
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    h.send("AT+UMQTT=2,\"127.0.0.1\",1883");
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,50"]));
}

/// A module whose session job reported CONNACK; returns the job id.
pub(super) fn logged_in(h: &mut Harness) -> JobId {
    h.send("AT+UMQTT=3,\"localhost\",1883");
    h.take_effects();
    assert_eq!(h.send("AT+UMQTTC=1"), OK);
    let (id, job) = h.started_job();
    let Job::Mqtt(login) = job else {
        panic!("not an MQTT job: {job:?}");
    };
    assert_eq!(login.client_id, "357862090033897");
    assert_eq!(login.host, "localhost");
    assert_eq!(
        h.job(id, JobEvent::Mqtt(MqttEvent::Connected)),
        urcs(&["+UUMQTTC: 1,1"])
    );
    assert!(h.m.snapshot().mqtt_connected);
    id
}

pub(super) fn commands(h: &mut Harness) -> Vec<MqttCommand> {
    h.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::MqttCommand(_, c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn binary_publish_takes_exactly_len_bytes_of_anything() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=9,1,0,\"t/bin\",9"), "\r\n>");
    // URCs wait while the payload comes.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Message {
                topic: "x".into(),
                qos: 0,
                payload: vec![1]
            })
        ),
        ""
    );
    let payload = b"\"\r\nOK\r\n\0\xff";
    assert_eq!(h.run(Input::Bytes(&payload[..4])), "");
    assert_eq!(
        h.run(Input::Bytes(&payload[4..])),
        format!("{OK}{}", urcs(&["+UUMQTTC: 6,1"]))
    );
    let cmds = commands(&mut h);
    let [MqttCommand::Publish {
        tag,
        topic,
        qos: 1,
        retain: false,
        payload: sent,
    }] = &cmds[..]
    else {
        panic!("{cmds:?}");
    };
    assert_eq!(topic, "t/bin");
    assert_eq!(sent, payload);
    // §6.5: a binary publish completes as 2,1.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: *tag,
                ok: true
            })
        ),
        urcs(&["+UUMQTTC: 2,1"])
    );
    // The line after the payload is a command again.
    assert_eq!(h.send("AT"), OK);
}

#[test]
fn text_publish_hex_mode_read_format_and_never_confirm() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=2,0,0,1,\"module/hex\",\"ABCD3031\""), OK);
    let cmds = commands(&mut h);
    assert!(
        matches!(&cmds[..], [MqttCommand::Publish { payload, .. }] if payload == &[0xAB, 0xCD, 0x30, 0x31]),
        "{cmds:?}"
    );
    assert_eq!(h.send("AT+UMQTTC=2,0,0,1,\"module/hex\",\"ABC\""), ERROR);
    // Messages: raw bytes, then hex.
    for _ in 0..2 {
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Message {
                topic: "module/special".into(),
                qos: 1,
                payload: b"\"this is\r\0\"".to_vec(),
            }),
        );
    }
    assert_eq!(
        h.send("AT+UMQTTC=6,1"),
        format!("\r\n+UMQTTC: 6,1,25,14,\"module/special\",11,\"\"this is\r\0\"\"\r\n{OK}")
    );
    assert_eq!(
        h.send("AT+UMQTTC=6,1,1"),
        format!("\r\n+UMQTTC: 6,1,25,14,\"module/special\",11,\"22746869732069730D0022\"\r\n{OK}")
    );
    // never confirm: the publish goes out, its URC never comes.
    h.control(Control::MqttNeverConfirmNext(1));
    h.send("AT+UMQTTC=2,1,0,0,\"t\",\"a\"");
    h.send("AT+UMQTTC=2,1,0,0,\"t\",\"b\"");
    let tags: Vec<u64> = commands(&mut h)
        .into_iter()
        .filter_map(|c| match c {
            MqttCommand::Publish { tag, .. } => Some(tag),
            _ => None,
        })
        .collect();
    assert_eq!(tags.len(), 2);
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: tags[0],
                ok: true
            })
        ),
        ""
    );
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: tags[1],
                ok: true
            })
        ),
        urcs(&["+UUMQTTC: 2,1"])
    );
}

#[test]
fn session_end_urcs() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    h.send("AT+UMQTTC=8,1");
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Lost(MqttFailure::PingTimeout))
        ),
        urcs(&["+UUMQTTC: 8,0", "+UUMQTTC: 0,100"])
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 37,100"]));
    let id = logged_in(&mut h);
    assert_eq!(
        h.control(Control::MqttDropSession),
        urcs(&["+UUMQTTC: 0,101"])
    );
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));
    // A late event of the dropped session is ignored.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published { tag: 1, ok: true })
        ),
        ""
    );
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=0"), OK);
    assert_eq!(
        h.job(id, JobEvent::Mqtt(MqttEvent::LoggedOut)),
        urcs(&["+UUMQTTC: 0,1"])
    );
    // Radio loss ends a session (§6.7).
    logged_in(&mut h);
    assert_eq!(
        h.send("AT+CFUN=4"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 0,101"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 34,1"]));
}

#[test]
fn a_failed_login_says_why() {
    let mut h = mqtt_ready();
    h.send("AT+UMQTT=2,\"127.0.0.1\",1");
    h.take_effects();
    h.send("AT+UMQTTC=1");
    let (id, _) = h.started_job();
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::LoginFailed(MqttFailure::ConnectFailed))
        ),
        urcs(&["+UUMQTTC: 1,0"])
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 35,1"]));
    // Secure MQTT (issue 13): a security profile naming a client
    // certificate the module does not have fails before connecting.
    h.send("AT+UMQTT=11,1,0");
    h.send("AT+USECPRF=0,5,\"nope\"");
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,73"]));
}

#[test]
fn a_reboot_ends_the_session_silently_and_late_events_are_ignored() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    h.control(Control::Reboot);
    assert!(h.take_effects().contains(&Effect::CancelAllJobs));
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.job(id, JobEvent::Mqtt(MqttEvent::LoggedOut)), "");
    assert!(!h.m.snapshot().mqtt_connected);
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+UMQTTC=0"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
}
