//! Provisioning against a scripted module: the profile written once (reset,
//! ops, one `AT+UHTTPNV=0,2`), then only loaded and armed
//! (`AT+UHTTPNV=0,1`); after deep sleep only a check.

use super::*;
use crate::modem::http::{HttpAuth, IoMode};
use crate::modem::test_peer::{start, Peer};
use crate::store::OpenMode;

fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, OpenMode::Agent, |_| Ok(())).unwrap()
}

fn example(port: u16) -> HttpProfile {
    HttpProfile::from_settings(
        HTTP_PROFILE_ID,
        vec![
            HttpSetting::ServerName("ingest.example.com".into()),
            HttpSetting::Secure(None),
            HttpSetting::Port(port),
            HttpSetting::Timeout(30),
            HttpSetting::CustomHeader {
                index: 0,
                name: "Authorization".into(),
                value: "Bearer s3cr3t".into(),
            },
            HttpSetting::IoMode(IoMode::DirectLink),
            HttpSetting::PdpMapping { cid: 1, ip_type: 0 },
        ],
    )
}

/// Answers `OK` to every command until `n` commands were seen.
async fn answer_ok(peer: &mut Peer, n: usize) {
    for _ in 0..n {
        peer.command().await;
        peer.say(b"\r\nOK\r\n").await;
    }
}

#[test]
fn the_digest_sees_every_field_and_the_debug_form_no_secret() {
    let p = example(80);
    assert_eq!(p.digest(), example(80).digest());
    for (i, setting) in p.settings().iter().enumerate() {
        let mut other = p.settings().to_vec();
        other[i] = match setting.clone() {
            HttpSetting::ServerName(n) => HttpSetting::ServerIp(n),
            HttpSetting::Secure(None) => HttpSetting::Secure(Some(1)),
            HttpSetting::Port(p) => HttpSetting::Port(p + 1),
            HttpSetting::Timeout(t) => HttpSetting::Timeout(t + 1),
            HttpSetting::CustomHeader { index, name, value } => HttpSetting::CustomHeader {
                index,
                name,
                value: value + "x",
            },
            HttpSetting::IoMode(_) => HttpSetting::IoMode(IoMode::FileSystem),
            HttpSetting::PdpMapping { cid, ip_type } => HttpSetting::PdpMapping {
                cid: cid + 1,
                ip_type,
            },
            other => panic!("not in the example: {other:?}"),
        };
        let q = HttpProfile::from_settings(HTTP_PROFILE_ID, other);
        assert_ne!(p.digest(), q.digest(), "a change of {setting:?}");
    }
    // Another profile id is another profile.
    assert_ne!(
        p.digest(),
        HttpProfile::from_settings(1, p.settings().to_vec()).digest()
    );
    let mut with_auth = p.settings().to_vec();
    with_auth.push(HttpSetting::Auth(HttpAuth::Basic));
    assert_ne!(
        p.digest(),
        HttpProfile::from_settings(HTTP_PROFILE_ID, with_auth).digest()
    );
    assert!(!format!("{p:?}").contains("s3cr3t"), "{p:?}");
}

#[tokio::test(start_paused = true)]
async fn the_profile_is_written_once_then_only_loaded_and_armed_until_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let (at, mut peer) = start();
    let profile = example(80);
    let n = profile.settings().len();

    // First boot: the reset, every op, one NVM write, the digest stored.
    let (done, ()) = tokio::join!(
        provision(&at, &store, &profile),
        answer_ok(&mut peer, n + 2)
    );
    assert_eq!(done.unwrap(), Provisioned::Written);
    assert_eq!(peer.log[0], "AT+UHTTP=0");
    assert_eq!(
        &peer.log[1..=n],
        [
            "AT+UHTTP=0,1,\"ingest.example.com\"",
            "AT+UHTTP=0,6,0",
            "AT+UHTTP=0,5,80",
            "AT+UHTTP=0,7,30",
            "AT+UHTTP=0,9,\"0:Authorization:Bearer s3cr3t\"",
            "AT+UHTTP=0,10,1",
            "AT+UHTTP=0,20,1,0",
        ]
    );
    assert_eq!(peer.log.last().map(String::as_str), Some("AT+UHTTPNV=0,2"));
    assert!(store.get(TreeId::Modem, DIGEST_KEY).unwrap().is_some());

    // Every later boot, same profile: loaded from NVM and armed, nothing else.
    peer.log.clear();
    let (done, ()) = tokio::join!(provision(&at, &store, &profile), answer_ok(&mut peer, 1));
    assert_eq!(done.unwrap(), Provisioned::Reloaded);
    assert_eq!(peer.log, ["AT+UHTTPNV=0,1"]);

    // One field changed: written again, with exactly one NVM write.
    peer.log.clear();
    let profile = example(8080);
    let (done, ()) = tokio::join!(
        provision(&at, &store, &profile),
        answer_ok(&mut peer, n + 2)
    );
    assert_eq!(done.unwrap(), Provisioned::Written);
    assert_eq!(
        peer.log.iter().filter(|l| *l == "AT+UHTTPNV=0,2").count(),
        1
    );
    assert!(peer.log.contains(&"AT+UHTTP=0,5,8080".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_leaves_the_digest_unrecorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let (at, mut peer) = start();
    let profile = example(80);
    let module = async {
        peer.ok("AT+UHTTP=0").await;
        assert!(peer.command().await.starts_with("AT+UHTTP=0,1,"));
        peer.say(b"\r\n+CME ERROR: operation not allowed\r\n").await;
    };
    let (done, ()) = tokio::join!(provision(&at, &store, &profile), module);
    assert!(matches!(done, Err(ProvisionError::Modem(_))), "{done:?}");
    assert_eq!(store.get(TreeId::Modem, DIGEST_KEY).unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn after_deep_sleep_an_armed_profile_is_left_alone_and_a_lost_arming_is_restored() {
    let (at, mut peer) = start();
    let profile = example(80);
    let nvm_status = |armed: u8| {
        format!(
            "\r\n+UHTTPNV: 0,{armed}\r\n+UHTTPNV: 1,0\r\n+UHTTPNV: 2,0\r\n+UHTTPNV: 3,0\r\n\r\nOK\r\n"
        )
    };
    // The module kept the arming across the sleep: one read, no write.
    let module = async {
        assert_eq!(peer.command().await, "AT+UHTTPNV?");
        peer.say(nvm_status(1).as_bytes()).await;
    };
    let (kept, ()) = tokio::join!(ensure_armed(&at, &profile), module);
    assert_eq!(kept.unwrap(), Provisioned::Kept);
    // It rebooted while asleep: armed again from NVM, still no write.
    let module = async {
        assert_eq!(peer.command().await, "AT+UHTTPNV?");
        peer.say(nvm_status(0).as_bytes()).await;
        peer.ok("AT+UHTTPNV=0,1").await;
    };
    let (rearmed, ()) = tokio::join!(ensure_armed(&at, &profile), module);
    assert_eq!(rearmed.unwrap(), Provisioned::Reloaded);
    assert!(
        !peer
            .log
            .iter()
            .any(|l| l.starts_with("AT+UHTTP=") || l.ends_with(",2")),
        "{:?}",
        peer.log
    );
}
