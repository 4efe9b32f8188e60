//! Upload windows as a gateway runs them: readings wait in the queue and go
//! out together, one MQTT session per window; an urgent reading does not
//! wait for the slot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edge_agent::demo::LocalBroker;
use edge_agent::plugin_host::sha256_hex;
use rumqttc::{Client, Connection, Event, MqttOptions, Packet, QoS};

use crate::support::{installed_plugin, Daemon};

fn config(dir: &Path, broker_port: u16, device: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[agent]\ndata_dir = {:?}\ndevice_id = \"{device}\"\n{extra}\n\n\
         [modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n\
         [modem.sim]\ntime_scale = 0.01\n\n\
         [modem.power]\nsleep_timeout = \"60s\"\n\n\
         [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n",
        dir.join("data"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A subscriber to `topic` whose subscription stands.
fn subscriber(broker: &LocalBroker, id: &str, topic: &str) -> (Client, Connection) {
    let mut options = MqttOptions::new(id, broker.addr.ip().to_string(), broker.addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 64);
    client.subscribe(topic, QoS::AtLeastOnce).unwrap();
    for event in connection.iter() {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = event {
            break;
        }
    }
    (client, connection)
}

/// The payloads published within `within`, stopping early at `enough`.
fn collect(connection: &mut Connection, enough: usize, within: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < enough {
        let left = deadline.saturating_duration_since(Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => got.push(p.payload.to_vec()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    got
}

/// The number of SenML records in a SenML CBOR message.
fn records(payload: &[u8]) -> usize {
    let pack: ciborium::Value = ciborium::from_reader(payload).unwrap();
    pack.as_array().unwrap().len()
}

#[test]
fn readings_wait_for_the_window_and_leave_together_in_one_session_per_window() {
    let broker = LocalBroker::start().unwrap();
    let (_client, mut connection) = subscriber(
        &broker,
        "it-windows-watcher",
        "devices/gw-windows/telemetry",
    );
    let dir = tempfile::tempdir().unwrap();
    // Heartbeats (5 readings each) every 300 ms; a window every 3 s.
    let path = config(
        dir.path(),
        broker.addr.port(),
        "gw-windows",
        "heartbeat_interval = \"300ms\"\n\n[uplink]\ninterval = \"3s\"\njitter = \"0s\"",
    );
    let mut daemon = Daemon::start(&path, Some("info"));
    // The start window, then two by the schedule.
    daemon.wait_for_count("upload window", 3, Duration::from_secs(60));
    let messages = collect(&mut connection, usize::MAX, Duration::from_secs(2));
    daemon.drain_log();
    let log = daemon.log();
    let sessions = log.matches("MQTT session up").count();
    let windows = log.matches("upload window").count();
    assert_eq!(sessions, windows, "one session per window:\n{log}");
    assert!(
        log.matches("MQTT session closed").count() >= windows - 1,
        "each window logs out:\n{log}"
    );
    // About 10 heartbeats (6 records each) queue per 3 s window and leave
    // together: far fewer messages than heartbeats.
    let heartbeats = messages.iter().map(|m| records(m)).sum::<usize>() / 6;
    assert!(
        heartbeats >= 15 && messages.len() * 3 <= heartbeats,
        "{} messages carried {heartbeats} heartbeats\n{log}",
        messages.len()
    );
}

#[test]
fn an_urgent_reading_opens_a_window_at_once_whatever_the_interval() {
    let broker = LocalBroker::start().unwrap();
    let (_client, mut connection) =
        subscriber(&broker, "it-urgent-watcher", "devices/gw-urgent/telemetry");
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let (synthetic, sha) = installed_plugin(&plugins, "edge_plugin_synthetic");
    // An hour between windows, no heartbeat: only the plugin's readings,
    // the second of which is urgent, can open a window within the test.
    let extra = format!(
        "heartbeat_interval = \"0s\"\n\n\
         [uplink]\ninterval = \"1h\"\n\n\
         [[plugins]]\nname = \"alarm\"\npath = {synthetic:?}\nsha256 = \"{}\"\n\
         interval = \"2s\"\ntimeout = \"1s\"\n\n\
         [plugins.config]\nurgent_every = 2\n\
         series = [{{ name = \"door\", pattern = \"counter\" }}]\n",
        sha256_hex(&sha)
    );
    let path = config(dir.path(), broker.addr.port(), "gw-urgent", &extra);
    let mut daemon = Daemon::start(&path, Some("info"));
    let messages = collect(&mut connection, 1, Duration::from_secs(30));
    daemon.drain_log();
    let log = daemon.log();
    assert_eq!(messages.len(), 1, "the urgent reading went out:\n{log}");
    assert!(log.contains("reason=Urgent"), "{log}");
    assert!(
        !log.contains("reason=Interval"),
        "no slot came within the hour:\n{log}"
    );
}

/// Readings keep reaching the queue while a window uploads over a slow link:
/// a plugin pushing 2,000 readings a second fills the plugin host's channel
/// (1,024 readings) in half a second, and every publish here takes 200 ms.
/// The windows take seconds (each sends what waited when it began); not one
/// reading may be dropped from the channel meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_does_not_make_the_plugin_channel_drop_readings() {
    use edge_agent::config::Config;
    use edge_agent::queue::{Options, Queue};
    use edge_agent::reading::Value;
    use lexi_sim::MqttBackend;

    use crate::in_process::{daemon_while, simulated_module_with};

    let dir = tempfile::tempdir().unwrap();
    // Module time runs 100 times faster: 20 s of broker latency is 200 ms
    // for every login, publish and logout.
    let (_sim, pty, link) = simulated_module_with(dir.path(), |c| {
        c.mqtt_backend = MqttBackend::Virtual {
            latency: Duration::from_secs(20),
        };
    });
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let (synthetic, sha) = installed_plugin(&plugins, "edge_plugin_synthetic");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-slow\"\nheartbeat_interval = \"0s\"\n\n\
             [modem]\nport = {pty:?}\nregistration_timeout = \"10s\"\n\n\
             [modem.power]\nsleep_timeout = \"60s\"\n\n\
             [uplink]\ninterval = \"1h\"\njitter = \"0s\"\n\n\
             [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = 1\n\n\
             [[plugins]]\nname = \"fast\"\npath = {synthetic:?}\nsha256 = \"{}\"\n\n\
             [plugins.config]\npush_rate = 2000\n\
             series = [{{ name = \"n\", pattern = \"counter\" }}]\n",
            dir.path().join("data"),
            sha256_hex(&sha),
        ),
    )
    .unwrap();
    let config = Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config;

    // 500 pending readings (uplink.max_pending) open a window at once, and
    // the next as soon as one ends: the link is busy throughout.
    let (report, ()) =
        daemon_while(link, &config, tokio::time::sleep(Duration::from_secs(4))).await;

    let queue = Queue::inspect(&config.queue_dir(), Options::default()).unwrap();
    let appended = queue.stats().unwrap().counters.appended;
    // The counter counts every reading the plugin emitted; the newest ones
    // wait for the next window, so the largest value still queued tells how
    // many were emitted in all.
    let newest = queue
        .pending()
        .map(|p| match p.unwrap().reading.value {
            Value::I64(v) => v,
            other => panic!("not the counter: {other:?}"),
        })
        .max()
        .unwrap();
    let emitted = u64::try_from(newest).unwrap() + 1;
    // Windows ran back to back while the plugin emitted several times what
    // the channel holds.
    assert!(report.messages >= 2, "hardly a window: {report:?}");
    assert!(emitted > 4_000, "the plugin emitted only {emitted}");
    assert_eq!(
        appended, emitted,
        "readings dropped from the channel while windows uploaded ({report:?})"
    );
    assert_eq!(report.delivered as u64 + report.pending, emitted);
}
