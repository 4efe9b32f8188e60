//! The agent at run time: open the queue, bring the module up, provision
//! the MQTT profile, then keep readings flowing until told to stop.
//!
//! Sources: the heartbeat, and the configured plugins, started once the
//! module is up; what they emit arrives on the plugin host's bounded channel
//! and is appended to the queue in batches. A plugin that fails to load is
//! reported (log, heartbeat) and the agent runs without it.
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
//! left half-sent.
//!
//! `RunMode::Once` is one upload window: boot, sample every source once
//! (every plugin's first poll, then the plugins are shut down), upload
//! everything pending, log out, and report what stayed pending.
//!
//! On the shutdown signal the plugins are stopped and destroyed first and
//! what they emitted until then is queued, so nothing sampled is lost.
//! Sleep votes and the module's power states between windows come with the
//! power manager (issue 6).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, not std's: the schedule (heartbeat, windows, retries) must
// follow the runtime's time, which a paused clock (the energy benchmark
// runs days in seconds) advances without std's.
use tokio::time::Instant;

use tracing::{info, warn};

use tokio::sync::mpsc;

use crate::config::Config;
use crate::heartbeat::{self, PluginVitals, Vitals};
use crate::modem::at::{RegStatus, Urc};
use crate::modem::mqtt::profile::{provision, MqttProfile, ProfileError, ProvisionError};
use crate::modem::mqtt::Message;
use crate::modem::mqtt_session::{
    backoff, Command, DownlinkHandler, MqttSession, SessionError, SessionOptions,
};
use crate::modem::{boot, BootError, BootSettings, LinkError, ModemLink};
use crate::plugin_host::{
    load_configured, InstanceState, InstanceStatus, PluginHost, PluginReading,
    DEFAULT_CHANNEL_CAPACITY,
};
use crate::power::doorbell::{Doorbell, DoorbellCommand, ReadRequest};
use crate::power::sockets::SocketManager;
use crate::power::{
    restore_after_deep_sleep, AwakeGuard, PowerError, PowerManager, RestoreError, WakeError, Waker,
};
use crate::queue::{Options, Queue, QueueError};
use crate::uplink::{drain, Packer, UploadWindows, WindowReason};

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
}

