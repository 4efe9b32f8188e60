//! The agent's own vital signs as readings: a built-in source that runs
//! before any plugin exists and stays afterwards, because a gateway that
//! reports nothing must be told apart from one that has nothing to report.
//!
//! Every `agent.heartbeat_interval` the run loop takes a [`Vitals`] snapshot
//! and queues [`readings`]; they travel like any sensor's readings (durable
//! queue, batches, uplink), so a heartbeat that arrives also proves the path.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::modem::at::RegStatus;
use crate::queue::Counters;
use crate::reading::{Reading, Value};

/// The `source` of every heartbeat reading.
pub const SOURCE: &str = "agent";

/// What the agent knows about itself at one moment.
#[derive(Debug, Clone, Default)]
pub struct Vitals {
    /// Time since the agent started.
    pub uptime: Duration,
    /// The queue's persisted counters, if the queue is open.
    pub queue: Option<Counters>,
    /// The module's last known EPS registration, if the modem is up.
    pub registration: Option<RegStatus>,
    /// How the configured plugins fare, if any are configured.
    pub plugins: Option<PluginVitals>,
    /// How the module's power is managed, once the power manager runs.
    pub power: Option<PowerVitals>,
    /// Where the agent's time comes from, once it runs.
    pub time: Option<TimeVitals>,
    /// TLS handshakes, when the uplink uses TLS.
    pub tls: Option<TlsVitals>,
}

/// TLS handshakes since the agent started: a fleet sees whether session
/// resumption works (resumed ones are a few hundred bytes on the radio, a
/// full one several kB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsVitals {
    /// Secure logins without session data to resume. Only grows.
    pub full_handshakes: u64,
    /// Secure logins that offered session data. Only grows.
    pub resumed: u64,
}

/// The agent's clock: a gateway without an RTC reports how it learned the
/// time, so a fleet can see which ones depend on the network's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeVitals {
    /// `"host"`, `"module"` or `"unknown"` (see `crate::timekeeper`).
    pub source: &'static str,
    /// The last correction of the host clock learned, in seconds (true UTC
    /// minus the host clock), if any.
    pub correction_s: Option<i64>,
}

/// The module's sleep and the windows that woke it: what tells a fleet
/// operator whether a gateway's battery will last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerVitals {
    /// Times the module entered Sleep-2 or Hibernate since the agent
    /// started. Only grows; flat over a day means it never sleeps deeply.
    pub deep_sleeps: u64,
    /// Upload windows opened since the agent started. Only grows.
    pub windows: u64,
    /// Sockets that keep the module out of deep sleep right now (normally
    /// none between windows).
    pub sleep_blockers: u64,
    /// Whether the doorbell is open, if one is configured.
    pub doorbell_open: Option<bool>,
}

/// The plugin host's health, summed over the configured instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginVitals {
    /// Instances that produce nothing and will not recover by themselves:
    /// not loaded, disabled (bad config), wedged (missed a deadline).
    pub unhealthy: u64,
    /// Readings plugins emitted that never reached the queue: invalid,
    /// channel full, emitted while stopped. Only grows.
    pub dropped: u64,
    /// Failed calls into plugins: errors, caught panics, missed deadlines.
    /// Only grows.
    pub errors: u64,
}

