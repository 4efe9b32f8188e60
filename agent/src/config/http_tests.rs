//! `[uplink.http]` loaded as a user writes it: defaults, every key, the
//! profile and request options it declares, masked header values, and every
//! bad input named at its key.

use super::super::{Config, ConfigError, Origin, Problem, Transport};
use super::*;
use crate::modem::at::AtCommand;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<Problem>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[modem]\nport = \"/dev/ttyUSB0\"\n{text}")).unwrap();
    match Config::load_with_env(&path, env.iter().copied()) {
        Ok(loaded) => Ok(loaded.config),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
        Err(other) => panic!("{other}"),
    }
}

/// The keys of the problems, with their lines (`None` for not set).
fn keys(problems: &[Problem]) -> Vec<(&str, Option<usize>)> {
    problems
        .iter()
        .map(|p| match &p.origin {
            Origin::File { line, .. } => (p.key.as_str(), *line),
            _ => (p.key.as_str(), None),
        })
        .collect()
}

const FULL: &str = r#"
[uplink]
transport = "http"
encoding = "influx"

[uplink.http]
url = "http://ingest.example.com:8086/write/{device_id}?db=edge"
method = "file"
timeout = "1m"
max_payload_bytes = 4096
pdp_context = 2
ip_type = "ipv6"
headers = { Authorization = "Bearer s3cr3t-t0ken", X-Fleet = "north" }
"#;

#[test]
fn every_http_key_can_be_set_and_header_values_stay_masked() {
    let c = load(FULL, &[]).unwrap();
    assert_eq!(c.uplink.transport, Transport::Http);
    let h = c.uplink.http.as_ref().unwrap();
    assert_eq!(h.method, PostMethod::File);
    assert_eq!(h.timeout_secs(), 60);
    assert_eq!(h.max_payload_bytes, 4096);
    assert_eq!(c.uplink.max_payload_bytes(), 4096);
    assert_eq!(c.uplink.packer(Some("gw")).limits().max_payload_bytes, 4096);
    let printed = c.to_toml().unwrap();
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert!(!format!("{c:?}").contains("s3cr3t"));
    assert!(printed.contains("Authorization = \"***\""), "{printed}");
    // What is printed loads again (with the masks as values).
    let again: Config = toml::from_str(&printed).unwrap();
    assert_eq!(again.uplink.http.unwrap().url, h.url);

    let profile = h.profile("gw-7").unwrap();
    let labels: Vec<String> = profile.commands().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        [
            "AT+UHTTP=0,1,\"ingest.example.com\"",
            "AT+UHTTP=0,6,0",
            "AT+UHTTP=0,5,8086",
            "AT+UHTTP=0,7,60",
            "AT+UHTTP=0,9,\"0:Authorization:***\"",
            "AT+UHTTP=0,9,\"1:X-Fleet:***\"",
            "AT+UHTTP=0,10,0",
            "AT+UHTTP=0,20,2,1",
        ]
    );
    assert!(profile
        .commands()
        .any(|c| c.text() == "AT+UHTTP=0,9,\"0:Authorization:Bearer s3cr3t-t0ken\""));
    let options = h.options("gw-7", c.uplink.encoding).unwrap();
    assert_eq!(options.path, "/write/gw-7?db=edge");
    assert_eq!(
        options.content_type,
        ContentType::UserDefined("text/plain; charset=utf-8".into())
    );
    assert_eq!(options.request_timeout, StdDuration::from_secs(60));
}

#[test]
fn absent_http_keys_take_their_defaults() {
    let c = load(
        "[uplink]\ntransport = \"http\"\n[uplink.http]\nurl = \"http://10.0.0.7/t\"\n",
        &[],
    )
    .unwrap();
    let h = c.uplink.http.as_ref().unwrap();
    assert_eq!(h.method, PostMethod::Direct);
    assert_eq!(h.timeout, DEFAULT_HTTP_TIMEOUT);
    assert_eq!(h.max_payload_bytes, 8192);
    assert_eq!((h.pdp_context, h.ip_type), (1, IpType::Ipv4));
    assert!(h.headers.is_empty() && h.tls.is_none());
    let labels: Vec<String> = h
        .profile("x")
        .unwrap()
        .commands()
        .map(|c| c.label())
        .collect();
    assert_eq!(
        labels,
        [
            "AT+UHTTP=0,0,\"10.0.0.7\"",
            "AT+UHTTP=0,6,0",
            "AT+UHTTP=0,5,80",
            "AT+UHTTP=0,7,30",
            "AT+UHTTP=0,10,1",
            "AT+UHTTP=0,20,1,0",
        ]
    );
    // The SenML CBOR default's media type, user-defined.
    assert_eq!(
        h.options("x", c.uplink.encoding).unwrap().content_type,
        ContentType::UserDefined("application/senml+cbor".into())
    );
    // Without the table nothing about HTTP is printed.
    assert!(!load("", &[]).unwrap().to_toml().unwrap().contains("http"));
}

