//! The `edge-agent` binary: parse the command line, load the configuration,
//! set up logging, run the command. The only place that uses `anyhow`.

mod cli;
mod console;
#[cfg(feature = "sim")]
mod demo_cli;
mod plugin_cli;
mod queue_cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use edge_agent::config::{Config, ConfigError, LoadedConfig, LogFilter};
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ModemCommand, PluginCommand};
use edge_agent::daemon::{self, RunMode};
use edge_agent::modem::{self, ModemLink};

/// Exit status for an invalid configuration or environment, as for a wrong
/// command line (clap's own usage errors exit with 2 too).
const EXIT_INVALID: u8 = 2;

fn main() -> ExitCode {
    // On a usage error clap prints it and exits with 2; on --help, with 0.
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(ConfigError::NotFound { .. }) = error.downcast_ref() {
                eprintln!(
                    "hint: pass --config FILE (configs/lexi-r10.toml is a commented example)"
                );
            }
            let invalid = error.is::<ConfigError>() || error.is::<InvalidRustLog>();
            ExitCode::from(if invalid { EXIT_INVALID } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Inspecting a plugin reads no configuration: it is how one writes it.
    if let Command::Plugin(PluginCommand::Inspect { path }) = &cli.command {
        return plugin_cli::inspect(path);
    }
    let loaded = Config::load_with_env(cli.config_path(), std::env::vars_os())?;
    init_logging(&loaded.config.agent.log_level)?;
    tracing::debug!(config = %loaded.path.display(), "configuration loaded");
    match cli.command {
        Command::Check => check(&loaded),
        Command::Run { once } => runtime()?.block_on(run_agent(&loaded, once)),
        #[cfg(feature = "sim")]
        Command::Demo {
            duration,
            plugin_dir,
        } => runtime()?.block_on(demo_cli::run(loaded, duration, plugin_dir)),
        #[cfg(not(feature = "sim"))]
        Command::Demo { .. } => {
            anyhow::bail!("this edge-agent was built without the demo (the `sim` feature)")
        }
        Command::Modem(ModemCommand::Info) => runtime()?.block_on(modem_info(&loaded)),
        Command::At { linger } => runtime()?.block_on(console::run(&loaded, linger)),
        Command::Queue(command) => queue_cli::run(&loaded, &command),
        Command::Plugin(PluginCommand::Inspect { path }) => plugin_cli::inspect(&path),
    }
}

/// One thread is plenty for a serial line and a few timers, and it is what a
/// battery gateway can afford.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `edge-agent run [--once]`.
async fn run_agent(loaded: &LoadedConfig, once: bool) -> anyhow::Result<()> {
    let mode = if once { RunMode::Once } else { RunMode::Daemon };
    let shutdown = shutdown_signal()?;
    let notifier = edge_agent::notify::Notifier::from_env();
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

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd's stop). The handlers are
/// installed when this is called, not when the future is first polled: a
/// signal during boot must not kill the agent with its default action.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
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

/// `edge-agent modem info`: boot the module and say who and where it is.
async fn modem_info(loaded: &LoadedConfig) -> anyhow::Result<()> {
    let modem_config = &loaded.config.modem;
    let link = ModemLink::open(&modem_config.link_settings()).await?;
    let settings = modem_config.boot_settings();
    let info = modem::boot(&link.client, &settings)
        .await
        .with_context(|| format!("cannot bring up the module on {}", link.path.display()))?;
    let id = &info.identity;
    let unknown = || "(none)".to_string();
    println!("port:         {}", link.path.display());
    println!("manufacturer: {}", id.manufacturer);
    println!("model:        {}", id.model);
    println!("firmware:     {}", id.firmware);
    println!("IMEI:         {}", id.imei);
    println!("registration: {}", info.registration.describe());
    println!(
        "operator:     {}",
        info.operator.clone().unwrap_or_else(unknown)
    );
    println!(
        "address:      {}",
        info.address.clone().unwrap_or_else(unknown)
    );
    if info.reconfigured {
        println!(
            "note:         the module's MNO profile or APN was updated to match the configuration"
        );
    }
    Ok(())
}

/// `edge-agent check`: print the effective configuration.
fn check(loaded: &LoadedConfig) -> anyhow::Result<()> {
    let text = loaded
        .effective_toml()
        .context("cannot render the effective configuration")?;
    print_stdout(&text)
}

/// Writes `text` to stdout; a reader that closed the pipe early
/// (`edge-agent check | head`) is not a failure.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// `RUST_LOG` is set but is not a valid filter.
#[derive(Debug, thiserror::Error)]
#[error("RUST_LOG={value:?} is not a valid log filter: {reason}")]
struct InvalidRustLog {
    value: String,
    reason: String,
}

/// Logs to stderr, filtered by `RUST_LOG` when set, else by `agent.log_level`.
fn init_logging(level: &LogFilter) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| InvalidRustLog {
                reason: e.to_string(),
                value,
            })?
        }
        // Validated when the configuration was loaded.
        _ => EnvFilter::try_new(level.as_str()).context("invalid agent.log_level")?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
