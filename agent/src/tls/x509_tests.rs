//! Certificates and keys made by `openssl` at test time, read back.

use super::*;
use crate::tls::pem;
use crate::tls::test_pki::Pki;

fn key_of(pki: &Pki, file: &str) -> Result<PublicKey, X509Error> {
    let blocks = pem::parse(&pki.read(file)).unwrap();
    let block = blocks
        .iter()
        .find(|b| b.label.ends_with("PRIVATE KEY"))
        .unwrap();
    private_key_public(&block.label, &block.der).unwrap()
}

#[test]
fn a_ca_certificate_says_it_may_sign_and_gives_its_key_size_and_name() {
    let pki = Pki::new();
    pki.ca("root", "rsa:2048");
    let ca = Certificate::parse(&pki.der("root.pem")).unwrap();
    assert_eq!(ca.version, 3);
    assert_eq!(ca.ca, Some(true));
    assert!(ca.self_issued());
    assert!(ca.may_sign_certificates());
    assert_eq!(ca.common_name.as_deref(), Some("root"));
    assert_eq!(ca.public_key.bits(), 2048);
    assert_eq!(ca.public_key.describe(), "RSA, 2048 bits");
    assert_eq!(ca.public_key.module_refusal(), None);
}

#[test]
fn leaf_certificates_may_not_sign_whether_v1_v3_without_constraints_or_ca_false() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    let cases = [
        ("v1", None, 1, None),
        ("plain", Some("keyUsage=digitalSignature\n"), 3, None),
        ("leaf", Some("basicConstraints=CA:FALSE\n"), 3, Some(false)),
    ];
    for (name, extensions, version, ca) in cases {
        pki.leaf(name, "root", "ec:P-256", extensions);
        let cert = Certificate::parse(&pki.der(&format!("{name}.pem"))).unwrap();
        assert_eq!(cert.version, version, "{name}");
        assert_eq!(cert.ca, ca, "{name}");
        assert!(!cert.self_issued(), "{name}");
        assert!(!cert.may_sign_certificates(), "{name}");
        assert_eq!(cert.public_key.describe(), "EC on P-256 (256 bits)");
    }
}

#[test]
fn a_self_issued_v1_root_may_sign_without_extensions() {
    let pki = Pki::new();
    pki.v1_root("old", "rsa:1024");
    let cert = Certificate::parse(&pki.der("old.pem")).unwrap();
    assert_eq!((cert.version, cert.ca), (1, None));
    assert!(cert.self_issued());
    assert!(cert.may_sign_certificates());
}

#[test]
fn every_private_key_form_yields_the_public_key_of_its_certificate() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf("rsa", "root", "rsa:2048", None);
    pki.leaf("ec", "root", "ec:P-384", None);
    // PKCS#1 and SEC1, as older tools write them; a compressed point.
    pki.openssl(&["rsa", "-in", "rsa.key", "-traditional", "-out", "rsa1.key"]);
    pki.openssl(&["ec", "-in", "ec.key", "-out", "ec1.key"]);
    pki.openssl(&[
        "ec",
        "-in",
        "ec.key",
        "-conv_form",
        "compressed",
        "-out",
        "ecc.key",
    ]);
    assert!(pki
        .read("rsa1.key")
        .starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
    assert!(pki
        .read("ec1.key")
        .starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
    let rsa = Certificate::parse(&pki.der("rsa.pem")).unwrap().public_key;
    let ec = Certificate::parse(&pki.der("ec.pem")).unwrap().public_key;
    for file in ["rsa.key", "rsa1.key"] {
        let key = key_of(&pki, file).unwrap();
        assert!(key.same_key(&rsa), "{file}");
        assert!(!key.same_key(&ec), "{file}");
    }
    for file in ["ec.key", "ec1.key", "ecc.key"] {
        let key = key_of(&pki, file).unwrap();
        assert!(key.same_key(&ec), "{file}");
        assert!(!key.same_key(&rsa), "{file}");
        assert_eq!(key.bits(), 384);
    }
    // Another key of the same kind is another key.
    pki.key("other", "ec:P-384");
    assert!(!key_of(&pki, "other.key").unwrap().same_key(&ec));
}

#[test]
fn an_ec_key_without_its_public_point_is_refused_and_the_advice_repairs_it() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf("dev", "root", "ec:P-256", None);
    pki.openssl(&["ec", "-in", "dev.key", "-no_public", "-out", "bare.key"]);
    let error = key_of(&pki, "bare.key").unwrap_err();
    assert_eq!(error, X509Error::NoEcPublicKey);
    assert!(
        error.to_string().contains("openssl ec -in KEY -out"),
        "{error}"
    );
    // PKCS#8 of the same bare key: still without it.
    pki.openssl(&["pkey", "-in", "bare.key", "-out", "bare8.key"]);
    assert_eq!(key_of(&pki, "bare8.key"), Err(X509Error::NoEcPublicKey));
    // What the message says to run.
    pki.openssl(&["ec", "-in", "bare.key", "-out", "repaired.key"]);
    let cert = Certificate::parse(&pki.der("dev.pem")).unwrap();
    assert!(key_of(&pki, "repaired.key")
        .unwrap()
        .same_key(&cert.public_key));
}

