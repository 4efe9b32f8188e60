//! What can be typed on the command line: the clap definitions of every
//! subcommand, `--version`'s text, and the options several commands share
//! (`--config`, `--log-format`). The files beside this one carry them out.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use edge_agent::config::DEFAULT_CONFIG_PATH;

/// `edge-agent --version`: the package version, the git revision it was
/// built from (`build.rs`) and the optional features built in, e.g.
/// `0.1.0 (rev abc1234, features: sim, demo)`.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let features: Vec<&str> = [
        ("sim", cfg!(feature = "sim")),
        ("demo", cfg!(feature = "demo")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    format!(
        "{} (rev {}, features: {})",
        env!("CARGO_PKG_VERSION"),
        env!("BUILD_GIT_REV"),
        if features.is_empty() {
            "none".to_owned()
        } else {
            features.join(", ")
        }
    )
});

/// The `edge-agent` command line.
#[derive(Debug, Parser)]
#[command(
    name = "edge-agent",
    version = VERSION.as_str(),
    about = "Telemetry agent for battery-powered gateways behind a u-blox LEXI-R10 cellular module",
    long_about = "Telemetry agent for battery-powered gateways behind a u-blox LEXI-R10 cellular module.\n\n\
        Settings come from a TOML file and from EDGE_AGENT_* environment variables, which \
        override the file: EDGE_AGENT_MODEM__BAUD=9600 sets modem.baud (`__` separates levels). \
        The commands that read a configuration (run, check, modem, at, queue; demo has its own) \
        take --config <FILE> [default: /etc/edge-agent/config.toml]; the *.toml drop-ins of the \
        conf.d/ directory beside it are merged after it, in file-name order, their [[plugins]] \
        entries appended. `edge-agent config` prints a commented sample. \
        RUST_LOG, when set, replaces agent.log_level. Logs go to stderr.\n\n\
        Exit status: 0 success, 1 failure at run time, 2 invalid configuration or command line.",
    after_help = "Run `edge-agent check` after editing the configuration."
)]
pub struct Cli {
    /// How log lines look on stderr: text for a person, or JSON objects,
    /// one per line, for a log shipper.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours on a terminal).
    Text,
    /// One JSON object per line: timestamp, level, message, target, fields.
    Json,
}

