//! `[uplink.mqtt.tls]`: the files checked at load with the key, the file and
//! the line named; what the module is told to hold.

use super::super::{Config, ConfigError, LoadedConfig, MqttConfig, MqttHost, Origin, Problem};
use super::*;
use crate::modem::security::CredentialKind;
use crate::tls::test_pki::Pki;

/// Loads `[uplink.mqtt] host = "broker.example"` plus `tls` (the body of
/// `[uplink.mqtt.tls]`, paths relative to the PKI's directory) plus `extra`.
fn load(pki: &Pki, tls: &str, extra: &str) -> Result<LoadedConfig, Vec<Problem>> {
    let path = pki.path("config.toml");
    let tls = tls.replace("$DIR", &pki.path("").display().to_string());
    std::fs::write(
        &path,
        format!(
            "[modem]\nport = \"/dev/ttyUSB0\"\n\n[uplink.mqtt]\nhost = \"broker.example\"\n{extra}\n\
             [uplink.mqtt.tls]\n{tls}"
        ),
    )
    .unwrap();
    match Config::load_with_env(&path, std::iter::empty::<(&str, &str)>()) {
        Ok(loaded) => Ok(loaded),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
        Err(other) => panic!("{other}"),
    }
}

/// The one problem: (key, line, message).
fn problem(problems: &[Problem]) -> (&str, Option<usize>, &str) {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    let line = match &p.origin {
        Origin::File { line, .. } => *line,
        _ => None,
    };
    (p.key.as_str(), line, p.message.as_str())
}

fn pki_with_device() -> Pki {
    let pki = Pki::new();
    pki.ca("root", "ec:P-256");
    pki.leaf("device", "root", "ec:P-256", None);
    pki.leaf("other", "root", "ec:P-256", None);
    pki
}

#[test]
fn the_table_turns_tls_on_with_port_8883_and_the_safest_defaults() {
    let pki = pki_with_device();
    let loaded = load(&pki, "ca_file = \"$DIR/root.pem\"\n", "").unwrap();
    let mqtt = &loaded.config.uplink.mqtt;
    assert_eq!(mqtt.port, DEFAULT_MQTTS_PORT);
    assert!(
        loaded.chosen.iter().any(|c| c.contains("8883")),
        "{:?}",
        loaded.chosen
    );
    let tls = mqtt.tls.as_ref().unwrap();
    assert_eq!(tls.verify, Verify::ChainAndHostname);
    assert_eq!(tls.min_version, TlsVersion::V1_2);
    assert_eq!(tls.resumption, ResumptionMode::Ticket);
    let settings = tls.settings(mqtt.tls_target().unwrap()).unwrap();
    let p = &settings.profile;
    assert_eq!(p.id, MQTT_SECURITY_PROFILE);
    assert_eq!(p.validation, Validation::ChainAndHostname);
    assert_eq!(p.min_version, MinTlsVersion::Tls1_2);
    assert_eq!(p.hostname.as_deref(), Some("broker.example"));
    assert_eq!(p.sni.as_deref(), Some("broker.example"));
    assert_eq!(p.resumption, Resumption::Ticket);
    assert_eq!(p.ca_names.len(), 1);
    assert_eq!(settings.credentials.len(), 1);
    assert_eq!(settings.credentials[0].kind, CredentialKind::Ca);
    // The MQTT profile names the security profile (§6.9).
    let profile = mqtt.profile("356938035643809", "dev").unwrap();
    let texts: Vec<String> = profile
        .commands()
        .map(|c| crate::modem::at::AtCommand::text(&c))
        .collect();
    assert!(texts.contains(&"AT+UMQTT=11,1,0".to_owned()), "{texts:?}");
}

#[test]
fn an_explicit_port_is_kept_and_without_tls_the_profile_says_plain() {
    let pki = pki_with_device();
    let loaded = load(&pki, "ca_file = \"$DIR/root.pem\"\n", "port = 443\n").unwrap();
    assert_eq!(loaded.config.uplink.mqtt.port, 443);
    let plain = MqttConfig {
        host: Some(MqttHost::try_from("broker.example".to_owned()).unwrap()),
        ..MqttConfig::default()
    };
    let texts: Vec<String> = plain
        .profile("356938035643809", "dev")
        .unwrap()
        .commands()
        .map(|c| crate::modem::at::AtCommand::text(&c))
        .collect();
    assert!(texts.contains(&"AT+UMQTT=11,0".to_owned()), "{texts:?}");
}

#[test]
fn mutual_tls_adds_the_pair_and_every_setting_reaches_the_profile() {
    let pki = pki_with_device();
    let loaded = load(
        &pki,
        "ca_file = \"$DIR/root.pem\"\ncert_file = \"$DIR/device.pem\"\n\
         key_file = \"$DIR/device.key\"\nserver_name = \"mqtt.example.net\"\n\
         min_version = \"1.3\"\nresumption = \"encrypted-ticket\"\n",
        "",
    )
    .unwrap();
    let mqtt = &loaded.config.uplink.mqtt;
    let settings = mqtt
        .tls
        .as_ref()
        .unwrap()
        .settings(mqtt.tls_target().unwrap())
        .unwrap();
    let kinds: Vec<CredentialKind> = settings.credentials.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CredentialKind::Ca,
            CredentialKind::ClientCert,
            CredentialKind::ClientKey
        ]
    );
    let p = &settings.profile;
    assert_eq!(
        p.client_cert.as_deref(),
        Some(settings.credentials[1].name.as_str())
    );
    assert_eq!(
        p.client_key.as_deref(),
        Some(settings.credentials[2].name.as_str())
    );
    assert_eq!(p.hostname.as_deref(), Some("mqtt.example.net"));
    assert_eq!(p.sni.as_deref(), Some("mqtt.example.net"));
    assert_eq!(p.min_version, MinTlsVersion::Tls1_3);
    assert_eq!(p.resumption, Resumption::EncryptedTicket);
}

