//! The plugin as the agent sees it: through its descriptor and the C ABI,
//! with a fake host recording what it emits.

// The helpers below are test code too (clippy only exempts `#[test]` bodies).
#![allow(clippy::unwrap_used)]

#[path = "../../test_support/fake_host.rs"]
mod fake_host;

use std::thread;
use std::time::{Duration, Instant};

use edge_agent_sdk::abi::{READING_URGENT, STATUS_INVALID_CONFIG, STATUS_UNSUPPORTED};
use edge_plugin_synthetic::edge_agent_plugin_v1;
use fake_host::{FakeHost, Instance, Record, RecordedValue};

fn instance(config: &str) -> (FakeHost, Instance) {
    let host = FakeHost::new(1);
    let instance = Instance::create(edge_agent_plugin_v1, &host, config)
        .unwrap_or_else(|e| panic!("create({config}) failed: {e:?}"));
    (host, instance)
}

fn polled(config: &str, polls: usize) -> Record {
    let (host, mut instance) = instance(config);
    for _ in 0..polls {
        instance.poll().unwrap();
    }
    host.take()
}

#[test]
fn descriptor_names_the_plugin() {
    let (_, instance) = instance("{}");
    assert_eq!(
        instance.name_and_version(),
        (
            "synthetic".to_string(),
            env!("CARGO_PKG_VERSION").to_string()
        )
    );
}

#[test]
fn default_config_polls_a_host_stamped_temperature() {
    let record = polled("{}", 16);
    assert_eq!(record.emits, 16, "one emit per poll");
    assert_eq!(record.readings.len(), 16);
    let first = &record.readings[0];
    assert_eq!(
        (first.name.as_str(), first.unit.as_str()),
        ("temperature", "Cel")
    );
    assert_eq!(
        first.value,
        RecordedValue::F64(20.0),
        "sine at sample 0 is the offset"
    );
    assert_eq!(first.timestamp_ns, 0, "the host stamps it");
    assert_eq!((first.flags, first.tags.len()), (0, 0));
    assert_eq!(
        record.readings[15].value,
        RecordedValue::F64(25.0),
        "a quarter of 60"
    );
}

const FULL: &str = r#"{"seed": 7, "per_poll": 2, "payload_bytes": 64, "urgent_every": 4,
    "tags": {"site": "lab", "rack": "3"},
    "timestamps": "synthetic", "start_ns": 1000000, "step_ns": 500,
    "series": [{"name": "walk", "unit": "V", "pattern": "random-walk", "amplitude": 2, "offset": 12},
               {"name": "count", "pattern": "counter"}]}"#;

#[test]
fn every_option_reaches_the_readings() {
    let record = polled(FULL, 3);
    // Per poll: walk, count, walk, count, payload.
    let names: Vec<_> = record.readings.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(&names[..5], ["walk", "count", "walk", "count", "payload"]);
    assert_eq!(record.readings.len(), 15);
    let stamps: Vec<_> = record.readings[..5]
        .iter()
        .map(|r| r.timestamp_ns)
        .collect();
    assert_eq!(
        stamps,
        [1_000_000, 1_000_000, 1_000_500, 1_000_500, 1_000_500]
    );
    let urgent: Vec<_> = record
        .readings
        .iter()
        .enumerate()
        .filter(|(_, r)| r.flags & READING_URGENT != 0)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(urgent, [3, 7, 11]);
    let tags = vec![
        ("rack".to_string(), "3".to_string()),
        ("site".to_string(), "lab".to_string()),
    ];
    assert!(record.readings.iter().all(|r| r.tags == tags));
    let RecordedValue::Bytes(payload) = &record.readings[4].value else {
        panic!("payload is not bytes: {:?}", record.readings[4]);
    };
    assert_eq!(payload.len(), 64);
    assert_eq!(record.readings[3].value, RecordedValue::I64(1));
    for r in record.readings.iter().filter(|r| r.name == "walk") {
        let RecordedValue::F64(v) = r.value else {
            panic!("walk is not a number: {r:?}");
        };
        assert!((10.0..=14.0).contains(&v), "{v}");
    }
}

