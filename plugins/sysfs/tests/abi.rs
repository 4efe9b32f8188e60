//! The plugin as the agent sees it: through its descriptor and the C ABI,
//! with a fake host recording what it emits, over a fake `/sys` and `/proc`.

// The helpers below are test code too (clippy only exempts `#[test]` bodies).
#![allow(clippy::unwrap_used)]

#[path = "../../test_support/fake_host.rs"]
mod fake_host;

use std::fs;
use std::path::Path;

use edge_agent_sdk::abi::{LOG_DEBUG, LOG_WARN, STATUS_INVALID_CONFIG, STATUS_UNSUPPORTED};
use edge_plugin_sysfs::edge_agent_plugin_v1;
use fake_host::{FakeHost, Instance, Recorded, RecordedValue};

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn gateway_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "sys/class/thermal/thermal_zone0/temp", "51250\n");
    write(
        root,
        "sys/class/thermal/thermal_zone0/type",
        "soc-thermal\n",
    );
    write(root, "sys/class/power_supply/battery/type", "Battery\n");
    write(root, "sys/class/power_supply/battery/capacity", "64\n");
    write(
        root,
        "sys/class/power_supply/battery/voltage_now",
        "3700000\n",
    );
    write(
        root,
        "sys/class/power_supply/battery/current_now",
        "120000\n",
    );
    write(root, "sys/class/power_supply/battery/status", "Charging\n");
    write(root, "sys/class/power_supply/battery/online", "1\n");
    write(root, "proc/loadavg", "0.25 0.50 1.00 2/300 4000\n");
    write(
        root,
        "proc/meminfo",
        "MemTotal: 1000 kB\nMemAvailable: 500 kB\nSwapFree: 0 kB\n",
    );
    dir
}

fn config(root: &Path) -> String {
    serde_json::json!({ "root": root }).to_string()
}

fn find<'a>(readings: &'a [Recorded], name: &str) -> &'a Recorded {
    readings
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no {name} in {readings:#?}"))
}

#[test]
fn a_poll_emits_every_source_with_units_and_tags() {
    let tree = gateway_tree();
    let host = FakeHost::new(1);
    let mut instance = Instance::create(edge_agent_plugin_v1, &host, &config(tree.path())).unwrap();
    assert_eq!(instance.name_and_version().0, "sysfs");
    instance.poll().unwrap();
    let record = host.take();
    assert_eq!(record.emits, 1, "one emit per poll");
    let r = &record.readings;
    assert_eq!(r.len(), 12, "{r:#?}");

    let temp = find(r, "thermal/thermal_zone0/temp");
    assert_eq!(
        (temp.unit.as_str(), &temp.value),
        ("Cel", &RecordedValue::F64(51.25))
    );
    assert_eq!(temp.tags, [("type".to_string(), "soc-thermal".to_string())]);
    assert_eq!(temp.timestamp_ns, 0, "the host stamps it");

    let battery = |attribute: &str| find(r, &format!("power_supply/battery/{attribute}"));
    assert_eq!(battery("capacity").value, RecordedValue::I64(64));
    assert_eq!(battery("capacity").unit, "%");
    assert_eq!(battery("voltage_now").value, RecordedValue::F64(3.7));
    assert_eq!(battery("voltage_now").unit, "V");
    assert_eq!(battery("current_now").value, RecordedValue::F64(0.12));
    assert_eq!(battery("current_now").unit, "A");
    assert_eq!(
        battery("status").value,
        RecordedValue::Str("Charging".into())
    );
    assert_eq!(battery("online").value, RecordedValue::Bool(true));
    assert_eq!(
        battery("online").tags,
        [("type".to_string(), "Battery".to_string())]
    );

    assert_eq!(find(r, "loadavg/15m").value, RecordedValue::F64(1.0));
    assert_eq!(find(r, "loadavg/15m").unit, "");
    assert_eq!(find(r, "memory/total").value, RecordedValue::I64(1_024_000));
    assert_eq!(find(r, "memory/swap_free").unit, "By");
}

#[test]
fn problems_are_logged_once_at_their_level() {
    let tree = gateway_tree();
    write(tree.path(), "proc/loadavg", "garbage\n");
    fs::remove_file(tree.path().join("sys/class/thermal/thermal_zone0/temp")).unwrap();
    let host = FakeHost::new(1);
    let mut instance = Instance::create(edge_agent_plugin_v1, &host, &config(tree.path())).unwrap();
    instance.poll().unwrap();
    let first = host.take();
    let logged = |level: i32, what: &str| {
        first
            .logs
            .iter()
            .filter(|(l, m)| *l == level && m.contains(what))
            .count()
    };
    assert_eq!(logged(LOG_WARN, "proc/loadavg"), 1, "{:?}", first.logs);
    assert_eq!(
        logged(LOG_DEBUG, "thermal_zone0/temp"),
        1,
        "{:?}",
        first.logs
    );
    assert!(first
        .readings
        .iter()
        .all(|r| !r.name.starts_with("loadavg/")));
    assert!(first
        .readings
        .iter()
        .all(|r| !r.name.starts_with("thermal/")));

    instance.poll().unwrap();
    let second = host.take();
    assert!(second.logs.is_empty(), "logged again: {:?}", second.logs);
    assert_eq!(second.readings, first.readings);
}

#[test]
fn bad_config_is_invalid_config_naming_the_key() {
    let host = FakeHost::new(1);
    for (config, key) in [
        (r#"{"thermals": false}"#, "`thermals`"),
        (r#"{"root": "/does/not/exist"}"#, "root: "),
        (r#"{"loadavg": 1}"#, "loadavg: "),
    ] {
        let Err((status, message)) = Instance::create(edge_agent_plugin_v1, &host, config) else {
            panic!("{config} was accepted");
        };
        assert_eq!(status, STATUS_INVALID_CONFIG, "{config}: {message}");
        assert!(message.contains(key), "{config}: {message}");
    }
}

#[test]
fn it_is_poll_only() {
    let tree = gateway_tree();
    let host = FakeHost::new(1);
    let mut instance = Instance::create(edge_agent_plugin_v1, &host, &config(tree.path())).unwrap();
    assert_eq!(instance.start().unwrap_err().0, STATUS_UNSUPPORTED);
}

#[test]
fn the_default_root_reads_this_machine() {
    let host = FakeHost::new(1);
    let mut instance = Instance::create(edge_agent_plugin_v1, &host, "{}").unwrap();
    instance.poll().unwrap();
    let record = host.take();
    let RecordedValue::I64(total) = find(&record.readings, "memory/total").value else {
        panic!("memory/total is not an integer");
    };
    assert!(total > 0);
    let RecordedValue::F64(load) = find(&record.readings, "loadavg/1m").value else {
        panic!("loadavg/1m is not a number");
    };
    assert!(load >= 0.0);
}
