//! Tests of the runtime with real plugins: `fixtures/behaviours.c`, compiled
//! with the system C compiler at test time and loaded with libloading.
//!
//! Intervals are tens of ms and every wait has a deadline of seconds, so the
//! tests hold on a loaded machine; nothing asserts how fast anything is.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use edge_agent_sdk::abi::{EntryFn, ENTRY_SYMBOL, STATUS_REJECTED};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

use crate::plugin_host::{
    CommandError, InstanceSpec, InstanceState, InstanceStatus, PluginApi, PluginCall, PluginHost,
    PluginReading, Rejection, OLDEST_TIMESTAMP_NS,
};
use crate::reading::Value;

/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The fixture built twice: with every function, and poll-only (no start,
/// stop or command).
struct Fixtures {
    full: PluginApi,
    poll_only: PluginApi,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Result<Fixtures, String>> = OnceLock::new();
    match FIXTURES.get_or_init(build_fixtures) {
        Ok(fixtures) => fixtures,
        Err(why) => panic!("{why}"),
    }
}

fn build_fixtures() -> Result<Fixtures, String> {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/plugin_host/fixtures/behaviours.c"
    );
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    let build = |out: &Path, defines: &[&str]| -> Result<PluginApi, String> {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
        let result = Command::new(&cc)
            .args(["-shared", "-fPIC", "-pthread", "-Wall", "-Werror", "-I"])
            .arg(format!("{repo}/sdk/include"))
            .args(defines)
            .arg("-o")
            .arg(out)
            .arg(source)
            .output()
            .map_err(|e| {
                format!("these tests compile a C plugin and need a C compiler: running `{cc}` failed ({e}); install one (e.g. gcc) or set CC")
            })?;
        if !result.status.success() {
            return Err(format!(
                "`{cc}` could not compile {source}:\n{}",
                String::from_utf8_lossy(&result.stderr)
            ));
        }
        // SAFETY: our own fixture; its initialisers do nothing. The library
        // is leaked: the host never unloads a plugin.
        unsafe {
            let library = libloading::Library::new(out).map_err(|e| error_chain(&e))?;
            let entry = *library
                .get::<EntryFn>(ENTRY_SYMBOL)
                .map_err(|e| error_chain(&e))?;
            std::mem::forget(library);
            PluginApi::from_raw(entry()).map_err(|e| e.to_string())
        }
    };
    // Once loaded, the files may go: the mappings stay.
    Ok(Fixtures {
        full: build(&dir.path().join("libbehaviours.so"), &[])?,
        poll_only: build(&dir.path().join("libpollonly.so"), &["-DPOLL_ONLY"])?,
    })
}

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

fn spec(name: &str, api: &PluginApi, config: &str) -> InstanceSpec {
    InstanceSpec {
        name: name.to_owned(),
        api: api.clone(),
        config_json: config.to_owned(),
        interval: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
        max_backoff: Duration::from_secs(1),
    }
}

