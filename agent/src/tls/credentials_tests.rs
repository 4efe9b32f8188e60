//! The operator's files as the module would take them or refuse them, made
//! by `openssl` at test time; the MD5 the module answers is computed by
//! `openssl dgst`, not by the code under test.

use super::*;
use crate::tls::test_pki::Pki;

/// `openssl dgst -md5` of the DER of the first certificate in `pem_file`.
fn openssl_md5_of_der(pki: &Pki, pem_file: &str) -> String {
    let der = format!("{pem_file}.der");
    pki.openssl(&["x509", "-in", pem_file, "-outform", "DER", "-out", &der]);
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-md5", "-r", &der])
        .current_dir(pki.path(""))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..32].to_owned()
}

fn concat(pki: &Pki, files: &[&str]) -> Vec<u8> {
    files.iter().flat_map(|f| pki.read(f)).collect()
}

#[test]
fn every_ca_of_a_file_becomes_a_credential_named_by_its_content_with_the_modules_md5() {
    let pki = Pki::new();
    pki.ca("root-a", "rsa:2048");
    pki.ca("root-b", "ec:P-256");
    let cas = ca_certificates(&concat(&pki, &["root-a.pem", "root-b.pem"])).unwrap();
    assert_eq!(cas.len(), 2);
    assert_eq!(cas[0].md5, openssl_md5_of_der(&pki, "root-a.pem"));
    assert_eq!(cas[1].md5, openssl_md5_of_der(&pki, "root-b.pem"));
    for ca in &cas {
        assert_eq!(ca.kind, CredentialKind::Ca);
        assert!(ca.name.starts_with("ea-ca-"), "{}", ca.name);
        assert!(ca.name.len() <= CREDENTIAL_NAME_MAX);
        assert!(ca.pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    }
    assert_ne!(cas[0].name, cas[1].name);
    // The same content is the same name: an unchanged file imports nothing.
    let again = ca_certificates(&pki.read("root-a.pem")).unwrap();
    assert_eq!(again[0].name, cas[0].name);
    // A certificate repeated in the file is imported once.
    let twice = ca_certificates(&concat(&pki, &["root-a.pem", "root-a.pem"])).unwrap();
    assert_eq!(twice.len(), 1);
}

#[test]
fn a_ca_file_with_a_leaf_a_key_or_nothing_is_refused_with_the_line() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf(
        "server",
        "root",
        "ec:P-256",
        Some("basicConstraints=CA:FALSE\n"),
    );
    let root_lines = String::from_utf8(pki.read("root.pem"))
        .unwrap()
        .lines()
        .count();

    let leaf_second = concat(&pki, &["root.pem", "server.pem"]);
    match ca_certificates(&leaf_second) {
        Err(CredentialError::NotCa {
            line,
            name,
            ca_false: true,
        }) => {
            assert_eq!(line, root_lines + 1);
            assert!(name.contains("server"), "{name}");
        }
        other => panic!("{other:?}"),
    }
    match ca_certificates(&concat(&pki, &["root.pem", "root.key"])) {
        Err(CredentialError::UnexpectedBlock { label, line, .. }) => {
            assert!(label.ends_with("PRIVATE KEY"), "{label}");
            assert_eq!(line, root_lines + 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ca_certificates(b"just some text\n"),
        Err(CredentialError::NoPemBlock {
            looks_like_der: false
        })
    ));
    let der = pki.der("root.pem");
    let error = ca_certificates(&der).unwrap_err();
    assert_eq!(
        error,
        CredentialError::NoPemBlock {
            looks_like_der: true
        }
    );
    assert!(
        error.to_string().contains("openssl x509 -inform der"),
        "{error}"
    );
}

#[test]
fn a_client_certificate_and_its_key_are_one_pair_or_an_error_naming_both_keys() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf("device", "root", "ec:P-256", None);
    pki.leaf("other", "root", "rsa:2048", None);
    let cert = client_certificate(&pki.read("device.pem")).unwrap();
    let key = client_key(&pki.read("device.key")).unwrap();
    assert_eq!(cert.credential.kind, CredentialKind::ClientCert);
    assert_eq!(key.credential.kind, CredentialKind::ClientKey);
    assert!(
        key.credential.name.starts_with("ea-pk-"),
        "{}",
        key.credential.name
    );
    key_matches(&cert, &key).unwrap();

    let other_key = client_key(&pki.read("other.key")).unwrap();
    let error = key_matches(&cert, &other_key).unwrap_err();
    assert!(matches!(error, CredentialError::KeyMismatch { .. }));
    let text = error.to_string();
    assert!(
        text.contains("RSA, 2048 bits") && text.contains("P-256"),
        "{text}"
    );
}

#[test]
fn a_client_file_must_hold_exactly_one_certificate_or_one_plain_key() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf("device", "root", "ec:P-256", None);
    pki.key("second", "ec:P-256");
    assert_eq!(
        client_certificate(&concat(&pki, &["device.pem", "root.pem"])).unwrap_err(),
        CredentialError::SeveralCertificates { count: 2 }
    );
    assert_eq!(
        client_key(&concat(&pki, &["device.key", "second.key"])).unwrap_err(),
        CredentialError::SeveralKeys { count: 2 }
    );
    assert_eq!(
        client_key(&pki.read("device.pem")).unwrap_err(),
        CredentialError::UnexpectedBlock {
            label: "CERTIFICATE".into(),
            line: 1,
            expected: "the client's private key",
        }
    );
    pki.openssl(&[
        "pkey",
        "-in",
        "device.key",
        "-out",
        "locked.key",
        "-aes256",
        "-passout",
        "pass:secret",
    ]);
    let error = client_key(&pki.read("locked.key")).unwrap_err();
    assert_eq!(error, CredentialError::EncryptedKey { line: 1 });
    assert!(error.to_string().contains("openssl pkey"), "{error}");
}

#[test]
fn a_key_the_module_does_not_take_is_refused_before_the_module_sees_it() {
    let pki = Pki::new();
    pki.key("tiny", "rsa:512");
    match client_key(&pki.read("tiny.key")) {
        Err(CredentialError::KeyRefused { line: 1, reason }) => {
            assert!(reason.contains("512"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_key_credential_never_shows_its_bytes() {
    let pki = Pki::new();
    pki.key("device", "ec:P-256");
    let key = client_key(&pki.read("device.key")).unwrap();
    let shown = format!("{:?} {:?}", key.credential, key);
    let body: String = String::from_utf8(key.credential.pem.clone())
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(!shown.contains(&body), "{shown}");
}

#[test]
fn a_file_too_large_or_missing_is_an_error_naming_it() {
    let pki = Pki::new();
    let big = pki.write("big.pem", &vec![b'A'; (MAX_FILE_BYTES + 1) as usize]);
    let error = read_file(&big).unwrap_err();
    assert!(matches!(error, FileError::TooLarge { .. }));
    assert!(error.to_string().contains("big.pem"), "{error}");
    let missing = pki.path("absent.pem");
    let error = read_file(&missing).unwrap_err();
    assert!(error.to_string().contains("absent.pem"), "{error}");
}
