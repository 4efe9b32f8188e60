//! What time it is, and how sure the agent is: the host's clock when it is
//! plausible, else the module's network time, else unknown.
//!
//! A gateway without a battery-backed RTC boots at 1970, and with the module
//! as its only uplink it has no NTP. Readings are stamped by the host's
//! clock (the plugin host, the heartbeat), so while that clock is wrong
//! their timestamps are wrong by the same amount. The [`TimeKeeper`] learns
//! that amount (the *correction*: true UTC minus the host clock) as soon as
//! it can:
//!
//! - from the module (`AT+CCLK?` once registered, with `AT+CTZU=1` so the
//!   network sets it), when its answer is plausible ([`modem::clock`]);
//! - from the host clock itself, when something else (an RTC driver, NTP,
//!   the operator) sets it while the agent runs: the jump between the host
//!   clock and the monotonic clock is the correction.
//!
//! Until then timestamps stay as the host clock gave them: a timestamp
//! before 2020 is the host's wrong clock, and the boot it belongs to is
//! known (`Queue::boot_first_seq`), so it is relative to this boot's
//! monotonic clock through the host clock, which ticks with it. Once the
//! correction is known, the queue's readings of this boot are restamped
//! once (`Queue::restamp`) and everything taken in later is corrected on
//! the way in (the intake, the heartbeat). Readings of an earlier boot that
//! never learned the time cannot be placed: they are sent stamped with the
//! time they are sent and tagged `clock = "unknown"`. While the time is
//! unknown nothing with a wrong timestamp is sent (the window's drain stops
//! before it), so nothing reaches a server with a wrong absolute time, and
//! nothing is dead-lettered for it.
//!
//! Invariant: the correction is learned and applied under one lock
//! ([`TimeKeeper::apply`]), which the intake's appends also take: a reading
//! is either corrected on the way in or restamped in the queue, never
//! neither.
//!
//! The agent never needs root: it sets the system clock only where
//! configured (`agent.set_system_clock`) and permitted (`CAP_SYS_TIME`).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::modem::clock::{is_plausible, ModuleTime};

/// Where the agent's idea of UTC comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The host's clock, plausible (an RTC, NTP, or set by hand).
    Host,
    /// The module's network time, applied as a correction to the host clock.
    Module,
    /// Nobody knows yet: the host clock is not plausible and the module has
    /// no network time.
    Unknown,
}

impl TimeSource {
    /// The name in the heartbeat and the logs.
    pub fn name(self) -> &'static str {
        match self {
            TimeSource::Host => "host",
            TimeSource::Module => "module",
            TimeSource::Unknown => "unknown",
        }
    }
}

/// The host's clocks, behind a trait so tests can set them.
pub trait HostClock: Send + Sync + std::fmt::Debug {
    /// `CLOCK_REALTIME`, ns since the epoch (may be wrong: 1970 at boot).
    fn realtime_ns(&self) -> i64;
    /// A monotonic clock, ns since an arbitrary origin.
    fn monotonic_ns(&self) -> i64;
}

/// The system's clocks.
#[derive(Debug)]
pub struct SystemHostClock {
    origin: Instant,
}

impl SystemHostClock {
    pub fn new() -> SystemHostClock {
        SystemHostClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemHostClock {
    fn default() -> Self {
        SystemHostClock::new()
    }
}

impl HostClock for SystemHostClock {
    fn realtime_ns(&self) -> i64 {
        crate::values::wall_clock::unix_ns()
    }
    fn monotonic_ns(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }
}

/// A correction the agent learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correction {
    /// True UTC minus the host clock, in ns, for timestamps the host clock
    /// gave while it was wrong.
    pub offset_ns: i64,
    /// Where the true time came from.
    pub from: TimeSource,
}

/// What [`TimeKeeper::status`] reports (the heartbeat's `time/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeStatus {
    pub source: TimeSource,
    /// The last correction learned, if any.
    pub correction: Option<Correction>,
}

#[derive(Debug)]
struct State {
    source: TimeSource,
    correction: Option<Correction>,
    /// Host clock minus monotonic clock while the host clock was wrong: if
    /// it jumps and the host clock becomes plausible, the jump is the
    /// correction.
    wrong_relation_ns: Option<i64>,
}

/// The agent's notion of UTC (see the module docs).
#[derive(Debug)]
pub struct TimeKeeper {
    host: Box<dyn HostClock>,
    state: Mutex<State>,
}

impl TimeKeeper {
    /// Starts with the host clock: plausible or not.
    pub fn new(host: Box<dyn HostClock>) -> TimeKeeper {
        let now = host.realtime_ns();
        let (source, wrong_relation_ns) = if is_plausible(now) {
            (TimeSource::Host, None)
        } else {
            tracing::warn!(
                host_clock_ns = now,
                "the host clock is not set (before 2020): readings keep their timestamps \
                 relative to this boot until the module's network time is known"
            );
            (
                TimeSource::Unknown,
                Some(now.saturating_sub(host.monotonic_ns())),
            )
        };
        TimeKeeper {
            host,
            state: Mutex::new(State {
                source,
                correction: None,
                wrong_relation_ns,
            }),
        }
    }

