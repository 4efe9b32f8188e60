//! `lexi-sim`: runs a simulated LEXI-R10 on a new pty until SIGINT/SIGTERM.
//!
//! The first line of stdout is the pty's path; logs go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lexi_sim::{SimConfig, Simulator};
use tokio::signal::unix::{signal, SignalKind};

const AFTER_HELP: &str = "\
The first line printed on stdout is the path of the simulated serial port
(e.g. /dev/pts/5). Point the agent at it in its config file:

    [modem]
    port = \"/dev/pts/5\"

The port is raw and stays valid until lexi-sim exits (Ctrl-C or SIGTERM).
NVM (MNO profile, PDP contexts, +UDCONF) persists in --nvm-dir across runs.
Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=lexi_sim=debug) for more.";

/// A simulator of the u-blox LEXI-R10 cellular module's AT interface.
#[derive(Debug, Parser)]
#[command(name = "lexi-sim", version, after_help = AFTER_HELP)]
struct Cli {
    /// Directory holding the module's NVM file (created if missing).
    #[arg(long, value_name = "DIR", default_value = "./lexi-sim-nvm")]
    nvm_dir: PathBuf,
    /// Multiplies every module-internal delay (0.001: a 6 s boot takes 6 ms).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// The 15-digit IMEI the module reports.
    #[arg(long)]
    imei: Option<String>,
    /// The network name in +COPS.
    #[arg(long)]
    operator: Option<String>,
    /// A PIN the host must enter with AT+CPIN after every boot.
    #[arg(long, value_name = "PIN")]
    sim_pin: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person watching, not in a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lexi-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SimConfig::new(cli.nvm_dir);
    config.time_scale = cli.time_scale;
    if let Some(imei) = cli.imei {
        config.imei = imei;
    }
    if let Some(operator) = cli.operator {
        config.operator = operator;
    }
    config.sim_pin = cli.sim_pin;

    // Signal handlers first, so a signal right after the path is printed is
    // not lost.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let (handle, path) = Simulator::spawn_pty(config)?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", path.display())?;
        stdout.flush()?;
    }
    tokio::select! {
        _ = sigint.recv() => tracing::info!("SIGINT: stopping"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: stopping"),
    }
    handle.shutdown();
    Ok(())
}
