//! Credentials and the security profile against a scripted module: nothing
//! imported when the module already holds the files, exactly the changed one
//! otherwise, and the old one removed only afterwards.

use super::*;
use crate::modem::test_peer::{start, Peer};

fn credential(kind: CredentialKind, name: &str, md5: &str) -> Credential {
    Credential {
        kind,
        name: name.into(),
        pem: format!("-----BEGIN X-----\n{name}\n-----END X-----\n").into_bytes(),
        md5: md5.into(),
    }
}

const MD5_A: &str = "0123456789abcdef0123456789abcdef";
const MD5_B: &str = "fedcba9876543210fedcba9876543210";

/// Answers `AT+USECMNG=4` with `md5`, or a CME error for `None`.
async fn answer_md5(peer: &mut Peer, c: &Credential, md5: Option<&str>) {
    let cmd = peer.command().await;
    assert_eq!(
        cmd,
        format!("AT+USECMNG=4,{},\"{}\"", c.kind.code(), c.name)
    );
    match md5 {
        Some(md5) => {
            peer.say(
                format!(
                    "\r\n+USECMNG: 4,{},\"{}\",\"{md5}\"\r\n\r\nOK\r\n",
                    c.kind.code(),
                    c.name
                )
                .as_bytes(),
            )
            .await
        }
        None => peer.say(b"\r\n+CME ERROR: 4\r\n").await,
    }
}

/// Takes a stream import of `c` and answers with `md5`.
async fn take_import(peer: &mut Peer, c: &Credential, md5: &str) {
    let cmd = peer.command().await;
    assert_eq!(
        cmd,
        format!(
            "AT+USECMNG=0,{},\"{}\",{}",
            c.kind.code(),
            c.name,
            c.pem.len()
        )
    );
    peer.say(b"\r\n>").await;
    assert_eq!(peer.exact(c.pem.len()).await, c.pem);
    peer.say(
        format!(
            "\r\n+USECMNG: 0,{},\"{}\",\"{md5}\"\r\n\r\nOK\r\n",
            c.kind.code(),
            c.name
        )
        .as_bytes(),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn credentials_the_module_holds_with_the_right_md5_are_not_imported_again() {
    let (at, mut peer) = start();
    let ca = credential(CredentialKind::Ca, "ea-ca-1", MD5_A);
    let (done, ()) = tokio::join!(
        ensure_credentials(&at, std::slice::from_ref(&ca)),
        answer_md5(&mut peer, &ca, Some(MD5_A))
    );
    assert_eq!(
        done.unwrap(),
        CredentialsReport {
            kept: 1,
            imported: 0
        }
    );
    assert_eq!(peer.log.len(), 1, "{:?}", peer.log);
}

#[tokio::test(start_paused = true)]
async fn a_missing_or_different_credential_is_imported_and_its_md5_checked() {
    let (at, mut peer) = start();
    let ca = credential(CredentialKind::Ca, "ea-ca-1", MD5_A);
    let key = credential(CredentialKind::ClientKey, "ea-pk-1", MD5_B);
    let module = async {
        answer_md5(&mut peer, &ca, None).await;
        take_import(&mut peer, &ca, MD5_A).await;
        answer_md5(&mut peer, &key, Some(MD5_A)).await;
        take_import(&mut peer, &key, MD5_B).await;
    };
    let both = [ca.clone(), key.clone()];
    let (done, ()) = tokio::join!(ensure_credentials(&at, &both), module);
    assert_eq!(
        done.unwrap(),
        CredentialsReport {
            kept: 0,
            imported: 2
        }
    );

    // An import the module stored with another MD5 is an error, not a pass.
    let module = async {
        answer_md5(&mut peer, &ca, None).await;
        take_import(&mut peer, &ca, MD5_B).await;
    };
    let (done, ()) = tokio::join!(ensure_credentials(&at, std::slice::from_ref(&ca)), module);
    assert!(
        matches!(done, Err(SecurityError::ImportMismatch { ref found, .. }) if found == MD5_B),
        "{done:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_agents_own_credentials_that_are_no_longer_wanted_are_removed() {
    let (at, mut peer) = start();
    let keep = credential(CredentialKind::Ca, "ea-ca-new", MD5_A);
    let module = async {
        assert_eq!(peer.command().await, "AT+USECMNG=3");
        peer.say(
            b"\r\nCA,\"ea-ca-new\",\"Test CA\",\"2036/07/17\"\r\n\
              CA,\"ea-ca-old\",\"Test CA\",\"2030/01/01\"\r\n\
              CA,\"ThawteCA\",\"thawte Primary Root CA\",\"2036/07/17\"\r\n\
              PK,\"ea-pk-old\"\r\n\r\nOK\r\n",
        )
        .await;
        peer.ok("AT+USECMNG=2,0,\"ea-ca-old\"").await;
        peer.ok("AT+USECMNG=2,2,\"ea-pk-old\"").await;
    };
    let keep = [keep];
    let (done, ()) = tokio::join!(remove_stale_credentials(&at, &keep), module);
    assert_eq!(done.unwrap(), 2);
}

fn profile() -> SecurityProfile {
    SecurityProfile {
        id: 0,
        validation: Validation::ChainAndHostname,
        min_version: MinTlsVersion::Tls1_2,
        ca_names: vec!["ea-ca-1".into()],
        client_cert: Some("ea-cc-1".into()),
        client_key: Some("ea-pk-1".into()),
        hostname: Some("broker.example".into()),
        sni: Some("broker.example".into()),
        resumption: Resumption::Ticket,
    }
}

#[tokio::test(start_paused = true)]
async fn the_profile_is_reset_then_every_op_is_set() {
    let (at, mut peer) = start();
    let module = async {
        for cmd in [
            "AT+USECPRF=0",
            "AT+USECPRF=0,0,2",
            "AT+USECPRF=0,1,3",
            "AT+USECPRF=0,3,\"ea-ca-1\"",
            "AT+USECPRF=0,4,\"broker.example\"",
            "AT+USECPRF=0,5,\"ea-cc-1\"",
            "AT+USECPRF=0,6,\"ea-pk-1\"",
            "AT+USECPRF=0,10,\"broker.example\"",
            "AT+USECPRF=0,13,0,1",
            "AT+USECPRF=0,13,1,1",
        ] {
            peer.ok(cmd).await;
        }
    };
    let p = profile();
    let (done, ()) = tokio::join!(apply_profile(&at, &p), module);
    done.unwrap();
}

#[test]
fn the_profile_digest_changes_with_anything_a_session_depends_on() {
    let p = profile();
    assert_eq!(p.digest(), profile().digest());
    let changes: Vec<SecurityProfile> = vec![
        SecurityProfile { id: 1, ..profile() },
        SecurityProfile {
            ca_names: vec!["ea-ca-2".into()],
            ..profile()
        },
        SecurityProfile {
            sni: None,
            ..profile()
        },
        SecurityProfile {
            min_version: MinTlsVersion::Tls1_3,
            ..profile()
        },
        SecurityProfile {
            resumption: Resumption::EncryptedTicket,
            ..profile()
        },
    ];
    for other in changes {
        assert_ne!(p.digest(), other.digest(), "{other:?}");
    }
    // Several roots: none is named in the profile (the module tries each).
    let two = SecurityProfile {
        ca_names: vec!["a".into(), "b".into()],
        ..profile()
    };
    assert!(!two
        .settings()
        .iter()
        .any(|s| matches!(s, SecuritySetting::CaName(_))));
}
