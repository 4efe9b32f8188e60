//! One upload window: open the uplink's session (waking the module first;
//! for MQTT a login, which on failure is retried with capped exponential
//! backoff and jitter, never exiting), drain what was queued when it
//! began, answer the commands that arrived, close the session, close the
//! window's own sockets, and let the module sleep. A far end that cannot
//! take the messages (HTTP 5xx, 429, 408, a network failure) ends the
//! window and holds the next one back, at least as long as its
//! `Retry-After`. With `uplink.interval = "0s"` the session stays up
//! instead and everything goes as it comes.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::modem::mqtt::session::SessionError;
use crate::plugin_host::PluginHost;
use crate::queue::QueueError;
use crate::uplink::{drain, Budget, DrainReport};

use super::session::{Sending, UplinkSession};
use super::wake::silence_advice;
use super::{jitter, Agent, RunError};

/// How long a session the doorbell asked for (`session`) stays up for
/// downlink commands after the upload, unless one arrives sooner.
const DOORBELL_SESSION_LINGER: Duration = Duration::from_secs(30);

impl Agent<'_> {
    /// Opens the uplink's session: for MQTT the login
    /// (`MqttSession::connect`), with TLS's part around it: the kept
    /// session data offered before, the new one kept after, a TLS failure
    /// explained and its data dropped. HTTP's TLS happens around each
    /// request instead (`session.rs`).
    pub(super) async fn login(&mut self) -> Result<UplinkSession, SessionError> {
        let tls_at_login = self.uplink.tls_at_login();
        let Some(tls) = self.tls.as_mut().filter(|_| tls_at_login) else {
            return self.uplink.open(&self.at).await;
        };
        let now = self.time.utc_now_ns().and_then(secs);
        tls.before_login(&self.at, self.queue.store(), now).await;
        let login = self.uplink.open(&self.at).await;
        match &login {
            Ok(UplinkSession::Mqtt(session)) => {
                tls.logged_in(&self.at, self.queue.store(), session.resumption(), now)
                    .await
            }
            Ok(UplinkSession::Http(_)) => {}
            Err(e) => {
                if let Err(store) = tls
                    .login_failed(&self.at, self.queue.store(), e.tls_failure())
                    .await
                {
                    warn!(error = %store, "cannot drop the TLS session data");
                }
            }
        }
        login
    }

    /// Before an MQTT logout: the session data the handshake left, if the
    /// module reported it only after the login (TLS 1.3 tickets).
    pub(super) async fn keep_tls_session_data(&mut self, session: &UplinkSession) {
        let now = self.utc_now_secs();
        if let (Some(tls), UplinkSession::Mqtt(session)) = (self.tls.as_mut(), session) {
            tls.keep_session_data(&self.at, self.queue.store(), session.resumption(), now)
                .await;
        }
    }

    /// UTC in whole seconds, if known (not on a gateway at 1970 before the
    /// network time).
    fn utc_now_secs(&self) -> Option<u64> {
        self.time.utc_now_ns().and_then(secs)
    }

    /// Drains through `session` with `budget` (TLS around each HTTPS
    /// request) and adds what it did to the run's report.
    pub(super) async fn drain_through(
        &mut self,
        session: &mut UplinkSession,
        budget: Budget,
    ) -> Result<DrainReport, QueueError> {
        let mut sending = Sending {
            now_secs: self.utc_now_secs(),
            session,
            tls: self.tls.as_mut(),
            at: &self.at,
            store: self.queue.store(),
        };
        let drained = drain(&self.queue, &self.packer, &mut sending, budget).await?;
        self.report.messages += drained.messages;
        self.report.delivered += drained.delivered;
        self.report.dead_lettered += drained.dead_lettered;
        self.report.dead_reason = drained
            .dead_reason
            .clone()
            .or(self.report.dead_reason.take());
        Ok(drained)
    }

    /// Opens a window if one is due and not held back by a retry's backoff:
    /// wake, log in, upload, serve commands, log out, let the module sleep.
    pub(super) async fn window_if_due(&mut self, plugins: &PluginHost) -> Result<(), RunError> {
        let pending = self.queue.stats()?.counters.pending_count;
        let Some(reason) = self.windows.reason(Instant::now(), pending) else {
            return Ok(());
        };
        if self.session.as_ref().is_none_or(|s| !s.is_connected()) {
            if !self.windows.is_continuous() {
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
                    if self.windows.answered() {
                        info!("the module answers again");
                    }
                }
                Err(e) => {
                    let wait = self.windows.failed(Instant::now(), jitter());
                    if e.is_silence() && self.windows.silent() {
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
        match self.login().await {
            Ok(s) => {
                if s.open_proves_link() {
                    self.windows.logged_in();
                } else {
                    self.windows.opened();
                }
                self.session = Some(s);
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
                let wait = self.windows.failed(Instant::now(), jitter());
                warn!(
                    error = %e,
                    ?wait,
                    attempt = self.windows.attempts_failed(),
                    "no MQTT session; retrying later"
                );
                false
            }
        }
    }

    /// Sends everything pending through the session; with windows, then
    /// answers the commands that came, logs out, closes the window's own
    /// sockets and lets the module sleep.
    async fn upload(&mut self, plugins: &PluginHost) -> Result<(), RunError> {
        let Some(mut s) = self.session.take() else {
            return Ok(());
        };
        // A window sends what waited for it; readings the intake queues
        // meanwhile wait for the next one. Without windows the session
        // stays up and everything goes as it comes.
        let mut budget = if self.windows.is_continuous() {
            Budget::UNLIMITED
        } else {
            Budget::queued_now(&self.queue)?
        }
        .controlled_by(&self.control);
        // While the time is unknown, readings the host's wrong clock
        // stamped wait for it (`crate::timekeeper`).
        budget.hold_implausible_times = !self.time.is_known();
        let drained = self.drain_through(&mut s, budget).await?;
        if let Some(pushed_back) = s.take_backpressure() {
            let wait = self
                .windows
                .held_off(Instant::now(), jitter(), pushed_back.retry_after);
            info!(
                ?wait,
                retry_after = ?pushed_back.retry_after,
                "the server could not take this window's messages; the next window waits"
            );
        } else if drained.is_complete() {
            self.windows.delivered();
        }
        if !self.windows.is_continuous() {
            if self.windows.take_linger() && s.pushes_downlink() {
                // The server rang for a session: give its commands time to
                // arrive (over HTTP they came in the responses already).
                if let Ok(Ok(())) =
                    tokio::time::timeout(DOORBELL_SESSION_LINGER, s.wait_downlink()).await
                {
                    info!("command received in the session the doorbell asked for");
                }
            }
            // Commands that reached the module during the window are
            // answered before the radio goes quiet again.
            self.serve_downlink(&mut s, Some(plugins)).await;
            self.keep_tls_session_data(&s).await;
            if let Err(e) = s.close().await {
                warn!(error = %e, "MQTT logout not confirmed");
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
        } else {
            self.session = Some(s);
        }
        self.windows.window_done(Instant::now(), jitter());
        Ok(())
    }
}

/// Whole seconds of a Unix time in nanoseconds.
fn secs(ns: i64) -> Option<u64> {
    u64::try_from(ns / 1_000_000_000).ok()
}
