//! The HTTP uplink end to end: the agent in this process, the simulated
//! module it holds (its transcript and power log read back), and a real
//! HTTP server in the test (`http_server.rs`) that records every request
//! and answers scripted statuses. The module's HTTP client behind the
//! simulator is a real one (reqwest), so what the server records is what
//! crossed a TCP connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode, RunReport};
use edge_agent::modem::ModemLink;
use edge_agent::queue::Queue;
use edge_agent::reading::{Reading, Value};
use edge_agent::uplink::{Message, Packed};
use lexi_sim::{PowerLogEntry, PowerMode};

use crate::http_server::{Answer, TestServer};
use crate::in_process::{daemon_while, simulated_module, HANG};

const DEVICE: &str = "gw-http";

/// The agent's config: the simulator at `pty`, the HTTP uplink to the test
/// server on `port` with `http` keys, `uplink` keys, then `extra` tables.
/// No heartbeat: the test queues the readings.
fn config(dir: &Path, pty: &Path, port: u16, uplink: &str, http: &str, extra: &str) -> Config {
    config_beating(dir, pty, port, "0s", uplink, http, extra)
}

/// [`config`] with a heartbeat every `heartbeat`: readings for every window.
fn config_beating(
    dir: &Path,
    pty: &Path,
    port: u16,
    heartbeat: &str,
    uplink: &str,
    http: &str,
    extra: &str,
) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{DEVICE}\"\nheartbeat_interval = \"{heartbeat}\"\n\n\
             [modem]\nport = {pty:?}\nregistration_timeout = \"10s\"\n\n\
             [modem.power.wake]\nkind = \"command\"\nprogram = \"/bin/true\"\n\n\
             [uplink]\ntransport = \"http\"\n{uplink}\n\n\
             [uplink.http]\nurl = \"http://127.0.0.1:{port}/v1/{{device_id}}?db=edge\"\n\
             max_payload_bytes = 1024\n{http}\n\n{extra}\n",
            dir.join("data"),
        ),
    )
    .unwrap();
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config
}

/// Readings of five series, and, where the encoding carries bytes, one
/// whose bytes a line or quote scanner would trip on.
fn readings(with_bytes: bool) -> Vec<Reading> {
    let mut all = crate::support::realistic_readings();
    if with_bytes {
        all.push(Reading {
            source: "door".into(),
            name: "raw".into(),
            unit: None,
            value: Value::Bytes(b"\"OK\r\n\x00\xff+UUHTTPCR: 0,7,1\r\nDISCONNECT\r\n".to_vec()),
            timestamp_ns: 1_790_000_400_000_000_000,
            tags: Default::default(),
        });
    }
    all
}

/// Queues `readings` for the agent and returns the messages its packer
/// makes of them, in order: what the server must receive.
fn queue_and_expect(config: &Config, readings: &[Reading]) -> Vec<Message> {
    let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
    queue.append(readings).unwrap();
    let lease = queue.lease(100_000, None).unwrap();
    let mut pending = lease.readings().to_vec().into_iter().peekable();
    let packer = config.uplink.packer(Some(DEVICE));
    let mut messages = Vec::new();
    loop {
        match packer.pack(&mut pending) {
            Packed::Message(m) => messages.push(m),
            Packed::Empty => break,
            Packed::Rejected(r) => panic!("{r:?}"),
        }
    }
    queue.release(lease);
    messages
}

async fn run_once(link: ModemLink, config: &Config) -> RunReport {
    tokio::time::timeout(
        HANG,
        daemon::run_on(link, config, RunMode::Once, std::future::pending()),
    )
    .await
    .unwrap()
    .unwrap()
}

