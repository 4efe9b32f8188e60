//! `synthetic`: a deterministic sensor plugin for demos, tests and
//! benchmarks. Every value is a pure function of (`seed`, series index,
//! sample index), so two runs with the same config emit the same values
//! (and, with `timestamps = "synthetic"`, the same timestamps).
//!
//! # Configuration (`[plugins.config]`; every key optional)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `seed` | `0` | seeds the random walk and the payload bytes |
//! | `series` | one `temperature`, `Cel`, `sine`, period 60, amplitude 5, offset 20 | list of series, below |
//! | `per_poll` | `1` | rounds (one reading per series) per poll |
//! | `payload_bytes` | `0` | if > 0, each poll also emits a `payload` reading of that many bytes (at most 4096), the same bytes every time for a seed |
//! | `urgent_every` | `0` | every Nth reading (counting all readings of the instance) is urgent; 0 for none |
//! | `push_rate` | `0` | readings per second; > 0 makes the plugin push-style: `start` runs a thread emitting at that rate (one `payload` per round then) until `stop`, and `poll` is unsupported |
//! | `tags` | `{}` | string tags added to every reading (at most 16) |
//! | `timestamps` | `"host"` | `"host"`: the host stamps readings when emitted; `"synthetic"`: sample `i` is stamped `start_ns + i·step_ns` |
//! | `start_ns` | `1767225600000000000` (2026-01-01T00:00:00Z) | first synthetic timestamp; only with `timestamps = "synthetic"` |
//! | `step_ns` | `1000000000` (1 s) | synthetic time between samples; only with `timestamps = "synthetic"` |
//!
//! Each `series` entry: `name` (required, unique, 1 to 128 bytes), `unit`
//! (SenML, default none), `pattern` (`"sine"` default, `"sawtooth"`,
//! `"square"`, `"random-walk"`, `"counter"`, `"constant"`), `period` in
//! samples (default 60), `amplitude` (default 1), `offset` (default 0). A
//! pattern moves between `offset − amplitude` and `offset + amplitude`;
//! `counter` is an integer counting up by 1 from `offset`.
//!
//! Unknown keys and bad values are refused at `create` with a message that
//! names the key (`series[1].period: must be at least 1 sample`).
//!
//! # Readings
//!
//! One reading per series per round, named and with the unit as configured:
//! a number, or an integer for `counter`. With `payload_bytes`, a `payload`
//! reading of opaque bytes, no unit.

pub mod config;
pub mod generator;
pub mod pacer;
pub mod pattern;
mod push;

use edge_agent_sdk::{Error, Host, Plugin, Reading, Value};

use crate::config::{Config, PAYLOAD_NAME};
use crate::generator::{Generator, Sample, Slot};
use crate::pattern::SampleValue;
use crate::push::Pusher;

/// One instance of the plugin.
#[derive(Debug)]
pub struct Synthetic(Mode);

/// Polled or pushing, as `push_rate` says.
#[derive(Debug)]
enum Mode {
    Polled {
        host: Host,
        generator: Generator,
        /// Reused between polls.
        samples: Vec<Sample>,
    },
    Pushing(Pusher),
}

impl Plugin for Synthetic {
    fn create(host: Host, config: &str) -> Result<Self, Error> {
        let config = Config::from_json(config).map_err(|e| Error::config(e.to_string()))?;
        Ok(Synthetic(if config.push_rate > 0.0 {
            Mode::Pushing(Pusher::new(host, config))
        } else {
            Mode::Polled {
                host,
                generator: Generator::new(config),
                samples: Vec::new(),
            }
        }))
    }

    fn poll(&mut self) -> Result<(), Error> {
        let Mode::Polled {
            host,
            generator,
            samples,
        } = &mut self.0
        else {
            return Err(Error::unsupported());
        };
        generator.poll(samples);
        let tags: Vec<(&str, &str)> = generator
            .config()
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Whatever the status, the next poll samples anew: the host logs
        // rejected readings and counts dropped ones.
        host.emit(&readings(generator, &tags, samples));
        Ok(())
    }

    fn start(&mut self) -> Result<(), Error> {
        match &mut self.0 {
            Mode::Pushing(pusher) => pusher.start(),
            Mode::Polled { .. } => Err(Error::unsupported()),
        }
    }

    fn stop(&mut self) -> Result<(), Error> {
        match &mut self.0 {
            Mode::Pushing(pusher) => pusher.stop(),
            Mode::Polled { .. } => Err(Error::unsupported()),
        }
    }
}

/// `samples` of `generator` as SDK readings, each with `tags`.
fn readings<'a>(
    generator: &'a Generator,
    tags: &'a [(&'a str, &'a str)],
    samples: &[Sample],
) -> Vec<Reading<'a>> {
    let series = &generator.config().series;
    samples
        .iter()
        .map(|sample| {
            let (name, unit, value) = match sample.slot {
                Slot::Series { index, value } => {
                    let value = match value {
                        SampleValue::F64(v) => Value::F64(v),
                        SampleValue::I64(v) => Value::I64(v),
                    };
                    (
                        series[index].name.as_str(),
                        series[index].unit.as_str(),
                        value,
                    )
                }
                Slot::Payload => (PAYLOAD_NAME, "", Value::Bytes(generator.payload())),
            };
            let mut reading = Reading::new(name, value)
                .unit(unit)
                .at(sample.timestamp_ns)
                .tags(tags);
            if sample.urgent {
                reading = reading.urgent();
            }
            reading
        })
        .collect()
}

edge_agent_sdk::export_plugin!(
    Synthetic,
    name = "synthetic",
    version = env!("CARGO_PKG_VERSION")
);
