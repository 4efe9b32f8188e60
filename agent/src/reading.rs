//! A reading: one value a sensor produced, the unit everything downstream of
//! the plugin host handles (queue, batch packer, encoders).

use std::collections::BTreeMap;
use std::fmt;

/// One sampled value with where, what and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The plugin instance (or built-in source) that produced it, e.g. `sysfs`.
    pub source: String,
    /// What was measured, e.g. `thermal_zone0/temp`.
    pub name: String,
    /// SenML unit (RFC 8428 §12.1), e.g. `Cel`, `%RH`, `V`; `None` for counts
    /// and states.
    pub unit: Option<String>,
    pub value: Value,
    /// When it was sampled, in nanoseconds since the Unix epoch (UTC). An
    /// integer, so encoders and the queue never round it.
    pub timestamp_ns: i64,
    /// Extra dimensions (e.g. `sensor = "bme280"`), sorted so that equal
    /// readings encode identically.
    pub tags: BTreeMap<String, String>,
}

/// 2020-01-01T00:00:00Z in ns: a timestamp before it comes from a clock not
/// yet set (a gateway without an RTC boots at 1970), not from the time.
pub const PLAUSIBLE_FROM_NS: i64 = 1_577_836_800_000_000_000;
/// 2080-01-01T00:00:00Z in ns: this and later are a module's default date
/// (`[lib]`: 2080 is one such default), not the time.
pub const PLAUSIBLE_UNTIL_NS: i64 = 3_471_292_800_000_000_000;

/// Whether `unix_ns` can be the real time: what every stage asks before it
/// trusts a timestamp (see `crate::timekeeper`).
pub fn is_plausible_time(unix_ns: i64) -> bool {
    (PLAUSIBLE_FROM_NS..PLAUSIBLE_UNTIL_NS).contains(&unix_ns)
}

/// The tag a reading gets when its time could not be learned (a reading of
/// an earlier boot that never knew the time): its timestamp is then when it
/// was sent, not when it was sampled.
pub const CLOCK_UNKNOWN_TAG: (&str, &str) = ("clock", "unknown");

/// The value of a reading. The variants are what SenML can carry
/// (`v`, `vb`, `vs`, `vd`) plus a lossless integer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    F64(f64),
    /// Kept apart from `F64` so counters beyond 2^53 stay exact.
    I64(i64),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
}

/// Encoders take batches of `Reading`s or of `Sequenced` ones alike.
impl AsRef<Reading> for Reading {
    fn as_ref(&self) -> &Reading {
        self
    }
}

impl AsRef<Reading> for Sequenced {
    fn as_ref(&self) -> &Reading {
        &self.reading
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::F64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "<{} bytes>", v.len()),
        }
    }
}

/// A reading as the queue hands it out: with the sequence number the queue
/// gave it. Sequence numbers are unique and increase across restarts, so a
/// consumer can drop the duplicates at-least-once delivery allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequenced {
    pub seq: u64,
    pub reading: Reading,
}
