//! Backoff: how long to wait after consecutive failures. One rule for
//! every retry in the agent: a base delay doubled per failure in a row, at
//! most a maximum, back to the base after a success (collectd's
//! read-plugin backoff). The plugin host spaces a failing plugin's calls
//! with it; the daemon its upload windows after a failed wake or login,
//! spread by [`jittered`] so a fleet that lost its broker together does not
//! return together.
//!
//! Pure: no clock, no randomness; the caller supplies the jitter factor, so
//! tests are exact.

use std::time::Duration;

/// Consecutive failures, and the delay they call for.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// The delay is `base` without failures, doubled per failure in a row,
    /// at most `max`; never shorter than `base`, even when `max` is.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// After a success: the base delay again.
    pub fn succeeded(&mut self) -> Duration {
        self.failures = 0;
        self.base
    }

    /// After a failure: twice the previous delay, at most the maximum.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32.checked_shl(self.failures).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// `delay` with its upper half scaled by `factor` in [0, 1) (values outside
/// are clamped): the jitter spreads a fleet's retries, the lower half keeps
/// the wait from collapsing.
pub(crate) fn jittered(delay: Duration, factor: f64) -> Duration {
    let half = delay / 2;
    half + half.mul_f64(factor.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_delay_doubles_per_failure_up_to_the_maximum_and_a_success_resets_it() {
        let mut backoff = Backoff::new(10 * S, 60 * S);
        let delays: Vec<u64> = (0..5).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(delays, [20, 40, 60, 60, 60]);
        assert_eq!(backoff.failures(), 5);
        assert_eq!(backoff.succeeded(), 10 * S);
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.failed(), 20 * S);
    }

    #[test]
    fn endless_failures_stay_at_the_maximum() {
        let mut backoff = Backoff::new(10 * S, 60 * S);
        for _ in 0..100 {
            backoff.failed();
        }
        assert_eq!(backoff.failed(), 60 * S);
        assert_eq!(backoff.failures(), 101);
    }

    #[test]
    fn a_maximum_below_the_base_never_shortens_the_base() {
        let mut short = Backoff::new(10 * S, S);
        assert_eq!(short.failed(), 10 * S);
    }

    #[test]
    fn jitter_keeps_the_lower_half_and_spreads_the_upper_half() {
        assert_eq!(jittered(4 * S, 0.0), 2 * S);
        assert_eq!(jittered(4 * S, 0.5), 3 * S);
        assert_eq!(jittered(4 * S, 7.0), 4 * S, "clamped to 1");
        assert_eq!(jittered(4 * S, -1.0), 2 * S, "clamped to 0");
    }

    #[test]
    fn jittered_backoff_matches_the_sessions_reconnect_backoff() {
        // The daemon's retries (base 1 s, cap 300 s) wait exactly what
        // `mqtt::session::backoff` (base 2 s for the first retry) gives.
        let mut backoff = Backoff::new(S, 300 * S);
        for attempt in 0..40 {
            for jitter in [0.0, 0.3, 0.999] {
                let mut this = backoff.clone();
                assert_eq!(
                    jittered(this.failed(), jitter),
                    crate::modem::mqtt::session::backoff(attempt, 2 * S, 300 * S, jitter),
                    "attempt {attempt}, jitter {jitter}"
                );
            }
            backoff.failed();
        }
    }
}
