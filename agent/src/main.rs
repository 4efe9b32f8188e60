//! The `edge-agent` binary: parse the command line and hand each subcommand
//! to its file in `cli/`; the outcome becomes the exit status there too.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::args::{Cli, Command, ModemCommand, PluginCommand};

fn main() -> ExitCode {
    // On a usage error clap prints it and exits with 2; on --help, with 0.
    let cli = Cli::parse();
    let log = cli.log_format;
    let outcome = match cli.command {
        Command::Run { config, once, test } => cli::run::run(&config, once, test, log),
        Command::Check(config) => cli::check::run(&config, log),
        Command::Config => cli::config::run(),
        #[cfg(feature = "demo")]
        Command::Demo {
            config,
            duration,
            plugin_dir,
        } => cli::demo::run(config.as_deref(), duration, plugin_dir, log),
        #[cfg(not(feature = "demo"))]
        Command::Demo { .. } => Err(anyhow::anyhow!(
            "this edge-agent was built without the demo (the `demo` feature)"
        )),
        Command::Modem(ModemCommand::Info(config)) => cli::modem::info(&config, log),
        Command::At { config, linger } => cli::at::run(&config, linger, log),
        Command::Queue(command) => cli::queue::run(&command, log),
        Command::Plugin(PluginCommand::Inspect { path }) => cli::plugin::inspect(&path),
    };
    cli::output::exit_status(outcome, log)
}
