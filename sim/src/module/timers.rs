//! The module's internal deadlines (module time already scaled to real time).
//!
//! One deadline per kind: setting a kind again moves it. The I/O task sleeps
//! until [`Timers::next`] and then feeds `Input::Tick`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a deadline is for. Later issues add sleep, MQTT keep-alive, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// Boot completes: the module starts answering.
    Boot,
    /// A registration attempt ends (stat 2 -> 1, 5 or 3).
    Registration,
    /// No traffic for `rrc_inactivity`: RRC goes idle.
    RrcIdle,
    /// The `+UPSV` timeout of quiet passed: try to sleep.
    SleepEntry,
    /// A wake from Sleep-2/Hibernate completes: the module answers again.
    WakeComplete,
}

#[derive(Debug, Default)]
pub struct Timers {
    due: BTreeMap<TimerKind, Instant>,
}

impl Timers {
    /// Arms `kind` at `now + after`. A deadline past what `Instant` can hold
    /// (a huge duration or time scale) is never reached: the timer is left off.
    pub fn set(&mut self, kind: TimerKind, now: Instant, after: Duration) {
        match now.checked_add(after) {
            Some(at) => {
                self.due.insert(kind, at);
            }
            None => {
                self.due.remove(&kind);
            }
        }
    }

    pub fn cancel(&mut self, kind: TimerKind) {
        self.due.remove(&kind);
    }

    pub fn is_set(&self, kind: TimerKind) -> bool {
        self.due.contains_key(&kind)
    }

    pub fn clear(&mut self) {
        self.due.clear();
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    /// Removes and returns the earliest kind due at `now`. One at a time, so
    /// a handler that re-arms a later timer (traffic restarting the RRC
    /// inactivity timer) is not undone by a stale entry of the same tick.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerKind> {
        let (kind, _) = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .min_by_key(|(_, at)| **at)
            .map(|(kind, at)| (*kind, *at))?;
        self.due.remove(&kind);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_in_order_and_only_once() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.set(TimerKind::RrcIdle, t0, Duration::from_millis(5));
        timers.set(TimerKind::Boot, t0, Duration::from_millis(10));
        timers.set(TimerKind::Registration, t0, Duration::from_millis(1));
        assert_eq!(timers.next(), Some(t0 + Duration::from_millis(1)));
        let at = t0 + Duration::from_millis(6);
        assert_eq!(timers.pop_due(at), Some(TimerKind::Registration));
        assert_eq!(timers.pop_due(at), Some(TimerKind::RrcIdle));
        assert_eq!(timers.pop_due(at), None);
        assert_eq!(
            timers.pop_due(t0 + Duration::from_millis(10)),
            Some(TimerKind::Boot)
        );
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn a_timer_rearmed_by_an_earlier_one_is_not_popped_stale() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.set(TimerKind::Registration, t0, Duration::from_millis(1));
        timers.set(TimerKind::RrcIdle, t0, Duration::from_millis(2));
        let at = t0 + Duration::from_millis(3);
        assert_eq!(timers.pop_due(at), Some(TimerKind::Registration));
        // The handler restarts the inactivity timer from `at`.
        timers.set(TimerKind::RrcIdle, at, Duration::from_millis(10));
        assert_eq!(timers.pop_due(at), None);
    }

    #[test]
    fn an_unreachable_deadline_is_never() {
        let mut timers = Timers::default();
        timers.set(TimerKind::Boot, Instant::now(), Duration::MAX);
        assert!(!timers.is_set(TimerKind::Boot));
    }
}
