//! The `+USECMNG`/`+USECPRF` commands' text and their answers' parsing,
//! from the note's §3 tables.

use super::*;

fn answer(lines: &[&str]) -> Response {
    Response::from_lines(lines)
}

#[test]
fn an_import_streams_the_pem_after_the_prompt_and_reads_the_md5_of_the_der() {
    let cmd = ImportCredential {
        kind: CredentialKind::Ca,
        name: "ca-1a2b".into(),
        pem: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
    };
    assert_eq!(cmd.text(), "AT+USECMNG=0,0,\"ca-1a2b\",59");
    assert_eq!(
        cmd.data().map(|(p, d)| (p, d.len())),
        Some((Prompt::Greater, 59))
    );
    let stored = cmd
        .parse(&answer(&[
            "+USECMNG: 0,0,\"ca-1a2b\",\"8CCADC0B22CEF5BE72AC411A11A8D812\"",
        ]))
        .unwrap();
    assert_eq!(
        stored,
        StoredCredential {
            kind: CredentialKind::Ca,
            name: "ca-1a2b".into(),
            md5: "8ccadc0b22cef5be72ac411a11a8d812".into(),
        }
    );
    // The note's §3.3 example: op echoed as 1, the hash wrapped by a space.
    let noted = cmd
        .parse(&answer(&[
            "+USECMNG: 1,0,\"ThawteCA\", \"8ccadc0b22cef5be72ac411a 11a8d812\"",
        ]))
        .unwrap();
    assert_eq!(noted.md5, "8ccadc0b22cef5be72ac411a11a8d812");
    // §3.1's truncated hashes are refused, not taken for a match.
    assert!(cmd
        .parse(&answer(&[
            "+USECMNG: 1,0,\"ca_cert\", \"d10137cee624fcee624418db5eaa\""
        ]))
        .is_err());
}

#[test]
fn an_import_never_shows_the_key_it_carries() {
    let cmd = ImportCredential {
        kind: CredentialKind::ClientKey,
        name: "key".into(),
        pem: b"-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n".to_vec(),
    };
    let shown = format!("{cmd:?} {}", cmd.label());
    assert!(!shown.contains("SECRETBYTES"), "{shown}");
}

#[test]
fn md5_remove_and_list_follow_the_note() {
    let md5 = CredentialMd5 {
        kind: CredentialKind::ClientCert,
        name: "cc".into(),
    };
    assert_eq!(md5.text(), "AT+USECMNG=4,1,\"cc\"");
    assert_eq!(
        md5.parse(&answer(&[
            "+USECMNG: 4,1,\"cc\",\"0123456789abcdef0123456789abcdef\""
        ]))
        .unwrap()
        .md5,
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        RemoveCredential {
            kind: CredentialKind::ClientKey,
            name: "k".into()
        }
        .text(),
        "AT+USECMNG=2,2,\"k\""
    );
    let listed = ListCredentials
        .parse(&answer(&[
            "CA, \"ca_certificate\", \"An MQTT broker\", \"2032/10/18 08:23:32\"",
            "CC, \"client_certificate\", \"A client certificate\", \"2032/06/22 12:34:48\"",
            "PK, \"client_private_key\"",
            "SC, \"server\"",
        ]))
        .unwrap();
    let kinds: Vec<_> = listed.iter().map(|l| (l.kind, l.name.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (Some(CredentialKind::Ca), "ca_certificate"),
            (Some(CredentialKind::ClientCert), "client_certificate"),
            (Some(CredentialKind::ClientKey), "client_private_key"),
            (None, "server"),
        ]
    );
}

