//! The `edge-agent` binary's commands, one file each, and what they share.
//! `main.rs` parses the command line (`args.rs`) and hands each subcommand
//! to its file here.
//!
//! - `args.rs`: the clap definitions, `--version`'s text.
//! - `run.rs`: `run` and `run --once`; `run_test.rs`: `run --test`.
//! - `check.rs`: `check`; `config.rs`: `config`, the built-in sample.
//! - `demo.rs`: `demo` (the `demo` feature); `plugin.rs`: `plugin inspect`;
//!   `queue.rs`: `queue stats|peek|export|purge`; `modem.rs`: `modem info`;
//!   `at.rs`: `at`, the AT console.
//! - `setup.rs`: loading the configuration, then logging (`logging.rs`:
//!   text or JSON lines), the runtime and the shutdown signal.
//! - `output.rs`: stdout, and the last words and exit status of a failure;
//!   `utc.rs`: instants as UTC text.
//!
//! `anyhow` is used here and nowhere in the library.

pub mod args;
pub mod at;
pub mod check;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod logging;
pub mod modem;
pub mod output;
pub mod plugin;
pub mod queue;
pub mod run;
pub mod run_test;
pub mod setup;
pub mod utc;
