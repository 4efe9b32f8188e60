//! `proc/loadavg` (the 1, 5 and 15-minute load averages as `loadavg/1m`,
//! `loadavg/5m`, `loadavg/15m`, no unit) and `proc/meminfo` (MemTotal,
//! MemAvailable and SwapFree as `memory/total`, `memory/available`,
//! `memory/swap_free` in bytes, `By`).

use std::path::Path;

use crate::reader::{Reader, Sample, SampleValue};

/// Appends the three load averages.
pub fn collect_loadavg(reader: &mut Reader, root: &Path, out: &mut Vec<Sample>) {
    let path = root.join("proc/loadavg");
    let Some(text) = reader.text(&path) else {
        return;
    };
    // "0.52 0.58 0.59 1/1234 5678": the rest is run queue and last pid.
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() < 3 {
        reader.garbled(&path, &format!("{text:?} has fewer than 3 fields"));
        return;
    }
    for (name, field) in ["loadavg/1m", "loadavg/5m", "loadavg/15m"]
        .into_iter()
        .zip(fields)
    {
        if let Some(load) = reader.parse::<f64>(&path, field) {
            out.push(Sample {
                name: name.into(),
                unit: None,
                value: SampleValue::F64(load),
                tags: Vec::new(),
            });
        }
    }
}

/// `proc/meminfo` keys and the reading each becomes; `required` ones are
/// reported when absent (MemAvailable came with Linux 3.14), SwapFree is
/// only there on some kernels' configs.
const MEMINFO: [(&str, &str, bool); 3] = [
    ("MemTotal", "memory/total", true),
    ("MemAvailable", "memory/available", true),
    ("SwapFree", "memory/swap_free", false),
];

