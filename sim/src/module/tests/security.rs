//! Data security (chapter 3, `security/`): the credential store, the
//! security profiles and their volatility, on a made-up clock.
//!
//! The certificates below were made once with the `openssl` command line
//! (EC P-256); their MD5s were computed then, independently of this crate,
//! as `openssl x509 -outform der | md5sum` for the certificates and, for
//! the key, `md5sum` of its PEM body decoded by `base64 -d`.

use super::*;

pub(super) const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBtTCCAVugAwIBAgIUIkRxs6gsLoMu21Cb+tHqMmj//dgwCgYIKoZIzj0EAwIw
MDEXMBUGA1UECgwObGV4aS1zaW0gdGVzdHMxFTATBgNVBAMMDFRlc3QgUm9vdCBD
QTAeFw0yNjEyMDUwMzI5MTZaFw0zNjEyMDIwMzI5MTZaMDAxFzAVBgNVBAoMDmxl
eGktc2ltIHRlc3RzMRUwEwYDVQQDDAxUZXN0IFJvb3QgQ0EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAATtwyqp4e1V2qgnnRBGd5BPKr7NjV/cSpDMdrrjpH7icStw
qCj0f6sGnynWS+ePc/nAycCaR4dOe6NELp0yruaro1MwUTAdBgNVHQ4EFgQUX+0O
N8QTzJMA1rWjsfv430D2tsEwHwYDVR0jBBgwFoAUX+0ON8QTzJMA1rWjsfv430D2
tsEwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA/yolB+Rzb2iYw
UGd6GKY3hX/RSX4pL7jZ+zPqi6akGwIhAMfyfxtgc6KuuRVI43+AjtZgsIavMR98
bdVsIH7nT1wa
-----END CERTIFICATE-----
";
pub(super) const CA_MD5: &str = "7bb96b22a33658e6962bb8d1a8ed82e6";

/// Signed by the CA above; its subject has no common name.
pub(super) const DEVICE_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBMDCB1wIBAjAKBggqhkjOPQQDAjAwMRcwFQYDVQQKDA5sZXhpLXNpbSB0ZXN0
czEVMBMGA1UEAwwMVGVzdCBSb290IENBMB4XDTI2MTIwNTAzMjkxNloXDTI5MDgz
MTAzMjkxNlowGTEXMBUGA1UECgwObGV4aS1zaW0gdGVzdHMwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARe9ONyhco5R7TB0hJ5Z5YHDvPCPYu62kJXgnB6ueQH3xqh
XyT1FIG7FfxnhPLz5L6/y0pQ8d32kfEOYgaqbNI2MAoGCCqGSM49BAMCA0gAMEUC
IFJYAzqpu+znE7zQj7AI4jbn9cDz9XoVC9fWnIxL8w9KAiEA8t3YfK+YPYqK7ZH4
J5vg9OfoSSmjVRXoZToKqsIiUVc=
-----END CERTIFICATE-----
";
pub(super) const DEVICE_MD5: &str = "a15f96aa910bf813eb5b4c89828bc743";

/// The device certificate's key (PKCS#8).
pub(super) const DEVICE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFmnSiQfx7icFTom/
c9SIwayqd8ZBEmSbpgiILfRgK8ihRANCAARe9ONyhco5R7TB0hJ5Z5YHDvPCPYu6
2kJXgnB6ueQH3xqhXyT1FIG7FfxnhPLz5L6/y0pQ8d32kfEOYgaqbNI2
-----END PRIVATE KEY-----
";
pub(super) const DEVICE_KEY_MD5: &str = "c8b31d2049b4a805a3cce862bcc19623";

/// A key that belongs to no certificate here.
pub(super) const OTHER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqlyoDFnjupS4+e4r
+j2VeMmDZE5FVIjKvO+epjxkp1KhRANCAARx1/hAgQQjO7L8/dHonhyGik6I6Piw
IZIGYgahWJUOjAmW/lWZjeoTLsDvEUn64Jd01oHAvfuJglGv33P4lyPo
-----END PRIVATE KEY-----
";

/// A ready module with echo off and numeric CME errors.
pub(super) fn quiet() -> Harness {
    quiet_with(NvmImage::default())
}

