//! The start of a run and its end: open the queue, bring the module up
//! (waking it first if it sleeps: an agent may restart while the module
//! sleeps between windows), apply the sleep settings, provision the
//! uplink's profile (MQTT or HTTP) under a guard, learn the time, open the
//! doorbell; at the end,
//! let the module sleep, flush the queue and report.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::Config;
use crate::modem::at::{AtClient, AtError};
use crate::modem::clock::ReadClock;
use crate::modem::socket::SocketManager;
use crate::modem::{boot, BootError, BootSettings, ModemInfo, ModemLink};
use crate::notify::Notifier;
use crate::power::{PowerManager, Waker};
use crate::queue::{Queue, QueueError};
use crate::timekeeper::{set_system_clock, TimeKeeper};
use crate::uplink::DrainControl;

use super::{jitter, Agent, RunError, RunMode, RunReport, Uplink, WindowState};

impl<'c> Agent<'c> {
    /// Opens the queue, brings the module up (waking it first if it sleeps),
    /// applies the sleep settings, provisions the uplink's profile and opens
    /// the doorbell. Returns with the module voted awake (`self.awake`).
    pub(super) async fn start(
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
        let (uplink, mut tls) = Uplink::from_config(config, &info.identity.imei, &device_id)?;
        // The power manager owns the sleep settings and the votes from here
        // on; everything that needs the module awake holds one of its guards.
        let power = PowerManager::new(at.clone());
        power.configure(&config.modem.power.settings()).await?;
        // §6.1.4, §7.1.2: vote down before the profile is configured.
        // `run --once` is one window from here to its logout, so it keeps
        // this guard throughout; the daemon lets the module sleep until its
        // first window.
        let awake = Some(power.acquire().await?);
        // The credentials and the security profile before the transport's
        // profile that names them (§6.9, §7.5); the old credentials go only
        // once the profile uses the new ones.
        if let Some(tls) = tls.as_mut() {
            tls.provision(&at).await?;
        }
        // After this boot, for HTTP also the use of the stored profile
        // after a wake, armed before the first request (§7.1.2.2).
        let provisioned = uplink.provision(&at, queue.store()).await?;
        info!(?provisioned, device_id, "{} profile ready", uplink.name());
        if let Some(tls) = &tls {
            tls.remove_stale(&at).await;
        }
        let heartbeat_every = Some(config.agent.heartbeat_interval.get()).filter(|d| !d.is_zero());
        let started = Instant::now();
        let windows = WindowState::new(
            config.uplink.window_policy(),
            started,
            jitter(),
            config.doorbell.enabled && mode == RunMode::Daemon,
        );
        let mut agent = Agent {
            config,
            urcs,
            queue,
            packer,
            uplink,
            tls,
            power,
            waker,
            sockets: SocketManager::new(at.clone()),
            device_id,
            doorbell: None,
            started,
            registration: Some(info.registration),
            heartbeat_every,
            next_heartbeat: heartbeat_every.map(|every| started + every),
            report: RunReport::default(),
            awake,
            session: None,
            windows,
            echo_baseline: at.echoes_seen(),
            control: DrainControl::new(),
            next_watchdog: notifier
                .watchdog_interval()
                .map(|every| Instant::now() + every),
            notifier: Arc::new(notifier),
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
    pub(super) async fn learn_time(&mut self) -> Result<(), QueueError> {
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

    /// Lets the module sleep, flushes the queue and reports.
    pub(super) async fn close(mut self) -> Result<RunReport, RunError> {
        self.awake = None;
        settle(&self.power).await;
        self.queue.flush()?;
        self.report.pending = self.queue.stats()?.counters.pending_count;
        Ok(self.report)
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

/// The kernel's id of this boot; a new one at every boot. Unreadable (not
/// Linux, no /proc), every agent process counts as a boot of its own.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|_| format!("process-{}", std::process::id()))
}
