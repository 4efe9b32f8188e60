//! Session resumption (§3.4) across simulators: the session data a module
//! hands out after its first login is all a FRESH simulator (a rebooted
//! gateway: new process state, new NVM directory) needs to resume the
//! session with the real server, with TLS 1.2 and 1.3, and it costs far
//! fewer handshake bytes. mosquitto shows that the resumed session
//! carries readings; `openssl s_server` says itself that it resumed.

use lexi_sim::TlsConnection;

use super::module::Module;
use crate::common::PATIENCE;
use tls_servers::pki::Pki;
use tls_servers::servers::{Mosquitto, SServer, Versions};

/// The settings every module of these tests gives profile 0, resumption
/// on (type `resumption_type`), plus `extra`.
fn settings<'a>(resumption_type: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "0,2",
        "3,\"ca\"",
        "4,\"localhost\"",
        "10,\"localhost\"",
        "13,0,1",
        resumption_type,
    ];
    all.extend_from_slice(extra);
    all
}

/// A module on a new NVM directory with the CA (and the client pair when
/// `mutual`) imported and profile 0 set.
async fn fresh_module(
    pki: &Pki,
    dir: &tempfile::TempDir,
    mutual: bool,
    profile: &[&str],
    port: u16,
    imei: Option<&str>,
) -> Module {
    let mut m = Module::start_with_imei(dir.path(), imei).await;
    m.import(0, "ca", &pki.pem("ca.pem")).await;
    let mut profile = profile.to_vec();
    if mutual {
        m.import(1, "gw-cert", &pki.pem("client.pem")).await;
        m.import(2, "gw-key", &pki.pem("client.key")).await;
        profile.extend(["5,\"gw-cert\"", "6,\"gw-key\""]);
    }
    m.security_profile(0, &profile).await;
    m.mqtt_profile("gw-1", port, 0).await;
    m
}

fn bytes(h: &TlsConnection) -> u64 {
    h.bytes_sent + h.bytes_received
}

/// The one handshake a module made: resumed or not, as `resumed`.
async fn only_handshake(m: &Module, resumed: bool) -> TlsConnection {
    let handshakes = m.handshakes().await;
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    let h = handshakes[0].clone();
    assert_eq!(h.failure, None, "{h:?}");
    assert_eq!(h.resumed, resumed, "{h:?}");
    assert_eq!(h.attempts, 1, "{h:?}");
    h
}

/// Far fewer: the server sends no certificate and no signature, so it
/// sends under a third of what it did (with TLS 1.3 that includes the new
/// tickets), and the whole exchange is at least a third smaller (a TLS 1.3
/// ClientHello carrying a ticket stays large).
fn far_fewer(full: &TlsConnection, resumed: &TlsConnection) {
    assert!(
        resumed.bytes_received * 3 < full.bytes_received && bytes(resumed) * 3 < bytes(full) * 2,
        "full {full:?}, resumed {resumed:?}"
    );
}

async fn a_fresh_simulator_resumes_with_mosquitto(versions: Versions, mutual: bool) {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, versions, mutual);
    let mut received = broker.subscriber("gw/#").await;
    let profile = settings("13,1,1", &[]);

    let first_dir = tempfile::tempdir().unwrap();
    let mut first = fresh_module(&pki, &first_dir, mutual, &profile, broker.tls_port, None).await;
    let login = first.login().await;
    assert!(login.ok, "{login:?}\n{}", broker.log());
    assert_eq!(login.urcs, vec!["+UUSECPRF: 0,13,0,2".to_string()]);
    let (data, size) = first.session_data(0, 3).await;
    assert_eq!(size, data.len());
    first.logout().await;
    let full = only_handshake(&first, false).await;
    first.sim.shutdown();
    drop(first);

    let second_dir = tempfile::tempdir().unwrap();
    let mut with_data = profile.clone();
    let set = format!("13,3,{data},{size}");
    with_data.push(&set);
    let mut second =
        fresh_module(&pki, &second_dir, mutual, &with_data, broker.tls_port, None).await;
    let login = second.login().await;
    assert!(login.ok, "{login:?}\n{}", broker.log());
    assert_eq!(login.urcs, vec!["+UUSECPRF: 0,13,0,2".to_string()]);
    second.publish("gw/temperature", "21.5").await;
    let got = tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("nothing reached the subscriber")
        .expect("subscriber died");
    assert_eq!(got, ("gw/temperature".to_string(), b"21.5".to_vec()));
    let resumed = only_handshake(&second, true).await;
    far_fewer(&full, &resumed);
    let energy = second.sim.energy().await.unwrap();
    assert_eq!((energy.tls.full.count, energy.tls.resumed.count), (0, 1));
    assert_eq!(energy.tls.resumed.bytes_sent, resumed.bytes_sent);
    assert!(energy.tls.resumed.millijoules > 0.0);
    let status = second.status(second_dir.path()).await;
    assert!(
        status.ends_with(&format!(
            " tls=0,1,0 tls_bytes={},{}",
            resumed.bytes_sent, resumed.bytes_received
        )),
        "{status}"
    );
}

