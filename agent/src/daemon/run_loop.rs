//! The run itself: `run --once` (one sample of every source, one window),
//! and the daemon's loop: housekeeping on the queue, a ring answered, a
//! window if one is due (the shutdown signal watched, the watchdog fed
//! while it moves), then a wait for the next event: plugin readings, a
//! timer (heartbeat, window, retry, housekeeping), a URC, downlink, or the
//! shutdown signal. On the signal the plugins stop first and what they
//! emitted is queued; then the session closes (the MQTT logout).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::backoff::jittered;
use crate::intake::Intake;
use crate::modem::at::Urc;
use crate::modem::mqtt::session::SessionError;
use crate::modem::LinkError;
use crate::plugin_host::PluginHost;
use crate::queue::QueueError;
use crate::uplink::Budget;

use super::session::wait_downlink;
use super::sources::{plugin_vitals, Sources};
use super::window_state::retry_backoff;
use super::{jitter, Agent, RunError, RunReport, UplinkSession};

/// Connection attempts `run --once` makes before giving up on its window.
const ONCE_ATTEMPTS: u32 = 3;
/// How often the daemon looks after the queue when nothing else happens.
const HOUSEKEEPING: Duration = Duration::from_secs(30);
/// How long an upload window may go without settling a message before the
/// watchdog is no longer fed for it: longer than any single step takes (a
/// login, a wake, one publish, each bounded by its own deadline).
const WINDOW_STALL: Duration = Duration::from_secs(300);

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

impl Agent<'_> {
    /// `run --once`: one sample from every source (each plugin's first
    /// poll; push sensors emit from start until shutdown), then the
    /// heartbeat, which then also tells how the plugins fared; then one
    /// window. Commands an HTTP response carries are answered (their
    /// replies queued for the next run); the plugins are stopped by then.
    pub(super) async fn once(mut self, sources: Sources) -> Result<RunReport, RunError> {
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
        let mut retries = retry_backoff();
        for attempt in 0..ONCE_ATTEMPTS {
            match self.login().await {
                Ok(s) => {
                    session = Some(s);
                    break;
                }
                Err(e) if e.is_retryable() && attempt + 1 < ONCE_ATTEMPTS => {
                    let wait = jittered(retries.failed(), jitter());
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
            self.drain_through(&mut s, budget).await?;
            if matches!(s, UplinkSession::Http(_)) {
                self.serve_downlink(&mut s, None).await;
            }
            self.keep_tls_session_data(&s).await;
            if let Err(e) = s.close().await {
                warn!(error = %e, "MQTT logout not confirmed");
            }
        }
        self.close().await
    }

    /// The daemon: windows, heartbeats, plugin readings, the doorbell and
    /// downlink, until `shutdown`.
    pub(super) async fn daemon(
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
                Event::Queued(urgent) => self.windows.queued(urgent?),
                Event::Timer => {
                    if self.next_heartbeat.is_some_and(|t| Instant::now() >= t) {
                        self.queue_heartbeat(sources.vitals(), Some(&sources.intake))?;
                        self.next_heartbeat = self.heartbeat_every.map(|d| Instant::now() + d);
                    }
                }
                Event::Urc(urc) => self.on_urc(urc)?,
                Event::Downlink(Ok(())) => {
                    if let Some(mut s) = self.session.take() {
                        self.serve_downlink(&mut s, Some(&sources.host)).await;
                        self.session = Some(s);
                    }
                }
                Event::Downlink(Err(e)) => warn!(error = %e, "MQTT session dropped; reconnecting"),
            }
        }
        info!("stopping");
        self.notifier.stopping(&format!(
            "stopping: plugins, then the {} session, then the queue",
            self.uplink.name()
        ));
        // Plugins stop before the session ends; what they emitted until
        // they stopped is queued (and stays queued for the next run).
        let Sources { host, intake, .. } = sources;
        host.shutdown().await;
        intake.finish().await?;
        if let Some(s) = self.session.take() {
            info!("logging out");
            if let Err(e) = s.close().await {
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
    pub(super) fn idle_status(&self) -> Result<String, QueueError> {
        let pending = self.queue.stats()?.counters.pending_count;
        let module = if self.windows.silence_reported() {
            "the module does not answer; retrying"
        } else if let Some(s) = self.session.as_ref().filter(|s| s.is_connected()) {
            s.status()
        } else {
            "waiting for the next window"
        };
        Ok(format!(
            "{module}; {pending} readings queued; {} delivered since start",
            self.report.delivered
        ))
    }

    /// Waits for the next thing to do.
    async fn next_event(
        &mut self,
        intake: &Intake,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Event {
        let wake = [
            self.next_watchdog,
            self.next_heartbeat,
            self.windows.next_wake(),
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
                        self.windows.rang(request);
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
}
