//! From the `[[plugins]]` tables to instances ready to start: every
//! configured library loaded (checked, pinned, never unloaded), and the ones
//! that failed, each with its reason.
//!
//! A plugin that cannot be loaded does not stop the agent: the heartbeat and
//! every other plugin still matter on a gateway nobody can reach, so the
//! failure is logged as an error, reported, and the agent runs without it.

use tracing::{error, info};

use super::load::{load, LoadError, LoadRequest};
use super::pin::sha256_hex;
use super::runtime::InstanceSpec;
use crate::config::PluginConfig;

/// A configured plugin that could not be loaded.
#[derive(Debug)]
pub struct LoadFailure {
    /// The instance's configured name.
    pub name: String,
    pub error: LoadError,
}

/// Loads every configured plugin, in configuration order.
pub fn load_configured(configs: &[PluginConfig]) -> (Vec<InstanceSpec>, Vec<LoadFailure>) {
    let mut specs = Vec::with_capacity(configs.len());
    let mut failures = Vec::new();
    for config in configs {
        let name = config.name.as_str();
        match load(&LoadRequest::from_config(config)) {
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
                specs.push(InstanceSpec::from_config(config, loaded.api));
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

impl InstanceSpec {
    /// The instance a `[[plugins]]` entry describes, running `api`.
    pub fn from_config(config: &PluginConfig, api: super::PluginApi) -> InstanceSpec {
        InstanceSpec {
            name: config.name.as_str().to_owned(),
            api,
            config_json: config.config_json(),
            interval: config.interval.get(),
            timeout: config.timeout.get(),
            max_backoff: config.max_backoff.get(),
        }
    }
}
