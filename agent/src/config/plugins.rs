//! `[[plugins]]`: the sensor plugins to load, one table per instance, and
//! the rules that need a whole entry or all of them (required keys, a pin
//! or an explicit `allow_unpinned`, `timeout < interval`, unique names).
//! `load.rs` runs [`check`] after deserializing and places each problem.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

use super::values::{self, text_setting, InvalidValue};
use crate::plugin_host::{parse_sha256_hex, sha256_hex, LoadRequest, Pin, PluginEntry};
use crate::values::duration::{self, Duration};

/// Default of `plugins[].interval`.
pub const DEFAULT_PLUGIN_INTERVAL: Duration = Duration::from_secs(60);
/// Default of `plugins[].timeout` for an interval of 10 s or more; shorter
/// intervals get half the interval ([`default_timeout_for`]).
pub const DEFAULT_PLUGIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `plugins[].max_backoff` (or the interval, if longer).
pub const DEFAULT_PLUGIN_MAX_BACKOFF: Duration = Duration::from_secs(3_600);
/// The longest `plugins[].name`.
pub const PLUGIN_NAME_MAX_LEN: usize = 32;

text_setting!(
    /// `plugins[].name`: 1 to 32 of `a-z 0-9 _ -`, unique among the entries.
    /// It becomes the `source` of every reading the instance emits, so it
    /// stays short and safe in topics, SenML names and line protocol.
    PluginName,
    expecting = "a plugin instance name (1 to 32 of a-z 0-9 _ -)",
    validate = validate_plugin_name
);

fn validate_plugin_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the name is empty; it becomes the `source` of the plugin's readings".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
    {
        return Err(format!(
            "plugin name {s:?} contains {c:?}: only a-z, 0-9, '_' and '-' are allowed \
             (it becomes the `source` of the plugin's readings)"
        ));
    }
    if s.len() > PLUGIN_NAME_MAX_LEN {
        return Err(format!(
            "plugin name {s:?} is {} characters long; at most {PLUGIN_NAME_MAX_LEN} are allowed",
            s.len()
        ));
    }
    Ok(())
}

impl PluginName {
    /// Not set: `check` reports the entry's name as missing.
    fn unset() -> Self {
        PluginName(String::new())
    }

    fn is_unset(&self) -> bool {
        self.0.is_empty()
    }

    /// A valid instance name made from a plugin's own (descriptor) name, for
    /// `edge-agent plugin inspect`'s snippet: lowercased, other characters
    /// replaced by `_`, cut to 32.
    pub fn suggest(plugin_name: &str) -> PluginName {
        let name: String = plugin_name
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
                _ => '_',
            })
            .take(PLUGIN_NAME_MAX_LEN)
            .collect();
        if name.is_empty() {
            PluginName("plugin".into())
        } else {
            PluginName(name)
        }
    }
}

/// One `[[plugins]]` entry: a plugin library and one instance of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// `plugins[].name`: required, unique; the `source` of its readings.
    #[serde(default = "PluginName::unset")]
    pub name: PluginName,

    /// `plugins[].path`: the shared library. Required. Relative paths are
    /// relative to the working directory; a gateway should use absolute ones.
    #[serde(default, deserialize_with = "plugin_path")]
    pub path: PathBuf,

    /// `plugins[].sha256`: the SHA-256 the file must have, 64 hex digits in
    /// either case (printed lowercase). Required unless `allow_unpinned`:
    /// whoever can write the file must not thereby run code in the agent.
    #[serde(
        default,
        deserialize_with = "sha256",
        serialize_with = "sha256_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub sha256: Option<[u8; 32]>,

    /// `plugins[].allow_unpinned`: load the file without a `sha256`, logging
    /// a warning with the hash loaded. Default false: for development only.
    /// With a `sha256` set, the pin applies and this changes nothing.
    #[serde(default)]
    pub allow_unpinned: bool,

    /// `plugins[].interval`: how often the instance is polled. Default 60 s:
    /// gateway sensors (temperatures, battery) change slowly and every poll
    /// costs a wake-up.
    #[serde(default = "default_interval", deserialize_with = "duration::positive")]
    pub interval: Duration,

    /// `plugins[].timeout`: the deadline of every call into the plugin; a
    /// call past it marks the instance wedged. Default the lesser of 5 s
    /// and half the `interval` ([`default_timeout_for`]): a sysfs read or an
    /// I2C transaction takes milliseconds, so 5 s means stuck, and a user
    /// who sets only a short interval must not get an error about a key
    /// they never wrote. Must be shorter than `interval`. Zero (which the
    /// file cannot say: it must be positive) means "not set" until loading
    /// fills in the default.
    #[serde(default = "unset_duration", deserialize_with = "duration::positive")]
    pub timeout: Duration,

    /// `plugins[].max_backoff`: after repeated errors the interval doubles
    /// up to this (collectd's `MaxReadInterval`). Default 1 h, or the
    /// `interval` if that is longer: a broken sensor is retried hourly
    /// instead of draining the battery. At least `interval`. Zero means
    /// "not set", as for `timeout`.
    #[serde(default = "unset_duration", deserialize_with = "duration::positive")]
    pub max_backoff: Duration,

    /// `[plugins.config]`: handed to the plugin's `create` as a JSON object
    /// ([`PluginConfig::config_json`]). Default empty.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
}

impl PluginConfig {
    /// What the plugin host loads and runs for this entry.
    pub fn entry(&self) -> PluginEntry {
        PluginEntry {
            request: LoadRequest {
                path: self.path.clone(),
                pin: self.sha256.map_or(Pin::Unpinned, Pin::Sha256),
            },
            name: self.name.as_str().to_owned(),
            config_json: self.config_json(),
            interval: self.interval.get(),
            timeout: self.timeout.get(),
            max_backoff: self.max_backoff.get(),
        }
    }

