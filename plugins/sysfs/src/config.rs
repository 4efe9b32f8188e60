//! The instance's configuration: which sources to read and under which root,
//! parsed and checked once in `create`.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// A checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `/sys/class/thermal/thermal_zone*`.
    pub thermal: bool,
    /// `/sys/class/power_supply/*`.
    pub power_supply: bool,
    /// `/proc/loadavg`.
    pub loadavg: bool,
    /// `/proc/meminfo`.
    pub memory: bool,
    /// Prefix of `sys/` and `proc/`: `/` on a gateway, a fake tree in tests.
    pub root: PathBuf,
}

/// A configuration that cannot be used, with the key that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `root`, or empty when the whole document is wrong.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    thermal: bool,
    power_supply: bool,
    loadavg: bool,
    memory: bool,
    root: PathBuf,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            thermal: true,
            power_supply: true,
            loadavg: true,
            memory: true,
            root: PathBuf::from("/"),
        }
    }
}

impl Config {
    /// Parses and checks the instance's config JSON (empty means `{}`).
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            ConfigError {
                // The path of an unknown key is its parent, which the
                // message completes ("unknown field `thermals`").
                key: if path == "." { String::new() } else { path },
                message: e.into_inner().to_string(),
            }
        })?;
        if !(raw.thermal || raw.power_supply || raw.loadavg || raw.memory) {
            return Err(ConfigError {
                key: String::new(),
                message: "thermal, power_supply, loadavg and memory are all false: \
                          the instance would emit nothing"
                    .into(),
            });
        }
        if !raw.root.is_dir() {
            return Err(ConfigError {
                key: "root".into(),
                message: format!("`{}` is not a directory", raw.root.display()),
            });
        }
        Ok(Config {
            thermal: raw.thermal,
            power_supply: raw.power_supply,
            loadavg: raw.loadavg,
            memory: raw.memory,
            root: raw.root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        match Config::from_json(json) {
            Ok(config) => panic!("{json} was accepted: {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_read_everything_under_slash() {
        for json in ["", "{}"] {
            let config = Config::from_json(json).unwrap();
            assert_eq!(
                config,
                Config {
                    thermal: true,
                    power_supply: true,
                    loadavg: true,
                    memory: true,
                    root: PathBuf::from("/"),
                }
            );
        }
    }

    #[test]
    fn every_key_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::json!({
            "thermal": false, "power_supply": false, "loadavg": true, "memory": false,
            "root": dir.path(),
        });
        let config = Config::from_json(&json.to_string()).unwrap();
        assert_eq!(
            config,
            Config {
                thermal: false,
                power_supply: false,
                loadavg: true,
                memory: false,
                root: dir.path().to_path_buf(),
            }
        );
    }

    #[test]
    fn errors_name_the_key() {
        assert!(error(r#"{"thermals": true}"#).contains("`thermals`"));
        assert!(error(r#"{"memory": "yes"}"#).starts_with("memory: "));
        assert!(error(r#"{"root": "/no/such/dir"}"#).starts_with("root: "));
        let none = error(
            r#"{"thermal": false, "power_supply": false, "loadavg": false, "memory": false}"#,
        );
        assert!(none.contains("all false"), "{none}");
    }
}
