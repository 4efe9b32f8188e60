//! The agent on a setup shaped like a real gateway: the `edge-agent` binary
//! and a separately started `lexi-sim` process on its own pty, as a module
//! on a serial line is; woken through the documented signal (SIGUSR1 is its
//! PWR_ON line), disturbed through its control socket, and with the agent's
//! host clock at 1970 (`faketime`) while the module has network time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_agent::demo::LocalBroker;
use lexi_sim::control::{send_command, Reply};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

use crate::support::{installed_plugin, Daemon};

/// The `lexi-sim` binary, built once for this test run (cargo builds a
/// package's binaries only for that package's own tests).
fn lexi_sim_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/it-<hash>
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build.args(["build", "--quiet", "-p", "lexi-sim", "--bin", "lexi-sim"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .status()
            .unwrap();
        assert!(status.success(), "cannot build lexi-sim");
        let binary = profile_dir.join("lexi-sim");
        assert!(binary.is_file(), "{} is missing", binary.display());
        binary
    })
}

/// A `lexi-sim` process: its pty, control socket and pid. Killed on drop.
struct SimProcess {
    child: Child,
    pty: PathBuf,
    control: PathBuf,
    pid: u32,
}

impl SimProcess {
    /// Starts `lexi-sim` with its NVM in `dir` and `extra` arguments.
    fn start(dir: &Path, name: &str, extra: &[&str]) -> SimProcess {
        let control = dir.join(format!("{name}.sock"));
        let mut child = Command::new(lexi_sim_binary())
            .arg("--nvm-dir")
            .arg(dir.join("sim-nvm"))
            .arg("--control")
            .arg(&control)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let pty = PathBuf::from(first.trim());
        assert!(pty.starts_with("/dev/pts"), "{first:?}");
        SimProcess {
            pid: child.id(),
            child,
            pty,
            control,
        }
    }

