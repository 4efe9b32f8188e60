//! The agent under systemd: the notifications a `Type=notify` service with a
//! watchdog sends, received on a datagram socket standing in for systemd's,
//! and the unit file shipped in `packaging/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edge_agent::demo::LocalBroker;

use crate::support::Daemon;

fn config(dir: &Path, broker_port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-systemd\"\n\n\
             [modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n\
             [modem.sim]\ntime_scale = 0.01\n\n\
             [uplink]\ninterval = \"1h\"\n\n\
             [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n",
            dir.join("data")
        ),
    )
    .unwrap();
    path
}

/// The next notification, or `None` after `within`.
fn next(socket: &UnixDatagram, within: Duration) -> Option<String> {
    socket.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn under_systemd_the_agent_says_ready_feeds_the_watchdog_and_says_stopping() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), broker.addr.port());
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let mut daemon = Daemon::start_with_env(
        &path,
        Some("info"),
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            // WatchdogSec=600ms: a ping every 300 ms.
            ("WATCHDOG_USEC", "600000"),
        ],
    );

    // READY=1 comes first, with a status, once the module is up.
    let first = next(&socket, Duration::from_secs(30)).expect("no notification at all");
    assert!(first.starts_with("READY=1\nSTATUS="), "{first:?}");
    daemon.drain_log();
    assert!(
        daemon.log().contains("MQTT profile ready"),
        "ready before the module was provisioned:\n{}",
        daemon.log()
    );

    // Then the watchdog, from the loop, for as long as it runs.
    let watched = Instant::now();
    let mut pings = 0;
    let mut statuses = Vec::new();
    while watched.elapsed() < Duration::from_secs(3) {
        match next(&socket, Duration::from_secs(2)).as_deref() {
            Some("WATCHDOG=1") => pings += 1,
            Some(other) => statuses.push(other.to_owned()),
            None => panic!("no notification for 2 s; {pings} pings so far"),
        }
    }
    assert!(
        pings >= 5,
        "{pings} pings in 3 s (one every 300 ms expected)"
    );
    assert!(
        statuses.iter().all(|s| s.starts_with("STATUS=")),
        "{statuses:?}"
    );

    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stopping = loop {
        assert!(Instant::now() < deadline, "no STOPPING=1");
        match next(&socket, Duration::from_secs(5)) {
            Some(m) if m.starts_with("STOPPING=1") => break m,
            Some(_) => {}
            None => panic!("no STOPPING=1 after SIGTERM"),
        }
    };
    assert!(stopping.contains("\nSTATUS=stopping"), "{stopping:?}");
    let status = daemon.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
}

#[test]
fn without_notify_socket_a_stray_watchdog_variable_changes_nothing() {
    // The same config, no NOTIFY_SOCKET: `run --once` succeeds as always.
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), broker.addr.port());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .env("WATCHDOG_USEC", "1000")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_shipped_unit_file_runs_the_agent_as_a_notify_service_with_a_watchdog() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/edge-agent.service"),
    )
    .unwrap();
    let value = |key: &str| -> String {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in the unit"))
            .to_owned()
    };
    assert_eq!(value("Type"), "notify");
    assert_eq!(value("Restart"), "on-failure");
    assert_eq!(value("RestartPreventExitStatus"), "2");
    assert_eq!(value("StateDirectory"), "edge-agent");
    assert_eq!(value("WantedBy"), "multi-user.target");
    let watchdog: u64 = value("WatchdogSec").trim_end_matches('s').parse().unwrap();
    assert!(watchdog >= 60, "WatchdogSec={watchdog}s");
    // ExecStart is a command line this binary accepts, with the paths the
    // README's install steps use.
    let exec = value("ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/edge-agent"));
    let args: Vec<&str> = words.collect();
    assert_eq!(args, ["run", "--config", "/etc/edge-agent/config.toml"]);
    let mut help_args = args.clone();
    help_args.push("--help");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(&help_args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{exec} is not a valid command line"
    );
}
