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

#[test]
fn check_merges_the_conf_d_drop_ins_in_name_order_appending_plugins_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[agent]\ndevice_id = \"from-main\"\n\n[modem]\nport = \"/dev/ttyUSB0\"\n\n\
         [[plugins]]\nname = \"board\"\npath = \"/usr/lib/edge-agent/plugins/board.so\"\n\
         allow_unpinned = true\n",
    );
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    // As a plugin package installs its own pinned entry.
    std::fs::write(
        conf_d.join("50-weather.toml"),
        format!(
            "[[plugins]]\nname = \"weather\"\npath = \"/usr/lib/edge-agent/plugins/weather.so\"\n\
             sha256 = \"{}\"\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    std::fs::write(
        conf_d.join("10-site.toml"),
        "[agent]\ndevice_id = \"from-drop-in\"\n",
    )
    .unwrap();
    // Not drop-ins: a package manager's leftover and a note.
    std::fs::write(conf_d.join("60-old.toml.dpkg-old"), "not toml").unwrap();
    std::fs::write(conf_d.join("README"), "not toml").unwrap();
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "# Drop-ins read from {}, merged in this order: 10-site.toml, 50-weather.toml.\n",
            conf_d.display()
        )),
        "{text}"
    );
    assert!(text.contains("device_id = \"from-drop-in\""), "{text}");
    let board = text
        .find("name = \"board\"")
        .expect("the main file's entry");
    let weather = text
        .find("name = \"weather\"")
        .expect("the drop-in's entry");
    assert!(board < weather, "{text}");
}

#[test]
fn check_names_the_drop_in_file_and_line_of_a_problem_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "[modem]\nport = \"/dev/ttyUSB0\"\n");
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    let drop_in = conf_d.join("50-weather.toml");
    std::fs::write(
        &drop_in,
        "# installed by edge-plugin-weather\n[[plugins]]\nname = \"Weather\"\n\
         path = \"/usr/lib/edge-agent/plugins/weather.so\"\nallow_unpinned = true\n",
    )
    .unwrap();
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:3:8: plugins[0].name: plugin name \"Weather\" contains 'W'",
            drop_in.display()
        )),
        "{err}"
    );
}

/// `key = ...` lines (set or commented out) of the sample, by the table
/// they are in (`plugins` for `[[plugins]]`, "" before the first table).
fn sample_keys(sample: &str) -> Vec<(String, String)> {
    let mut table = String::new();
    let mut keys = Vec::new();
    for line in sample.lines() {
        let line = line.strip_prefix("# ").unwrap_or(line);
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_matches(|c| c == '[' || c == ']').to_owned();
            keys.push((table.clone(), String::new()));
        } else if let Some((key, _)) = line.split_once(" = ") {
            if !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                keys.push((table.clone(), key.to_owned()));
            }
        }
    }
    keys
}

