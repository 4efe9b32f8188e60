//! End to end: readings sampled by plugins loaded at run time from their
//! shared libraries (`synthetic`, `sysfs`) reach a broker's subscriber,
//! through the queue, the uplink's SenML CBOR and the simulated module's
//! embedded MQTT client, and decode to exactly what was sampled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ciborium::Value as Cbor;
use edge_agent::demo::LocalBroker;
use edge_agent::plugin_host::sha256_hex;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

use crate::support::installed_plugin;

/// 2026-03-01T00:00:00Z: where the synthetic plugin's clock starts.
const START_NS: i64 = 1_772_323_200_000_000_000;

/// A gateway's `/sys` and `/proc` in miniature: one thermal zone, one
/// battery, the load average and the memory.
fn fake_gateway(root: &Path) {
    let files = [
        ("sys/class/thermal/thermal_zone0/temp", "45123\n"),
        ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"),
        ("sys/class/power_supply/BAT0/type", "Battery\n"),
        ("sys/class/power_supply/BAT0/capacity", "87\n"),
        ("sys/class/power_supply/BAT0/voltage_now", "3912000\n"),
        ("sys/class/power_supply/BAT0/status", "Discharging\n"),
        ("proc/loadavg", "0.52 0.41 0.30 1/123 4567\n"),
        (
            "proc/meminfo",
            "MemTotal:        1024000 kB\nMemFree:          100000 kB\nMemAvailable:     512000 kB\n",
        ),
    ];
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

fn config(dir: &Path, broker_port: u16) -> PathBuf {
    let plugins = dir.join("plugins");
    fs::create_dir(&plugins).unwrap();
    let (synthetic, synthetic_sha) = installed_plugin(&plugins, "edge_plugin_synthetic");
    let (sysfs, sysfs_sha) = installed_plugin(&plugins, "edge_plugin_sysfs");
    let (synthetic_sha, sysfs_sha) = (sha256_hex(&synthetic_sha), sha256_hex(&sysfs_sha));
    let root = dir.join("root");
    fake_gateway(&root);
    let text = format!(
        r#"[agent]
data_dir = {data:?}
device_id = "gw-plugins"
heartbeat_interval = "0s"

[modem]
port = "sim"
registration_timeout = "10s"

[modem.sim]
time_scale = 0.01

[uplink.mqtt]
host = "127.0.0.1"
port = {broker_port}

[[plugins]]
name = "counter"
path = {synthetic:?}
sha256 = "{synthetic_sha}"
interval = "10s"
timeout = "5s"

[plugins.config]
per_poll = 5
timestamps = "synthetic"
start_ns = {START_NS}
series = [{{ name = "count", pattern = "counter", offset = 100 }}]

[[plugins]]
name = "board"
path = {sysfs:?}
sha256 = "{sysfs_sha}"
interval = "10s"
timeout = "5s"

[plugins.config]
root = {root:?}
"#,
        data = dir.join("data"),
    );
    let path = dir.join("config.toml");
    fs::write(&path, text).unwrap();
    path
}

/// One SenML record resolved (RFC 8428 §4.6): full name, unit, value, time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) name: String,
    pub(crate) unit: Option<String>,
    pub(crate) value: Cbor,
    pub(crate) time_s: f64,
    pub(crate) tags: Option<String>,
}

/// Resolves a SenML CBOR pack; labels from RFC 8428 Table 6 (bn -2, bt -3,
/// bu -4, n 0, u 1, v 2, vs 3, vb 4, t 6, vd 8) and our `tags` extension.
pub(crate) fn resolve(payload: &[u8]) -> Vec<Resolved> {
    let pack: Cbor = ciborium::from_reader(payload).unwrap();
    let (mut bn, mut bt, mut bu) = (String::new(), 0.0, None::<String>);
    let number = |v: &Cbor| match v {
        Cbor::Integer(i) => i128::from(*i) as f64,
        Cbor::Float(f) => *f,
        other => panic!("not a number: {other:?}"),
    };
    let mut out = Vec::new();
    for record in pack.as_array().expect("a pack is an array") {
        let map = record.as_map().expect("a record is a map");
        // Integer labels are RFC 8428's; text labels are extensions (ours:
        // `tags`).
        let fields: BTreeMap<i64, &Cbor> = map
            .iter()
            .filter_map(|(k, v)| Some((i64::try_from(i128::from(k.as_integer()?)).ok()?, v)))
            .collect();
        let tags = map
            .iter()
            .find(|(k, _)| k.as_text() == Some("tags"))
            .map(|(_, v)| v.as_text().unwrap().to_owned());
        if let Some(v) = fields.get(&-2) {
            bn = v.as_text().unwrap().to_owned();
        }
        if let Some(v) = fields.get(&-3) {
            bt = number(v);
        }
        if let Some(v) = fields.get(&-4) {
            bu = Some(v.as_text().unwrap().to_owned());
        }
        let value = [2, 3, 4, 8]
            .iter()
            .find_map(|label| fields.get(label))
            .map(|v| (*v).clone())
            .expect("a record with a value");
        out.push(Resolved {
            name: format!(
                "{bn}{}",
                fields.get(&0).map_or("", |v| v.as_text().unwrap())
            ),
            unit: fields
                .get(&1)
                .map(|v| v.as_text().unwrap().to_owned())
                .or_else(|| bu.clone()),
            value,
            time_s: bt + fields.get(&6).map_or(0.0, |v| number(v)),
            tags,
        });
    }
    out
}

