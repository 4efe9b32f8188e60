//! The plugin host with the real Rust plugins: the fixture
//! (`tests/fixtures/plugin-fixture`), `synthetic` and `sysfs`, as the `.so`
//! files cargo builds next to this test binary, installed into a temporary
//! directory, loaded by the real loader pinned by their SHA-256, and run by
//! the real runtime ([`PluginHost`]).
//!
//! What a panic costs: contained by the SDK's shims and reported (counted in
//! the instance's status, its message logged by the supervisor), while the
//! other instances and the process go on; and, in a child process, what the
//! same panic does without the SDK (the process aborts).
//!
//! Intervals are tens of ms and every wait has a deadline of seconds, so the
//! tests hold on a loaded machine; nothing asserts how fast anything is.

// The helpers below are test code too (clippy only exempts `#[test]` bodies).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::mem::size_of;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use edge_agent::plugin_host::{
    self, load_configured, sha256_hex, InstanceSpec, InstanceState, InstanceStatus, LoadError,
    LoadRequest, Pin, PluginApi, PluginHost, PluginReading, OLDEST_TIMESTAMP_NS,
};
use edge_agent::reading::Value;
use edge_agent_sdk::abi;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::{sleep, timeout, Instant};

use crate::support::{installed_plugin, plugin_library};

/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

const FIXTURE: &str = "edge_plugin_fixture";
const SYNTHETIC: &str = "edge_plugin_synthetic";
const SYSFS: &str = "edge_plugin_sysfs";

/// libloading 0.9 keeps dlerror's reason in `source()`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// The installed plugin `(path, sha256)` loaded by the real loader, pinned.
/// Each call is its own copy of the library, as each `[[plugins]]` entry is.
fn load_pinned((path, sha256): &(PathBuf, [u8; 32])) -> PluginApi {
    let request = LoadRequest {
        path: path.clone(),
        pin: Pin::Sha256(*sha256),
    };
    match plugin_host::load(&request) {
        Ok(loaded) => loaded.api,
        Err(e) => panic!("{}", error_chain(&e)),
    }
}

/// `crate_name`'s plugin, installed in a fresh directory and loaded pinned.
fn load_plugin(crate_name: &str) -> PluginApi {
    let dir = tempfile::tempdir().unwrap();
    // Once loaded, the file may go: what runs is the loader's sealed copy.
    load_pinned(&installed_plugin(dir.path(), crate_name))
}

fn spec(name: &str, api: &PluginApi, config_json: &str) -> InstanceSpec {
    InstanceSpec {
        name: name.to_owned(),
        api: api.clone(),
        config_json: config_json.to_owned(),
        interval: Duration::from_millis(20),
        // Far beyond any call of these plugins, even on a loaded machine: a
        // test here must never wedge an instance by accident.
        timeout: Duration::from_secs(10),
        max_backoff: Duration::from_millis(100),
    }
}

fn status_of(statuses: &[InstanceStatus], name: &str) -> InstanceStatus {
    statuses
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no instance {name} in {statuses:#?}"))
        .clone()
}

/// Waits until `done` holds for the status of `name`, and returns it.
async fn wait_for(
    host: &PluginHost,
    name: &str,
    what: &str,
    done: impl Fn(&InstanceStatus) -> bool,
) -> InstanceStatus {
    let start = Instant::now();
    loop {
        let status = status_of(&host.status(), name);
        if done(&status) {
            return status;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{name}: still not {what} after {PATIENCE:?}: {status:#?}"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

async fn recv(rx: &mut mpsc::Receiver<PluginReading>) -> PluginReading {
    timeout(PATIENCE, rx.recv())
        .await
        .expect("no reading within the deadline")
        .expect("the channel closed")
}

/// The next reading from instance `source`, skipping others.
async fn recv_from(rx: &mut mpsc::Receiver<PluginReading>, source: &str) -> PluginReading {
    loop {
        let reading = recv(rx).await;
        if reading.reading.source == source {
            return reading;
        }
    }
}

/// What is left in the channel after a shutdown. The channel must have
/// ended: nothing can be sent into it any more.
fn drain_after_shutdown(rx: &mut mpsc::Receiver<PluginReading>) -> Vec<PluginReading> {
    let mut rest = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(reading) => rest.push(reading),
            Err(TryRecvError::Disconnected) => return rest,
            Err(TryRecvError::Empty) => {
                panic!("the channel is still open after shutdown returned")
            }
        }
    }
}

fn integer(reading: &PluginReading) -> i64 {
    match reading.reading.value {
        Value::I64(v) => v,
        ref other => panic!("expected an integer, got {other:?} in {reading:?}"),
    }
}

fn number(reading: &PluginReading) -> f64 {
    match reading.reading.value {
        Value::F64(v) => v,
        ref other => panic!("expected a number, got {other:?} in {reading:?}"),
    }
}

/// A `Write` into a shared buffer, for the tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the plugin host logs in this process, from now on. Global,
/// not a thread's default: the host logs from its supervisor tasks (any
/// tokio worker) and from the instances' own threads (a plugin's `log`).
/// Tests tell their lines apart by their instance names, unique per test.
fn host_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "edge_agent::plugin_host=debug",
            ))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("something else set the global tracing subscriber");
        captured
    })
}