#[test]
fn the_printed_sample_config_loads_and_names_every_key_the_loader_accepts() {
    let out = edge_agent(&["config"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sample = stdout(&out);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, &sample);
    let loaded = check(&path, &[]);
    assert_eq!(loaded.status.code(), Some(0), "{}", stderr(&loaded));

    // The loader itself says which keys each table accepts: an unknown key
    // in every table is an error listing them. A table added to the
    // configuration shows up as a key of its parent, so it cannot be missed.
    let probe = write_config(
        &dir,
        "probe = 1\n[agent]\nprobe = 1\n[modem]\nport = \"/dev/ttyUSB0\"\nprobe = 1\n\
         [modem.power]\nprobe = 1\n[modem.power.wake]\nprobe = 1\n[modem.sim]\nprobe = 1\n\
         [queue]\nprobe = 1\n[uplink]\nprobe = 1\n[uplink.mqtt]\nhost = \"x\"\nprobe = 1\n\
         [uplink.mqtt.will]\ntopic = \"t\"\nmessage = \"m\"\nprobe = 1\n\
         [[plugins]]\nname = \"p\"\npath = \"/p.so\"\nallow_unpinned = true\nprobe = 1\n\
         [doorbell]\nprobe = 1\n",
    );
    let err = stderr(&check(&probe, &[]));
    let keys = sample_keys(&sample);
    let mut tables_checked = 0;
    for line in err.lines() {
        let Some((before, allowed)) = line.split_once(": unknown key; the keys allowed here are ")
        else {
            continue;
        };
        let table = before
            .rsplit(": ")
            .next()
            .unwrap()
            .trim_end_matches("probe")
            .trim_end_matches('.')
            .replace("[0]", "");
        tables_checked += 1;
        for key in allowed.split(", ").map(|k| k.trim_matches('`')) {
            let dotted = if table.is_empty() {
                key.to_owned()
            } else {
                format!("{table}.{key}")
            };
            let as_key = keys.iter().any(|(t, k)| *t == table && k == key);
            let as_table = keys.iter().any(|(t, k)| *t == dotted && k.is_empty());
            assert!(
                as_key || as_table,
                "the sample lacks {dotted} (a `{key} = ` line in [{table}], or a [{dotted}] \
                 table)"
            );
        }
    }
    assert_eq!(tables_checked, 12, "{err}");
}

#[test]
fn version_names_the_git_revision_and_the_built_in_features() {
    let out = edge_agent(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    // The revision this checkout is at; a tree without git says `unknown`.
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let revision = match git {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_owned(),
        _ => "unknown".to_owned(),
    };
    let features: Vec<&str> = [
        ("sim", cfg!(feature = "sim")),
        ("demo", cfg!(feature = "demo")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let features = if features.is_empty() {
        "none".to_owned()
    } else {
        features.join(", ")
    };
    assert_eq!(
        stdout(&out),
        format!(
            "edge-agent {} (rev {revision}, features: {features})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn config_is_offered_only_by_the_commands_that_read_a_configuration() {
    for command in [
        &["run"][..],
        &["check"],
        &["at"],
        &["modem", "info"],
        &["queue", "stats"],
        &["queue", "purge"],
        &["demo"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = stdout(&edge_agent(&args, &[]));
        assert!(help.contains("--config <FILE>"), "{command:?}: {help}");
    }
    for command in [&["config"][..], &["plugin", "inspect"]] {
        let mut args = command.to_vec();
        args.extend(["--config", "x.toml"]);
        let out = edge_agent(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(
            stderr(&out).contains("unexpected argument '--config'"),
            "{command:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn the_printed_sample_names_every_key_of_the_http_tables() {
    let sample = stdout(&edge_agent(&["config"], &[]));
    let dir = tempfile::tempdir().unwrap();
    let probe = write_config(
        &dir,
        "[modem]\nport = \"/dev/ttyUSB0\"\n[uplink.http]\nurl = \"http://x/\"\nprobe = 1\n\
         [uplink.http.tls]\nprobe = 1\n",
    );
    let err = stderr(&check(&probe, &[]));
    let keys = sample_keys(&sample);
    let mut tables_checked = 0;
    for line in err.lines() {
        let Some((before, allowed)) = line.split_once(": unknown key; the keys allowed here are ")
        else {
            continue;
        };
        let table = before
            .rsplit(": ")
            .next()
            .unwrap()
            .trim_end_matches(".probe");
        tables_checked += 1;
        for key in allowed.split(", ").map(|k| k.trim_matches('`')) {
            let dotted = format!("{table}.{key}");
            let as_key = keys.iter().any(|(t, k)| t == table && k == key);
            let as_table = keys.iter().any(|(t, k)| *t == dotted && k.is_empty());
            assert!(
                as_key || as_table,
                "the sample lacks {dotted} (a `{key} = ` line in [{table}], or a [{dotted}] \
                 table)"
            );
        }
    }
    assert_eq!(tables_checked, 2, "{err}");
}

#[test]
fn check_exits_2_naming_the_key_for_every_bad_http_input() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[modem]\nport = \"/dev/ttyUSB0\"\n[uplink]\ntransport = \"http\"\n";
    let cases = [
        // A URL that does not parse, and a scheme other than http/https.
        (
            "[uplink.http]\nurl = \"ingest.example.com\"\n",
            "uplink.http.url",
        ),
        (
            "[uplink.http]\nurl = \"ftp://ingest.example.com/\"\n",
            "uplink.http.url",
        ),
        // https without its TLS table, or without a CA unless verify = "none".
        (
            "[uplink.http]\nurl = \"https://ingest.example.com/\"\n",
            "uplink.http.tls",
        ),
        (
            "[uplink.http]\nurl = \"https://ingest.example.com/\"\n[uplink.http.tls]\n\
             verify = \"chain-and-hostname\"\n",
            "uplink.http.tls.ca_file",
        ),
        // Header names and values the module cannot carry.
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { \"X:Y\" = \"1\" }\n",
            "uplink.http.headers",
        ),
        (
            "[uplink.http]\nurl = \"http://x/\"\nheaders = { X-Y = \"a\\\"b\" }\n",
            "uplink.http.headers",
        ),
        // transport = "http" without [uplink.http].
        ("", "uplink.transport"),
    ];
    for (text, key) in cases {
        let path = write_config(&dir, &format!("{base}{text}"));
        let out = check(&path, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert!(err.contains(&format!(": {key}: ")), "{text}\n{err}");
    }
    // Both keys are named when the table is missing.
    let path = write_config(&dir, base);
    let err = stderr(&check(&path, &[]));
    assert!(
        err.contains("uplink.transport") && err.contains("uplink.http"),
        "{err}"
    );
}

#[test]
fn check_prints_the_http_header_values_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "[modem]\nport = \"/dev/ttyUSB0\"\n[uplink]\ntransport = \"http\"\n[uplink.http]\n\
         url = \"http://10.0.0.7:8086/write\"\nheaders = { Authorization = \"Token s3cr3t\" }\n",
    );
    let out = check(&path, &[("EDGE_AGENT_UPLINK__HTTP__METHOD", "file")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("Authorization = \"***\""), "{text}");
    assert!(text.contains("method = \"file\""), "{text}");
}
