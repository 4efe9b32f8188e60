//! The run-time TLS steps against a scripted module: what is set before a
//! login, what is read and kept after it, what a TLS failure drops. The
//! session data crosses a store reopen, as it crosses a reboot.

use super::*;
use crate::modem::mqtt::session::{MqttSession, SessionOptions};
use crate::modem::security::{
    Credential, CredentialKind, MinTlsVersion, Resumption, SecurityProfile, Validation,
};
use crate::modem::test_peer::{start, Peer};
use crate::store::OpenMode;

const TICKET: &str = "AAECAwQFBgcICQ==";

fn tls() -> Tls {
    Tls {
        transport: "MQTT",
        settings: TlsSettings {
            credentials: vec![Credential {
                kind: CredentialKind::Ca,
                name: "ea-ca-0123456789ab".into(),
                pem: b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_vec(),
                md5: "0123456789abcdef0123456789abcdef".into(),
            }],
            profile: SecurityProfile {
                id: 0,
                validation: Validation::ChainAndHostname,
                min_version: MinTlsVersion::Tls1_2,
                ca_names: vec!["ea-ca-0123456789ab".into()],
                client_cert: None,
                client_key: None,
                hostname: Some("broker.example".into()),
                sni: Some("broker.example".into()),
                resumption: Resumption::Ticket,
            },
        },
        server: "broker.example".into(),
        port: 8883,
        ca_file: Some("/etc/edge-agent/ca.pem".into()),
        cert_file: None,
        module_holds_data: false,
        offered: false,
        kept_this_session: false,
        full_handshakes: 0,
        resumed: 0,
    }
}

fn options() -> SessionOptions {
    SessionOptions::new(1, "t".into(), None)
}

/// The module applies the profile: the reset, then every op.
async fn take_profile(peer: &mut Peer) {
    peer.ok("AT+USECPRF=0").await;
    for op in [
        "0,2",
        "1,3",
        "3,\"ea-ca-0123456789ab\"",
        "4,\"broker.example\"",
        "10,\"broker.example\"",
        "13,0,1",
        "13,1,1",
    ] {
        peer.ok(&format!("AT+USECPRF=0,{op}")).await;
    }
}

/// A login; `status` the resumption URC sent with the handshake, if any.
async fn take_login(peer: &mut Peer, status: Option<u8>) {
    peer.ok("AT+UMQTTC=1").await;
    if let Some(status) = status {
        peer.say(format!("\r\n+UUSECPRF: 0,13,0,{status}\r\n").as_bytes())
            .await;
    }
    peer.say(b"\r\n+UUMQTTC: 1,1\r\n").await;
}