/// Waits for a line of the host's log that contains `text` and names
/// `instance` in a field (`instance=` or, from the loader, `plugin=`), and
/// returns it.
async fn wait_for_log(instance: &str, text: &str) -> String {
    // `%name` fields print bare, `&str` ones quoted.
    let names_it = |line: &str| {
        line.split_whitespace().any(|word| {
            word.split_once('=')
                .is_some_and(|(_, value)| value.trim_matches('"') == instance)
        })
    };
    let start = Instant::now();
    loop {
        let log = String::from_utf8_lossy(&host_log().0.lock().unwrap()).into_owned();
        if let Some(line) = log.lines().find(|l| l.contains(text) && names_it(l)) {
            return line.to_owned();
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no log line about {instance} containing {text:?} after {PATIENCE:?}; the host's log:\n{log}"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------
// Panics, contained.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_plugin_panicking_in_poll_is_contained_reported_and_backs_off_while_another_instance_goes_on(
) {
    host_log();
    let dir = tempfile::tempdir().unwrap();
    let installed = installed_plugin(dir.path(), FIXTURE);
    // Two loads of one file, as two `[[plugins]]` entries make.
    let (panicking, steady) = (load_pinned(&installed), load_pinned(&installed));
    let (host, mut rx) = PluginHost::start(
        vec![
            spec("panics-in-poll", &panicking, r#"{"mode":"panic_in_poll"}"#),
            spec("steady-beside-panics", &steady, r#"{"mode":"good"}"#),
        ],
        1024,
    );

    let panicked = wait_for(
        &host,
        "panics-in-poll",
        "backing off after 3 failures",
        |s| matches!(s.state, InstanceState::BackingOff { failures, .. } if failures >= 3),
    )
    .await;
    assert!(panicked.counters.panics >= 3, "{panicked:#?}");
    assert_eq!(panicked.counters.errors, 0, "a panic is not an error");
    assert_eq!(panicked.counters.deadlines_missed, 0, "{panicked:#?}");
    assert_eq!(panicked.counters.emitted, 0, "{panicked:#?}");
    assert!(panicked.polling, "still polled: {panicked:#?}");
    // The message is reported in the log, by the supervisor, with the call.
    let line = wait_for_log(
        "panics-in-poll",
        "the plugin panicked: fixture: panic in poll",
    )
    .await;
    assert!(
        line.contains("WARN") && line.contains("call=poll"),
        "{line}"
    );

    // The other instance delivers readings it emitted after those panics
    // (its counter counts from 0, one per reading, none dropped).
    let before = status_of(&host.status(), "steady-beside-panics")
        .counters
        .emitted;
    loop {
        let reading = recv_from(&mut rx, "steady-beside-panics").await;
        if integer(&reading) >= i64::try_from(before).unwrap() {
            break;
        }
    }

    // Still polled after backing off: neither wedged nor disabled.
    let later = wait_for(&host, "panics-in-poll", "panicking again", |s| {
        s.counters.panics > panicked.counters.panics
    })
    .await;
    assert!(
        matches!(later.state, InstanceState::BackingOff { .. }),
        "{later:#?}"
    );

    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    for name in ["panics-in-poll", "steady-beside-panics"] {
        assert_eq!(status_of(&finals, name).state, InstanceState::Stopped);
    }
    let steady = status_of(&finals, "steady-beside-panics");
    assert_eq!(
        (steady.counters.panics, steady.counters.errors),
        (0, 0),
        "{steady:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_plugin_panicking_in_create_is_retried_with_backoff_never_disabled() {
    host_log();
    let fixture = load_plugin(FIXTURE);
    let (host, mut rx) = PluginHost::start(
        vec![spec(
            "panics-in-create",
            &fixture,
            r#"{"mode":"panic_in_create"}"#,
        )],
        16,
    );

    let status = wait_for(&host, "panics-in-create", "created 3 times", |s| {
        s.counters.creates >= 3
    })
    .await;
    assert!(status.counters.panics >= 2, "{status:#?}");
    assert_eq!(status.counters.polls, 0, "never created, never polled");
    assert!(
        matches!(
            status.state,
            InstanceState::BackingOff { .. } | InstanceState::Starting
        ),
        "retried, neither disabled nor wedged: {status:#?}"
    );
    let line = wait_for_log(
        "panics-in-create",
        "the plugin panicked: fixture: panic in create",
    )
    .await;
    assert!(line.contains("call=create"), "{line}");

    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    assert_eq!(
        status_of(&finals, "panics-in-create").state,
        InstanceState::Stopped
    );
    assert!(drain_after_shutdown(&mut rx).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_plugin_panicking_in_drop_is_destroyed_and_shutdown_completes() {
    host_log();
    let fixture = load_plugin(FIXTURE);
    let (host, mut rx) = PluginHost::start(
        vec![spec(
            "panics-in-drop",
            &fixture,
            r#"{"mode":"panic_in_drop"}"#,
        )],
        1024,
    );
    let reading = recv_from(&mut rx, "panics-in-drop").await;
    assert_eq!(reading.reading.name, "fixture/counter");

    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    let status = status_of(&finals, "panics-in-drop");
    assert_eq!(status.state, InstanceState::Stopped, "{status:#?}");
    assert_eq!(status.counters.deadlines_missed, 0, "{status:#?}");
    // `destroy` returns nothing: the SDK logs the panic through the host.
    let line = wait_for_log("panics-in-drop", "destroy panicked: fixture: panic in drop").await;
    assert!(line.contains("ERROR"), "{line}");
    drain_after_shutdown(&mut rx);

    // The library goes on working for a new instance.
    let (host, mut rx) = PluginHost::start(
        vec![spec("after-drop-panic", &fixture, r#"{"mode":"good"}"#)],
        1024,
    );
    let reading = recv_from(&mut rx, "after-drop-panic").await;
    assert_eq!(integer(&reading), 0);
    host.shutdown().await;
}

// ---------------------------------------------------------------------------
// A raw panic out of `extern "C"`, in a child process.

/// Set in the child processes: `raw` calls `fixture_raw_panic`, `sdk` runs
/// the SDK's shim as the test does in-process.
const CHILD_ENV: &str = "PLUGIN_HOST_TEST_CHILD";
/// The child's test, as the harness names it.
const CHILD_TEST: &str =
    "plugin_host::the_sdk_shim_turns_a_panic_in_poll_into_status_panicked_with_its_message";
/// What the child prints once the SDK's `poll` has returned.
const SDK_MARKER: &str = "sdk child: poll returned";

/// The fixture library's symbol `name`, through libloading directly: the
/// child calls into it without the host. The library is never unloaded.
fn fixture_symbol<T: Copy>(name: &[u8]) -> T {
    // SAFETY: our own fixture; its initialisers do nothing, and `T` is the
    // symbol's type by the caller's choice of `name`.
    unsafe {
        let library = libloading::Library::new(plugin_library(FIXTURE))
            .unwrap_or_else(|e| panic!("{}", error_chain(&e)));
        let symbol = *library
            .get::<T>(name)
            .unwrap_or_else(|e| panic!("{}", error_chain(&e)));
        std::mem::forget(library);
        symbol
    }
}

unsafe extern "C" fn accept_emit(
    _ctx: *mut c_void,
    _readings: *const abi::Reading,
    _count: usize,
) -> abi::Status {
    abi::STATUS_OK
}

unsafe extern "C" fn ignore_log(_ctx: *mut c_void, _level: i32, _msg: *const u8, _len: usize) {}

unsafe extern "C" fn no_clock(_ctx: *mut c_void) -> i64 {
    0
}

/// A host table for calling a plugin without the agent's host.
static BARE_HOST: abi::HostApi = abi::HostApi {
    size: size_of::<abi::HostApi>() as u32,
    abi_major: abi::ABI_MAJOR,
    abi_minor: abi::ABI_MINOR,
    ctx: std::ptr::null_mut(),
    emit: accept_emit,
    log: ignore_log,
    now_ns: no_clock,
};

/// Creates a fixture instance in `panic_in_poll` mode through its
/// descriptor (the functions `export_plugin!` made), polls it once and
/// destroys it: the poll's status and message.
fn poll_a_panicking_fixture_through_its_descriptor() -> (abi::Status, String) {
    let entry: abi::EntryFn = fixture_symbol(abi::ENTRY_SYMBOL);
    // SAFETY: the entry returns the library's static descriptor, which
    // stays valid (the library is never unloaded).
    let descriptor = unsafe { &*entry() };
    let (create, poll, destroy) = (
        descriptor.create.unwrap(),
        descriptor.poll.unwrap(),
        descriptor.destroy.unwrap(),
    );
    let config = b"{\"mode\":\"panic_in_poll\"}\0";
    let mut message = [0u8; 256];
    let mut err = abi::ErrorBuf {
        buf: message.as_mut_ptr(),
        capacity: message.len(),
        len: 0,
    };
    let mut instance: *mut c_void = std::ptr::null_mut();
    // SAFETY: the ABI's contract: a host table for the process's life, the
    // config followed by a NUL, an error buffer of `capacity` bytes, and
    // `instance` only as `create` returned it.
    unsafe {
        let created = create(
            &BARE_HOST,
            config.as_ptr(),
            config.len() - 1,
            &mut instance,
            &mut err,
        );
        assert_eq!(created, abi::STATUS_OK, "create failed");
        let status = poll(instance, &mut err);
        let text = String::from_utf8_lossy(std::slice::from_raw_parts(err.buf, err.len));
        let text = text.into_owned();
        destroy(instance);
        (status, text)
    }
}

/// Run normally, this process survives a plugin's panic because the SDK
/// caught it. In the `raw` child, it calls the fixture's unprotected
/// `extern "C"` function instead, which must abort the process.
#[test]
fn the_sdk_shim_turns_a_panic_in_poll_into_status_panicked_with_its_message() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("raw") {
        let raw_panic: unsafe extern "C" fn() = fixture_symbol(b"fixture_raw_panic\0");
        // SAFETY: takes nothing, returns nothing; it panics, which is the point.
        unsafe { raw_panic() };
        panic!("fixture_raw_panic returned: the process should have aborted");
    }
    let (status, message) = poll_a_panicking_fixture_through_its_descriptor();
    assert_eq!(status, abi::STATUS_PANICKED, "{message}");
    assert_eq!(message, "fixture: panic in poll");
    println!("{SDK_MARKER} {status}: {message}");
}

fn run_child(role: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_raw_panic_out_of_extern_c_aborts_the_process_and_the_sdk_macro_prevents_it() {
    let raw = run_child("raw");
    let stderr = String::from_utf8_lossy(&raw.stderr);
    assert_eq!(
        raw.status.signal(),
        Some(nix::sys::signal::Signal::SIGABRT as i32),
        "the raw child did not die of SIGABRT ({:?}):\n{stderr}",
        raw.status
    );
    assert!(
        stderr.contains("fixture: a raw panic escaping extern \"C\"")
            && stderr.contains("panic in a function that cannot unwind"),
        "{stderr}"
    );

    let sdk = run_child("sdk");
    let stdout = String::from_utf8_lossy(&sdk.stdout);
    let stderr = String::from_utf8_lossy(&sdk.stderr);
    assert!(
        sdk.status.success(),
        "the SDK child failed ({:?}):\n{stdout}\n{stderr}",
        sdk.status
    );
    assert!(
        stdout.contains(&format!(
            "{SDK_MARKER} {}: fixture: panic in poll",
            abi::STATUS_PANICKED
        )) && stdout.contains("1 passed"),
        "{stdout}"
    );
    // The panic did happen (Rust's hook printed it), and was caught.
    assert!(stderr.contains("fixture: panic in poll"), "{stderr}");
}

// ---------------------------------------------------------------------------
// The real plugins through the real loader and runtime.

/// Receives until every one of `sources` has sent at least `count`
/// readings; returns each one's readings in the order they arrived.
async fn collect_from(
    rx: &mut mpsc::Receiver<PluginReading>,
    sources: &[&str],
    count: usize,
) -> BTreeMap<String, Vec<PluginReading>> {
    let mut by_source: BTreeMap<String, Vec<PluginReading>> = sources
        .iter()
        .map(|source| (source.to_string(), Vec::new()))
        .collect();
    while by_source.values().any(|readings| readings.len() < count) {
        let reading = recv(rx).await;
        let readings = by_source
            .get_mut(&reading.reading.source)
            .unwrap_or_else(|| panic!("a reading from an unknown instance: {reading:?}"));
        readings.push(reading);
    }
    by_source
}

/// The five series of [`SYNTHETIC_SERIES`], in the order of a round.
const SERIES_NAMES: [&str; 5] = ["saw", "count", "square", "sine", "walk"];
/// `synthetic`'s config with every pattern; `SEED` is replaced.
const SYNTHETIC_SERIES: &str = r#"{
    "seed": SEED, "timestamps": "synthetic",
    "start_ns": 1767225600000000000, "step_ns": 250000000,
    "tags": {"site": "lab"},
    "series": [
        {"name": "saw", "unit": "V", "pattern": "sawtooth", "period": 4, "amplitude": 2, "offset": 10},
        {"name": "count", "pattern": "counter", "offset": 100},
        {"name": "square", "pattern": "square", "period": 4, "amplitude": 1, "offset": 0},
        {"name": "sine", "unit": "Cel", "pattern": "sine", "period": 8, "amplitude": 5, "offset": 20},
        {"name": "walk", "pattern": "random-walk", "period": 10, "amplitude": 3, "offset": 50}
    ]}"#;
/// Rounds checked per instance.
const ROUNDS: usize = 12;

/// The walk's values, round by round.
fn walk_of(readings: &[PluginReading]) -> Vec<f64> {
    readings
        .chunks(SERIES_NAMES.len())
        .map(|round| number(&round[4]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_emits_the_values_its_doc_promises_and_the_same_sequence_for_the_same_seed() {
    let synthetic = load_plugin(SYNTHETIC);
    let config = |seed: u64| SYNTHETIC_SERIES.replace("SEED", &seed.to_string());
    let (host, mut rx) = PluginHost::start(
        vec![
            spec("synth-seed7", &synthetic, &config(7)),
            spec("synth-seed7-again", &synthetic, &config(7)),
            spec("synth-seed8", &synthetic, &config(8)),
        ],
        4096,
    );
    let sources = ["synth-seed7", "synth-seed7-again", "synth-seed8"];
    let all = collect_from(&mut rx, &sources, ROUNDS * SERIES_NAMES.len()).await;
    host.shutdown().await;

    let tags = BTreeMap::from([("site".to_string(), "lab".to_string())]);
    for (source, readings) in &all {
        for (i, round) in readings.chunks(SERIES_NAMES.len()).take(ROUNDS).enumerate() {
            let names: Vec<&str> = round.iter().map(|r| r.reading.name.as_str()).collect();
            assert_eq!(names, SERIES_NAMES, "{source}, round {i}");
            // From the crate doc: sample i is stamped start_ns + i·step_ns.
            let stamp = 1_767_225_600_000_000_000 + i as i64 * 250_000_000;
            for reading in round {
                assert_eq!(reading.reading.source, *source);
                assert_eq!(reading.reading.timestamp_ns, stamp, "{reading:?}");
                assert_eq!(reading.reading.tags, tags, "{reading:?}");
                assert!(!reading.urgent, "{reading:?}");
            }
            let units: Vec<Option<&str>> =
                round.iter().map(|r| r.reading.unit.as_deref()).collect();
            assert_eq!(units, [Some("V"), None, None, Some("Cel"), None]);

            // The pattern formulas of the doc, with i the sample index.
            let phase = (i % 4) as f64 / 4.0;
            assert_eq!(
                number(&round[0]),
                10.0 - 2.0 + 2.0 * 2.0 * phase,
                "sawtooth {i}"
            );
            assert_eq!(integer(&round[1]), 100 + i as i64, "counter {i}");
            let square = if i % 4 < 2 { 1.0 } else { -1.0 };
            assert_eq!(number(&round[2]), square, "square {i}");
            let sine = 20.0 + 5.0 * (2.0 * std::f64::consts::PI * i as f64 / 8.0).sin();
            assert!(
                (number(&round[3]) - sine).abs() < 1e-9,
                "sine {i}: {round:?}"
            );
        }
        // The random walk: starts at the offset, stays within offset ±
        // amplitude, steps at most 2·amplitude/period.
        let walk = walk_of(&readings[..ROUNDS * SERIES_NAMES.len()]);
        assert_eq!(walk[0], 50.0, "{source}");
        assert!(walk.iter().all(|v| (47.0..=53.0).contains(v)), "{walk:?}");
        assert!(
            walk.windows(2).all(|w| (w[1] - w[0]).abs() <= 0.6 + 1e-9),
            "{walk:?}"
        );
        assert!(walk.windows(2).any(|w| w[1] != w[0]), "it moves: {walk:?}");
    }
    let first = |source: &str| {
        all[source][..ROUNDS * SERIES_NAMES.len()]
            .iter()
            .map(|r| (r.reading.name.clone(), r.reading.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        first("synth-seed7"),
        first("synth-seed7-again"),
        "one seed, one sequence"
    );
    assert_ne!(
        walk_of(&all["synth-seed7"][..ROUNDS * SERIES_NAMES.len()]),
        walk_of(&all["synth-seed8"][..ROUNDS * SERIES_NAMES.len()]),
        "another seed, another walk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_pushes_between_start_and_shutdown_and_nothing_after() {
    let synthetic = load_plugin(SYNTHETIC);
    let config = r#"{"push_rate": 500, "series": [{"name": "pushed", "pattern": "counter"}]}"#;
    let (host, mut rx) = PluginHost::start(vec![spec("synth-push", &synthetic, config)], 65_536);
    let mut received = Vec::new();
    while received.len() < 20 {
        received.push(recv_from(&mut rx, "synth-push").await);
    }
    let status = wait_for(&host, "synth-push", "push-only", |s| {
        s.pushing && !s.polling
    })
    .await;
    assert_eq!(status.state, InstanceState::Running, "{status:#?}");

    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    // Whatever was emitted before shutdown returned is still in the
    // channel, which has ended: nothing more can come.
    received.extend(drain_after_shutdown(&mut rx));
    let status = status_of(&finals, "synth-push");
    assert_eq!(status.state, InstanceState::Stopped);
    assert_eq!(
        status.counters.emitted,
        received.len() as u64,
        "{status:#?}"
    );
    // `stop` joined the push thread: no emit came after it.
    assert_eq!(status.counters.after_stop, 0, "{status:#?}");
    assert_eq!(status.counters.dropped_full, 0, "{status:#?}");
    let values: Vec<i64> = received.iter().map(integer).collect();
    let expected: Vec<i64> = (0..received.len() as i64).collect();
    assert_eq!(values, expected, "one counter, no gaps");
    assert!(
        received
            .iter()
            .all(|r| r.reading.source == "synth-push"
                && r.reading.timestamp_ns >= OLDEST_TIMESTAMP_NS)
    );
}

/// A fake `/` with what a gateway has: a thermal zone, a battery and a
/// mains supply, and `/proc`'s load average and memory.
fn fake_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let files = [
        ("sys/class/thermal/thermal_zone0/temp", "42500\n"),
        ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"),
        ("sys/class/thermal/cooling_device0/type", "Processor\n"),
        ("sys/class/power_supply/BAT0/type", "Battery\n"),
        ("sys/class/power_supply/BAT0/capacity", "87\n"),
        ("sys/class/power_supply/BAT0/voltage_now", "3852000\n"),
        ("sys/class/power_supply/BAT0/current_now", "-250000\n"),
        ("sys/class/power_supply/BAT0/status", "Discharging\n"),
        ("sys/class/power_supply/AC/type", "Mains\n"),
        ("sys/class/power_supply/AC/online", "1\n"),
        ("proc/loadavg", "0.52 0.58 0.59 1/123 4567\n"),
        (
            "proc/meminfo",
            "MemTotal:        2048000 kB\nMemFree:          100000 kB\n\
             MemAvailable:    1024000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
        ),
    ];
    for (relative, content) in files {
        let path = root.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysfs_over_a_fake_tree_yields_the_documented_names_units_and_converted_values() {
    let root = fake_root();
    let sysfs = load_plugin(SYSFS);
    let config = serde_json::json!({ "root": root.path() }).to_string();
    let (host, mut rx) = PluginHost::start(vec![spec("sysfs-fake", &sysfs, &config)], 1024);

    let tag = |kind: &str| BTreeMap::from([("type".to_string(), kind.to_string())]);
    let none = BTreeMap::new;
    let expected = BTreeMap::from([
        (
            "thermal/thermal_zone0/temp",
            (Some("Cel"), Value::F64(42.5), tag("cpu-thermal")),
        ),
        (
            "power_supply/BAT0/capacity",
            (Some("%"), Value::I64(87), tag("Battery")),
        ),
        (
            "power_supply/BAT0/voltage_now",
            (Some("V"), Value::F64(3.852), tag("Battery")),
        ),
        (
            "power_supply/BAT0/current_now",
            (Some("A"), Value::F64(-0.25), tag("Battery")),
        ),
        (
            "power_supply/BAT0/status",
            (None, Value::Str("Discharging".into()), tag("Battery")),
        ),
        (
            "power_supply/AC/online",
            (None, Value::Bool(true), tag("Mains")),
        ),
        ("loadavg/1m", (None, Value::F64(0.52), none())),
        ("loadavg/5m", (None, Value::F64(0.58), none())),
        ("loadavg/15m", (None, Value::F64(0.59), none())),
        (
            "memory/total",
            (Some("By"), Value::I64(2_048_000 * 1024), none()),
        ),
        (
            "memory/available",
            (Some("By"), Value::I64(1_024_000 * 1024), none()),
        ),
        ("memory/swap_free", (Some("By"), Value::I64(0), none())),
    ]);
    // The first poll's readings: one emit, in order in the channel.
    let mut first_poll = BTreeMap::new();
    for _ in 0..expected.len() {
        let reading = recv_from(&mut rx, "sysfs-fake").await.reading;
        assert!(reading.timestamp_ns >= OLDEST_TIMESTAMP_NS, "{reading:?}");
        let previous = first_poll.insert(
            reading.name.clone(),
            (
                reading.unit.clone(),
                reading.value.clone(),
                reading.tags.clone(),
            ),
        );
        assert!(previous.is_none(), "{} twice in one poll", reading.name);
    }
    host.shutdown().await;
    let expected: BTreeMap<String, _> = expected
        .into_iter()
        .map(|(name, (unit, value, tags))| {
            (name.to_string(), (unit.map(str::to_string), value, tags))
        })
        .collect();
    assert_eq!(first_poll, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysfs_on_this_machine_yields_at_least_load_average_and_memory() {
    let sysfs = load_plugin(SYSFS);
    let (host, mut rx) = PluginHost::start(vec![spec("sysfs-here", &sysfs, "{}")], 1024);
    host.first_polls_done().await;
    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    let readings: BTreeMap<String, Value> = drain_after_shutdown(&mut rx)
        .into_iter()
        .map(|r| (r.reading.name, r.reading.value))
        .collect();
    let status = status_of(&finals, "sysfs-here");
    assert_eq!(
        status.counters.errors + status.counters.panics,
        0,
        "{status:#?}"
    );
    assert_eq!(status.counters.rejected_total(), 0, "{status:#?}");
    for name in ["loadavg/1m", "loadavg/5m", "loadavg/15m"] {
        match readings.get(name) {
            Some(Value::F64(load)) => assert!(load.is_finite() && *load >= 0.0, "{name} = {load}"),
            other => panic!("{name}: {other:?} in {readings:#?}"),
        }
    }
    for name in ["memory/total", "memory/available"] {
        match readings.get(name) {
            Some(Value::I64(bytes)) => assert!(*bytes > 0, "{name} = {bytes}"),
            other => panic!("{name}: {other:?} in {readings:#?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// `[[plugins]]` to running instances, and a full channel.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_configured_returns_the_good_entry_as_a_spec_and_the_tampered_one_as_a_failure() {
    host_log();
    let dir = tempfile::tempdir().unwrap();
    let (path, sha256) = installed_plugin(dir.path(), SYNTHETIC);
    let mut wrong = sha256;
    wrong[31] ^= 0x01;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[modem]\nport = \"/dev/ttyUSB0\"\n\n\
             [[plugins]]\nname = \"tampered\"\npath = \"{path}\"\nsha256 = \"{wrong}\"\n\n\
             [[plugins]]\nname = \"good-synthetic\"\npath = \"{path}\"\nsha256 = \"{good}\"\n\
             interval = \"30s\"\ntimeout = \"10s\"\n\n\
             [plugins.config]\nseed = 3\n",
            path = path.display(),
            wrong = sha256_hex(&wrong),
            good = sha256_hex(&sha256),
        ),
    )
    .unwrap();
    let config =
        edge_agent::config::Config::load_with_env(&config, std::iter::empty::<(&str, &str)>())
            .unwrap_or_else(|e| panic!("{e}"))
            .config;

    let (specs, failures) = load_configured(&config.plugin_entries());

    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].name, "tampered");
    assert!(
        matches!(failures[0].error, LoadError::HashMismatch { .. }),
        "{:?}",
        failures[0].error
    );
    let message = failures[0].error.to_string();
    assert!(
        message.contains(&sha256_hex(&wrong)) && message.contains(&sha256_hex(&sha256)),
        "{message}"
    );
    wait_for_log("tampered", "plugin not loaded; running without it").await;

    assert_eq!(specs.len(), 1, "{specs:?}");
    let spec = &specs[0];
    assert_eq!(spec.name, "good-synthetic");
    assert_eq!(spec.api.name, "synthetic");
    assert_eq!(
        (spec.interval, spec.timeout),
        (Duration::from_secs(30), Duration::from_secs(10))
    );
    let plugin_config: serde_json::Value = serde_json::from_str(&spec.config_json).unwrap();
    assert_eq!(plugin_config, serde_json::json!({"seed": 3}));

    // And it runs: its first poll comes at once, however long the
    // interval (a deadline of 10 s: a loaded machine must not wedge it).
    let (host, mut rx) = PluginHost::start(specs, 64);
    let reading = recv_from(&mut rx, "good-synthetic").await;
    assert_eq!(reading.reading.name, "temperature");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_never_blocks_synthetic_and_every_reading_is_received_or_counted_dropped() {
    const PER_POLL: u64 = 1000;
    const CAPACITY: usize = 8;
    let synthetic = load_plugin(SYNTHETIC);
    let config =
        format!(r#"{{"per_poll": {PER_POLL}, "series": [{{"name": "n", "pattern": "counter"}}]}}"#);
    let (host, mut rx) =
        PluginHost::start(vec![spec("synth-flood", &synthetic, &config)], CAPACITY);
    // Nobody receives: from the first poll on the channel is full, and only
    // emits that never block let the polls go on.
    wait_for(&host, "synth-flood", "polled 4 times", |s| {
        s.counters.polls >= 4
    })
    .await;
    let finals = timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not complete");
    let received = drain_after_shutdown(&mut rx);
    let status = status_of(&finals, "synth-flood");

    assert_eq!(status.state, InstanceState::Stopped, "{status:#?}");
    assert_eq!(
        (status.counters.errors, status.counters.deadlines_missed),
        (0, 0),
        "{status:#?}"
    );
    // The first CAPACITY readings of the first poll, then only drops.
    let values: Vec<i64> = received.iter().map(integer).collect();
    assert_eq!(values, (0..CAPACITY as i64).collect::<Vec<_>>());
    assert_eq!(status.counters.emitted, CAPACITY as u64, "{status:#?}");
    assert!(status.counters.dropped_full > 0, "{status:#?}");
    // Each completed poll emitted PER_POLL readings (the plugin's doc):
    // each was received or counted.
    assert_eq!(
        received.len() as u64 + status.counters.dropped_full,
        status.counters.polls * PER_POLL,
        "{status:#?}"
    );
    assert_eq!(
        (status.counters.after_stop, status.counters.rejected_total()),
        (0, 0),
        "{status:#?}"
    );
}
