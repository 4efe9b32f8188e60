//! The agent at run time: open the queue, bring the module up, provision
//! the MQTT profile, then keep readings flowing until told to stop.
//!
//! One pass of the daemon loop: housekeeping on the queue (lease timeouts,
//! expiry, an interval flush), a session if there is none (with backoff),
//! a drain of everything pending, then a wait for the next thing to do: a
//! heartbeat due, a downlink command, a registration change, the session
//! dropping, or the shutdown signal. A drain in progress is never cancelled
//! by the signal: the in-flight publish completes (or times out) first, so
//! a reading is never left half-sent.
//!
//! `RunMode::Once` is one upload window: boot, sample every source once,
//! upload everything pending, log out, and report what stayed pending.
//! Upload windows, sleep votes and the module's power states come with the
//! power manager (issue 6); until then the daemon uploads as soon as
//! readings are queued.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{info, warn};

use crate::config::Config;
use crate::heartbeat::{self, Vitals};
use crate::modem::at::{RegStatus, Urc};
use crate::modem::mqtt::profile::{provision, MqttProfile, ProfileError, ProvisionError};
use crate::modem::mqtt::Message;
use crate::modem::mqtt_session::{
    backoff, Command, DownlinkHandler, MqttSession, SessionError, SessionOptions,
};
use crate::modem::{boot, BootError, BootSettings, LinkError, ModemLink};
use crate::queue::{Options, Queue, QueueError};
use crate::uplink::{drain, Packer};

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
}

/// Connection attempts `run --once` makes before giving up on its window.
const ONCE_ATTEMPTS: u32 = 3;
/// Backoff between connection attempts: from 2 s up to 5 min, with jitter
/// so a fleet that lost its broker together does not return together.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the daemon looks after the queue when nothing else happens.
const HOUSEKEEPING: Duration = Duration::from_secs(30);

/// Runs the agent with `config` until `shutdown` resolves (daemon) or one
/// upload window is done (once).
pub async fn run(
    config: &Config,
    mode: RunMode,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let queue = Queue::open(&config.queue_dir(), Options::from_config(&config.queue))?;
    let link = ModemLink::open(&config.modem).await?;
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
    let provisioned = provision(&at, queue.store(), &profile).await?;
    info!(?provisioned, device_id, "MQTT profile ready");
    let options = SessionOptions::new(
        mqtt.qos,
        mqtt.topic.for_device(&device_id),
        Some(mqtt.command_topic.for_device(&device_id)),
    );

    let started = Instant::now();
    let mut registration = Some(info.registration);
    let mut report = RunReport::default();
    // Every source is sampled once at start: the heartbeat says "up".
    queue_heartbeat(&queue, started, registration)?;

    if mode == RunMode::Once {
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
        queue.flush()?;
        report.pending = queue.stats()?.counters.pending_count;
        return Ok(report);
    }

    tokio::pin!(shutdown);
    let heartbeat_every = config.agent.heartbeat_interval.get();
    let mut next_heartbeat = (!heartbeat_every.is_zero()).then(|| started + heartbeat_every);
    let mut session: Option<MqttSession> = None;
    let mut attempt = 0u32;
    let mut retry_at: Option<Instant> = None;
    loop {
        queue.maintain()?;
        queue.flush_if_due()?;

        if session.as_ref().is_none_or(|s| !s.is_connected())
            && retry_at.is_none_or(|t| Instant::now() >= t)
        {
            match MqttSession::connect(&at, options.clone()).await {
                Ok(s) => {
                    session = Some(s);
                    attempt = 0;
                    retry_at = None;
                }
                // A daemon that runs for years rides out broker outages and
                // even refused logins (credentials rotated on the server):
                // it keeps trying with capped backoff rather than exiting
                // into a restart loop. The module's error says which it was.
                Err(e) => {
                    session = None;
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
        }

        let wake = [
            next_heartbeat,
            retry_at,
            Some(Instant::now() + HOUSEKEEPING),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + HOUSEKEEPING);
        tokio::select! {
            () = &mut shutdown => {
                info!("stopping: logging out");
                break;
            }
            () = tokio::time::sleep_until(wake.into()) => {
                if next_heartbeat.is_some_and(|t| Instant::now() >= t) {
                    queue_heartbeat(&queue, started, registration)?;
                    next_heartbeat = Some(Instant::now() + heartbeat_every);
                }
            }
            urc = urcs.recv() => match urc {
                Some(Urc::Registration { status, .. }) => registration = Some(status),
                Some(_) => {}
                None => return Err(RunError::Link(LinkError::PortClosed)),
            },
            waited = wait_downlink(session.as_mut()) => match waited {
                Ok(()) => {
                    if let Some(s) = session.as_mut() {
                        let mut commands = Commands::default();
                        if let Err(e) = s.service_downlink(&mut commands).await {
                            warn!(error = %e, "MQTT session lost while reading commands");
                        }
                        if commands.flush {
                            info!("flush requested over MQTT");
                        }
                    }
                }
                Err(e) => warn!(error = %e, "MQTT session dropped; reconnecting"),
            },
        }
    }
    if let Some(s) = session {
        if let Err(e) = s.logout().await {
            warn!(error = %e, "MQTT logout not confirmed");
        }
    }
    queue.flush()?;
    report.pending = queue.stats()?.counters.pending_count;
    Ok(report)
}

/// Waits for downlink on the session, or forever without one.
async fn wait_downlink(session: Option<&mut MqttSession>) -> Result<(), SessionError> {
    match session {
        Some(s) if s.is_connected() => s.wait_downlink().await,
        _ => std::future::pending().await,
    }
}

/// Remembers what the downlink asked for. `flush` needs no action of its
/// own: the loop drains everything pending after every wake-up.
#[derive(Debug, Default)]
struct Commands {
    flush: bool,
}

impl DownlinkHandler for Commands {
    fn on_command(&mut self, command: &Command, message: &Message) {
        info!(?command, topic = %message.topic, "command received");
        if *command == Command::Flush {
            self.flush = true;
        }
    }
}

fn queue_heartbeat(
    queue: &Queue,
    started: Instant,
    registration: Option<RegStatus>,
) -> Result<(), QueueError> {
    let vitals = Vitals {
        uptime: started.elapsed(),
        queue: Some(queue.stats()?.counters),
        registration,
    };
    queue.append(&heartbeat::readings(&vitals, now_ns()))?;
    Ok(())
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
