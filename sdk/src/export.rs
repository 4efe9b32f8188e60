//! `export_plugin!` and the C-ABI shims it points the descriptor at.
//!
//! Each shim is generic over the [`Plugin`] type: it checks the host's
//! pointers, runs the plugin's method inside `catch_unwind`, and turns the
//! outcome into a status code plus a message in the host's `ErrorBuf`.
//! Nothing unwinds out of a shim and no pointer from the host is trusted
//! before it is checked for null.

use core::ffi::c_void;
use std::any::Any;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::{
    self, ErrorBuf, HostApi, PluginDescriptor, Status, STATUS_ERROR, STATUS_INVALID_CONFIG,
    STATUS_OK, STATUS_PANICKED, STATUS_UNSUPPORTED,
};
use crate::host::Host;
use crate::plugin::{Error, Plugin};

#[cfg(panic = "abort")]
compile_error!(
    "edge-agent-sdk needs `panic = \"unwind\"`: the SDK catches a plugin's panics at the C \
     boundary and reports them to the agent as STATUS_PANICKED. With panic = \"abort\" a \
     panicking plugin would abort the whole agent process (and every other plugin with it). \
     Remove `panic = \"abort\"` from the profile that builds this plugin."
);

/// Exports a [`Plugin`] implementation as an edge-agent plugin: a static
/// descriptor and the entry symbol `edge_agent_plugin_v1` returning it.
///
/// ```ignore
/// edge_agent_sdk::export_plugin!(MySensor, name = "my_sensor", version = env!("CARGO_PKG_VERSION"));
/// ```
///
/// Use it once per library (the entry symbol is unmangled). Every function
/// of the descriptor is filled; a method the plugin does not override
/// returns `STATUS_UNSUPPORTED`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty, name = $name:expr, version = $version:expr $(,)?) => {
        /// The entry point the agent looks up: this plugin's descriptor.
        #[unsafe(no_mangle)]
        pub extern "C" fn edge_agent_plugin_v1() -> *const $crate::abi::PluginDescriptor {
            static DESCRIPTOR: $crate::abi::PluginDescriptor =
                $crate::export::descriptor::<$plugin>($name, $version);
            &DESCRIPTOR
        }
    };
}

/// The descriptor of plugin `P` named `name` at `version`, every function
/// pointing at `P`'s shims. Called by `export_plugin!` in a `static`.
#[doc(hidden)]
pub const fn descriptor<P: Plugin>(name: &'static str, version: &'static str) -> PluginDescriptor {
    PluginDescriptor {
        magic: abi::MAGIC,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        size: size_of::<PluginDescriptor>() as u32,
        flags: 0,
        name: abi::Bytes::new(name.as_bytes()),
        version: abi::Bytes::new(version.as_bytes()),
        create: Some(create::<P>),
        destroy: Some(destroy::<P>),
        poll: Some(poll::<P>),
        start: Some(start::<P>),
        stop: Some(stop::<P>),
        command: Some(command::<P>),
    }
}

/// What the SDK allocates per instance: the plugin and what the shims need
/// beside it. `destroy` has only the instance pointer, yet must be able to
/// stop a running plugin and log a panic, hence the host and `running` here.
struct Instance<P> {
    host: Host,
    /// `start` succeeded and `stop` has not been called since.
    running: bool,
    plugin: P,
}

