//! The C ABI between the agent and a plugin, as `#[repr(C)]` Rust types.
//!
//! `include/edge_agent_plugin.h` declares the same types for C; a test
//! (`header_tests.rs`) compiles a C program against the header and compares
//! every size, offset and constant with the definitions here.
//!
//! # The contract
//!
//! - A plugin exports one function, [`ENTRY_SYMBOL`] (`edge_agent_plugin_v1`),
//!   returning a pointer to a static [`PluginDescriptor`]. The ABI major
//!   version is part of the name, so a plugin built for another major is a
//!   missing symbol to this agent, never a misread struct.
//! - Structures only grow at their end between minor versions. Each one that
//!   may grow carries its own size (`size`), so the reader knows which fields
//!   the writer knew about; a field beyond `size` is absent.
//! - Nothing allocated on one side is freed on the other. Strings and byte
//!   slices are borrowed ([`Bytes`]: pointer + length, no NUL needed) and only
//!   valid for the duration of the call that passes them; the host copies
//!   everything it keeps before returning.
//! - No panic and no C++ exception crosses the boundary: the SDK's
//!   `export_plugin!` catches panics and returns [`STATUS_PANICKED`].
//! - Threads: the host calls one instance's `create`, `poll`, `start`, `stop`,
//!   `command` and `destroy` from one thread, one call at a time. The host
//!   functions in [`HostApi`] may be called from any thread, concurrently,
//!   from the start of `create` on; they never block. After `destroy` returns
//!   they still are safe to call (the host never frees a `HostApi` it gave
//!   out) but refuse everything.
//! - The host never unloads a library (`dlclose` is never called), so
//!   function pointers and `'static` data stay valid for the process's life.

use core::ffi::c_void;

/// Major ABI version: part of the entry symbol's name.
pub const ABI_MAJOR: u16 = 1;

/// Minor ABI version: structures only grow at their end between minors.
pub const ABI_MINOR: u16 = 0;

/// The exported entry symbol, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"edge_agent_plugin_v1\0";

/// Prefix of every major's entry symbol (`edge_agent_plugin_v<major>`), so
/// the host can say which major a refused plugin was built for.
pub const ENTRY_SYMBOL_PREFIX: &str = "edge_agent_plugin_v";

/// First field of every descriptor: "EAPL" read as a big-endian `u32`.
/// Tells a descriptor from whatever else a wrong pointer may point at.
pub const MAGIC: u32 = 0x4541_504C;

/// Return value of every plugin function and of [`HostApi::emit`].
pub type Status = i32;

/// Success.
pub const STATUS_OK: Status = 0;
/// The call failed; the error message says why. The host backs off.
pub const STATUS_ERROR: Status = 1;
/// `create` only: the configuration is wrong. The host does not retry.
pub const STATUS_INVALID_CONFIG: Status = 2;
/// The plugin does not do this (`poll` on a push-only sensor, `start` on a
/// poll-only one, `command` on a plugin without commands). Not an error.
pub const STATUS_UNSUPPORTED: Status = 3;
/// The plugin panicked; the SDK caught it at the boundary.
pub const STATUS_PANICKED: Status = 4;
/// `emit` only: at least one reading was invalid and dropped (the host logs
/// why); the others were accepted.
pub const STATUS_REJECTED: Status = 5;
/// `emit` only: the host's queue was full; the readings were dropped and
/// counted. The plugin should not retry them in a loop.
pub const STATUS_FULL: Status = 6;
/// `emit` only: the instance is not running (before `start` of a push-style
/// sensor, after `stop`, after `destroy`, or once the host has given up on
/// it because a call ran past its deadline); the readings were dropped.
pub const STATUS_STOPPED: Status = 7;

