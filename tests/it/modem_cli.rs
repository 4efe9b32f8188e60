//! `edge-agent modem info` and `edge-agent at` as a user runs them, against
//! the in-process simulator (`modem.port = "sim"`).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn sim_config(dir: &tempfile::TempDir, extra: &str) -> PathBuf {
    let path = dir.path().join("config.toml");
    let text = format!(
        "[agent]\ndata_dir = {:?}\n\n[modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n{extra}\n\n[modem.sim]\ntime_scale = 0.01\n",
        dir.path().join("data")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn modem_info_boots_the_simulated_module_and_prints_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(&dir, "apn = \"iot.example\"\nmno_profile = 100");
    let out = run(
        &["modem", "info", "--config", config.to_str().unwrap()],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "model:        LEXI-R10401D",
        "IMEI:         357862090033897",
        "registration: registered, home network",
        "address:      10.40.50.5",
        "MNO profile or APN was updated",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // The simulator's NVM lives under the data directory: a second run finds
    // profile and APN in place and says nothing about updating them.
    let again = run(
        &["modem", "info", "--config", config.to_str().unwrap()],
        b"",
    );
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0));
    assert!(!stdout.contains("updated"), "{stdout}");
}

#[test]
fn the_at_console_prints_answers_errors_and_late_urcs() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(&dir, "");
    let input = b"AT+CGMI\nAT+UMQTTTC=1\nAT+CMEE=2\nAT+CFUN=7\n\nAT+UDNSRN=0,\"localhost\"\n";
    let out = run(
        &["at", "--config", config.to_str().unwrap(), "--linger", "1s"],
        input,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        &lines[..6],
        &[
            "u-blox",
            "OK",
            "ERROR",
            "OK",
            "+CME ERROR: incorrect parameters (50)",
            "OK"
        ],
        "{stdout}"
    );
    assert!(lines.contains(&"urc: +UUDNSRN: \"127.0.0.1\""), "{stdout}");
}

#[test]
fn modem_info_fails_with_exit_1_and_a_clear_message_when_the_device_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[modem]\nport = \"/dev/does-not-exist\"\n").unwrap();
    let out = run(&["modem", "info", "--config", path.to_str().unwrap()], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open modem port /dev/does-not-exist"),
        "{stderr}"
    );
}
