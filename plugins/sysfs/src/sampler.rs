//! One poll of the enabled sources, in a fixed order (thermal, power
//! supplies, load, memory), remembering across polls which paths were
//! already reported.

use crate::config::Config;
use crate::reader::{Notice, Reader, Sample};
use crate::{power_supply, procfs, thermal};

/// The instance's sampling state.
#[derive(Debug)]
pub struct Sampler {
    config: Config,
    reader: Reader,
}

/// What one poll produced.
#[derive(Debug, Default, PartialEq)]
pub struct Poll {
    /// In source order.
    pub samples: Vec<Sample>,
    /// Paths reported for the first time in this poll.
    pub notices: Vec<Notice>,
}

impl Sampler {
    /// A sampler that has reported nothing yet.
    pub fn new(config: Config) -> Sampler {
        Sampler {
            config,
            reader: Reader::default(),
        }
    }

    /// Reads every enabled source once.
    pub fn poll(&mut self) -> Poll {
        let root = self.config.root.as_path();
        let reader = &mut self.reader;
        let mut samples = Vec::new();
        if self.config.thermal {
            thermal::collect(reader, root, &mut samples);
        }
        if self.config.power_supply {
            power_supply::collect(reader, root, &mut samples);
        }
        if self.config.loadavg {
            procfs::collect_loadavg(reader, root, &mut samples);
        }
        if self.config.memory {
            procfs::collect_meminfo(reader, root, &mut samples);
        }
        Poll {
            samples,
            notices: reader.take_notices(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tree::Tree;

    fn full_tree() -> Tree {
        let tree = Tree::new();
        tree.file("sys/class/thermal/thermal_zone0/temp", "40000\n");
        tree.file("sys/class/thermal/thermal_zone0/type", "cpu\n");
        tree.file("sys/class/power_supply/AC/type", "Mains\n");
        tree.file("sys/class/power_supply/AC/online", "1\n");
        tree.file("proc/loadavg", "0.1 0.2 0.3 1/1 1\n");
        tree.file("proc/meminfo", "MemTotal: 4 kB\nMemAvailable: 2 kB\n");
        tree
    }

    fn names(poll: &Poll) -> Vec<&str> {
        poll.samples.iter().map(|s| s.name.as_str()).collect()
    }

    fn sampler(tree: &Tree, flags: &str) -> Sampler {
        let json = format!(r#"{{"root": {:?}, {flags}}}"#, tree.root());
        Sampler::new(Config::from_json(&json).unwrap())
    }

    #[test]
    fn every_source_in_order() {
        let tree = full_tree();
        let poll = sampler(&tree, r#""thermal": true"#).poll();
        assert_eq!(
            names(&poll),
            [
                "thermal/thermal_zone0/temp",
                "power_supply/AC/online",
                "loadavg/1m",
                "loadavg/5m",
                "loadavg/15m",
                "memory/total",
                "memory/available",
            ]
        );
    }

    #[test]
    fn disabled_sources_are_not_read() {
        let tree = full_tree();
        let all = sampler(&tree, r#""thermal": true"#).poll();
        for source in ["thermal", "power_supply", "loadavg", "memory"] {
            let poll = sampler(&tree, &format!(r#""{source}": false"#)).poll();
            let expected: Vec<_> = names(&all)
                .into_iter()
                .filter(|name| !name.starts_with(&format!("{source}/")))
                .collect();
            assert!(
                expected.len() < names(&all).len(),
                "{source} is in the tree"
            );
            assert_eq!(names(&poll), expected, "{source} = false");
        }
    }

    #[test]
    fn a_missing_source_is_reported_in_the_first_poll_only() {
        let tree = full_tree();
        std::fs::remove_file(tree.root().join("proc/loadavg")).unwrap();
        let mut sampler = sampler(&tree, r#""thermal": true"#);
        let first = sampler.poll();
        let about_loadavg = first
            .notices
            .iter()
            .filter(|n| n.message.contains("proc/loadavg"))
            .count();
        assert_eq!(about_loadavg, 1, "{:?}", first.notices);
        let second = sampler.poll();
        assert!(second.notices.is_empty(), "{:?}", second.notices);
        assert_eq!(names(&first), names(&second));
    }
}
