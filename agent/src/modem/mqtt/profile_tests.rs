//! Provisioning against a scripted module: NVM writes only on change.

use super::*;
use crate::modem::mqtt::ProfileSetting;
use crate::modem::test_peer::{start, Peer};
use crate::store::OpenMode;

fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, OpenMode::Agent, |_| Ok(())).unwrap()
}

/// Answers `OK` to every command until `n` commands were seen.
async fn answer_ok(peer: &mut Peer, n: usize) {
    for _ in 0..n {
        peer.command().await;
        peer.say(b"\r\nOK\r\n").await;
    }
}

#[test]
fn the_digest_is_stable_and_sees_every_field() {
    let p = MqttProfile::example(1883);
    // Pinned: the digest must not change across Rust releases or platforms,
    // or every gateway would rewrite its NVM after an upgrade.
    assert_eq!(
        p.digest(),
        MqttProfile::from_settings(p.settings().to_vec()).digest()
    );
    assert_eq!(Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
    let mut h = Fnv1a::new();
    h.write(b"a");
    assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 of \"a\"");
    for (i, setting) in p.settings().iter().enumerate() {
        let mut other = p.settings().to_vec();
        other[i] = match setting.clone() {
            ProfileSetting::ClientId(id) => ProfileSetting::ClientId(id + "0"),
            ProfileSetting::ServerName { name, port } => ProfileSetting::ServerName {
                name,
                port: port + 1,
            },
            // Turning TLS on writes the profile once more (§6.9).
            ProfileSetting::Secure(None) => ProfileSetting::Secure(Some(0)),
            ProfileSetting::WillQos(q) => ProfileSetting::WillQos(q + 1),
            ProfileSetting::WillRetain(r) => ProfileSetting::WillRetain(!r),
            ProfileSetting::WillTopic(t) => ProfileSetting::WillTopic(t + "t"),
            ProfileSetting::WillMessage(m) => ProfileSetting::WillMessage(m + "m"),
            ProfileSetting::KeepAlive(k) => ProfileSetting::KeepAlive(k + 1),
            ProfileSetting::CleanSession(c) => ProfileSetting::CleanSession(!c),
            ProfileSetting::PdpMapping { cid, ip_type } => ProfileSetting::PdpMapping {
                cid: cid + 1,
                ip_type,
            },
            other => panic!("not in the example: {other:?}"),
        };
        let q = MqttProfile::from_settings(other);
        assert_ne!(p.digest(), q.digest(), "a change of {setting:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_profile_is_written_once_then_only_reloaded_until_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let (at, mut peer) = start();
    let profile = MqttProfile::example(1883);
    let n = profile.settings().len();

    // First boot: every op, one NVM write, digest stored.
    let (done, ()) = tokio::join!(
        provision(&at, &store, &profile),
        answer_ok(&mut peer, n + 1)
    );
    assert_eq!(done.unwrap(), Provisioned::Written);
    assert_eq!(
        peer.log
            .iter()
            .filter(|l| l.starts_with("AT+UMQTT="))
            .count(),
        n
    );
    assert_eq!(peer.log.last().map(String::as_str), Some("AT+UMQTTNV=2"));
    assert!(store.get(TreeId::Modem, DIGEST_KEY).unwrap().is_some());

    // Second boot, same profile: a reload from NVM and nothing else.
    peer.log.clear();
    let (done, ()) = tokio::join!(provision(&at, &store, &profile), answer_ok(&mut peer, 1));
    assert_eq!(done.unwrap(), Provisioned::Reloaded);
    assert_eq!(peer.log, ["AT+UMQTTNV=1"]);

    // One field changed: the set commands and exactly one NVM write.
    peer.log.clear();
    let profile = MqttProfile::example(8883);
    let (done, ()) = tokio::join!(
        provision(&at, &store, &profile),
        answer_ok(&mut peer, n + 1)
    );
    assert_eq!(done.unwrap(), Provisioned::Written);
    assert_eq!(peer.log.iter().filter(|l| *l == "AT+UMQTTNV=2").count(), 1);
    assert!(peer
        .log
        .contains(&"AT+UMQTT=3,\"broker.example\",8883".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_leaves_the_digest_unrecorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let (at, mut peer) = start();
    let profile = MqttProfile::example(1883);
    let module = async {
        peer.ok("AT+UMQTT=0,\"357862090033897\"").await;
        assert!(peer.command().await.starts_with("AT+UMQTT=3,"));
        peer.say(b"\r\n+CME ERROR: operation not allowed\r\n").await;
    };
    let (done, ()) = tokio::join!(provision(&at, &store, &profile), module);
    assert!(matches!(done, Err(ProvisionError::Modem(_))), "{done:?}");
    assert_eq!(store.get(TreeId::Modem, DIGEST_KEY).unwrap(), None);
}
