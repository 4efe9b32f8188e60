//! `edge-agent run --test` (the plugins polled once, their readings and
//! messages printed, nothing else touched) and `--log-format json`, as a
//! user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edge_agent::plugin_host::sha256_hex;

use crate::support::installed_plugin;

/// A gateway's config whose module port does not exist and whose data
/// directory does not either, with the synthetic plugin (pinned) and
/// `extra` appended.
fn config(dir: &Path, encoding: &str, extra: &str) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let (synthetic, sha256) = installed_plugin(&plugins, "edge_plugin_synthetic");
    let text = format!(
        r#"[agent]
data_dir = {data:?}
device_id = "gw-test"

[modem]
port = {port:?}
sim_pin = "7391"

[uplink]
encoding = "{encoding}"

[uplink.mqtt]
host = "broker.example.com"
password = "hunter2-secret"

[[plugins]]
name = "weather"
path = {synthetic:?}
sha256 = "{sha256}"

[plugins.config]
series = [
  {{ name = "temperature", unit = "Cel", pattern = "sine", period = 30, amplitude = 3.0, offset = 21.0 }},
  {{ name = "humidity", unit = "%RH", pattern = "random-walk", amplitude = 10.0, offset = 45.0 }},
]
{extra}"#,
        data = dir.join("data"),
        port = dir.join("ttyNOPE"),
        sha256 = sha256_hex(&sha256),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn edge_agent(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn run_test(config: &Path) -> Output {
    edge_agent(
        &["run", "--test", "--config", config.to_str().unwrap()],
        &[],
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The line after `message 1: ...`.
fn first_payload(stdout: &str) -> &str {
    let mut lines = stdout.lines();
    lines
        .find(|l| l.starts_with("message 1: "))
        .unwrap_or_else(|| panic!("no message in {stdout}"));
    lines.next().unwrap()
}

#[test]
fn run_test_prints_each_plugins_readings_and_the_message_touching_no_modem_or_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "senml-json", "");
    let out = run_test(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("plugin weather (library synthetic): 2 readings\n"),
        "{text}"
    );
    assert!(text.contains("  weather temperature = "), "{text}");
    assert!(text.contains(" Cel  at 20"), "{text}");
    assert!(text.contains("  weather humidity = "), "{text}");
    assert!(
        text.contains("messages in senml-json (application/senml+json):"),
        "{text}"
    );
    // The payload as the uplink would publish it: SenML JSON, names under
    // the device id.
    let records: Vec<serde_json::Value> = serde_json::from_str(first_payload(&text)).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["bn"], "gw-test:weather/", "{records:?}");
    // Neither the module's port nor the queue was opened: the port does
    // not exist, and the data directory was never created.
    assert!(!dir.path().join("data").exists());
}

#[test]
fn run_test_shows_a_cbor_message_in_hex() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "senml-cbor", "");
    let out = run_test(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let hex = first_payload(&text);
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let records: ciborium::Value = ciborium::from_reader(&bytes[..]).unwrap();
    assert_eq!(records.as_array().map(Vec::len), Some(2), "{records:?}");
}

#[test]
fn run_test_exits_1_naming_a_plugin_that_could_not_be_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("libabsent.so");
    let path = config(
        dir.path(),
        "influx",
        &format!("\n[[plugins]]\nname = \"absent\"\npath = {missing:?}\nallow_unpinned = true\n"),
    );
    let out = run_test(&path);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("plugin absent: not loaded: "), "{text}");
    // The plugin that loaded is still shown, its message as line protocol.
    assert!(first_payload(&text).starts_with("weather,"), "{text}");
    assert!(
        stderr(&out).contains("error: 1 of 2 plugins failed: absent (not loaded)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn log_format_json_writes_one_object_per_line_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "senml-json", "");
    let out = edge_agent(
        &[
            "--log-format",
            "json",
            "run",
            "--test",
            "--config",
            path.to_str().unwrap(),
        ],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "message", "target"] {
            assert!(line.get(key).is_some(), "no {key} in {line}");
        }
    }
    assert!(
        lines.iter().any(|l| l["level"] == "INFO"
            && l["message"] == "plugin loaded"
            && l["plugin"] == "weather"),
        "{log}"
    );
    for secret in ["7391", "hunter2-secret"] {
        assert!(!log.contains(secret), "{log}");
        assert!(!stdout(&out).contains(secret));
    }
}

#[test]
fn log_format_json_turns_the_last_error_into_a_json_line_too() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.toml");
    let out = edge_agent(
        &[
            "check",
            "--log-format",
            "json",
            "--config",
            absent.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let log = stderr(&out);
    let line: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(line["level"], "ERROR", "{log}");
    assert_eq!(
        line["message"],
        format!("config file {} not found", absent.display())
    );
}
