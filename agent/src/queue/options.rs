//! How a queue behaves: when it flushes, how big and how old it may grow,
//! how long a lease lasts. [`Options`] is what [`Queue::open`](super::Queue::open)
//! takes; the `[queue]` table of the configuration builds it (in `config`,
//! which knows the queue; the queue does not know the config). [`SyncPolicy`]
//! and [`OnFull`] are also the config's own value types, so the two cannot
//! spell them differently.

use std::fmt;
use std::time::Duration as StdDuration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::values::{ByteSize, Duration, DURATION_FORMS};

/// `queue.sync`: when appended readings are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// `"batch"`: one flush (write + fsync) per appended batch, before
    /// `append` returns. Nothing `append` returned for is lost.
    Batch,
    /// A duration such as `"5s"`: a flush at most this often, by `append`
    /// when the last flush is older, or by the owner's
    /// [`Queue::flush_if_due`](super::Queue::flush_if_due). Readings appended
    /// since the last flush are lost on power loss: this is the loss window.
    Interval(Duration),
}

impl SyncPolicy {
    /// The spelling of [`SyncPolicy::Batch`] in the config.
    pub const BATCH: &'static str = "batch";
}

impl Default for SyncPolicy {
    /// `"batch"`: a plugin emits one batch per poll (seconds to minutes
    /// apart), so a flush per batch costs little and loses nothing.
    fn default() -> Self {
        SyncPolicy::Batch
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncPolicy::Batch => f.write_str(Self::BATCH),
            SyncPolicy::Interval(d) => d.fmt(f),
        }
    }
}

impl Serialize for SyncPolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SyncPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SyncVisitor;

        fn interval<E: de::Error>(d: Duration) -> Result<SyncPolicy, E> {
            if d.is_zero() {
                return Err(E::custom(
                    "a zero interval is not allowed; use \"batch\" to flush every batch",
                ));
            }
            Ok(SyncPolicy::Interval(d))
        }

        impl Visitor<'_> for SyncVisitor {
            type Value = SyncPolicy;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"batch\" or a flush interval: {DURATION_FORMS}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SyncPolicy, E> {
                if v.trim() == SyncPolicy::BATCH {
                    return Ok(SyncPolicy::Batch);
                }
                let d = v.parse::<Duration>().map_err(|e| {
                    E::custom(format!("expected \"batch\" or a flush interval; {e}"))
                })?;
                interval(d)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SyncPolicy, E> {
                interval(Duration::from_secs(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SyncPolicy, E> {
                let secs = u64::try_from(v)
                    .map_err(|_| E::custom(format!("invalid interval {v}: it is negative")))?;
                interval(Duration::from_secs(secs))
            }
        }

        d.deserialize_any(SyncVisitor)
    }
}

/// `queue.on_full`: what `append` does when a reading does not fit under
/// `queue.max_bytes` (after the oldest dead letters, which always go first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFull {
    /// Drop the oldest pending readings until the new one fits. The default:
    /// after days without coverage the newest readings say the most about
    /// the gateway's present, and nothing upstream could hold them instead.
    #[default]
    DropOldest,
    /// Refuse the new reading and keep the backlog as it is, for deployments
    /// where the oldest data is the valuable part (e.g. billing counters).
    RejectNew,
}

impl fmt::Display for OnFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnFull::DropOldest => "drop_oldest",
            OnFull::RejectNew => "reject_new",
        })
    }
}

/// How a [`Queue`](super::Queue) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// When appends are flushed.
    pub sync: SyncPolicy,
    /// The most bytes pending readings and dead letters may take, counted as
    /// key plus encoded record (sled's own overhead on disk comes on top).
    pub max_bytes: u64,
    /// What happens to a reading that does not fit.
    pub on_full: OnFull,
    /// Readings (and dead letters) enqueued longer ago than this expire.
    pub max_age: StdDuration,
    /// A lease neither acked nor released within this is handed out again.
    pub lease_timeout: StdDuration,
}

/// Default of `queue.max_bytes` (the config says why).
pub const DEFAULT_MAX_BYTES: ByteSize = ByteSize::mib(32);
/// Default of `queue.max_age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);
/// Default of `queue.lease_timeout`.
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(120);

impl Default for Options {
    /// The configuration's defaults.
    fn default() -> Self {
        Options {
            sync: SyncPolicy::default(),
            max_bytes: DEFAULT_MAX_BYTES.get(),
            on_full: OnFull::default(),
            max_age: DEFAULT_MAX_AGE.get(),
            lease_timeout: DEFAULT_LEASE_TIMEOUT.get(),
        }
    }
}
