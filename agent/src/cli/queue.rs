//! `edge-agent queue ...`: look into the durable queue while the agent is
//! stopped, without the modem. The queue is opened for inspection
//! ([`Queue::inspect`]): nothing is expired, checked or moved aside; only
//! `purge` writes. A data directory where nothing was ever stored is an
//! empty queue (zeros, exit 0), and nothing is created in it.

use std::io::{self, Write};
use std::path::Path;

use edge_agent::config::{ByteSize, Duration};
use edge_agent::queue::{Counters, Options, Pending, Queue, QueueError, Stats, CLOCK_SET_AFTER_MS};
use edge_agent::reading::Value;
use edge_agent::store::StoreError;
use serde_json::{json, Map, Value as Json};

use super::args::{LogFormat, QueueCommand};
use super::setup;
use super::utc::rfc3339_ns;

/// Runs one `queue` subcommand.
pub fn run(command: &QueueCommand, log: LogFormat) -> anyhow::Result<()> {
    let loaded = setup::load(&command.config().config, log)?;
    let config = &loaded.config;
    let dir = config.queue_dir();
    let options = config.queue.options();
    let out = io::stdout().lock();
    let queue = match Queue::inspect(&dir, options.clone()) {
        Ok(queue) => queue,
        Err(QueueError::Store(StoreError::NotFound { .. })) => {
            return never_stored(&dir, &options, command, out)
        }
        Err(e) => return Err(e.into()),
    };
    let result = match command {
        QueueCommand::Stats { json, .. } => {
            let stats = queue.stats()?;
            print_stats(queue.dir(), queue.options(), &stats, *json, out)
        }
        QueueCommand::Peek { count, .. } => peek(&queue, *count, out),
        QueueCommand::Export(_) => export(&queue, out),
        QueueCommand::Purge { .. } => purge(&queue, out),
    };
    match result {
        // `edge-agent queue export | head` closing the pipe is not a failure.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// The agent has never stored anything in `dir`: an empty queue, answered
/// as such without creating it.
fn never_stored(
    dir: &Path,
    options: &Options,
    command: &QueueCommand,
    mut out: impl Write,
) -> anyhow::Result<()> {
    eprintln!(
        "note: there is no queue at {} yet: the agent has not stored anything",
        dir.display()
    );
    match command {
        QueueCommand::Stats { json, .. } => {
            let stats = Stats {
                counters: Counters::default(),
                leased: 0,
                oldest_enqueued_at_ms: None,
                oldest_seq: None,
                max_bytes: options.max_bytes,
            };
            print_stats(dir, options, &stats, *json, out)
        }
        QueueCommand::Peek { .. } => Ok(writeln!(out, "the queue is empty")?),
        QueueCommand::Export(_) => Ok(()),
        QueueCommand::Purge { .. } => Ok(writeln!(out, "removed 0 dead letters (0 B)")?),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn now_ms() -> u64 {
    edge_agent::values::wall_clock::unix_ms()
}

/// How long ago `at_ms` was, for a person; `None` when the clock was not
/// set when it was stamped.
fn age(at_ms: u64, now_ms: u64) -> Option<u64> {
    (at_ms >= CLOCK_SET_AFTER_MS).then(|| now_ms.saturating_sub(at_ms) / 1_000)
}

fn age_text(at_ms: u64, now_ms: u64) -> String {
    match age(at_ms, now_ms) {
        Some(secs) => format!("{} ago", Duration::from_secs(secs)),
        None => "at an unknown time (the clock was not set yet)".into(),
    }
}

/// Bytes for a person: `812 B`, `98.1 KiB`, `31.9 MiB`.
fn human_bytes(n: u64) -> String {
    match n {
        0..1_024 => format!("{n} B"),
        1_024..1_048_576 => format!("{:.1} KiB", n as f64 / 1_024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

fn print_stats(
    dir: &Path,
    options: &Options,
    stats: &Stats,
    as_json: bool,
    mut out: impl Write,
) -> anyhow::Result<()> {
    let now = now_ms();
    if as_json {
        let value = stats_json(dir, stats, now);
        writeln!(out, "{value}")?;
        return Ok(());
    }
    let c: &Counters = &stats.counters;
    let used = c.used_bytes() as f64 / stats.max_bytes.max(1) as f64 * 100.0;
    writeln!(out, "queue          {}", dir.display())?;
    writeln!(
        out,
        "pending        {} readings, {}; with the dead letters {used:.1}% of max_bytes = {}",
        c.pending_count,
        human_bytes(c.pending_bytes),
        ByteSize::bytes(stats.max_bytes)
    )?;
    match (stats.oldest_seq, stats.oldest_enqueued_at_ms) {
        (Some(seq), Some(at)) => writeln!(
            out,
            "oldest         seq {seq}, enqueued {}",
            age_text(at, now)
        )?,
        _ => writeln!(out, "oldest         -")?,
    }
    writeln!(
        out,
        "leased         {} (leases live only in the running agent's memory; the agent is not \
         running, so none)",
        stats.leased
    )?;
    writeln!(
        out,
        "dead letters   {} readings, {} ({} dead-lettered in all; {} dropped for room, {} expired, \
         {} purged)",
        c.dead_count,
        human_bytes(c.dead_bytes),
        c.dead_lettered,
        c.dead_dropped,
        c.dead_expired,
        c.dead_purged
    )?;
    writeln!(
        out,
        "dropped        {} pending readings, to make room (on_full = \"drop_oldest\")",
        c.dropped
    )?;
    writeln!(
        out,
        "rejected       {} new readings that did not fit",
        c.rejected
    )?;
    writeln!(
        out,
        "expired        {} readings older than max_age = {}",
        c.expired,
        Duration::from_millis(u64::try_from(options.max_age.as_millis()).unwrap_or(u64::MAX))
    )?;
    writeln!(
        out,
        "corrupt        {} records moved aside (kept raw in the `corrupt` tree)",
        c.corrupt
    )?;
    writeln!(
        out,
        "lifetime       {} appended, {} acked",
        c.appended, c.acked
    )?;
    writeln!(out, "next seq       {}", c.next_seq)?;
    Ok(())
}

fn stats_json(dir: &Path, stats: &Stats, now: u64) -> Json {
    let mut map = Map::new();
    map.insert("queue_dir".into(), json!(dir.to_string_lossy()));
    map.insert("leased".into(), json!(stats.leased));
    map.insert("oldest_seq".into(), json!(stats.oldest_seq));
    map.insert(
        "oldest_enqueued_at_ms".into(),
        json!(stats.oldest_enqueued_at_ms),
    );
    map.insert(
        "oldest_age_s".into(),
        json!(stats.oldest_enqueued_at_ms.and_then(|at| age(at, now))),
    );
    map.insert("max_bytes".into(), json!(stats.max_bytes));
    for (name, value) in Counters::FIELDS.iter().zip(stats.counters.values()) {
        map.insert((*name).into(), json!(value));
    }
    Json::Object(map)
}

fn peek(queue: &Queue, count: usize, mut out: impl Write) -> anyhow::Result<()> {
    let now = now_ms();
    let mut shown = 0;
    for item in queue.pending().take(count) {
        match item {
            Ok(p) => writeln!(out, "{}", peek_line(&p, now))?,
            Err(e) => writeln!(out, "(skipped: {e})")?,
        }
        shown += 1;
    }
    if shown == 0 {
        writeln!(out, "the queue is empty")?;
    }
    Ok(())
}

fn peek_line(p: &Pending, now: u64) -> String {
    let r = &p.reading;
    let unit = r
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let tags = if r.tags.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("  [{}]", list.join(", "))
    };
    format!(
        "seq {}  {}  {}  {} = {}{unit}{tags}  (enqueued {})",
        p.seq,
        rfc3339_ns(r.timestamp_ns),
        r.source,
        r.name,
        r.value,
        age_text(p.enqueued_at_ms, now),
    )
}

fn export(queue: &Queue, out: impl Write) -> anyhow::Result<()> {
    let mut out = io::BufWriter::new(out);
    let mut skipped = 0u64;
    for item in queue.pending() {
        match item {
            Ok(p) => {
                serde_json::to_writer(&mut out, &reading_json(&p)).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                skipped += 1;
                eprintln!("warning: {e}");
            }
        }
    }
    out.flush()?;
    if skipped > 0 {
        eprintln!(
            "warning: skipped {skipped} records that cannot be decoded; the agent moves them \
             aside to the `corrupt` tree when it next starts"
        );
    }
    Ok(())
}

/// One line of `queue export`, fields in this order.
#[derive(serde::Serialize)]
struct ExportLine<'a> {
    seq: u64,
    enqueued_at_ms: u64,
    source: &'a str,
    name: &'a str,
    unit: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    value: Json,
    timestamp_ns: i64,
    tags: &'a std::collections::BTreeMap<String, String>,
}

fn reading_json(p: &Pending) -> ExportLine<'_> {
    let r = &p.reading;
    let (kind, value) = match &r.value {
        Value::F64(v) if v.is_finite() => ("f64", json!(v)),
        Value::F64(v) if v.is_nan() => ("f64", json!("NaN")),
        Value::F64(v) => ("f64", json!(if *v > 0.0 { "inf" } else { "-inf" })),
        Value::I64(v) => ("i64", json!(v)),
        Value::Bool(v) => ("bool", json!(v)),
        Value::Str(v) => ("str", json!(v)),
        Value::Bytes(v) => (
            "bytes",
            json!(v.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        ),
    };
    ExportLine {
        seq: p.seq,
        enqueued_at_ms: p.enqueued_at_ms,
        source: &r.source,
        name: &r.name,
        unit: r.unit.as_deref(),
        kind,
        value,
        timestamp_ns: r.timestamp_ns,
        tags: &r.tags,
    }
}

fn purge(queue: &Queue, mut out: impl Write) -> anyhow::Result<()> {
    let (count, bytes) = queue.purge_dead_letters()?;
    writeln!(out, "removed {count} dead letters ({})", human_bytes(bytes))?;
    Ok(())
}