pub(super) fn quiet_with(nvm: NvmImage) -> Harness {
    let mut h = Harness::ready_with_nvm(config(), nvm);
    assert_eq!(h.send("ATE0"), format!("ATE0\r{OK}"));
    assert_eq!(h.send("AT+CMEE=1"), OK);
    h
}

/// The stream import: command, `>`, then the bytes; returns the answer to
/// the bytes.
pub(super) fn import(h: &mut Harness, kind: u8, name: &str, pem: &str) -> String {
    let prompt = h.send(&format!("AT+USECMNG=0,{kind},\"{name}\",{}", pem.len()));
    assert_eq!(prompt, "\r\n>", "{name}");
    h.run(Input::Bytes(pem.as_bytes()))
}

fn imported(kind: u8, name: &str, md5: &str) -> String {
    ok_with(&[&format!("+USECMNG: 0,{kind},\"{name}\",\"{md5}\"")])
}

const CME_INCORRECT: &str = "\r\n+CME ERROR: 50\r\n";

#[test]
fn a_stream_import_answers_the_md5_of_the_der_as_computed_independently() {
    let mut h = quiet();
    assert_eq!(import(&mut h, 0, "ca", CA_PEM), imported(0, "ca", CA_MD5));
    assert_eq!(
        import(&mut h, 1, "dev", DEVICE_PEM),
        imported(1, "dev", DEVICE_MD5)
    );
    // A key's DER is its PEM body as written, not OpenSSL's re-encoding.
    assert_eq!(
        import(&mut h, 2, "dev-key", DEVICE_KEY_PEM),
        imported(2, "dev-key", DEVICE_KEY_MD5)
    );
    assert_eq!(
        h.send("AT+USECMNG=4,0,\"ca\""),
        ok_with(&[&format!("+USECMNG: 4,0,\"ca\",\"{CA_MD5}\"")])
    );
    assert_eq!(
        h.send("AT+USECMNG=4,2,\"dev-key\""),
        ok_with(&[&format!("+USECMNG: 4,2,\"dev-key\",\"{DEVICE_KEY_MD5}\"")])
    );
}

#[test]
fn the_md5_matches_the_certificates_own_der_re_read_by_openssl() {
    let mut h = quiet();
    let der = openssl::x509::X509::from_pem(CA_PEM.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::md5(), &der).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, CA_MD5);
    assert_eq!(import(&mut h, 0, "ca", CA_PEM), imported(0, "ca", &hex));
}

#[test]
fn the_list_has_no_prefix_subjects_and_end_dates_and_keys_by_name() {
    let mut h = quiet();
    assert_eq!(h.send("AT+USECMNG=3"), OK);
    import(&mut h, 0, "ca", CA_PEM);
    import(&mut h, 1, "dev", DEVICE_PEM);
    import(&mut h, 2, "dev-key", DEVICE_KEY_PEM);
    assert_eq!(
        h.send("AT+USECMNG=3"),
        ok_with(&[
            "CA,\"ca\",\"Test Root CA\",\"2036/12/02 03:29:16\"",
            "CC,\"dev\",\"O=lexi-sim tests\",\"2029/08/31 03:29:16\"",
            "PK,\"dev-key\"",
        ])
    );
    assert_eq!(h.send("AT+USECMNG=3,2"), ok_with(&["PK,\"dev-key\""]));
}

#[test]
fn remove_and_md5_of_what_is_not_stored_answer_cme_errors() {
    let mut h = quiet();
    import(&mut h, 0, "ca", CA_PEM);
    assert_eq!(h.send("AT+USECMNG=4,1,\"ca\""), "\r\n+CME ERROR: 22\r\n");
    assert_eq!(h.send("AT+USECMNG=2,0,\"nope\""), "\r\n+CME ERROR: 22\r\n");
    assert_eq!(h.send("AT+USECMNG=2,0,\"ca\""), OK);
    assert_eq!(h.send("AT+USECMNG=4,0,\"ca\""), "\r\n+CME ERROR: 22\r\n");
    assert_eq!(h.send("AT+USECMNG=3"), OK);
}