/// Why a window could not get the module awake and ready; the window is
/// retried with backoff, like a failed login.
#[derive(Debug, thiserror::Error)]
enum WakeForWindowError {
    #[error(transparent)]
    Wake(#[from] WakeError),
    #[error("the module does not answer: {0}")]
    NoAnswer(#[from] crate::modem::at::AtError),
    #[error(transparent)]
    Vote(#[from] PowerError),
    #[error("cannot restore the module's settings after deep sleep: {0}")]
    Restore(#[from] RestoreError),
}

/// Connection attempts `run --once` makes before giving up on its window.
const ONCE_ATTEMPTS: u32 = 3;
/// Backoff between connection attempts: from 2 s up to 5 min, with jitter
/// so a fleet that lost its broker together does not return together.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the daemon looks after the queue when nothing else happens.
const HOUSEKEEPING: Duration = Duration::from_secs(30);
/// How long a session the doorbell asked for (`session`) stays up for
/// downlink commands after the upload, unless one arrives sooner.
const DOORBELL_SESSION_LINGER: Duration = Duration::from_secs(30);
/// Most plugin readings appended in one queue transaction: large enough that
/// a burst costs few transactions, small enough that one append stays short.
const PLUGIN_BATCH: usize = 256;

/// Runs the agent with `config` until `shutdown` resolves (daemon) or one
/// upload window is done (once).
pub async fn run(
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let link = ModemLink::open(&config.modem).await?;
    run_on(link, config, mode, shutdown).await
}

/// [`run`] on a link the caller opened (`config.modem.port` is then not
/// used): for tests that hold the simulator's handle, to read its
/// transcript and power log while the agent runs.
pub async fn run_on(
    link: ModemLink,
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let queue = Queue::open(&config.queue_dir(), Options::from_config(&config.queue))?;
    let at = link.client.clone();
    let mut urcs = at.subscribe();
    let info = boot(&at, &BootSettings::from_config(&config.modem)).await?;
    let device_id = config
        .agent
        .device_id
        .as_ref()
        .map_or_else(|| info.identity.imei.clone(), |d| d.as_str().to_string());
    let packer = Packer::from_config(&config.uplink, Some(&device_id));
    let mqtt = &config.uplink.mqtt;
    let profile = MqttProfile::from_config(mqtt, &info.identity.imei, &device_id)?;
    // The power manager owns the sleep settings and the votes from here on;
    // everything that needs the module awake holds one of its guards.
    let power = PowerManager::new(at.clone());
    power.configure(&config.modem.power).await?;
    let waker = link.waker(&config.modem);
    // §6.1.4: vote down before the profile is configured. `run --once` is
    // one window from here to its logout, so it keeps this guard throughout;
    // the daemon lets the module sleep until its first window.
    let mut awake = Some(power.acquire().await?);
    let provisioned = provision(&at, queue.store(), &profile).await?;
    info!(?provisioned, device_id, "MQTT profile ready");
    // The doorbell is the first socket of its protocol, so it is always-on
    // (§5.10): a server can wake the gateway through it from deep sleep.
    let mut sockets = SocketManager::new(at.clone());
    let mut doorbell = None;
    if config.doorbell.enabled && mode == RunMode::Daemon {
        match Doorbell::open(&mut sockets, &config.doorbell, &device_id).await {
            Ok(d) => doorbell = Some(d),
            Err(e) => {
                warn!(error = %e, "no doorbell: the gateway is reachable only in its windows")
            }
        }
    }
    let options = SessionOptions::new(
        mqtt.qos,
        mqtt.topic.for_device(&device_id),
        Some(mqtt.command_topic.for_device(&device_id)),
    );

    let started = Instant::now();
    let mut registration = Some(info.registration);
    let mut report = RunReport::default();
    // `agent.heartbeat_interval = "0s"` turns the heartbeat off entirely.
    let heartbeat_every = config.agent.heartbeat_interval.get();
    let heartbeat_on = !heartbeat_every.is_zero();
    let (specs, load_failures) = load_configured(&config.plugins);
    let plugins_configured = !config.plugins.is_empty();
    let failed_loads = load_failures.len() as u64;
    let (plugins, mut plugin_readings) = PluginHost::start(specs, DEFAULT_CHANNEL_CAPACITY);
    let vitals = |queue: &Queue,
                  registration: Option<RegStatus>,
                  plugins: &[InstanceStatus]|
     -> Result<Vitals, QueueError> {
        Ok(Vitals {
            uptime: started.elapsed(),
            queue: Some(queue.stats()?.counters),
            registration,
            plugins: plugins_configured.then(|| plugin_vitals(plugins, failed_loads)),
        })
    };

    if mode == RunMode::Once {
        // One sample from every source: each plugin's first poll (push
        // sensors emit from start until shutdown), then the heartbeat, which
        // then also tells how the plugins fared.
        plugins.first_polls_done().await;
        let statuses = plugins.shutdown().await;
        queue_until_closed(&queue, &mut plugin_readings).await?;
        if heartbeat_on {
            queue_heartbeat(&queue, vitals(&queue, registration, &statuses)?)?;
        }
        let mut session = None;
        for attempt in 0..ONCE_ATTEMPTS {
            match MqttSession::connect(&at, options.clone()).await {
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
            let drained = drain(&queue, &packer, &mut s, None).await?;
            report.messages += drained.messages;
            report.delivered += drained.delivered;
            if let Err(e) = s.logout().await {
                warn!(error = %e, "MQTT logout not confirmed");
            }
        }
        drop(awake);
        settle(&power).await;
        queue.flush()?;
        report.pending = queue.stats()?.counters.pending_count;
        return Ok(report);
    }

    // Every source is sampled once at start: the heartbeat says "up".
    if heartbeat_on {
        queue_heartbeat(&queue, vitals(&queue, registration, &plugins.status())?)?;
    }
    tokio::pin!(shutdown);
    let mut next_heartbeat = heartbeat_on.then(|| started + heartbeat_every);
    let mut windows = UploadWindows::new(config.uplink.window_policy(), Instant::now(), jitter());
    // Without windows (`uplink.interval = "0s"`) the session stays up and
    // readings go as they come; with windows it lives only for a window.
    let continuous = windows.next_slot().is_none();
    // The first window opens at start if anything waits (the heartbeat
    // says "up", a backlog from before a restart goes out), and is retried
    // until it succeeds; later ones come by the schedule.
    let mut first_window = true;
    let mut urgent = false;
    // A ring of the doorbell waiting to be read, and what it asked for.
    let mut ring: Option<ReadRequest> = None;
    let mut rung = false;
    let mut linger = false;
    let mut session: Option<MqttSession> = None;
    // From here held exactly while a session is wanted: the module may sleep
    // otherwise.
    awake = None;
    let mut attempt = 0u32;
    let mut retry_at: Option<Instant> = None;
    // Echo is off from boot on (`ATE0`); any echo after this is news.
    let mut echo_baseline = at.echoes_seen();
    loop {
        queue.maintain()?;
        queue.flush_if_due()?;

        if let (Some(request), Some(bell)) = (ring.take(), doorbell.as_mut()) {
            // The module woke on the server's datagram; keep it awake, read
            // the ring, and act on it.
            match wake_for_window(
                &power,
                &waker,
                &at,
                config,
                queue.store(),
                &profile,
                &mut echo_baseline,
            )
            .await
            {
                Ok(guard) => {
                    match bell.read(&mut sockets, request).await {
                        Ok(commands) => {
                            info!(?commands, "the doorbell rang");
                            rung |= !commands.is_empty();
                            linger |= commands.contains(&DoorbellCommand::Session);
                        }
                        Err(e) => warn!(error = %e, "could not read the doorbell"),
                    }
                    awake = rung.then_some(guard);
                }
                Err(e) => warn!(error = %e, "the doorbell rang but the module is not ready"),
            }
        }
        let pending = queue.stats()?.counters.pending_count;
        // Nothing waiting at start: no start window, the schedule decides.
        first_window &= pending > 0;
        let reason = if rung {
            // A session for the server even with nothing to send: it may
            // have commands waiting.
            Some(WindowReason::Doorbell)
        } else if first_window {
            Some(WindowReason::Start)
        } else {
            windows.due(Instant::now(), pending, urgent)
        };
        if let Some(reason) = reason.filter(|_| retry_at.is_none_or(|t| Instant::now() >= t)) {
            if session.as_ref().is_none_or(|s| !s.is_connected()) {
                if !continuous {
                    info!(?reason, pending, "upload window");
                }
                if awake.is_none() {
                    match wake_for_window(
                        &power,
                        &waker,
                        &at,
                        config,
                        queue.store(),
                        &profile,
                        &mut echo_baseline,
                    )
                    .await
                    {
                        Ok(guard) => awake = Some(guard),
                        Err(e) => {
                            let wait = backoff(attempt, BACKOFF_BASE, BACKOFF_MAX, jitter());
                            attempt = attempt.saturating_add(1);
                            warn!(error = %e, ?wait, "the module is not ready for a window; retrying later");
                            retry_at = Some(Instant::now() + wait);
                            continue;
                        }
                    }
                }
                match MqttSession::connect(&at, options.clone()).await {
                    Ok(s) => {
                        session = Some(s);
                        attempt = 0;
                        retry_at = None;
                    }
                    // A daemon that runs for years rides out broker outages
                    // and even refused logins (credentials rotated on the
                    // server): it keeps trying with capped backoff rather
                    // than exiting into a restart loop. The module's error
                    // says which it was. The readings stay queued.
                    Err(e) => {
                        session = None;
                        // Waiting for the retry is no reason to keep the
                        // radio up.
                        awake = None;
                        let wait = backoff(attempt, BACKOFF_BASE, BACKOFF_MAX, jitter());
                        attempt = attempt.saturating_add(1);
                        warn!(error = %e, ?wait, attempt, "no MQTT session; retrying later");
                        retry_at = Some(Instant::now() + wait);
                    }
                }
            }
            if let Some(s) = session.as_mut() {
                let drained = drain(&queue, &packer, s, None).await?;
                report.messages += drained.messages;
                report.delivered += drained.delivered;
                if !continuous {
                    if std::mem::take(&mut linger) {
                        // The server rang for a session: give its commands
                        // time to arrive.
                        if let Ok(Ok(())) =
                            tokio::time::timeout(DOORBELL_SESSION_LINGER, s.wait_downlink()).await
                        {
                            info!("command received in the session the doorbell asked for");
                        }
                    }
                    // Commands that reached the module during the window are
                    // answered before the radio goes quiet again.
                    serve_downlink(s, &plugins, &options).await;
                    if let Some(s) = session.take() {
                        if let Err(e) = s.logout().await {
                            warn!(error = %e, "MQTT logout not confirmed");
                        }
                    }
                    // No socket the window opened outlives it (a non-AoN
                    // socket would keep the module out of deep sleep); the
                    // doorbell stays.
                    if let Err(e) = sockets.close_owned().await {
                        warn!(error = %e, "a socket of this window could not be closed");
                    }
                    // The window is over: the vote goes up, the module may
                    // sleep until the next one.
                    awake = None;
                }
                windows.window_done(Instant::now(), jitter());
                first_window = false;
                urgent = false;
                rung = false;
            }
        }

        let window_wanted = first_window || urgent || rung || !continuous;
        let wake = [
            next_heartbeat,
            retry_at.filter(|_| window_wanted),
            windows.next_slot(),
            Some(Instant::now() + HOUSEKEEPING),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + HOUSEKEEPING);
        tokio::select! {
            () = &mut shutdown => {
                info!("stopping");
                break;
            }
            Some(first) = plugin_readings.recv() => {
                urgent |= queue_batch(&queue, first, &mut plugin_readings)?;
            }
            () = tokio::time::sleep_until(wake) => {
                if next_heartbeat.is_some_and(|t| Instant::now() >= t) {
                    queue_heartbeat(&queue, vitals(&queue, registration, &plugins.status())?)?;
                    next_heartbeat = Some(Instant::now() + heartbeat_every);
                }
            }
            urc = urcs.recv() => match urc {
                Some(Urc::Registration { status, .. }) => registration = Some(status),
                Some(urc @ (Urc::SocketData { .. } | Urc::SocketClosed { .. })) => {
                    sockets.on_urc(&urc);
                    if let Some(request) = doorbell.as_mut().and_then(|d| d.on_urc(&urc)) {
                        ring = Some(request);
                    }
                }
                Some(_) => {}
                None => return Err(RunError::Link(LinkError::PortClosed)),
            },
            waited = wait_downlink(session.as_mut()) => match waited {
                Ok(()) => {
                    if let Some(s) = session.as_mut() {
                        serve_downlink(s, &plugins, &options).await;
                    }
                }
                Err(e) => warn!(error = %e, "MQTT session dropped; reconnecting"),
            },
        }
    }
    // Plugins stop before the session ends; what they emitted until they
    // stopped is queued (and stays queued for the next run).
    plugins.shutdown().await;
    queue_until_closed(&queue, &mut plugin_readings).await?;
    if let Some(s) = session {
        info!("logging out");
        if let Err(e) = s.logout().await {
            warn!(error = %e, "MQTT logout not confirmed");
        }
    }
    drop(awake);
    settle(&power).await;
    queue.flush()?;
    report.pending = queue.stats()?.counters.pending_count;
    Ok(report)
}

/// Gets the module ready for a window and keeps it awake: the wake action
/// if it is in deep sleep (UART bytes alone do not wake it), `AT`s until it
/// answers (Sleep-1 loses the first bytes), the vote down, and, if deep
/// sleep or a reboot cost it its volatile settings, their restore (the MQTT
/// profile reloaded from NVM, never rewritten unless the config changed).
/// A reboot nobody announced shows as echo: `echo_baseline` is the echo
/// count when echo was last known off.
async fn wake_for_window(
    power: &PowerManager,
    waker: &Waker,
    at: &crate::modem::at::AtClient,
    config: &Config,
    store: &crate::store::Store,
    profile: &MqttProfile,
    echo_baseline: &mut u64,
) -> Result<AwakeGuard, WakeForWindowError> {
    let power_config = &config.modem.power;
    if power_config.enabled && power.status().state.is_deep_sleep() {
        waker.wake(at).await?;
    } else {
        // One `AT` even when the module should be awake: it wakes a module
        // in Sleep-1 (which loses the first bytes), and its echo tells
        // whether the module rebooted since the last window.
        at.sync().await?;
    }
    if at.echoes_seen() > *echo_baseline {
        // Echo is back on: the module forgot `ATE0`, and with it every
        // volatile setting and the profile it had loaded.
        warn!("the module has lost its settings (an unannounced reboot?); restoring them");
        power.note_reboot();
    }
    let awake = power.acquire().await?;
    if power.status().needs_restore {
        let restored = restore_after_deep_sleep(&awake, at, power_config, store, profile).await?;
        info!(?restored, "module settings restored");
    }
    *echo_baseline = at.echoes_seen();
    Ok(awake)
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

fn queue_heartbeat(queue: &Queue, vitals: Vitals) -> Result<(), QueueError> {
    queue.append(&heartbeat::readings(&vitals, now_ns()))?;
    Ok(())
}

/// Appends `first` and whatever else is already waiting (up to
/// [`PLUGIN_BATCH`]) in one queue transaction; returns whether any of them
/// was marked urgent (it opens an upload window at once).
fn queue_batch(
    queue: &Queue,
    first: PluginReading,
    readings: &mut mpsc::Receiver<PluginReading>,
) -> Result<bool, QueueError> {
    let mut urgent = first.urgent;
    let mut batch = Vec::with_capacity(PLUGIN_BATCH.min(readings.len() + 1));
    batch.push(first.reading);
    while batch.len() < PLUGIN_BATCH {
        match readings.try_recv() {
            Ok(next) => {
                urgent |= next.urgent;
                batch.push(next.reading);
            }
            Err(_) => break,
        }
    }
    queue.append(&batch)?;
    Ok(urgent)
}

/// Queues everything left on the channel; returns once the plugin host is
/// shut down and the channel is empty.
async fn queue_until_closed(
    queue: &Queue,
    readings: &mut mpsc::Receiver<PluginReading>,
) -> Result<(), QueueError> {
    while let Some(first) = readings.recv().await {
        queue_batch(queue, first, readings)?;
    }
    Ok(())
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

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A jitter factor in [0, 1) from the clock's sub-second digits: enough to
/// spread a fleet, without a random-number dependency.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
