//! The agent at run time: open the queue, bring the module up, provision
//! the MQTT profile, then keep readings flowing until told to stop.
//!
//! Sources: the heartbeat, and the configured plugins, started once the
//! module is up; what they emit arrives on the plugin host's bounded channel
//! and is appended to the queue in batches by the [`Intake`], a task of its
//! own, so readings keep reaching the disk while a window uploads. A plugin
//! that fails to load is reported (log, heartbeat) and the agent runs
//! without it.
//!
//! One pass of the daemon loop: housekeeping on the queue (lease timeouts,
//! expiry, an interval flush); then, if an upload window is due
//! (`uplink/window.rs`: at start, every `uplink.interval` plus jitter,
//! earlier for `uplink.max_pending` readings or an urgent one), one MQTT
//! session that drains everything pending, answers the commands that
//! arrived, and logs out; then a wait for the next thing to do: plugin
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
//! The state of all this lives in one [`Agent`], with a method per step.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, not std's: the schedule (heartbeat, windows, retries) must
// follow the runtime's time, which a paused clock (the energy benchmark
// runs days in seconds) advances without std's.
use tokio::time::Instant;

use tracing::{error, info, warn};

use crate::config::Config;
use crate::config::ProfileError;
use crate::heartbeat::{self, PluginVitals, PowerVitals, TimeVitals, Vitals};
use crate::intake::Intake;
use crate::modem::at::{AtClient, AtError, RegStatus, Urc, UrcSubscription};
use crate::modem::clock::ReadClock;
use crate::modem::mqtt::profile::{provision, MqttProfile, ProvisionError};
use crate::modem::mqtt::session::{
    backoff, Command, DownlinkHandler, MqttSession, SessionError, SessionOptions,
};
use crate::modem::mqtt::Message;
use crate::modem::socket::SocketManager;
use crate::modem::{boot, BootError, BootSettings, LinkError, ModemInfo, ModemLink};
use crate::notify::Notifier;
use crate::plugin_host::{
    load_configured, InstanceState, InstanceStatus, PluginHost, DEFAULT_CHANNEL_CAPACITY,
};
use crate::power::doorbell::{Doorbell, DoorbellCommand, ReadRequest};
use crate::power::{
    restore_after_deep_sleep, AwakeGuard, PowerError, PowerManager, RestoreError, WakeError, Waker,
};
use crate::queue::{Queue, QueueError};
use crate::timekeeper::{set_system_clock, TimeKeeper};
use crate::uplink::{drain, Budget, DrainControl, Packer, UploadWindows, WindowReason};

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
    /// Messages the broker confirmed.
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
    #[error("the module's power settings: {0}")]
    Power(#[from] PowerError),
    #[error("cannot wake the module: {0}")]
    Wake(#[from] WakeError),
}

/// Why a window could not get the module awake and ready; the window is
/// retried with backoff, like a failed login.
#[derive(Debug, thiserror::Error)]
enum WakeForWindowError {
    #[error(transparent)]
    Wake(#[from] WakeError),
    #[error("the module does not answer: {0}")]
    NoAnswer(#[from] AtError),
    #[error(transparent)]
    Vote(#[from] PowerError),
    #[error("cannot restore the module's settings after deep sleep: {0}")]
    Restore(#[from] RestoreError),
}

impl WakeForWindowError {
    /// The module did not answer (as opposed to a failing wake program or
    /// a refused command): the failure a wrong power setup causes.
    fn is_silence(&self) -> bool {
        matches!(
            self,
            WakeForWindowError::NoAnswer(_) | WakeForWindowError::Wake(WakeError::NoAnswer(_))
        )
    }
}

/// What to tell an operator whose module stopped answering between windows:
/// which setting most likely explains it.
fn silence_advice(power: &crate::config::PowerConfig) -> String {
    use crate::config::WakeKind;
    let deepest = power.deepest().name();
    match power.wake.kind {
        WakeKind::None => format!(
            "the module does not answer after sleeping (modem.power.deepest = \"{deepest}\", \
             modem.power.wake.kind = \"none\"): UART bytes wake it only from Sleep-1; if it \
             sleeps deeper, configure [modem.power.wake] (a GPIO line or a command wired to \
             its PWR_ON) or set modem.power.deepest = \"sleep1\"; else check the serial line \
             and the module's power supply"
        ),
        kind => format!(
            "the module does not answer after the wake action (modem.power.wake.kind = \
             \"{}\"): check that the wake line is wired to its PWR_ON (and `active_low`), \
             that the wake program really pulses it, and the module's power supply",
            match kind {
                WakeKind::Gpio => "gpio",
                _ => "command",
            }
        ),
    }
}

/// Connection attempts `run --once` makes before giving up on its window.
const ONCE_ATTEMPTS: u32 = 3;
/// Backoff between connection attempts: from 2 s up to 5 min, with jitter
/// so a fleet that lost its broker together does not return together.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the daemon looks after the queue when nothing else happens.
const HOUSEKEEPING: Duration = Duration::from_secs(30);
/// How long an upload window may go without settling a message before the
/// watchdog is no longer fed for it: longer than any single step takes (a
/// login, a wake, one publish, each bounded by its own deadline).
const WINDOW_STALL: Duration = Duration::from_secs(300);
/// How long a session the doorbell asked for (`session`) stays up for
/// downlink commands after the upload, unless one arrives sooner.
const DOORBELL_SESSION_LINGER: Duration = Duration::from_secs(30);

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

/// The plugins and the intake that queues what they emit.
struct Sources {
    host: PluginHost,
    intake: Intake,
    /// Whether the heartbeat reports on plugins at all.
    configured: bool,
    /// Configured plugins that never loaded: unhealthy in the heartbeat.
    failed_loads: u64,
}

impl Sources {
    /// Loads and starts the configured plugins; one that fails to load is
    /// logged and left out.
    fn start(config: &Config, queue: Arc<Queue>, time: Arc<TimeKeeper>) -> Sources {
        let (specs, load_failures) = load_configured(&config.plugin_entries());
        let (host, readings) = PluginHost::start(specs, DEFAULT_CHANNEL_CAPACITY);
        Sources {
            host,
            intake: Intake::start(queue, readings, time),
            configured: !config.plugins.is_empty(),
            failed_loads: load_failures.len() as u64,
        }
    }
}

/// What the loop waited for.
enum Event {
    Shutdown,
    /// The intake queued readings: whether one was urgent, or why it failed.
    Queued(Result<bool, QueueError>),
    /// A deadline passed: the heartbeat, the next window, a retry, or
    /// housekeeping.
    Timer,
    Urc(Option<Urc>),
    Downlink(Result<(), SessionError>),
}

/// The running agent: the module, the queue, the power manager and the
/// state of the upload windows. One method per step of the loop.
struct Agent<'c> {
    config: &'c Config,
    at: AtClient,
    urcs: UrcSubscription,
    /// Shared with the intake, which appends while windows upload.
    queue: Arc<Queue>,
    packer: Packer,
    profile: MqttProfile,
    options: SessionOptions,
    power: PowerManager,
    waker: Waker,
    sockets: SocketManager,
    device_id: String,
    /// Whether this run keeps a doorbell (the daemon with `[doorbell]`).
    doorbell_wanted: bool,
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
    session: Option<MqttSession>,
    windows: UploadWindows,
    /// Without windows (`uplink.interval = "0s"`) the session stays up and
    /// readings go as they come; with windows it lives only for a window.
    continuous: bool,
    /// The first window opens at start if anything waits (the heartbeat
    /// says "up", a backlog from before a restart goes out), and is retried
    /// until it succeeds; later ones come by the schedule.
    first_window: bool,
    /// A plugin marked a reading urgent: a window opens at once.
    urgent: bool,
    /// A ring of the doorbell waiting to be read.
    ring: Option<ReadRequest>,
    /// The doorbell asked for a window (`upload` or `session`).
    rung: bool,
    /// The doorbell asked for a session that waits for commands.
    linger: bool,
    /// Failed attempts at a window in a row, for the backoff.
    attempt: u32,
    /// Windows that got as far as a session, for the heartbeat.
    windows_opened: u64,
    retry_at: Option<Instant>,
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
    /// The module stopped answering and that was reported (once, with what
    /// to configure); cleared when it answers again.
    silence_reported: bool,
    /// What UTC it is (host, module, unknown), shared with the intake.
    time: Arc<TimeKeeper>,
    /// The first sequence number of this boot: the readings its host clock
    /// stamped.
    boot_first_seq: u64,
}

impl<'c> Agent<'c> {
    /// Opens the queue, brings the module up (waking it first if it sleeps),
    /// applies the sleep settings, provisions the MQTT profile and opens the
    /// doorbell. Returns with the module voted awake (`self.awake`).
    async fn start(
        link: ModemLink,
        config: &'c Config,
        mode: RunMode,
        notifier: Notifier,
    ) -> Result<Self, RunError> {
        let queue = Arc::new(Queue::open(&config.queue_dir(), config.queue.options())?);
        // Which readings this boot's host clock stamped: one correction
        // fits them all once the time is known.
        let boot_first_seq = queue.boot_first_seq(&boot_id())?;
        let time = Arc::new(TimeKeeper::system());
        let at = link.client.clone();
        let urcs = at.subscribe();
        let waker = config.modem.waker(&link);
        let info = boot_waking(&at, &waker, &config.modem.boot_settings()).await?;
        let device_id = config
            .agent
            .device_id
            .as_ref()
            .map_or_else(|| info.identity.imei.clone(), |d| d.as_str().to_string());
        let packer = config.uplink.packer(Some(&device_id));
        let mqtt = &config.uplink.mqtt;
        let profile = mqtt.profile(&info.identity.imei, &device_id)?;
        // The power manager owns the sleep settings and the votes from here
        // on; everything that needs the module awake holds one of its guards.
        let power = PowerManager::new(at.clone());
        power.configure(&config.modem.power.settings()).await?;
        // §6.1.4: vote down before the profile is configured. `run --once`
        // is one window from here to its logout, so it keeps this guard
        // throughout; the daemon lets the module sleep until its first
        // window.
        let awake = Some(power.acquire().await?);
        let provisioned = provision(&at, queue.store(), &profile).await?;
        info!(?provisioned, device_id, "MQTT profile ready");
        let options = SessionOptions::new(
            mqtt.qos,
            mqtt.topic.for_device(&device_id),
            Some(mqtt.command_topic.for_device(&device_id)),
        );
        let heartbeat_every = Some(config.agent.heartbeat_interval.get()).filter(|d| !d.is_zero());
        let started = Instant::now();
        let windows = UploadWindows::new(config.uplink.window_policy(), started, jitter());
        let mut agent = Agent {
            config,
            urcs,
            queue,
            packer,
            profile,
            options,
            power,
            waker,
            sockets: SocketManager::new(at.clone()),
            device_id,
            doorbell_wanted: config.doorbell.enabled && mode == RunMode::Daemon,
            doorbell: None,
            started,
            registration: Some(info.registration),
            heartbeat_every,
            next_heartbeat: heartbeat_every.map(|every| started + every),
            report: RunReport::default(),
            awake,
            session: None,
            continuous: windows.next_slot().is_none(),
            windows,
            first_window: true,
            urgent: false,
            ring: None,
            rung: false,
            linger: false,
            attempt: 0,
            windows_opened: 0,
            retry_at: None,
            echo_baseline: at.echoes_seen(),
            control: DrainControl::new(),
            next_watchdog: notifier
                .watchdog_interval()
                .map(|every| Instant::now() + every),
            notifier: Arc::new(notifier),
            silence_reported: false,
            time,
            boot_first_seq,
            at,
        };
        agent.learn_time().await?;
        agent.open_doorbell().await;
        Ok(agent)
    }

    /// Learns the time from the module if it is not known (its network
    /// time, `AT+CCLK?`), and restamps the queue's readings that a wrong
    /// host clock stamped once it is. Asks the module nothing when the host
    /// clock is right: no needless AT traffic.
    async fn learn_time(&mut self) -> Result<(), QueueError> {
        let queue = Arc::clone(&self.queue);
        let first = self.boot_first_seq;
        if !self.time.is_known() {
            let module = match self.at.send(&ReadClock).await {
                Ok(module) => module,
                Err(e) => {
                    warn!(error = %e, "cannot read the module's clock");
                    return Ok(());
                }
            };
            let host = self.time.host_now_ns();
            let learned = self.time.learn_module_time(module, host, |c| {
                let now = host.saturating_add(c.offset_ns);
                queue.restamp(first, Some(c.offset_ns), now)
            });
            match learned {
                Some((correction, restamped)) => {
                    restamped?;
                    if self.config.agent.set_system_clock {
                        let now = self.time.host_now_ns().saturating_add(correction.offset_ns);
                        match set_system_clock(now) {
                            Ok(()) => info!("system clock set from the module's network time"),
                            Err(e) => warn!(
                                error = %e,
                                "cannot set the system clock (agent.set_system_clock needs \
                                 CAP_SYS_TIME); the agent keeps its own time"
                            ),
                        }
                    }
                }
                None => info!(
                    "the time is not known yet (no network time from the module); readings \
                     stamped by the host clock wait until it is"
                ),
            }
        } else if queue.has_implausible_times() {
            // Known from the start, but the queue holds readings of a boot
            // whose clock was wrong (this one's, if the host clock was set
            // meanwhile; an earlier one's otherwise).
            let time = Arc::clone(&self.time);
            self.time.apply(|c| match time.utc_now_ns() {
                Some(now) => queue.restamp(first, c.map(|c| c.offset_ns), now).map(drop),
                None => Ok(()),
            })?;
        }
        Ok(())
    }

    /// `run --once`: one sample from every source (each plugin's first
    /// poll; push sensors emit from start until shutdown), then the
    /// heartbeat, which then also tells how the plugins fared; then one
    /// window.
    async fn once(mut self, sources: Sources) -> Result<RunReport, RunError> {
        let Sources {
            host,
            intake,
            configured,
            failed_loads,
        } = sources;
        host.first_polls_done().await;
        let statuses = host.shutdown().await;
        intake.finish().await?;
        if self.heartbeat_every.is_some() {
            let plugins = configured.then(|| plugin_vitals(&statuses, failed_loads));
            self.queue_heartbeat(plugins, None)?;
        }
        let mut session = None;
        for attempt in 0..ONCE_ATTEMPTS {
            match MqttSession::connect(&self.at, self.options.clone()).await {
                Ok(s) => {
                    session = Some(s);
                    break;
                }
                Err(e) if e.is_retryable() && attempt + 1 < ONCE_ATTEMPTS => {
                    let wait = backoff(attempt, BACKOFF_BASE, BACKOFF_MAX, jitter());
                    warn!(error = %e, ?wait, "MQTT login failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                // Out of attempts, or a failure the same attempt would
                // repeat: this window ends, the readings stay queued.
                Err(e) => {
                    warn!(error = %e, "MQTT login failed; giving up this window");
                    break;
                }
            }
        }
        if let Some(mut s) = session {
            let budget = Budget {
                // While the time is unknown, readings the host's wrong
                // clock stamped wait for it (`crate::timekeeper`).
                hold_implausible_times: !self.time.is_known(),
                ..Budget::UNLIMITED
            };
            let drained = drain(&self.queue, &self.packer, &mut s, budget).await?;
            self.report.messages += drained.messages;
            self.report.delivered += drained.delivered;
            self.report.dead_lettered += drained.dead_lettered;
            self.report.dead_reason = drained.dead_reason.or(self.report.dead_reason.take());
            if let Err(e) = s.logout().await {
                warn!(error = %e, "MQTT logout not confirmed");
            }
        }
        self.close().await
    }

    /// The daemon: windows, heartbeats, plugin readings, the doorbell and
    /// downlink, until `shutdown`.
    async fn daemon(
        mut self,
        sources: Sources,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunReport, RunError> {
        // Every source is sampled once at start: the heartbeat says "up".
        if self.heartbeat_every.is_some() {
            self.queue_heartbeat(sources.vitals(), Some(&sources.intake))?;
        }
        tokio::pin!(shutdown);
        // The module may sleep until the first window.
        self.awake = None;
        loop {
            self.feed_watchdog();
            self.queue.maintain()?;
            self.queue.flush_if_due()?;
            self.answer_ring().await;
            self.window_watched(&sources.host, &mut shutdown).await?;
            if self.control.is_stopped() {
                break;
            }
            self.notifier.status(&self.idle_status()?);
            let event = self.next_event(&sources.intake, &mut shutdown).await;
            match event {
                Event::Shutdown => break,
                Event::Queued(urgent) => self.urgent |= urgent?,
                Event::Timer => {
                    if self.next_heartbeat.is_some_and(|t| Instant::now() >= t) {
                        self.queue_heartbeat(sources.vitals(), Some(&sources.intake))?;
                        self.next_heartbeat = self.heartbeat_every.map(|d| Instant::now() + d);
                    }
                }
                Event::Urc(urc) => self.on_urc(urc)?,
                Event::Downlink(Ok(())) => {
                    if let Some(s) = self.session.as_mut() {
                        serve_downlink(s, &sources.host, &self.options).await;
                    }
                }
                Event::Downlink(Err(e)) => warn!(error = %e, "MQTT session dropped; reconnecting"),
            }
        }
        info!("stopping");
        self.notifier
            .stopping("stopping: plugins, then the MQTT session, then the queue");
        // Plugins stop before the session ends; what they emitted until
        // they stopped is queued (and stays queued for the next run).
        let Sources { host, intake, .. } = sources;
        host.shutdown().await;
        intake.finish().await?;
        if let Some(s) = self.session.take() {
            info!("logging out");
            if let Err(e) = s.logout().await {
                warn!(error = %e, "MQTT logout not confirmed");
            }
        }
        self.close().await
    }

    /// [`Agent::window_if_due`], watching the shutdown signal and feeding
    /// the watchdog meanwhile. A shutdown ends the window after the message
    /// in flight. The watchdog is fed only while the window moves (a
    /// message settled within [`WINDOW_STALL`]), so a window that hangs
    /// gets the agent restarted like a hung loop.
    async fn window_watched(
        &mut self,
        plugins: &PluginHost,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), RunError> {
        let control = self.control.clone();
        let watchdog = self.notifier.watchdog_interval();
        let notifier = Arc::clone(&self.notifier);
        let mut next_ping = self.next_watchdog;
        let mut settled = control.settled();
        let mut moved_at = Instant::now();
        let mut stall_warned = false;
        let outcome = {
            let window = self.window_if_due(plugins);
            tokio::pin!(window);
            loop {
                let ping_at = next_ping.unwrap_or_else(|| Instant::now() + HOUSEKEEPING);
                tokio::select! {
                    done = &mut window => break done,
                    () = shutdown.as_mut(), if !control.is_stopped() => {
                        info!("stop requested during a window: it ends after the message in flight");
                        notifier.stopping("stopping: finishing the message in flight");
                        control.stop();
                    }
                    () = tokio::time::sleep_until(ping_at), if next_ping.is_some() => {
                        if control.settled() != settled {
                            settled = control.settled();
                            moved_at = Instant::now();
                        }
                        if moved_at.elapsed() < WINDOW_STALL {
                            notifier.watchdog();
                        } else if !std::mem::replace(&mut stall_warned, true) {
                            warn!(
                                stalled = ?moved_at.elapsed(),
                                "the upload window has not moved for a while; the service \
                                 manager's watchdog is no longer fed"
                            );
                        }
                        next_ping = watchdog.map(|every| Instant::now() + every);
                    }
                }
            }
        };
        self.next_watchdog = next_ping;
        outcome
    }

    /// Sends `WATCHDOG=1` if it is due: the loop is alive.
    fn feed_watchdog(&mut self) {
        let Some(every) = self.notifier.watchdog_interval() else {
            return;
        };
        if self.next_watchdog.is_none_or(|t| Instant::now() >= t) {
            self.notifier.watchdog();
            self.next_watchdog = Some(Instant::now() + every);
        }
    }

    /// The one-line state between windows, for `systemctl status`.
    fn idle_status(&self) -> Result<String, QueueError> {
        let pending = self.queue.stats()?.counters.pending_count;
        let module = if self.silence_reported {
            "the module does not answer; retrying"
        } else if self.session.as_ref().is_some_and(MqttSession::is_connected) {
            "MQTT session up"
        } else {
            "waiting for the next window"
        };
        Ok(format!(
            "{module}; {pending} readings queued; {} delivered since start",
            self.report.delivered
        ))
    }

    /// Lets the module sleep, flushes the queue and reports.
    async fn close(mut self) -> Result<RunReport, RunError> {
        self.awake = None;
        settle(&self.power).await;
        self.queue.flush()?;
        self.report.pending = self.queue.stats()?.counters.pending_count;
        Ok(self.report)
    }

    /// Waits for the next thing to do.
    async fn next_event(
        &mut self,
        intake: &Intake,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Event {
        let window_wanted = self.first_window || self.urgent || self.rung || !self.continuous;
        let wake = [
            self.next_watchdog,
            self.next_heartbeat,
            self.retry_at.filter(|_| window_wanted),
            self.windows.next_slot(),
            Some(Instant::now() + HOUSEKEEPING),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + HOUSEKEEPING);
        tokio::select! {
            () = shutdown.as_mut() => Event::Shutdown,
            queued = intake.queued() => Event::Queued(queued),
            () = tokio::time::sleep_until(wake) => Event::Timer,
            urc = self.urcs.recv() => Event::Urc(urc),
            waited = wait_downlink(self.session.as_mut()) => Event::Downlink(waited),
        }
    }

    fn on_urc(&mut self, urc: Option<Urc>) -> Result<(), RunError> {
        match urc {
            Some(Urc::Registration { status, .. }) => self.registration = Some(status),
            Some(urc @ (Urc::SocketData { .. } | Urc::SocketClosed { .. })) => {
                self.sockets.on_urc(&urc);
                if let Some(bell) = self.doorbell.as_mut() {
                    if let Some(request) = bell.on_urc(&urc) {
                        self.ring = Some(request);
                    }
                    if !bell.is_open() {
                        // Opened again in the next window (the module is
                        // awake then anyway).
                        self.doorbell = None;
                    }
                }
            }
            Some(_) => {}
            None => return Err(RunError::Link(LinkError::PortClosed)),
        }
        Ok(())
    }

    /// The module woke on the server's datagram: keep it awake, read the
    /// ring, and remember what it asked for.
    async fn answer_ring(&mut self) {
        let Some(request) = self.ring.take() else {
            return;
        };
        if self.doorbell.is_none() {
            return;
        }
        let guard = match self.wake_for_window().await {
            Ok(guard) => guard,
            Err(e) => {
                warn!(error = %e, "the doorbell rang but the module is not ready");
                return;
            }
        };
        // Waking may have found the doorbell lost (a reboot).
        let Some(bell) = self.doorbell.as_mut() else {
            return;
        };
        match bell.read(&mut self.sockets, request).await {
            Ok(commands) => {
                info!(?commands, "the doorbell rang");
                self.rung |= !commands.is_empty();
                self.linger |= commands.contains(&DoorbellCommand::Session);
            }
            Err(e) => warn!(error = %e, "could not read the doorbell"),
        }
        self.awake = self.rung.then_some(guard);
    }

    /// Opens a window if one is due and not held back by a retry's backoff:
    /// wake, log in, upload, serve commands, log out, let the module sleep.
    async fn window_if_due(&mut self, plugins: &PluginHost) -> Result<(), RunError> {
        let pending = self.queue.stats()?.counters.pending_count;
        // Nothing waiting at start: no start window, the schedule decides.
        self.first_window &= pending > 0;
        let reason = if self.rung {
            // A session for the server even with nothing to send: it may
            // have commands waiting.
            Some(WindowReason::Doorbell)
        } else if self.first_window {
            Some(WindowReason::Start)
        } else {
            self.windows.due(Instant::now(), pending, self.urgent)
        };
        let Some(reason) = reason else {
            return Ok(());
        };
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        if self.session.as_ref().is_none_or(|s| !s.is_connected()) {
            if !self.continuous {
                info!(?reason, pending, "upload window");
                self.notifier.status(&format!(
                    "upload window ({reason:?}): {pending} readings queued"
                ));
            }
            if !self.log_in().await {
                return Ok(());
            }
        }
        self.upload(plugins).await
    }

    /// Wakes the module if needed and logs in; on failure schedules the
    /// retry and returns false.
    async fn log_in(&mut self) -> bool {
        if self.awake.is_none() {
            match self.wake_for_window().await {
                Ok(guard) => {
                    self.awake = Some(guard);
                    if std::mem::take(&mut self.silence_reported) {
                        info!("the module answers again");
                    }
                }
                Err(e) => {
                    let wait = self.back_off();
                    if e.is_silence() && !self.silence_reported {
                        self.silence_reported = true;
                        error!(
                            error = %e,
                            "{}; retrying every few minutes, the readings stay queued",
                            silence_advice(&self.config.modem.power)
                        );
                    } else {
                        warn!(error = %e, ?wait, "the module is not ready for a window; retrying later");
                    }
                    return false;
                }
            }
        }
        match MqttSession::connect(&self.at, self.options.clone()).await {
            Ok(s) => {
                self.session = Some(s);
                self.windows_opened += 1;
                self.attempt = 0;
                self.retry_at = None;
                true
            }
            // A daemon that runs for years rides out broker outages and even
            // refused logins (credentials rotated on the server): it keeps
            // trying with capped backoff rather than exiting into a restart
            // loop. The module's error says which it was. The readings stay
            // queued.
            Err(e) => {
                self.session = None;
                // Waiting for the retry is no reason to keep the radio up.
                self.awake = None;
                let wait = self.back_off();
                warn!(error = %e, ?wait, attempt = self.attempt, "no MQTT session; retrying later");
                false
            }
        }
    }

    /// Schedules the next attempt after a failed one; returns the wait.
    fn back_off(&mut self) -> Duration {
        let wait = backoff(self.attempt, BACKOFF_BASE, BACKOFF_MAX, jitter());
        self.attempt = self.attempt.saturating_add(1);
        self.retry_at = Some(Instant::now() + wait);
        wait
    }

    /// Sends everything pending through the session; with windows, then
    /// answers the commands that came, logs out, closes the window's own
    /// sockets and lets the module sleep.
    async fn upload(&mut self, plugins: &PluginHost) -> Result<(), RunError> {
        let Some(s) = self.session.as_mut() else {
            return Ok(());
        };
        // A window sends what waited for it; readings the intake queues
        // meanwhile wait for the next one. Without windows the session
        // stays up and everything goes as it comes.
        let mut budget = if self.continuous {
            Budget::UNLIMITED
        } else {
            Budget::queued_now(&self.queue)?
        }
        .controlled_by(&self.control);
        // While the time is unknown, readings the host's wrong clock
        // stamped wait for it (`crate::timekeeper`).
        budget.hold_implausible_times = !self.time.is_known();
        let drained = drain(&self.queue, &self.packer, s, budget).await?;
        self.report.messages += drained.messages;
        self.report.delivered += drained.delivered;
        self.report.dead_lettered += drained.dead_lettered;
        self.report.dead_reason = drained.dead_reason.or(self.report.dead_reason.take());
        if !self.continuous {
            if std::mem::take(&mut self.linger) {
                // The server rang for a session: give its commands time to
                // arrive.
                if let Ok(Ok(())) =
                    tokio::time::timeout(DOORBELL_SESSION_LINGER, s.wait_downlink()).await
                {
                    info!("command received in the session the doorbell asked for");
                }
            }
            // Commands that reached the module during the window are
            // answered before the radio goes quiet again.
            serve_downlink(s, plugins, &self.options).await;
            if let Some(s) = self.session.take() {
                if let Err(e) = s.logout().await {
                    warn!(error = %e, "MQTT logout not confirmed");
                }
            }
            // No socket the window opened outlives it (a non-AoN socket
            // would keep the module out of deep sleep); the doorbell stays.
            if let Err(e) = self.sockets.close_owned().await {
                warn!(error = %e, "a socket of this window could not be closed");
            }
            let blockers = self.sockets.deep_sleep_blockers();
            if !blockers.is_empty() {
                let blockers: Vec<String> = blockers.iter().map(ToString::to_string).collect();
                warn!(
                    ?blockers,
                    "the module cannot enter deep sleep after this window"
                );
            }
            // The window is over: the vote goes up, the module may sleep
            // until the next one.
            self.awake = None;
        }
        self.windows.window_done(Instant::now(), jitter());
        self.first_window = false;
        self.urgent = false;
        self.rung = false;
        Ok(())
    }

    /// Gets the module ready for a window and keeps it awake: the wake
    /// action if it is in deep sleep (UART bytes alone do not wake it),
    /// `AT`s until it answers (Sleep-1 loses the first bytes), the vote
    /// down, and, if deep sleep or a reboot cost it its volatile settings,
    /// their restore (the MQTT profile reloaded from NVM, never rewritten
    /// unless the config changed); then the doorbell, if it was lost.
    async fn wake_for_window(&mut self) -> Result<AwakeGuard, WakeForWindowError> {
        let power_settings = self.config.modem.power.settings();
        if power_settings.enabled && self.power.status().state.is_deep_sleep() {
            self.waker.wake(&self.at).await?;
        } else {
            // One `AT` even when the module should be awake: it wakes a
            // module in Sleep-1 (which loses the first bytes), and its echo
            // tells whether the module rebooted since the last window.
            self.at.sync().await?;
        }
        // Echo is back on: the module forgot `ATE0`, and with it every
        // volatile setting and the profile it had loaded. Deep sleep does
        // that too, and the sleep URC said so; a reboot also closes every
        // socket, the always-on ones included.
        let forgot = self.at.echoes_seen() > self.echo_baseline;
        let rebooted = forgot && !self.power.status().needs_restore;
        if rebooted {
            warn!("the module has lost its settings (an unannounced reboot?); restoring them");
            self.power.note_reboot();
        }
        let awake = self.power.acquire().await?;
        if self.power.status().needs_restore {
            let restored = restore_after_deep_sleep(
                &awake,
                &self.at,
                &power_settings,
                self.queue.store(),
                &self.profile,
            )
            .await?;
            info!(?restored, "module settings restored");
        }
        self.echo_baseline = self.at.echoes_seen();
        if forgot {
            self.check_sockets(rebooted).await;
        }
        if let Err(e) = self.learn_time().await {
            warn!(error = %e, "cannot restamp the queue's readings");
        }
        self.open_doorbell().await;
        Ok(awake)
    }

    /// After the module lost its volatile state: which sockets survived?
    /// Always-on ones survive deep sleep, none survives a reboot, and a
    /// reboot during deep sleep looks like deep sleep: with a doorbell to
    /// keep, the module's own list (`+USOCR?`) decides; without one, the
    /// table is emptied on a reboot.
    async fn check_sockets(&mut self, rebooted: bool) {
        let Some(bell) = &self.doorbell else {
            if rebooted {
                self.sockets.forget_all();
            }
            return;
        };
        if let Err(e) = self.sockets.reconcile().await {
            warn!(error = %e, "could not list the module's sockets");
            return;
        }
        if self.sockets.table().get(bell.socket()).is_none() {
            warn!(
                socket = bell.socket(),
                "the doorbell's socket is gone; opening it again"
            );
            self.doorbell = None;
        }
    }

    /// Opens the doorbell if this run keeps one and it is not open. Called
    /// only while the module is voted awake.
    async fn open_doorbell(&mut self) {
        if !self.doorbell_wanted || self.doorbell.is_some() {
            return;
        }
        // The doorbell is the first socket of its protocol, so it is
        // always-on (§5.10): a server can wake the gateway through it from
        // deep sleep.
        let opened = match self.config.doorbell.settings(&self.device_id) {
            Ok(settings) => Doorbell::open(&mut self.sockets, &settings).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(bell) => self.doorbell = Some(bell),
            Err(e) => warn!(
                error = %e,
                "no doorbell: the gateway is reachable only in its windows; trying again in the next"
            ),
        }
    }

    /// Queues the heartbeat; an append that did not flush (an interval
    /// sync) is left to the `intake`'s flush timer.
    fn queue_heartbeat(
        &self,
        plugins: Option<PluginVitals>,
        intake: Option<&Intake>,
    ) -> Result<(), QueueError> {
        let vitals = Vitals {
            uptime: self.started.elapsed(),
            queue: Some(self.queue.stats()?.counters),
            registration: self.registration,
            plugins,
            power: Some(PowerVitals {
                deep_sleeps: self.power.status().deep_sleeps,
                windows: self.windows_opened,
                sleep_blockers: self.sockets.deep_sleep_blockers().len() as u64,
                doorbell_open: self.doorbell_wanted.then_some(self.doorbell.is_some()),
            }),
            time: Some({
                let status = self.time.status();
                TimeVitals {
                    source: status.source.name(),
                    correction_s: status.correction.map(|c| c.offset_ns / 1_000_000_000),
                }
            }),
        };
        // Stamped by the host clock, corrected if the correction is known,
        // under the keeper's lock (as the intake's appends).
        let host_now = self.time.host_now_ns();
        let appended = self.time.with_correction(|fix| {
            self.queue
                .append(&heartbeat::readings(&vitals, fix(host_now)))
        })?;
        if let Some(intake) = intake.filter(|_| !appended.durable) {
            intake.note_unflushed();
        }
        Ok(())
    }
}

impl Sources {
    /// The heartbeat's summary of the plugins, if any are configured.
    fn vitals(&self) -> Option<PluginVitals> {
        self.configured
            .then(|| plugin_vitals(&self.host.status(), self.failed_loads))
    }
}

/// Boots the module, waking it first if it does not answer: the agent may
/// start (or restart) while the module sleeps deeply between windows, and
/// UART bytes alone do not wake it.
async fn boot_waking(
    at: &AtClient,
    waker: &Waker,
    settings: &BootSettings,
) -> Result<ModemInfo, RunError> {
    match at.sync().await {
        Ok(()) => {}
        Err(e @ AtError::PortClosed) => return Err(BootError::At(e).into()),
        Err(e) if waker.is_none() => {
            warn!("the module does not answer; if it may be in deep sleep, set modem.power.wake");
            return Err(BootError::At(e).into());
        }
        Err(e) => {
            info!(error = %e, "the module does not answer (in deep sleep?); running the wake action");
            waker.wake(at).await?;
        }
    }
    Ok(boot(at, settings).await?)
}

/// Sends a vote up still due before the agent exits; a failure only means
/// the module stays awake until its next reboot, so it is logged.
async fn settle(power: &PowerManager) {
    if let Err(e) = power.settle().await {
        warn!(error = %e, "could not vote the module back to sleep before exiting");
    }
}

/// Reads the commands the module announced on `session` and acts on them:
/// plugin commands are forwarded, each answered on the reply topic (the
/// session itself answers `ping` and unknown commands).
async fn serve_downlink(session: &mut MqttSession, plugins: &PluginHost, options: &SessionOptions) {
    let mut commands = Commands::default();
    if let Err(e) = session.service_downlink(&mut commands).await {
        warn!(error = %e, "MQTT session lost while reading commands");
    }
    if commands.flush {
        info!("flush requested over MQTT");
    }
    for (instance, payload) in commands.for_plugins {
        let reply = match plugins.command(&instance, &payload).await {
            Ok(()) => format!("ok: plugin {instance}"),
            Err(e) => {
                warn!(plugin = %instance, error = %e, "plugin command failed");
                format!("error: plugin {instance}: {e}")
            }
        };
        let topic = options.reply_topic.clone();
        if let Err(e) = session.publish_to(topic, reply.into_bytes()).await {
            warn!(error = %e, "reply not delivered");
        }
    }
}

/// Waits for downlink on the session, or forever without one.
async fn wait_downlink(session: Option<&mut MqttSession>) -> Result<(), SessionError> {
    match session {
        Some(s) if s.is_connected() => s.wait_downlink().await,
        _ => std::future::pending().await,
    }
}

/// Remembers what the downlink asked for. `flush` needs no action of its
/// own: the loop drains everything pending after every wake-up. Plugin
/// commands are forwarded after the read, since a plugin call is async.
#[derive(Debug, Default)]
struct Commands {
    flush: bool,
    for_plugins: Vec<(String, Vec<u8>)>,
}

impl DownlinkHandler for Commands {
    fn on_command(&mut self, command: &Command, message: &Message) {
        info!(?command, topic = %message.topic, "command received");
        match command {
            Command::Flush => self.flush = true,
            Command::Plugin { instance, payload } => {
                self.for_plugins.push((instance.clone(), payload.clone()));
            }
            Command::Ping | Command::Unknown(_) => {}
        }
    }
}

/// The heartbeat's summary of the plugins: `failed_loads` configured
/// plugins never loaded, and the instances' states and counters.
fn plugin_vitals(instances: &[InstanceStatus], failed_loads: u64) -> PluginVitals {
    let mut vitals = PluginVitals {
        unhealthy: failed_loads,
        ..PluginVitals::default()
    };
    for instance in instances {
        if matches!(
            instance.state,
            InstanceState::Wedged { .. } | InstanceState::Disabled { .. } | InstanceState::Idle
        ) {
            vitals.unhealthy += 1;
        }
        let c = &instance.counters;
        vitals.dropped += c.rejected_total() + c.dropped_full + c.after_stop;
        vitals.errors += c.errors + c.panics + c.deadlines_missed;
    }
    vitals
}

/// The kernel's id of this boot; a new one at every boot. Unreadable (not
/// Linux, no /proc), every agent process counts as a boot of its own.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|_| format!("process-{}", std::process::id()))
}

/// A jitter factor in [0, 1) from the clock's sub-second digits: enough to
/// spread a fleet, without a random-number dependency.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