#[test]
fn limits_and_bad_pem_are_refused() {
    let mut h = quiet();
    let long = "n".repeat(33);
    for line in [
        format!("AT+USECMNG=0,0,\"{long}\",10"),
        "AT+USECMNG=0,0,\"\",10".to_string(),
        "AT+USECMNG=0,0,\"ca\",8193".to_string(),
        "AT+USECMNG=0,0,\"ca\",0".to_string(),
        "AT+USECMNG=0,3,\"ca\",10".to_string(),
        "AT+USECMNG=0,0,ca,10".to_string(),
        "AT+USECMNG=9".to_string(),
    ] {
        assert_eq!(h.send(&line), CME_INCORRECT, "{line}");
    }
    // 32 characters and 8 KiB are allowed (the prompt comes).
    let name = "n".repeat(32);
    assert_eq!(h.send(&format!("AT+USECMNG=0,0,\"{name}\",8192")), "\r\n>");
    let padded = format!("{CA_PEM}{}", " ".repeat(8192 - CA_PEM.len()));
    assert_eq!(
        h.run(Input::Bytes(padded.as_bytes())),
        imported(0, &name, CA_MD5)
    );
    // [model] no file system to import from.
    assert_eq!(
        h.send("AT+USECMNG=1,0,\"ca\",\"ca.pem\""),
        "\r\n+CME ERROR: 4\r\n"
    );
    // After the bytes: not PEM, the wrong kind, two blocks, a bad body.
    let two = format!("{CA_PEM}{DEVICE_PEM}");
    let bad_body = CA_PEM.replace("MIIBtTCC", "MIIB!TCC");
    for (kind, pem) in [
        (0, "hello, world"),
        (0, DEVICE_KEY_PEM),
        (2, CA_PEM),
        (0, two.as_str()),
        (0, bad_body.as_str()),
    ] {
        assert_eq!(import(&mut h, kind, "x", pem), CME_INCORRECT, "{pem}");
    }
    assert_eq!(
        h.send("AT+USECMNG=3,1"),
        OK,
        "nothing stored by the failures"
    );
}

#[test]
fn import_bytes_are_not_echoed_and_urcs_wait_for_the_answer() {
    let mut h = Harness::ready(config());
    let line = format!("AT+USECMNG=0,0,\"ca\",{}", CA_PEM.len());
    assert_eq!(h.send(&line), format!("{line}\r\r\n>"));
    let (head, tail) = CA_PEM.split_at(100);
    assert_eq!(h.run(Input::Bytes(head.as_bytes())), "");
    assert_eq!(
        h.run(Input::Bytes(tail.as_bytes())),
        imported(0, "ca", CA_MD5)
    );
}

#[test]
fn credentials_are_in_nvm_every_import_and_removal_is_one_write_and_they_survive_reboot() {
    let mut h = quiet();
    let writes = h.m.snapshot().nvm_writes;
    import(&mut h, 0, "ca", CA_PEM);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert_eq!(saves[0].credentials.len(), 1);
    assert_eq!(saves[0].credentials[0].name, "ca");
    // The same bytes again: still a flash write.
    import(&mut h, 0, "ca", CA_PEM);
    assert_eq!(h.saves().len(), 1);
    h.send("AT+USECMNG=2,0,\"ca\"");
    assert_eq!(h.saves().len(), 1);
    import(&mut h, 0, "ca", CA_PEM);
    assert_eq!(h.m.snapshot().nvm_writes, writes + 4);
    // Failures write nothing.
    h.saves();
    import(&mut h, 0, "bad", "x");
    h.send("AT+USECMNG=2,0,\"nope\"");
    assert!(h.saves().is_empty());

    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(
        h.send("AT+USECMNG=4,0,\"ca\""),
        ok_with(&[&format!("+USECMNG: 4,0,\"ca\",\"{CA_MD5}\"")])
    );
    // And a module started on that NVM image has it too.
    let nvm = h.m.snapshot().nvm;
    let mut fresh = quiet_with(nvm);
    assert_eq!(
        fresh.send("AT+USECMNG=3,0"),
        ok_with(&["CA,\"ca\",\"Test Root CA\",\"2036/12/02 03:29:16\""])
    );
}

// ---- security profiles ---------------------------------------------------

