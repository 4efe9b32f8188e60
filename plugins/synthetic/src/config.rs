//! The instance's configuration: the JSON of its `[plugins.config]` table,
//! parsed and checked once in `create`, so polling never meets a bad value
//! and the host never has to reject a reading this plugin made.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use edge_agent_sdk::abi::{
    MAX_NAME_LEN, MAX_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_UNIT_LEN, MAX_VALUE_LEN,
};
use serde::Deserialize;

use crate::pattern::{Pattern, Shape};

/// The name of the reading that carries `payload_bytes`.
pub const PAYLOAD_NAME: &str = "payload";

/// 2026-01-01T00:00:00Z: the default first timestamp of synthetic time.
pub const DEFAULT_START_NS: i64 = 1_767_225_600_000_000_000;

/// One second: the default step of synthetic time.
pub const DEFAULT_STEP_NS: i64 = 1_000_000_000;

/// A checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Seeds the random walks and the payload bytes.
    pub seed: u64,
    /// In the order they are emitted within a round.
    pub series: Vec<Series>,
    /// Rounds (one reading per series) per poll, at least 1.
    pub per_poll: u32,
    /// Length of the `payload` reading; 0 for none.
    pub payload_bytes: usize,
    /// Every Nth reading is urgent; 0 for none.
    pub urgent_every: u64,
    /// Readings per second of the push thread; 0 for a polled sensor.
    pub push_rate: f64,
    /// Added to every reading.
    pub tags: Vec<(String, String)>,
    /// Where timestamps come from.
    pub timestamps: Timestamps,
}

/// One configured series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The reading's name, unique within the instance.
    pub name: String,
    /// Empty for none.
    pub unit: String,
    /// How its value moves.
    pub shape: Shape,
}

/// Where readings' timestamps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamps {
    /// Timestamp 0: the host stamps each reading when it is emitted.
    Host,
    /// Sample `i` is stamped `start_ns + i·step_ns`, so runs are identical
    /// to the nanosecond.
    Synthetic { start_ns: i64, step_ns: i64 },
}

/// A configuration that cannot be used, with the key that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `series[1].period`, or empty when the whole document is wrong.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses and checks the instance's config JSON (empty means `{}`).
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            ConfigError {
                // The path of an unknown key is its parent, which the
                // message completes ("unknown field `sede`").
                key: if path == "." { String::new() } else { path },
                message: e.into_inner().to_string(),
            }
        })?;
        raw.check()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    seed: u64,
    series: Vec<RawSeries>,
    per_poll: u32,
    payload_bytes: usize,
    urgent_every: u64,
    push_rate: f64,
    tags: BTreeMap<String, String>,
    timestamps: TimestampMode,
    start_ns: Option<i64>,
    step_ns: Option<i64>,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            seed: 0,
            series: vec![RawSeries {
                name: "temperature".into(),
                unit: "Cel".into(),
                pattern: Pattern::Sine,
                period: 60,
                amplitude: 5.0,
                offset: 20.0,
            }],
            per_poll: 1,
            payload_bytes: 0,
            urgent_every: 0,
            push_rate: 0.0,
            tags: BTreeMap::new(),
            timestamps: TimestampMode::Host,
            start_ns: None,
            step_ns: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    name: String,
    #[serde(default)]
    unit: String,
    #[serde(default = "default_pattern")]
    pattern: Pattern,
    #[serde(default = "default_period")]
    period: u64,
    #[serde(default = "default_amplitude")]
    amplitude: f64,
    #[serde(default)]
    offset: f64,
}

fn default_pattern() -> Pattern {
    Pattern::Sine
}

fn default_period() -> u64 {
    60
}

fn default_amplitude() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TimestampMode {
    Host,
    Synthetic,
}

fn error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

