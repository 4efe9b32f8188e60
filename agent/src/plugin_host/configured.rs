//! From the `[[plugins]]` entries (as [`PluginEntry`]s, which `config`
//! builds) to instances ready to start: every configured library loaded
//! (checked, pinned, never unloaded), and the ones that failed, each with its
//! reason.
//!
//! A plugin that cannot be loaded does not stop the agent: the heartbeat and
//! every other plugin still matter on a gateway nobody can reach, so the
//! failure is logged as an error, reported, and the agent runs without it.

use tracing::{error, info};

use super::load::{load, LoadError, LoadRequest};
use super::pin::sha256_hex;
use super::runtime::InstanceSpec;
use std::time::Duration;

/// A configured plugin that could not be loaded.
#[derive(Debug)]
pub struct LoadFailure {
    /// The instance's configured name.
    pub name: String,
    pub error: LoadError,
}

/// What one `[[plugins]]` entry asks for: a library to load and an
/// instance of it to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEntry {
    /// The library and its pin.
    pub request: LoadRequest,
    /// The instance's name (`plugins[].name`).
    pub name: String,
    /// The instance's own settings as JSON (`plugins[].config`).
    pub config_json: String,
    /// How often it is polled.
    pub interval: Duration,
    /// The deadline of a call into it.
    pub timeout: Duration,
    /// The longest pause after repeated failures.
    pub max_backoff: Duration,
}

impl PluginEntry {
    /// The instance this entry describes, running `api`.
    pub fn instance(&self, api: super::PluginApi) -> InstanceSpec {
        InstanceSpec {
            name: self.name.clone(),
            api,
            config_json: self.config_json.clone(),
            interval: self.interval,
            timeout: self.timeout,
            max_backoff: self.max_backoff,
        }
    }
}

/// Loads every configured plugin, in configuration order.
pub fn load_configured(entries: &[PluginEntry]) -> (Vec<InstanceSpec>, Vec<LoadFailure>) {
    let mut specs = Vec::with_capacity(entries.len());
    let mut failures = Vec::new();
    for entry in entries {
        let name = entry.name.as_str();
        match load(&entry.request) {
            Ok(loaded) => {
                info!(
                    plugin = name,
                    path = %loaded.path.display(),
                    library = %loaded.api.name,
                    version = %loaded.api.version,
                    abi = %format_args!("{}.{}", loaded.api.abi_major, loaded.api.abi_minor),
                    sha256 = %sha256_hex(&loaded.sha256),
                    "plugin loaded"
                );
                specs.push(entry.instance(loaded.api));
            }
            Err(e) => {
                error!(plugin = name, error = %e, "plugin not loaded; running without it");
                failures.push(LoadFailure {
                    name: name.to_owned(),
                    error: e,
                });
            }
        }
    }
    (specs, failures)
}