#[test]
fn a_missing_file_is_named_with_its_key_and_line() {
    let pki = pki_with_device();
    let problems = load(&pki, "ca_file = \"$DIR/absent.pem\"\n", "").unwrap_err();
    let (key, line, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.ca_file");
    assert_eq!(line, Some(8));
    assert!(message.contains("absent.pem"), "{message}");
}

#[test]
fn a_leaf_as_ca_a_key_without_certificate_and_a_foreign_key_are_refused() {
    let pki = pki_with_device();
    let problems = load(&pki, "ca_file = \"$DIR/device.pem\"\n", "").unwrap_err();
    let (key, _, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.ca_file");
    assert!(message.contains("not a CA certificate"), "{message}");
    assert!(message.contains("device.pem"), "{message}");

    let problems = load(
        &pki,
        "ca_file = \"$DIR/root.pem\"\nkey_file = \"$DIR/device.key\"\n",
        "",
    )
    .unwrap_err();
    let (key, _, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.cert_file");
    assert!(message.contains("required with key_file"), "{message}");

    let problems = load(
        &pki,
        "ca_file = \"$DIR/root.pem\"\ncert_file = \"$DIR/device.pem\"\n",
        "",
    )
    .unwrap_err();
    assert_eq!(problem(&problems).0, "uplink.mqtt.tls.key_file");

    let problems = load(
        &pki,
        "ca_file = \"$DIR/root.pem\"\ncert_file = \"$DIR/device.pem\"\n\
         key_file = \"$DIR/other.key\"\n",
        "",
    )
    .unwrap_err();
    let (key, line, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.key_file");
    assert_eq!(line, Some(10));
    assert!(
        message.contains("does not belong to the certificate"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_pem_says_so() {
    let pki = pki_with_device();
    pki.write("notes.txt", b"this is not a certificate\n");
    let problems = load(&pki, "ca_file = \"$DIR/notes.txt\"\n", "").unwrap_err();
    let (key, _, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.ca_file");
    assert!(message.contains("not PEM"), "{message}");
}

#[test]
fn the_ca_is_required_unless_nothing_is_verified() {
    let pki = pki_with_device();
    let problems = load(&pki, "verify = \"chain\"\n", "").unwrap_err();
    let (key, _, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.ca_file");
    assert!(
        message.contains("required with verify = \"chain\""),
        "{message}"
    );
    let loaded = load(&pki, "verify = \"none\"\n", "").unwrap();
    let mqtt = &loaded.config.uplink.mqtt;
    let settings = mqtt
        .tls
        .as_ref()
        .unwrap()
        .settings(mqtt.tls_target().unwrap())
        .unwrap();
    assert!(settings.credentials.is_empty());
    assert_eq!(settings.profile.validation, Validation::None);
    assert_eq!(settings.profile.hostname, None);
}

#[test]
fn unknown_versions_modes_and_keys_are_refused_with_what_is_allowed() {
    let pki = pki_with_device();
    for (body, key, allowed) in [
        (
            "min_version = \"1.4\"\n",
            "uplink.mqtt.tls.min_version",
            "1.3",
        ),
        (
            "verify = \"strict\"\n",
            "uplink.mqtt.tls.verify",
            "chain-and-hostname",
        ),
        (
            "resumption = \"psk\"\n",
            "uplink.mqtt.tls.resumption",
            "encrypted-ticket",
        ),
        ("ca_flie = \"x\"\n", "uplink.mqtt.tls.ca_flie", "ca_file"),
    ] {
        let problems = load(&pki, &format!("ca_file = \"$DIR/root.pem\"\n{body}"), "").unwrap_err();
        let (shown, line, message) = problem(&problems);
        assert_eq!(shown, key, "{body}");
        assert_eq!(line, Some(9), "{body}");
        assert!(message.contains(allowed), "{body}: {message}");
    }
}

#[test]
fn an_address_host_needs_a_server_name_for_the_host_name_check() {
    let pki = pki_with_device();
    let path = pki.path("config.toml");
    std::fs::write(
        &path,
        format!(
            "[modem]\nport = \"/dev/ttyUSB0\"\n[uplink.mqtt]\nhost = \"192.0.2.7\"\n\
             [uplink.mqtt.tls]\nca_file = \"{}\"\n",
            pki.path("root.pem").display()
        ),
    )
    .unwrap();
    let Err(ConfigError::Invalid { problems, .. }) =
        Config::load_with_env(&path, std::iter::empty::<(&str, &str)>())
    else {
        panic!("an address with the host name check must be refused");
    };
    let (key, _, message) = problem(&problems);
    assert_eq!(key, "uplink.mqtt.tls.server_name");
    assert!(message.contains("192.0.2.7"), "{message}");
}

#[test]
fn the_printed_config_shows_the_tls_table_and_no_key_material() {
    let pki = pki_with_device();
    let loaded = load(
        &pki,
        "ca_file = \"$DIR/root.pem\"\ncert_file = \"$DIR/device.pem\"\n\
         key_file = \"$DIR/device.key\"\n",
        "",
    )
    .unwrap();
    let text = loaded.effective_toml().unwrap();
    assert!(text.contains("[uplink.mqtt.tls]"), "{text}");
    assert!(text.contains("device.key"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}
