//! The agent against a broker it does not ship: mosquitto, started by the
//! tests as a child process on a free loopback port. Readings go agent ->
//! pty -> simulated LEXI-R10 -> its embedded client (rumqttc) -> mosquitto
//! -> a rumqttc subscriber.
//!
//! mosquitto must be installed (`scripts/test` installs it): without it these
//! tests fail, they do not skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edge_agent::config::Config;
use edge_agent::modem::at::{AtClient, ClientOptions};
use edge_agent::modem::mqtt::profile::provision;
use edge_agent::modem::mqtt::session::{
    backoff, Command as DownCommand, DownlinkHandler, MqttSession, SessionError, SessionOptions,
};
use edge_agent::modem::mqtt::Message;
use edge_agent::modem::{boot, port, BootSettings};
use edge_agent::queue::Queue;
use edge_agent::reading::Reading;
use edge_agent::uplink::{drain, Budget};
use lexi_sim::{SimConfig, SimHandle, Simulator};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

/// Longest any single wait may take: past it, the test failed (a hang).
const HANG: Duration = Duration::from_secs(60);

/// Where mosquitto is: on PATH, or where Debian puts it (`/usr/sbin`, which
/// is not on a non-root user's PATH).
fn mosquitto_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir: PathBuf| dir.join("mosquitto"))
        .find(|p| p.is_file())
        .expect(
            "mosquitto is not installed: run scripts/test, or \
             apt-get install --no-install-recommends mosquitto",
        )
}