/// `Reading::kind`: the value is `number`.
pub const VALUE_F64: u32 = 0;
/// `Reading::kind`: the value is `integer`.
pub const VALUE_I64: u32 = 1;
/// `Reading::kind`: the value is `integer != 0`.
pub const VALUE_BOOL: u32 = 2;
/// `Reading::kind`: the value is `bytes`, which must be UTF-8.
pub const VALUE_STR: u32 = 3;
/// `Reading::kind`: the value is `bytes`, opaque.
pub const VALUE_BYTES: u32 = 4;

/// `Reading::flags`: upload this reading without waiting for the next
/// upload window (an alarm, a door opened).
pub const READING_URGENT: u32 = 1;

/// `HostApi::log` levels (the same order as `tracing`'s).
pub const LOG_ERROR: i32 = 1;
pub const LOG_WARN: i32 = 2;
pub const LOG_INFO: i32 = 3;
pub const LOG_DEBUG: i32 = 4;
pub const LOG_TRACE: i32 = 5;

/// A borrowed byte slice: `len` bytes at `ptr`. `ptr` may be null when
/// `len` is 0. Text is UTF-8 (the host checks), without a terminating NUL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Bytes {
    pub ptr: *const u8,
    pub len: usize,
}

impl Bytes {
    /// The empty slice.
    pub const EMPTY: Bytes = Bytes {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Borrows `bytes` (usable in `const` context, for the descriptor).
    pub const fn new(bytes: &[u8]) -> Bytes {
        Bytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes, or `None` when `ptr` is null and `len` is not 0.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes that stay valid and unchanged
    /// for `'a`.
    pub unsafe fn as_slice<'a>(self) -> Option<&'a [u8]> {
        if self.len == 0 {
            Some(&[])
        } else if self.ptr.is_null() {
            None
        } else {
            // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
            Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
        }
    }
}

/// A buffer the host owns and the plugin writes an error message into:
/// at most `capacity` bytes of UTF-8 at `buf`, then the count in `len`.
/// A longer message is cut by the plugin (the SDK cuts at a character
/// boundary).
#[repr(C)]
#[derive(Debug)]
pub struct ErrorBuf {
    pub buf: *mut u8,
    pub capacity: usize,
    pub len: usize,
}

/// One extra dimension of a reading (`sensor = "bme280"`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Tag {
    pub key: Bytes,
    pub value: Bytes,
}

/// One reading, as a plugin emits it. The value is in the field `kind`
/// names; the other value fields are ignored.
///
/// This layout is fixed for ABI 1 (readings travel in arrays, so it carries
/// no size); a later minor that needs more adds a new emit function to
/// [`HostApi`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// What was measured (`thermal_zone0/temp`): UTF-8, 1 to
    /// [`MAX_NAME_LEN`] bytes.
    pub name: Bytes,
    /// SenML unit (`Cel`, `V`, `%`): UTF-8, up to [`MAX_UNIT_LEN`] bytes;
    /// empty for none.
    pub unit: Bytes,
    /// When it was sampled, ns since the Unix epoch (UTC); 0 means "now"
    /// (the host stamps it when `emit` is called).
    pub timestamp_ns: i64,
    /// One of `VALUE_*`.
    pub kind: u32,
    /// `READING_*` bits; unknown bits are ignored.
    pub flags: u32,
    /// The value of a `VALUE_F64` reading: finite.
    pub number: f64,
    /// The value of a `VALUE_I64` reading, or of a `VALUE_BOOL` one (0 false).
    pub integer: i64,
    /// The value of a `VALUE_STR` (UTF-8) or `VALUE_BYTES` reading, up to
    /// [`MAX_VALUE_LEN`] bytes.
    pub bytes: Bytes,
    /// `tag_count` tags at `tags` (null when 0), at most [`MAX_TAGS`].
    pub tags: *const Tag,
    pub tag_count: usize,
}