#[test]
fn every_profile_op_is_set_and_read_back_and_a_reset_restores_the_factory_profile() {
    let mut h = quiet();
    for (set, read) in [
        ("0,2", "+USECPRF: 3,0,2"),
        ("1,4", "+USECPRF: 3,1,4"),
        (
            "2,99,\"TLS_AES_128_GCM_SHA256\"",
            "+USECPRF: 3,2,99,\"TLS_AES_128_GCM_SHA256\"",
        ),
        ("3,\"ca\"", "+USECPRF: 3,3,\"ca\""),
        (
            "4,\"broker.example.com\"",
            "+USECPRF: 3,4,\"broker.example.com\"",
        ),
        ("5,\"dev\"", "+USECPRF: 3,5,\"dev\""),
        ("6,\"dev-key\"", "+USECPRF: 3,6,\"dev-key\""),
        (
            "10,\"sni.example.com\"",
            "+USECPRF: 3,10,\"sni.example.com\"",
        ),
        ("13,0,1", "+USECPRF: 3,13,0,1"),
        ("13,1,11", "+USECPRF: 3,13,1,11"),
    ] {
        assert_eq!(h.send(&format!("AT+USECPRF=3,{set}")), OK, "{set}");
        let op = read.split(',').nth(1).unwrap();
        let query = if op == "13" {
            format!("AT+USECPRF=3,13,{}", read.split(',').nth(2).unwrap())
        } else {
            format!("AT+USECPRF=3,{op}")
        };
        assert_eq!(h.send(&query), ok_with(&[read]), "{query}");
    }
    assert_eq!(h.send("AT+USECPRF=3"), OK);
    for (query, read) in [
        ("0", "+USECPRF: 3,0,1"),
        ("1", "+USECPRF: 3,1,0"),
        ("3", "+USECPRF: 3,3,\"\""),
        ("10", "+USECPRF: 3,10,\"\""),
        ("13,0", "+USECPRF: 3,13,0,0"),
        ("13,1", "+USECPRF: 3,13,1,1"),
        ("13,3", "+USECPRF: 3,13,3,,0"),
    ] {
        assert_eq!(h.send(&format!("AT+USECPRF=3,{query}")), ok_with(&[read]));
    }
}

#[test]
fn bad_profile_settings_are_refused_and_change_nothing() {
    let mut h = quiet();
    for line in [
        "AT+USECPRF=5,0,1",
        "AT+USECPRF=-1",
        "AT+USECPRF=0,0,4",
        "AT+USECPRF=0,1,5",
        "AT+USECPRF=0,3,ca",
        "AT+USECPRF=0,13,1,2",
        "AT+USECPRF=0,13,0,2",
        "AT+USECPRF=0,13,3,QUJD,3",
        "AT+USECPRF=0,13,3,QUJD",
        "AT+USECPRF=0,13,3,!!!!,4",
        "AT+USECPRF=0,99,1",
    ] {
        assert_eq!(h.send(line), CME_INCORRECT, "{line}");
    }
    assert_eq!(h.send("AT+USECPRF=0,8,\"psk\""), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.send("AT+USECPRF?"), "\r\n+CME ERROR: 4\r\n");
    // Not a TLS session, though valid base64 of the right size.
    assert_eq!(h.send("AT+USECPRF=0,13,3,QUJD,4"), CME_INCORRECT);
    assert_eq!(h.send("AT+USECPRF=0,0"), ok_with(&["+USECPRF: 0,0,1"]));
}

