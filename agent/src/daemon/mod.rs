//! The agent at run time: open the queue, bring the module up, provision
//! the uplink's profile (MQTT or HTTP), then keep readings flowing until
//! told to stop.
//!
//! Sources: the heartbeat, and the configured plugins, started once the
//! module is up; what they emit arrives on the plugin host's bounded channel
//! and is appended to the queue in batches by the
//! [`Intake`](crate::intake::Intake), a task of its own, so readings keep
//! reaching the disk while a window uploads. A plugin
//! that fails to load is reported (log, heartbeat) and the agent runs
//! without it.
//!
//! One pass of the daemon loop: housekeeping on the queue (lease timeouts,
//! expiry, an interval flush); then, if an upload window is due
//! (`uplink/window.rs`: at start, every `uplink.interval` plus jitter,
//! earlier for `uplink.max_pending` readings or an urgent one), one uplink
//! session (an MQTT login, or HTTP's requests) that drains everything
//! pending, answers the commands that arrived, and closes (the MQTT
//! logout); then a wait for the next thing to do: plugin
//! readings, a heartbeat due, the next window, a retry after a failed
//! login (with backoff), a registration change, or the shutdown signal.
//! With `uplink.interval = "0s"` there are no windows: the session stays
//! up, readings go as they come, and downlink commands are served as they
//! arrive. A drain in progress is never cancelled by the signal: the
//! in-flight publish completes (or times out) first, so a reading is never
//! left half-sent; then the window ends (logout, the vote up) without
//! sending the rest of its backlog, which stays queued.
//!
//! `RunMode::Once` is one upload window: boot, sample every source once
//! (every plugin's first poll, then the plugins are shut down), upload
//! everything pending, log out, and report what stayed pending.
//!
//! On the shutdown signal the plugins are stopped and destroyed first and
//! what they emitted until then is queued, so nothing sampled is lost.
//!
//! Power: every window holds an [`AwakeGuard`] (the vote down) from its
//! wake to its logout; between windows the module may sleep as deep as
//! `[modem.power]` allows. What deep sleep or a reboot made the module
//! forget is restored at the next wake, and the doorbell, if the module
//! lost it, is opened again then.
//!
//! The I/O handles live in one `Agent` (the module, the queue, the power
//! manager, the session, the doorbell), with a method per step; the window
//! decisions (when one opens and why, the retries after a failed one, what
//! a ring, an urgent reading or the start change) live in the pure
//! `WindowState` it holds, tested on its own. The files, one concern each:
//!
//! - `mod.rs`: the public API ([`run`], [`run_on`], [`run_on_notifying`],
//!   [`RunMode`], [`RunReport`], [`RunError`]) and the `Agent`;
//! - `start.rs`: open the queue, boot (waking the module first if it
//!   sleeps), the sleep settings, provisioning, the doorbell, the time; and
//!   the close at the end;
//! - `run_loop.rs`: `run --once`, and the daemon's loop: the events it
//!   waits for, the watchdog, the shutdown during a window;
//! - `window_state.rs`: the window decisions, pure;
//! - `upload.rs`: one window: log in (with backoff), drain, serve the
//!   commands, log out, let the module sleep;
//! - `uplink.rs`: the declared transport (`Uplink`: its profile, options,
//!   provisioning, restore, TLS, how a session opens); `session.rs`: a
//!   window's session on either transport (`UplinkSession`) and the drain's
//!   `Transport` with TLS around each HTTPS request: one shape, so the
//!   window logic has no second copy for HTTP;
//! - `wake.rs`: waking the module for a window, the restore after deep
//!   sleep or a reboot, the doorbell reopened, a silent module reported;
//! - `sources.rs`: the plugins and the intake, the heartbeat;
//! - `downlink.rs`: the server's commands (MQTT's command topic, HTTP's
//!   response bodies) and their replies, the doorbell's ring read.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, not std's: the schedule (heartbeat, windows, retries) must
// follow the runtime's time, which a paused clock (the energy benchmark
// runs days in seconds) advances without std's.
use tokio::time::Instant;

use crate::config::Config;
use crate::config::{HttpConfigError, ProfileError, TlsConfigError};
use crate::modem::at::{AtClient, RegStatus, UrcSubscription};
use crate::modem::http::profile::ProvisionError as HttpProvisionError;
use crate::modem::mqtt::profile::ProvisionError;
use crate::modem::security::SecurityError;
use crate::modem::socket::SocketManager;
use crate::modem::{BootError, LinkError, ModemLink};
use crate::notify::Notifier;
use crate::power::doorbell::Doorbell;
use crate::power::{AwakeGuard, PowerError, PowerManager, WakeError, Waker};
use crate::queue::{Queue, QueueError};
use crate::timekeeper::TimeKeeper;
use crate::uplink::{DrainControl, Packer};

use session::UplinkSession;
use sources::Sources;
use tls::Tls;
use uplink::Uplink;
use window_state::WindowState;

mod downlink;
mod run_loop;
mod session;
mod sources;
mod start;
mod tls;
mod uplink;
mod upload;
mod wake;
mod window_state;

