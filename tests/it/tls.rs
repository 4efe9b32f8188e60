//! The agent over TLS through the simulated module (§3, §6.9): mosquitto
//! with a TLS listener and certificates made at test time (one-way and
//! mutual), refusals said in words with the readings kept, credentials
//! imported once, and session resumption across reboots counted by the
//! server itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode, RunReport};
use edge_agent::queue::Queue;
use edge_agent::reading::{Reading, Value};
use lexi_sim::SimSnapshot;
use tls_servers::counting_proxy::CountingTlsProxy;
use tls_servers::pki::Pki;
use tls_servers::servers::{Mosquitto, Versions};

use crate::in_process::{simulated_module, HANG};

const DEVICE: &str = "gw-tls";

/// The agent's config: the broker `localhost:<port>` over TLS with the
/// PKI's files; `tls` are more keys of `[uplink.mqtt.tls]`.
fn tls_config(dir: &Path, port: u16, ca_file: &Path, tls: &str) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{DEVICE}\"\n\n\
             [modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n\
             [uplink.mqtt]\nhost = \"localhost\"\nport = {port}\n\n\
             [uplink.mqtt.tls]\nca_file = {ca_file:?}\n{tls}\n",
            dir.join("data"),
        ),
    )
    .unwrap();
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config
}

/// Queues `n` readings, as plugins would have.
fn queue_readings(config: &Config, n: usize) {
    let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
    let readings: Vec<Reading> = (0..n)
        .map(|i| Reading {
            source: "probe".into(),
            name: "temperature".into(),
            unit: Some("Cel".into()),
            value: Value::F64(20.0 + i as f64),
            timestamp_ns: 1_790_000_000_000_000_000 + i as i64 * 1_000_000_000,
            tags: Default::default(),
        })
        .collect();
    queue.append(&readings).unwrap();
    queue.flush().unwrap();
}

/// What one `run --once` on a freshly booted module did: the report, the
/// AT lines the agent sent, the module's NVM writes.
struct Boot {
    report: RunReport,
    transcript: Vec<String>,
    snapshot: SimSnapshot,
}

impl Boot {
    /// The lines the agent sent that start with `prefix`.
    fn sent(&self, prefix: &str) -> Vec<&str> {
        self.transcript
            .iter()
            .map(|l| l.trim_start_matches("> "))
            .filter(|l| l.starts_with(prefix))
            .collect()
    }
}

