//! `edge-agent run --once` and `edge-agent demo` as a user runs them: the
//! simulated module, a real broker, and what arrives there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use edge_agent::demo::LocalBroker;

use crate::support::Daemon;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// A config for the simulated module and a local broker, without upload
/// windows (`interval = "0s"`: the session stays up, as these tests of
/// commands and outages need; `upload_windows.rs` tests the windows).
fn config(dir: &tempfile::TempDir, broker_port: u16) -> PathBuf {
    let path = dir.path().join("config.toml");
    let text = format!(
        "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-once\"\n\n[modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n[modem.sim]\ntime_scale = 0.01\n\n[modem.power]\nsleep_timeout = \"60s\"\n\n[uplink]\ninterval = \"0s\"\n\n[uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n",
        dir.path().join("data")
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `edge-agent queue stats --json` for the queue of `config`.
fn queue_stats(config: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args([
            "queue",
            "stats",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ])
        .env_clear()
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn run_once_boots_uploads_the_heartbeat_logs_out_and_exits_0() {
    let broker = LocalBroker::start().unwrap();
    let mut options = MqttOptions::new(
        "it-once-watcher",
        broker.addr.ip().to_string(),
        broker.addr.port(),
    );
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 10);
    client
        .subscribe("devices/gw-once/telemetry", QoS::AtLeastOnce)
        .unwrap();
    // Wait until the subscription stands before the agent publishes.
    for event in connection.iter() {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = event {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, broker.addr.port());
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let got = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => break p,
            Ok(_) => {}
            Err(_) => panic!("the heartbeat did not reach the broker within 20 s"),
        }
    };
    assert_eq!(got.topic, "devices/gw-once/telemetry");
    // SenML CBOR by default: an array of records, uptime among them.
    let records: ciborium::Value = ciborium::from_reader(&got.payload[..]).unwrap();
    assert!(
        records.as_array().is_some_and(|a| a.len() >= 5),
        "{records:?}"
    );
    // The queue is empty afterwards: nothing stays pending.
    let stats = queue_stats(&path);
    assert_eq!(stats["pending_count"], 0, "{stats}");
}

#[test]
fn run_once_without_a_reachable_broker_exits_1_and_keeps_the_readings() {
    // A port nobody listens on: the login fails, the heartbeat stays queued.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, port);
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .env("EDGE_AGENT_MODEM__SIM__TIME_SCALE", "0.001")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not be uploaded"), "{stderr}");
    let stats = queue_stats(&path);
    assert!(
        stats["pending_count"].as_u64().is_some_and(|n| n >= 5),
        "{stats}"
    );
}

#[test]
fn demo_prints_the_messages_its_broker_receives_and_exits_after_the_duration() {
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // `cargo test` builds the plugins (dev-dependencies) next to this test
    // binary; scripts/demo builds them next to the agent instead.
    let plugin_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["demo", "--duration", "5s", "--config"])
        .arg(repo.join("configs/demo.toml"))
        .arg("--plugin-dir")
        .arg(&plugin_dir)
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = stdout
        .lines()
        .filter(|l| l.starts_with("received on devices/demo-gateway/telemetry"))
        .count();
    assert!(received >= 1, "{stdout}");
    // SenML JSON shown as text, the heartbeat in it.
    let names = senml_names(&stdout);
    assert!(
        names.iter().any(|n| n == "demo-gateway:agent/uptime"),
        "{stdout}"
    );
    // Both plugins were loaded from their shared libraries and sampled.
    for plugin in ["synthetic", "sysfs"] {
        assert!(
            stdout.contains(&format!("demo: plugin {plugin} from")),
            "{stdout}"
        );
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("demo-gateway:{plugin}/"))),
            "readings of {plugin} reached the broker: {names:?}"
        );
    }
}

#[test]
fn demo_runs_from_any_directory_on_its_built_in_config() {
    // No configs/ here: the demo's configuration is built into the binary.
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["demo", "--duration", "5s", "--plugin-dir"])
        .arg(&plugin_dir)
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("received on devices/demo-gateway/telemetry")),
        "{stdout}"
    );
    // Its state went where the built-in config says: ./demo-data.
    assert!(dir.path().join("demo-data/queue").is_dir());
}

