//! `edge-bench plugins`: what the plugin host costs per reading, and how
//! many readings per second one plugin instance gets into the queue.
//!
//! 1. The host's `emit` called directly (the real table, through its
//!    function pointer, as a plugin calls it) with prebuilt `abi::Reading`
//!    arrays: ns per reading for batches of 1, 16 and 256, for number
//!    readings (a ~16-byte name, a unit, 0 to 2 tags in turn) and for 1 KiB
//!    byte payloads. That is validate + copy + `try_send`, and nothing of a
//!    plugin's own work, plus waking the consumer thread: a thread drains
//!    the channel after each call, untimed, so the channel never fills
//!    and its memory stays warm, as with a plugin that emits each poll. A
//!    full channel takes the cheaper drop path, which gets its own row (one
//!    slot, nobody draining).
//! 2. The same from the plugin's side: the synthetic plugin's raw
//!    descriptor polled directly (250 readings per poll) against a no-op
//!    `HostApi`, then against the real one (its channel again drained after
//!    each poll, untimed); the difference is the host's share, which should
//!    agree with 1 at batch 256.
//! 3. The synthetic plugin loaded by the real loader (pinned by the hash
//!    `inspect` reports), run by the real `PluginHost` push-style at an
//!    unthrottled rate for a few seconds; a consumer thread takes one
//!    reading, `try_recv`s up to 255 (then 1023) more and appends them to a
//!    durable queue with the default options (`sync = "batch"`: a flush
//!    per append) but 1 GiB of room, as the daemon does. Reported: readings/s into the queue
//!    and into the channel, and the channel's drops, so the rate cannot
//!    hide losses. Then the same with a consumer that only drains the
//!    channel, to show where the bottleneck is.
//!
//! Each figure of 1 and 2 is the best of five runs. The plugin library is
//! the `libedge_plugin_synthetic.so` of the same build profile, which cargo
//! builds because edge-bench depends on the crate.

// A benchmark: a failure stops it with its reason, as in `queue.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::ffi::c_void;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use edge_agent::plugin_host::{
    inspect, load, BenchHostApi, CounterSnapshot, InstanceSpec, LoadRequest, Pin, PluginHost,
    PluginReading, DEFAULT_CHANNEL_CAPACITY,
};
use edge_agent::queue::{Options, Queue};
use edge_agent::reading::Reading;
use edge_agent_sdk::abi::{
    self, Bytes, ErrorBuf, HostApi, PluginDescriptor, Status, Tag, ABI_MAJOR, ABI_MINOR, STATUS_OK,
    VALUE_BYTES, VALUE_F64,
};
use tokio::sync::mpsc;

/// The cdylib cargo builds for the `edge-plugin-synthetic` dependency.
const LIBRARY: &str = "libedge_plugin_synthetic.so";
const BATCH_SIZES: [usize; 3] = [1, 16, 256];
const RUNS: usize = 5;
/// Readings per run of 1 (numbers; payloads are a quarter of it).
const EMIT_READINGS: usize = 16 * 1024;
const PAYLOAD_BYTES: usize = 1024;
/// Rounds of five series per poll in 2: 250 readings, near batch 256 of 1.
const PER_POLL: usize = 50;
const POLLS: usize = 200;
/// How long 3 runs the instance, per consumer.
const PUSH_WINDOW: Duration = Duration::from_secs(3);

/// Five sensors on two chips, as a small gateway has them.
const SENSORS: [(&str, &str); 5] = [
    ("bme280/temperature", "Cel"),
    ("bme280/humidity", "%RH"),
    ("bme280/pressure", "Pa"),
    ("ina219/voltage", "V"),
    ("ina219/current", "A"),
];
const TAGS: [(&str, &str); 2] = [("site", "north-field"), ("bus", "i2c-1")];