/// `--config`, for the commands that read a configuration.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The configuration file (TOML); the *.toml drop-ins of the conf.d/
    /// directory beside it are merged after it.
    #[arg(long, short = 'c', value_name = "FILE", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration and print it as the agent will use it.
    #[command(
        long_about = "Validate the configuration and print it as the agent will use it.\n\n\
        Reads the file given by --config and the *.toml drop-ins of the conf.d/ directory beside \
        it, applies EDGE_AGENT_* environment variables, fills in defaults and checks every \
        value. On success prints the effective configuration as TOML on stdout, secrets shown \
        as \"***\", after a comment naming the file, the keys the environment set and the \
        drop-ins read; exit status 0. Otherwise prints every problem found on stderr, each with \
        its key, where the value came from (file:line:column, or the environment variable) and \
        what is allowed; exit status 2."
    )]
    Check(ConfigArg),

    /// Print a complete, commented sample configuration (every key, its default and why).
    #[command(
        long_about = "Print a complete, commented sample configuration on stdout: every key \
        with its default and what it is for; keys without a default are commented out, saying \
        what unset means. A starting point for /etc/edge-agent/config.toml:\n\n    \
        edge-agent config > /etc/edge-agent/config.toml\n\n\
        then set at least modem.port and uplink.mqtt.host, and run `edge-agent check`. No \
        configuration is read."
    )]
    Config,

    /// Run the agent: boot the module, upload readings through its MQTT client.
    #[command(
        long_about = "Run the agent: open the durable queue, boot the module, provision \
        its MQTT profile (written to the module's NVM only when it changed), log in and upload \
        queued readings, answer commands on the command topic, and queue a heartbeat every \
        agent.heartbeat_interval.\n\n\
        Runs until SIGINT or SIGTERM: the publish in flight completes, the session logs out, \
        exit status 0. With --once: one upload window (boot, sample every source once, upload \
        everything pending, log out) and exit 0, or 1 if readings could not be uploaded (they \
        stay queued for the next run).\n\n\
        With --test: load the plugins, poll each once, print their readings and the messages \
        they would make in uplink.encoding, and exit; the modem and the queue are not touched. \
        Exit status 1 if a plugin could not be loaded or its poll failed."
    )]
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// One upload window, then exit.
        #[arg(long, conflicts_with = "test")]
        once: bool,
        /// Poll each plugin once and print the readings and the messages
        /// they would make; touches neither the modem nor the queue.
        #[arg(long)]
        test: bool,
    },

    /// Everything in one process: an MQTT broker, the simulated module and the agent.
    #[command(
        long_about = "Everything in one process: an MQTT broker (rumqttd) on a free \
        loopback port, the LEXI-R10 simulator over a pty, and the agent uploading to the broker \
        through the simulated module's embedded MQTT client. Subscribes to the telemetry topic \
        and prints every message it receives, until Ctrl-C or --duration.\n\n\
        Uses --config if given, else the demo configuration built into this binary (the \
        repository's configs/demo.toml), so it runs from any directory; its state goes to \
        ./demo-data. The module is always the simulator and the broker always the local one."
    )]
    Demo {
        /// The configuration file (TOML) [default: configs/demo.toml, built
        /// into this binary].
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Stop after this long (e.g. 10s); default: until Ctrl-C.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
        /// Where the plugins named by a relative `path` in the config are
        /// (scripts/demo builds them there); default: the directory of this
        /// executable, e.g. target/debug.
        #[arg(long, value_name = "DIR")]
        plugin_dir: Option<PathBuf>,
    },

    /// Talk to the LEXI-R10 module.
    #[command(subcommand)]
    Modem(ModemCommand),

    /// An interactive AT console through the agent's AT engine.
    #[command(
        long_about = "An interactive AT console through the agent's AT engine.\n\n\
        Reads one AT command per line from stdin and prints the module's answer (information \
        lines, then OK or the error) on stdout. URCs are printed as they arrive, prefixed with \
        \"urc: \". The console first makes sure the module answers AT; it changes no setting by \
        itself. Data-prompt commands (AT+USOWR=..., AT+UMQTTC=9,...) are not supported here. \
        End with Ctrl-D (or end of input).\n\n\
        Example: printf 'ATI\\nAT+CEREG?\\n' | edge-agent at --config configs/demo.toml"
    )]
    At {
        #[command(flatten)]
        config: ConfigArg,
        /// After the last command, keep printing URCs this long (e.g. 2s),
        /// for commands whose result comes later (AT+UDNSRN, AT+UPING).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
        linger: Duration,
    },

    /// Look into the durable queue of readings (no modem needed).
    #[command(
        subcommand,
        long_about = "Look into the durable queue of readings; no modem needed.\n\n\
        The queue lives in <agent.data_dir>/queue. These commands open it themselves, so they \
        work only while the agent is stopped: a running agent holds the queue's lock, and then \
        they say so and exit with status 1. They never expire, repair or move anything; only \
        `purge` removes what it is asked to."
    )]
    Queue(QueueCommand),

    /// Sensor plugins: inspect a library before pinning it in the configuration.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

/// `edge-agent plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load a plugin library; print its name, version, ABI, SHA-256 and a [[plugins]] entry.
    #[command(
        long_about = "Load a plugin library and print its name, version, plugin ABI, the \
        functions it provides (poll, start/stop, command), its SHA-256, and a [[plugins]] entry \
        ready to paste into the configuration.\n\n\
        WARNING: this loads the library, which runs its initializers (code of its author's \
        choosing) in this process, with this user's rights. Inspect only files you trust, \
        and check the printed SHA-256 against the one its vendor published before pinning it.\n\n\
        The file passes the same checks as in the agent: a regular file (not a symlink), not \
        writable by group or others, owned by root or the current user. No configuration is \
        read. Exit status 0 on success, 1 with the reason otherwise."
    )]
    Inspect {
        /// The plugin's shared library.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
}