/// A real TLS 1.2 client session, from a handshake over a socket pair with
/// a throwaway server (the CA's certificate as its own).
pub(super) fn real_session_der() -> Vec<u8> {
    use openssl::ssl::{SslAcceptor, SslConnector, SslMethod, SslVerifyMode, SslVersion};
    let (client_io, server_io) = std::os::unix::net::UnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(
            b"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFmnSiQfx7icFTom/
c9SIwayqd8ZBEmSbpgiILfRgK8ihRANCAARe9ONyhco5R7TB0hJ5Z5YHDvPCPYu6
2kJXgnB6ueQH3xqhXyT1FIG7FfxnhPLz5L6/y0pQ8d32kfEOYgaqbNI2
-----END PRIVATE KEY-----
",
        )
        .unwrap();
        let cert = openssl::x509::X509::from_pem(DEVICE_PEM.as_bytes()).unwrap();
        acceptor.set_private_key(&key).unwrap();
        acceptor.set_certificate(&cert).unwrap();
        acceptor
            .set_max_proto_version(Some(SslVersion::TLS1_2))
            .unwrap();
        let acceptor = acceptor.build();
        let mut stream = acceptor.accept(server_io).unwrap();
        let _ = std::io::Write::write_all(&mut stream, b"x");
    });
    let mut connector = SslConnector::builder(SslMethod::tls()).unwrap();
    connector.set_verify(SslVerifyMode::NONE);
    let mut stream = connector
        .build()
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("server", client_io)
        .unwrap();
    let mut byte = [0u8; 1];
    std::io::Read::read_exact(&mut stream, &mut byte).unwrap();
    server.join().unwrap();
    stream.ssl().session().unwrap().to_der().unwrap()
}

pub(super) fn b64(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
}