fn status_of<'a>(statuses: &'a [InstanceStatus], name: &str) -> &'a InstanceStatus {
    statuses
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no instance {name} in {statuses:#?}"))
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
        let statuses = host.status();
        let status = status_of(&statuses, name);
        if done(status) {
            return status.clone();
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

/// The next reading named `name`, skipping others.
async fn recv_named(rx: &mut mpsc::Receiver<PluginReading>, name: &str) -> PluginReading {
    loop {
        let reading = recv(rx).await;
        if reading.reading.name == name {
            return reading;
        }
    }
}

/// Everything left in the channel, which must end (every sender gone).
async fn drain_to_end(rx: &mut mpsc::Receiver<PluginReading>) -> Vec<PluginReading> {
    let mut rest = Vec::new();
    while let Some(reading) = timeout(PATIENCE, rx.recv())
        .await
        .expect("the channel did not end after shutdown")
    {
        rest.push(reading);
    }
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_plugin_s_readings_arrive_from_its_instance() {
    let (host, mut rx) = PluginHost::start(
        vec![spec("room", &fixtures().full, r#"{"mode":"good"}"#)],
        64,
    );
    let temperature = recv_named(&mut rx, "temperature").await;
    assert_eq!(temperature.reading.source, "room");
    assert_eq!(temperature.reading.unit.as_deref(), Some("Cel"));
    assert_eq!(temperature.reading.value, Value::F64(21.5));
    assert!(temperature.reading.timestamp_ns >= OLDEST_TIMESTAMP_NS);
    assert!(!temperature.urgent);
    let count = recv(&mut rx).await;
    assert_eq!(
        (
            count.reading.name.as_str(),
            &count.reading.value,
            count.urgent
        ),
        ("count", &Value::I64(7), true)
    );
    let state = recv(&mut rx).await;
    assert_eq!(state.reading.value, Value::Str("ok".into()));

    // `start` answered UNSUPPORTED: a poll-only plugin.
    let status = wait_for(&host, "room", "polled twice", |s| s.counters.polls >= 2).await;
    assert!(status.polling && !status.pushing, "{status:#?}");
    assert_eq!(status.plugin, "behaviours");
    assert_eq!(status.counters.creates, 1);
    assert_eq!(status.counters.errors, 0);

    host.shutdown().await;
    drain_to_end(&mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_instance_and_ends_the_channel() {
    let (host, mut rx) = PluginHost::start(
        vec![
            spec("a", &fixtures().full, r#"{"mode":"good"}"#),
            spec("b", &fixtures().poll_only, r#"{"mode":"good"}"#),
        ],
        1024,
    );
    wait_for(&host, "b", "polled", |s| s.counters.polls >= 1).await;
    let statuses_before = host.status();
    timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown did not finish");
    drain_to_end(&mut rx).await;
    for status in statuses_before {
        assert_eq!(status.counters.after_stop, 0, "{status:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_wedges_the_instance_and_no_other() {
    let mut slow = spec("slow", &fixtures().full, r#"{"mode":"slow"}"#);
    slow.timeout = Duration::from_millis(200);
    let (host, mut rx) = PluginHost::start(
        vec![slow, spec("good", &fixtures().full, r#"{"mode":"good"}"#)],
        1024,
    );
    let wedged = wait_for(&host, "slow", "wedged", |s| {
        matches!(s.state, InstanceState::Wedged { .. })
    })
    .await;
    match wedged.state {
        InstanceState::Wedged { call, after } => {
            assert_eq!(call, PluginCall::Poll);
            assert!(after >= Duration::from_millis(200), "{after:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(wedged.counters.deadlines_missed, 1);
    assert_eq!(wedged.counters.polls, 1);

    // The other instance goes on polling; the wedged one is never called.
    let polls = status_of(&host.status(), "good").counters.polls;
    wait_for(&host, "good", "polling on", |s| {
        s.counters.polls >= polls + 5
    })
    .await;
    assert_eq!(status_of(&host.status(), "slow").counters.polls, 1);
    assert!(recv_named(&mut rx, "temperature").await.reading.source == "good");

    // Shutdown does not wait for the wedged call (30 s in the plugin).
    timeout(PATIENCE, host.shutdown())
        .await
        .expect("shutdown waited for the wedged instance");
    drain_to_end(&mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_back_off_doubling_up_to_the_maximum() {
    let mut failing = spec("failing", &fixtures().full, r#"{"mode":"error"}"#);
    failing.interval = Duration::from_millis(10);
    failing.max_backoff = Duration::from_millis(80);
    let (host, mut rx) = PluginHost::start(vec![failing], 64);
    // The plugin emits one reading per attempt, stamped by the host.
    let mut stamps = Vec::new();
    for _ in 0..9 {
        stamps.push(recv_named(&mut rx, "attempt").await.reading.timestamp_ns);
    }
    let gaps: Vec<Duration> = stamps
        .windows(2)
        .map(|w| Duration::from_nanos((w[1] - w[0]) as u64))
        .collect();
    // Each wait is at least the doubled delay (a timer never fires early;
    // 1 ms of slack for the wall clock's granularity)...
    let delays = [20, 40, 80, 80, 80, 80, 80, 80];
    for (gap, delay) in gaps.iter().zip(delays) {
        assert!(
            *gap + Duration::from_millis(1) >= Duration::from_millis(delay),
            "gaps {gaps:?}"
        );
    }
    // ...and capped: uncapped, the fifth gap on would be 320 ms, 640 ms, ...
    for gap in &gaps[4..] {
        assert!(*gap < Duration::from_millis(320 * 2), "gaps {gaps:?}");
    }
    // The ninth reading came from inside the ninth poll, which may not
    // have returned yet.
    wait_for(&host, "failing", "backing off after 9 errors", |s| {
        s.counters.errors >= 9
            && matches!(s.state, InstanceState::BackingOff { failures, .. } if failures >= 9)
    })
    .await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_status_is_counted_apart_and_backs_off() {
    let (host, _rx) = PluginHost::start(
        vec![spec("panicky", &fixtures().full, r#"{"mode":"panic"}"#)],
        64,
    );
    let status = wait_for(&host, "panicky", "panicked twice", |s| {
        s.counters.panics >= 2
    })
    .await;
    assert_eq!(status.counters.errors, 0);
    assert!(
        matches!(status.state, InstanceState::BackingOff { .. }),
        "{status:#?}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_readings_are_counted_per_reason_and_the_valid_one_arrives() {
    let mut invalid = spec("bad", &fixtures().full, r#"{"mode":"invalid"}"#);
    invalid.interval = Duration::from_secs(3600);
    let (host, mut rx) = PluginHost::start(vec![invalid], 64);
    let valid = recv(&mut rx).await;
    assert_eq!(
        (valid.reading.name.as_str(), &valid.reading.value),
        ("valid", &Value::I64(42))
    );
    let status = recv(&mut rx).await;
    assert_eq!(status.reading.name, "emit_status");
    assert_eq!(status.reading.value, Value::I64(STATUS_REJECTED.into()));
    // Counted just after the send: wait rather than race the counter.
    let counters = wait_for(&host, "bad", "counted", |s| s.counters.emitted == 2)
        .await
        .counters;
    let expected = [
        Rejection::NameNotUtf8,
        Rejection::NameTooLong,
        Rejection::NotFinite,
        Rejection::TooManyTags,
        Rejection::TimestampTooOld,
    ]
    .into_iter()
    .map(|r| (r, 1))
    .collect();
    assert_eq!(counters.rejected, expected);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_a_plugin_emits_after_stop_reaches_the_channel() {
    let (host, mut rx) = PluginHost::start(
        vec![spec("pusher", &fixtures().full, r#"{"mode":"push"}"#)],
        4096,
    );
    // Its thread emits every ms from `start` on, and never stops.
    let mut arrived = 0;
    for _ in 0..20 {
        assert_eq!(recv(&mut rx).await.reading.name, "pushed");
        arrived += 1;
    }
    // Readings flow from the start of `start`, before its reply is in.
    wait_for(&host, "pusher", "pushing", |s| {
        s.pushing && !s.polling && s.state == InstanceState::Running
    })
    .await;
    // The context outlives the host (leaked), so it can be read after.
    let ctx = host.context("pusher").expect("the instance's context");

    let last = host.shutdown().await.remove(0);
    assert_eq!(last.state, InstanceState::Stopped);
    // The channel ends: nothing gets in after `stop` returned...
    arrived += drain_to_end(&mut rx).await.len() as u64;
    assert_eq!(
        arrived,
        ctx.counters.snapshot().emitted,
        "all accepted arrived, no more"
    );
    // ...although the plugin goes on emitting, refused with STOPPED.
    let at_shutdown = ctx.counters.snapshot().after_stop;
    let start = Instant::now();
    while ctx.counters.snapshot().after_stop <= at_shutdown {
        assert!(
            start.elapsed() < PATIENCE,
            "the plugin's emits after stop were not counted"
        );
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(arrived, ctx.counters.snapshot().emitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_drops_and_counts_without_blocking() {
    let mut flood = spec("flood", &fixtures().full, r#"{"mode":"flood"}"#);
    flood.interval = Duration::from_secs(3600);
    let (host, mut rx) = PluginHost::start(vec![flood], 4);
    // Nobody reads while it emits 100 one by one: the poll still returns
    // (a blocked emit would wedge it), with 4 in the channel.
    let status = wait_for(&host, "flood", "polled", |s| {
        s.counters.emitted + s.counters.dropped_full == 100
    })
    .await;
    assert_eq!(status.counters.emitted, 4);
    assert_eq!(status.counters.dropped_full, 96);
    let status = wait_for(&host, "flood", "running", |s| {
        s.state == InstanceState::Running
    })
    .await;
    assert_eq!(status.counters.deadlines_missed, 0);
    for expected in 0..4 {
        assert_eq!(recv(&mut rx).await.reading.value, Value::I64(expected));
    }
    assert!(rx.try_recv().is_err(), "more than the capacity arrived");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_disables_the_instance_without_retrying() {
    let (host, mut rx) = PluginHost::start(
        vec![spec("bad", &fixtures().full, r#"{"mode":"badconfig"}"#)],
        64,
    );
    let status = wait_for(&host, "bad", "disabled", |s| {
        matches!(s.state, InstanceState::Disabled { .. })
    })
    .await;
    match &status.state {
        InstanceState::Disabled { reason } => {
            assert!(reason.contains("threshold must be positive"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Several intervals later: still the one create.
    sleep(Duration::from_millis(200)).await;
    assert_eq!(host.status()[0].counters.creates, 1);
    assert!(matches!(
        host.command("bad", b"{}").await,
        Err(CommandError::NotRunning { .. })
    ));
    // A disabled instance holds no sender: the channel has ended already.
    drain_to_end(&mut rx).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_create_is_retried_with_backoff() {
    let (host, _rx) = PluginHost::start(
        vec![spec("later", &fixtures().full, r#"{"mode":"createfail"}"#)],
        64,
    );
    let status = wait_for(&host, "later", "created three times", |s| {
        s.counters.creates >= 3
    })
    .await;
    assert!(status.counters.errors >= 2, "{status:#?}");
    assert_eq!(status.counters.polls, 0);
    assert!(
        matches!(
            status.state,
            InstanceState::BackingOff { .. } | InstanceState::Starting
        ),
        "{status:#?}"
    );
    let last = host.shutdown().await.remove(0);
    assert_eq!(last.state, InstanceState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_forwarded_and_their_failures_reported() {
    let mut echo = spec("echo", &fixtures().full, r#"{"mode":"good"}"#);
    echo.interval = Duration::from_secs(3600);
    let (host, mut rx) = PluginHost::start(
        vec![
            echo,
            spec("plain", &fixtures().poll_only, r#"{"mode":"good"}"#),
        ],
        1024,
    );
    host.command("echo", br#"{"led":"on"}"#).await.unwrap();
    let echoed = recv_named(&mut rx, "command").await;
    assert_eq!(echoed.reading.source, "echo");
    assert_eq!(echoed.reading.value, Value::Str(r#"{"led":"on"}"#.into()));
    assert_eq!(
        host.command("echo", b"!boom").await,
        Err(CommandError::Failed {
            status: 1,
            message: "refused".into()
        })
    );
    assert_eq!(status_of(&host.status(), "echo").counters.errors, 1);
    assert_eq!(
        host.command("plain", b"{}").await,
        Err(CommandError::Unsupported)
    );
    assert_eq!(
        host.command("nobody", b"{}").await,
        Err(CommandError::UnknownInstance("nobody".into()))
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_runs_from_create_unless_it_has_a_start() {
    let config = r#"{"mode":"good","emit_in_create":true}"#;
    let mut poll_only = spec("poll_only", &fixtures().poll_only, config);
    let mut full = spec("full", &fixtures().full, config);
    poll_only.interval = Duration::from_secs(3600);
    full.interval = Duration::from_secs(3600);
    let (host, mut rx) = PluginHost::start(vec![poll_only, full], 64);
    host.first_polls_done().await;
    let statuses = host.shutdown().await;
    let readings = drain_to_end(&mut rx).await;
    let created: Vec<&str> = readings
        .iter()
        .filter(|r| r.reading.name == "created")
        .map(|r| r.reading.source.as_str())
        .collect();
    // Without `start`, running begins with `create`; with one, at `start`.
    assert_eq!(created, ["poll_only"]);
    assert_eq!(status_of(&statuses, "poll_only").counters.after_stop, 0);
    assert_eq!(status_of(&statuses, "full").counters.after_stop, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_neither_polls_nor_pushes_is_idle() {
    let (host, _rx) = PluginHost::start(
        vec![spec("idle", &fixtures().full, r#"{"mode":"idle"}"#)],
        64,
    );
    let status = wait_for(&host, "idle", "idle", |s| s.state == InstanceState::Idle).await;
    assert!(!status.polling && !status.pushing);
    assert_eq!(status.counters.polls, 1);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_polls_done_waits_for_one_poll_of_each_instance() {
    let long = |mut spec: InstanceSpec| {
        spec.interval = Duration::from_secs(3600);
        spec
    };
    let (host, mut rx) = PluginHost::start(
        vec![
            long(spec("a", &fixtures().full, r#"{"mode":"good"}"#)),
            long(spec("b", &fixtures().poll_only, r#"{"mode":"good"}"#)),
            long(spec(
                "failing",
                &fixtures().full,
                r#"{"mode":"createfail"}"#,
            )),
            long(spec("bad", &fixtures().full, r#"{"mode":"badconfig"}"#)),
        ],
        64,
    );
    timeout(PATIENCE, host.first_polls_done())
        .await
        .expect("first polls never done");
    for name in ["a", "b"] {
        assert_eq!(status_of(&host.status(), name).counters.polls, 1);
    }
    host.shutdown().await;
    let readings = drain_to_end(&mut rx).await;
    assert_eq!(readings.len(), 6, "{readings:#?}");
}
