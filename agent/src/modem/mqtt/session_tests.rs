//! The session against a scripted module on a duplex, paused clock.

use std::time::Duration;

use super::*;
use crate::modem::test_peer::{start, Peer};

fn options() -> SessionOptions {
    SessionOptions::new(
        1,
        "devices/gw/telemetry".into(),
        Some("devices/gw/commands".into()),
    )
}

/// Login and subscription as the note shows them (§6.2, §6.3).
async fn accept_login(peer: &mut Peer) {
    peer.ok_then("AT+UMQTTC=1", "+UUMQTTC: 1,1").await;
    peer.ok_then(
        "AT+UMQTTC=4,1,\"devices/gw/commands\"",
        "+UUMQTTC: 4,1,1,\"devices/gw/commands\"",
    )
    .await;
}

/// Takes a binary publish: prompt, exactly the announced bytes, `OK`, then
/// `urc` if any. Returns the command and the bytes.
async fn take_publish(peer: &mut Peer, urc: Option<&str>) -> (String, Vec<u8>) {
    let cmd = peer.command().await;
    assert!(cmd.starts_with("AT+UMQTTC=9,"), "{cmd}");
    let len: usize = cmd.rsplit(',').next().unwrap().parse().unwrap();
    peer.say(b"\r\n>").await;
    let data = peer.exact(len).await;
    peer.say(b"\r\nOK\r\n").await;
    if let Some(urc) = urc {
        peer.say(format!("\r\n{urc}\r\n").as_bytes()).await;
    }
    (cmd, data)
}

#[tokio::test(start_paused = true)]
async fn login_publish_confirmed_and_logout() {
    let (at, mut peer) = start();
    let module = async {
        accept_login(&mut peer).await;
        let (cmd, data) = take_publish(&mut peer, Some("+UUMQTTC: 2,1")).await;
        assert_eq!(cmd, "AT+UMQTTC=9,1,0,\"devices/gw/telemetry\",5");
        assert_eq!(data, b"hello");
        // The binary publish's own op number is accepted as well.
        take_publish(&mut peer, Some("+UUMQTTC: 9,1")).await;
        peer.ok_then("AT+UMQTTC=0", "+UUMQTTC: 0,1").await;
    };
    let client = async {
        let mut s = MqttSession::connect(&at, options()).await.unwrap();
        assert!(s.is_connected());
        s.publish(b"hello".to_vec()).await.unwrap();
        s.publish(b"again".to_vec()).await.unwrap();
        s.logout().await.unwrap();
    };
    tokio::join!(client, module);
}

#[tokio::test(start_paused = true)]
async fn a_secure_login_remembers_the_session_resumption_state_the_module_reported() {
    let (at, mut peer) = start();
    let module = async {
        // §3.4.2: the status URC comes with the handshake, before the result.
        peer.ok("AT+UMQTTC=1").await;
        peer.say(b"\r\n+UUSECPRF: 0,13,0,2\r\n\r\n+UUMQTTC: 1,1\r\n")
            .await;
        peer.ok_then(
            "AT+UMQTTC=4,1,\"devices/gw/commands\"",
            "+UUMQTTC: 4,1,1,\"devices/gw/commands\"",
        )
        .await;
    };
    let client = async { MqttSession::connect(&at, options()).await.unwrap() };
    let (session, ()) = tokio::join!(client, module);
    assert_eq!(session.resumption(), Some((0, 2)));
}