    /// With the system's clocks.
    pub fn system() -> TimeKeeper {
        TimeKeeper::new(Box::new(SystemHostClock::new()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the time comes from, and the last correction.
    pub fn status(&self) -> TimeStatus {
        let mut st = self.lock();
        self.observe_host(&mut st);
        TimeStatus {
            source: st.source,
            correction: st.correction,
        }
    }

    /// Whether the true time is known (from the host or the module).
    pub fn is_known(&self) -> bool {
        self.status().source != TimeSource::Unknown
    }

    /// The host clock as read now (what readings are stamped with).
    pub fn host_now_ns(&self) -> i64 {
        self.host.realtime_ns()
    }

    /// UTC now, if known.
    pub fn utc_now_ns(&self) -> Option<i64> {
        let now = self.host.realtime_ns();
        fix(&self.lock(), now)
    }

    /// `timestamp_ns` (from the host clock) as true UTC: unchanged if
    /// plausible, corrected if the correction is known, `None` if not.
    pub fn fix(&self, timestamp_ns: i64) -> Option<i64> {
        fix(&self.lock(), timestamp_ns)
    }

    /// Runs `f` with the current correction (if any) under the keeper's
    /// lock, so no correction is learned meanwhile: the intake's appends
    /// go through here.
    pub fn with_correction<T>(&self, f: impl FnOnce(&dyn Fn(i64) -> i64) -> T) -> T {
        let mut st = self.lock();
        self.observe_host(&mut st);
        let correction = st.correction;
        let corrected = move |ts: i64| match correction {
            Some(c) if !is_plausible(ts) => ts.saturating_add(c.offset_ns),
            _ => ts,
        };
        f(&corrected)
    }

    /// The module said what time it is, read when the host clock said
    /// `host_at_read_ns`. If the host clock is wrong and the module's is
    /// plausible, that is the correction: it is learned, and `apply` runs
    /// with it under the lock (the queue's restamp). Returns the correction
    /// learned, if one was.
    pub fn learn_module_time<T>(
        &self,
        module: ModuleTime,
        host_at_read_ns: i64,
        apply: impl FnOnce(Correction) -> T,
    ) -> Option<(Correction, T)> {
        let mut st = self.lock();
        self.observe_host(&mut st);
        if !module.is_plausible() {
            tracing::debug!(?module, "the module's clock is not set by the network yet");
            return None;
        }
        if st.source == TimeSource::Host {
            let drift_s = (module.utc_ns() - host_at_read_ns) / 1_000_000_000;
            if drift_s.abs() > 300 {
                tracing::warn!(
                    drift_s,
                    "the host clock and the module's network time disagree by more than 5 min; \
                     keeping the host clock"
                );
            }
            return None;
        }
        if st.source == TimeSource::Module {
            return None;
        }
        let correction = Correction {
            offset_ns: module.utc_ns().saturating_sub(host_at_read_ns),
            from: TimeSource::Module,
        };
        st.correction = Some(correction);
        st.source = TimeSource::Module;
        tracing::info!(
            correction_s = correction.offset_ns / 1_000_000_000,
            zone_quarters = module.zone_quarters,
            "time learned from the module's network time"
        );
        let applied = apply(correction);
        Some((correction, applied))
    }

    /// Applies `f` to the known correction under the lock (e.g. restamping
    /// the queue at start, when the correction was known before).
    pub fn apply<T>(&self, f: impl FnOnce(Option<Correction>) -> T) -> T {
        let mut st = self.lock();
        self.observe_host(&mut st);
        f(st.correction)
    }

    /// If the host clock was wrong and has been set since (it is plausible
    /// now and jumped against the monotonic clock), the jump is the
    /// correction for what it stamped before.
    fn observe_host(&self, st: &mut State) {
        let Some(wrong) = st.wrong_relation_ns else {
            return;
        };
        let now = self.host.realtime_ns();
        if !is_plausible(now) {
            return;
        }
        let relation = now.saturating_sub(self.host.monotonic_ns());
        let jump = relation.saturating_sub(wrong);
        st.wrong_relation_ns = None;
        if st.correction.is_none() {
            st.correction = Some(Correction {
                offset_ns: jump,
                from: TimeSource::Host,
            });
            tracing::info!(
                correction_s = jump / 1_000_000_000,
                "the host clock was set while the agent ran; earlier readings are corrected by \
                 the jump"
            );
        }
        st.source = TimeSource::Host;
    }
}

fn fix(st: &State, timestamp_ns: i64) -> Option<i64> {
    if is_plausible(timestamp_ns) {
        return Some(timestamp_ns);
    }
    st.correction
        .map(|c| timestamp_ns.saturating_add(c.offset_ns))
        .filter(|&t| is_plausible(t))
}

/// Sets the system clock to `utc_ns` (`clock_settime`), which needs
/// `CAP_SYS_TIME`. Only where `agent.set_system_clock` asks for it.
pub fn set_system_clock(utc_ns: i64) -> Result<(), std::io::Error> {
    let spec = nix::sys::time::TimeSpec::new(
        utc_ns.div_euclid(1_000_000_000),
        utc_ns.rem_euclid(1_000_000_000),
    );
    nix::time::clock_settime(nix::time::ClockId::CLOCK_REALTIME, spec).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// Clocks a test sets.
    #[derive(Debug, Default)]
    struct Clocks {
        real: AtomicI64,
        mono: AtomicI64,
    }

    #[derive(Debug)]
    struct TestClock(Arc<Clocks>);

    impl HostClock for TestClock {
        fn realtime_ns(&self) -> i64 {
            self.0.real.load(Ordering::Relaxed)
        }
        fn monotonic_ns(&self) -> i64 {
            self.0.mono.load(Ordering::Relaxed)
        }
    }

    const S: i64 = 1_000_000_000;
    /// 2026-12-04T21:15:30Z.
    const TRUE_NOW: i64 = 1_796_418_930 * S;

    fn keeper(real: i64) -> (Arc<Clocks>, TimeKeeper) {
        let clocks = Arc::new(Clocks::default());
        clocks.real.store(real, Ordering::Relaxed);
        clocks.mono.store(5 * S, Ordering::Relaxed);
        (
            Arc::clone(&clocks),
            TimeKeeper::new(Box::new(TestClock(clocks))),
        )
    }

    fn advance(clocks: &Clocks, by: i64) {
        clocks.real.fetch_add(by, Ordering::Relaxed);
        clocks.mono.fetch_add(by, Ordering::Relaxed);
    }

    #[test]
    fn a_plausible_host_clock_is_the_time_and_needs_no_correction() {
        let (_, k) = keeper(TRUE_NOW);
        assert_eq!(k.status().source, TimeSource::Host);
        assert_eq!(k.fix(TRUE_NOW), Some(TRUE_NOW));
        // The module's time changes nothing.
        let module = ModuleTime {
            utc_s: TRUE_NOW / S + 1,
            zone_quarters: 4,
        };
        assert!(k.learn_module_time(module, TRUE_NOW, |_| ()).is_none());
        assert_eq!(k.status().correction, None);
    }

    #[test]
    fn a_1970_host_clock_is_corrected_by_the_modules_network_time() {
        // Booted at 1970-01-01T00:00:00 plus 10 s.
        let (clocks, k) = keeper(10 * S);
        assert_eq!(k.status().source, TimeSource::Unknown);
        assert_eq!(k.fix(10 * S), None, "no absolute time before it is known");
        assert_eq!(k.utc_now_ns(), None);
        // A reading sampled now, then 20 s later the module knows the time.
        let sampled = k.host_now_ns();
        advance(&clocks, 20 * S);
        // A default date first: ignored.
        let default = ModuleTime {
            utc_s: 1_420_070_400,
            zone_quarters: 0,
        };
        assert!(k
            .learn_module_time(default, k.host_now_ns(), |_| ())
            .is_none());
        let module = ModuleTime {
            utc_s: TRUE_NOW / S,
            zone_quarters: 4,
        };
        let (correction, applied) = k
            .learn_module_time(module, k.host_now_ns(), |c| c.offset_ns)
            .unwrap();
        assert_eq!(correction.offset_ns, TRUE_NOW - 30 * S);
        assert_eq!(applied, correction.offset_ns);
        assert_eq!(k.status().source, TimeSource::Module);
        // The reading sampled 20 s before gets the right time.
        assert_eq!(k.fix(sampled), Some(TRUE_NOW - 20 * S));
        assert_eq!(k.utc_now_ns(), Some(TRUE_NOW));
        k.with_correction(|fix| assert_eq!(fix(sampled), TRUE_NOW - 20 * S));
    }

    #[test]
    fn a_host_clock_set_while_the_agent_runs_gives_the_correction_by_its_jump() {
        let (clocks, k) = keeper(100 * S);
        let sampled = k.host_now_ns();
        advance(&clocks, 7 * S);
        // NTP (or an RTC driver) steps the clock to the true time.
        clocks.real.store(TRUE_NOW, Ordering::Relaxed);
        let status = k.status();
        assert_eq!(status.source, TimeSource::Host);
        assert_eq!(
            status.correction.map(|c| c.offset_ns),
            Some(TRUE_NOW - 107 * S)
        );
        assert_eq!(k.fix(sampled), Some(TRUE_NOW - 7 * S));
    }
}
