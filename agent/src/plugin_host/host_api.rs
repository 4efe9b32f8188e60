//! The host's side of the ABI: the `HostApi` table each instance gets, its
//! context, and the `extern "C"` functions behind it (`emit`, `log`,
//! `now_ns`).
//!
//! The functions may be called from any plugin thread, concurrently, at any
//! time (even after `destroy`): none of them blocks and none lets a panic
//! unwind into the plugin. `emit` validates each reading, copies it, and
//! `try_send`s it into the bounded channel, only while the instance's gate
//! is open ("running" in abi.rs's sense).

use std::ffi::c_void;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{PoisonError, RwLock};

use edge_agent_sdk::abi::{
    self, HostApi, Status, ABI_MAJOR, ABI_MINOR, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN,
    STATUS_FULL, STATUS_OK, STATUS_REJECTED, STATUS_STOPPED,
};
use tokio::sync::mpsc::{self, error::TrySendError};

use super::status::{CounterSnapshot, Counters};
use super::validate::{validate, PluginReading, Rejection};

/// A plugin's log message is cut to this many bytes: a plugin must not be
/// able to fill the log with one call.
pub const MAX_LOG_LEN: usize = 1024;

/// What the host functions of one instance work with. Leaked, like its
/// `HostApi`: see [`HostContext::leak`].
#[derive(Debug)]
pub(crate) struct HostContext {
    /// The instance's configured name: the `source` of its readings and the
    /// `instance` field of its log lines.
    pub source: String,
    gate: RwLock<Gate>,
    pub counters: Counters,
}

/// Whether `emit` accepts readings, and where they go.
#[derive(Debug)]
struct Gate {
    open: bool,
    /// Dropped when the instance is retired, so the receiver ends once every
    /// instance is done.
    sender: Option<mpsc::Sender<PluginReading>>,
}

