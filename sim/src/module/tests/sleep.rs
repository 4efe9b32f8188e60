//! The power-state machine (`sleep.rs`) on a made-up clock.

use super::mqtt::{commands, logged_in};
use super::*;
use crate::jobs::MqttEvent;

/// A booted, registered module with echo off whose RRC connection from
/// registration has gone idle: quiet, ready to sleep once `+UPSV` allows.
pub(super) fn idle() -> Harness {
    idle_with(config())
}

fn idle_with(cfg: SimConfig) -> Harness {
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    assert_eq!(h.m.power_mode(), PowerMode::Idle);
    h
}

pub(super) const TIMEOUT: Duration = Duration::from_millis(5000);

pub(super) fn mode(h: &Harness) -> PowerMode {
    h.m.snapshot().power_mode
}

/// `AT+UPSV=...` answered OK.
fn upsv(h: &mut Harness, line: &str) {
    assert_eq!(h.send(line), OK, "{line}");
}

/// Puts an idle module into Hibernate with the URCs on.
fn hibernating() -> Harness {
    let mut h = idle();
    upsv(&mut h, "AT+USLPURC=\"HIBNATE\",1");
    upsv(&mut h, "AT+UPSV=1,5000,4");
    assert_eq!(h.advance(TIMEOUT), urcs(&["+UUSLPURC: HIB 1"]));
    assert_eq!(mode(&h), PowerMode::Hibernate);
    h
}

/// Pulses the wake line and lets the wake complete; returns what was sent.
pub(super) fn wake(h: &mut Harness) -> String {
    let mut sent = h.control(Control::WakeLine);
    let wake = h.timing().wake;
    sent += &h.advance(wake);
    sent
}

#[test]
fn no_sleep_without_upsv() {
    let mut h = idle();
    for _ in 0..10 {
        h.advance(Duration::from_secs(600));
    }
    assert_eq!(mode(&h), PowerMode::Idle);
    upsv(&mut h, "AT+UPSV=1,5000,4");
    upsv(&mut h, "AT+UPSV=0");
    h.advance(Duration::from_secs(600));
    assert_eq!(mode(&h), PowerMode::Idle);
    assert_eq!(h.send("AT+UPSV?"), ok_with(&["+UPSV: 0,5000,4"]));
}

#[test]
fn sleeps_after_the_timeout_of_quiet_and_a_command_restarts_it() {
    let mut h = idle();
    upsv(&mut h, "AT+UPSV=1,5000,2");
    assert_eq!(h.send("AT+UPSV?"), ok_with(&["+UPSV: 1,5000,2"]));
    h.advance(Duration::from_millis(4000));
    // A command 4 s in: the 5 s start again from here.
    assert_eq!(h.send("AT"), OK);
    h.advance(Duration::from_millis(4000));
    assert_eq!(mode(&h), PowerMode::Idle);
    h.advance(Duration::from_millis(1000));
    assert_eq!(mode(&h), PowerMode::Sleep1);
}

#[test]
fn radio_traffic_keeps_it_awake_until_rrc_goes_idle() {
    // Straight after registration the RRC connection is up: Active.
    let mut h = Harness::ready(config());
    h.send("ATE0");
    upsv(&mut h, "AT+UPSV=1,1000,4");
    assert_eq!(mode(&h), PowerMode::Active);
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc - Duration::from_millis(1));
    assert_eq!(mode(&h), PowerMode::Active);
    h.advance(Duration::from_millis(1));
    assert_eq!(mode(&h), PowerMode::Idle);
    h.advance(Duration::from_millis(1000));
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn a_vote_down_blocks_its_level_and_deeper_and_a_vote_up_lifts_it() {
    let mut h = idle();
    upsv(&mut h, "AT+USLPVOTE=1,2");
    upsv(&mut h, "AT+USLPVOTE=0,0");
    assert_eq!(
        h.send("AT+USLPVOTE?"),
        ok_with(&["+USLPVOTE: 1,2", "+USLPVOTE: 0,0"])
    );
    upsv(&mut h, "AT+UPSV=1,5000,4");
    for _ in 0..5 {
        h.advance(Duration::from_secs(60));
    }
    assert_eq!(mode(&h), PowerMode::Idle);
    upsv(&mut h, "AT+USLPVOTE=0,1");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);

    // Level 4 blocks Hibernate only: Sleep-2 is still allowed.
    let mut h = idle();
    upsv(&mut h, "AT+USLPVOTE=1,4");
    upsv(&mut h, "AT+USLPVOTE=0,0");
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep2);

    // Level 3 blocks Sleep-2 and Hibernate: Sleep-1.
    let mut h = idle();
    upsv(&mut h, "AT+USLPVOTE=1,3");
    upsv(&mut h, "AT+USLPVOTE=0,0");
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
}