/// Runs the benchmark.
pub fn run() {
    if std::env::args().nth(2).is_some() {
        eprintln!("usage: edge-bench plugins");
        std::process::exit(2);
    }
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for real figures");
    }
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let library = find_library(&exe).unwrap_or_else(|message| {
        eprintln!("edge-bench plugins: {message}");
        std::process::exit(1);
    });
    let scratch = tempfile::tempdir().expect("a scratch directory");

    println!("plugin host ({})", machine_caveats(scratch.path()));
    println!("plugin: {}", library.display());
    println!();
    direct_emit();
    println!();
    plugin_side(&library);
    println!();
    push_throughput(&library, scratch.path());
}

/// `libedge_plugin_synthetic.so` next to the executable or in its `deps/`
/// (cargo puts a dependency's cdylib there), or why not.
fn find_library(exe: &Path) -> Result<PathBuf, String> {
    let dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no directory", exe.display()))?;
    let candidates = [dir.join(LIBRARY), dir.join("deps").join(LIBRARY)];
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "{LIBRARY} is neither {} nor {}; build it in the same profile as \
                 the benchmark: `cargo run --release -p edge-bench -- plugins` \
                 (edge-bench depends on edge-plugin-synthetic, so cargo builds \
                 the cdylib into deps/)",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// What the figures depend on: cores, load (other processes share them),
/// the build, and where the queue's flushes go.
fn machine_caveats(scratch: &Path) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let fs = std::fs::read_to_string("/proc/mounts")
        .ok()
        .and_then(|mounts| filesystem_of(&mounts, scratch))
        .unwrap_or_else(|| "?".into());
    format!(
        "{cores} cores, load average {load} at start, {} build; queue on {fs} \
         ({}); figures move with the load",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        scratch.display()
    )
}