/// One `run --once` in this process on a new simulator (a module boot)
/// whose NVM is `dir/nvm`, kept between boots.
async fn boot_once(dir: &Path, config: &Config) -> Boot {
    let (sim, _pty, link) = simulated_module(dir);
    let report = tokio::time::timeout(
        HANG,
        daemon::run_on(link, config, RunMode::Once, std::future::ready(())),
    )
    .await
    .expect("run --once hung")
    .expect("run --once failed");
    let boot = Boot {
        report,
        transcript: sim.transcript(),
        snapshot: sim.snapshot().await.unwrap(),
    };
    sim.shutdown();
    boot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_reach_a_subscriber_over_tls_and_unchanged_credentials_are_never_imported_again() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls13, false);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pki.pem("ca.pem")).unwrap();
    let config = tls_config(dir.path(), broker.tls_port, &ca_file, "");
    let topic = config.uplink.mqtt.topic.for_device(DEVICE);
    let mut received = broker.subscriber(&topic).await;
    queue_readings(&config, 3);

    // First boot: the CA goes into the module's NVM, once.
    let first = boot_once(dir.path(), &config).await;
    assert_eq!(first.report.pending, 0, "{:#?}", first.transcript);
    assert!(first.report.delivered >= 3);
    assert_eq!(
        first.sent("AT+USECMNG=0,").len(),
        1,
        "{:#?}",
        first.transcript
    );
    assert_eq!(first.sent("AT+UMQTT=11,1,0").len(), 1);
    let (got_topic, payload) = tokio::time::timeout(HANG, received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got_topic, topic);
    assert!(!payload.is_empty());

    // A reboot with the same files: asked, not imported; nothing written
    // to the module's NVM (the MQTT profile is reloaded too).
    queue_readings(&config, 2);
    let second = boot_once(dir.path(), &config).await;
    assert_eq!(second.report.pending, 0, "{:#?}", second.transcript);
    assert_eq!(second.sent("AT+USECMNG=4,0,").len(), 1);
    assert!(
        second.sent("AT+USECMNG=0,").is_empty(),
        "{:#?}",
        second.transcript
    );
    assert!(second.sent("AT+UMQTTNV=2").is_empty());
    assert_eq!(second.snapshot.nvm_writes, 0, "{:#?}", second.transcript);

    // The CA file changes (a second CA added): exactly the new one is
    // imported; nothing is removed while the old one is still named.
    let mut both = pki.pem("other-ca.pem");
    both.extend(pki.pem("ca.pem"));
    std::fs::write(&ca_file, both).unwrap();
    let config = tls_config(dir.path(), broker.tls_port, &ca_file, "");
    let third = boot_once(dir.path(), &config).await;
    assert_eq!(third.report.pending, 0, "{:#?}", third.transcript);
    assert_eq!(
        third.sent("AT+USECMNG=0,").len(),
        1,
        "{:#?}",
        third.transcript
    );
    assert!(third.sent("AT+USECMNG=2,").is_empty());

    // Back to the one CA: nothing imported, the other one removed after
    // the profile stopped naming it.
    std::fs::write(&ca_file, pki.pem("ca.pem")).unwrap();
    let config = tls_config(dir.path(), broker.tls_port, &ca_file, "");
    let fourth = boot_once(dir.path(), &config).await;
    assert!(
        fourth.sent("AT+USECMNG=0,").is_empty(),
        "{:#?}",
        fourth.transcript
    );
    assert_eq!(
        fourth.sent("AT+USECMNG=2,0,").len(),
        1,
        "{:#?}",
        fourth.transcript
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_delivers_with_the_gateways_certificate_and_key() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls12, true);
    let dir = tempfile::tempdir().unwrap();
    let tls = format!(
        "cert_file = {:?}\nkey_file = {:?}\n",
        pki.path("client.pem"),
        pki.path("client.key")
    );
    let config = tls_config(dir.path(), broker.tls_port, &pki.path("ca.pem"), &tls);
    let mut received = broker
        .subscriber(&config.uplink.mqtt.topic.for_device(DEVICE))
        .await;
    queue_readings(&config, 2);
    let boot = boot_once(dir.path(), &config).await;
    assert_eq!(boot.report.pending, 0, "{}", broker.log());
    // The CA, the certificate and the key, each imported once.
    let imports = boot.sent("AT+USECMNG=0,");
    assert_eq!(imports.len(), 3, "{imports:#?}");
    for kind in ["0,0,", "0,1,", "0,2,"] {
        assert!(imports.iter().any(|l| l.contains(kind)), "{imports:#?}");
    }
    tokio::time::timeout(HANG, received.recv())
        .await
        .unwrap()
        .unwrap();
}

/// `edge-agent run --once` as a user runs it, on the in-process simulator;
/// returns (exit code, stderr, pending readings).
fn run_once_cli(dir: &Path, port: u16, ca_file: &Path, tls: &str) -> (i32, String, u64) {
    let path = dir.join("cli.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{DEVICE}\"\n\n\
             [modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n\
             [modem.sim]\ntime_scale = 0.01\n\n\
             [uplink.mqtt]\nhost = \"localhost\"\nport = {port}\n\n\
             [uplink.mqtt.tls]\nca_file = {ca_file:?}\n{tls}\n",
            dir.join("data"),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    let stats = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args([
            "queue",
            "stats",
            "--json",
            "--config",
            path.to_str().unwrap(),
        ])
        .env_clear()
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stats.stderr)));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        stats["pending_count"]
            .as_u64()
            .unwrap_or_else(|| panic!("{stats}")),
    )
}

