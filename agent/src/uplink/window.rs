//! Upload windows: when the radio comes up to send what waits in the queue.
//!
//! Every second the radio is awake costs battery, and most of a session's
//! cost is fixed (waking the module, the MQTT login, the radio's tail
//! time): one session that sends 500 readings costs little more than one
//! that sends 5. So readings wait in the queue until a window opens:
//!
//! - every `uplink.interval` (the slot), plus a jitter so that a fleet
//!   started together (a power cut over a site, a firmware roll-out) does
//!   not log in to its broker in the same second, every cycle;
//! - earlier when `uplink.max_pending` readings wait (a burst should not
//!   wait for the slot, nor grow the next session past what one window
//!   sends comfortably);
//! - at once for a reading a plugin marked urgent.
//!
//! `uplink.interval = "0s"` means no windows: every reading is sent as soon
//! as it is queued (a gateway on mains power).
//!
//! [`UploadWindows`] is pure: the run loop asks it whether a window is due
//! and when the next one is, and tells it when a window ended; the caller
//! supplies the jitter factor (as for `backoff`), so tests are exact.

use std::time::Duration;

// The daemon's clock (tokio's: a paused runtime advances it).
use tokio::time::Instant;

/// The policy, from `[uplink]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPolicy {
    /// Between window slots; zero: no windows, send at once.
    pub interval: Duration,
    /// A window opens early when this many readings wait.
    pub max_pending: u64,
    /// Each slot starts up to this much later, a different amount each time.
    pub jitter: Duration,
}

/// Why a window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowReason {
    /// The agent started: what waits (a backlog from before, the first
    /// heartbeat) goes out, and the path is proven once.
    Start,
    /// Windows are off: readings go as they come.
    Continuous,
    /// The slot came.
    Interval,
    /// `max_pending` readings wait.
    Backlog { pending: u64 },
    /// A plugin marked a reading urgent.
    Urgent,
    /// A server rang the doorbell (`upload` or `session`).
    Doorbell,
}

/// When the next upload window is.
#[derive(Debug, Clone)]
pub struct UploadWindows {
    policy: WindowPolicy,
    /// The next slot (jitter included); `None` without windows.
    next_slot: Option<Instant>,
}

impl UploadWindows {
    /// Windows from `now`: the first slot is one interval (plus jitter) away.
    /// `jitter` is a factor in [0, 1) (values outside are clamped).
    pub fn new(policy: WindowPolicy, now: Instant, jitter: f64) -> UploadWindows {
        let mut windows = UploadWindows {
            policy,
            next_slot: None,
        };
        windows.schedule_after(now, jitter);
        windows
    }

    /// The policy in force.
    pub fn policy(&self) -> WindowPolicy {
        self.policy
    }

    /// When the next slot opens, if there are windows at all (the run loop
    /// sleeps until then, or until a reading makes one due earlier).
    pub fn next_slot(&self) -> Option<Instant> {
        self.next_slot
    }

    /// Whether a window should open now, with `pending` readings queued, of
    /// which at least one is urgent if `urgent`. `None` when nothing waits:
    /// an empty queue never wakes the radio.
    pub fn due(&self, now: Instant, pending: u64, urgent: bool) -> Option<WindowReason> {
        if pending == 0 {
            return None;
        }
        let Some(slot) = self.next_slot else {
            return Some(WindowReason::Continuous);
        };
        if urgent {
            Some(WindowReason::Urgent)
        } else if pending >= self.policy.max_pending {
            Some(WindowReason::Backlog { pending })
        } else if now >= slot {
            Some(WindowReason::Interval)
        } else {
            None
        }
    }

    /// A window ended at `now` (whatever opened it): the next slot is one
    /// interval later, plus `jitter` (in [0, 1)) times `uplink.jitter`.
    /// Counting from the end, not from the old slot, so a long window or a
    /// missed slot never makes two windows back to back.
    pub fn window_done(&mut self, now: Instant, jitter: f64) {
        self.schedule_after(now, jitter);
    }

    fn schedule_after(&mut self, now: Instant, jitter: f64) {
        self.next_slot = (!self.policy.interval.is_zero()).then(|| {
            let spread = self.policy.jitter.mul_f64(jitter.clamp(0.0, 1.0));
            now + self.policy.interval + spread
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn policy() -> WindowPolicy {
        WindowPolicy {
            interval: 15 * MIN,
            max_pending: 100,
            jitter: MIN,
        }
    }

    #[test]
    fn readings_wait_for_the_slot_and_the_slot_includes_the_jitter() {
        let t0 = Instant::now();
        let w = UploadWindows::new(policy(), t0, 0.5);
        assert_eq!(w.next_slot(), Some(t0 + 15 * MIN + Duration::from_secs(30)));
        assert_eq!(w.due(t0 + 15 * MIN, 10, false), None, "jitter not over yet");
        assert_eq!(
            w.due(t0 + 16 * MIN, 10, false),
            Some(WindowReason::Interval)
        );
    }

    #[test]
    fn an_empty_queue_never_opens_a_window_even_at_the_slot() {
        let t0 = Instant::now();
        let w = UploadWindows::new(policy(), t0, 0.0);
        assert_eq!(w.due(t0 + 60 * MIN, 0, false), None);
        assert_eq!(w.due(t0 + 60 * MIN, 0, true), None);
    }

    #[test]
    fn a_backlog_or_an_urgent_reading_opens_a_window_before_the_slot() {
        let t0 = Instant::now();
        let w = UploadWindows::new(policy(), t0, 0.0);
        assert_eq!(w.due(t0, 99, false), None);
        assert_eq!(
            w.due(t0, 100, false),
            Some(WindowReason::Backlog { pending: 100 })
        );
        assert_eq!(w.due(t0, 1, true), Some(WindowReason::Urgent));
    }

    #[test]
    fn the_next_slot_counts_from_the_end_of_the_window_not_the_missed_slot() {
        let t0 = Instant::now();
        let mut w = UploadWindows::new(policy(), t0, 0.0);
        // The window ran long (or the agent was busy): it ends 40 min in.
        let end = t0 + 40 * MIN;
        w.window_done(end, 0.0);
        assert_eq!(w.next_slot(), Some(end + 15 * MIN));
        assert_eq!(w.due(end + MIN, 5, false), None, "no window back to back");
    }

    #[test]
    fn jitter_spreads_slots_over_the_jitter_span_and_is_clamped() {
        let t0 = Instant::now();
        let mut w = UploadWindows::new(policy(), t0, 0.0);
        w.window_done(t0, 0.999);
        let late = w.next_slot().unwrap() - t0;
        assert!(late > 15 * MIN + Duration::from_secs(59) && late < 16 * MIN);
        w.window_done(t0, 7.0);
        assert_eq!(w.next_slot(), Some(t0 + 16 * MIN), "clamped to 1");
        w.window_done(t0, -1.0);
        assert_eq!(w.next_slot(), Some(t0 + 15 * MIN), "clamped to 0");
    }

    #[test]
    fn an_interval_of_zero_sends_every_reading_at_once() {
        let t0 = Instant::now();
        let w = UploadWindows::new(
            WindowPolicy {
                interval: Duration::ZERO,
                ..policy()
            },
            t0,
            0.5,
        );
        assert_eq!(w.next_slot(), None);
        assert_eq!(w.due(t0, 1, false), Some(WindowReason::Continuous));
        assert_eq!(w.due(t0, 0, false), None);
    }
}
