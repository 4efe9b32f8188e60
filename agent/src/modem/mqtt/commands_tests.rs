//! The `+UMQTT*` commands' text and their answers' parsing.

use super::*;
use crate::modem::at::Line;

fn answer(lines: &[&str]) -> Response {
    Response::from_lines(lines)
}

#[test]
fn set_commands_follow_the_note_and_mask_the_password() {
    let cases = [
        (
            ProfileSetting::ClientId("357862090033897".into()),
            "AT+UMQTT=0,\"357862090033897\"",
        ),
        (
            ProfileSetting::ServerIp {
                address: "192.168.105.30".into(),
                port: 1883,
            },
            "AT+UMQTT=2,\"192.168.105.30\",1883",
        ),
        (
            ProfileSetting::ServerName {
                name: "broker.example".into(),
                port: 8883,
            },
            "AT+UMQTT=3,\"broker.example\",8883",
        ),
        (ProfileSetting::WillQos(1), "AT+UMQTT=6,1"),
        (ProfileSetting::WillRetain(true), "AT+UMQTT=7,1"),
        (
            ProfileSetting::WillTopic("u-blox/publish".into()),
            "AT+UMQTT=8,\"u-blox/publish\"",
        ),
        (
            ProfileSetting::WillMessage("Unrequested disconnect.".into()),
            "AT+UMQTT=9,\"Unrequested disconnect.\"",
        ),
        (ProfileSetting::KeepAlive(30), "AT+UMQTT=10,30"),
        (ProfileSetting::Secure(None), "AT+UMQTT=11,0"),
        (ProfileSetting::Secure(Some(2)), "AT+UMQTT=11,1,2"),
        (ProfileSetting::CleanSession(false), "AT+UMQTT=12,0"),
        (
            ProfileSetting::PdpMapping { cid: 2, ip_type: 1 },
            "AT+UMQTT=20,2,1",
        ),
    ];
    for (setting, text) in cases {
        let cmd = SetProfile(setting);
        assert_eq!(cmd.text(), text);
        assert_eq!(cmd.label(), text);
    }
    let creds = SetProfile(ProfileSetting::Credentials {
        username: "agent".into(),
        password: "hunter2".into(),
    });
    assert_eq!(creds.text(), "AT+UMQTT=4,\"agent\",\"hunter2\"");
    assert_eq!(creds.label(), "AT+UMQTT=4,\"agent\",\"***\"");
    assert!(!format!("{creds:?}").contains("hunter2"));
}

#[test]
fn profile_read_from_the_note_is_typed() {
    let p = ReadProfile
        .parse(&answer(&[
            r#"+UMQTT: 0, "357862090033897""#,
            r#"+UMQTT: 2,"185.215.193.15",1883"#,
            r#"+UMQTT: 3, "", 1883"#,
            r#"+UMQTT: 4, """#,
            "+UMQTT: 6, 0",
            "+UMQTT: 7,0",
            r#"+UMQTT: 8,"""#,
            r#"+UMQTT: 9,0,"""#,
            "+UMQTT: 10,0",
            "+UMQTT: 11,0",
        ]))
        .unwrap();
    assert_eq!(p.client_id.as_deref(), Some("357862090033897"));
    assert_eq!(p.server_ip, Some(("185.215.193.15".into(), 1883)));
    assert_eq!(p.server_name, Some((String::new(), 1883)));
    assert_eq!(p.username.as_deref(), Some(""));
    assert_eq!((p.will_qos, p.will_retain), (Some(0), Some(false)));
    assert_eq!(p.will_topic.as_deref(), Some(""));
    assert_eq!(p.will_message.as_deref(), Some(""));
    assert_eq!(p.keepalive, Some(0));
    assert_eq!(p.secure, Some(false));
    assert!(p.other.is_empty());
    assert!(ReadProfile.parse(&answer(&[])).is_err());
}

