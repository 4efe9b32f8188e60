//! Power supplies: every `sys/class/power_supply/<name>/` as
//! `power_supply/<name>/{capacity,voltage_now,current_now,status,online}`,
//! tagged with the supply's `type` (Battery, Mains, USB). An attribute a
//! supply does not have (a mains adapter has no capacity) is skipped.

use std::path::Path;

use crate::reader::{Reader, Sample, SampleValue};

/// Appends the readable attributes of every supply under `root`.
pub fn collect(reader: &mut Reader, root: &Path, out: &mut Vec<Sample>) {
    for (supply, dir) in reader.entries(&root.join("sys/class/power_supply")) {
        let tags: Vec<_> = reader
            .text(&dir.join("type"))
            .map(|kind| vec![("type", kind)])
            .unwrap_or_default();
        let mut push = |attribute: &str, unit, value| {
            out.push(Sample {
                name: format!("power_supply/{supply}/{attribute}"),
                unit,
                value,
                tags: tags.clone(),
            })
        };
        if let Some(percent) = reader.parsed::<i64>(&dir.join("capacity")) {
            push("capacity", Some("%"), SampleValue::I64(percent));
        }
        if let Some(microvolts) = reader.parsed::<i64>(&dir.join("voltage_now")) {
            push(
                "voltage_now",
                Some("V"),
                SampleValue::F64(microvolts as f64 / 1e6),
            );
        }
        // Negative while discharging on some drivers; kept as the kernel says.
        if let Some(microamps) = reader.parsed::<i64>(&dir.join("current_now")) {
            push(
                "current_now",
                Some("A"),
                SampleValue::F64(microamps as f64 / 1e6),
            );
        }
        let status_path = dir.join("status");
        if let Some(status) = reader.text(&status_path) {
            if status.is_empty() {
                reader.garbled(&status_path, "empty");
            } else {
                push("status", None, SampleValue::Str(status));
            }
        }
        let online_path = dir.join("online");
        if let Some(online) = reader.text(&online_path) {
            match online.as_str() {
                "0" => push("online", None, SampleValue::Bool(false)),
                "1" => push("online", None, SampleValue::Bool(true)),
                _ => reader.garbled(&online_path, &format!("{online:?} is not 0 or 1")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::NoticeLevel;
    use crate::test_tree::Tree;

    fn battery(tree: &Tree, name: &str) {
        let dir = format!("sys/class/power_supply/{name}");
        tree.file(&format!("{dir}/type"), "Battery\n");
        tree.file(&format!("{dir}/capacity"), "87\n");
        tree.file(&format!("{dir}/voltage_now"), "3852000\n");
        tree.file(&format!("{dir}/current_now"), "-250000\n");
        tree.file(&format!("{dir}/status"), "Discharging\n");
    }

    #[test]
    fn battery_and_mains_with_units() {
        let tree = Tree::new();
        battery(&tree, "BAT0");
        tree.file("sys/class/power_supply/AC/type", "Mains\n");
        tree.file("sys/class/power_supply/AC/online", "1\n");
        let (samples, _) = tree.collect(collect);
        let battery = vec![("type", "Battery".to_string())];
        let mains = vec![("type", "Mains".to_string())];
        let sample = |name: &str, unit, value, tags: &Vec<(&'static str, String)>| Sample {
            name: name.into(),
            unit,
            value,
            tags: tags.clone(),
        };
        assert_eq!(
            samples,
            vec![
                sample(
                    "power_supply/AC/online",
                    None,
                    SampleValue::Bool(true),
                    &mains
                ),
                sample(
                    "power_supply/BAT0/capacity",
                    Some("%"),
                    SampleValue::I64(87),
                    &battery
                ),
                sample(
                    "power_supply/BAT0/voltage_now",
                    Some("V"),
                    SampleValue::F64(3.852),
                    &battery
                ),
                sample(
                    "power_supply/BAT0/current_now",
                    Some("A"),
                    SampleValue::F64(-0.25),
                    &battery
                ),
                sample(
                    "power_supply/BAT0/status",
                    None,
                    SampleValue::Str("Discharging".into()),
                    &battery
                ),
            ]
        );
    }

    #[test]
    fn garbled_attributes_are_skipped_with_a_warning() {
        let tree = Tree::new();
        battery(&tree, "BAT0");
        tree.file("sys/class/power_supply/BAT0/capacity", "full\n");
        tree.file("sys/class/power_supply/BAT0/online", "yes\n");
        tree.file("sys/class/power_supply/BAT0/status", "\n");
        let (samples, notices) = tree.collect(collect);
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "power_supply/BAT0/voltage_now",
                "power_supply/BAT0/current_now"
            ]
        );
        let warnings: Vec<_> = notices
            .iter()
            .filter(|n| n.level == NoticeLevel::Warn)
            .collect();
        assert_eq!(warnings.len(), 3, "{notices:?}");
    }

    #[test]
    fn missing_attributes_are_skipped_quietly() {
        let tree = Tree::new();
        tree.file("sys/class/power_supply/usb/online", "0\n");
        let (samples, notices) = tree.collect(collect);
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].value, SampleValue::Bool(false));
        assert!(samples[0].tags.is_empty());
        assert!(
            notices.iter().all(|n| n.level == NoticeLevel::Debug),
            "{notices:?}"
        );
    }
}