impl RawConfig {
    fn check(self) -> Result<Config, ConfigError> {
        if self.series.is_empty() && self.payload_bytes == 0 {
            return Err(error(
                "series",
                "is empty and payload_bytes is 0: the instance would emit nothing",
            ));
        }
        let mut names = HashSet::new();
        if self.payload_bytes > 0 {
            names.insert(PAYLOAD_NAME.to_string());
        }
        let mut series = Vec::with_capacity(self.series.len());
        for (index, raw) in self.series.into_iter().enumerate() {
            let key = |field: &str| format!("series[{index}].{field}");
            if raw.name.is_empty() || raw.name.len() > MAX_NAME_LEN {
                return Err(error(
                    key("name"),
                    format!("must be 1 to {MAX_NAME_LEN} bytes"),
                ));
            }
            if !names.insert(raw.name.clone()) {
                return Err(error(
                    key("name"),
                    format!(
                        "`{}` is already used by another series or the payload",
                        raw.name
                    ),
                ));
            }
            if raw.unit.len() > MAX_UNIT_LEN {
                return Err(error(
                    key("unit"),
                    format!("longer than {MAX_UNIT_LEN} bytes"),
                ));
            }
            if raw.period == 0 {
                return Err(error(key("period"), "must be at least 1 sample"));
            }
            if !(raw.amplitude.is_finite() && raw.amplitude >= 0.0) {
                return Err(error(key("amplitude"), "must be a finite number >= 0"));
            }
            let (low, high) = (raw.offset - raw.amplitude, raw.offset + raw.amplitude);
            if !(raw.offset.is_finite() && low.is_finite() && high.is_finite()) {
                return Err(error(key("offset"), "offset ± amplitude must be finite"));
            }
            series.push(Series {
                name: raw.name,
                unit: raw.unit,
                shape: Shape {
                    pattern: raw.pattern,
                    period: raw.period,
                    amplitude: raw.amplitude,
                    offset: raw.offset,
                },
            });
        }
        if self.per_poll == 0 {
            return Err(error("per_poll", "must be at least 1"));
        }
        if self.payload_bytes > MAX_VALUE_LEN {
            return Err(error(
                "payload_bytes",
                format!("the host takes values of at most {MAX_VALUE_LEN} bytes"),
            ));
        }
        if !(self.push_rate.is_finite() && self.push_rate >= 0.0) {
            return Err(error("push_rate", "must be a finite number >= 0"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(error("tags", format!("at most {MAX_TAGS} tags")));
        }
        for (tag_key, value) in &self.tags {
            if tag_key.is_empty() || tag_key.len() > MAX_TAG_KEY_LEN {
                return Err(error(
                    format!("tags.{tag_key}"),
                    format!("a tag key must be 1 to {MAX_TAG_KEY_LEN} bytes"),
                ));
            }
            if value.len() > MAX_TAG_VALUE_LEN {
                return Err(error(
                    format!("tags.{tag_key}"),
                    format!("a tag value must be at most {MAX_TAG_VALUE_LEN} bytes"),
                ));
            }
        }
        let timestamps = match self.timestamps {
            TimestampMode::Host => {
                for (key, given) in [("start_ns", self.start_ns), ("step_ns", self.step_ns)] {
                    if given.is_some() {
                        return Err(error(key, "only used with timestamps = \"synthetic\""));
                    }
                }
                Timestamps::Host
            }
            TimestampMode::Synthetic => {
                let start_ns = self.start_ns.unwrap_or(DEFAULT_START_NS);
                let step_ns = self.step_ns.unwrap_or(DEFAULT_STEP_NS);
                if start_ns <= 0 {
                    return Err(error(
                        "start_ns",
                        "must be > 0 (0 means \"now\" to the host)",
                    ));
                }
                if step_ns < 0 {
                    return Err(error("step_ns", "must be >= 0"));
                }
                Timestamps::Synthetic { start_ns, step_ns }
            }
        };
        Ok(Config {
            seed: self.seed,
            series,
            per_poll: self.per_poll,
            payload_bytes: self.payload_bytes,
            urgent_every: self.urgent_every,
            push_rate: self.push_rate,
            tags: self.tags.into_iter().collect(),
            timestamps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(json: &str) -> String {
        match Config::from_json(json) {
            Ok(config) => panic!("{json} was accepted: {config:?}"),
            Err(e) => {
                assert!(
                    e.to_string().contains(&e.key),
                    "the message names the key: {e}"
                );
                e.to_string()
            }
        }
    }

    #[test]
    fn empty_config_is_one_temperature_sine() {
        for json in ["", "{}", "  \n"] {
            let config = Config::from_json(json).unwrap();
            assert_eq!(config.series.len(), 1);
            let series = &config.series[0];
            assert_eq!(
                (series.name.as_str(), series.unit.as_str()),
                ("temperature", "Cel")
            );
            assert_eq!(series.shape.pattern, Pattern::Sine);
            assert_eq!((config.per_poll, config.payload_bytes), (1, 0));
            assert_eq!(config.push_rate, 0.0);
            assert_eq!(config.timestamps, Timestamps::Host);
        }
    }

    #[test]
    fn every_key_is_read() {
        let config = Config::from_json(
            r#"{"seed": 42, "per_poll": 3, "payload_bytes": 100, "urgent_every": 5,
                "push_rate": 250.5, "tags": {"site": "lab"},
                "timestamps": "synthetic", "start_ns": 1000, "step_ns": 10,
                "series": [{"name": "v", "unit": "V", "pattern": "random-walk",
                            "period": 7, "amplitude": 0.5, "offset": 12}]}"#,
        )
        .unwrap();
        assert_eq!(config.seed, 42);
        assert_eq!(
            (config.per_poll, config.payload_bytes, config.urgent_every),
            (3, 100, 5)
        );
        assert_eq!(config.push_rate, 250.5);
        assert_eq!(config.tags, vec![("site".to_string(), "lab".to_string())]);
        assert_eq!(
            config.timestamps,
            Timestamps::Synthetic {
                start_ns: 1000,
                step_ns: 10
            }
        );
        assert_eq!(
            config.series,
            vec![Series {
                name: "v".into(),
                unit: "V".into(),
                shape: Shape {
                    pattern: Pattern::RandomWalk,
                    period: 7,
                    amplitude: 0.5,
                    offset: 12.0
                }
            }]
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(key_of(r#"{"sede": 1}"#).contains("`sede`"));
        let nested = key_of(r#"{"series": [{"name": "a", "perod": 3}]}"#);
        assert!(
            nested.contains("series[0]") && nested.contains("`perod`"),
            "{nested}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        assert!(key_of(r#"{"seed": "x"}"#).starts_with("seed: "));
        assert!(
            key_of(r#"{"series": [{"name": "a", "pattern": "triangle"}]}"#)
                .starts_with("series[0].pattern: ")
        );
        assert!(key_of(r#"{"timestamps": "gps"}"#).starts_with("timestamps: "));
        assert!(key_of(r#"{"series": [{"unit": "V"}]}"#).contains("`name`"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases = [
            (r#"{"series": []}"#, "series: "),
            (r#"{"series": [{"name": ""}]}"#, "series[0].name: "),
            (
                r#"{"series": [{"name": "a"}, {"name": "a"}]}"#,
                "series[1].name: ",
            ),
            (
                r#"{"payload_bytes": 1, "series": [{"name": "payload"}]}"#,
                "series[0].name: ",
            ),
            (
                r#"{"series": [{"name": "a", "period": 0}]}"#,
                "series[0].period: ",
            ),
            (
                r#"{"series": [{"name": "a", "amplitude": -1}]}"#,
                "series[0].amplitude: ",
            ),
            (
                r#"{"series": [{"name": "a", "offset": 1e308, "amplitude": 1e308}]}"#,
                "series[0].offset: ",
            ),
            (r#"{"per_poll": 0}"#, "per_poll: "),
            (r#"{"payload_bytes": 4097}"#, "payload_bytes: "),
            (r#"{"push_rate": -1}"#, "push_rate: "),
            (r#"{"tags": {"": "x"}}"#, "tags.: "),
            (r#"{"start_ns": 5}"#, "start_ns: "),
            (
                r#"{"timestamps": "synthetic", "start_ns": 0}"#,
                "start_ns: ",
            ),
            (r#"{"timestamps": "synthetic", "step_ns": -1}"#, "step_ns: "),
        ];
        for (json, prefix) in cases {
            let message = key_of(json);
            assert!(message.starts_with(prefix), "{json}: {message}");
        }
        let long_unit = format!(
            r#"{{"series": [{{"name": "a", "unit": "{}"}}]}}"#,
            "u".repeat(33)
        );
        assert!(key_of(&long_unit).starts_with("series[0].unit: "));
        let many_tags: BTreeMap<String, String> = (0..17)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let json = serde_json::json!({ "tags": many_tags }).to_string();
        assert!(key_of(&json).starts_with("tags: "));
    }

    #[test]
    fn payload_only_is_allowed() {
        let config = Config::from_json(r#"{"series": [], "payload_bytes": 4096}"#).unwrap();
        assert!(config.series.is_empty());
        assert_eq!(config.payload_bytes, 4096);
    }

    #[test]
    fn synthetic_time_has_defaults() {
        let config = Config::from_json(r#"{"timestamps": "synthetic"}"#).unwrap();
        assert_eq!(
            config.timestamps,
            Timestamps::Synthetic {
                start_ns: DEFAULT_START_NS,
                step_ns: DEFAULT_STEP_NS
            }
        );
    }
}
