//! [`Host`]: the plugin's safe handle on the host's functions (emit, log,
//! clock), and the [`Reading`] a plugin builds to emit.
//!
//! A `Reading` borrows everything it holds; [`Host::emit`] lays it out as
//! the ABI's `#[repr(C)]` reading on the plugin's side of the boundary, and
//! the host copies what it keeps before the call returns.

use std::fmt;

use crate::abi::{self, HostApi, Status};

/// The host's functions, as handed to [`Plugin::create`](crate::Plugin::create).
///
/// `Copy`, `Send` and `Sync`: keep a copy in the plugin and in each of its
/// threads. The host never frees the table behind it, so a `Host` stays
/// safe to use for the life of the process; after the instance is stopped
/// or destroyed the host refuses what it is given
/// ([`EmitStatus::Stopped`]).
#[derive(Clone, Copy)]
pub struct Host {
    api: *const HostApi,
}

// SAFETY: the contract of `HostApi`: the host never writes the table after
// handing it out, never frees it, and its functions may be called from any
// thread, concurrently.
unsafe impl Send for Host {}
// SAFETY: as above.
unsafe impl Sync for Host {}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host").field("api", &self.api).finish()
    }
}

impl Host {
    /// Wraps the table the host passed to `create`.
    ///
    /// # Safety
    /// `api` must be non-null, point at a `HostApi` of at least ABI 1.0's
    /// size whose functions are valid, and stay valid for the life of the
    /// process (the ABI's promise for the table passed to `create`).
    pub(crate) unsafe fn from_raw(api: *const HostApi) -> Host {
        Host { api }
    }

    fn api(&self) -> &HostApi {
        // SAFETY: `from_raw`'s contract: non-null and valid forever.
        unsafe { &*self.api }
    }

    /// Hands `readings` to the host in one call. The host validates and
    /// copies them and never blocks; a reading it refuses (too long a name,
    /// a NaN) is dropped and logged by the host, the others are kept.
    pub fn emit(&self, readings: &[Reading<'_>]) -> EmitStatus {
        // All the tags of the batch in one buffer, filled completely before
        // any pointer into it is taken, so it never moves under them. With
        // no tags it never allocates.
        let mut tags: Vec<abi::Tag> =
            Vec::with_capacity(readings.iter().map(|r| r.tags.len()).sum());
        for reading in readings {
            tags.extend(reading.tags.iter().map(|&(key, value)| abi::Tag {
                key: abi::Bytes::new(key.as_bytes()),
                value: abi::Bytes::new(value.as_bytes()),
            }));
        }
        let mut next_tag = 0;
        let raw: Vec<abi::Reading> = readings
            .iter()
            .map(|reading| {
                let own = &tags[next_tag..next_tag + reading.tags.len()];
                next_tag += own.len();
                reading.to_abi(own)
            })
            .collect();
        // SAFETY: every pointer in `raw` borrows `readings` or `tags`, both
        // alive until this call returns.
        unsafe { self.emit_raw(&raw) }
    }

    /// Hands one reading to the host; allocates nothing unless it has tags.
    pub fn emit_one(&self, reading: &Reading<'_>) -> EmitStatus {
        let tags: Vec<abi::Tag> = reading
            .tags
            .iter()
            .map(|&(key, value)| abi::Tag {
                key: abi::Bytes::new(key.as_bytes()),
                value: abi::Bytes::new(value.as_bytes()),
            })
            .collect();
        let raw = reading.to_abi(&tags);
        // SAFETY: `raw` borrows `reading` and `tags`, alive until it returns.
        unsafe { self.emit_raw(core::slice::from_ref(&raw)) }
    }

    /// Hands readings already laid out in the ABI's form to the host, for a
    /// plugin that builds them itself (or a test that needs a reading the
    /// safe builder cannot express, such as a name that is not UTF-8).
    ///
    /// # Safety
    /// Every pointer in `readings` (name, unit, bytes, tags and the tags'
    /// bytes) must point at as many readable bytes (tags) as its length says,
    /// valid until this returns.
    pub unsafe fn emit_raw(&self, readings: &[abi::Reading]) -> EmitStatus {
        let api = self.api();
        // SAFETY: the host's function, called with its own `ctx` and a valid
        // array (the caller's promise).
        let status = unsafe { (api.emit)(api.ctx, readings.as_ptr(), readings.len()) };
        EmitStatus::from_status(status)
    }

    /// Logs `message` under the instance's name. Callable from any thread.
    pub fn log(&self, level: Level, message: &str) {
        let api = self.api();
        // SAFETY: the host's function with its own `ctx`; `message` is
        // borrowed for the call only.
        unsafe { (api.log)(api.ctx, level.to_abi(), message.as_ptr(), message.len()) }
    }

    /// Logs at [`Level::Error`].
    pub fn error(&self, message: &str) {
        self.log(Level::Error, message)
    }

    /// Logs at [`Level::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message)
    }

    /// Logs at [`Level::Info`].
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message)
    }

    /// Logs at [`Level::Debug`].
    pub fn debug(&self, message: &str) {
        self.log(Level::Debug, message)
    }

    /// The host's wall clock: ns since the Unix epoch (UTC). The host's
    /// clock rather than the plugin's own, so that tests with a fake clock
    /// see the same time everywhere.
    pub fn now_ns(&self) -> i64 {
        let api = self.api();
        // SAFETY: the host's function with its own `ctx`.
        unsafe { (api.now_ns)(api.ctx) }
    }
}

