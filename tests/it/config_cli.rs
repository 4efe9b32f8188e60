//! `edge-agent check`: exit codes and messages, as a user sees them.

// The helpers below are test code too (clippy only exempts `#[test]` bodies):
// a panic in them is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `edge-agent ARGS` with only the given environment variables.
fn edge_agent(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn check(config: &Path, env: &[(&str, &str)]) -> Output {
    edge_agent(&["check", "--config", config.to_str().unwrap()], env)
}

fn write_config(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

#[test]
fn check_prints_the_effective_config_with_env_keys_and_masked_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[modem]\nport = \"/dev/ttyUSB0\"\nsim_pin = \"7391\"\n",
    );
    let out = check(&path, &[("EDGE_AGENT_MODEM__BAUD", "9600")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "# Effective configuration from {}",
            path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("# Set by environment variables: modem.baud (EDGE_AGENT_MODEM__BAUD)."),
        "{text}"
    );
    assert!(text.contains("baud = 9600"), "{text}");
    assert!(text.contains("command_timeout = \"10s\""), "{text}");
    assert!(text.contains("sim_pin = \"***\""), "{text}");
    assert!(!text.contains("7391"), "{text}");
    assert!(
        text.contains(
            "[modem.power]\nenabled = true\nsleep_timeout = \"5s\"\ndeepest = \"sleep1\"\n\
             vote_level = \"sleep1\"\nusb_off = true\n\n[modem.power.wake]\nkind = \"none\"\n"
        ),
        "{text}"
    );
    // What was chosen from other keys, and why.
    assert!(
        text.contains(
            "# Chosen: modem.power.deepest = \"sleep1\" (default): modem.power.wake.kind is \"none\""
        ),
        "{text}"
    );
    assert!(!stderr(&out).contains("7391"));
}

#[test]
fn check_refuses_usb_off_on_the_modules_own_usb_naming_key_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[modem]\nport = \"/dev/ttyACM0\"\n\n[modem.power]\nusb_off = true\n\n\
         [modem.power.wake]\nkind = \"command\"\nprogram = \"/usr/local/bin/wake-modem\"\n",
    );
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!("{}:5:", path.display());
    let err = stderr(&out);
    assert!(
        err.contains(&expected) && err.contains("modem.power.usb_off: ") && err.contains("UART"),
        "{err}"
    );
}

#[test]
fn check_refuses_hibernate_without_a_wake_action_naming_both_keys_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[modem]\nport = \"/dev/ttyUSB0\"\n\n[modem.power]\ndeepest = \"hibernate\"\n",
    );
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:5:", path.display()))
            && err.contains("modem.power.deepest: ")
            && err.contains("modem.power.wake.kind"),
        "{err}"
    );
}

#[test]
fn the_shipped_gateway_config_on_a_device_cannot_strand_the_module() {
    // configs/lexi-r10.toml as a user copies it: a device port, no wake
    // action. The module must not be allowed deeper than Sleep-1.
    let out = check(&repo_file("configs/lexi-r10.toml"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("port = \"/dev/"), "{text}");
    assert!(text.contains("\nkind = \"none\"\n"), "{text}");
    assert!(text.contains("deepest = \"sleep1\""), "{text}");
}

#[test]
fn check_rejects_an_unknown_key_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[modem]\nport = \"/dev/ttyUSB0\"\nbaudrate = 9600\n");
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let expected = format!("{}:3:1: modem.baudrate: unknown key", path.display());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
}

#[test]
fn check_reports_every_problem_each_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[agent]\ndevice_id = \"a/b\"\n[modem]\nport = \"/dev/ttyUSB0\"\nbaud = 1234\n",
    );
    let out = check(&path, &[("EDGE_AGENT_MODEM__COMMAND_TIMEOUT", "soon")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("3 problems"), "{err}");
    let shown = path.display();
    assert!(
        err.contains(&format!("{shown}:2:13: agent.device_id: ")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{shown}:5:8: modem.baud: unsupported baud rate 1234; allowed: 9600"
        )),
        "{err}"
    );
    assert!(
        err.contains("environment variable EDGE_AGENT_MODEM__COMMAND_TIMEOUT: modem.command_timeout: invalid duration \"soon\""),
        "{err}"
    );
}

#[test]
fn check_names_the_missing_file_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("config file {} not found", path.display())),
        "{err}"
    );
}

#[test]
fn check_gives_the_line_of_a_toml_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[modem]\nport = \"sim\n");
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2:", path.display())), "{err}");
    assert!(err.contains("TOML syntax error"), "{err}");
}

#[test]
fn an_invalid_rust_log_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[modem]\nport = \"/dev/ttyUSB0\"\n");
    let out = check(&path, &[("RUST_LOG", "edge_agent=loud")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("RUST_LOG"), "{}", stderr(&out));
}

#[test]
fn wrong_usage_exits_2_and_help_exits_0() {
    assert_eq!(
        edge_agent(&["check", "--bogus"], &[]).status.code(),
        Some(2)
    );
    assert_eq!(edge_agent(&[], &[]).status.code(), Some(2));
    let help = edge_agent(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(text.contains("check"), "{text}");
    assert!(text.contains("--config <FILE>"), "{text}");
    assert!(text.contains("/etc/edge-agent/config.toml"), "{text}");
    assert!(text.contains("EDGE_AGENT_MODEM__BAUD"), "{text}");
    let check_help = edge_agent(&["check", "--help"], &[]);
    assert_eq!(check_help.status.code(), Some(0));
    assert!(
        stdout(&check_help).contains("exit status 2"),
        "{}",
        stdout(&check_help)
    );
}

#[test]
fn the_shipped_example_configs_pass_check() {
    let names: &[&str] = if cfg!(feature = "sim") {
        &["configs/demo.toml", "configs/lexi-r10.toml"]
    } else {
        &["configs/lexi-r10.toml"]
    };
    for name in names {
        let out = check(&repo_file(name), &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
    }
}

#[test]
#[cfg(feature = "sim")]
fn the_demo_config_runs_the_simulator_fast() {
    let out = check(&repo_file("configs/demo.toml"), &[]);
    let text = stdout(&out);
    assert!(text.contains("port = \"sim\""), "{text}");
    assert!(text.contains("time_scale = 0.05"), "{text}");
}
