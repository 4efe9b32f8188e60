//! `edge-agent check`: validate the configuration and print it as the agent
//! will use it, naming the files it came from.

use anyhow::Context;

use super::args::{ConfigArg, LogFormat};
use super::output::print_stdout;
use super::setup;

/// Loads the configuration (every problem is the error) and prints the
/// effective one.
pub fn run(args: &ConfigArg, log: LogFormat) -> anyhow::Result<()> {
    let loaded = setup::load(&args.config, log)?;
    let text = loaded
        .effective_toml()
        .context("cannot render the effective configuration")?;
    print_stdout(&text)
}