/// `edge-agent queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Pending readings and bytes, oldest age, dead letters, drop/expiry/corrupt counters.
    #[command(
        long_about = "Pending readings and bytes, oldest age, dead letters, drop/expiry/corrupt \
        counters.\n\n\
        Reads the queue's persisted counters and its oldest record; no scan, so it is instant \
        whatever the backlog. \"leased\" is always 0 here: leases live only in the running \
        agent's memory, and this command runs only while the agent is stopped (after a restart \
        every leased reading is pending again). With --json prints one JSON object whose keys \
        are stable: queue_dir, leased, oldest_seq, oldest_enqueued_at_ms, oldest_age_s, max_bytes, \
        and every counter (next_seq, pending_count, pending_bytes, dead_count, dead_bytes, \
        appended, acked, dropped, rejected, expired, dead_lettered, dead_dropped, dead_expired, \
        dead_purged, corrupt)."
    )]
    Stats {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },

    /// Print the oldest pending readings, one per line.
    #[command(
        long_about = "Print the oldest pending readings, one per line: sequence number, when it \
        was sampled (UTC), source, name = value and unit, tags, and how long it has waited."
    )]
    Peek {
        #[command(flatten)]
        config: ConfigArg,
        /// How many readings.
        #[arg(short = 'n', long = "count", value_name = "N", default_value_t = 10)]
        count: usize,
    },

    /// Print every pending reading as JSON lines on stdout, oldest first.
    #[command(
        long_about = "Print every pending reading as JSON lines on stdout, oldest first, \
        streamed from disk (memory stays small whatever the backlog).\n\n\
        Each line: {\"seq\", \"enqueued_at_ms\", \"source\", \"name\", \"unit\" (or null), \
        \"type\" (f64, i64, bool, str, bytes), \"value\" (bytes as hex; a non-finite f64 as the \
        string \"NaN\", \"inf\" or \"-inf\"), \"timestamp_ns\", \"tags\"}. Records that cannot be \
        decoded are skipped with a warning on stderr. The queue is not changed."
    )]
    Export(ConfigArg),

    /// Remove stored dead letters.
    #[command(
        long_about = "Remove stored dead letters: readings the server rejected for good, kept \
        for diagnosis. Asks no question; prints how many it removed. The counters keep the \
        number purged (dead_purged)."
    )]
    Purge {
        #[command(flatten)]
        config: ConfigArg,
        /// Remove every dead letter (required: the only kind of purge so far).
        #[arg(long, required = true)]
        dead_letters: bool,
    },
}

/// `edge-agent modem ...`.
#[derive(Debug, Subcommand)]
pub enum ModemCommand {
    /// Boot the module and print model, firmware, IMEI, registration and address.
    #[command(
        long_about = "Boot the module and print model, firmware, IMEI, registration and \
        assigned address.\n\n\
        Runs the agent's boot sequence: sync, ATE0, AT+CMEE=2, identification, SIM PIN, MNO \
        profile and APN (written only when they differ from what the module holds), then waits \
        for registration up to modem.registration_timeout. Exit status 0 when registered, 1 \
        otherwise."
    )]
    Info(ConfigArg),
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<edge_agent::config::Duration>()
        .map(|d| d.get())
        .map_err(|e| e.to_string())
}

impl QueueCommand {
    /// The configuration naming the queue's directory.
    pub fn config(&self) -> &ConfigArg {
        match self {
            QueueCommand::Stats { config, .. }
            | QueueCommand::Peek { config, .. }
            | QueueCommand::Export(config)
            | QueueCommand::Purge { config, .. } => config,
        }
    }
}