/// How the agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Until the shutdown signal.
    Daemon,
    /// One upload window, then exit.
    Once,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Messages the far end confirmed (the broker, or a 2xx of the HTTP
    /// server).
    pub messages: usize,
    /// Readings delivered (acked in the queue).
    pub delivered: usize,
    /// Readings still pending when the run ended; they stay queued.
    pub pending: u64,
    /// Readings moved to the dead letters in this run (never sent: the
    /// encoder or the server refused them for good).
    pub dead_lettered: usize,
    /// Why the last of them was.
    pub dead_reason: Option<String>,
}

/// Why the agent could not run (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the queue: {0}")]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("cannot bring up the module: {0}")]
    Boot(#[from] BootError),
    #[error("the MQTT profile: {0}")]
    Profile(#[from] ProfileError),
    #[error("cannot provision the MQTT profile: {0}")]
    Provision(#[from] ProvisionError),
    #[error("the HTTP uplink: {0}")]
    Http(#[from] HttpConfigError),
    #[error("cannot provision the HTTP profile: {0}")]
    HttpProvision(#[from] HttpProvisionError),
    #[error("the module's power settings: {0}")]
    Power(#[from] PowerError),
    #[error("cannot wake the module: {0}")]
    Wake(#[from] WakeError),
    #[error(transparent)]
    TlsConfig(#[from] TlsConfigError),
    #[error("cannot set up TLS in the module: {0}")]
    Security(#[from] SecurityError),
}

/// Runs the agent with `config` until `shutdown` resolves (daemon) or one
/// upload window is done (once), telling `notifier` (the service manager)
/// how it goes.
pub async fn run(
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
    notifier: Notifier,
) -> Result<RunReport, RunError> {
    let link = ModemLink::open(&config.modem.link_settings()).await?;
    run_on_notifying(link, config, mode, shutdown, notifier).await
}

/// [`run`] on a link the caller opened (`config.modem.port` is then not
/// used), telling no service manager: for tests that hold the simulator's
/// handle, to read its transcript and power log while the agent runs.
pub async fn run_on(
    link: ModemLink,
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    run_on_notifying(link, config, mode, shutdown, Notifier::none()).await
}

/// [`run`] on a link the caller opened.
pub async fn run_on_notifying(
    link: ModemLink,
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
    notifier: Notifier,
) -> Result<RunReport, RunError> {
    let agent = Agent::start(link, config, mode, notifier).await?;
    let sources = Sources::start(config, Arc::clone(&agent.queue), Arc::clone(&agent.time));
    // Ready: the queue is open, the module booted and provisioned, the
    // plugins started.
    agent.notifier.ready(&agent.idle_status()?);
    match mode {
        RunMode::Once => agent.once(sources).await,
        RunMode::Daemon => agent.daemon(sources, shutdown).await,
    }
}

/// The running agent: the module, the queue, the power manager, the
/// session and the doorbell, and the [`WindowState`] that decides when
/// they work. One method per step of the loop, in the files of this module.
struct Agent<'c> {
    config: &'c Config,
    at: AtClient,
    urcs: UrcSubscription,
    /// Shared with the intake, which appends while windows upload.
    queue: Arc<Queue>,
    packer: Packer,
    /// The declared transport: its profile and its sessions' options.
    uplink: Uplink,
    /// The transport's TLS table (`[uplink.mqtt.tls]`, `[uplink.http.tls]`):
    /// what the module holds for TLS and the session data; `None` for plain
    /// MQTT or HTTP.
    tls: Option<Tls>,
    power: PowerManager,
    waker: Waker,
    sockets: SocketManager,
    device_id: String,
    /// `None` while it is not open: not yet, or lost to a reboot or a
    /// `+UUSOCL`; the next window opens it again.
    doorbell: Option<Doorbell>,
    started: Instant,
    registration: Option<RegStatus>,
    /// `agent.heartbeat_interval`; `None` for "0s" (no heartbeat at all).
    heartbeat_every: Option<Duration>,
    next_heartbeat: Option<Instant>,
    report: RunReport,
    /// Held exactly while the module must stay awake (a window, a session
    /// the doorbell asked for); the module may sleep otherwise.
    awake: Option<AwakeGuard>,
    session: Option<UplinkSession>,
    /// When windows open and why, the retries, the doorbell's asks.
    windows: WindowState,
    /// Echoes the link had seen when echo was last known off (`ATE0`): any
    /// echo beyond it means the module rebooted and forgot its settings.
    echo_baseline: u64,
    /// Shared with the window's drain: a stop requested when the shutdown
    /// signal comes during a window (the drain ends after the message in
    /// flight), and the messages settled (the watchdog's sign of progress).
    control: DrainControl,
    /// The service manager (systemd), told when the agent is ready, what
    /// it is doing, that its loop is alive, and that it stops.
    notifier: Arc<Notifier>,
    /// When the loop must next send `WATCHDOG=1`.
    next_watchdog: Option<Instant>,
    /// What UTC it is (host, module, unknown), shared with the intake.
    time: Arc<TimeKeeper>,
    /// The first sequence number of this boot: the readings its host clock
    /// stamped.
    boot_first_seq: u64,
}

/// A jitter factor in [0, 1) from the clock's sub-second digits: enough to
/// spread a fleet, without a random-number dependency.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