/// The heartbeat readings for `vitals`, stamped `timestamp_ns`.
///
/// Names and units (SenML, RFC 8428 §12.1): `uptime` in `s`;
/// `queue/pending` (count) and `queue/pending_bytes` in `B`; `queue/lost`,
/// every reading the queue dropped, refused or expired since it was created
/// (count; it only grows, so a rise between two heartbeats is news);
/// `queue/dead_letters` (count); `modem/registered` (bool);
/// `plugins/unhealthy`, `plugins/dropped`, `plugins/errors` (counts, see
/// [`PluginVitals`]); `power/deep_sleeps`, `power/windows`,
/// `power/sleep_blockers` (counts) and `doorbell/open` (bool), see
/// [`PowerVitals`]; `time/source` (text) and `time/correction` in `s`, see
/// [`TimeVitals`].
pub fn readings(vitals: &Vitals, timestamp_ns: i64) -> Vec<Reading> {
    let reading = |name: &str, unit: Option<&str>, value: Value| Reading {
        source: SOURCE.to_string(),
        name: name.to_string(),
        unit: unit.map(str::to_string),
        value,
        timestamp_ns,
        tags: BTreeMap::new(),
    };
    let count = |n: u64| Value::I64(i64::try_from(n).unwrap_or(i64::MAX));
    let mut out = vec![reading("uptime", Some("s"), count(vitals.uptime.as_secs()))];
    if let Some(c) = &vitals.queue {
        out.push(reading("queue/pending", None, count(c.pending_count)));
        out.push(reading(
            "queue/pending_bytes",
            Some("B"),
            count(c.pending_bytes),
        ));
        let lost = c
            .dropped
            .saturating_add(c.rejected)
            .saturating_add(c.expired);
        out.push(reading("queue/lost", None, count(lost)));
        out.push(reading("queue/dead_letters", None, count(c.dead_count)));
    }
    if let Some(status) = vitals.registration {
        out.push(reading(
            "modem/registered",
            None,
            Value::Bool(status.is_registered()),
        ));
    }
    if let Some(p) = &vitals.plugins {
        out.push(reading("plugins/unhealthy", None, count(p.unhealthy)));
        out.push(reading("plugins/dropped", None, count(p.dropped)));
        out.push(reading("plugins/errors", None, count(p.errors)));
    }
    if let Some(p) = &vitals.power {
        out.push(reading("power/deep_sleeps", None, count(p.deep_sleeps)));
        out.push(reading("power/windows", None, count(p.windows)));
        out.push(reading(
            "power/sleep_blockers",
            None,
            count(p.sleep_blockers),
        ));
        if let Some(open) = p.doorbell_open {
            out.push(reading("doorbell/open", None, Value::Bool(open)));
        }
    }
    if let Some(t) = &vitals.tls {
        out.push(reading(
            "tls/full_handshakes",
            None,
            count(t.full_handshakes),
        ));
        out.push(reading("tls/resumed", None, count(t.resumed)));
    }
    if let Some(t) = &vitals.time {
        out.push(reading("time/source", None, Value::Str(t.source.into())));
        if let Some(correction) = t.correction_s {
            out.push(reading(
                "time/correction",
                Some("s"),
                Value::I64(correction),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of<'a>(readings: &'a [Reading], name: &str) -> Option<&'a Value> {
        readings.iter().find(|r| r.name == name).map(|r| &r.value)
    }

    #[test]
    fn a_heartbeat_reports_uptime_queue_depth_losses_and_registration() {
        let counters = Counters {
            pending_count: 42,
            pending_bytes: 3_700,
            dropped: 3,
            rejected: 1,
            expired: 2,
            dead_count: 5,
            ..Counters::default()
        };
        let vitals = Vitals {
            uptime: Duration::from_secs(3_600),
            queue: Some(counters),
            registration: Some(RegStatus::Roaming),
            plugins: Some(PluginVitals {
                unhealthy: 1,
                dropped: 7,
                errors: 9,
            }),
            power: Some(PowerVitals {
                deep_sleeps: 11,
                windows: 12,
                sleep_blockers: 1,
                doorbell_open: Some(false),
            }),
            time: Some(TimeVitals {
                source: "module",
                correction_s: Some(1_796_418_920),
            }),
            tls: Some(TlsVitals {
                full_handshakes: 1,
                resumed: 99,
            }),
        };
        let r = readings(&vitals, 1_790_000_000_000_000_000);
        assert_eq!(r.len(), 17);
        assert!(r
            .iter()
            .all(|r| r.source == SOURCE && r.timestamp_ns == 1_790_000_000_000_000_000));
        assert_eq!(value_of(&r, "uptime"), Some(&Value::I64(3_600)));
        assert_eq!(value_of(&r, "queue/pending"), Some(&Value::I64(42)));
        assert_eq!(
            value_of(&r, "queue/pending_bytes"),
            Some(&Value::I64(3_700))
        );
        assert_eq!(value_of(&r, "queue/lost"), Some(&Value::I64(6)));
        assert_eq!(value_of(&r, "queue/dead_letters"), Some(&Value::I64(5)));
        assert_eq!(value_of(&r, "modem/registered"), Some(&Value::Bool(true)));
        assert_eq!(value_of(&r, "plugins/unhealthy"), Some(&Value::I64(1)));
        assert_eq!(value_of(&r, "plugins/dropped"), Some(&Value::I64(7)));
        assert_eq!(value_of(&r, "plugins/errors"), Some(&Value::I64(9)));
        assert_eq!(value_of(&r, "power/deep_sleeps"), Some(&Value::I64(11)));
        assert_eq!(value_of(&r, "power/windows"), Some(&Value::I64(12)));
        assert_eq!(value_of(&r, "power/sleep_blockers"), Some(&Value::I64(1)));
        assert_eq!(value_of(&r, "doorbell/open"), Some(&Value::Bool(false)));
        assert_eq!(value_of(&r, "tls/full_handshakes"), Some(&Value::I64(1)));
        assert_eq!(value_of(&r, "tls/resumed"), Some(&Value::I64(99)));
        assert_eq!(
            value_of(&r, "time/source"),
            Some(&Value::Str("module".into()))
        );
        assert_eq!(
            value_of(&r, "time/correction"),
            Some(&Value::I64(1_796_418_920))
        );
        let host_time = Vitals {
            time: Some(TimeVitals {
                source: "host",
                correction_s: None,
            }),
            ..Vitals::default()
        };
        assert_eq!(value_of(&readings(&host_time, 0), "time/correction"), None);
        let without_doorbell = Vitals {
            power: Some(PowerVitals::default()),
            ..Vitals::default()
        };
        assert_eq!(
            value_of(&readings(&without_doorbell, 0), "doorbell/open"),
            None
        );
    }

    #[test]
    fn what_the_agent_does_not_know_is_left_out_not_reported_as_zero() {
        let r = readings(&Vitals::default(), 0);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "uptime");
    }
}
