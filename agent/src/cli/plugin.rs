//! `edge-agent plugin inspect PATH`: load a plugin library with the agent's
//! own checks and print what it is, its SHA-256 and a `[[plugins]]` entry to
//! paste into the configuration.

use std::path::Path;

use anyhow::Context;
use edge_agent::config::{PluginName, DEFAULT_PLUGIN_INTERVAL, DEFAULT_PLUGIN_TIMEOUT};
use edge_agent::plugin_host::{self, sha256_hex, LoadedPlugin};

use super::output::print_stdout;

/// Loads `path` (unpinned, without the agent's unpinned warning: this is how
/// one learns the hash) and prints the report on stdout.
pub fn inspect(path: &Path) -> anyhow::Result<()> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("cannot make {} absolute", path.display()))?;
    let loaded = plugin_host::inspect(&absolute)?;
    print_stdout(&report(&loaded)?)
}

fn report(loaded: &LoadedPlugin) -> anyhow::Result<String> {
    let api = &loaded.api;
    let path = loaded.path.to_str().with_context(|| {
        format!(
            "the path {} is not UTF-8, which a TOML configuration cannot hold",
            loaded.path.display()
        )
    })?;
    let mut provides = Vec::new();
    if api.can_poll() {
        provides.push("poll");
    }
    if api.can_push() {
        provides.push("start/stop");
    }
    if api.takes_commands() {
        provides.push("command");
    }
    let sha256 = sha256_hex(&loaded.sha256);
    // `toml::Value`'s Display quotes and escapes, so any name and path
    // paste as valid TOML.
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    Ok(format!(
        "name:     {name}\n\
         version:  {version}\n\
         ABI:      {major}.{minor}\n\
         provides: {provides}\n\
         SHA-256:  {sha256}\n\
         \n\
         # Paste into the configuration; each entry needs its own name.\n\
         [[plugins]]\n\
         name = {instance}\n\
         path = {path}\n\
         sha256 = \"{sha256}\"\n\
         interval = \"{interval}s\"\n\
         timeout = \"{timeout}s\"\n\
         # [plugins.config]\n",
        name = api.name,
        version = api.version,
        major = api.abi_major,
        minor = api.abi_minor,
        provides = provides.join(", "),
        instance = quoted(PluginName::suggest(&api.name).as_str()),
        path = quoted(path),
        interval = DEFAULT_PLUGIN_INTERVAL.get().as_secs(),
        timeout = DEFAULT_PLUGIN_TIMEOUT.get().as_secs(),
    ))
}
