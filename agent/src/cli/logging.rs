//! Where log lines go and what they look like: stderr, filtered by
//! `RUST_LOG` when set, else by `agent.log_level`; text for a person, or one
//! JSON object per line (`--log-format json`) for a log shipper.
//!
//! Both formats render a field through its `Debug` or `Display`, which is
//! where [`edge_agent::config::Secret`] masks itself, so a secret is as
//! absent from JSON lines as from text.

use std::io::IsTerminal;

use anyhow::Context;
use edge_agent::config::LogFilter;
use tracing_subscriber::EnvFilter;

use super::args::LogFormat;

/// `RUST_LOG` is set but is not a valid filter.
#[derive(Debug, thiserror::Error)]
#[error("RUST_LOG={value:?} is not a valid log filter: {reason}")]
pub struct InvalidRustLog {
    value: String,
    reason: String,
}

/// Installs the process's logger.
pub fn init(level: &LogFilter, format: LogFormat) -> anyhow::Result<()> {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        // The event's fields beside timestamp, level and target, not nested
        // under "fields": what shippers (Vector, Fluent Bit) pick up as is.
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
