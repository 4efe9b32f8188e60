//! How long an instance waits before its next call: its interval, doubled on
//! each consecutive failure up to a maximum, back to the interval after a
//! success (collectd's read-plugin backoff).

use std::time::Duration;

/// The delay before the next call, given how the last ones went.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    interval: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Never shorter than `interval`, even when `max` is.
    pub fn new(interval: Duration, max: Duration) -> Backoff {
        Backoff {
            interval,
            max: max.max(interval),
            failures: 0,
        }
    }

    /// After a success: the plain interval again.
    pub fn succeeded(&mut self) -> Duration {
        self.failures = 0;
        self.interval
    }

    /// After a failure: twice the previous delay, at most the maximum.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32.checked_shl(self.failures).unwrap_or(u32::MAX);
        self.interval.saturating_mul(factor).min(self.max)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Backoff;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(60));
        let delays: Vec<u64> = (0..5).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(delays, [20, 40, 60, 60, 60]);
        assert_eq!(backoff.failures(), 5);
        assert_eq!(backoff.succeeded(), Duration::from_secs(10));
        assert_eq!(backoff.failed(), Duration::from_secs(20));
        for _ in 0..100 {
            backoff.failed();
        }
        assert_eq!(backoff.failed(), Duration::from_secs(60));
        // A maximum below the interval never shortens it.
        let mut short = Backoff::new(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(short.failed(), Duration::from_secs(10));
    }
}
