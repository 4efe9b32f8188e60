//! Pacing of the push thread: how many rounds are due after some time at a
//! rate of readings per second, and how long to wait for the next one.
//! Counting from the start (not sleeping a fixed interval per round) keeps
//! the average rate exact however long each emit takes.

use std::time::Duration;

/// Never emit more than this many readings in one `emit` call, so a thread
/// that fell behind catches up in bounded batches.
pub const MAX_BATCH_READINGS: usize = 512;

/// Rounds per second for a rate in readings per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacer {
    rounds_per_second: f64,
}

impl Pacer {
    /// A pacer for `readings_per_second` (> 0) in rounds of `round_len`
    /// (>= 1) readings.
    pub fn new(readings_per_second: f64, round_len: usize) -> Pacer {
        Pacer {
            rounds_per_second: readings_per_second / round_len.max(1) as f64,
        }
    }

    /// Rounds due `elapsed` after the start: round 0 is due at once.
    pub fn due(&self, elapsed: Duration) -> u64 {
        let due = (elapsed.as_secs_f64() * self.rounds_per_second).floor();
        // `as` saturates, which is what a thread that cannot keep up wants.
        (due as u64).saturating_add(1)
    }

    /// How long after `elapsed` round number `round` (0-based) is due.
    pub fn wait(&self, round: u64, elapsed: Duration) -> Duration {
        let at = round as f64 / self.rounds_per_second;
        Duration::try_from_secs_f64(at - elapsed.as_secs_f64()).unwrap_or(Duration::ZERO)
    }

    /// Rounds to emit in one batch: as many as fit in
    /// [`MAX_BATCH_READINGS`], at least one.
    pub fn batch_rounds(round_len: usize) -> u64 {
        (MAX_BATCH_READINGS / round_len.max(1)).max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_due_at_the_rate() {
        // 10 readings/s in rounds of 2: a round every 200 ms.
        let pacer = Pacer::new(10.0, 2);
        assert_eq!(pacer.due(Duration::ZERO), 1);
        assert_eq!(pacer.due(Duration::from_millis(199)), 1);
        assert_eq!(pacer.due(Duration::from_millis(200)), 2);
        assert_eq!(pacer.due(Duration::from_secs(10)), 51);
    }

    #[test]
    fn wait_is_until_the_round_is_due() {
        let pacer = Pacer::new(10.0, 2);
        assert_eq!(
            pacer.wait(1, Duration::from_millis(50)),
            Duration::from_millis(150)
        );
        assert_eq!(pacer.wait(1, Duration::from_millis(500)), Duration::ZERO);
    }

    #[test]
    fn an_enormous_rate_is_always_due() {
        let pacer = Pacer::new(f64::MAX, 1);
        assert_eq!(pacer.due(Duration::from_secs(1)), u64::MAX);
        assert_eq!(pacer.wait(1_000_000, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn batches_hold_whole_rounds() {
        assert_eq!(Pacer::batch_rounds(1), 512);
        assert_eq!(Pacer::batch_rounds(3), 170);
        assert_eq!(Pacer::batch_rounds(10_000), 1);
    }
}