#[test]
fn nvm_and_session_commands_are_spelt_as_in_the_note() {
    assert_eq!(ProfileNvm::RestoreFactory.text(), "AT+UMQTTNV=0");
    assert_eq!(ProfileNvm::Load.text(), "AT+UMQTTNV=1");
    assert_eq!(ProfileNvm::Save.text(), "AT+UMQTTNV=2");
    assert_eq!(Login.text(), "AT+UMQTTC=1");
    assert_eq!(Logout.text(), "AT+UMQTTC=0");
    let sub = Subscribe {
        qos: 0,
        topic: "module/lights".into(),
    };
    assert_eq!(sub.text(), "AT+UMQTTC=4,0,\"module/lights\"");
    let unsub = Unsubscribe {
        topic: "module/lights".into(),
    };
    assert_eq!(unsub.text(), "AT+UMQTTC=5,\"module/lights\"");
    assert_eq!(PingLoop(true).text(), "AT+UMQTTC=8,1");
    assert_eq!(ReadMessage::default().text(), "AT+UMQTTC=6,1");
    assert_eq!(ReadMessage { hex: true }.text(), "AT+UMQTTC=6,1,1");
    let publish = PublishBinary {
        qos: 1,
        retain: false,
        topic: "module/special".into(),
        payload: b"\"this is an example\"\r".to_vec(),
    };
    assert_eq!(publish.text(), "AT+UMQTTC=9,1,0,\"module/special\",21");
    assert_eq!(
        publish.data(),
        Some((Prompt::Greater, &publish.payload[..]))
    );
}

/// A `+UMQTTC: 6` line as the codec hands it over: payload ranges located.
fn counted_line(text: &[u8], topic: &[u8], msg: &[u8]) -> Response {
    let find = |needle: &[u8], from: usize| {
        let at = text[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
            + from;
        at..at + needle.len()
    };
    let t = find(topic, 0);
    let m = find(msg, t.end);
    Response {
        lines: vec![Line {
            bytes: text.to_vec(),
            counted: vec![t, m],
        }],
        stream: None,
    }
}

#[test]
fn message_read_from_the_note_is_typed() {
    let r = counted_line(
        br#"+UMQTTC: 6,0,27,13,"module/lights",14,"light_1 is red""#,
        b"module/lights",
        b"light_1 is red",
    );
    let m = ReadMessage::default().parse(&r).unwrap().unwrap();
    assert_eq!(m.qos, 0);
    assert_eq!(m.topic, "module/lights");
    assert_eq!(m.payload, b"light_1 is red");
    // §6.5: quotes and a CR inside, read by length.
    let msg = b"\"this is an example\"\r";
    let mut text = b"+UMQTTC: 6,0,35,14,\"module/special\",21,\"".to_vec();
    text.extend_from_slice(msg);
    text.push(b'"');
    let m = ReadMessage::default()
        .parse(&counted_line(&text, b"module/special", msg))
        .unwrap()
        .unwrap();
    assert_eq!(m.payload, msg);
}

#[test]
fn hex_mode_message_is_decoded() {
    let r = counted_line(
        br#"+UMQTTC: 6,0,14,10,"module/hex",4,"ABCD3031""#,
        b"module/hex",
        b"ABCD3031",
    );
    let m = ReadMessage { hex: true }.parse(&r).unwrap().unwrap();
    assert_eq!(m.payload, [0xAB, 0xCD, 0x30, 0x31]);
    assert_eq!(ReadMessage::default().parse(&answer(&[])).unwrap(), None);
}

#[test]
fn mqtt_error_from_the_note_is_typed_and_classified() {
    let e = ReadMqttError.parse(&answer(&["+UMQTTER: 13,50"])).unwrap();
    assert_eq!(
        e,
        MqttErrorCode {
            class: 13,
            code: 50
        }
    );
    assert!(e.is_retryable());
    assert!(e.to_string().contains("PDP context not active"), "{e}");
    assert!(MqttErrorCode { class: 1, code: 33 }.is_retryable());
    assert!(MqttErrorCode { class: 1, code: 34 }.is_retryable());
    assert!(!MqttErrorCode { class: 3, code: 5 }.is_retryable());
}
