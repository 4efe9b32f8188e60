//! The daemon's window decisions, pure: whether an upload window opens now
//! and why, when the loop must look again, how long to wait after a window
//! failed, and what a ring of the doorbell, an urgent reading, the start and
//! a window's end change. No I/O, no clock: the caller passes the time (the
//! runtime's, which a paused clock advances) and the jitter factor, so the
//! tests are exact, as for the AT `Engine` and the MQTT `SessionState`.
//!
//! The schedule of slots itself (`uplink.interval`, its jitter,
//! `uplink.max_pending`) is the uplink's [`UploadWindows`]; this state adds
//! what only a running agent knows: the start, the doorbell, the urgent
//! reading, and the retries after a wake or a login failed. It lives beside
//! the daemon, not in `uplink/window.rs`, because those facts are the
//! daemon's (the doorbell is the power manager's socket, a login is the
//! modem's), and the uplink's schedule stays free of them.

use std::time::Duration;

// The daemon's clock (tokio's: a paused runtime advances it).
use tokio::time::Instant;

use crate::backoff::{jittered, Backoff};
use crate::power::doorbell::{DoorbellCommand, ReadRequest};
use crate::uplink::{UploadWindows, WindowPolicy, WindowReason};

/// The wait after the first failed attempt at a window is twice this
/// (1 s to 2 s with the jitter), doubling up to [`RETRY_MAX`].
const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between attempts at a window: a gateway whose broker is
/// gone for days still tries every few minutes.
const RETRY_MAX: Duration = Duration::from_secs(300);

/// The backoff between attempts at a window (a wake or a login that
/// failed), to be [`jittered`] so a fleet that lost its broker together
/// does not return together: 2 s, 4 s, … up to 5 min before the jitter.
pub(super) fn retry_backoff() -> Backoff {
    Backoff::new(RETRY_BASE, RETRY_MAX)
}

/// Where the daemon stands with its upload windows.
#[derive(Debug)]
pub(super) struct WindowState {
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
    /// Failed attempts at a window in a row.
    retries: Backoff,
    /// No attempt at a window before this, after a failed one.
    retry_at: Option<Instant>,
    /// Windows that got as far as a session, for the heartbeat.
    windows_opened: u64,
    /// The module stopped answering and that was reported (once, with what
    /// to configure); cleared when it answers again.
    silence_reported: bool,
    /// Whether this run keeps a doorbell (the daemon with `[doorbell]`).
    doorbell_wanted: bool,
}

impl WindowState {
    /// The state at start (`now`): the start window pending, the first slot
    /// one interval (plus `jitter`, a factor in [0, 1)) away.
    pub fn new(policy: WindowPolicy, now: Instant, jitter: f64, doorbell_wanted: bool) -> Self {
        let windows = UploadWindows::new(policy, now, jitter);
        WindowState {
            continuous: windows.next_slot().is_none(),
            windows,
            first_window: true,
            urgent: false,
            ring: None,
            rung: false,
            linger: false,
            retries: retry_backoff(),
            retry_at: None,
            windows_opened: 0,
            silence_reported: false,
            doorbell_wanted,
        }
    }

    /// Whether there are no windows (`uplink.interval = "0s"`): the session
    /// stays up and readings go as they come.
    pub fn is_continuous(&self) -> bool {
        self.continuous
    }

    /// Whether this run keeps a doorbell open.
    pub fn keeps_doorbell(&self) -> bool {
        self.doorbell_wanted
    }

    /// Windows that got as far as a session.
    pub fn windows_opened(&self) -> u64 {
        self.windows_opened
    }

    /// Why a window should open at `now` with `pending` readings queued, or
    /// `None`: none is due, or the backoff after a failed one holds it back.
    /// A start with nothing pending gives up the start window for good: the
    /// schedule decides from then on.
    pub fn reason(&mut self, now: Instant, pending: u64) -> Option<WindowReason> {
        self.first_window &= pending > 0;
        let reason = if self.rung {
            // A session for the server even with nothing to send: it may
            // have commands waiting.
            Some(WindowReason::Doorbell)
        } else if self.first_window {
            Some(WindowReason::Start)
        } else {
            self.windows.due(now, pending, self.urgent)
        }?;
        match self.retry_at {
            Some(t) if now < t => return None,
            // The backoff has run out: from here only the schedule and
            // the reasons above hold a window back.
            Some(_) => self.retry_at = None,
            None => {}
        }
        Some(reason)
    }