/// The type of the filesystem `path` is on: the longest mount point of
/// `/proc/mounts` that contains it (tmpfs makes every flush free).
fn filesystem_of(mounts: &str, path: &Path) -> Option<String> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, fs) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point)
                .then(|| (point.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}

/// The strings and tags `abi::Reading`s point at; must outlive them.
struct ReadingParts {
    tags: Vec<Tag>,
    payload: Vec<u8>,
}

impl ReadingParts {
    fn new() -> ReadingParts {
        ReadingParts {
            tags: TAGS
                .iter()
                .map(|(key, value)| Tag {
                    key: Bytes::new(key.as_bytes()),
                    value: Bytes::new(value.as_bytes()),
                })
                .collect(),
            payload: (0..PAYLOAD_BYTES).map(|i| (i * 31 % 251) as u8).collect(),
        }
    }

    /// `n` readings as a plugin emits them: the sensors in turn with 0, 1,
    /// 2 tags in turn, stamped by the host; numbers, or payloads of
    /// [`PAYLOAD_BYTES`] under a unit-less name.
    fn readings(&self, n: usize, payloads: bool) -> Vec<abi::Reading> {
        (0..n)
            .map(|i| {
                let (name, unit) = if payloads {
                    ("camera/thumbnail", "")
                } else {
                    SENSORS[i % SENSORS.len()]
                };
                let tag_count = i % (self.tags.len() + 1);
                abi::Reading {
                    name: Bytes::new(name.as_bytes()),
                    unit: Bytes::new(unit.as_bytes()),
                    timestamp_ns: 0,
                    kind: if payloads { VALUE_BYTES } else { VALUE_F64 },
                    flags: 0,
                    number: 20.0 + (i % 100) as f64 / 10.0,
                    integer: 0,
                    bytes: if payloads {
                        Bytes::new(&self.payload)
                    } else {
                        Bytes::EMPTY
                    },
                    tags: if tag_count == 0 {
                        ptr::null()
                    } else {
                        self.tags.as_ptr()
                    },
                    tag_count,
                }
            })
            .collect()
    }
}

/// A thread that drains the channel, dropping what it receives, and counts.
struct Consumer {
    received: Arc<AtomicU64>,
    /// How many readings the producer has emitted and lets it take.
    released: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

/// When the consumer thread may touch the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Only between the producer's calls: the calls are timed alone.
    BetweenCalls,
    /// Whenever there is something: woken by the first reading of a call,
    /// it drains while the call goes on, as the agent's consumer does.
    Concurrently,
}

impl Consumer {
    fn spawn(mut receiver: mpsc::Receiver<PluginReading>, drain: Drain) -> Consumer {
        let received = Arc::new(AtomicU64::new(0));
        let released = Arc::new(AtomicU64::new(0));
        let (count, allowed) = (received.clone(), released.clone());
        let thread = std::thread::spawn(move || loop {
            if drain == Drain::BetweenCalls {
                while allowed.load(Ordering::Acquire) <= count.load(Ordering::Relaxed) {
                    std::thread::yield_now();
                }
            }
            if receiver.blocking_recv().is_none() {
                break;
            }
            count.fetch_add(1, Ordering::Release);
        });
        Consumer {
            received,
            released,
            thread,
        }
    }

    /// Lets the consumer take the first `n` readings and returns once it
    /// has received (and dropped) them.
    fn wait_for(&self, n: u64) {
        self.released.store(n, Ordering::Release);
        while self.received.load(Ordering::Acquire) < n {
            std::thread::yield_now();
        }
    }

    /// Waits for the channel to end; the count received.
    fn join(self) -> u64 {
        self.released.store(u64::MAX, Ordering::Release);
        self.thread.join().expect("the consumer thread");
        self.received.load(Ordering::Acquire)
    }
}

/// What reading the clock twice costs, to take off each timed call.
fn clock_overhead() -> Duration {
    const PAIRS: u32 = 100_000;
    let start = Instant::now();
    for _ in 0..PAIRS {
        black_box(Instant::now().elapsed());
    }
    start.elapsed() / PAIRS
}

/// Part 1: the host's `emit` alone.
fn direct_emit() {
    let clock = clock_overhead();
    println!("1. host cost per emitted reading: the host's emit called directly");
    println!("   (validate + copy + try_send into a {DEFAULT_CHANNEL_CAPACITY}-slot channel; a consumer thread");
    println!(
        "   drains each call's readings before the next call; best of {RUNS}; {} ns of clock",
        clock.as_nanos()
    );
    println!("   per call taken off). \"alone\": the consumer waits for the call to return;");
    println!(
        "   \"consumer awake\": it is woken by the call's first reading and drains meanwhile,"
    );
    println!(
        "   as in the agent (the wake-up and the contention on the channel and the allocator)"
    );
    println!(
        "   {:<40} {:>7} {:>13} {:>16}",
        "readings", "batch", "alone ns/rdg", "consumer awake"
    );
    let parts = ReadingParts::new();
    for (label, payloads, total) in [
        ("f64, name ~16 B, unit, 0-2 tags", false, EMIT_READINGS),
        ("1 KiB bytes payload, 0-2 tags", true, EMIT_READINGS / 4),
    ] {
        for batch_size in BATCH_SIZES {
            let batch = parts.readings(batch_size, payloads);
            let [alone, awake] = [Drain::BetweenCalls, Drain::Concurrently].map(|drain| {
                best_of_runs(|| time_emit(&batch, total, Channel::Drained(drain), clock))
            });
            println!("   {label:<40} {batch_size:>7} {alone:>13.0} {awake:>16.0}");
        }
    }
    let batch = parts.readings(256, false);
    let ns = best_of_runs(|| time_emit(&batch, EMIT_READINGS, Channel::Full, clock));
    println!(
        "   {:<40} {:>7} {ns:>13.0}",
        "f64 as above, the channel full (dropped)", 256
    );
    println!("   (a reading dropped on a full channel is still validated and copied)");
}

/// The lowest of [`RUNS`] figures.
fn best_of_runs(mut run: impl FnMut() -> f64) -> f64 {
    (0..RUNS).map(|_| run()).fold(f64::INFINITY, f64::min)
}

/// The channel `time_emit` emits into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// A consumer thread empties it after each call (untimed).
    Drained(Drain),
    /// Full from the first reading on, nobody draining: every reading but
    /// the first is dropped.
    Full,
}

