//! `edge-agent queue stats|peek|export|purge` as a user runs them, on a
//! queue filled through the library.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edge_agent::queue::{Options, Queue};
use edge_agent::reading::{Reading, Value};

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    queue_dir: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[agent]\ndata_dir = {data:?}\n\n[modem]\nport = \"/dev/ttyUSB0\"\n"),
    )
    .unwrap();
    Setup {
        queue_dir: data.join("queue"),
        _dir: dir,
        config,
    }
}

fn reading(name: &str, value: Value) -> Reading {
    Reading {
        source: "bme280".into(),
        name: name.into(),
        unit: Some("Cel".into()),
        value,
        // 2025-01-01T00:00:00.250Z
        timestamp_ns: 1_735_689_600_250_000_000,
        tags: BTreeMap::from([("room".into(), "lab".into())]),
    }
}

/// Five readings, two of them dead-lettered; returns the pending seqs.
fn fill(queue_dir: &Path) -> Vec<u64> {
    let q = Queue::open(queue_dir, Options::default()).unwrap();
    q.append(&[
        reading("bme280/temperature", Value::F64(21.5)),
        reading("bme280/pressure", Value::I64(101_325)),
        reading("bme280/ok", Value::Bool(true)),
        reading("bme280/state", Value::F64(f64::NAN)),
        reading("bme280/raw", Value::Bytes(vec![0xde, 0xad])),
    ])
    .unwrap();
    let (kept, rejected) = q.lease(5, None).unwrap().split_at(2);
    let seqs: Vec<u64> = kept.seqs().collect();
    q.release(kept);
    q.dead_letter(rejected, "422 unknown sensor").unwrap();
    seqs
}