/// The resolved SenML names (`bn` + `n`, RFC 8428 §4.5.1) of every message
/// the demo printed.
fn senml_names(stdout: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in stdout.lines() {
        let Some((_, json)) = line.split_once("bytes): ") else {
            continue;
        };
        let records: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
        let mut base = String::new();
        for record in records {
            if let Some(bn) = record["bn"].as_str() {
                base = bn.to_owned();
            }
            names.push(format!("{base}{}", record["n"].as_str().unwrap_or("")));
        }
    }
    names
}

#[test]
fn sigterm_stops_the_daemon_after_logging_out_with_exit_0() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, broker.addr.port());
    let mut daemon = Daemon::start(&path, None);
    daemon.wait_for("MQTT session up", Duration::from_secs(30));
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = daemon.wait_exit(Duration::from_secs(30));
    let log = daemon.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("MQTT session closed"), "logged out: {log}");
}

#[test]
fn the_daemon_answers_ping_and_unknown_commands_sent_to_its_command_topic() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, broker.addr.port());
    let mut options = MqttOptions::new(
        "it-operator",
        broker.addr.ip().to_string(),
        broker.addr.port(),
    );
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 10);
    client
        .subscribe("devices/gw-once/commands/reply", QoS::AtLeastOnce)
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
            Ok(_) => {}
            Err(_) => panic!("no SUBACK"),
        }
    }

    // The session's own log line says when the command topic is subscribed.
    let mut daemon = Daemon::start(&path, Some("info,edge_agent::modem::mqtt::session=debug"));
    daemon.wait_for("subscribed to the command topic", Duration::from_secs(30));
    for command in ["ping", "reboot-the-moon"] {
        client
            .publish(
                "devices/gw-once/commands",
                QoS::AtLeastOnce,
                false,
                command.as_bytes().to_vec(),
            )
            .unwrap();
    }
    let mut replies = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while replies.len() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                replies.push(String::from_utf8_lossy(&p.payload).into_owned())
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    daemon.drain_log();
    assert_eq!(replies.len(), 2, "replies: {replies:?}\n{}", daemon.log());
    assert_eq!(replies[0], "pong");
    assert!(
        replies[1].contains("unknown command") && replies[1].contains("reboot-the-moon"),
        "{replies:?}"
    );
}

#[test]
fn the_daemon_rides_out_a_broker_outage_and_delivers_what_queued_meanwhile() {
    use crate::mqtt_brokers::Mosquitto;

    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-outage\"\nheartbeat_interval = \"1s\"\n\n[modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n[modem.sim]\ntime_scale = 0.01\n\n[modem.power]\nsleep_timeout = \"60s\"\n\n[uplink]\ninterval = \"0s\"\n\n[uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {}\n",
            dir.path().join("data"),
            broker.addr().port()
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&path, Some("info,edge_agent::modem::mqtt::session=debug"));
    daemon.wait_for("subscribed to the command topic", Duration::from_secs(60));

    // The broker dies; heartbeats keep queueing; the broker comes back.
    broker.kill();
    daemon.wait_for("no MQTT session; retrying later", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    broker.restart();

    // A subscriber on the restarted broker sees the daemon's uploads again,
    // including heartbeats queued during the outage (uptime 1..3 s and on).
    let addr = broker.addr();
    let mut options = MqttOptions::new("it-outage-watcher", addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 10);
    client
        .subscribe("devices/gw-outage/telemetry", QoS::AtLeastOnce)
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut messages = 0;
    while messages < 3 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::Publish(_)))) => messages += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(
        messages >= 3,
        "{messages} messages after the restart\n{}",
        daemon.log()
    );
    // It subscribed twice: it logged in again after the outage.
    daemon.wait_for_count("subscribed to the command topic", 2, Duration::from_secs(5));
}

#[test]
fn run_once_exits_1_and_says_how_many_and_why_when_readings_went_to_the_dead_letters() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, broker.addr.port());
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let (synthetic, sha) = crate::support::installed_plugin(&plugins, "edge_plugin_synthetic");
    // A 2000-byte payload reading can never fit a 1024-byte message.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\n[[plugins]]\nname = \"big\"\npath = {synthetic:?}\nsha256 = \"{}\"\n\n\
         [plugins.config]\npayload_bytes = 2000\n",
        edge_agent::plugin_host::sha256_hex(&sha)
    ));
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 readings of this window went to the dead letters") && err.contains("1024"),
        "{err}"
    );
    assert_eq!(queue_stats(&path)["dead_count"], 1);
}
