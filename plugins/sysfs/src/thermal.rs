//! Thermal zones: `sys/class/thermal/thermal_zone*/temp` (milli-°C) as
//! `thermal/<zone>/temp` in `Cel`, tagged with the zone's `type`.

use std::path::Path;

use crate::reader::{Reader, Sample, SampleValue};

/// Appends one sample per readable zone under `root`.
pub fn collect(reader: &mut Reader, root: &Path, out: &mut Vec<Sample>) {
    for (zone, dir) in reader.entries(&root.join("sys/class/thermal")) {
        if !zone.starts_with("thermal_zone") {
            // cooling_device* lives in the same class directory.
            continue;
        }
        let Some(millidegrees) = reader.parsed::<i64>(&dir.join("temp")) else {
            continue;
        };
        let tags = reader
            .text(&dir.join("type"))
            .map(|kind| vec![("type", kind)])
            .unwrap_or_default();
        out.push(Sample {
            name: format!("thermal/{zone}/temp"),
            unit: Some("Cel"),
            value: SampleValue::F64(millidegrees as f64 / 1000.0),
            tags,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tree::Tree;

    #[test]
    fn zones_in_celsius_with_their_type() {
        let tree = Tree::new();
        tree.file("sys/class/thermal/thermal_zone0/temp", "42500\n");
        tree.file("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
        tree.file("sys/class/thermal/thermal_zone1/temp", "-5000\n");
        tree.file("sys/class/thermal/cooling_device0/type", "Processor\n");
        let (samples, notices) = tree.collect(collect);
        assert_eq!(
            samples,
            vec![
                Sample {
                    name: "thermal/thermal_zone0/temp".into(),
                    unit: Some("Cel"),
                    value: SampleValue::F64(42.5),
                    tags: vec![("type", "x86_pkg_temp".into())],
                },
                Sample {
                    name: "thermal/thermal_zone1/temp".into(),
                    unit: Some("Cel"),
                    value: SampleValue::F64(-5.0),
                    tags: vec![],
                },
            ]
        );
        assert_eq!(notices.len(), 1, "zone1 has no type: {notices:?}");
    }

    #[test]
    fn garbled_and_missing_temps_are_skipped() {
        let tree = Tree::new();
        tree.file("sys/class/thermal/thermal_zone0/temp", "n/a\n");
        tree.file("sys/class/thermal/thermal_zone0/type", "acpitz\n");
        tree.file("sys/class/thermal/thermal_zone1/type", "acpitz\n");
        tree.file("sys/class/thermal/thermal_zone2/temp", "1000\n");
        tree.file("sys/class/thermal/thermal_zone2/type", "soc\n");
        let (samples, notices) = tree.collect(collect);
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["thermal/thermal_zone2/temp"]);
        assert_eq!(notices.len(), 2, "{notices:?}");
    }

    #[test]
    fn no_thermal_class_is_no_samples() {
        let (samples, notices) = Tree::new().collect(collect);
        assert!(samples.is_empty());
        assert_eq!(notices.len(), 1, "{notices:?}");
    }
}