#[test]
fn two_runs_emit_the_same_readings() {
    assert_eq!(polled(FULL, 20).readings, polled(FULL, 20).readings);
    let other_seed = FULL.replace("\"seed\": 7", "\"seed\": 8");
    assert_ne!(polled(FULL, 20).readings, polled(&other_seed, 20).readings);
}

#[test]
fn bad_config_is_invalid_config_naming_the_key() {
    let host = FakeHost::new(1);
    for (config, key) in [
        (r#"{"sede": 1}"#, "`sede`"),
        (
            r#"{"series": [{"name": "a", "period": 0}]}"#,
            "series[0].period",
        ),
        ("[1, 2]", "invalid type"),
    ] {
        let Err((status, message)) = Instance::create(edge_agent_plugin_v1, &host, config) else {
            panic!("{config} was accepted");
        };
        assert_eq!(status, STATUS_INVALID_CONFIG, "{config}: {message}");
        assert!(message.contains(key), "{config}: {message}");
    }
}

#[test]
fn a_polled_instance_does_not_start_and_a_pushing_one_does_not_poll() {
    let (_, mut polled) = instance("{}");
    assert_eq!(polled.start().unwrap_err().0, STATUS_UNSUPPORTED);
    let (_, mut pushing) = instance(r#"{"push_rate": 10}"#);
    assert_eq!(pushing.poll().unwrap_err().0, STATUS_UNSUPPORTED);
}

#[test]
fn push_emits_at_the_rate_until_stop_and_resumes_the_sequence() {
    let (host, mut instance) =
        instance(r#"{"push_rate": 1000, "series": [{"name": "n", "pattern": "counter"}]}"#);
    let started = Instant::now();
    instance.start().unwrap();
    thread::sleep(Duration::from_millis(300));
    instance.stop().unwrap();
    let elapsed_ms = started.elapsed().as_millis() as usize;
    let first = host.take();
    let count = first.readings.len();
    // Never ahead of the rate (one reading is due at once); behind it only
    // by what a loaded machine's scheduling costs.
    assert!(
        count <= elapsed_ms + 1,
        "{count} readings in {elapsed_ms} ms at 1000/s"
    );
    assert!(
        count >= elapsed_ms / 4,
        "{count} readings in {elapsed_ms} ms at 1000/s"
    );
    let values: Vec<_> = first.readings.iter().map(|r| r.value.clone()).collect();
    let expected: Vec<_> = (0..count as i64).map(RecordedValue::I64).collect();
    assert_eq!(values, expected, "a gapless counter");

    thread::sleep(Duration::from_millis(50));
    assert!(host.take().readings.is_empty(), "nothing after stop");

    instance.start().unwrap();
    thread::sleep(Duration::from_millis(20));
    drop(instance); // destroy stops a running instance
    let resumed = host.take();
    assert_eq!(
        resumed.readings.first().map(|r| r.value.clone()),
        Some(RecordedValue::I64(count as i64)),
        "the second start continues the sequence"
    );
    thread::sleep(Duration::from_millis(50));
    assert!(host.take().readings.is_empty(), "nothing after destroy");
}

#[test]
fn push_batches_an_enormous_rate() {
    let (host, mut instance) = instance(r#"{"push_rate": 1e12, "payload_bytes": 8}"#);
    instance.start().unwrap();
    thread::sleep(Duration::from_millis(100));
    instance.stop().unwrap();
    let record = host.take();
    assert!(
        record.readings.len() > 1000,
        "{} readings",
        record.readings.len()
    );
    // Rounds of temperature + payload, at most 512 readings per emit.
    assert!(record.readings.len() <= record.emits * 512);
    assert_eq!(record.readings[1].name, "payload");
}