/// What the host did with emitted readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitStatus {
    /// All accepted.
    Ok,
    /// At least one was invalid and dropped (the host logs why); the others
    /// were accepted.
    Rejected,
    /// The host's queue was full: dropped and counted. Do not retry in a
    /// loop; sample again later.
    Full,
    /// The instance is not running (before `start`, after `stop` or
    /// `destroy`): dropped. A push thread should end.
    Stopped,
    /// A status this SDK does not know (a newer host).
    Unknown(Status),
}

impl EmitStatus {
    /// Maps the host's status code.
    pub fn from_status(status: Status) -> EmitStatus {
        match status {
            abi::STATUS_OK => EmitStatus::Ok,
            abi::STATUS_REJECTED => EmitStatus::Rejected,
            abi::STATUS_FULL => EmitStatus::Full,
            abi::STATUS_STOPPED => EmitStatus::Stopped,
            other => EmitStatus::Unknown(other),
        }
    }

    /// Every reading was accepted.
    pub fn is_ok(self) -> bool {
        self == EmitStatus::Ok
    }
}

/// The level of a log message (the same order as `tracing`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The ABI's `LOG_*` code.
    pub fn to_abi(self) -> i32 {
        match self {
            Level::Error => abi::LOG_ERROR,
            Level::Warn => abi::LOG_WARN,
            Level::Info => abi::LOG_INFO,
            Level::Debug => abi::LOG_DEBUG,
            Level::Trace => abi::LOG_TRACE,
        }
    }
}

/// The value of a [`Reading`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A measurement; must be finite (the host drops NaN and infinities).
    F64(f64),
    /// A count or an exact integer (kept exact beyond 2^53).
    I64(i64),
    Bool(bool),
    Str(&'a str),
    /// Opaque bytes, up to [`MAX_VALUE_LEN`](abi::MAX_VALUE_LEN).
    Bytes(&'a [u8]),
}

/// One reading to emit, borrowing its text: build it, emit it, drop it.
///
/// ```ignore
/// host.emit_one(&Reading::new("temp", Value::F64(21.5)).unit("Cel"));
/// ```
///
/// The host's limits ([`MAX_NAME_LEN`](abi::MAX_NAME_LEN) and the others in
/// [`abi`]) apply; a reading beyond them is dropped, never cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading<'a> {
    name: &'a str,
    value: Value<'a>,
    unit: &'a str,
    timestamp_ns: i64,
    urgent: bool,
    tags: &'a [(&'a str, &'a str)],
}

impl<'a> Reading<'a> {
    /// A reading of `value` named `name`, without unit or tags, stamped by
    /// the host when emitted, not urgent.
    pub fn new(name: &'a str, value: Value<'a>) -> Self {
        Reading {
            name,
            value,
            unit: "",
            timestamp_ns: 0,
            urgent: false,
            tags: &[],
        }
    }

    /// The SenML unit (`Cel`, `V`, `%RH`); empty means none.
    pub fn unit(mut self, unit: &'a str) -> Self {
        self.unit = unit;
        self
    }

    /// When it was sampled, ns since the Unix epoch (UTC); 0 (the default)
    /// lets the host stamp it at `emit`.
    pub fn at(mut self, timestamp_ns: i64) -> Self {
        self.timestamp_ns = timestamp_ns;
        self
    }

    /// Upload without waiting for the next upload window (an alarm).
    pub fn urgent(mut self) -> Self {
        self.urgent = true;
        self
    }

    /// Extra dimensions, as `(key, value)` pairs.
    pub fn tags(mut self, tags: &'a [(&'a str, &'a str)]) -> Self {
        self.tags = tags;
        self
    }

    /// The ABI's layout, borrowing `self` and `tags` (this reading's tags,
    /// already converted).
    fn to_abi(self, tags: &[abi::Tag]) -> abi::Reading {
        let (kind, number, integer, bytes) = match self.value {
            Value::F64(v) => (abi::VALUE_F64, v, 0, abi::Bytes::EMPTY),
            Value::I64(v) => (abi::VALUE_I64, 0.0, v, abi::Bytes::EMPTY),
            Value::Bool(v) => (abi::VALUE_BOOL, 0.0, i64::from(v), abi::Bytes::EMPTY),
            Value::Str(v) => (abi::VALUE_STR, 0.0, 0, abi::Bytes::new(v.as_bytes())),
            Value::Bytes(v) => (abi::VALUE_BYTES, 0.0, 0, abi::Bytes::new(v)),
        };
        abi::Reading {
            name: abi::Bytes::new(self.name.as_bytes()),
            unit: abi::Bytes::new(self.unit.as_bytes()),
            timestamp_ns: self.timestamp_ns,
            kind,
            flags: if self.urgent { abi::READING_URGENT } else { 0 },
            number,
            integer,
            bytes,
            tags: if tags.is_empty() {
                core::ptr::null()
            } else {
                tags.as_ptr()
            },
            tag_count: tags.len(),
        }
    }
}
