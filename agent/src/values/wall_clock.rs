//! The host's wall clock as Unix time. A gateway without an RTC may boot
//! before 1970 or far in the future; these never panic and saturate instead,
//! and what a stamp taken from them means when the clock is wrong is the
//! business of `timekeeper`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the epoch: negative before it, saturating.
pub fn unix_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |ns| -ns),
    }
}

/// Milliseconds since the epoch; 0 before it.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whole seconds since the epoch; 0 before it.
pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings_agree_on_now() {
        let secs = unix_secs();
        let ms = unix_ms();
        let ns = unix_ns();
        // Read in this order, each is at or after the one before.
        assert!(
            ms / 1000 >= secs && ms / 1000 - secs <= 1,
            "{secs} s vs {ms} ms"
        );
        let ns_ms = u64::try_from(ns / 1_000_000).unwrap_or(0);
        assert!(ns_ms >= ms && ns_ms - ms <= 1000, "{ms} ms vs {ns} ns");
    }
}