impl HostContext {
    /// A context for the instance `source` and the `HostApi` that points at
    /// it, both leaked on purpose: a plugin may keep the table and call
    /// `emit` from its own threads after `stop`, after `destroy`, or while
    /// the host is wedged inside it, and the ABI promises that is safe. No
    /// moment exists at which freeing them would be, and they cost a few
    /// hundred bytes per configured instance for the life of the process.
    /// The gate starts closed.
    pub fn leak(
        source: String,
        sender: mpsc::Sender<PluginReading>,
    ) -> (&'static HostContext, &'static HostApi) {
        let ctx: &'static HostContext = Box::leak(Box::new(HostContext {
            source,
            gate: RwLock::new(Gate {
                open: false,
                sender: Some(sender),
            }),
            counters: Counters::default(),
        }));
        let api: &'static HostApi = Box::leak(Box::new(HostApi {
            size: size_of::<HostApi>() as u32,
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            ctx: ctx as *const HostContext as *mut c_void,
            emit: host_emit,
            log: host_log,
            now_ns: host_now_ns,
        }));
        (ctx, api)
    }

    /// From now on `emit` accepts readings (unless retired).
    pub fn open(&self) {
        self.gate_mut(|gate| gate.open = true);
    }

    /// From now on `emit` refuses with STATUS_STOPPED. Waits only for emits
    /// already in progress, which never block.
    pub fn close(&self) {
        self.gate_mut(|gate| gate.open = false);
    }

    /// Closed for good: the sender is dropped.
    pub fn retire(&self) {
        self.gate_mut(|gate| {
            gate.open = false;
            gate.sender = None;
        });
    }

    fn gate_mut(&self, change: impl FnOnce(&mut Gate)) {
        change(&mut self.gate.write().unwrap_or_else(PoisonError::into_inner));
    }

    /// `emit`'s body. `readings` is `count` readings from the plugin.
    ///
    /// # Safety
    /// As `HostApi::emit`: `readings` points at `count` readings whose
    /// pointers are valid for the call (or is null).
    unsafe fn emit(&self, readings: *const abi::Reading, count: usize) -> Status {
        if count == 0 {
            return STATUS_OK;
        }
        // `try_read` fails only while the host holds the write lock to close
        // the gate, so a refusal then is the truth, and emit never waits.
        let gate = match self.gate.try_read() {
            Ok(gate) => gate,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return self.refuse_stopped(count),
        };
        let sender = match (&gate.open, &gate.sender) {
            (true, Some(sender)) => sender,
            _ => return self.refuse_stopped(count),
        };
        if readings.is_null() {
            self.reject(Rejection::NullPointer);
            return STATUS_REJECTED;
        }
        let now = now_ns();
        let (mut rejected, mut full) = (false, false);
        for i in 0..count {
            // SAFETY: the caller guarantees `count` readings at `readings`;
            // unaligned because a C plugin may pack its array oddly.
            let raw = unsafe { readings.add(i).read_unaligned() };
            // SAFETY: the caller guarantees the reading's pointers.
            match unsafe { validate(&raw, &self.source, now) } {
                Ok(reading) => match sender.try_send(reading) {
                    Ok(()) => {
                        Counters::bump(&self.counters.emitted);
                    }
                    Err(TrySendError::Full(_)) => {
                        full = true;
                        if Counters::bump(&self.counters.dropped_full) == 0 {
                            tracing::warn!(instance = %self.source, "the plugin channel is full: readings are dropped (counted in dropped_full)");
                        }
                    }
                    // The receiver is gone: the agent is shutting down.
                    Err(TrySendError::Closed(_)) => {
                        Counters::bump(&self.counters.after_stop);
                    }
                },
                Err(why) => {
                    rejected = true;
                    self.reject(why);
                }
            }
        }
        // FULL wins over REJECTED: it is the one that asks the plugin to
        // slow down.
        if full {
            STATUS_FULL
        } else if rejected {
            STATUS_REJECTED
        } else {
            STATUS_OK
        }
    }

    fn refuse_stopped(&self, count: usize) -> Status {
        self.counters
            .after_stop
            .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
        STATUS_STOPPED
    }

    fn reject(&self, why: Rejection) {
        // The first of each reason is worth a warning; the rest are counted.
        if Counters::bump(&self.counters.rejected[why.index()]) == 0 {
            tracing::warn!(instance = %self.source, reason = %why, "dropped an invalid reading (further ones for this reason are only counted)");
        } else {
            tracing::debug!(instance = %self.source, reason = %why, "dropped an invalid reading");
        }
    }

    fn log(&self, level: i32, message: &[u8]) {
        let cut = message.len() > MAX_LOG_LEN;
        let text = String::from_utf8_lossy(&message[..message.len().min(MAX_LOG_LEN)]);
        let text = if cut { text + "…" } else { text };
        let instance = self.source.as_str();
        match level {
            i32::MIN..=LOG_ERROR => tracing::error!(instance, "{text}"),
            LOG_WARN => tracing::warn!(instance, "{text}"),
            LOG_INFO => tracing::info!(instance, "{text}"),
            LOG_DEBUG => tracing::debug!(instance, "{text}"),
            _ => tracing::trace!(instance, "{text}"),
        }
    }
}

/// A `HostApi` as a running instance gets it, made without a plugin: for
/// `edge-bench plugins` only, which times `emit` with prebuilt readings and
/// drives a plugin's raw descriptor against the real table, so the host's
/// share of a reading's cost can be told from the plugin's. The agent makes
/// its tables through [`super::PluginHost::start`]; nothing else should
/// use this.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct BenchHostApi {
    /// The table to pass to `create`, or whose `emit` to call.
    pub api: &'static HostApi,
    ctx: &'static HostContext,
}

impl BenchHostApi {
    /// A table for the instance `source`, its gate open, its readings going
    /// to `sender`; leaked like every table.
    pub fn open(source: &str, sender: mpsc::Sender<PluginReading>) -> BenchHostApi {
        let (ctx, api) = HostContext::leak(source.to_owned(), sender);
        ctx.open();
        BenchHostApi { api, ctx }
    }

    /// The counters `emit` keeps (emitted, dropped_full, rejected...).
    pub fn counters(&self) -> CounterSnapshot {
        self.ctx.counters.snapshot()
    }

    /// Closed for good and the sender dropped, so the receiver ends once
    /// drained.
    pub fn retire(&self) {
        self.ctx.retire();
    }
}

/// The host's wall clock in ns since the Unix epoch; 0 before it.
pub(crate) fn now_ns() -> i64 {
    crate::values::wall_clock::unix_ns().max(0)
}

/// # Safety
/// `ctx` must be the one from this instance's `HostApi` (the ABI's rule).
unsafe fn context<'a>(ctx: *mut c_void) -> Option<&'a HostContext> {
    // SAFETY: every `HostApi` points at a leaked, never freed `HostContext`.
    unsafe { (ctx as *const HostContext).as_ref() }
}