fn edge_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn queue(s: &Setup, args: &[&str]) -> Output {
    let mut all = vec!["queue"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--config", s.config.to_str().unwrap()]);
    edge_agent(&all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn queue_stats_reports_pending_dead_letters_and_counters_as_json() {
    let s = setup();
    fill(&s.queue_dir);
    let out = queue(&s, &["stats", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["pending_count"], 2);
    assert_eq!(v["dead_count"], 3);
    assert_eq!(v["dead_lettered"], 3);
    assert_eq!(v["appended"], 5);
    assert_eq!(v["leased"], 0);
    assert_eq!(v["dropped"], 0);
    assert_eq!(v["expired"], 0);
    assert_eq!(v["corrupt"], 0);
    assert_eq!(v["max_bytes"], 32 << 20);
    assert!(v["pending_bytes"].as_u64().unwrap() > 0);
    assert!(v["oldest_age_s"].as_u64().is_some());
    assert_eq!(
        v["queue_dir"].as_str().unwrap(),
        s.queue_dir.to_str().unwrap()
    );
}

#[test]
fn queue_stats_as_text_says_why_nothing_is_leased() {
    let s = setup();
    fill(&s.queue_dir);
    let out = queue(&s, &["stats"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "pending        2 readings",
        "leased         0 (leases live only in the running agent's memory",
        "dead letters   3 readings",
        "expired        0 readings older than max_age = 30d",
        "corrupt        0 records moved aside",
        "lifetime       5 appended, 0 acked",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn queue_peek_prints_the_oldest_readings_in_order() {
    let s = setup();
    let seqs = fill(&s.queue_dir);
    let out = queue(&s, &["peek", "-n", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "seq {}  2025-01-01T00:00:00.250Z  bme280  bme280/temperature = 21.5 Cel  [room=lab]",
            seqs[0]
        )),
        "{text}"
    );
    let out = queue(&s, &["peek"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .contains("bme280/pressure = 101325"));
}

#[test]
fn queue_peek_on_an_empty_queue_says_so() {
    let s = setup();
    drop(Queue::open(&s.queue_dir, Options::default()).unwrap());
    let out = queue(&s, &["peek"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "the queue is empty\n");
}

#[test]
fn queue_export_prints_every_pending_reading_as_a_json_line() {
    let s = setup();
    let dir = &s.queue_dir;
    let q = Queue::open(dir, Options::default()).unwrap();
    let all = [
        reading("a", Value::F64(21.5)),
        reading("b", Value::I64(-3)),
        reading("c", Value::Bool(false)),
        reading("d", Value::Str("ok".into())),
        reading("e", Value::Bytes(vec![0xde, 0xad])),
        reading("f", Value::F64(f64::NEG_INFINITY)),
    ];
    let seqs: Vec<u64> = q.append(&all).unwrap().stored().collect();
    drop(q);
    let out = queue(&s, &["export"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let seq_of = |l: &serde_json::Value| l["seq"].as_u64().unwrap();
    assert_eq!(lines.iter().map(seq_of).collect::<Vec<_>>(), seqs);
    let values: Vec<(&str, serde_json::Value)> = lines
        .iter()
        .map(|l| (l["type"].as_str().unwrap(), l["value"].clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("f64", serde_json::json!(21.5)),
            ("i64", serde_json::json!(-3)),
            ("bool", serde_json::json!(false)),
            ("str", serde_json::json!("ok")),
            ("bytes", serde_json::json!("dead")),
            ("f64", serde_json::json!("-inf")),
        ]
    );
    assert_eq!(lines[0]["unit"], "Cel");
    assert_eq!(lines[0]["tags"]["room"], "lab");
    assert_eq!(lines[0]["timestamp_ns"], 1_735_689_600_250_000_000_i64);
    assert!(lines[0]["enqueued_at_ms"].as_u64().is_some());
}

#[test]
fn queue_purge_dead_letters_removes_them_and_says_how_many() {
    let s = setup();
    fill(&s.queue_dir);
    let out = queue(&s, &["purge", "--dead-letters"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("removed 3 dead letters ("),
        "{}",
        stdout(&out)
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&queue(&s, &["stats", "--json"]))).unwrap();
    assert_eq!(
        (v["dead_count"].as_u64(), v["dead_purged"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(v["pending_count"], 2, "pending readings are untouched");
    let again = queue(&s, &["purge", "--dead-letters"]);
    assert!(stdout(&again).starts_with("removed 0 dead letters"));
}

#[test]
fn queue_purge_without_saying_what_is_a_usage_error() {
    let s = setup();
    fill(&s.queue_dir);
    let out = queue(&s, &["purge"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--dead-letters"), "{}", stderr(&out));
}

#[test]
fn queue_commands_refuse_to_run_while_the_agent_holds_the_queue() {
    let s = setup();
    fill(&s.queue_dir);
    let held = Queue::open(&s.queue_dir, Options::default()).unwrap();
    for args in [&["stats"][..], &["export"], &["purge", "--dead-letters"]] {
        let out = queue(&s, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("the agent is running; stop it first"), "{err}");
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(held.stats().unwrap().counters.dead_count, 3);
}

#[test]
fn queue_commands_where_nothing_was_ever_stored_show_an_empty_queue_and_create_nothing() {
    let s = setup();
    let out = queue(&s, &["stats", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for key in [
        "pending_count",
        "pending_bytes",
        "dead_count",
        "dropped",
        "expired",
    ] {
        assert_eq!(stats[key], 0, "{key}: {stats}");
    }
    assert!(stats["oldest_age_s"].is_null(), "{stats}");
    assert!(
        stderr(&out).contains("the agent has not stored anything"),
        "{}",
        stderr(&out)
    );
    let out = queue(&s, &["stats"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("pending        0 readings"),
        "{}",
        stdout(&out)
    );
    let out = queue(&s, &["peek"]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "the queue is empty\n")
    );
    let out = queue(&s, &["export"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), ""));
    assert!(!s.queue_dir.exists());
}

#[test]
fn queue_help_explains_each_subcommand() {
    let help = stdout(&edge_agent(&["queue", "--help"]));
    for sub in ["stats", "peek", "export", "purge"] {
        assert!(help.contains(sub), "{help}");
    }
    assert!(help.contains("only while the agent is stopped"), "{help}");
    let stats = stdout(&edge_agent(&["queue", "stats", "--help"]));
    assert!(stats.contains("\"leased\" is always 0 here"), "{stats}");
    let export = stdout(&edge_agent(&["queue", "export", "--help"]));
    assert!(export.contains("JSON lines"), "{export}");
}