#[test]
fn a_server_signed_by_another_ca_is_refused_in_words_and_the_readings_stay_queued() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls13, false);
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, pending) =
        run_once_cli(dir.path(), broker.tls_port, &pki.path("other-ca.pem"), "");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("not trusted by the CA (uplink.mqtt.tls.ca_file)"),
        "{stderr}"
    );
    assert!(stderr.contains("other-ca.pem"), "{stderr}");
    assert!(pending > 0, "{stderr}");
    // Never plain text instead: the broker saw no MQTT connection.
    assert!(
        !broker.log().contains("New client connected"),
        "{}",
        broker.log()
    );
}

#[test]
fn a_server_whose_certificate_names_another_host_is_refused_in_words() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls12, false);
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, pending) = run_once_cli(
        dir.path(),
        broker.tls_port,
        &pki.path("ca.pem"),
        "server_name = \"broker.example.net\"\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not for this host name"), "{stderr}");
    assert!(pending > 0, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_reboots_cost_exactly_one_full_handshake_counted_by_the_server() {
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, Versions::Tls13, false);
    let server = CountingTlsProxy::start(&pki, broker.plain_port).await;
    let dir = tempfile::tempdir().unwrap();
    let config = tls_config(dir.path(), server.port, &pki.path("ca.pem"), "");
    let mut heartbeats = 0;
    for restart in 0..100 {
        let boot = boot_once(dir.path(), &config).await;
        assert_eq!(
            boot.report.pending, 0,
            "restart {restart}: {:#?}",
            boot.transcript
        );
        heartbeats += boot.report.messages;
        // Every boot after the first offers the data it kept.
        let offered = boot.sent("AT+USECPRF=0,13,3,").len();
        assert_eq!(offered, usize::from(restart > 0), "restart {restart}");
    }
    assert!(heartbeats >= 100);
    assert_eq!(server.failed(), 0);
    assert_eq!(server.full(), 1, "resumed: {}", server.resumed());
    assert_eq!(server.resumed(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_over_many_run_once_costs_one_full_handshake_counted_by_the_server() {
    let pki = Pki::new();
    let http = crate::http_server::TestServer::start().await;
    let server = CountingTlsProxy::start(&pki, http.port).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("https.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{DEVICE}\"\nheartbeat_interval = \"0s\"\n\n\
             [modem]\nport = \"sim\"\nregistration_timeout = \"10s\"\n\n\
             [uplink]\ntransport = \"http\"\n\n\
             [uplink.http]\nurl = \"https://localhost:{}/v1/{{device_id}}\"\n\n\
             [uplink.http.tls]\nca_file = {:?}\n",
            dir.path().join("data"),
            server.port,
            pki.path("ca.pem"),
        ),
    )
    .unwrap();
    let config = Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config;
    const RUNS: usize = 10;
    for run in 0..RUNS {
        queue_readings(&config, 2);
        let boot = boot_once(dir.path(), &config).await;
        assert_eq!(boot.report.pending, 0, "run {run}: {:#?}", boot.transcript);
        assert_eq!(boot.sent("AT+UHTTP=0,6,1,1").len(), usize::from(run == 0));
        // Every boot after the first offers the data it kept.
        let offered = boot.sent("AT+USECPRF=1,13,3,").len();
        assert_eq!(
            offered,
            usize::from(run > 0),
            "run {run}: {:#?}",
            boot.transcript
        );
    }
    let received = http.received();
    assert_eq!(received.len(), RUNS);
    assert!(received
        .iter()
        .all(|r| r.header("host") == Some(&format!("localhost:{}", server.port))));
    assert_eq!(server.failed(), 0);
    assert_eq!(server.full(), 1, "resumed: {}", server.resumed());
    assert_eq!(server.resumed(), RUNS as u64 - 1);
}
