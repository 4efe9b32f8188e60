//! `sysfs`: the Linux readings every gateway has, read from `/sys` and
//! `/proc` at each poll. Poll-only.
//!
//! # Configuration (`[plugins.config]`; every key optional)
//!
//! | key | default | reads |
//! |---|---|---|
//! | `thermal` | `true` | `/sys/class/thermal/thermal_zone*/temp` |
//! | `power_supply` | `true` | `/sys/class/power_supply/*/{capacity,voltage_now,current_now,status,online}` |
//! | `loadavg` | `true` | `/proc/loadavg` |
//! | `memory` | `true` | `/proc/meminfo` |
//! | `root` | `"/"` | the directory `sys/` and `proc/` are read under (a fake tree in tests) |
//!
//! At least one source must be enabled, and `root` must be a directory.
//! Unknown keys are refused at `create`, naming the key.
//!
//! # Readings
//!
//! | name | unit | value |
//! |---|---|---|
//! | `thermal/<zone>/temp` | `Cel` | number (the kernel's milli-°C / 1000), tag `type` = the zone's `type` |
//! | `power_supply/<supply>/capacity` | `%` | integer |
//! | `power_supply/<supply>/voltage_now` | `V` | number (µV / 10⁶) |
//! | `power_supply/<supply>/current_now` | `A` | number (µA / 10⁶; negative while discharging on some drivers) |
//! | `power_supply/<supply>/status` | none | text: `Charging`, `Discharging`, `Full`, `Not charging`, `Unknown` |
//! | `power_supply/<supply>/online` | none | boolean |
//! | `loadavg/1m`, `loadavg/5m`, `loadavg/15m` | none | number |
//! | `memory/total`, `memory/available`, `memory/swap_free` | `By` | integer (kB × 1024; `swap_free` only if the kernel reports it) |
//!
//! `power_supply` readings carry the tag `type` = the supply's `type`
//! (`Battery`, `Mains`, `USB`). A file that is missing or unreadable is
//! skipped and logged once at debug level; one whose content does not parse
//! is skipped and logged once as a warning; neither is logged again while
//! the instance lives.

pub mod config;
pub mod power_supply;
pub mod procfs;
pub mod reader;
pub mod sampler;
pub mod thermal;

#[cfg(test)]
mod test_tree;

use edge_agent_sdk::{Error, Host, Plugin, Reading, Value};

use crate::config::Config;
use crate::reader::{NoticeLevel, SampleValue};
use crate::sampler::Sampler;

/// One instance of the plugin.
#[derive(Debug)]
pub struct Sysfs {
    host: Host,
    sampler: Sampler,
}

impl Plugin for Sysfs {
    fn create(host: Host, config: &str) -> Result<Self, Error> {
        let config = Config::from_json(config).map_err(|e| Error::config(e.to_string()))?;
        Ok(Sysfs {
            host,
            sampler: Sampler::new(config),
        })
    }

    fn poll(&mut self) -> Result<(), Error> {
        let poll = self.sampler.poll();
        for notice in &poll.notices {
            match notice.level {
                NoticeLevel::Debug => self.host.debug(&notice.message),
                NoticeLevel::Warn => self.host.warn(&notice.message),
            }
        }
        let tags: Vec<Vec<(&str, &str)>> = poll
            .samples
            .iter()
            .map(|s| s.tags.iter().map(|(k, v)| (*k, v.as_str())).collect())
            .collect();
        let readings: Vec<Reading<'_>> = poll
            .samples
            .iter()
            .zip(&tags)
            .map(|(sample, tags)| {
                let value = match &sample.value {
                    SampleValue::F64(v) => Value::F64(*v),
                    SampleValue::I64(v) => Value::I64(*v),
                    SampleValue::Bool(v) => Value::Bool(*v),
                    SampleValue::Str(v) => Value::Str(v),
                };
                Reading::new(&sample.name, value)
                    .unit(sample.unit.unwrap_or(""))
                    .tags(tags)
            })
            .collect();
        if !readings.is_empty() {
            // Whatever the status, the next poll reads anew: the host logs
            // rejected readings and counts dropped ones.
            self.host.emit(&readings);
        }
        Ok(())
    }
}

edge_agent_sdk::export_plugin!(Sysfs, name = "sysfs", version = env!("CARGO_PKG_VERSION"));
