//! `edge-agent run [--once | --test]`: the agent itself, as a daemon until
//! SIGINT/SIGTERM or for one upload window; `--test` is `run_test.rs`.

use edge_agent::config::LoadedConfig;
use edge_agent::daemon::{self, RunMode};
use edge_agent::notify::Notifier;

use super::args::{ConfigArg, LogFormat};
use super::{run_test, setup};

/// Runs `run` with its flags.
pub fn run(args: &ConfigArg, once: bool, test: bool, log: LogFormat) -> anyhow::Result<()> {
    let loaded = setup::load(&args.config, log)?;
    let runtime = setup::runtime()?;
    if test {
        return runtime.block_on(run_test::run(&loaded.config));
    }
    runtime.block_on(run_agent(&loaded, once))
}

async fn run_agent(loaded: &LoadedConfig, once: bool) -> anyhow::Result<()> {
    let mode = if once { RunMode::Once } else { RunMode::Daemon };
    let shutdown = setup::shutdown_signal()?;
    let notifier = Notifier::from_env();
    let report = daemon::run(&loaded.config, mode, shutdown, notifier).await?;
    tracing::info!(
        messages = report.messages,
        delivered = report.delivered,
        pending = report.pending,
        "agent stopped"
    );
    if once && report.dead_lettered > 0 {
        anyhow::bail!(
            "{} readings of this window went to the dead letters ({}); they will not be sent \
             (`edge-agent queue stats` counts them)",
            report.dead_lettered,
            report.dead_reason.as_deref().unwrap_or("refused")
        );
    }
    if once && report.pending > 0 {
        anyhow::bail!(
            "{} readings could not be uploaded in this window; they stay queued",
            report.pending
        );
    }
    Ok(())
}
