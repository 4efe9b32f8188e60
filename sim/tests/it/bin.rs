//! The `lexi-sim` binary: prints the pty path first, answers on it, stops
//! on SIGTERM.

// Test code: a panic is how a test fails (helpers outside #[test] fns too).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::common::{Host, PtyHost, PATIENCE};

#[tokio::test]
async fn prints_the_pty_path_answers_on_it_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .args([
            "--time-scale",
            "0.001",
            "--imei",
            "490154203237518",
            "--nvm-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(PATIENCE, first_line)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let path = PathBuf::from(line.trim_end());
    assert!(path.starts_with("/dev/"), "{line:?}");

    let mut host = Host::new(PtyHost::open(&path).unwrap());
    // The module may still be booting: poll with AT like ubxlib does.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        host.write(b"AT+CGSN\r").await;
        let got = tokio::time::timeout(Duration::from_millis(200), host.read_until("OK\r\n")).await;
        if let Ok(got) = got {
            assert!(
                got.ends_with("\r\n490154203237518\r\n\r\nOK\r\n"),
                "{got:?}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never answered");
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(PATIENCE, exited)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_explains_how_to_point_the_agent_at_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("modem"), "{text}");
    assert!(text.contains("port = "), "{text}");
    // The PWR_ON line, the control socket and every one of its commands.
    for needle in [
        "SIGUSR1",
        "kind = \"command\"",
        "--pid-file",
        "--control",
        "lexi-sim ctl",
        "--network-time",
        "--tz-quarters",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    for (usage, _) in lexi_sim::control::COMMANDS {
        assert!(text.contains(usage), "{usage} not in {text}");
    }
}

#[test]
fn bad_network_time_flags_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, why) in [
        ("--network-time", "yesterday", "Unix seconds"),
        ("--network-time", "100", "network time"),
        ("--tz-quarters", "-60", "network_tz_quarters"),
        ("--tz-quarters", "200", "--tz-quarters"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
            .args([flag, value])
            .arg("--nvm-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_bad_imei_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
        .args(["--imei", "12"])
        .arg("--nvm-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("imei"));
}
