//! Secure MQTT against mosquitto: readings published over one-way and
//! mutual TLS reach a subscriber; a server the module must not trust, the
//! wrong host name, a missing client certificate and a version the server
//! does not speak fail the login with the `+UMQTTER` code the module's
//! docs give, and nothing is sent in the clear.

use std::time::Duration;

use super::module::Module;
use crate::common::PATIENCE;
use tls_servers::pki::Pki;
use tls_servers::servers::{Mosquitto, Versions};

/// Profile 0 as a host sets it for the server: the chain and the host name
/// checked against the imported CA `ca_name`, SNI, resumption on.
const CHECKED: &[&str] = &[
    "0,2",
    "3,\"ca\"",
    "4,\"localhost\"",
    "10,\"localhost\"",
    "13,0,1",
    "13,1,1",
];

/// A module with `ca_file` imported as "ca" (and the client pair when
/// `client`), its MQTT profile secure with profile 0 set to `settings`.
async fn module(
    dir: &std::path::Path,
    pki: &Pki,
    ca_file: &str,
    client: bool,
    broker_port: u16,
    settings: &[&str],
) -> Module {
    let mut m = Module::start(dir).await;
    m.import(0, "ca", &pki.pem(ca_file)).await;
    if client {
        m.import(1, "gw-cert", &pki.pem("client.pem")).await;
        m.import(2, "gw-key", &pki.pem("client.key")).await;
    }
    m.security_profile(0, settings).await;
    m.mqtt_profile("gw-1", broker_port, 0).await;
    m
}

async fn receive(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> (String, Vec<u8>) {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("nothing reached the subscriber")
        .expect("subscriber died")
}

async fn readings_reach_the_subscriber(versions: Versions, mutual: bool) {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, versions, mutual);
    let mut received = broker.subscriber("gw/#").await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = CHECKED.to_vec();
    if mutual {
        settings.extend(["5,\"gw-cert\"", "6,\"gw-key\""]);
    }
    let mut m = module(
        dir.path(),
        &pki,
        "ca.pem",
        mutual,
        broker.tls_port,
        &settings,
    )
    .await;
    let login = m.login().await;
    assert!(login.ok, "{login:?}\n{}", broker.log());
    // §3.4.1: the status before the client's own URC; a new session came.
    assert_eq!(login.urcs, vec!["+UUSECPRF: 0,13,0,2".to_string()]);
    for (topic, reading) in [
        ("gw/temperature", "21.5"),
        ("gw/humidity", "48"),
        ("gw/battery", "3.61"),
    ] {
        m.publish(topic, reading).await;
        assert_eq!(
            receive(&mut received).await,
            (topic.to_string(), reading.as_bytes().to_vec())
        );
    }
    m.logout().await;
    let handshakes = m.handshakes().await;
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    let expected = match versions {
        Versions::Tls12 => lexi_sim::TlsVersion::Tls12,
        Versions::Tls13 => lexi_sim::TlsVersion::Tls13,
    };
    assert_eq!(handshakes[0].version, expected);
    assert!(!handshakes[0].resumed);
    assert_eq!(handshakes[0].failure, None);
    // The broker saw the client and its DISCONNECT, through TLS.
    let log = broker.log();
    assert!(log.contains("as gw-1"), "{log}");
    assert!(log.contains("Client gw-1 disconnected."), "{log}");
}

#[tokio::test]
async fn readings_reach_a_subscriber_over_one_way_tls_1_3() {
    readings_reach_the_subscriber(Versions::Tls13, false).await;
}

#[tokio::test]
async fn readings_reach_a_subscriber_over_one_way_tls_1_2() {
    readings_reach_the_subscriber(Versions::Tls12, false).await;
}

#[tokio::test]
async fn readings_reach_a_subscriber_over_mutual_tls_1_3() {
    readings_reach_the_subscriber(Versions::Tls13, true).await;
}

#[tokio::test]
async fn readings_reach_a_subscriber_over_mutual_tls_1_2() {
    readings_reach_the_subscriber(Versions::Tls12, true).await;
}

