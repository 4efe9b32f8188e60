//! `edge-bench queue`: the durable queue on this machine's disk.
//!
//! 1. Append+ack throughput: batches of 100 realistic readings appended
//!    with `sync = "batch"` (one flush per 100 readings), each batch leased
//!    and acked (the ack flushes too), until 20,000 readings went through.
//! 2. A backlog of 100,000 pending readings (appended 100 per flush), then
//!    the bytes per reading on disk (allocated blocks, as `du` counts them,
//!    over the count) and per reading as the bounds count them.
//! 3. In a child process (so its peak RSS is the queue's, not the
//!    filler's): the time to open that backlog for the CLI (no scan) and
//!    for the agent (integrity pass over every record), then the peak RSS
//!    (`VmHWM`) while draining it 100 readings per lease.
//!
//! 4. The fsyncs a gateway at the defaults costs in an hour (flash wear):
//!    three plugins sampling 3 readings every 10 s, the heartbeat's 9
//!    readings every 15 min and a window every 15 min (lease, pack with the
//!    real packer at the default limits, ack per message), with `sync =
//!    "batch"` and with intervals (the intake's flush timer emulated), on a
//!    manual clock: counted by the store, not timed.
//!
//! Every flush is sled's flush plus an `fdatasync` of its log
//! (`agent/src/store/`), so the throughput figures include real syncs.
//!
//! Readings are what a small gateway produces: five sensors on two chips
//! (`bme280/temperature` in `Cel`, `ina219/voltage` in `V`, ...), a site and
//! a bus tag. The page cache is warm when the child reopens the backlog
//! (the filler just wrote it), so the reopen time is CPU and sled, not a
//! cold flash read.

// A benchmark: a failure stops it with its reason, as in `benches/codec.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::Arc;

use edge_agent::config::{Duration as ConfigDuration, UplinkConfig};
use edge_agent::queue::{ManualClock, OnFull, Options, Queue, SyncPolicy};
use edge_agent::reading::{Reading, Value};
use edge_agent::store::OpenMode;
use edge_agent::uplink::{drain, Budget, SendError, Transport};

/// The hidden argument that makes the process the draining child.
const DRAIN_CHILD: &str = "--drain-child";
const BATCH: usize = 100;
const THROUGHPUT_READINGS: usize = 20_000;
const BACKLOG: usize = 100_000;