/// A mosquitto broker run by the test: a child process on a loopback port,
/// with its own config in a temp dir. Killed on drop.
pub(crate) struct Mosquitto {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts mosquitto on a free loopback port and waits until it accepts.
    pub(crate) fn start() -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Debian's 2.0.11 listens on loopback only without a listener line,
        // and its default max_queued_messages (1000) drops messages for a
        // slow subscriber: 0 is no limit (shared/design/dependencies.md).
        std::fs::write(
            dir.path().join("mosquitto.conf"),
            format!(
                "listener {port} 127.0.0.1\n\
                 allow_anonymous true\n\
                 persistence false\n\
                 max_queued_messages 0\n\
                 log_dest stderr\n\
                 log_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
                 connection_messages true\n"
            ),
        )
        .unwrap();
        let mut broker = Mosquitto {
            dir,
            port,
            child: None,
        };
        broker.spawn();
        broker
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// What mosquitto logged so far (every run), for failure messages.
    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs mosquitto on `self.port` until it accepts a connection. A run
    /// that exits at once (the port not free yet after a kill) is retried.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "mosquitto is already running");
        let binary = mosquitto_binary();
        let deadline = Instant::now() + Duration::from_secs(20);
        'runs: loop {
            // The log is opened here, not by mosquitto: running as root it
            // drops to the `mosquitto` user, who could not open a file in
            // our temp dir.
            let log = File::options()
                .create(true)
                .append(true)
                .open(self.log_path())
                .unwrap();
            let mut child = Command::new(&binary)
                .arg("-c")
                .arg(self.dir.path().join("mosquitto.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            loop {
                if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(
                        Instant::now() < deadline,
                        "mosquitto exited ({status}) and never came up on port {}:\n{}",
                        self.port,
                        self.log()
                    );
                    std::thread::sleep(Duration::from_millis(200));
                    continue 'runs;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "mosquitto did not accept on port {} within 20 s:\n{}",
                        self.port,
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// SIGKILL: the broker goes away at once, without closing anything cleanly.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port (with the same config).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the subscriber saw.
#[derive(Debug)]
enum Seen {
    /// Its subscription is in place (after every (re)connection).
    Subscribed,
    Message {
        topic: String,
        payload: Vec<u8>,
    },
}

/// A subscriber on `addr` that subscribes to `filter` at every connection
/// (so it follows a restarted broker: rumqttc reconnects when polled again)
/// and forwards what it sees. Returns once the first subscription is in place.
async fn subscriber(addr: SocketAddr, filter: &str) -> mpsc::UnboundedReceiver<Seen> {
    let mut options = MqttOptions::new("it-mosquitto-watcher", addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 100);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let filter = filter.to_owned();
    tokio::spawn(async move {
        // Bounded: the test is long over by then.
        let deadline = tokio::time::Instant::now() + 5 * HANG;
        while tokio::time::Instant::now() < deadline {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.try_subscribe(&filter, QoS::AtLeastOnce).unwrap();
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if tx.send(Seen::Subscribed).is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let seen = Seen::Message {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                    };
                    if tx.send(seen).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // The broker is gone: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    match tokio::time::timeout(HANG, rx.recv()).await {
        Ok(Some(Seen::Subscribed)) => rx,
        other => panic!("the subscriber did not subscribe: {other:?}"),
    }
}

fn config(dir: &tempfile::TempDir, broker: &Mosquitto, device: &str, extra: &str) -> Config {
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{device}\"\n[modem]\nport = \"sim\"\n\
             [uplink]\n{extra}\n[uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {}\nqos = 1\n",
            dir.path().join("data"),
            broker.port
        ),
    )
    .unwrap();
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config
}

/// The simulator on a pty and the agent's AT client on it.
fn module(dir: &tempfile::TempDir) -> (SimHandle, AtClient, impl Sized) {
    let mut sim_config = SimConfig::new(dir.path().join("nvm"));
    sim_config.time_scale = 0.01;
    sim_config.mqtt_login_timeout = Duration::from_secs(1000); // 10 s real
    let (sim, path) = Simulator::spawn_pty(sim_config).unwrap();
    let (at, engine) = AtClient::spawn(
        port::open(&path, 115_200).unwrap(),
        ClientOptions::default(),
    );
    (sim, at, engine)
}

/// Boots the module and provisions the config's MQTT profile.
async fn boot_and_provision(at: &AtClient, config: &Config, queue: &Queue, device: &str) {
    let settings = BootSettings {
        registration_timeout: Duration::from_secs(10),
        reboot_timeout: Duration::from_secs(10),
        ..BootSettings::default()
    };
    let info = boot(at, &settings).await.unwrap();
    let profile = config
        .uplink
        .mqtt
        .profile(&info.identity.imei, device)
        .unwrap();
    provision(at, queue.store(), &profile).await.unwrap();
}

/// Connects a session, retrying retryable failures with [`backoff`]
/// (bounded: a few attempts).
async fn connect(at: &AtClient, options: &SessionOptions) -> MqttSession {
    let mut attempt = 0;
    loop {
        match MqttSession::connect(at, options.clone()).await {
            Ok(session) => return session,
            Err(e) if e.is_retryable() && attempt < 8 => {
                let wait = backoff(
                    attempt,
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                    0.5,
                );
                eprintln!("login attempt {attempt} failed ({e}); again in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => panic!("no MQTT session after {} attempts: {e}", attempt + 1),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_with_quotes_crlf_ok_nul_and_ff_reach_a_mosquitto_subscriber_byte_identical() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, &broker, "gw-mosq", "");
    let topic = config.uplink.mqtt.topic.for_device("gw-mosq");
    let mut seen = subscriber(broker.addr(), &topic).await;
    let (_sim, at, _engine) = module(&dir);

    let run = async {
        let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
        boot_and_provision(&at, &config, &queue, "gw-mosq").await;
        let options = SessionOptions::new(config.uplink.mqtt.qos, topic.clone(), None);
        let mut session = connect(&at, &options).await;
        let payloads = crate::support::awkward_payloads();
        for p in &payloads {
            session.publish(p.clone()).await.unwrap();
        }
        session.logout().await.unwrap();
        payloads
    };
    let payloads = tokio::time::timeout(HANG, run)
        .await
        .expect("the session hung");
    for expected in payloads {
        match tokio::time::timeout(HANG, seen.recv()).await {
            Ok(Some(Seen::Message { topic: t, payload })) => {
                assert_eq!(t, topic);
                assert_eq!(payload, expected);
            }
            other => panic!(
                "expected {expected:?}, got {other:?}; mosquitto's log:\n{}",
                broker.log()
            ),
        }
    }
}

/// A reading as a consumer identifies it: resolved SenML name and time (ms).
type Key = (String, i64);

fn key(device: &str, r: &Reading) -> Key {
    (
        format!("{device}:{}/{}", r.source, r.name),
        r.timestamp_ns / 1_000_000,
    )
}

fn number(v: &ciborium::Value) -> f64 {
    match v {
        ciborium::Value::Integer(i) => i128::from(*i) as f64,
        ciborium::Value::Float(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

/// The readings of a SenML-CBOR pack, resolved as RFC 8428 §4.6 says: base
/// name and base time apply from their record on until set again.
fn senml_keys(payload: &[u8]) -> Vec<Key> {
    let pack: ciborium::Value = ciborium::from_reader(payload).expect("a CBOR payload");
    let mut base_name = String::new();
    let mut base_time = 0.0;
    let mut keys = Vec::new();
    for record in pack.as_array().expect("a SenML pack is an array") {
        let fields = record.as_map().expect("a SenML record is a map");
        let field = |label: i64| {
            fields.iter().find_map(|(k, v)| {
                (k.as_integer().map(i128::from) == Some(i128::from(label))).then_some(v)
            })
        };
        if let Some(bn) = field(-2) {
            base_name = bn.as_text().unwrap().to_owned();
        }
        if let Some(bt) = field(-3) {
            base_time = number(bt);
        }
        let name = field(0).map_or("", |n| n.as_text().unwrap());
        let time = base_time + field(6).map_or(0.0, number);
        keys.push((format!("{base_name}{name}"), (time * 1000.0).round() as i64));
    }
    keys
}

struct IgnoreCommands;

impl DownlinkHandler for IgnoreCommands {
    fn on_command(&mut self, _: &DownCommand, _: &Message) {}
}

/// Moves every message already received into `into` (decoded).
fn collect(seen: &mut mpsc::UnboundedReceiver<Seen>, into: &mut Vec<Vec<Key>>) -> usize {
    let mut subscribed = 0;
    while let Ok(s) = seen.try_recv() {
        match s {
            Seen::Message { payload, .. } => into.push(senml_keys(&payload)),
            Seen::Subscribed => subscribed += 1,
        }
    }
    subscribed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_survive_mosquitto_killed_and_restarted_mid_stream_duplicating_only_the_unconfirmed(
) {
    const DEVICE: &str = "gw-restart";
    const KILL_AFTER: usize = 3;
    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    // Small messages (5 readings each): a stream of 60 messages, killed
    // at its third.
    let config = config(&dir, &broker, DEVICE, "max_payload_bytes = 256");
    let topic = config.uplink.mqtt.topic.for_device(DEVICE);
    let mut seen = subscriber(broker.addr(), &topic).await;
    let (sim, at, _engine) = module(&dir);
    let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
    let all = crate::support::realistic_readings();
    let expected: BTreeSet<Key> = all.iter().map(|r| key(DEVICE, r)).collect();
    assert_eq!(expected.len(), all.len());
    let packer = config.uplink.packer(Some(DEVICE));
    let options = SessionOptions::new(config.uplink.mqtt.qos, topic.clone(), None);

    let stalled =
        |what: &str, broker: &Mosquitto| format!("{what} hung; mosquitto's log:\n{}", broker.log());

    // Phase 1: drain until the broker is killed under it.
    let mut before: Vec<Vec<Key>> = Vec::new();
    let pending_after_kill: BTreeSet<Key> = {
        let phase = async {
            boot_and_provision(&at, &config, &queue, DEVICE).await;
            queue.append(&all).unwrap();
            let mut session = connect(&at, &options).await;
            // A few messages go through and are confirmed.
            let first = drain(
                &queue,
                &packer,
                &mut session,
                Budget::messages(KILL_AFTER - 1),
            )
            .await
            .unwrap();
            assert_eq!((first.messages, &first.stopped), (KILL_AFTER - 1, &None));
            // The next one reaches the broker, and the subscriber, but its
            // confirmation is held back (the simulator's fault), so the kill
            // lands while it is outstanding: the window in which a broker
            // that dies leaves the agent not knowing whether it arrived.
            sim.mqtt_never_confirm_next(1);
            sim.snapshot().await.unwrap(); // the fault is armed
            let killer = async {
                while before.len() < KILL_AFTER {
                    match seen.recv().await.unwrap() {
                        Seen::Message { payload, .. } => before.push(senml_keys(&payload)),
                        Seen::Subscribed => panic!("resubscribed while the broker was up"),
                    }
                }
                broker.kill();
            };
            let (report, ()) = tokio::join!(
                drain(&queue, &packer, &mut session, Budget::UNLIMITED),
                killer
            );
            let report = report.unwrap();
            let stopped = report
                .stopped
                .clone()
                .expect("the drain stops when the broker dies");
            eprintln!("before the kill: {first:?}, then {report:?}");
            // The module reported the session gone: either to the publish
            // that was waiting for its confirmation, or as a URC the session
            // notes between operations.
            let mut reasons = Vec::new();
            if stopped.to_string().contains("+UUMQTTC: 0,101") {
                reasons.push(101);
            }
            while session.is_connected() {
                match session.service_downlink(&mut IgnoreCommands).await {
                    Err(SessionError::Dropped { reason }) => reasons.push(reason),
                    Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(e) => panic!("unexpected: {e}"),
                }
            }
            assert_eq!(reasons, [101], "the session dropped with +UUMQTTC: 0,101");
            assert!(!session.is_connected());
            assert!(queue.leased_seqs().is_empty(), "nothing stays leased");
            let pending = queue.stats().unwrap().counters.pending_count as usize;
            assert_eq!(first.delivered + report.delivered + pending, all.len());
            drop(session);
            queue
                .pending()
                .map(|p| key(DEVICE, &p.unwrap().reading))
                .collect()
        };
        let result = tokio::time::timeout(HANG, phase).await;
        result.unwrap_or_else(|_| panic!("{}", stalled("the first drain", &broker)))
    };
    assert!(!pending_after_kill.is_empty());

    // Phase 2: the broker is back on the same port; the subscriber follows
    // it (resubscribes) before the agent publishes again, so nothing the
    // agent publishes can pass it by.
    broker.restart();
    let mut after: Vec<Vec<Key>> = Vec::new();
    let resubscribed = async {
        // Messages still on their way from before the kill come first.
        while let Seen::Message { payload, .. } = seen.recv().await.unwrap() {
            before.push(senml_keys(&payload));
        }
    };
    tokio::time::timeout(HANG, resubscribed)
        .await
        .unwrap_or_else(|_| panic!("{}", stalled("resubscribing", &broker)));
    let phase = async {
        let mut reconnects = 0;
        let mut session = connect(&at, &options).await;
        loop {
            let report = drain(&queue, &packer, &mut session, Budget::UNLIMITED)
                .await
                .unwrap();
            eprintln!("drain after the restart: {report:?}");
            if report.is_complete() {
                break;
            }
            reconnects += 1;
            assert!(reconnects < 5, "the drain keeps failing: {report:?}");
            drop(session);
            session = connect(&at, &options).await;
        }
        session.logout().await.unwrap();
        // Until every reading arrived (at least once).
        let mut got: BTreeSet<Key> = before.iter().flatten().cloned().collect();
        while !expected.is_subset(&got) {
            match seen.recv().await.unwrap() {
                Seen::Message { payload, .. } => {
                    let keys = senml_keys(&payload);
                    got.extend(keys.iter().cloned());
                    after.push(keys);
                }
                Seen::Subscribed => panic!("resubscribed while the broker was up"),
            }
        }
    };
    let result = tokio::time::timeout(HANG, phase).await;
    result.unwrap_or_else(|_| panic!("{}", stalled("the drain after the restart", &broker)));
    tokio::time::sleep(Duration::from_millis(200)).await; // any late copy
    assert_eq!(collect(&mut seen, &mut after), 0);

    // Every reading arrived; nothing else did.
    let mut count: HashMap<&Key, usize> = HashMap::new();
    for k in before.iter().chain(&after).flatten() {
        *count.entry(k).or_default() += 1;
    }
    let got: BTreeSet<Key> = count.keys().map(|k| (*k).clone()).collect();
    assert_eq!(got, expected, "every reading, and only those, arrived");
    // Within each phase, every reading at most once.
    for (phase, messages) in [("before the kill", &before), ("after the restart", &after)] {
        let keys: Vec<&Key> = messages.iter().flatten().collect();
        let unique: BTreeSet<&Key> = keys.iter().copied().collect();
        assert_eq!(unique.len(), keys.len(), "a reading twice {phase}");
    }
    // A copy only of readings whose confirmation was outstanding at the kill:
    // they arrived, yet the queue still held them (not acked); and with QoS 1
    // and one publish at a time, all of them from one message.
    let twice: BTreeSet<Key> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| (*k).clone())
        .collect();
    assert!(count.values().all(|n| *n <= 2));
    assert!(
        twice.is_subset(&pending_after_kill),
        "a confirmed reading was sent again: {:?}",
        twice.difference(&pending_after_kill).collect::<Vec<_>>()
    );
    let unconfirmed_messages: Vec<&Vec<Key>> = before
        .iter()
        .filter(|m| m.iter().any(|k| pending_after_kill.contains(k)))
        .collect();
    assert_eq!(
        unconfirmed_messages.len(),
        1,
        "exactly the held message was in flight at the kill: {unconfirmed_messages:?}"
    );
    let held: BTreeSet<Key> = unconfirmed_messages[0].iter().cloned().collect();
    assert_eq!(
        twice, held,
        "the held message's readings, and only those, twice"
    );
    eprintln!(
        "messages before the kill: {}, after the restart: {}, readings sent twice: {}",
        before.len(),
        after.len(),
        twice.len()
    );

    // The queue ends empty, nothing dead-lettered.
    let counters = queue.stats().unwrap().counters;
    assert_eq!((counters.pending_count, counters.dead_count), (0, 0));
}