fn count(transcript: &[String], prefix: &str) -> usize {
    transcript.iter().filter(|l| l.starts_with(prefix)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_arrive_byte_identical_with_the_encodings_content_type_in_both_methods() {
    let server = TestServer::start().await;
    let cases = [
        ("direct", "senml-cbor", "application/senml+cbor"),
        ("file", "senml-cbor", "application/senml+cbor"),
        ("direct", "influx", "text/plain; charset=utf-8"),
        ("file", "senml-json", "application/senml+json"),
    ];
    for (method, encoding, content_type) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (sim, pty, link) = simulated_module(dir.path());
        let config = config(
            dir.path(),
            &pty,
            server.port,
            &format!("encoding = \"{encoding}\""),
            &format!("method = \"{method}\""),
            "",
        );
        let all = readings(encoding == "senml-cbor");
        let expected = queue_and_expect(&config, &all);
        assert!(expected.len() >= 4, "several requests: {}", expected.len());
        let before = server.received().len();
        let report = run_once(link, &config).await;
        let received = server.received().split_off(before);
        let case = format!("{method} {encoding}");
        assert_eq!(report.delivered, all.len(), "{case}: {report:?}");
        assert_eq!((report.pending, report.dead_lettered), (0, 0), "{case}");
        assert_eq!(received.len(), expected.len(), "{case}");
        for (got, want) in received.iter().zip(&expected) {
            assert_eq!(got.method, "POST", "{case}");
            assert_eq!(got.path, format!("/v1/{DEVICE}?db=edge"), "{case}");
            assert_eq!(got.header("Content-Type"), Some(content_type), "{case}");
            assert!(got.body == want.payload, "{case}: a body differs");
        }
        let transcript = sim.transcript();
        match method {
            "direct" => assert_eq!(count(&transcript, "AT+UHTTPC=0,7,"), expected.len()),
            _ => {
                assert_eq!(count(&transcript, "AT+UHTTPC=0,4,"), expected.len());
                assert_eq!(count(&transcript, "AT+FWRITE="), expected.len());
                // The body and the response file, deleted after each.
                assert_eq!(count(&transcript, "AT+FDELETE="), 2 * expected.len());
            }
        }
        sim.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_keeps_every_reading_queued_and_the_next_boot_delivers_them_exactly_as_queued() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.then(Answer::status("503 Service Unavailable").header("Retry-After", "1"));
    let (sim, pty, link) = simulated_module(dir.path());
    let config = config(dir.path(), &pty, server.port, "", "", "");
    let all = readings(true);
    let expected = queue_and_expect(&config, &all);
    let report = run_once(link, &config).await;
    assert_eq!(report.delivered, 0, "{report:?}");
    assert_eq!(report.pending, all.len() as u64, "nothing lost: {report:?}");
    assert_eq!(server.received().len(), 1, "the window ends at the 503");
    sim.shutdown();

    // The module boots again (a new simulator on the same NVM): the stored
    // profile is loaded and armed before the first request, nothing written.
    let (sim, _, link) = simulated_module(dir.path());
    let report = run_once(link, &config).await;
    assert_eq!(report.delivered, all.len(), "{report:?}");
    assert_eq!(report.pending, 0);
    let received = server.received();
    assert_eq!(received[0].body, expected[0].payload, "the 503's message");
    let delivered: Vec<&[u8]> = received[1..].iter().map(|r| r.body.as_slice()).collect();
    let queued: Vec<&[u8]> = expected.iter().map(|m| m.payload.as_slice()).collect();
    assert!(
        delivered == queued,
        "every message again, in order, unchanged"
    );
    let transcript = sim.transcript();
    let at = |prefix: &str| transcript.iter().position(|l| l.starts_with(prefix));
    assert!(
        at("AT+UHTTPNV=0,1").is_some() && at("AT+UHTTPNV=0,1") < at("AT+UHTTPC="),
        "{transcript:#?}"
    );
    assert_eq!(count(&transcript, "AT+UHTTP="), 0, "{transcript:#?}");
    assert_eq!(count(&transcript, "AT+UHTTPNV=0,2"), 0, "{transcript:#?}");
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_dead_letters_only_that_message() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.then(Answer::status("204 No Content"));
    server.then(Answer::status("400 Bad Request").body(b"unknown field: humidity"));
    let (sim, pty, link) = simulated_module(dir.path());
    let config = config(dir.path(), &pty, server.port, "", "", "");
    let all = readings(true);
    let expected = queue_and_expect(&config, &all);
    let refused = expected[1].seqs.len();
    let report = run_once(link, &config).await;
    assert_eq!(report.dead_lettered, refused, "{report:?}");
    assert_eq!(report.delivered, all.len() - refused, "{report:?}");
    assert_eq!(report.pending, 0);
    let reason = report.dead_reason.unwrap_or_default();
    assert!(
        reason.contains("HTTP 400 Bad Request: unknown field: humidity"),
        "{reason}"
    );
    // The drain went on: every message reached the server once.
    let received = server.received();
    assert_eq!(received.len(), expected.len());
    sim.shutdown();
    let queue = Queue::open(&config.queue_dir(), config.queue.options()).unwrap();
    let dead: Vec<u64> = queue.dead_letters().map(|d| d.unwrap().seq).collect();
    assert_eq!(dead, expected[1].seqs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_asks_to_retry_later_holds_the_next_window_back_and_loses_nothing() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.then(Answer::status("503 Service Unavailable").header("Retry-After", "2"));
    let (sim, pty, link) = simulated_module(dir.path());
    // A backlog of one reading opens a window at once: only the server's
    // Retry-After holds the second one back. (The module sleeps after 60 s
    // of module time, 0.6 s here: long enough to answer a wake.)
    let config = config(
        dir.path(),
        &pty,
        server.port,
        "interval = \"1h\"\nmax_pending = 1\njitter = \"0s\"",
        "",
        "[modem.power]\nsleep_timeout = \"60s\"\n",
    );
    let all = readings(true);
    let expected = queue_and_expect(&config, &all);
    let watch = async {
        let deadline = Instant::now() + HANG;
        while server.received().len() < expected.len() + 1 {
            assert!(Instant::now() < deadline, "{:#?}", sim.transcript());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The last answer reaches the agent.
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (report, ()) = daemon_while(link, &config, watch).await;
    let received = server.received();
    let waited = received[1].at - received[0].at;
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    let delivered: Vec<&[u8]> = received[1..=expected.len()]
        .iter()
        .map(|r| r.body.as_slice())
        .collect();
    let queued: Vec<&[u8]> = expected.iter().map(|m| m.payload.as_slice()).collect();
    assert!(
        delivered == queued,
        "every message again, in order, unchanged"
    );
    assert_eq!(report.delivered, all.len(), "{report:?}");
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_in_a_response_is_answered_with_the_next_window() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.then(
        Answer::status("200 OK")
            .header("Content-Type", "text/plain")
            .body(b"ping\r\n"),
    );
    let (sim, pty, link) = simulated_module(dir.path());
    let config = config(
        dir.path(),
        &pty,
        server.port,
        "encoding = \"senml-json\"",
        "",
        "",
    );
    queue_and_expect(&config, &readings(false)[..3]);
    let report = run_once(link, &config).await;
    assert_eq!((report.delivered, report.pending), (3, 1), "{report:?}");
    sim.shutdown();
    let (sim, _, link) = simulated_module(dir.path());
    let report = run_once(link, &config).await;
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    let reply: serde_json::Value =
        serde_json::from_slice(&server.received().last().unwrap().body).unwrap();
    let record = &reply.as_array().unwrap()[0];
    assert_eq!(record["vs"], "pong", "{reply}");
    assert_eq!(record["n"], format!("{DEVICE}:agent/reply"), "{reply}");
    assert_eq!(record["tags"], "command=ping", "{reply}");
    sim.shutdown();
}

fn is_deep(mode: PowerMode) -> bool {
    matches!(mode, PowerMode::Sleep2 | PowerMode::Hibernate)
}

/// What the module was doing at module time `at`, by its power log.
fn mode_at(log: &[PowerLogEntry], at: Duration) -> Option<PowerMode> {
    log.iter()
        .take_while(|e| e.at <= at)
        .last()
        .map(|e| e.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_surround_the_configuration_and_after_hibernate_nothing_is_written() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    // Windows every 2 s, heartbeats every 300 ms for them to carry; the
    // module may sleep after 60 s of module time (0.6 s here), so it
    // hibernates between windows.
    let config = config_beating(
        dir.path(),
        &pty,
        server.port,
        "300ms",
        "interval = \"2s\"\njitter = \"0s\"",
        "",
        "[modem.power]\nsleep_timeout = \"60s\"\n",
    );
    let watch = async {
        let deadline = Instant::now() + HANG;
        let first_hibernate = loop {
            assert!(Instant::now() < deadline, "{:#?}", sim.timed_transcript());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let log = sim.power_log().await.unwrap();
            let Some(hibernate) = log.iter().find(|e| e.state == PowerMode::Hibernate) else {
                continue;
            };
            let requests_after = sim
                .timed_transcript()
                .iter()
                .filter(|(at, l)| *at > hibernate.at && l.starts_with("AT+UHTTPC="))
                .count();
            if requests_after >= 1 {
                break hibernate.at;
            }
        };
        // The request's answer reaches the agent.
        tokio::time::sleep(Duration::from_millis(300)).await;
        first_hibernate
    };
    let (report, first_hibernate) = daemon_while(link, &config, watch).await;
    assert!(report.delivered > 0, "{report:?}");
    let transcript = sim.timed_transcript();
    let log = sim.power_log().await.unwrap();
    let shown = || format!("transcript: {transcript:#?}\npower log: {log:#?}");

    // The profile is configured voted down, as §7.1.2 shows: the vote down,
    // the profile, its NVM store, and only then the vote up.
    let lines: Vec<&str> = transcript.iter().map(|(_, l)| l.as_str()).collect();
    let at = |what: &str| lines.iter().position(|l| l.starts_with(what));
    let (reset, stored) = (at("AT+UHTTP=0").unwrap(), at("AT+UHTTPNV=0,2").unwrap());
    let down = lines[..reset]
        .iter()
        .rposition(|l| *l == "AT+USLPVOTE=0,0")
        .expect("a vote down before the configuration");
    assert!(
        !lines[down..stored].contains(&"AT+USLPVOTE=0,1"),
        "{}",
        shown()
    );
    // Every HTTP command runs voted down, none in deep sleep.
    let mut voted_down = false;
    for (when, line) in &transcript {
        match line.as_str() {
            "AT+USLPVOTE=0,0" => voted_down = true,
            "AT+USLPVOTE=0,1" => voted_down = false,
            l if l.starts_with("AT+USLPVOTE=1,") => voted_down = false,
            l if l.starts_with("AT+UHTTP") || l.starts_with("AT+F") => {
                assert!(voted_down, "{l} while allowed to sleep\n{}", shown());
                assert!(
                    !mode_at(&log, *when).is_some_and(is_deep),
                    "{l} in deep sleep\n{}",
                    shown()
                );
            }
            _ => {}
        }
    }
    // After Hibernate the module reloaded the profile itself: nothing is
    // written, only checked.
    let after: Vec<&str> = transcript
        .iter()
        .filter(|(when, _)| *when > first_hibernate)
        .map(|(_, l)| l.as_str())
        .collect();
    assert!(
        !after
            .iter()
            .any(|l| l.starts_with("AT+UHTTP=") || l.starts_with("AT+UHTTPNV=0,2")),
        "{}",
        shown()
    );
    let check = after.iter().position(|l| *l == "AT+UHTTPNV?");
    let request = after.iter().position(|l| l.starts_with("AT+UHTTPC="));
    assert!(check.is_some() && check < request, "{}", shown());
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_module_reboot_the_profile_is_armed_again_before_the_first_request() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    // Power saving off: no sleep URC can explain what the module forgot.
    let config = config_beating(
        dir.path(),
        &pty,
        server.port,
        "300ms",
        "interval = \"2s\"\njitter = \"0s\"",
        "",
        "[modem.power]\nenabled = false\n",
    );
    let watch = async {
        let deadline = Instant::now() + HANG;
        // The start window ends (no request for a while): then the module
        // reboots without a word, between windows.
        let mut seen = 0;
        let mut quiet_since = Instant::now();
        while seen == 0 || quiet_since.elapsed() < Duration::from_millis(400) {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now_seen = server.received().len();
            if now_seen != seen {
                (seen, quiet_since) = (now_seen, Instant::now());
            }
        }
        let before_reboot = sim.transcript().len();
        sim.reboot();
        assert!(sim.wait_ready(HANG).await);
        while server.received().len() <= seen {
            assert!(Instant::now() < deadline, "{:#?}", sim.transcript());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        before_reboot
    };
    let (_, before_reboot) = daemon_while(link, &config, watch).await;
    let after = sim.transcript().split_off(before_reboot);
    let at = |what: &str| after.iter().position(|l| l.starts_with(what));
    assert!(
        at("ATE0").is_some()
            && at("ATE0") < at("AT+UHTTPNV=0,1")
            && at("AT+UHTTPNV=0,1") < at("AT+UHTTPC="),
        "echo off again, the profile armed again, then the request: {after:#?}"
    );
    assert!(
        !after
            .iter()
            .any(|l| l.starts_with("AT+UHTTP=") || l.starts_with("AT+UHTTPNV=0,2")),
        "{after:#?}"
    );
    sim.shutdown();
}
