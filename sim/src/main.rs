//! `lexi-sim`: runs a simulated LEXI-R10 on a new pty until SIGINT/SIGTERM;
//! `lexi-sim ctl` sends one command to a running one's control socket.
//!
//! The first line of stdout is the pty's path; logs go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lexi_sim::control::{send_command, ControlSocket, Reply};
use lexi_sim::{NetworkTime, SimConfig, Simulator};
use tokio::signal::unix::{signal, SignalKind};

const AFTER_HELP: &str = "\
The first line printed on stdout is the path of the simulated serial port
(e.g. /dev/pts/5). Point the agent at it in its config file:

    [modem]
    port = \"/dev/pts/5\"

The port is raw and stays valid until lexi-sim exits (Ctrl-C or SIGTERM).
NVM (MNO profile, PDP contexts, +UDCONF, +CTZU, the MQTT profile, the
certificates and keys of +USECMNG) persists in --nvm-dir across runs.

Secure MQTT (AT+UMQTT=11,1,<security profile>) makes a real TLS connection
(OpenSSL) with what the +USECPRF profile holds; the session data it hands
out (AT+USECPRF=<p>,13,3) resumes the session from another lexi-sim run.
Logs go to stderr (the process id among them); set RUST_LOG (e.g.
RUST_LOG=lexi_sim=debug) for more.

The PWR_ON line: SIGUSR1 pulses it, like the wake pin of a real module
(wakes Sleep-2/Hibernate, where UART bytes are ignored; boots a module that
is off). With --pid-file the agent can do it as hardware would:

    [modem.power.wake]
    kind = \"command\"
    program = \"kill\"
    args = [\"-USR1\", \"<pid from --pid-file>\"]

(the pid changes with every start of lexi-sim).

Fault injection while it runs: with --control PATH, lexi-sim listens on a
Unix socket for one command per line and answers each with one line, `ok ...`
or `error: <why>`. Send one with `lexi-sim ctl --control PATH <command>`
(exit 0 on ok, 1 on error, 2 when no simulator answered), or any client
(`socat - UNIX-CONNECT:PATH`). Commands:

    wake                                  pulse PWR_ON (as SIGUSR1)
    reboot                                unannounced reboot
    power-off                             cut the power
    power-on                              power on again
    network coverage|none|denied|roaming  the radio environment (+CEREG)
    mqtt-drop                             the MQTT broker connection drops
    mqtt-never-confirm <n>                the next n publishes never complete
    garbage <text>                        bytes on the UART as they are;
                                          escapes \\r \\n \\t \\\\ \\xNN
    urc <text>                            a URC line
    fail-next <n> <cme code>              the next n command lines fail
    delay-next <ms>                       the next answer waits
    status                                power, mode, registration, MQTT, clock,
                                          TLS handshakes (full, resumed, failed)
    help                                  the list of commands

Network time: with AT+CTZU=1 the module takes the network's time when it
registers (AT+CCLK? then shows it in the zone of --tz-quarters); before
that, AT+CCLK? shows the default date 15/01/01,00:00:00+00 counting up from
the boot.

Example: start the simulator in one terminal,

    lexi-sim --control /tmp/lexi.sock --pid-file /tmp/lexi.pid

point the agent at the printed path, then rehearse in another:

    lexi-sim ctl --control /tmp/lexi.sock network none      # coverage lost
    lexi-sim ctl --control /tmp/lexi.sock network coverage  # and back
    lexi-sim ctl --control /tmp/lexi.sock reboot            # a watchdog reset
    lexi-sim ctl --control /tmp/lexi.sock garbage '\\xff\\x00OK\\r\\n'
    kill -USR1 \"$(cat /tmp/lexi.pid)\"                     # PWR_ON";

/// A simulator of the u-blox LEXI-R10 cellular module's AT interface.
#[derive(Debug, Parser)]
#[command(
    name = "lexi-sim",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    tool: Option<Tool>,
    #[command(flatten)]
    run: RunArgs,
}

/// What `lexi-sim` does besides simulating.
#[derive(Debug, Subcommand)]
enum Tool {
    /// Sends one command to a running lexi-sim's control socket and prints
    /// the reply (exit 0 on `ok`, 1 on `error`, 2 if no simulator answered).
    Ctl(CtlArgs),
}