/// Emits `batch` until `total` readings went; ns per reading of the emit
/// calls, less `clock` per call.
fn time_emit(batch: &[abi::Reading], total: usize, channel: Channel, clock: Duration) -> f64 {
    let calls = total / batch.len();
    let readings = calls * batch.len();
    let capacity = match channel {
        Channel::Drained(_) => DEFAULT_CHANNEL_CAPACITY,
        Channel::Full => 1,
    };
    let (sender, receiver) = mpsc::channel(capacity);
    let host = BenchHostApi::open("bench", sender);
    let consumer = match channel {
        Channel::Drained(drain) => Some(Consumer::spawn(receiver, drain)),
        // Kept, not drained: a dropped receiver would make emit take the
        // cheaper "closed" path.
        Channel::Full => {
            std::mem::forget(receiver);
            None
        }
    };
    let mut timed = Duration::ZERO;
    for call in 1..=calls {
        let start = Instant::now();
        // SAFETY: `batch` and everything it points at live across the call.
        unsafe { (host.api.emit)(host.api.ctx, batch.as_ptr(), batch.len()) };
        timed += start.elapsed().saturating_sub(clock);
        if let Some(consumer) = &consumer {
            consumer.wait_for((call * batch.len()) as u64);
        }
    }
    host.retire();
    let counters = host.counters();
    assert_eq!(counters.rejected_total(), 0, "the host rejected readings");
    assert_eq!(
        counters.emitted + counters.dropped_full,
        readings as u64,
        "readings went uncounted"
    );
    if let Some(consumer) = consumer {
        assert_eq!(consumer.join(), counters.emitted, "readings went missing");
        assert_eq!(counters.dropped_full, 0, "the channel was drained");
    }
    timed.as_nanos() as f64 / readings as f64
}

