//! A fake agent for the plugins' ABI tests: a `HostApi` that records what a
//! plugin emits and logs, and a driver that calls a descriptor's functions
//! the way the plugin host does. Shared by the plugins' `tests/` through
//! `#[path]`, so the tests go through the same C ABI as the agent, without
//! depending on the agent.

// Test code: clippy only exempts `#[test]` bodies from these.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)] // each plugin's tests use a different part

use std::ffi::c_void;
use std::sync::Mutex;

use edge_agent_sdk::abi::{
    Bytes, ErrorBuf, HostApi, PluginDescriptor, Reading, Status, Tag, ABI_MAJOR, ABI_MINOR,
    STATUS_OK, VALUE_BOOL, VALUE_BYTES, VALUE_F64, VALUE_I64, VALUE_STR,
};

/// A reading as the fake host copied it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub name: String,
    pub unit: String,
    pub timestamp_ns: i64,
    pub value: RecordedValue,
    pub flags: u32,
    pub tags: Vec<(String, String)>,
}

/// The value of a [`Recorded`] reading.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedValue {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
}

/// What the plugin did through the host table.
#[derive(Debug, Default)]
pub struct Record {
    pub readings: Vec<Recorded>,
    /// Number of `emit` calls.
    pub emits: usize,
    pub logs: Vec<(i32, String)>,
}

struct Shared {
    record: Mutex<Record>,
    now_ns: i64,
}

/// A host table and what went through it. Leaked: the ABI says a host
/// table lives as long as the process.
pub struct FakeHost {
    api: &'static HostApi,
    shared: &'static Shared,
}

impl FakeHost {
    /// A host whose clock always says `now_ns`.
    pub fn new(now_ns: i64) -> FakeHost {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            record: Mutex::new(Record::default()),
            now_ns,
        }));
        let api: &'static HostApi = Box::leak(Box::new(HostApi {
            size: std::mem::size_of::<HostApi>() as u32,
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            ctx: shared as *const Shared as *mut c_void,
            emit,
            log,
            now_ns: clock,
        }));
        FakeHost { api, shared }
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Record {
        std::mem::take(&mut *self.shared.record.lock().unwrap())
    }
}

fn text(bytes: Bytes) -> String {
    // SAFETY: the plugin passes valid slices for the call.
    let slice = unsafe { bytes.as_slice() }.expect("null pointer with a length");
    String::from_utf8(slice.to_vec()).expect("not UTF-8")
}

unsafe extern "C" fn emit(ctx: *mut c_void, readings: *const Reading, count: usize) -> Status {
    // SAFETY: ctx is the leaked `Shared`; the plugin passes `count` readings.
    let shared = unsafe { &*(ctx as *const Shared) };
    let readings = unsafe { std::slice::from_raw_parts(readings, count) };
    let mut record = shared.record.lock().unwrap();
    record.emits += 1;
    for r in readings {
        let value = match r.kind {
            VALUE_F64 => RecordedValue::F64(r.number),
            VALUE_I64 => RecordedValue::I64(r.integer),
            VALUE_BOOL => RecordedValue::Bool(r.integer != 0),
            VALUE_STR => RecordedValue::Str(text(r.bytes)),
            VALUE_BYTES => {
                // SAFETY: as in `text`.
                let bytes = unsafe { r.bytes.as_slice() }.expect("null bytes");
                RecordedValue::Bytes(bytes.to_vec())
            }
            other => panic!("unknown value kind {other}"),
        };
        let tags: &[Tag] = if r.tag_count == 0 {
            &[]
        } else {
            // SAFETY: `tag_count` tags at `tags` for the call.
            unsafe { std::slice::from_raw_parts(r.tags, r.tag_count) }
        };
        record.readings.push(Recorded {
            name: text(r.name),
            unit: text(r.unit),
            timestamp_ns: r.timestamp_ns,
            value,
            flags: r.flags,
            tags: tags.iter().map(|t| (text(t.key), text(t.value))).collect(),
        });
    }
    STATUS_OK
}

unsafe extern "C" fn log(ctx: *mut c_void, level: i32, msg: *const u8, len: usize) {
    // SAFETY: as in `emit`.
    let shared = unsafe { &*(ctx as *const Shared) };
    let message = text(Bytes { ptr: msg, len });
    shared.record.lock().unwrap().logs.push((level, message));
}

unsafe extern "C" fn clock(ctx: *mut c_void) -> i64 {
    // SAFETY: as in `emit`.
    unsafe { &*(ctx as *const Shared) }.now_ns
}

/// One plugin instance, created through the descriptor and destroyed when
/// dropped.
pub struct Instance {
    descriptor: &'static PluginDescriptor,
    instance: *mut c_void,
}

/// A call's failure: the status and the plugin's message.
pub type Failure = (Status, String);

fn call(f: impl FnOnce(*mut ErrorBuf) -> Status) -> Result<(), Failure> {
    let mut buf = vec![0u8; 1024];
    let mut err = ErrorBuf {
        buf: buf.as_mut_ptr(),
        capacity: buf.len(),
        len: 0,
    };
    let status = f(&mut err);
    let message = String::from_utf8(buf[..err.len].to_vec()).expect("error not UTF-8");
    if status == STATUS_OK {
        Ok(())
    } else {
        Err((status, message))
    }
}

impl Instance {
    /// Creates an instance of `entry`'s plugin with `config` (JSON).
    pub fn create(
        entry: extern "C" fn() -> *const PluginDescriptor,
        host: &FakeHost,
        config: &str,
    ) -> Result<Instance, Failure> {
        // SAFETY: the plugin's descriptor is a static.
        let descriptor = unsafe { &*entry() };
        let create = descriptor.create.expect("no create");
        let mut config = config.as_bytes().to_vec();
        let len = config.len();
        config.push(0);
        let mut instance = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the host table forever.
        call(|err| unsafe { create(host.api, config.as_ptr(), len, &mut instance, err) })?;
        Ok(Instance {
            descriptor,
            instance,
        })
    }

    /// The descriptor's name and version.
    pub fn name_and_version(&self) -> (String, String) {
        (text(self.descriptor.name), text(self.descriptor.version))
    }

    pub fn poll(&mut self) -> Result<(), Failure> {
        let poll = self.descriptor.poll.expect("no poll");
        // SAFETY: the live instance this descriptor created.
        call(|err| unsafe { poll(self.instance, err) })
    }

    pub fn start(&mut self) -> Result<(), Failure> {
        let start = self.descriptor.start.expect("no start");
        // SAFETY: as in `poll`.
        call(|err| unsafe { start(self.instance, err) })
    }

    pub fn stop(&mut self) -> Result<(), Failure> {
        let stop = self.descriptor.stop.expect("no stop");
        // SAFETY: as in `poll`.
        call(|err| unsafe { stop(self.instance, err) })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let destroy = self.descriptor.destroy.expect("no destroy");
        // SAFETY: created by this descriptor, destroyed once.
        unsafe { destroy(self.instance) };
    }
}
