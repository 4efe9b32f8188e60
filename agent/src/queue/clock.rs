//! Time as the queue sees it, behind a trait so that tests and benchmarks
//! control it. Two clocks, because they answer different questions:
//!
//! - wall-clock time is stored with every reading, so `queue.max_age` still
//!   holds across restarts;
//! - monotonic time runs lease deadlines and the sync interval, so a gateway
//!   whose clock jumps when the network first sets it (1970 → today) neither
//!   times out every lease at once nor keeps one for years.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A source of time for a [`Queue`](super::Queue).
pub trait Clock: Debug + Send + Sync {
    /// Wall-clock time in milliseconds since the Unix epoch.
    fn unix_ms(&self) -> u64;
    /// Monotonic time since an arbitrary, fixed origin.
    fn monotonic(&self) -> Duration;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn unix_ms(&self) -> u64 {
        // A clock before 1970 reads as 1970: such readings are treated as
        // "time unknown" by expiry (see `queue::CLOCK_SET_AFTER_MS`).
        crate::values::wall_clock::unix_ms()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_ms: Arc<AtomicU64>,
    monotonic_ms: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `unix_ms` on the wall and 0 on the monotonic clock.
    pub fn new(unix_ms: u64) -> Self {
        ManualClock {
            unix_ms: Arc::new(AtomicU64::new(unix_ms)),
            monotonic_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves both clocks forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.unix_ms.fetch_add(ms, Ordering::SeqCst);
        self.monotonic_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the wall clock alone (a clock being corrected), leaving the
    /// monotonic one as it is.
    pub fn set_unix_ms(&self, unix_ms: u64) {
        self.unix_ms.store(unix_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_ms(&self) -> u64 {
        self.unix_ms.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.monotonic_ms.load(Ordering::SeqCst))
    }
}