/// `create`: checks the host's pointers, reads the config as UTF-8, runs
/// `P::create` and boxes the result into `*instance`.
///
/// # Safety
/// The ABI's `CreateFn` contract: non-null pointers point at what they say
/// (`config_json` at `config_len` bytes), valid for the call; `host` for the
/// life of the process.
#[doc(hidden)]
pub unsafe extern "C" fn create<P: Plugin>(
    host: *const HostApi,
    config_json: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    err: *mut ErrorBuf,
) -> Status {
    if err.is_null() {
        return STATUS_ERROR;
    }
    // SAFETY: non-null; the host owns the buffer for the call.
    let err = unsafe { &mut *err };
    if instance.is_null() {
        return fail(err, STATUS_ERROR, "create: the instance pointer is null");
    }
    if host.is_null() {
        return fail(err, STATUS_ERROR, "create: the host table is null");
    }
    // SAFETY: non-null; the first fields of every `HostApi` version are
    // these, so reading them is valid before the size is known.
    let (size, major) = unsafe { ((*host).size, (*host).abi_major) };
    if major != abi::ABI_MAJOR || (size as usize) < size_of::<HostApi>() {
        return fail(
            err,
            STATUS_ERROR,
            &format!(
                "create: the host table is ABI {major} with {size} bytes; this plugin needs ABI {} \
                 with at least {} bytes",
                abi::ABI_MAJOR,
                size_of::<HostApi>()
            ),
        );
    }
    if config_json.is_null() {
        return fail(
            err,
            STATUS_ERROR,
            "create: the configuration pointer is null",
        );
    }
    // SAFETY: non-null, `config_len` bytes valid for the call (contract).
    let config = unsafe { core::slice::from_raw_parts(config_json, config_len) };
    let config = match std::str::from_utf8(config) {
        Ok(config) => config,
        Err(e) => {
            return fail(
                err,
                STATUS_INVALID_CONFIG,
                &format!("create: the configuration is not UTF-8: {e}"),
            )
        }
    };
    // SAFETY: checked above: non-null, ABI 1, large enough; valid forever.
    let host = unsafe { Host::from_raw(host) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        P::create(host, config).map(|plugin| {
            Box::into_raw(Box::new(Instance {
                host,
                running: false,
                plugin,
            }))
        })
    }));
    match outcome {
        Ok(Ok(boxed)) => {
            // SAFETY: non-null, the host's slot for the call.
            unsafe { *instance = boxed.cast::<c_void>() };
            STATUS_OK
        }
        Ok(Err(error)) => {
            // `create` may only fail with ERROR or INVALID_CONFIG.
            let status = match error.status() {
                STATUS_INVALID_CONFIG => STATUS_INVALID_CONFIG,
                _ => STATUS_ERROR,
            };
            fail(err, status, &describe(&error))
        }
        Err(payload) => fail(err, STATUS_PANICKED, &panic_message(payload)),
    }
}

/// `poll`.
///
/// # Safety
/// `instance` is null or what this `create::<P>` stored, not destroyed;
/// `err` is null or valid for the call.
#[doc(hidden)]
pub unsafe extern "C" fn poll<P: Plugin>(instance: *mut c_void, err: *mut ErrorBuf) -> Status {
    // SAFETY: forwarded contract.
    unsafe { call::<P>(instance, err, "poll", |i| i.plugin.poll()) }
}

/// `start`; remembers success so that `destroy` can stop the plugin.
///
/// # Safety
/// As [`poll`].
#[doc(hidden)]
pub unsafe extern "C" fn start<P: Plugin>(instance: *mut c_void, err: *mut ErrorBuf) -> Status {
    // SAFETY: forwarded contract.
    unsafe {
        call::<P>(instance, err, "start", |i| {
            i.plugin.start()?;
            i.running = true;
            Ok(())
        })
    }
}

/// `stop`.
///
/// # Safety
/// As [`poll`].
#[doc(hidden)]
pub unsafe extern "C" fn stop<P: Plugin>(instance: *mut c_void, err: *mut ErrorBuf) -> Status {
    // SAFETY: forwarded contract.
    unsafe {
        call::<P>(instance, err, "stop", |i| {
            // Whatever stop returns, it was asked once; destroy does not
            // ask again.
            i.running = false;
            i.plugin.stop()
        })
    }
}