/// Runs the benchmark (or, with `--drain-child DIR`, the child's part).
pub fn run() {
    let args: Vec<String> = std::env::args().skip(2).collect();
    if let [flag, dir] = args.as_slice() {
        if flag == DRAIN_CHILD {
            drain_child(Path::new(dir));
            return;
        }
    }
    if !args.is_empty() {
        eprintln!("usage: edge-bench queue");
        std::process::exit(2);
    }
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for real figures");
    }

    let throughput = append_ack_throughput();
    let hours: Vec<(String, u64)> = [
        SyncPolicy::Batch,
        SyncPolicy::Interval(ConfigDuration::from_secs(5)),
        SyncPolicy::Interval(ConfigDuration::from_secs(60)),
    ]
    .into_iter()
    .map(|sync| (sync.to_string(), syncs_in_a_gateway_hour(sync)))
    .collect();
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let dir = scratch.path().join("queue");
    let (fill, logical) = fill_backlog(&dir);
    let disk = allocated_bytes(&dir).expect("disk usage of the queue");
    let child = run_drain_child(&dir);

    let per_reading = |bytes: u64| bytes as f64 / BACKLOG as f64;
    println!("durable queue (sled 0.34, cache 2 MiB, sync = \"batch\", fdatasync per flush)");
    println!("{:<58} {:>14}", "figure", "value");
    let row = |name: &str, value: String| println!("{name:<58} {value:>14}");
    row(
        "append+ack throughput, flush per 100 readings",
        format!("{:.0} readings/s", throughput.readings_per_s),
    );
    row(
        "  fsyncs (one per append batch, one per ack)",
        format!("{}", throughput.syncs),
    );
    row(
        "  fsyncs per second at that throughput",
        format!("{:.0} /s", throughput.syncs_per_s),
    );
    row(
        "  time per flush (sled's write + fdatasync)",
        format!("{:.2} ms", throughput.ms_per_flush),
    );
    for (sync, syncs) in &hours {
        row(
            &format!("fsyncs in a gateway hour at the defaults, sync = {sync}"),
            format!("{syncs} /h"),
        );
    }
    row(
        "fill 100,000 readings, flush per 100",
        format!("{:.2} s", fill.as_secs_f64()),
    );
    row(
        "reopen 100,000 pending: for the CLI (counters, no scan)",
        format!("{:.1} ms", child.inspect_open.as_secs_f64() * 1e3),
    );
    row(
        "reopen 100,000 pending: for the agent (integrity pass)",
        format!("{:.1} ms", child.agent_open.as_secs_f64() * 1e3),
    );
    row(
        "drain 100,000 (lease 100 + ack, a flush per ack)",
        format!("{:.2} s", child.drain.as_secs_f64()),
    );
    row(
        "peak RSS of the draining process (VmHWM)",
        format!("{:.1} MiB", child.vm_hwm_kib as f64 / 1024.0),
    );
    row(
        "  RSS after the CLI's open (no scan)",
        format!("{:.1} MiB", child.rss_after_inspect_kib as f64 / 1024.0),
    );
    row(
        "  RSS after the agent's open, before draining",
        format!("{:.1} MiB", child.rss_after_open_kib as f64 / 1024.0),
    );
    row(
        "bytes per reading on disk (du after flush / count)",
        format!("{:.1} B", per_reading(disk)),
    );
    row(
        "bytes per reading as max_bytes counts (key + record)",
        format!("{:.1} B", per_reading(logical)),
    );
}

/// Five sensors on two chips, as a small gateway has them.
const SENSORS: [(&str, &str, &str); 5] = [
    ("bme280", "bme280/temperature", "Cel"),
    ("bme280", "bme280/humidity", "%RH"),
    ("bme280", "bme280/pressure", "Pa"),
    ("ina219", "ina219/voltage", "V"),
    ("ina219", "ina219/current", "A"),
];

/// The `n`th reading: sensors in turn, sampled once a minute each.
fn reading(n: u64) -> Reading {
    let (source, name, unit) = SENSORS[(n % 5) as usize];
    // Values that wander like real ones, not constants that compress.
    let wobble = ((n * 7_919) % 1_000) as f64 / 1_000.0;
    let value = match n % 5 {
        0 => 21.0 + wobble * 3.0,
        1 => 45.0 + wobble * 10.0,
        2 => 101_325.0 + wobble * 500.0,
        3 => 3.7 + wobble * 0.4,
        _ => 0.12 + wobble * 0.05,
    };
    Reading {
        source: source.into(),
        name: name.into(),
        unit: Some(unit.into()),
        value: Value::F64(value),
        timestamp_ns: 1_735_689_600_000_000_000 + (n / 5) as i64 * 60_000_000_000,
        tags: BTreeMap::from([
            ("bus".to_owned(), "i2c-1".to_owned()),
            ("site".to_owned(), "north-field".to_owned()),
        ]),
    }
}

fn options() -> Options {
    Options {
        sync: SyncPolicy::Batch,
        max_bytes: 256 << 20,
        on_full: OnFull::DropOldest,
        max_age: Duration::from_secs(30 * 86_400),
        lease_timeout: Duration::from_secs(120),
    }
}

/// What the append+ack loop measured.
struct Throughput {
    readings_per_s: f64,
    syncs: u64,
    syncs_per_s: f64,
    ms_per_flush: f64,
}