    /// `[plugins.config]` as the JSON object the plugin's `create` receives.
    /// TOML datetimes become their RFC 3339 text; non-finite floats, which
    /// JSON cannot express, are refused by `check` at load.
    pub fn config_json(&self) -> String {
        let object = serde_json::Value::Object(
            self.config
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        );
        object.to_string()
    }
}

fn to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Json::Object(table.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn default_interval() -> Duration {
    DEFAULT_PLUGIN_INTERVAL
}

/// A key not set, whose default depends on another ([`fill_defaults`]).
fn unset_duration() -> Duration {
    Duration::from_secs(0)
}

/// The default `plugins[].timeout` for `interval`: the lesser of
/// [`DEFAULT_PLUGIN_TIMEOUT`] and half the interval.
pub fn default_timeout_for(interval: Duration) -> Duration {
    let half = interval.get() / 2;
    if half < DEFAULT_PLUGIN_TIMEOUT.get() {
        Duration::from(half)
    } else {
        DEFAULT_PLUGIN_TIMEOUT
    }
}

/// Fills in the defaults that depend on another key: `timeout` and
/// `max_backoff` from `interval`.
pub(crate) fn fill_defaults(plugins: &mut [PluginConfig]) {
    for plugin in plugins {
        if plugin.timeout.is_zero() {
            plugin.timeout = default_timeout_for(plugin.interval);
        }
        if plugin.max_backoff.is_zero() {
            plugin.max_backoff = DEFAULT_PLUGIN_MAX_BACKOFF.max(plugin.interval);
        }
    }
}

fn plugin_path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let s = values::text(d, "the path of the plugin's shared library")?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom(
            "the path is empty; set it to the plugin's shared library",
        ));
    }
    Ok(PathBuf::from(s))
}

fn sha256<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
    let s = values::text(d, "a SHA-256 as 64 hex digits")?;
    parse_sha256_hex(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid value: {e}")))
}

fn sha256_text<S: Serializer>(digest: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match digest {
        Some(digest) => s.serialize_str(&sha256_hex(digest)),
        None => s.serialize_none(),
    }
}

/// A problem with one entry that deserializing cannot see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryProblem {
    /// Index into `plugins`.
    pub(crate) index: usize,
    /// The key inside the entry (`timeout`, `config.limits.max`).
    pub(crate) key: Vec<String>,
    pub(crate) message: String,
}

/// The rules across keys and entries, in entry order.
pub(crate) fn check(plugins: &[PluginConfig]) -> Vec<EntryProblem> {
    let mut problems = Vec::new();
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for (index, plugin) in plugins.iter().enumerate() {
        let mut problem = |key: &[&str], message: String| {
            problems.push(EntryProblem {
                index,
                key: key.iter().map(|k| (*k).to_owned()).collect(),
                message,
            });
        };
        if plugin.name.is_unset() {
            problem(
                &["name"],
                "required key is missing: every [[plugins]] entry needs a `name`, 1 to 32 of \
                 a-z 0-9 _ - (it becomes the `source` of the plugin's readings)"
                    .into(),
            );
        } else if let Some(first) = first_use.get(plugin.name.as_str()) {
            problem(
                &["name"],
                format!(
                    "the name {:?} is already used by plugins[{first}]; each entry needs its own \
                     (it becomes the `source` of the plugin's readings)",
                    plugin.name.as_str()
                ),
            );
        } else {
            first_use.insert(plugin.name.as_str(), index);
        }
        if plugin.path.as_os_str().is_empty() {
            problem(
                &["path"],
                "required key is missing: the path of the plugin's shared library".into(),
            );
        }
        if plugin.sha256.is_none() && !plugin.allow_unpinned {
            problem(
                &["sha256"],
                "required key is missing: pin the plugin by its SHA-256 \
                 (`edge-agent plugin inspect PATH` prints it, with a ready [[plugins]] entry), \
                 or set `allow_unpinned = true` to load it unpinned (development only)"
                    .into(),
            );
        }
        if plugin.timeout >= plugin.interval {
            problem(
                &["timeout"],
                format!(
                    "invalid value: {} is not shorter than interval ({}): a call may not run \
                     into the next one",
                    plugin.timeout, plugin.interval
                ),
            );
        }
        if plugin.max_backoff < plugin.interval {
            problem(
                &["max_backoff"],
                format!(
                    "invalid value: {} is shorter than interval ({}); backing off only ever \
                     lengthens the interval",
                    plugin.max_backoff, plugin.interval
                ),
            );
        }
        let mut path = vec!["config".to_owned()];
        non_finite_floats(&plugin.config, &mut path, &mut |key| {
            problems.push(EntryProblem {
                index,
                key,
                message: "invalid value: nan and inf cannot be passed to a plugin in JSON".into(),
            });
        });
    }
    problems
}

fn non_finite_floats(
    table: &toml::Table,
    path: &mut Vec<String>,
    found: &mut dyn FnMut(Vec<String>),
) {
    for (key, value) in table {
        path.push(key.clone());
        non_finite_value(value, path, found);
        path.pop();
    }
}

fn non_finite_value(
    value: &toml::Value,
    path: &mut Vec<String>,
    found: &mut dyn FnMut(Vec<String>),
) {
    match value {
        toml::Value::Float(f) if !f.is_finite() => found(path.clone()),
        toml::Value::Table(table) => non_finite_floats(table, path, found),
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                non_finite_value(item, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "plugins_tests.rs"]
mod tests;
