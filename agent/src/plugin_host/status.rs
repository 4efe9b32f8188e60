//! What the host reports about each plugin instance: its state, and the
//! counters the host API and the supervisor keep for it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::validate::Rejection;

/// One call the host makes into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginCall {
    Create,
    Start,
    Poll,
    Command,
    Stop,
    Destroy,
}

impl fmt::Display for PluginCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginCall::Create => "create",
            PluginCall::Start => "start",
            PluginCall::Poll => "poll",
            PluginCall::Command => "command",
            PluginCall::Stop => "stop",
            PluginCall::Destroy => "destroy",
        })
    }
}

/// Where an instance is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceState {
    /// `create` (or `start`) is being called.
    Starting,
    /// Created, and polling or pushing.
    Running,
    /// The last call failed; the next attempt is at `until`.
    BackingOff { until: Instant, failures: u32 },
    /// Created, but it neither polls nor pushes (`poll` and `start` both
    /// answered UNSUPPORTED): nothing will come from it.
    Idle,
    /// `call` ran past its deadline: the instance is never called again.
    Wedged { call: PluginCall, after: Duration },
    /// Not running, for `reason` (a refused configuration, no thread).
    Disabled { reason: String },
    /// Stopped and destroyed by a shutdown.
    Stopped,
}

/// The state and counters of one instance, as [`super::PluginHost::status`]
/// reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceStatus {
    /// The instance's configured name (the `source` of its readings).
    pub name: String,
    /// The plugin's own name, from its descriptor.
    pub plugin: String,
    pub state: InstanceState,
    /// The host polls it (a `poll` that has not answered UNSUPPORTED).
    pub polling: bool,
    /// It pushes from its own thread (`start` answered OK).
    pub pushing: bool,
    pub counters: CounterSnapshot,
}

/// The counters of one instance at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// `create` calls (more than one: retries after errors).
    pub creates: u64,
    pub polls: u64,
    /// Calls that returned STATUS_ERROR or a status the ABI does not define.
    pub errors: u64,
    /// Calls that returned STATUS_PANICKED.
    pub panics: u64,
    /// Calls that ran past their deadline (at most 1: then it is wedged).
    pub deadlines_missed: u64,
    /// Readings accepted into the channel.
    pub emitted: u64,
    /// Readings dropped as invalid, per reason (only reasons seen).
    pub rejected: BTreeMap<Rejection, u64>,
    /// Readings dropped because the channel was full.
    pub dropped_full: u64,
    /// Readings dropped because the instance was not running.
    pub after_stop: u64,
}

impl CounterSnapshot {
    /// Readings dropped as invalid, all reasons together.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The live counters, shared by the host API (any plugin thread) and the
/// supervisor. Relaxed: each is a statistic on its own, nothing is ordered
/// by them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub creates: AtomicU64,
    pub polls: AtomicU64,
    pub errors: AtomicU64,
    pub panics: AtomicU64,
    pub deadlines_missed: AtomicU64,
    pub emitted: AtomicU64,
    pub rejected: [AtomicU64; Rejection::ALL.len()],
    pub dropped_full: AtomicU64,
    pub after_stop: AtomicU64,
}

impl Counters {
    /// Adds one; returns the count before.
    pub fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            creates: get(&self.creates),
            polls: get(&self.polls),
            errors: get(&self.errors),
            panics: get(&self.panics),
            deadlines_missed: get(&self.deadlines_missed),
            emitted: get(&self.emitted),
            rejected: Rejection::ALL
                .iter()
                .map(|&r| (r, get(&self.rejected[r.index()])))
                .filter(|&(_, n)| n > 0)
                .collect(),
            dropped_full: get(&self.dropped_full),
            after_stop: get(&self.after_stop),
        }
    }
}
