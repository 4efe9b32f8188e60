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

    /// Removes and returns the kinds due at `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<TimerKind> {
        let mut due: Vec<(Instant, TimerKind)> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(kind, at)| (*at, *kind))
            .collect();
        due.sort();
        for (_, kind) in &due {
            self.due.remove(kind);
        }
        due.into_iter().map(|(_, kind)| kind).collect()
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
        assert_eq!(
            timers.take_due(t0 + Duration::from_millis(6)),
            vec![TimerKind::Registration, TimerKind::RrcIdle]
        );
        assert!(timers.take_due(t0 + Duration::from_millis(6)).is_empty());
        assert_eq!(
            timers.take_due(t0 + Duration::from_millis(10)),
            vec![TimerKind::Boot]
        );
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn an_unreachable_deadline_is_never() {
        let mut timers = Timers::default();
        timers.set(TimerKind::Boot, Instant::now(), Duration::MAX);
        assert!(!timers.is_set(TimerKind::Boot));
    }
}