/// Part 2: the synthetic plugin polled directly, without and with the host.
fn plugin_side(library: &Path) {
    println!("2. the same from the plugin's side: the synthetic plugin's poll, called directly");
    println!(
        "   ({} readings per poll: 5 series with units, 2 tags; host-stamped; best of {RUNS})",
        PER_POLL * SENSORS.len()
    );
    let descriptor = raw_descriptor(library);
    let config = synthetic_config(&format!(r#""per_poll": {PER_POLL}"#));
    let readings = (POLLS * PER_POLL * SENSORS.len()) as f64;
    let ns = |against| best_poll_time(descriptor, &config, against).as_nanos() as f64 / readings;
    let alone = ns(Against::NoOpHost);
    println!(
        "   {:<56} {:>11} {:>13}",
        "polled against", "ns/reading", "host's share"
    );
    println!(
        "   {:<56} {alone:>11.0} {:>13}",
        "a no-op emit (the plugin alone: generate, SDK, FFI)", "-"
    );
    for (label, drain) in [
        (
            "the host's emit, consumer waiting for the poll",
            Drain::BetweenCalls,
        ),
        ("the host's emit, consumer awake", Drain::Concurrently),
    ] {
        let with_host = ns(Against::RealHost(drain));
        println!(
            "   {label:<56} {with_host:>11.0} {:>13.0}",
            with_host - alone
        );
    }
    println!("   (the host's share should agree with 1 at batch 256)");
}

/// The synthetic plugin's config: the five sensors, the two tags, `extra`.
fn synthetic_config(extra: &str) -> String {
    let series: Vec<String> = SENSORS
        .iter()
        .map(|(name, unit)| format!(r#"{{"name": "{name}", "unit": "{unit}"}}"#))
        .collect();
    let tags: Vec<String> = TAGS
        .iter()
        .map(|(key, value)| format!(r#""{key}": "{value}""#))
        .collect();
    format!(
        r#"{{"series": [{}], "tags": {{{}}}, {extra}}}"#,
        series.join(", "),
        tags.join(", ")
    )
}

/// The descriptor of `library`, opened by the bench itself (its own copy,
/// never unloaded), so its functions can be called against any `HostApi`.
fn raw_descriptor(library: &Path) -> &'static PluginDescriptor {
    // SAFETY: the synthetic plugin of this very build; its initializers are
    // Rust's (none of note).
    let library = unsafe { libloading::Library::new(library) }.unwrap_or_else(|error| {
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        panic!("dlopen {}: {chain}", library.display())
    });
    // SAFETY: the ABI's entry symbol has the ABI's entry type.
    let entry = unsafe { library.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }
        .map(|symbol| *symbol)
        .expect("the entry symbol");
    // Never unloaded: the descriptor and functions must stay valid.
    std::mem::forget(library);
    // SAFETY: the entry returns a pointer to its static descriptor.
    let descriptor = unsafe { entry().as_ref() }.expect("a descriptor");
    assert_eq!(descriptor.abi_major, ABI_MAJOR, "the plugin's ABI");
    descriptor
}

/// Which `HostApi` the plugin is polled against.
#[derive(Debug, Clone, Copy)]
enum Against {
    /// [`NO_OP_HOST`]: the plugin's own cost.
    NoOpHost,
    /// The host's table, its channel drained after each poll (untimed) or
    /// during it.
    RealHost(Drain),
}

/// The best of [`RUNS`] times of [`POLLS`] polls of a fresh instance.
fn best_poll_time(descriptor: &PluginDescriptor, config: &str, host: Against) -> Duration {
    (0..RUNS)
        .map(|_| match host {
            Against::NoOpHost => time_polls(descriptor, config, &NO_OP_HOST, |_| {}),
            Against::RealHost(drain) => {
                let (sender, receiver) = mpsc::channel(DEFAULT_CHANNEL_CAPACITY);
                let host = BenchHostApi::open("bench", sender);
                let consumer = Consumer::spawn(receiver, drain);
                let per_poll = (PER_POLL * SENSORS.len()) as u64;
                let elapsed = time_polls(descriptor, config, host.api, |polls| {
                    consumer.wait_for(polls * per_poll);
                });
                host.retire();
                let counters = host.counters();
                assert_eq!(counters.rejected_total(), 0, "the host rejected readings");
                assert_eq!(counters.dropped_full, 0, "the channel was drained");
                assert_eq!(consumer.join(), counters.emitted, "readings went missing");
                elapsed
            }
        })
        .min()
        .expect("at least one run")
}

/// Creates an instance against `host`, times [`POLLS`] polls (not what
/// `after` does with the count of polls so far after each), destroys it.
fn time_polls(
    descriptor: &PluginDescriptor,
    config: &str,
    host: &HostApi,
    mut after: impl FnMut(u64),
) -> Duration {
    let (create, poll, destroy) = match (descriptor.create, descriptor.poll, descriptor.destroy) {
        (Some(create), Some(poll), Some(destroy)) => (create, poll, destroy),
        _ => panic!("the synthetic plugin lacks create, poll or destroy"),
    };
    // The ABI promises a NUL after the config.
    let config_nul = [config.as_bytes(), b"\0"].concat();
    let mut message = vec![0u8; 1024];
    let mut err = ErrorBuf {
        buf: message.as_mut_ptr(),
        capacity: message.len(),
        len: 0,
    };
    let mut instance: *mut c_void = ptr::null_mut();
    // SAFETY: the ABI's create, with a table valid for the process's life.
    let status = unsafe {
        create(
            host,
            config_nul.as_ptr(),
            config.len(),
            &mut instance,
            &mut err,
        )
    };
    let text = |err: &ErrorBuf| String::from_utf8_lossy(&message[..err.len]).into_owned();
    assert_eq!(status, STATUS_OK, "create: {}", text(&err));
    let mut timed = Duration::ZERO;
    for polls in 1..=POLLS as u64 {
        let start = Instant::now();
        // SAFETY: the instance `create` made, called from one thread.
        let status = unsafe { poll(instance, &mut err) };
        timed += start.elapsed();
        assert_eq!(status, STATUS_OK, "poll: {}", text(&err));
        after(polls);
    }
    // SAFETY: once, and the instance is not used again.
    unsafe { destroy(instance) };
    timed
}

/// A `HostApi` that takes every reading and does nothing with it: the
/// plugin's own cost per reading.
static NO_OP_HOST: HostApi = HostApi {
    size: std::mem::size_of::<HostApi>() as u32,
    abi_major: ABI_MAJOR,
    abi_minor: ABI_MINOR,
    ctx: ptr::null_mut(),
    emit: no_op_emit,
    log: no_op_log,
    now_ns: no_op_now_ns,
};

unsafe extern "C" fn no_op_emit(_: *mut c_void, _: *const abi::Reading, _: usize) -> Status {
    STATUS_OK
}

unsafe extern "C" fn no_op_log(_: *mut c_void, _: i32, _: *const u8, _: usize) {}

unsafe extern "C" fn no_op_now_ns(_: *mut c_void) -> i64 {
    // 2026-01-01T00:00:00Z: a sane time, never read on the hot path.
    1_767_225_600_000_000_000
}

/// Part 3: one instance through the real loader and runtime.
fn push_throughput(library: &Path, scratch: &Path) {
    println!("3. readings/s one plugin instance pushes: the synthetic plugin, loaded, pinned,");
    println!("   run by PluginHost push-style, unthrottled (push_rate 1e9; emits of up to 512),");
    println!(
        "   channel of {DEFAULT_CHANNEL_CAPACITY}; a consumer thread: recv 1 + try_recv up to a batch, for {} s each",
        PUSH_WINDOW.as_secs()
    );
    // `inspect` hashes without the unpinned warning; loading by that pin
    // is the agent's own path.
    let sha256 = inspect(library).expect("inspect the plugin").sha256;
    let loaded = load(&LoadRequest {
        path: library.to_path_buf(),
        pin: Pin::Sha256(sha256),
    })
    .expect("load the plugin");
    let spec = InstanceSpec {
        name: "synthetic".into(),
        api: loaded.api,
        config_json: synthetic_config(r#""push_rate": 1e9"#),
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
        max_backoff: Duration::from_secs(60),
    };
    println!(
        "   {:<37} {:>11} {:>14} {:>18} {:>9} {:>7}",
        "consumer", "consumed/s", "into channel/s", "dropped_full", "per batch", "evicted"
    );
    for (label, max_batch, into_queue) in [
        ("append to the queue, batches <= 256", 256, true),
        ("append to the queue, batches <= 1024", 1024, true),
        ("drain only (no queue), batches <= 256", 256, false),
    ] {
        // A fresh queue each time, large enough that a few seconds at full
        // speed evict nothing (the default 32 MiB fills in ~3 s here).
        let dir = scratch.join(format!("queue-{max_batch}-{into_queue}"));
        let queue = Queue::open(
            &dir,
            Options {
                max_bytes: 1 << 30,
                ..Options::default()
            },
        )
        .expect("open the queue");
        let mut evicted = 0usize;
        let figures = if into_queue {
            run_instance(spec.clone(), max_batch, &mut |batch: &[Reading]| {
                evicted += queue.append(batch).expect("append").dropped;
            })
        } else {
            run_instance(spec.clone(), max_batch, &mut |_: &[Reading]| {})
        };
        let per_second = |n: u64| n as f64 / figures.elapsed.as_secs_f64();
        let dropped = figures.counters.dropped_full;
        let offered = figures.counters.emitted + dropped;
        println!(
            "   {label:<37} {:>11.0} {:>14.0} {:>10} ({:>3.0}%) {:>9.0} {:>7}",
            per_second(figures.consumed),
            per_second(figures.counters.emitted),
            dropped,
            100.0 * dropped as f64 / offered.max(1) as f64,
            figures.consumed as f64 / figures.batches.max(1) as f64,
            if into_queue {
                evicted.to_string()
            } else {
                "-".into()
            },
        );
    }
    println!("   (the plugin offers far more than any consumer takes: the drops are its excess;");
    println!("   sync = \"batch\" flushes once per append: if the two queue rows take the same");
    println!("   rate, the queue's per-reading cost, not the flush, is the limit)");
}

/// What one window of part 3 measured. Counters are the window's deltas.
struct PushFigures {
    elapsed: Duration,
    consumed: u64,
    batches: u64,
    counters: CounterSnapshot,
}

/// Runs `spec` in a fresh `PluginHost` and hands what it emits to
/// `consume` in batches of up to `max_batch` for [`PUSH_WINDOW`].
fn run_instance(
    spec: InstanceSpec,
    max_batch: usize,
    consume: &mut (dyn FnMut(&[Reading]) + Send),
) -> PushFigures {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let (host, mut receiver) = {
        let _entered = runtime.enter();
        PluginHost::start(vec![spec], DEFAULT_CHANNEL_CAPACITY)
    };
    runtime.block_on(host.first_polls_done());
    let counters = || host.status()[0].counters.clone();
    let (figures, before) = std::thread::scope(|scope| {
        let consumer = scope.spawn(|| {
            let before = counters();
            let start = Instant::now();
            let (mut consumed, mut batches) = (0u64, 0u64);
            let mut batch: Vec<Reading> = Vec::with_capacity(max_batch);
            while start.elapsed() < PUSH_WINDOW {
                let Some(first) = receiver.blocking_recv() else {
                    break;
                };
                batch.push(first.reading);
                while batch.len() < max_batch {
                    match receiver.try_recv() {
                        Ok(next) => batch.push(next.reading),
                        Err(_) => break,
                    }
                }
                consume(&batch);
                consumed += batch.len() as u64;
                batches += 1;
                batch.clear();
            }
            let figures = PushFigures {
                elapsed: start.elapsed(),
                consumed,
                batches,
                counters: counters(),
            };
            (figures, before)
        });
        consumer.join().expect("the consumer thread")
    });
    let status = runtime.block_on(host.shutdown());
    assert!(
        status[0].pushing,
        "the instance did not push: {:?}",
        status[0].state
    );
    let after = figures.counters;
    PushFigures {
        counters: CounterSnapshot {
            emitted: after.emitted - before.emitted,
            dropped_full: after.dropped_full - before.dropped_full,
            ..after
        },
        ..figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_is_found_next_to_the_executable_or_in_deps() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("edge-bench");
        let missing = find_library(&exe).unwrap_err();
        assert!(missing.contains(LIBRARY), "{missing}");
        assert!(missing.contains("deps"), "{missing}");

        std::fs::create_dir(dir.path().join("deps")).unwrap();
        std::fs::write(dir.path().join("deps").join(LIBRARY), b"").unwrap();
        assert_eq!(
            find_library(&exe).unwrap(),
            dir.path().join("deps").join(LIBRARY)
        );
        std::fs::write(dir.path().join(LIBRARY), b"").unwrap();
        assert_eq!(find_library(&exe).unwrap(), dir.path().join(LIBRARY));
    }

    #[test]
    fn the_filesystem_is_the_longest_mount_point_containing_the_path() {
        let mounts = "/dev/sda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n\
                      tmpfs /tmpx tmpfs rw 0 0\n/dev/sdb1 /tmp/disk xfs rw 0 0\n";
        let fs = |path: &str| filesystem_of(mounts, Path::new(path));
        assert_eq!(fs("/tmp/abc").as_deref(), Some("tmpfs"));
        assert_eq!(fs("/tmp/disk/q").as_deref(), Some("xfs"));
        assert_eq!(fs("/tmpfoo/q").as_deref(), Some("ext4"));
        assert_eq!(fs("/home/q").as_deref(), Some("ext4"));
    }

    #[test]
    fn the_synthetic_config_is_json_the_plugin_accepts() {
        let config = synthetic_config(r#""per_poll": 3"#);
        let parsed = edge_plugin_synthetic::config::Config::from_json(&config).unwrap();
        assert_eq!(parsed.series.len(), SENSORS.len());
        assert_eq!(parsed.per_poll, 3);
        assert_eq!(parsed.tags.len(), TAGS.len());
    }

    #[test]
    fn prebuilt_readings_pass_the_hosts_validation() {
        let parts = ReadingParts::new();
        for payloads in [false, true] {
            for raw in parts.readings(7, payloads) {
                // SAFETY: `parts` outlives the readings.
                let checked = unsafe { edge_agent::plugin_host::validate(&raw, "bench", 1) };
                assert!(checked.is_ok(), "{checked:?}");
            }
        }
    }
}
