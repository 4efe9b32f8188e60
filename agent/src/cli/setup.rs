//! What the commands that read a configuration share: loading it (with its
//! drop-ins and the environment) and then setting up logging as it says,
//! the async runtime, and the shutdown signal.

use std::path::Path;

use anyhow::Context;
use edge_agent::config::{Config, LoadedConfig};

use super::args::LogFormat;
use super::logging;

/// Loads the configuration at `path` (its `conf.d/` drop-ins and the
/// `EDGE_AGENT_*` variables merged in) and starts logging as it and `log`
/// say.
pub fn load(path: &Path, log: LogFormat) -> anyhow::Result<LoadedConfig> {
    let loaded = Config::load_with_env(path, std::env::vars_os())?;
    logged(loaded, log)
}

/// Starts logging as `loaded` and `log` say, and hands `loaded` back.
pub fn logged(loaded: LoadedConfig, log: LogFormat) -> anyhow::Result<LoadedConfig> {
    logging::init(&loaded.config.agent.log_level, log)?;
    tracing::debug!(
        config = %loaded.path.display(),
        drop_ins = loaded.drop_ins.len(),
        "configuration loaded"
    );
    Ok(loaded)
}

/// One thread is plenty for a serial line and a few timers, and it is what a
/// battery gateway can afford.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd's stop). The handlers are
/// installed when this is called, not when the future is first polled: a
/// signal during boot must not kill the agent with its default action.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
    })
}