    fn control(&self, command: &str) -> String {
        match send_command(&self.control, command) {
            Ok(Reply::Ok(text)) => text,
            other => panic!("{command:?}: {other:?}"),
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything published on `topic`, collected by a thread of its own from
/// the moment the subscription stands (an idle subscriber would miss its
/// keep-alive and be dropped by the broker).
struct Collector {
    messages: std::sync::mpsc::Receiver<Vec<u8>>,
    _client: Client,
}

impl Collector {
    fn start(broker: &LocalBroker, id: &str, topic: &str) -> Collector {
        let mut options = MqttOptions::new(id, broker.addr.ip().to_string(), broker.addr.port());
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 64);
        client.subscribe(topic, QoS::AtLeastOnce).unwrap();
        let (subscribed_tx, subscribed) = std::sync::mpsc::channel();
        let (tx, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(p.payload.to_vec()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        subscribed.recv_timeout(Duration::from_secs(10)).unwrap();
        Collector {
            messages,
            _client: client,
        }
    }

    /// What arrived so far, waiting up to `within` for the first.
    fn take(&self, within: Duration) -> Vec<Vec<u8>> {
        let mut got: Vec<Vec<u8>> = self.messages.recv_timeout(within).into_iter().collect();
        got.extend(self.messages.try_iter());
        got
    }
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The agent's config for a module on `pty`: windows every 2 s, heartbeats
/// every 300 ms, the module allowed to sleep after 60 s of module time
/// (0.6 s at the simulator's `--time-scale 0.01`), plus `extra`.
fn gateway_config(dir: &Path, pty: &Path, broker_port: u16, device: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{device}\"\nheartbeat_interval = \"300ms\"\n\n\
             [modem]\nport = {pty:?}\nregistration_timeout = \"20s\"\n\n\
             [modem.power]\nsleep_timeout = \"60s\"\n\n\
             [uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n\
             [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n\n{extra}",
            dir.join("data"),
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_agent_wakes_a_separate_simulator_from_hibernate_through_sigusr1_window_after_window() {
    let broker = LocalBroker::start().unwrap();
    let collector = Collector::start(&broker, "it-field-watcher", "devices/gw-field/telemetry");
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::start(dir.path(), "sim", &["--time-scale", "0.01"]);
    // The wake action as the README and `lexi-sim --help` document it.
    let wake = format!(
        "[modem.power.wake]\nkind = \"command\"\nprogram = \"kill\"\nargs = [\"-USR1\", \"{}\"]\n",
        sim.pid
    );
    let path = gateway_config(dir.path(), &sim.pty, broker.addr.port(), "gw-field", &wake);
    let mut daemon = Daemon::start(&path, Some("info"));
    // Three times: the module hibernates, the next window wakes it with
    // the signal, restores its settings and uploads.
    daemon.wait_for_count("module settings restored", 3, Duration::from_secs(90));
    let messages = collector.take(Duration::from_secs(2));
    daemon.drain_log();
    let log = daemon.log();
    assert!(
        log.matches("module entered deep sleep state=\"hibernate\"")
            .count()
            >= 3,
        "{log}"
    );
    assert!(
        log.matches("MQTT session up").count() >= 3,
        "a session after each wake:\n{log}"
    );
    assert!(!log.contains("does not answer"), "{log}");
    assert!(!messages.is_empty(), "nothing reached the broker:\n{log}");
    // The module's own record agrees: it is reachable and slept.
    let status = sim.control("status");
    assert!(status.contains("reg_stat=1"), "{status}");
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn the_shipped_gateway_config_keeps_a_module_without_a_wake_line_reachable() {
    // configs/lexi-r10.toml as a user copies it, pointed at a module on a
    // serial line (the simulator's pty) with no wake action: the module may
    // sleep no deeper than Sleep-1, which UART bytes wake, so every window
    // reaches it.
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::start(dir.path(), "sim", &["--time-scale", "0.01"]);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/lexi-r10.toml");
    let port = broker.addr.port().to_string();
    let data = dir.path().join("data");
    let env = [
        ("EDGE_AGENT_MODEM__PORT", sim.pty.to_str().unwrap()),
        ("EDGE_AGENT_AGENT__DATA_DIR", data.to_str().unwrap()),
        ("EDGE_AGENT_AGENT__HEARTBEAT_INTERVAL", "300ms"),
        ("EDGE_AGENT_UPLINK__MQTT__HOST", "127.0.0.1"),
        ("EDGE_AGENT_UPLINK__MQTT__PORT", &port),
        ("EDGE_AGENT_UPLINK__INTERVAL", "2s"),
        ("EDGE_AGENT_UPLINK__JITTER", "0s"),
        ("EDGE_AGENT_MODEM__POWER__SLEEP_TIMEOUT", "60s"),
    ];
    let mut daemon = Daemon::start_with_env(&config, Some("info"), &env);
    daemon.wait_for_count("MQTT session closed", 3, Duration::from_secs(90));
    daemon.drain_log();
    let log = daemon.log();
    assert!(!log.contains("entered deep sleep"), "{log}");
    assert!(!log.contains("does not answer"), "{log}");
    // The module agrees: never deeper than Sleep-1, registered.
    let status = sim.control("status");
    assert!(
        status.contains("reg_stat=1")
            && !status.contains("Hibernate")
            && !status.contains("Sleep2"),
        "{status}"
    );
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn a_module_that_stops_answering_is_reported_once_with_what_to_configure() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::start(dir.path(), "sim", &["--time-scale", "0.01"]);
    let path = gateway_config(dir.path(), &sim.pty, broker.addr.port(), "gw-silent", "");
    let mut daemon = Daemon::start(&path, Some("info"));
    daemon.wait_for("MQTT session closed", Duration::from_secs(60));
    // The module loses its power: it answers nothing from now on.
    sim.control("power-off");
    // A few windows fail; the advice comes once.
    daemon.wait_for_count("retrying later", 2, Duration::from_secs(120));
    daemon.drain_log();
    let log = daemon.log();
    let advice: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the module does not answer after sleeping"))
        .collect();
    assert_eq!(advice.len(), 1, "{log}");
    assert!(advice[0].contains("modem.power.wake"), "{}", advice[0]);
    // Back: said so, and the windows go on.
    sim.control("power-on");
    daemon.wait_for("the module answers again", Duration::from_secs(120));
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

/// One SenML CBOR record's resolved name and time (seconds).
fn names_and_times(payload: &[u8]) -> Vec<(String, f64)> {
    crate::plugin_e2e::resolve(payload)
        .into_iter()
        .map(|r| (r.name, r.time_s))
        .collect()
}

/// `edge-agent run --once` with the host clock at `fake_start` (libfaketime;
/// the monotonic clock left alone, as on a gateway that booted at 1970).
fn run_once_faked(config: &Path, fake_start: &str) -> std::process::Output {
    Command::new("faketime")
        .args(["-f", fake_start])
        .arg(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", config.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run faketime (scripts/test installs it): {e}"))
}

#[test]
fn with_the_host_clock_at_1970_readings_arrive_with_their_true_time_even_those_sampled_before_it_was_known(
) {
    let broker = LocalBroker::start().unwrap();
    let collector = Collector::start(&broker, "it-1970-watcher", "devices/gw-1970/telemetry");
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let (synthetic, sha) = installed_plugin(&plugins, "edge_plugin_synthetic");
    let plugin = format!(
        "[[plugins]]\nname = \"counter\"\npath = {synthetic:?}\nsha256 = \"{}\"\n\n\
         [plugins.config]\nseries = [{{ name = \"n\", pattern = \"counter\" }}]\n",
        edge_agent::plugin_host::sha256_hex(&sha)
    );

    // First run: a network that sends no time. The readings are sampled by
    // a host clock at 1970 and cannot be placed yet: they wait.
    let first_sim = SimProcess::start(dir.path(), "first", &["--network-time", "none"]);
    let path = gateway_config(
        dir.path(),
        &first_sim.pty,
        broker.addr.port(),
        "gw-1970",
        &plugin,
    );
    let started = now_s();
    let first = run_once_faked(&path, "@1970-01-02 00:00:00");
    let sampled_at = (started, now_s());
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(err.contains("could not be uploaded"), "{err}");
    assert!(!err.contains("dead letters"), "{err}");
    assert!(
        collector.take(Duration::from_secs(1)).is_empty(),
        "a reading with an unknown time was sent"
    );
    drop(first_sim);

    // Second run, the same boot: the host clock still wrong (it went on
    // from where it was), the network now sends its time.
    let second_sim = SimProcess::start(dir.path(), "second", &["--network-time", "host"]);
    let path = gateway_config(
        dir.path(),
        &second_sim.pty,
        broker.addr.port(),
        "gw-1970",
        &plugin,
    );
    let elapsed = (now_s() - started).round() as u64;
    let fake = format!("@1970-01-02 00:{:02}:{:02}", elapsed / 60, elapsed % 60);
    let second = run_once_faked(&path, &fake);
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{err}");
    let finished = now_s();

    let records: Vec<(String, f64)> = collector
        .take(Duration::from_secs(2))
        .iter()
        .flat_map(|p| names_and_times(p))
        .collect();
    let counters: Vec<f64> = records
        .iter()
        .filter(|(name, _)| name.ends_with("counter/n"))
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(counters.len(), 2, "one sample per run: {records:?}");
    // Every time is the true one (the real clock's), none from 1970.
    for (name, t) in &records {
        assert!(
            *t > started - 5.0 && *t < finished + 5.0,
            "{name} at {t}, the runs were between {started} and {finished}"
        );
    }
    // The first run's sample, taken before the time was known, carries the
    // time it was sampled.
    let earliest = counters.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        earliest > sampled_at.0 - 3.0 && earliest < sampled_at.1 + 3.0,
        "sampled between {sampled_at:?}, stamped {earliest}"
    );
    assert!(
        records
            .iter()
            .any(|(n, _)| n.ends_with("agent/time/source")),
        "{records:?}"
    );
}