#[test]
fn readings_from_plugins_loaded_at_run_time_reach_a_subscriber_exactly_as_sampled() {
    let broker = LocalBroker::start().unwrap();
    let mut options = MqttOptions::new(
        "it-plugins-watcher",
        broker.addr.ip().to_string(),
        broker.addr.port(),
    );
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 64);
    client
        .subscribe("devices/gw-plugins/telemetry", QoS::AtLeastOnce)
        .unwrap();
    for event in connection.iter() {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = event {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), broker.addr.port());

    let out = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--once", "--config", path.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("UNPINNED"), "both are pinned: {stderr}");

    // 5 counter readings + thermal 1 + battery 3 + loadavg 3 + memory 2.
    let expected_count = 14;
    let mut got: Vec<Resolved> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < expected_count {
        let left = deadline.saturating_duration_since(Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => got.extend(resolve(&p.payload)),
            Ok(_) => {}
            Err(_) => panic!(
                "only {} of {expected_count} readings arrived: {got:#?}",
                got.len()
            ),
        }
    }
    let by_name: BTreeMap<&str, &Resolved> = got.iter().map(|r| (r.name.as_str(), r)).collect();

    // synthetic: a counter from 100, one sample a second from START_NS.
    for i in 0..5u32 {
        let reading = got
            .iter()
            .find(|r| r.name == "gw-plugins:counter/count" && r.value == Cbor::from(100 + i))
            .unwrap_or_else(|| panic!("count {} missing: {got:#?}", 100 + i));
        let expected_s = START_NS as f64 / 1e9 + f64::from(i);
        assert!(
            (reading.time_s - expected_s).abs() < 1e-6,
            "count {} at {} s, expected {expected_s} s",
            100 + i,
            reading.time_s
        );
    }

    // sysfs: the fake tree's values, converted to SenML units.
    let expect = |name: &str, unit: Option<&str>, value: Cbor| {
        let full = format!("gw-plugins:board/{name}");
        let r = by_name
            .get(full.as_str())
            .unwrap_or_else(|| panic!("{full} missing: {got:#?}"));
        assert_eq!(r.unit.as_deref(), unit, "{full}");
        assert_eq!(r.value, value, "{full}");
    };
    expect(
        "thermal/thermal_zone0/temp",
        Some("Cel"),
        Cbor::Float(45.123),
    );
    assert_eq!(
        by_name["gw-plugins:board/thermal/thermal_zone0/temp"]
            .tags
            .as_deref(),
        Some("type=cpu-thermal")
    );
    expect("power_supply/BAT0/capacity", Some("%"), Cbor::from(87));
    expect(
        "power_supply/BAT0/voltage_now",
        Some("V"),
        Cbor::Float(3.912),
    );
    expect(
        "power_supply/BAT0/status",
        None,
        Cbor::Text("Discharging".into()),
    );
    expect("loadavg/1m", None, Cbor::Float(0.52));
    expect("loadavg/15m", None, Cbor::Float(0.30));
    expect("memory/total", Some("By"), Cbor::from(1_024_000u64 * 1024));
    expect(
        "memory/available",
        Some("By"),
        Cbor::from(512_000u64 * 1024),
    );
    assert_eq!(
        got.len(),
        expected_count,
        "nothing else, nothing twice: {got:#?}"
    );
}
