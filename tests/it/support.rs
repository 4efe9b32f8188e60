//! What several integration tests need: a running `edge-agent` process whose
//! log lines can be awaited, a realistic set of readings, and the plugin
//! libraries cargo built next to the test binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Without the `demo` feature the tests that run the daemon are not built.
#![cfg_attr(not(feature = "demo"), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use edge_agent::reading::{Reading, Value};

/// `edge-agent run --config FILE` as a child process, its stderr collected
/// line by line. Killed on drop, so a failing test leaves no daemon behind.
pub struct Daemon {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl Daemon {
    /// Starts the daemon; `rust_log` replaces the config's log filter.
    pub fn start(config: &Path, rust_log: Option<&str>) -> Daemon {
        Daemon::start_with_env(config, rust_log, &[])
    }

    /// [`Daemon::start`] with these environment variables (and no others).
    pub fn start_with_env(config: &Path, rust_log: Option<&str>, env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_edge-agent"));
        command
            .args(["run", "--config", config.to_str().unwrap()])
            .env_clear()
            .envs(env.iter().copied())
            .stderr(Stdio::piped());
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Daemon {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Waits until `count` log lines contain `needle`; panics with the log
    /// after `within`.
    pub fn wait_for_count(&mut self, needle: &str, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.log.iter().filter(|l| l.contains(needle)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => panic!(
                    "no {needle:?} (×{count}) from the daemon within {within:?}:\n{}",
                    self.log()
                ),
            }
        }
    }

    pub fn wait_for(&mut self, needle: &str, within: Duration) {
        self.wait_for_count(needle, 1, within);
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap())
    }

    /// Waits for the process to exit by itself; panics after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain_log();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not exit within {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything logged so far, as one text.
    pub fn log(&self) -> String {
        self.log.join("\n")
    }

    /// Takes in the lines already written (and, after exit, the rest).
    pub fn drain_log(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.log.push(line);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 300 readings of five sensors on two chips, one every 5 s each, with a
/// unit and a tag: what a small gateway queues in five minutes.
pub fn realistic_readings() -> Vec<Reading> {
    let sensors = [
        ("bme280", "temperature", Some("Cel")),
        ("bme280", "humidity", Some("%RH")),
        ("bme280", "pressure", Some("Pa")),
        ("power", "battery", Some("V")),
        ("door", "open", None),
    ];
    let start = 1_790_000_000_000_000_000_i64;
    (0..60)
        .flat_map(|i| {
            sensors.iter().map(move |(source, name, unit)| Reading {
                source: source.to_string(),
                name: name.to_string(),
                unit: unit.map(str::to_string),
                value: match *name {
                    "open" => Value::Bool(i % 7 == 0),
                    "pressure" => Value::I64(101_325 + i),
                    _ => Value::F64(20.0 + i as f64 / 8.0),
                },
                timestamp_ns: start + i * 5_000_000_000,
                tags: BTreeMap::from([("site".to_string(), "north".to_string())]),
            })
        })
        .collect()
}

/// Payloads an AT link can mangle: quotes, CR and LF, `OK` lines (which a
/// naive parser takes for a final result), NUL and 0xFF, and every byte value.
pub fn awkward_payloads() -> Vec<Vec<u8>> {
    vec![
        b"plain".to_vec(),
        b"\"quoted\"".to_vec(),
        b"line\r\nbreaks\rand\nsuch".to_vec(),
        b"\r\nOK\r\n".to_vec(),
        b"OK\r\n".to_vec(),
        vec![0x00, 0xff, 0x00, b'"', 0xff],
        (0..=255u8).collect(),
    ]
}

/// `lib<crate_name>.so` as cargo built it for this test run: the agent's
/// dev-dependencies on the plugin crates put their cdylibs in
/// `target/<profile>/deps/`, the directory of this test binary. Fails the
/// test, saying how to build it, when it is not there.
pub fn plugin_library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let path = deps.join(format!("lib{crate_name}.so"));
    assert!(
        path.is_file(),
        "{} is missing: it is built by `cargo test -p edge-agent` (the agent has a \
         dev-dependency on every plugin crate); run the tests that way",
        path.display()
    );
    path
}

/// Copies `lib<crate_name>.so` into `dir` with mode 0755, as an operator
/// installs a plugin (the loader refuses a group- or other-writable file,
/// and a build directory's mode depends on the umask). Returns the copy's
/// path and SHA-256, for a pinned load.
pub fn installed_plugin(dir: &Path, crate_name: &str) -> (PathBuf, [u8; 32]) {
    use sha2::Digest;

    let source = plugin_library(crate_name);
    let path = dir.join(source.file_name().unwrap());
    std::fs::copy(&source, &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sha256 = sha2::Sha256::digest(std::fs::read(&path).unwrap()).into();
    (path, sha256)
}
