//! How a command ends: what it prints on stdout (a reader that closed the
//! pipe early is no failure), and, when it failed, its last words on stderr
//! (text, or a JSON line under `--log-format json`) and the exit status.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use edge_agent::config::ConfigError;

use super::args::LogFormat;
use super::logging::InvalidRustLog;
use super::utc::rfc3339_ns;

/// Exit status for an invalid configuration or environment, as for a wrong
/// command line (clap's own usage errors exit with 2 too).
const EXIT_INVALID: u8 = 2;

/// Writes `text` to stdout; a reader that closed the pipe early
/// (`edge-agent check | head`) is not a failure.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
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

/// The exit status of a command's `outcome`, after saying why it failed:
/// 0 success, 2 an invalid configuration or `RUST_LOG`, 1 anything else.
pub fn exit_status(outcome: anyhow::Result<()>, log: LogFormat) -> ExitCode {
    let Err(error) = outcome else {
        return ExitCode::SUCCESS;
    };
    let hint = match error.downcast_ref() {
        Some(ConfigError::NotFound { .. }) => {
            Some("pass --config FILE (`edge-agent config` prints a commented sample to start from)")
        }
        _ => None,
    };
    let message = format!("{error:#}");
    match log {
        LogFormat::Text => {
            eprintln!("error: {message}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
        }
        // Written here rather than through the logger, which may not be set
        // up (the configuration that says how was invalid) or may filter
        // errors out: a shipper still gets the reason, as one JSON line.
        LogFormat::Json => {
            let now_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            let line = ErrorLine {
                timestamp: rfc3339_ns(now_ns),
                level: "ERROR",
                message: &message,
                hint,
                target: "edge_agent",
            };
            let line = serde_json::to_string(&line).unwrap_or_else(|_| message.clone());
            eprintln!("{line}");
        }
    }
    let invalid = error.is::<ConfigError>() || error.is::<InvalidRustLog>();
    ExitCode::from(if invalid { EXIT_INVALID } else { 1 })
}

/// The last words under `--log-format json`, keyed as the logger's lines.
#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    timestamp: String,
    level: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'static str>,
    target: &'static str,
}