#[test]
fn the_deepest_mode_is_respected() {
    for (line, want) in [
        ("AT+UPSV=1,5000,2", PowerMode::Sleep1),
        ("AT+UPSV=1,5000,3", PowerMode::Sleep2),
        ("AT+UPSV=1,5000,4", PowerMode::Hibernate),
        // Omitted: the default deepest mode, 4 [model].
        ("AT+UPSV=1,5000", PowerMode::Hibernate),
    ] {
        let mut h = idle();
        upsv(&mut h, line);
        h.advance(TIMEOUT);
        assert_eq!(mode(&h), want, "{line}");
    }
}

#[test]
fn bad_parameters_are_refused() {
    let mut h = idle();
    h.send("AT+CMEE=1");
    for bad in [
        "AT+UPSV=2",
        "AT+UPSV=1,0",
        "AT+UPSV=1,5000,1",
        "AT+UPSV=1,5000,5",
        "AT+UPSV=1,\"5000\"",
        "AT+USLPVOTE=0,2",
        "AT+USLPVOTE=1,1",
        "AT+USLPVOTE=2,1",
        "AT+USLPVOTE=0",
        "AT+USLPURC=\"SLEEP1\",1",
        "AT+USLPURC=\"SLEEP2\",2",
        "AT+USLPURC=SLEEP2,1",
        "AT+UUSBCONF=100",
        "AT+UUSBCONF=-1",
        "AT+UUSBCONF=1,2",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
    assert_eq!(h.send("AT+UPSV?"), ok_with(&["+UPSV: 0,5000,4"]));
    assert_eq!(h.send("AT+UUSBCONF=99"), OK);
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 99"]));
}

#[test]
fn sleep_urcs_only_when_enabled_in_the_notes_exact_form() {
    // Off by default: entering and leaving deep sleep is silent.
    let mut h = idle();
    upsv(&mut h, "AT+UPSV=1,5000,3");
    assert_eq!(h.advance(TIMEOUT), "");
    assert_eq!(mode(&h), PowerMode::Sleep2);
    assert_eq!(wake(&mut h), "");
    assert_eq!(mode(&h), PowerMode::Idle);

    let mut h = idle();
    upsv(&mut h, "AT+USLPURC=\"SLEEP2\",1");
    assert_eq!(
        h.send("AT+USLPURC?"),
        ok_with(&["+USLPURC: \"SLEEP2\",1", "+USLPURC: \"HIBNATE\",0"])
    );
    upsv(&mut h, "AT+UPSV=1,5000,3");
    assert_eq!(h.advance(TIMEOUT), "\r\n+UUSLPURC: SLP2 1\r\n");
    assert_eq!(wake(&mut h), "\r\n+UUSLPURC: SLP2 0\r\n");
    h.send("ATE0"); // echo came back with the wake
                    // The SLEEP2 setting says nothing about Hibernate.
    upsv(&mut h, "AT+UPSV=1,5000,4");
    assert_eq!(h.advance(TIMEOUT), "");
    assert_eq!(mode(&h), PowerMode::Hibernate);

    let mut h = hibernating();
    assert_eq!(wake(&mut h), "\r\n+UUSLPURC: HIB 0\r\n");
}

#[test]
fn deep_sleep_drops_uart_bytes_until_the_wake_line() {
    let mut h = hibernating();
    h.take_effects();
    assert_eq!(h.send("AT"), "");
    assert_eq!(h.send("AT+CGMI"), "");
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.send("AT"), "");
    assert_eq!(mode(&h), PowerMode::Hibernate);
    // Still deaf while it wakes.
    assert_eq!(h.control(Control::WakeLine), "");
    assert_eq!(h.send("AT"), "");
    let wake = h.timing().wake;
    assert_eq!(h.advance(wake), "\r\n+UUSLPURC: HIB 0\r\n");
    // Echo is on again: volatile state was lost.
    assert_eq!(h.send("AT"), format!("AT\r{OK}"));
    assert_eq!(mode(&h), PowerMode::Idle);
    // None of the dropped lines reached the module.
    let lines: Vec<Effect> = h
        .take_effects()
        .into_iter()
        .filter(|e| matches!(e, Effect::CommandLine(_)))
        .collect();
    assert_eq!(lines, vec![Effect::CommandLine("AT".into())]);
}