/// `command`.
///
/// # Safety
/// As [`poll`], and `command` points at `command_len` readable bytes (or is
/// null with `command_len` 0).
#[doc(hidden)]
pub unsafe extern "C" fn command<P: Plugin>(
    instance: *mut c_void,
    command: *const u8,
    command_len: usize,
    err: *mut ErrorBuf,
) -> Status {
    // SAFETY: the caller's promise; `as_slice` refuses null with a length.
    let bytes = unsafe {
        abi::Bytes {
            ptr: command,
            len: command_len,
        }
        .as_slice()
    };
    // SAFETY: forwarded contract.
    unsafe {
        call::<P>(instance, err, "command", |i| match bytes {
            Some(bytes) => i.plugin.command(bytes),
            None => Err(Error::new("command: the command pointer is null")),
        })
    }
}

/// `destroy`: stops a still running plugin, then drops it. Returns nothing,
/// so a failure or panic here is logged through the host and swallowed.
///
/// # Safety
/// `instance` is null or what this `create::<P>` stored, not yet destroyed.
#[doc(hidden)]
pub unsafe extern "C" fn destroy<P: Plugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: `create::<P>` boxed an `Instance<P>`; the host gives it back
    // once.
    let boxed = unsafe { Box::from_raw(instance.cast::<Instance<P>>()) };
    let host = boxed.host;
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let mut boxed = boxed;
        let stopped = if boxed.running {
            boxed.running = false;
            boxed.plugin.stop()
        } else {
            Ok(())
        };
        drop(boxed);
        stopped
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) if error.status() == STATUS_UNSUPPORTED => {}
        Ok(Err(error)) => host.error(&format!("destroy: stop failed: {}", describe(&error))),
        Err(payload) => host.error(&format!("destroy panicked: {}", panic_message(payload))),
    }
}

/// Runs `f` on the instance behind `instance` with panics caught; `what`
/// names the call in messages.
///
/// # Safety
/// As [`poll`].
unsafe fn call<P: Plugin>(
    instance: *mut c_void,
    err: *mut ErrorBuf,
    what: &str,
    f: impl FnOnce(&mut Instance<P>) -> Result<(), Error>,
) -> Status {
    if err.is_null() {
        return STATUS_ERROR;
    }
    // SAFETY: non-null; the host owns the buffer for the call.
    let err = unsafe { &mut *err };
    if instance.is_null() {
        return fail(
            err,
            STATUS_ERROR,
            &format!("{what}: the instance pointer is null"),
        );
    }
    // SAFETY: `create::<P>` boxed an `Instance<P>`; the host calls one
    // instance from one thread at a time, so this is the only reference.
    let instance = unsafe { &mut *instance.cast::<Instance<P>>() };
    match catch_unwind(AssertUnwindSafe(|| f(instance))) {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(error)) => {
            // INVALID_CONFIG is `create`'s alone; elsewhere it is a failure.
            let status = match error.status() {
                STATUS_UNSUPPORTED => STATUS_UNSUPPORTED,
                _ => STATUS_ERROR,
            };
            fail(err, status, &describe(&error))
        }
        Err(payload) => fail(err, STATUS_PANICKED, &panic_message(payload)),
    }
}

/// The message the host gets for `error`.
fn describe(error: &Error) -> String {
    error.to_string()
}

/// Writes `message` into `err` and returns `status`.
fn fail(err: &mut ErrorBuf, status: Status, message: &str) -> Status {
    write_error(err, message);
    status
}

/// Copies as much of `message` into `err` as fits, cut at a character
/// boundary so the host always receives valid UTF-8.
pub(crate) fn write_error(err: &mut ErrorBuf, message: &str) {
    if err.buf.is_null() {
        err.len = 0;
        return;
    }
    let mut n = message.len().min(err.capacity);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: `buf` holds `capacity` writable bytes (the host's buffer) and
    // `n <= capacity`; a plugin's message never overlaps the host's buffer.
    unsafe { core::ptr::copy_nonoverlapping(message.as_ptr(), err.buf, n) };
    err.len = n;
}

/// The text of a panic payload (`panic!("...")` carries a `&str` or a
/// `String`). Dropping the payload runs arbitrary code, which may panic in
/// turn; that second panic is caught and its payload leaked, so nothing
/// escapes.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a payload that is not a string".to_owned()
    };
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    message
}