#[derive(Debug, Args)]
struct CtlArgs {
    /// The control socket (the simulator's --control).
    #[arg(long, value_name = "PATH")]
    control: PathBuf,
    /// The command and its arguments, e.g. `network none` or `fail-next 2 10`
    /// (joined with spaces; `help` lists them).
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Directory holding the module's NVM file (created if missing).
    #[arg(long, value_name = "DIR", default_value = "./lexi-sim-nvm")]
    nvm_dir: PathBuf,
    /// Multiplies every module-internal delay (0.001: a 6 s boot takes 6 ms).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// The 15-digit IMEI the module reports; also the key of its root of
    /// trust (encrypted session data, AT+USECPRF=<p>,13,13).
    #[arg(long)]
    imei: Option<String>,
    /// The network name in +COPS.
    #[arg(long)]
    operator: Option<String>,
    /// A PIN the host must enter with AT+CPIN after every boot.
    #[arg(long, value_name = "PIN")]
    sim_pin: Option<String>,
    /// Listen for fault-injection commands on a Unix socket at PATH
    /// (replaces a stale socket file there; removed at exit).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Write the process id to PATH (for `kill -USR1`, the PWR_ON line);
    /// removed at exit.
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
    /// The time the network sends (AT+CTZU=1): `host` (this machine's UTC
    /// clock), `none` (a network that sends no time), or UTC as Unix
    /// seconds at start (2000..2099), running on from there.
    #[arg(long, value_name = "host|none|SECONDS", default_value = "host", value_parser = parse_network_time)]
    network_time: NetworkTime,
    /// The network's time zone in quarter hours east of UTC (+CCLK's zz):
    /// 4 is UTC+1, -20 is UTC-5; -48..=56.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        allow_negative_numbers = true
    )]
    tz_quarters: i8,
}

fn parse_network_time(text: &str) -> Result<NetworkTime, String> {
    match text {
        "host" => Ok(NetworkTime::Host),
        "none" => Ok(NetworkTime::None),
        seconds => seconds
            .parse()
            .map(|utc_at_start_unix_s| NetworkTime::Fixed {
                utc_at_start_unix_s,
            })
            .map_err(|_| "expected `host`, `none` or Unix seconds (e.g. 1796415330)".to_string()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Tool::Ctl(ctl)) = cli.tool {
        return control_client(&ctl);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only for a person watching, not in a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lexi-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.run)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lexi-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `lexi-sim ctl`: one command, its reply printed.
fn control_client(ctl: &CtlArgs) -> ExitCode {
    let command = ctl.command.join(" ");
    match send_command(&ctl.control, &command) {
        Ok(Reply::Ok(text)) => {
            println!("ok{}{text}", if text.is_empty() { "" } else { " " });
            ExitCode::SUCCESS
        }
        Ok(Reply::Error(why)) => {
            eprintln!("error: {why}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("lexi-sim ctl: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SimConfig::new(args.nvm_dir);
    config.time_scale = args.time_scale;
    if let Some(imei) = args.imei {
        config.imei = imei;
    }
    if let Some(operator) = args.operator {
        config.operator = operator;
    }
    config.sim_pin = args.sim_pin;
    config.network_time = args.network_time;
    config.network_tz_quarters = args.tz_quarters;

    // Signal handlers first, so a signal right after the path (or the pid)
    // is out is not lost: SIGUSR1's default action would end the process.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigusr1 = signal(SignalKind::user_defined1())?;
    let (handle, path) = Simulator::spawn_pty(config)?;
    // Listening before the path is printed: whoever reads the path can use
    // the socket at once.
    let control = match &args.control {
        Some(path) => Some(ControlSocket::bind(path, handle.clone())?),
        None => None,
    };
    let pid = std::process::id();
    let pid_file = match args.pid_file {
        Some(path) => Some(PidFile::write(path, pid)?),
        None => None,
    };
    tracing::info!(pid, "lexi-sim running; SIGUSR1 pulses the PWR_ON line");
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", path.display())?;
        stdout.flush()?;
    }
    loop {
        tokio::select! {
            _ = sigint.recv() => {
                tracing::info!("SIGINT: stopping");
                break;
            }
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: stopping");
                break;
            }
            _ = sigusr1.recv() => {
                tracing::info!("SIGUSR1: PWR_ON pulsed");
                handle.pulse_wake_line();
            }
        }
    }
    drop(control);
    drop(pid_file);
    handle.shutdown();
    Ok(())
}

/// The `--pid-file`: written whole (a temporary file renamed into place,
/// so a script polling for it never reads half a number), removed at exit.
struct PidFile {
    path: PathBuf,
}

impl PidFile {
    fn write(path: PathBuf, pid: u32) -> std::io::Result<PidFile> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        std::fs::write(&tmp, format!("{pid}\n"))?;
        std::fs::rename(&tmp, &path)?;
        Ok(PidFile { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(path = %self.path.display(), error = %e, "pid file not removed");
        }
    }
}