async fn take_read(peer: &mut Peer, data: &str) {
    assert_eq!(peer.command().await, "AT+USECPRF=0,13,3");
    peer.say(
        format!(
            "\r\n+USECPRF: 0,13,3,\"{data}\",{}\r\n\r\nOK\r\n",
            data.len()
        )
        .as_bytes(),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_first_boot_pays_a_full_handshake_and_the_next_offers_the_kept_data() {
    let dir = tempfile::tempdir().unwrap();
    // First boot: nothing kept, nothing offered; the data is read and kept.
    {
        let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
        let (at, mut peer) = start();
        let mut tls = tls();
        let client = async {
            tls.restore(&at).await.unwrap();
            tls.before_login(&at, &store, Some(1_800_000_000)).await;
            let session = MqttSession::connect(&at, options()).await.unwrap();
            tls.logged_in(&at, &store, session.resumption(), Some(1_800_000_000))
                .await;
            // Asked again before the logout: read once per session.
            tls.keep_session_data(&at, &store, session.resumption(), Some(1_800_000_000))
                .await;
        };
        let module = async {
            take_profile(&mut peer).await;
            take_login(&mut peer, Some(2)).await;
            take_read(&mut peer, TICKET).await;
        };
        tokio::join!(client, module);
        assert_eq!(
            tls.counts(),
            HandshakeCounts {
                full: 1,
                resumed: 0
            }
        );
    }
    // Next boot (the module forgot everything): the kept data is offered.
    let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
    let (at, mut peer) = start();
    let mut tls = tls();
    let client = async {
        tls.restore(&at).await.unwrap();
        tls.before_login(&at, &store, Some(1_800_000_100)).await;
        let session = MqttSession::connect(&at, options()).await.unwrap();
        tls.logged_in(&at, &store, session.resumption(), Some(1_800_000_100))
            .await;
        // A second login in the same boot: the module holds its own data,
        // nothing is set.
        session.logout().await.unwrap();
        tls.before_login(&at, &store, Some(1_800_000_200)).await;
        let session = MqttSession::connect(&at, options()).await.unwrap();
        tls.logged_in(&at, &store, session.resumption(), Some(1_800_000_200))
            .await;
    };
    let module = async {
        take_profile(&mut peer).await;
        peer.ok(&format!("AT+USECPRF=0,13,3,{TICKET},{}", TICKET.len()))
            .await;
        take_login(&mut peer, Some(2)).await;
        take_read(&mut peer, TICKET).await;
        peer.ok_then("AT+UMQTTC=0", "+UUMQTTC: 0,1").await;
        take_login(&mut peer, None).await;
    };
    tokio::join!(client, module);
    assert_eq!(
        tls.counts(),
        HandshakeCounts {
            full: 0,
            resumed: 2
        }
    );
    assert!(peer.log.iter().filter(|l| l.contains(",13,3,")).count() == 1);
}

#[tokio::test(start_paused = true)]
async fn a_tls_failure_with_offered_data_drops_it_so_the_next_login_is_a_full_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
    let mut tls = tls();
    tls.cache(&store)
        .save(
            &crate::modem::security::SessionData {
                base64: TICKET.into(),
            },
            Some(1_800_000_000),
        )
        .unwrap();
    let (at, mut peer) = start();
    let client = async {
        tls.before_login(&at, &store, Some(1_800_000_000)).await;
        let error = MqttSession::connect(&at, options()).await.unwrap_err();
        tls.login_failed(&at, &store, error.tls_failure())
            .await
            .unwrap();
        tls.before_login(&at, &store, Some(1_800_000_000)).await;
    };
    let module = async {
        peer.ok(&format!("AT+USECPRF=0,13,3,{TICKET},{}", TICKET.len()))
            .await;
        peer.ok_then("AT+UMQTTC=1", "+UUMQTTC: 1,0").await;
        assert_eq!(peer.command().await, "AT+UMQTTER");
        peer.say(b"\r\n+UMQTTER: 13,74\r\n\r\nOK\r\n").await;
        // The module's copy is cleared by a fresh profile; nothing is
        // offered again.
        take_profile(&mut peer).await;
    };
    tokio::join!(client, module);
    assert_eq!(
        tls.cache(&store).load(Some(1_800_000_000)).unwrap(),
        Stored::None
    );
    assert!(!tls.offered);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_that_is_not_tls_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
    let mut tls = tls();
    let data = crate::modem::security::SessionData {
        base64: TICKET.into(),
    };
    tls.cache(&store).save(&data, Some(1_800_000_000)).unwrap();
    let (at, mut peer) = start();
    let client = async {
        tls.before_login(&at, &store, Some(1_800_000_000)).await;
        let error = MqttSession::connect(&at, options()).await.unwrap_err();
        tls.login_failed(&at, &store, error.tls_failure())
            .await
            .unwrap();
    };
    let module = async {
        peer.ok(&format!("AT+USECPRF=0,13,3,{TICKET},{}", TICKET.len()))
            .await;
        peer.ok_then("AT+UMQTTC=1", "+UUMQTTC: 1,0").await;
        assert_eq!(peer.command().await, "AT+UMQTTER");
        // No PDP context: the radio, not the session data.
        peer.say(b"\r\n+UMQTTER: 13,50\r\n\r\nOK\r\n").await;
    };
    tokio::join!(client, module);
    assert_eq!(
        tls.cache(&store).load(Some(1_800_000_000)).unwrap(),
        Stored::Fresh(data)
    );
}