#[test]
fn keys_below_the_modules_sizes_and_other_algorithms_are_refused_with_the_rule() {
    let pki = Pki::new();
    for (algorithm, bits, refused) in [
        ("rsa:1024", 1024, false),
        ("rsa:512", 512, true),
        ("ec:P-192", 192, false),
        ("ec:secp160r1", 160, true),
        ("ec:P-521", 521, false),
    ] {
        let name = algorithm.replace(':', "-");
        pki.key(&name, algorithm);
        let key = key_of(&pki, &format!("{name}.key")).unwrap();
        assert_eq!(key.bits(), bits, "{algorithm}");
        let refusal = key.module_refusal();
        assert_eq!(refusal.is_some(), refused, "{algorithm}: {refusal:?}");
        if let Some(reason) = refusal {
            assert!(reason.contains("at least 1024 bits"), "{reason}");
            assert!(reason.contains("§3.1"), "{reason}");
        }
    }
    pki.key("ed", "ed25519");
    let key = key_of(&pki, "ed.key").unwrap();
    assert_eq!(
        key,
        PublicKey::Other {
            algorithm: "Ed25519".into()
        }
    );
    let reason = key.module_refusal().unwrap();
    assert!(
        reason.starts_with("the key is Ed25519, and the module takes only RSA"),
        "{reason}"
    );
}

#[test]
fn an_ed25519_certificate_is_read_and_its_key_named() {
    let pki = Pki::new();
    pki.ca("edca", "ed25519");
    let cert = Certificate::parse(&pki.der("edca.pem")).unwrap();
    assert_eq!(cert.public_key.describe(), "Ed25519");
    assert!(cert.public_key.module_refusal().is_some());
}

#[test]
fn compressed_and_uncompressed_points_of_one_key_are_the_same_key() {
    let mut uncompressed = vec![4];
    uncompressed.extend([1u8; 32]);
    uncompressed.extend([2u8; 31]);
    uncompressed.push(7); // odd y
    let mut odd = vec![3];
    odd.extend([1u8; 32]);
    let mut even = odd.clone();
    even[0] = 2;
    let p256 = CURVES[2].0.to_vec();
    let ec = |point: &[u8]| PublicKey::Ec {
        curve_oid: p256.clone(),
        point: point.to_vec(),
    };
    assert!(ec(&uncompressed).same_key(&ec(&odd)));
    assert!(ec(&odd).same_key(&ec(&uncompressed)));
    assert!(!ec(&uncompressed).same_key(&ec(&even)));
    let other_curve = PublicKey::Ec {
        curve_oid: CURVES[3].0.to_vec(),
        point: uncompressed.clone(),
    };
    assert!(!ec(&uncompressed).same_key(&other_curve));
}

#[test]
fn broken_certificates_and_keys_are_errors_that_say_where() {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    let der = pki.der("root.pem");
    let cut = Certificate::parse(&der[..der.len() - 1]).unwrap_err();
    assert!(
        matches!(cut, X509Error::Certificate(DerError::Truncated { .. })),
        "{cut:?}"
    );
    let mut longer = der.clone();
    longer.push(0);
    assert!(matches!(
        Certificate::parse(&longer),
        Err(X509Error::Certificate(DerError::TrailingData { .. }))
    ));
    assert!(matches!(
        Certificate::parse(&[0x30, 0x00]),
        Err(X509Error::Certificate(DerError::Missing { .. }))
    ));
    // A key form under the wrong label.
    let key = pem::parse(&pki.read("root.key")).unwrap().remove(0);
    let error = private_key_public("RSA PRIVATE KEY", &key.der)
        .unwrap()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("not a valid PKCS#1 private key"),
        "{error}"
    );
    assert_eq!(private_key_public("CERTIFICATE", &key.der), None);
}