/// Appends the memory figures, in bytes.
pub fn collect_meminfo(reader: &mut Reader, root: &Path, out: &mut Vec<Sample>) {
    let path = root.join("proc/meminfo");
    let Some(text) = reader.text(&path) else {
        return;
    };
    for (key, name, required) in MEMINFO {
        // "MemTotal:       16318412 kB"
        let line = text.lines().find_map(|line| {
            let (k, rest) = line.split_once(':')?;
            (k == key).then_some(rest.trim())
        });
        let Some(line) = line else {
            if required {
                reader.absent(&path.join(key), "such key");
            }
            continue;
        };
        let field = path.join(key);
        let Some(kib) = line.strip_suffix("kB") else {
            reader.garbled(&field, &format!("{line:?} is not \"<n> kB\""));
            continue;
        };
        let Some(kib) = reader.parse::<i64>(&field, kib.trim()) else {
            continue;
        };
        let Some(bytes) = kib.checked_mul(1024) else {
            reader.garbled(&field, &format!("{kib} kB overflows"));
            continue;
        };
        out.push(Sample {
            name: name.into(),
            unit: Some("By"),
            value: SampleValue::I64(bytes),
            tags: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::NoticeLevel;
    use crate::test_tree::Tree;

    fn values(samples: &[Sample]) -> Vec<(&str, SampleValue)> {
        samples
            .iter()
            .map(|s| (s.name.as_str(), s.value.clone()))
            .collect()
    }

    #[test]
    fn loadavg_takes_the_first_three_fields() {
        let tree = Tree::new();
        tree.file("proc/loadavg", "0.52 1.50 12.00 3/1234 5678\n");
        let (samples, notices) = tree.collect(collect_loadavg);
        assert_eq!(
            values(&samples),
            vec![
                ("loadavg/1m", SampleValue::F64(0.52)),
                ("loadavg/5m", SampleValue::F64(1.5)),
                ("loadavg/15m", SampleValue::F64(12.0)),
            ]
        );
        assert!(samples.iter().all(|s| s.unit.is_none()));
        assert!(notices.is_empty());
    }

    #[test]
    fn garbled_loadavg_is_skipped_with_a_warning() {
        for text in ["0.5 0.6\n", "0.5 x 0.7 1/2 3\n"] {
            let tree = Tree::new();
            tree.file("proc/loadavg", text);
            let (samples, notices) = tree.collect(collect_loadavg);
            assert!(samples.len() < 3, "{text}: {samples:?}");
            assert_eq!(notices.len(), 1, "{text}: {notices:?}");
            assert_eq!(notices[0].level, NoticeLevel::Warn);
        }
    }

    #[test]
    fn meminfo_in_bytes() {
        let tree = Tree::new();
        tree.file(
            "proc/meminfo",
            "MemTotal:        2048 kB\nMemFree:  100 kB\nMemAvailable:    1024 kB\n\
             SwapTotal:  0 kB\nSwapFree:          0 kB\n",
        );
        let (samples, notices) = tree.collect(collect_meminfo);
        assert_eq!(
            values(&samples),
            vec![
                ("memory/total", SampleValue::I64(2048 * 1024)),
                ("memory/available", SampleValue::I64(1024 * 1024)),
                ("memory/swap_free", SampleValue::I64(0)),
            ]
        );
        assert!(samples.iter().all(|s| s.unit == Some("By")));
        assert!(notices.is_empty(), "{notices:?}");
    }

    #[test]
    fn meminfo_without_swap_or_with_garbage() {
        let tree = Tree::new();
        tree.file(
            "proc/meminfo",
            "MemTotal: lots kB\nMemAvailable: 9223372036854775807 kB\n",
        );
        let (samples, notices) = tree.collect(collect_meminfo);
        assert!(samples.is_empty(), "{samples:?}");
        let warnings = notices
            .iter()
            .filter(|n| n.level == NoticeLevel::Warn)
            .count();
        assert_eq!(
            warnings, 2,
            "garbled total, overflowing available: {notices:?}"
        );
        assert!(
            notices.iter().all(|n| !n.message.contains("SwapFree")),
            "{notices:?}"
        );

        let tree = Tree::new();
        tree.file("proc/meminfo", "MemTotal: 10 kB\n");
        let (samples, notices) = tree.collect(collect_meminfo);
        assert_eq!(
            values(&samples),
            vec![("memory/total", SampleValue::I64(10240))]
        );
        assert_eq!(notices.len(), 1, "MemAvailable is reported: {notices:?}");
        assert_eq!(notices[0].level, NoticeLevel::Debug);
    }

    #[test]
    fn missing_proc_files_are_no_samples() {
        let tree = Tree::new();
        let (samples, notices) = tree.collect(|reader, root, out| {
            collect_loadavg(reader, root, out);
            collect_meminfo(reader, root, out);
        });
        assert!(samples.is_empty());
        assert_eq!(notices.len(), 2, "{notices:?}");
    }

    #[test]
    fn this_machine_has_plausible_load_and_memory() {
        let mut reader = Reader::default();
        let mut samples = Vec::new();
        collect_loadavg(&mut reader, Path::new("/"), &mut samples);
        collect_meminfo(&mut reader, Path::new("/"), &mut samples);
        let notices = reader.take_notices();
        let get = |name: &str| {
            samples
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.value.clone())
                .unwrap_or_else(|| panic!("no {name} from this machine's /proc: {notices:?}"))
        };
        for name in ["loadavg/1m", "loadavg/5m", "loadavg/15m"] {
            let SampleValue::F64(load) = get(name) else {
                panic!("{name} is not a number");
            };
            assert!(load >= 0.0 && load.is_finite(), "{name} = {load}");
        }
        let SampleValue::I64(total) = get("memory/total") else {
            panic!("memory/total is not an integer");
        };
        let SampleValue::I64(available) = get("memory/available") else {
            panic!("memory/available is not an integer");
        };
        assert!(total > 16 << 20, "MemTotal {total} B");
        assert!(
            (0..=total).contains(&available),
            "MemAvailable {available} of {total}"
        );
    }
}