#[test]
fn hibernate_loses_volatile_state_but_keeps_nvm_registration_and_sleep_settings() {
    let mut h = idle();
    h.send("AT+CMEE=2");
    h.send("AT+CEREG=1");
    h.send("AT+UMQTT=2,\"185.215.193.15\",1883");
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    h.send("AT+UMQTT=4,\"only-in-ram\"");
    upsv(&mut h, "AT+USLPURC=\"HIBNATE\",1");
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    let writes = h.m.snapshot().nvm_writes;
    wake(&mut h);
    let snap = h.m.snapshot();
    assert!(snap.echo);
    assert_eq!((snap.cmee, snap.cereg_n), (0, 0));
    assert_eq!(snap.reg_stat, RegStat::Home, "[model] registration kept");
    assert_eq!(snap.nvm_writes, writes, "a sleep writes no NVM");
    h.send("ATE0");
    assert_eq!(h.send("AT+UMQTT=2"), ok_with(&["+UMQTT: 2,\"\",1883"]));
    assert_eq!(h.send("AT+UMQTT=4"), ok_with(&["+UMQTT: 4,\"\""]));
    assert_eq!(h.send("AT+UMQTTNV=1"), OK);
    assert_eq!(
        h.send("AT+UMQTT=2"),
        ok_with(&["+UMQTT: 2,\"185.215.193.15\",1883"])
    );
    assert_eq!(h.send("AT+UPSV?"), ok_with(&["+UPSV: 1,5000,4"]));
    // A reboot, unlike a sleep, resets the sleep settings [model].
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+UPSV?"), ok_with(&["+UPSV: 0,5000,4"]));
    assert_eq!(
        h.send("AT+USLPURC?"),
        ok_with(&["+USLPURC: \"SLEEP2\",0", "+USLPURC: \"HIBNATE\",0"])
    );
}

#[test]
fn sleep1_keeps_state_and_the_waking_byte_is_lost() {
    let mut h = idle();
    h.send("AT+CMEE=2");
    upsv(&mut h, "AT+UPSV=1,5000,2");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
    // `A` wakes the module and is lost: `T` alone is no command.
    assert_eq!(h.send("AT"), ERROR);
    assert_eq!(mode(&h), PowerMode::Idle);
    assert_eq!(h.send("AT+CMEE?"), ok_with(&["+CMEE: 2"]));
}