/// Readings per second through append (flush) + lease + ack (flush).
fn append_ack_throughput() -> Throughput {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let q = Queue::open(&scratch.path().join("queue"), options()).expect("open");
    let batches: Vec<Vec<Reading>> = (0..THROUGHPUT_READINGS / BATCH)
        .map(|b| {
            (0..BATCH)
                .map(|i| reading((b * BATCH + i) as u64))
                .collect()
        })
        .collect();
    let syncs_before = q.store().syncs();
    let start = Instant::now();
    for batch in &batches {
        q.append(batch).expect("append");
        let lease = q.lease(BATCH, None).expect("lease");
        assert_eq!(lease.len(), BATCH);
        q.ack(lease).expect("ack");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let syncs = q.store().syncs() - syncs_before;
    Throughput {
        readings_per_s: THROUGHPUT_READINGS as f64 / elapsed,
        syncs,
        syncs_per_s: syncs as f64 / elapsed,
        ms_per_flush: elapsed * 1e3 / syncs as f64,
    }
}

/// A transport that confirms every message.
struct Confirming;

impl Transport for Confirming {
    async fn send(&mut self, _payload: &[u8]) -> Result<(), SendError> {
        Ok(())
    }
}

/// The store's fsyncs in one hour of a gateway at the defaults (see the
/// module docs), on a manual clock, second by second.
fn syncs_in_a_gateway_hour(sync: SyncPolicy) -> u64 {
    const PLUGINS: u64 = 3;
    const PER_SAMPLE: u64 = 3;
    const SAMPLE_EVERY_S: u64 = 10;
    const HEARTBEAT_READINGS: u64 = 9;
    const WINDOW_EVERY_S: u64 = 900;
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let clock = ManualClock::new(1_735_689_600_000);
    let q = Queue::open_with(
        &scratch.path().join("queue"),
        Options { sync, ..options() },
        Arc::new(clock.clone()),
        OpenMode::Agent,
    )
    .expect("open");
    let packer = UplinkConfig::default().packer(Some("gw"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let interval = match sync {
        SyncPolicy::Batch => None,
        SyncPolicy::Interval(every) => Some(every.get().as_secs()),
    };
    let before = q.store().syncs();
    // The intake's flush timer: when the oldest unflushed append is due.
    let mut flush_at: Option<u64> = None;
    let mut n = 0;
    let mut append = |q: &Queue, count: u64, t: u64, flush_at: &mut Option<u64>| {
        let batch: Vec<Reading> = (n..n + count).map(reading).collect();
        n += count;
        if !q.append(&batch).expect("append").durable {
            if let Some(every) = interval {
                flush_at.get_or_insert(t + every);
            }
        }
    };
    for t in 1..=3_600u64 {
        clock.advance(Duration::from_secs(1));
        for plugin in 0..PLUGINS {
            if t % SAMPLE_EVERY_S == plugin * 3 {
                append(&q, PER_SAMPLE, t, &mut flush_at);
            }
        }
        if t % WINDOW_EVERY_S == WINDOW_EVERY_S / 2 {
            append(&q, HEARTBEAT_READINGS, t, &mut flush_at);
        }
        if t % WINDOW_EVERY_S == 0 {
            let budget = Budget::queued_now(&q).expect("stats");
            runtime
                .block_on(drain(&q, &packer, &mut Confirming, budget))
                .expect("drain");
        }
        if flush_at.is_some_and(|at| t >= at) {
            flush_at = None;
            q.flush_if_dirty().expect("flush");
        }
    }
    q.store().syncs() - before
}

/// Appends the backlog; returns the time taken and the stored bytes.
fn fill_backlog(dir: &Path) -> (Duration, u64) {
    let q = Queue::open(dir, options()).expect("open");
    let start = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..BACKLOG as u64 {
        batch.push(reading(n));
        if batch.len() == BATCH {
            q.append(&batch).expect("append");
            batch.clear();
        }
    }
    let elapsed = start.elapsed();
    q.flush().expect("flush");
    let stats = q.stats().expect("stats");
    assert_eq!(stats.counters.pending_count, BACKLOG as u64);
    (elapsed, stats.counters.pending_bytes)
}

/// What the draining child measured.
#[derive(Debug)]
struct ChildFigures {
    inspect_open: Duration,
    agent_open: Duration,
    drain: Duration,
    rss_after_inspect_kib: u64,
    rss_after_open_kib: u64,
    vm_hwm_kib: u64,
}

fn run_drain_child(dir: &Path) -> ChildFigures {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let out = Command::new(exe)
        .args(["queue", DRAIN_CHILD])
        .arg(dir)
        .output()
        .expect("run the draining child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the draining child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("the child did not report {name}: {text}"))
    };
    ChildFigures {
        inspect_open: Duration::from_micros(field("inspect_open_us")),
        agent_open: Duration::from_micros(field("agent_open_us")),
        drain: Duration::from_micros(field("drain_us")),
        rss_after_inspect_kib: field("rss_after_inspect_kib"),
        rss_after_open_kib: field("rss_after_open_kib"),
        vm_hwm_kib: field("vm_hwm_kib"),
    }
}

/// The child: open the backlog both ways, drain it, report.
fn drain_child(dir: &Path) {
    let start = Instant::now();
    let inspected = Queue::inspect(dir, options()).expect("open for inspection");
    inspected.stats().expect("stats");
    let inspect_open = start.elapsed();
    let rss_after_inspect_kib = status_kib("VmRSS").unwrap_or(0);
    drop(inspected);

    let start = Instant::now();
    let q = Queue::open(dir, options()).expect("open");
    let agent_open = start.elapsed();
    let rss_after_open_kib = status_kib("VmRSS").unwrap_or(0);

    let start = Instant::now();
    let mut drained = 0;
    loop {
        let lease = q.lease(BATCH, None).expect("lease");
        if lease.is_empty() {
            break;
        }
        drained += lease.len();
        q.ack(lease).expect("ack");
    }
    let drain = start.elapsed();
    assert_eq!(drained, BACKLOG, "drained a different count");
    println!("inspect_open_us={}", inspect_open.as_micros());
    println!("agent_open_us={}", agent_open.as_micros());
    println!("drain_us={}", drain.as_micros());
    println!("rss_after_inspect_kib={rss_after_inspect_kib}");
    println!("rss_after_open_kib={rss_after_open_kib}");
    println!("vm_hwm_kib={}", status_kib("VmHWM").unwrap_or(0));
}

/// A `kB` field of `/proc/self/status` (`VmHWM`: peak resident set).
fn status_kib(field: &str) -> Option<u64> {
    parse_status_kib(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Bytes allocated on disk under `dir` (what `du` reports), recursively.
fn allocated_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            allocated_bytes(&entry.path())?
        } else {
            // st_blocks is in 512-byte units whatever the block size.
            meta.blocks() * 512
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_rss_is_read_from_proc_status_lines() {
        let status =
            "Name:\tedge-bench\nVmPeak:\t  10000 kB\nVmHWM:\t    3172 kB\nVmRSS:\t 3100 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(3_172));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(3_100));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        assert!(status_kib("VmHWM").is_some_and(|k| k > 0));
    }

    #[test]
    fn disk_usage_counts_allocated_blocks_in_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(dir.path().join("b"), b"x").unwrap();
        let bytes = allocated_bytes(dir.path()).unwrap();
        assert!(bytes >= 10_000, "{bytes}");
    }

    #[test]
    fn an_interval_sync_costs_a_gateway_fewer_fsyncs_than_batch() {
        let batch = syncs_in_a_gateway_hour(SyncPolicy::Batch);
        let five = syncs_in_a_gateway_hour(SyncPolicy::Interval(ConfigDuration::from_secs(5)));
        // Three appends every 10 s are 1,080 an hour, each synced.
        assert!(batch >= 1_080, "{batch}");
        assert!(five * 3 < batch * 2, "5s: {five}, batch: {batch}");
    }

    #[test]
    fn the_readings_are_realistic_in_size() {
        let size = Queue::stored_size(&reading(0));
        assert!((60..=110).contains(&size), "{size}");
        assert_eq!(reading(6).name, "bme280/humidity");
    }
}