#[tokio::test]
async fn session_data_another_server_issued_costs_one_full_handshake_and_gives_new_data() {
    let pki = Pki::new();
    let issuer = Mosquitto::start(&pki, Versions::Tls13, false);
    let other = Mosquitto::start(&pki, Versions::Tls13, false);
    let profile = settings("13,1,1", &[]);
    let first_dir = tempfile::tempdir().unwrap();
    let mut first = fresh_module(&pki, &first_dir, false, &profile, issuer.tls_port, None).await;
    assert!(first.login().await.ok);
    let (data, size) = first.session_data(0, 3).await;
    first.logout().await;
    first.sim.shutdown();
    drop(first);

    // Its tickets mean nothing to another broker (its own ticket keys).
    let second_dir = tempfile::tempdir().unwrap();
    let set = format!("13,3,{data},{size}");
    let mut with_data = profile.clone();
    with_data.push(&set);
    let mut second = fresh_module(&pki, &second_dir, false, &with_data, other.tls_port, None).await;
    let login = second.login().await;
    assert!(login.ok, "{login:?}");
    assert_eq!(login.urcs, vec!["+UUSECPRF: 0,13,0,2".to_string()]);
    only_handshake(&second, false).await;
    let (new_data, _) = second.session_data(0, 3).await;
    assert_ne!(new_data, data);
    assert!(second
        .status(second_dir.path())
        .await
        .contains(" tls=1,0,0 "));
}

#[tokio::test]
async fn a_fresh_simulator_resumes_with_mosquitto_over_tls_1_3() {
    a_fresh_simulator_resumes_with_mosquitto(Versions::Tls13, false).await;
}

#[tokio::test]
async fn a_fresh_simulator_resumes_with_mosquitto_over_mutual_tls_1_2() {
    a_fresh_simulator_resumes_with_mosquitto(Versions::Tls12, true).await;
}

/// MQTT's CONNACK, accepted: what s_server is told to answer a CONNECT.
const CONNACK: &[u8] = &[0x20, 0x02, 0x00, 0x00];

/// MQTT's DISCONNECT: what a logout sends.
const DISCONNECT: &[u8] = &[0xE0, 0x00];

/// One login through s_server, answering the module's CONNECT with a
/// CONNACK; then a logout, whose DISCONNECT must reach the server. Returns
/// what s_server printed for the connection up to the CONNECT.
async fn login_through(server: &mut SServer, m: &mut Module) -> String {
    let from = server.printed();
    m.login_start().await;
    // The protocol name of the CONNECT, as s_server shows what it got.
    let connect = server.wait_for(b"\x00\x04MQTT", from).await;
    server.send(CONNACK);
    let login = m.login_verdict().await;
    assert!(login.ok, "{login:?}\n{}", server.text(from, usize::MAX));
    assert_eq!(login.urcs, vec!["+UUSECPRF: 0,13,0,2".to_string()]);
    m.logout().await;
    server.wait_for(DISCONNECT, connect).await;
    server.text(from, connect)
}

async fn s_server_says_a_fresh_simulator_resumed(versions: Versions, encrypted: bool) {
    let pki = Pki::new();
    let mut server = SServer::start(&pki, versions).await;
    let (kind, op) = if encrypted {
        ("13,1,11", 13)
    } else {
        ("13,1,1", 3)
    };
    let profile = settings(kind, &[]);

    let first_dir = tempfile::tempdir().unwrap();
    let mut first = fresh_module(&pki, &first_dir, false, &profile, server.port, None).await;
    let printed = login_through(&mut server, &mut first).await;
    assert!(!printed.contains("Reused session-id"), "{printed}");
    let (data, size) = first.session_data(0, op).await;
    let full = only_handshake(&first, false).await;
    first.sim.shutdown();
    drop(first);

    let second_dir = tempfile::tempdir().unwrap();
    let set = format!("13,{op},{data},{size}");
    let mut with_data = profile.clone();
    with_data.push(&set);
    if encrypted {
        // Another module cannot open what this one's root of trust sealed.
        let other_dir = tempfile::tempdir().unwrap();
        let mut other = Module::start_with_imei(other_dir.path(), Some("490154203237518")).await;
        other.ok("AT+USECPRF=0,13,1,11").await;
        assert_eq!(
            other
                .answer(&format!("AT+USECPRF=0,13,13,{data},{size}"))
                .await,
            "\r\n+CME ERROR: 50\r\n"
        );
    }
    let mut second = fresh_module(&pki, &second_dir, false, &with_data, server.port, None).await;
    let printed = login_through(&mut server, &mut second).await;
    assert!(printed.contains("Reused session-id"), "{printed}");
    let resumed = only_handshake(&second, true).await;
    far_fewer(&full, &resumed);
}

#[tokio::test]
async fn s_server_says_a_fresh_simulator_resumed_over_tls_1_2() {
    s_server_says_a_fresh_simulator_resumed(Versions::Tls12, false).await;
}

#[tokio::test]
async fn s_server_says_a_fresh_simulator_resumed_over_tls_1_3() {
    s_server_says_a_fresh_simulator_resumed(Versions::Tls13, false).await;
}

#[tokio::test]
async fn encrypted_session_data_resumes_on_the_same_module_only() {
    s_server_says_a_fresh_simulator_resumed(Versions::Tls13, true).await;
}