#[test]
fn profile_settings_are_written_as_the_note_numbers_them() {
    let set = |setting| SetSecurityProfile {
        profile: 2,
        setting,
    };
    let cases = [
        (
            set(SecuritySetting::Validation(Validation::Chain)),
            "AT+USECPRF=2,0,1",
        ),
        (
            set(SecuritySetting::MinVersion(MinTlsVersion::Tls1_2)),
            "AT+USECPRF=2,1,3",
        ),
        (
            set(SecuritySetting::CaName("ThawteCA".into())),
            "AT+USECPRF=2,3,\"ThawteCA\"",
        ),
        (
            set(SecuritySetting::ExpectedHostname("broker.example".into())),
            "AT+USECPRF=2,4,\"broker.example\"",
        ),
        (
            set(SecuritySetting::ClientCertName("cc".into())),
            "AT+USECPRF=2,5,\"cc\"",
        ),
        (
            set(SecuritySetting::ClientKeyName("pk".into())),
            "AT+USECPRF=2,6,\"pk\"",
        ),
        (
            set(SecuritySetting::Sni("broker.example".into())),
            "AT+USECPRF=2,10,\"broker.example\"",
        ),
        (
            set(SecuritySetting::Resumption(true)),
            "AT+USECPRF=2,13,0,1",
        ),
        (
            set(SecuritySetting::ResumptionType { encrypted: false }),
            "AT+USECPRF=2,13,1,1",
        ),
        (
            set(SecuritySetting::ResumptionType { encrypted: true }),
            "AT+USECPRF=2,13,1,11",
        ),
    ];
    for (cmd, text) in cases {
        assert_eq!(cmd.text(), text);
    }
    assert_eq!(ResetSecurityProfile(2).text(), "AT+USECPRF=2");
}

#[test]
fn session_data_is_set_unquoted_with_its_size_and_masked_in_logs() {
    let cmd = SetSecurityProfile {
        profile: 0,
        setting: SecuritySetting::SessionData {
            encrypted: false,
            data: SessionData {
                base64: "QUJDRA==".into(),
            },
        },
    };
    assert_eq!(cmd.text(), "AT+USECPRF=0,13,3,QUJDRA==,8");
    assert!(!cmd.label().contains("QUJDRA"), "{}", cmd.label());
    assert!(!format!("{cmd:?}").contains("QUJDRA"));
    let encrypted = SetSecurityProfile {
        profile: 0,
        setting: SecuritySetting::SessionData {
            encrypted: true,
            data: SessionData {
                base64: "QUJDRA==".into(),
            },
        },
    };
    assert_eq!(encrypted.text(), "AT+USECPRF=0,13,13,QUJDRA==,8");
}

#[test]
fn the_session_data_is_read_back_and_an_empty_one_is_none() {
    let read = ReadSessionData {
        profile: 1,
        encrypted: false,
    };
    assert_eq!(read.text(), "AT+USECPRF=1,13,3");
    assert_eq!(
        read.parse(&answer(&["+USECPRF: 1,13,3,QUJDRA==,8"]))
            .unwrap(),
        Some(SessionData {
            base64: "QUJDRA==".into()
        })
    );
    assert_eq!(
        read.parse(&answer(&["+USECPRF: 1,13,3,\"QUJDRA==\",8"]))
            .unwrap(),
        Some(SessionData {
            base64: "QUJDRA==".into()
        })
    );
    assert_eq!(read.parse(&answer(&["+USECPRF: 1,13,3,,0"])).unwrap(), None);
    assert_eq!(read.parse(&answer(&[])).unwrap(), None);
    assert!(read
        .parse(&answer(&["+USECPRF: 1,13,3,QUJDRA==,9"]))
        .is_err());
    // The note prints the encrypted read's size in place of the data's size.
    let encrypted = ReadSessionData {
        profile: 1,
        encrypted: true,
    };
    assert_eq!(encrypted.text(), "AT+USECPRF=1,13,13");
    assert_eq!(
        encrypted
            .parse(&answer(&["+USECPRF: 1,13,13,QUJDRA==,8"]))
            .unwrap()
            .map(|d| d.base64),
        Some("QUJDRA==".to_owned())
    );
}