unsafe extern "C" fn host_emit(
    ctx: *mut c_void,
    readings: *const abi::Reading,
    count: usize,
) -> Status {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the ABI's promises about `ctx` and `readings`.
        match unsafe { context(ctx) } {
            Some(ctx) => unsafe { ctx.emit(readings, count) },
            None => STATUS_REJECTED,
        }
    }))
    // A bug of ours: the readings are lost, the plugin goes on.
    .unwrap_or(STATUS_REJECTED)
}

unsafe extern "C" fn host_log(ctx: *mut c_void, level: i32, message: *const u8, len: usize) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the ABI's promises about `ctx` and `message`.
        let ctx = unsafe { context(ctx) };
        let message = unsafe { abi::Bytes { ptr: message, len }.as_slice() };
        if let (Some(ctx), Some(message)) = (ctx, message) {
            ctx.log(level, message);
        }
    }));
}

unsafe extern "C" fn host_now_ns(_ctx: *mut c_void) -> i64 {
    catch_unwind(now_ns).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::ffi::c_void;

    use edge_agent_sdk::abi::{
        self, STATUS_FULL, STATUS_OK, STATUS_REJECTED, STATUS_STOPPED, VALUE_I64,
    };
    use tokio::sync::mpsc;

    use super::HostContext;
    use crate::plugin_host::OLDEST_TIMESTAMP_NS;

    /// A reading for the host API tests: an integer named `name`.
    fn raw_reading(name: &'static [u8]) -> abi::Reading {
        abi::Reading {
            name: abi::Bytes::new(name),
            unit: abi::Bytes::EMPTY,
            timestamp_ns: 0,
            kind: VALUE_I64,
            flags: 0,
            number: 0.0,
            integer: 1,
            bytes: abi::Bytes::EMPTY,
            tags: std::ptr::null(),
            tag_count: 0,
        }
    }

    #[test]
    fn emit_follows_the_gate_and_the_channel() {
        let (sender, mut rx) = mpsc::channel(2);
        let (ctx, api) = HostContext::leak("direct".into(), sender);
        let emit = |readings: &[abi::Reading]| {
            // SAFETY: `api` is the host's own table; the readings are live.
            unsafe { (api.emit)(api.ctx, readings.as_ptr(), readings.len()) }
        };
        let good = raw_reading(b"ok");
        assert_eq!(emit(&[good]), STATUS_STOPPED, "closed before opened");
        ctx.open();
        assert_eq!(emit(&[]), STATUS_OK);
        assert_eq!(emit(&[good, raw_reading(b"")]), STATUS_REJECTED);
        assert_eq!(emit(&[good, good]), STATUS_FULL);
        // SAFETY: a null array is refused, not read.
        let null = unsafe { (api.emit)(api.ctx, std::ptr::null(), 3) };
        assert_eq!(null, STATUS_REJECTED);
        ctx.close();
        assert_eq!(emit(&[good]), STATUS_STOPPED);
        ctx.open();
        ctx.retire();
        assert_eq!(emit(&[good]), STATUS_STOPPED, "retired stays closed");
        let counters = ctx.counters.snapshot();
        assert_eq!(counters.dropped_full, 1);
        assert_eq!(counters.after_stop, 3);
        assert_eq!(counters.rejected_total(), 2);
        assert_eq!(rx.try_recv().unwrap().reading.source, "direct");
        assert_eq!(rx.try_recv().unwrap().reading.name, "ok");
        assert!(rx.try_recv().is_err(), "the channel should have ended");
    }

    #[test]
    fn log_and_now_take_anything_without_panicking() {
        let (sender, _rx) = mpsc::channel(1);
        let (_ctx, api) = HostContext::leak("logger".into(), sender);
        let huge: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
        for level in [i32::MIN, 0, 1, 2, 3, 4, 5, 99] {
            // SAFETY: live bytes; a null pointer with a length is refused.
            unsafe {
                (api.log)(api.ctx, level, huge.as_ptr(), huge.len());
                (api.log)(api.ctx, level, std::ptr::null(), 5);
            }
        }
        // SAFETY: the host's own table.
        let now = unsafe { (api.now_ns)(api.ctx) };
        assert!(now > OLDEST_TIMESTAMP_NS);
        // A null context is refused, not dereferenced.
        // SAFETY: exercising the host's own guard.
        let status = unsafe { (api.emit)(std::ptr::null_mut::<c_void>(), std::ptr::null(), 1) };
        assert_eq!(status, STATUS_REJECTED);
    }
}