#[test]
fn an_mqtt_session_allows_sleep1_only_and_operations_in_flight_keep_it_awake() {
    let mut h = idle();
    let id = logged_in(&mut h);
    upsv(&mut h, "AT+UPSV=1,5000,4");
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
    // A message from the broker wakes it (a job event).
    h.job(
        id,
        JobEvent::Mqtt(MqttEvent::Message {
            topic: "t".into(),
            qos: 0,
            payload: b"x".to_vec(),
        }),
    );
    assert_eq!(mode(&h), PowerMode::Active);
    // A publish that is never reported keeps it awake, RRC idle or not.
    h.send("\r"); // the byte a Sleep-1 wake would eat, were it asleep
    assert_eq!(h.send("AT+UMQTTC=2,1,0,0,\"t\",\"m\""), OK);
    h.advance(rrc);
    for _ in 0..5 {
        h.advance(TIMEOUT);
    }
    assert_eq!(mode(&h), PowerMode::Idle);
    let tag = commands(&mut h)
        .into_iter()
        .find_map(|c| match c {
            MqttCommand::Publish { tag, .. } => Some(tag),
            _ => None,
        })
        .unwrap();
    h.job(id, JobEvent::Mqtt(MqttEvent::Published { tag, ok: true }));
    h.advance(rrc);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
    // After logout nothing holds it: Hibernate.
    h.send("\r");
    assert_eq!(h.send("AT+UMQTTC=0"), OK);
    h.job(id, JobEvent::Mqtt(MqttEvent::LoggedOut));
    h.advance(rrc);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn a_pending_dns_job_keeps_it_awake() {
    let mut h = idle();
    upsv(&mut h, "AT+UPSV=1,5000,4");
    assert_eq!(h.send("AT+UDNSRN=0,\"broker.test\""), OK);
    let (id, _) = h.started_job();
    for _ in 0..10 {
        h.advance(TIMEOUT);
    }
    assert_eq!(mode(&h), PowerMode::Idle);
    h.job(id, JobEvent::Resolved(None));
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn not_registered_allows_sleep1_only() {
    let mut h = idle();
    h.send("AT+COPS=2");
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
}

#[test]
fn network_data_wakes_a_hibernating_module_and_its_urcs_follow_the_wake_urc() {
    let mut h = hibernating();
    let now = h.now;
    h.m.wake_for_network_data(now);
    // What the socket chapter would raise for the data.
    h.m.urc("+UUSORD: 0,30".to_string());
    assert_eq!(h.run(Input::Tick), "");
    let wake = h.timing().wake;
    assert_eq!(
        h.advance(wake),
        urcs(&["+UUSLPURC: HIB 0", "+UUSORD: 0,30"])
    );
    assert_eq!(mode(&h), PowerMode::Idle);
}

#[test]
fn the_wake_line_boots_a_module_that_is_off_and_an_awake_one_ignores_it() {
    let mut h = idle();
    assert_eq!(h.control(Control::WakeLine), "");
    assert_eq!(mode(&h), PowerMode::Idle);
    h.control(Control::PowerOff);
    assert_eq!(mode(&h), PowerMode::Off);
    h.control(Control::WakeLine);
    assert_eq!(mode(&h), PowerMode::Booting);
}

#[test]
fn the_power_log_is_in_module_time() {
    let mut cfg = config();
    cfg.time_scale = 0.5;
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    h.send("AT+UPSV=1,5000,4");
    // Real time is half module time here.
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.advance(Duration::from_millis(2500));
    h.control(Control::WakeLine);
    h.advance(h.timing().wake);
    let log: Vec<(u64, PowerMode)> =
        h.m.power_log()
            .iter()
            .map(|e| (e.at.as_millis() as u64, e.state))
            .collect();
    // Boot 6 s, registration 2 s, RRC tail 10 s, UPSV 5 s, wake 0.5 s.
    assert_eq!(
        log,
        vec![
            (0, PowerMode::Booting),
            (6000, PowerMode::Idle),
            (8000, PowerMode::Active),
            (18000, PowerMode::Idle),
            (23000, PowerMode::Hibernate),
            (23500, PowerMode::Idle),
        ]
    );
    let now = h.now;
    let report = h.m.energy_report(now);
    assert_eq!(report.elapsed, Duration::from_millis(23500));
    assert_eq!(
        report.time_in(PowerMode::Hibernate),
        Duration::from_millis(500)
    );
    assert_eq!(report.rrc_connections, 1);
}

#[test]
fn mqtt_traffic_is_counted_in_radio_bytes() {
    let mut h = idle();
    let id = logged_in(&mut h);
    let before = h.m.energy_report(h.now);
    assert!(before.radio_bytes_sent > 0, "the CONNECT counts");
    h.send("AT+UMQTTC=2,1,0,0,\"t/x\",\"hello\"");
    let after = h.m.energy_report(h.now);
    // Topic 3 + payload 5 + the [model] overhead.
    assert_eq!(after.radio_bytes_sent - before.radio_bytes_sent, 3 + 5 + 46);
    h.job(
        id,
        JobEvent::Mqtt(MqttEvent::Message {
            topic: "in".into(),
            qos: 0,
            payload: vec![0; 10],
        }),
    );
    let last = h.m.energy_report(h.now);
    assert_eq!(
        last.radio_bytes_received - after.radio_bytes_received,
        2 + 10 + 46
    );
    assert!(last.radio_mj > before.radio_mj);
}

#[test]
fn an_unlocked_sim_stays_unlocked_through_hibernate() {
    let mut cfg = config();
    cfg.sim_pin = Some("1234".into());
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    assert_eq!(h.send("AT+CPIN=\"1234\""), OK);
    let (reg, rrc) = (h.timing().registration, h.timing().rrc_inactivity);
    h.advance(reg);
    h.advance(rrc);
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    wake(&mut h);
    assert!(h.m.snapshot().sim_ready, "[model] the SIM stays unlocked");
}

fn usb_connected() -> SimConfig {
    let mut cfg = config();
    cfg.usb_connected = true;
    cfg
}

#[test]
fn a_connected_usb_allows_sleep1_only_until_usb_is_off() {
    let mut h = idle_with(usb_connected());
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 0"]));
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
    // Any value but 99 keeps USB on.
    h.send("\r"); // the lost byte that wakes it
    assert_eq!(h.send("AT+UUSBCONF=1"), OK);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Sleep1);
    h.send("\r");
    assert_eq!(h.send("AT+UUSBCONF=99"), OK);
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 99"]));
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn without_a_usb_cable_the_usb_setting_never_limits_sleep() {
    let mut h = idle();
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 0"]));
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn the_usb_setting_is_in_nvm_written_once_and_kept_across_reboot_and_deep_sleep() {
    let mut h = idle_with(usb_connected());
    let writes = h.m.snapshot().nvm_writes;
    assert_eq!(h.send("AT+UUSBCONF=99"), OK);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert_eq!(saves[0].usb_conf, 99);
    assert_eq!(h.m.snapshot().nvm_writes, writes + 1);
    // The same value again writes nothing.
    assert_eq!(h.send("AT+UUSBCONF=99"), OK);
    assert!(h.saves().is_empty());
    assert_eq!(h.m.snapshot().nvm_writes, writes + 1);

    h.control(Control::Reboot);
    let (boot, reg, rrc) = (
        h.timing().boot,
        h.timing().registration,
        h.timing().rrc_inactivity,
    );
    h.advance(boot);
    h.advance(reg);
    h.advance(rrc);
    h.send("ATE0");
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 99"]));
    // Still off after the reboot: Hibernate is allowed, and a wake from
    // it keeps the value too.
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    wake(&mut h);
    h.send("ATE0");
    assert_eq!(h.send("AT+UUSBCONF?"), ok_with(&["+UUSBCONF: 99"]));
    assert_eq!(h.m.snapshot().nvm_writes, writes + 1);
}

#[test]
fn a_usb_setting_loaded_from_nvm_is_in_effect_from_boot() {
    let nvm = NvmImage {
        usb_conf: 99,
        ..NvmImage::default()
    };
    let mut h = Harness::ready_with_nvm(usb_connected(), nvm);
    h.send("ATE0");
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    upsv(&mut h, "AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}