#[test]
fn session_data_set_unquoted_or_quoted_is_read_back_as_given() {
    let mut h = quiet();
    let der = real_session_der();
    let data = b64(&der);
    let n = data.len();
    assert_eq!(h.send(&format!("AT+USECPRF=1,13,3,{data},{n}")), OK);
    assert_eq!(
        h.send("AT+USECPRF=1,13,3"),
        ok_with(&[&format!("+USECPRF: 1,13,3,{data},{n}")])
    );
    assert_eq!(h.send(&format!("AT+USECPRF=2,13,3,\"{data}\",{n}")), OK);
    assert_eq!(
        h.send("AT+USECPRF=2,13,3"),
        ok_with(&[&format!("+USECPRF: 2,13,3,{data},{n}")])
    );
    // The plain form is refused with the encrypted type, and the reverse.
    assert_eq!(h.send("AT+USECPRF=1,13,1,11"), OK);
    assert_eq!(h.send("AT+USECPRF=1,13,3"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.send("AT+USECPRF=2,13,13"), "\r\n+CME ERROR: 3\r\n");
}

#[test]
fn encrypted_session_data_opens_on_this_module_only() {
    let mut h = quiet();
    let der = real_session_der();
    h.send("AT+USECPRF=0,13,1,11");
    let data = b64(&der);
    // Plain data cannot be set as encrypted data.
    assert_eq!(
        h.send(&format!("AT+USECPRF=0,13,13,{data},{}", data.len())),
        CME_INCORRECT
    );
    h.send("AT+USECPRF=0,13,1,1");
    h.send(&format!("AT+USECPRF=0,13,3,{data},{}", data.len()));
    h.send("AT+USECPRF=0,13,1,11");
    let answer = h.send("AT+USECPRF=0,13,13");
    let line = answer.trim_start().lines().next().unwrap().to_string();
    let sealed = line
        .strip_prefix("+USECPRF: 0,13,13,")
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(sealed, data, "the sealed form differs from the plain one");
    assert!(line.ends_with(&format!(",{}", sealed.len())), "{line}");
    // Set back on this module (another profile): the same session inside.
    h.send("AT+USECPRF=4,13,1,11");
    assert_eq!(
        h.send(&format!("AT+USECPRF=4,13,13,{sealed},{}", sealed.len())),
        OK
    );
    h.send("AT+USECPRF=4,13,1,1");
    assert_eq!(
        h.send("AT+USECPRF=4,13,3"),
        ok_with(&[&format!("+USECPRF: 4,13,3,{data},{}", data.len())])
    );
    // Another module (another IMEI) cannot open it.
    let mut cfg = config();
    cfg.imei = "490154203237518".into();
    let mut other = Harness::ready(cfg);
    other.send("ATE0");
    other.send("AT+CMEE=1");
    other.send("AT+USECPRF=0,13,1,11");
    assert_eq!(
        other.send(&format!("AT+USECPRF=0,13,13,{sealed},{}", sealed.len())),
        CME_INCORRECT
    );
}

/// Profile 0 with every op set and session data held.
fn configured(h: &mut Harness) {
    let data = b64(&real_session_der());
    for line in [
        "AT+USECPRF=0,0,2".to_string(),
        "AT+USECPRF=0,3,\"ca\"".to_string(),
        "AT+USECPRF=0,13,0,1".to_string(),
        format!("AT+USECPRF=0,13,3,{data},{}", data.len()),
    ] {
        assert_eq!(h.send(&line), OK, "{line}");
    }
}

fn factory_profile_0(h: &mut Harness) {
    assert_eq!(h.send("AT+USECPRF=0,0"), ok_with(&["+USECPRF: 0,0,1"]));
    assert_eq!(h.send("AT+USECPRF=0,3"), ok_with(&["+USECPRF: 0,3,\"\""]));
    assert_eq!(
        h.send("AT+USECPRF=0,13,0"),
        ok_with(&["+USECPRF: 0,13,0,0"])
    );
    assert_eq!(
        h.send("AT+USECPRF=0,13,3"),
        ok_with(&["+USECPRF: 0,13,3,,0"])
    );
}

#[test]
fn profiles_and_session_data_are_gone_after_a_reboot_but_credentials_stay() {
    let mut h = quiet();
    import(&mut h, 0, "ca", CA_PEM);
    configured(&mut h);
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    factory_profile_0(&mut h);
    assert_eq!(h.send("AT+USECMNG=3,0").matches("CA,").count(), 1);
}

#[test]
fn profiles_and_session_data_are_gone_after_hibernate_and_sleep2() {
    for deepest in [3, 4] {
        let mut h = quiet();
        configured(&mut h);
        let rrc = h.timing().rrc_inactivity;
        h.advance(rrc);
        assert_eq!(h.send(&format!("AT+UPSV=1,5000,{deepest}")), OK);
        h.advance(Duration::from_millis(5000));
        let expected = if deepest == 3 {
            PowerMode::Sleep2
        } else {
            PowerMode::Hibernate
        };
        assert_eq!(h.m.power_mode(), expected);
        h.control(Control::WakeLine);
        let wake = h.timing().wake;
        h.advance(wake);
        h.send("ATE0");
        h.send("AT+CMEE=1");
        factory_profile_0(&mut h);
    }
}

#[test]
fn sleep1_keeps_the_profiles() {
    let mut h = quiet();
    configured(&mut h);
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    assert_eq!(h.send("AT+UPSV=1,5000,2"), OK);
    h.advance(Duration::from_millis(5000));
    assert_eq!(h.m.power_mode(), PowerMode::Sleep1);
    // The byte that wakes Sleep-1 is lost: a sacrificial line first.
    h.send("AT");
    assert_eq!(h.send("AT+USECPRF=0,0"), ok_with(&["+USECPRF: 0,0,2"]));
    assert_ne!(
        h.send("AT+USECPRF=0,13,3"),
        ok_with(&["+USECPRF: 0,13,3,,0"])
    );
}

#[test]
fn logs_see_session_data_and_passwords_masked_and_other_lines_as_they_are() {
    for (line, logged) in [
        ("AT+USECPRF=0,13,3,QUJD,4", "AT+USECPRF=0,13,3,***,4"),
        ("at+usecprf=1,13,13,\"QUJD\",4", "at+usecprf=1,13,13,***,4"),
        (
            "AT+USECPRF=0,13,0,1;+USECPRF=0,13,3,QUJD,4;+UMQTTC=1",
            "AT+USECPRF=0,13,0,1;+USECPRF=0,13,3,***,4;+UMQTTC=1",
        ),
        ("AT+USECPRF=0,13,3", "AT+USECPRF=0,13,3"),
        ("AT+USECPRF=0,3,\"ca\"", "AT+USECPRF=0,3,\"ca\""),
        ("AT+UMQTTC=1", "AT+UMQTTC=1"),
        ("AT+UMQTT=4,\"agent\",\"pa,ss\"", "AT+UMQTT=4,\"agent\",***"),
        ("AT+UMQTT=3,\"broker\",8883", "AT+UMQTT=3,\"broker\",8883"),
        ("AT+UHTTP=0,3,\"P455w0rd\"", "AT+UHTTP=0,3,***"),
        ("AT+UHTTP=0,2,\"user\"", "AT+UHTTP=0,2,\"user\""),
    ] {
        assert_eq!(without_secrets(line), logged, "{line}");
    }
}