    /// When the loop must look again for the windows' sake: the next slot,
    /// or the retry of a window that is still wanted. `None`: only readings,
    /// a ring or the housekeeping can make one due.
    pub fn next_wake(&self) -> Option<Instant> {
        // Without windows a retry waits for readings (or the housekeeping
        // tick) unless something asked for a window of its own.
        let window_wanted = self.first_window || self.urgent || self.rung || !self.continuous;
        let slot = self.windows.next_slot();
        match self.retry_at {
            // Invariant: no wake before the backoff ends. A slot that
            // passed while a failed window waits for its retry is due at
            // the retry, not now: a wake in the past would spin the loop.
            Some(retry) => [window_wanted.then_some(retry), slot.map(|s| s.max(retry))]
                .into_iter()
                .flatten()
                .min(),
            None => slot,
        }
    }

    /// The intake queued readings, one of them urgent if `urgent`.
    pub fn queued(&mut self, urgent: bool) {
        self.urgent |= urgent;
    }

    /// The doorbell has data (`+UUSORD`) to be read.
    pub fn rang(&mut self, request: ReadRequest) {
        self.ring = Some(request);
    }

    /// The ring to read now, if one came; each is read once.
    pub fn take_ring(&mut self) -> Option<ReadRequest> {
        self.ring.take()
    }

    /// The ring said `commands`; returns [`WindowState::rung`].
    pub fn doorbell_read(&mut self, commands: &[DoorbellCommand]) -> bool {
        self.rung |= !commands.is_empty();
        self.linger |= commands.contains(&DoorbellCommand::Session);
        self.rung
    }

    /// Whether the doorbell asked for a window that has not ended yet: the
    /// module stays awake for it.
    pub fn rung(&self) -> bool {
        self.rung
    }

    /// Whether this window waits for commands after its upload (the
    /// doorbell asked for a session); asked once per window.
    pub fn take_linger(&mut self) -> bool {
        std::mem::take(&mut self.linger)
    }

    /// A session is up: the backoff starts afresh.
    pub fn logged_in(&mut self) {
        self.opened();
        self.delivered();
    }

    /// A window opened a session whose open proves nothing about the far
    /// end (HTTP opens without asking it): counted, the backoff kept until
    /// a message is delivered.
    pub fn opened(&mut self) {
        self.windows_opened += 1;
    }

    /// The far end took what it was sent: the backoff starts afresh.
    pub fn delivered(&mut self) {
        self.retries.succeeded();
        self.retry_at = None;
    }

    /// The far end could not take the window's messages (HTTP 5xx, 429,
    /// 408, a network failure) at `now`: no window before the backoff
    /// (spread by `jitter`) has run, nor before `retry_after` (the server's
    /// `Retry-After`) has. Returns the wait.
    pub fn held_off(
        &mut self,
        now: Instant,
        jitter: f64,
        retry_after: Option<Duration>,
    ) -> Duration {
        let wait = jittered(self.retries.failed(), jitter).max(retry_after.unwrap_or_default());
        self.retry_at = Some(now + wait);
        wait
    }

    /// An attempt at a window failed at `now` (no wake, no login): the next
    /// one waits for the returned backoff, spread by `jitter` in [0, 1).
    pub fn failed(&mut self, now: Instant, jitter: f64) -> Duration {
        let wait = jittered(self.retries.failed(), jitter);
        self.retry_at = Some(now + wait);
        wait
    }

    /// Failed attempts at a window in a row.
    pub fn attempts_failed(&self) -> u32 {
        self.retries.failures()
    }

    /// A window ended at `now` (whatever opened it): the next slot is one
    /// interval (plus `jitter`) later; the start, the urgent reading and the
    /// ring that asked for it are answered.
    pub fn window_done(&mut self, now: Instant, jitter: f64) {
        self.windows.window_done(now, jitter);
        self.first_window = false;
        self.urgent = false;
        self.rung = false;
    }

    /// The module did not answer a wake: true the first time, when the
    /// operator is told once what to configure.
    pub fn silent(&mut self) -> bool {
        !std::mem::replace(&mut self.silence_reported, true)
    }

    /// The module woke: true if it had been reported silent (it answers
    /// again).
    pub fn answered(&mut self) -> bool {
        std::mem::take(&mut self.silence_reported)
    }

    /// Whether the module is known not to answer.
    pub fn silence_reported(&self) -> bool {
        self.silence_reported
    }
}

#[cfg(test)]
#[path = "window_state_tests.rs"]
mod tests;