#[tokio::test]
async fn imports_answer_the_md5_the_openssl_tool_computes_and_are_listed() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut m = Module::start(dir.path()).await;
    assert_eq!(
        m.import(0, "ca", &pki.pem("ca.pem")).await,
        pki.certificate_md5("ca.pem")
    );
    assert_eq!(
        m.import(1, "gw-cert", &pki.pem("client.pem")).await,
        pki.certificate_md5("client.pem")
    );
    m.import(2, "gw-key", &pki.pem("client.key")).await;
    let list = m.ok("AT+USECMNG=3").await;
    let lines: Vec<&str> = list.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{list:?}");
    assert!(
        lines[0].starts_with("CA,\"ca\",\"Test Root CA\",\""),
        "{list:?}"
    );
    assert!(
        lines[1].starts_with("CC,\"gw-cert\",\"gateway-1\",\""),
        "{list:?}"
    );
    assert_eq!(lines[2], "PK,\"gw-key\"");
    // Kept in NVM: a fresh simulator on the same directory has them.
    drop(m);
    let mut again = Module::start(dir.path()).await;
    assert_eq!(again.ok("AT+USECMNG=3").await, list);
}

/// Logs in with `settings` and expects the login to fail with `code`
/// before any MQTT byte reached the broker.
async fn refused(
    versions: Versions,
    mutual: bool,
    ca_file: &str,
    client: bool,
    settings: &[&str],
    code: &str,
) {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, versions, mutual);
    let dir = tempfile::tempdir().unwrap();
    let mut m = module(dir.path(), &pki, ca_file, client, broker.tls_port, settings).await;
    let login = m.login().await;
    assert!(!login.ok, "{login:?}");
    assert!(login.urcs.is_empty(), "no status URC: {login:?}");
    assert_eq!(m.mqtt_error().await, code);
    let handshakes = m.handshakes().await;
    assert!(
        handshakes.iter().all(|h| h.failure.is_some()),
        "{handshakes:?}"
    );
    // A failed handshake never falls back to plain text: no MQTT client
    // ever got to the broker.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!broker.log().contains("gw-1"), "{}", broker.log());
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_13_70() {
    refused(
        Versions::Tls13,
        false,
        "other-ca.pem",
        false,
        CHECKED,
        "13,70",
    )
    .await;
    refused(
        Versions::Tls12,
        false,
        "other-ca.pem",
        false,
        CHECKED,
        "13,70",
    )
    .await;
}

#[tokio::test]
async fn a_server_certificate_for_another_host_name_is_13_71() {
    let mut settings = CHECKED.to_vec();
    settings[2] = "4,\"broker.example.com\"";
    refused(Versions::Tls13, false, "ca.pem", false, &settings, "13,71").await;
}

#[tokio::test]
async fn a_missing_client_certificate_is_13_73_with_tls_1_2_and_1_3() {
    // TLS 1.3: the server refuses after the client's Finished; TLS 1.2:
    // inside the handshake.
    refused(Versions::Tls13, true, "ca.pem", false, CHECKED, "13,73").await;
    refused(Versions::Tls12, true, "ca.pem", false, CHECKED, "13,73").await;
}

#[tokio::test]
async fn a_minimum_version_the_server_does_not_reach_is_13_72() {
    let mut settings = CHECKED.to_vec();
    settings.push("1,4");
    refused(Versions::Tls12, false, "ca.pem", false, &settings, "13,72").await;
}

/// `yy/MM/dd,hh:mm:ss+00` for the host's clock now (`+CCLK`'s form, UTC).
fn cclk_now() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%y/%m/%d,%H:%M:%S+00"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn level_3_checks_the_dates_on_the_modules_clock() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls13, false);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = CHECKED.to_vec();
    settings[0] = "0,3";
    let mut m = module(
        dir.path(),
        &pki,
        "ca.pem",
        false,
        broker.tls_port,
        &settings,
    )
    .await;
    // The clock after boot says 2015: the certificates are not valid yet.
    let login = m.login().await;
    assert!(!login.ok, "{login:?}");
    assert_eq!(m.mqtt_error().await, "13,70");
    m.ok(&format!("AT+CCLK=\"{}\"", cclk_now())).await;
    let login = m.login().await;
    assert!(login.ok, "{login:?}\n{}", broker.log());
}