#[tokio::test(start_paused = true)]
async fn a_refused_login_is_explained_by_umqtter_and_classified() {
    let (at, mut peer) = start();
    let module = async {
        peer.ok_then("AT+UMQTTC=1", "+UUMQTTC: 1,0").await;
        assert_eq!(peer.command().await, "AT+UMQTTER");
        peer.say(b"\r\n+UMQTTER: 13,50\r\n\r\nOK\r\n").await;
    };
    let (result, ()) = tokio::join!(MqttSession::connect(&at, options()), module);
    match result {
        Err(e @ SessionError::LoginRefused { error }) => {
            assert_eq!(
                error,
                MqttErrorCode {
                    class: 13,
                    code: 50
                }
            );
            assert!(e.is_retryable(), "no PDP context is worth a retry");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_login_without_result_times_out() {
    let (at, mut peer) = start();
    let module = async { peer.ok("AT+UMQTTC=1").await };
    let started = tokio::time::Instant::now();
    let (result, ()) = tokio::join!(MqttSession::connect(&at, options()), module);
    assert!(
        matches!(result, Err(SessionError::LoginTimeout(_))),
        "{result:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_publish_never_confirmed_is_not_delivered_and_hands_the_payload_back() {
    let (at, mut peer) = start();
    let module = async {
        accept_login(&mut peer).await;
        take_publish(&mut peer, None).await;
    };
    let client = async {
        let mut s = MqttSession::connect(&at, options()).await.unwrap();
        s.publish(b"reading-1".to_vec()).await
    };
    let (result, ()) = tokio::join!(client, module);
    let e = result.unwrap_err();
    assert!(matches!(e.reason, PublishFailure::Timeout(_)), "{e}");
    assert_eq!(e.payload, b"reading-1");
    assert!(e.session_lost());
}

#[tokio::test(start_paused = true)]
async fn a_session_dropped_mid_publish_fails_the_publish() {
    let (at, mut peer) = start();
    let module = async {
        accept_login(&mut peer).await;
        take_publish(&mut peer, Some("+UUMQTTC: 0,101")).await;
    };
    let client = async {
        let mut s = MqttSession::connect(&at, options()).await.unwrap();
        let r = s.publish(b"x".to_vec()).await;
        (r, s.is_connected())
    };
    let ((result, connected), ()) = tokio::join!(client, module);
    let e = result.unwrap_err();
    assert!(matches!(e.reason, PublishFailure::Dropped(101)), "{e}");
    assert_eq!(e.payload, b"x");
    assert!(!connected);
}

#[derive(Default)]
struct Recorder(Vec<(Command, Message)>);

impl DownlinkHandler for Recorder {
    fn on_command(&mut self, command: &Command, message: &Message) {
        self.0.push((command.clone(), message.clone()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_downlink_message_is_read_byte_exact_and_an_unknown_command_answered() {
    let (at, mut peer) = start();
    let payload: &[u8] = b"\"\r\nOK\r\n\x00\xffping";
    let topic = "devices/gw/commands";
    let module = async {
        accept_login(&mut peer).await;
        peer.say(b"\r\n+UUMQTTC: 6,2\r\n").await;
        for body in [payload, b"ping".as_slice()] {
            assert_eq!(peer.command().await, "AT+UMQTTC=6,1");
            let mut line = format!(
                "\r\n+UMQTTC: 6,1,{},{},\"{topic}\",{},\"",
                topic.len() + body.len(),
                topic.len(),
                body.len()
            )
            .into_bytes();
            line.extend_from_slice(body);
            line.extend_from_slice(b"\"\r\n\r\nOK\r\n");
            peer.say(&line).await;
            let (cmd, reply) = take_publish(&mut peer, Some("+UUMQTTC: 2,1")).await;
            assert!(cmd.contains("\"devices/gw/commands/reply\""), "{cmd}");
            if body == b"ping" {
                assert_eq!(reply, b"pong");
            } else {
                assert!(reply.starts_with(b"error: unknown command"));
            }
        }
    };
    let client = async {
        let mut s = MqttSession::connect(&at, options()).await.unwrap();
        // Let the URC arrive, as it would between two uploads.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut handler = Recorder::default();
        let read = s.service_downlink(&mut handler).await.unwrap();
        (read, handler)
    };
    let ((read, handler), ()) = tokio::join!(client, module);
    assert_eq!(read, 2);
    assert_eq!(handler.0[0].1.payload, payload);
    assert_eq!(handler.0[0].1.topic, topic);
    assert_eq!(handler.0[0].1.qos, 1);
    assert!(matches!(handler.0[0].0, Command::Unknown(_)));
    assert_eq!(handler.0[1].0, Command::Ping);
}

#[test]
fn the_state_machine_types_urcs_by_what_it_waits_for() {
    let urc = |op, result| Urc::MqttResult {
        op,
        result,
        rest: vec![],
    };
    let mut s = SessionState::default();
    assert_eq!(
        s.handle(&urc(2, 1)),
        None,
        "a confirmation nobody waits for"
    );
    s.awaiting(Waiting::Login);
    assert_eq!(s.handle(&urc(1, 1)), Some(Event::LoggedIn));
    assert!(s.connected);
    assert_eq!(s.handle(&urc(6, 3)), Some(Event::Unread(3)));
    s.awaiting(Waiting::Publish);
    assert_eq!(s.handle(&urc(6, 1)), Some(Event::Unread(1)));
    assert_eq!(s.waiting, Waiting::Publish, "still waiting for the publish");
    assert_eq!(s.handle(&urc(9, 0)), Some(Event::PublishFailed));
    assert_eq!(s.handle(&urc(0, 100)), Some(Event::Dropped { reason: 100 }));
    assert!(!s.connected);
    assert_eq!(s.handle(&Urc::Other { line: "+X".into() }), None);
}

#[test]
fn commands_are_parsed_and_unknown_ones_kept() {
    assert_eq!(Command::parse(b"flush"), Command::Flush);
    assert_eq!(Command::parse(b" ping\r\n"), Command::Ping);
    assert_eq!(
        Command::parse(b"\xffreboot"),
        Command::Unknown("\u{fffd}reboot".into())
    );
}

#[test]
fn plugin_commands_name_the_instance_and_keep_the_payload_byte_for_byte() {
    assert_eq!(
        Command::parse(b"plugin synthetic {\"rate\": 2}\n"),
        Command::Plugin {
            instance: "synthetic".into(),
            payload: b"{\"rate\": 2}\n".to_vec()
        }
    );
    assert_eq!(
        Command::parse(b"plugin raw \xff\x00"),
        Command::Plugin {
            instance: "raw".into(),
            payload: vec![0xff, 0x00]
        }
    );
    assert_eq!(
        Command::parse(b"plugin sysfs"),
        Command::Plugin {
            instance: "sysfs".into(),
            payload: Vec::new()
        }
    );
    assert_eq!(
        Command::parse(b"plugin "),
        Command::Unknown("plugin".into())
    );
}

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
    let base = Duration::from_secs(1);
    let max = Duration::from_secs(300);
    assert_eq!(backoff(0, base, max, 0.0), Duration::from_millis(500));
    assert_eq!(backoff(0, base, max, 1.0), Duration::from_secs(1));
    assert_eq!(backoff(3, base, max, 0.0), Duration::from_secs(4));
    assert_eq!(backoff(3, base, max, 0.5), Duration::from_secs(6));
    assert_eq!(backoff(20, base, max, 1.0), max);
    assert_eq!(backoff(u32::MAX, base, max, 0.0), max / 2);
    for attempt in 0..40 {
        let d = backoff(attempt, base, max, 0.99);
        assert!(d <= max && d >= backoff(attempt, base, max, 0.0));
    }
}