/// Limits the host enforces on each reading; a reading beyond them is
/// dropped and counted, never cut (a cut name would be another series).
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_UNIT_LEN: usize = 32;
pub const MAX_VALUE_LEN: usize = 4096;
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_KEY_LEN: usize = 64;
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The host's side: functions a plugin may call. One table per instance,
/// passed to `create`; valid for the life of the process.
///
/// Append-only (SQLite's loadable-extension style): a later minor adds
/// fields at the end, and a plugin checks `size` before using one added
/// after the minor it was built for.
#[repr(C)]
#[derive(Debug)]
pub struct HostApi {
    /// `size_of::<HostApi>()` as the host was built.
    pub size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    /// Passed back as the first argument of every function below.
    pub ctx: *mut c_void,
    /// Hands `count` readings to the host, which validates and copies them
    /// before returning and never blocks: returns `STATUS_OK`,
    /// `STATUS_REJECTED`, `STATUS_FULL` or `STATUS_STOPPED`.
    pub emit:
        unsafe extern "C" fn(ctx: *mut c_void, readings: *const Reading, count: usize) -> Status,
    /// Logs `len` bytes of UTF-8 at `level` (`LOG_*`) under the instance's name.
    pub log: unsafe extern "C" fn(ctx: *mut c_void, level: i32, msg: *const u8, len: usize),
    /// The host's wall clock, ns since the Unix epoch (UTC).
    pub now_ns: unsafe extern "C" fn(ctx: *mut c_void) -> i64,
}

/// `create`: a new instance configured by `config_json` (the instance's
/// `[plugins.config]` table as a JSON object, UTF-8, `config_len` bytes; the
/// byte after them is a NUL, so C may treat it as a string). On success it
/// stores the instance in `*instance` and returns `STATUS_OK`; on failure it
/// writes a message to `err` and returns `STATUS_INVALID_CONFIG` or
/// `STATUS_ERROR`. `host` stays valid for the life of the process.
pub type CreateFn = unsafe extern "C" fn(
    host: *const HostApi,
    config_json: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    err: *mut ErrorBuf,
) -> Status;

/// `poll`, `start`, `stop`: sample once (emitting through the host), start a
/// push-style sensor's own activity, stop it (after `stop` returns the
/// plugin emits nothing more).
pub type InstanceFn = unsafe extern "C" fn(instance: *mut c_void, err: *mut ErrorBuf) -> Status;

/// `command`: a downlink command addressed to this instance (opaque bytes,
/// usually JSON).
pub type CommandFn = unsafe extern "C" fn(
    instance: *mut c_void,
    command: *const u8,
    command_len: usize,
    err: *mut ErrorBuf,
) -> Status;

/// `destroy`: frees the instance (stopping it first if it runs). The host
/// calls it once and never uses the instance again.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// What a plugin is and what it can do, returned by [`ENTRY_SYMBOL`].
/// A static in the plugin, never written after it is returned.
///
/// Append-only: `size` is `size_of::<PluginDescriptor>()` as the plugin was
/// built; the host reads only the fields that fit in it.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    /// [`MAGIC`].
    pub magic: u32,
    /// The ABI the plugin was built against.
    pub abi_major: u16,
    pub abi_minor: u16,
    pub size: u32,
    /// Reserved, 0.
    pub flags: u32,
    /// The plugin's name (`sysfs`) and version (`1.2.0`): UTF-8.
    pub name: Bytes,
    pub version: Bytes,
    /// Required: `create` and `destroy`. Optional (null): `poll` for a
    /// push-only sensor, `start`/`stop` for a poll-only one, `command`.
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    pub poll: Option<InstanceFn>,
    pub start: Option<InstanceFn>,
    pub stop: Option<InstanceFn>,
    pub command: Option<CommandFn>,
}

// SAFETY: a descriptor is immutable static data: the pointers in it point at
// other immutable statics (name, version) and at functions.
unsafe impl Sync for PluginDescriptor {}

// SAFETY: a `HostApi` is never written after the host hands it out, and its
// functions may be called from any thread (the contract above).
unsafe impl Sync for HostApi {}
unsafe impl Send for HostApi {}

/// The type of the entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDescriptor;