#[test]
fn https_names_its_security_profile_before_the_port_and_reads_its_tls_table() {
    let pki = crate::tls::test_pki::Pki::new();
    let ca = pki.ca("root", "ec:P-256");
    let c = load(
        &format!(
            "[uplink]\ntransport = \"http\"\n[uplink.http]\n\
             url = \"https://ingest.example.com/v1/{{device_id}}\"\n\
             [uplink.http.tls]\nca_file = {ca:?}\n"
        ),
        &[],
    )
    .unwrap();
    let h = c.uplink.http.as_ref().unwrap();
    let labels: Vec<String> = h
        .profile("gw")
        .unwrap()
        .commands()
        .map(|c| c.label())
        .collect();
    // §7.5: op 6 moves the port between 80 and 443; op 5 comes after.
    assert_eq!(labels[1..3], ["AT+UHTTP=0,6,1,1", "AT+UHTTP=0,5,443"]);
    let url = h.url_for("gw").unwrap();
    let host = url.host.text();
    let target = h.tls_target(&host);
    assert_eq!(
        (target.table, target.host, target.profile),
        ("uplink.http.tls", "ingest.example.com", 1)
    );
    let settings = h.tls.as_ref().unwrap().settings(target).unwrap();
    assert_eq!(settings.profile.id, 1);
    assert_eq!(settings.profile.sni.as_deref(), Some("ingest.example.com"));
}

#[test]
fn the_http_table_can_come_from_the_environment() {
    let c = load(
        "",
        &[
            ("EDGE_AGENT_UPLINK__TRANSPORT", "http"),
            ("EDGE_AGENT_UPLINK__HTTP__URL", "http://10.0.0.7:8080/in"),
            ("EDGE_AGENT_UPLINK__HTTP__METHOD", "file"),
        ],
    )
    .unwrap();
    let h = c.uplink.http.unwrap();
    assert_eq!(
        (h.method, h.url_for("x").unwrap().port),
        (PostMethod::File, 8080)
    );
}

#[test]
fn every_bad_http_input_is_named_at_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[uplink.http]\nurl = \"ingest.example.com/v1\"\n",
            "uplink.http.url",
            "not a URL",
        ),
        (
            "[uplink.http]\nurl = \"ftp://ingest.example.com/v1\"\n",
            "uplink.http.url",
            "scheme \"ftp\"",
        ),
        (
            "[uplink.http]\nurl = \"https://ingest.example.com/\"\n",
            "uplink.http.tls",
            "required for an https:// URL",
        ),
        (
            "[uplink.http]\nurl = \"https://ingest.example.com/\"\n[uplink.http.tls]\n\
             verify = \"chain\"\n",
            "uplink.http.tls.ca_file",
            "required with verify = \"chain\"",
        ),
        (
            "[uplink.http]\nurl = \"http://ingest.example.com/\"\n[uplink.http.tls]\n\
             verify = \"none\"\n",
            "uplink.http.tls",
            "never uses TLS",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { \"X Bad\" = \"v\" }\n",
            "uplink.http.headers",
            "contains ' '",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { \"X:Bad\" = \"v\" }\n",
            "uplink.http.headers",
            "contains ':'",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { X-Key = \"a\\\"b\" }\n",
            "uplink.http.headers",
            "cannot carry",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { X-Key = \"a\\u0007b\" }\n",
            "uplink.http.headers",
            "cannot carry",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { Content-Type = \"text/csv\" }\n",
            "uplink.http.headers",
            "writes Content-Type itself",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { A = \"1\", B = \"2\", C = \"3\", \
             D = \"4\", E = \"5\", F = \"6\" }\n",
            "uplink.http.headers",
            "at most 5",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\ntimeout = \"10s\"\n",
            "uplink.http.timeout",
            "from 30s",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\ntimeout = \"30500ms\"\n",
            "uplink.http.timeout",
            "whole seconds",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nmethod = \"put\"\n",
            "uplink.http.method",
            "`direct`, `file`",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nmax_payload_bytes = 10\n",
            "uplink.http.max_payload_bytes",
            "64..=65536",
        ),
        (
            "[uplink.http]\nmethod = \"file\"\n",
            "uplink.http.url",
            "missing",
        ),
        (
            "[uplink]\ntransport = \"http\"\n",
            "uplink.transport",
            "needs the [uplink.http] table",
        ),
    ];
    for (text, key, expected) in cases {
        let problems = load(text, &[]).expect_err(text);
        let found = keys(&problems);
        assert_eq!(found.len(), 1, "{text}: {problems:#?}");
        assert_eq!(found[0].0, *key, "{text}: {problems:#?}");
        assert!(
            problems[0].message.contains(expected),
            "{text}: {}",
            problems[0].message
        );
    }
}

#[test]
fn a_bad_header_value_is_never_quoted() {
    let problems = load(
        "[uplink.http]\nurl = \"http://x/\"\nheaders = { Authorization = \" Bearer \
         s3cr3t\" }\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(problems[0].key, "uplink.http.headers");
    assert!(
        !problems[0].message.contains("s3cr3t"),
        "{}",
        problems[0].message
    );
    assert!(
        problems[0].message.contains("not shown"),
        "{}",
        problems[0].message
    );
}

#[test]
fn problems_point_at_their_lines() {
    let problems = load(
        "[uplink]\ntransport = \"http\"\n[uplink.http]\nurl = \"https://x.example/\"\n\
         timeout = \"5s\"\n",
        &[],
    )
    .unwrap_err();
    // The missing TLS table is the URL's doing: placed at the URL.
    assert_eq!(
        keys(&problems),
        [
            ("uplink.http.tls", Some(6)),
            ("uplink.http.timeout", Some(7))
        ]
    );
}
