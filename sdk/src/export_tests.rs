//! Tests of the shims and of `Host`, driven through the C ABI with a fake
//! host table built here: what a real host would see.

use core::ffi::c_void;
use std::sync::Mutex;

use crate::abi::{self, ErrorBuf, HostApi, Status};
use crate::{EmitStatus, Error, Host, Plugin, Reading, Value};

/// A reading as the fake host copied it out of the ABI's layout.
#[derive(Debug, Clone, PartialEq)]
struct Copied {
    name: Vec<u8>,
    unit: Vec<u8>,
    timestamp_ns: i64,
    kind: u32,
    flags: u32,
    number: f64,
    integer: i64,
    bytes: Vec<u8>,
    tags: Vec<(Vec<u8>, Vec<u8>)>,
    /// The tags pointer was null (the ABI asks for null when there are none).
    tags_null: bool,
}

/// The host side of the tests: records what the plugin emits and logs.
struct FakeHost {
    emit_status: Status,
    emitted: Mutex<Vec<Copied>>,
    logs: Mutex<Vec<(i32, String)>>,
}

/// # Safety
/// As `HostApi::emit`.
unsafe fn bytes(b: abi::Bytes) -> Vec<u8> {
    // SAFETY: the plugin's promise.
    unsafe { b.as_slice() }.expect("non-null bytes").to_vec()
}

unsafe extern "C" fn fake_emit(
    ctx: *mut c_void,
    readings: *const abi::Reading,
    count: usize,
) -> Status {
    // SAFETY: `ctx` is the `FakeHost` of the table; the plugin passes a valid array.
    let host = unsafe { &*ctx.cast::<FakeHost>() };
    let readings = unsafe { core::slice::from_raw_parts(readings, count) };
    let mut emitted = host.emitted.lock().unwrap();
    for r in readings {
        let tags = if r.tag_count == 0 {
            Vec::new()
        } else {
            unsafe { core::slice::from_raw_parts(r.tags, r.tag_count) }
                .iter()
                .map(|t| unsafe { (bytes(t.key), bytes(t.value)) })
                .collect()
        };
        emitted.push(Copied {
            name: unsafe { bytes(r.name) },
            unit: unsafe { bytes(r.unit) },
            timestamp_ns: r.timestamp_ns,
            kind: r.kind,
            flags: r.flags,
            number: r.number,
            integer: r.integer,
            bytes: unsafe { bytes(r.bytes) },
            tags,
            tags_null: r.tags.is_null(),
        });
    }
    host.emit_status
}

unsafe extern "C" fn fake_log(ctx: *mut c_void, level: i32, msg: *const u8, len: usize) {
    // SAFETY: as `fake_emit`.
    let host = unsafe { &*ctx.cast::<FakeHost>() };
    let msg = unsafe { core::slice::from_raw_parts(msg, len) };
    let msg = String::from_utf8(msg.to_vec()).expect("log messages are UTF-8");
    host.logs.lock().unwrap().push((level, msg));
}

unsafe extern "C" fn fake_now(_ctx: *mut c_void) -> i64 {
    1_700_000_000_000_000_000
}

/// A fake host and its table, leaked: the ABI promises the plugin a table
/// valid for the life of the process, and threads a test spawns may
/// outlive its assertions.
fn fake_host(emit_status: Status) -> (&'static FakeHost, &'static HostApi) {
    let host: &'static FakeHost = Box::leak(Box::new(FakeHost {
        emit_status,
        emitted: Mutex::new(Vec::new()),
        logs: Mutex::new(Vec::new()),
    }));
    let api: &'static HostApi = Box::leak(Box::new(HostApi {
        size: size_of::<HostApi>() as u32,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        ctx: (host as *const FakeHost).cast_mut().cast(),
        emit: fake_emit,
        log: fake_log,
        now_ns: fake_now,
    }));
    (host, api)
}

/// An error buffer the way the host provides one.
struct Buf {
    storage: Vec<u8>,
    raw: ErrorBuf,
}

impl Buf {
    fn new(capacity: usize) -> Buf {
        let mut storage = vec![0u8; capacity];
        let raw = ErrorBuf {
            buf: storage.as_mut_ptr(),
            capacity,
            len: 0,
        };
        Buf { storage, raw }
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.storage[..self.raw.len]).expect("the SDK writes UTF-8")
    }
}

/// A plugin whose behaviour is its config string: `"<create>/<poll>"`.
struct Scripted {
    host: Host,
    poll: String,
    panic_on_drop: bool,
    stops: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

static STOPS: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicUsize>> =
    std::sync::OnceLock::new();

impl Plugin for Scripted {
    fn create(host: Host, config: &str) -> Result<Self, Error> {
        let (create, poll) = config.split_once('/').unwrap_or((config, ""));
        match create {
            "ok" | "panic_on_drop" => Ok(Scripted {
                host,
                poll: poll.to_owned(),
                panic_on_drop: create == "panic_on_drop",
                stops: STOPS.get_or_init(Default::default).clone(),
            }),
            "bad_config" => Err(Error::config("field `rate`: must be positive")),
            "fail" => Err(Error::new("sensor not found")),
            "panic" => panic!("create blew up"),
            other => Err(Error::config(format!("unknown script {other:?}"))),
        }
    }

    fn poll(&mut self) -> Result<(), Error> {
        match self.poll.as_str() {
            "emit" => {
                let status = self.host.emit_one(&Reading::new("n", Value::I64(7)));
                assert_eq!(status, EmitStatus::Ok);
                Ok(())
            }
            "error" => Err(Error::new("i2c read failed")),
            "panic_str" => panic!("static message"),
            "panic_string" => panic!("formatted {}", 42),
            "panic_other" => std::panic::panic_any(17_u32),
            "long_error" => Err(Error::new("ü".repeat(10))),
            _ => Ok(()),
        }
    }

    fn start(&mut self) -> Result<(), Error> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.stops.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn command(&mut self, command: &[u8]) -> Result<(), Error> {
        self.host
            .info(&format!("command {}", String::from_utf8_lossy(command)));
        Ok(())
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if self.panic_on_drop {
            panic!("drop blew up");
        }
    }
}

/// A plugin that implements only `create`: everything else is the default.
struct Minimal;

impl Plugin for Minimal {
    fn create(_host: Host, _config: &str) -> Result<Self, Error> {
        Ok(Minimal)
    }
}

crate::export_plugin!(Scripted, name = "scripted", version = "1.2.3");

fn descriptor() -> &'static abi::PluginDescriptor {
    // SAFETY: the macro returns a pointer to its static.
    unsafe { &*edge_agent_plugin_v1() }
}

/// Creates an instance of `P` through the shim; returns the status, the
/// instance pointer and the error message.
fn create<P: Plugin>(api: &HostApi, config: &[u8]) -> (Status, *mut c_void, String) {
    let mut buf = Buf::new(256);
    let mut instance: *mut c_void = core::ptr::null_mut();
    // SAFETY: valid pointers for the call.
    let status = unsafe {
        crate::export::create::<P>(
            api,
            config.as_ptr(),
            config.len(),
            &mut instance,
            &mut buf.raw,
        )
    };
    (status, instance, buf.text().to_owned())
}

fn call(
    f: unsafe extern "C" fn(*mut c_void, *mut ErrorBuf) -> Status,
    instance: *mut c_void,
) -> (Status, String) {
    let mut buf = Buf::new(256);
    // SAFETY: `instance` comes from `create` and is not destroyed.
    let status = unsafe { f(instance, &mut buf.raw) };
    (status, buf.text().to_owned())
}

#[test]
fn the_macro_fills_a_valid_descriptor_with_every_function() {
    let d = descriptor();
    assert_eq!(d.magic, abi::MAGIC);
    assert_eq!((d.abi_major, d.abi_minor), (abi::ABI_MAJOR, abi::ABI_MINOR));
    assert_eq!(d.size as usize, size_of::<abi::PluginDescriptor>());
    assert_eq!(d.flags, 0);
    assert_eq!(unsafe { d.name.as_slice() }, Some(&b"scripted"[..]));
    assert_eq!(unsafe { d.version.as_slice() }, Some(&b"1.2.3"[..]));
    assert!(d.create.is_some() && d.destroy.is_some());
    assert!(d.poll.is_some() && d.start.is_some() && d.stop.is_some());
    assert!(d.command.is_some());
}

#[test]
fn create_poll_destroy_round_trip_through_the_descriptor() {
    let (host, api) = fake_host(abi::STATUS_OK);
    let d = descriptor();
    let mut buf = Buf::new(64);
    let mut instance: *mut c_void = core::ptr::null_mut();
    let config = b"ok/emit";
    let status = unsafe {
        (d.create.unwrap())(
            api,
            config.as_ptr(),
            config.len(),
            &mut instance,
            &mut buf.raw,
        )
    };
    assert_eq!(status, abi::STATUS_OK, "{}", buf.text());
    assert!(!instance.is_null());
    for _ in 0..2 {
        assert_eq!(
            call(d.poll.unwrap(), instance),
            (abi::STATUS_OK, String::new())
        );
    }
    let mut buf = Buf::new(64);
    let command = b"reboot";
    let status =
        unsafe { (d.command.unwrap())(instance, command.as_ptr(), command.len(), &mut buf.raw) };
    assert_eq!(status, abi::STATUS_OK);
    unsafe { (d.destroy.unwrap())(instance) };
    assert_eq!(host.emitted.lock().unwrap().len(), 2);
    assert_eq!(
        *host.logs.lock().unwrap(),
        vec![(abi::LOG_INFO, "command reboot".to_owned())]
    );
}

#[test]
fn the_default_methods_return_unsupported() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    let (status, instance, _) = create::<Minimal>(api, b"{}");
    assert_eq!(status, abi::STATUS_OK);
    for f in [
        crate::export::poll::<Minimal>,
        crate::export::start::<Minimal>,
        crate::export::stop::<Minimal>,
    ] {
        assert_eq!(
            call(f, instance),
            (abi::STATUS_UNSUPPORTED, "unsupported".to_owned())
        );
    }
    let mut buf = Buf::new(64);
    let status =
        unsafe { crate::export::command::<Minimal>(instance, core::ptr::null(), 0, &mut buf.raw) };
    assert_eq!(status, abi::STATUS_UNSUPPORTED);
    unsafe { crate::export::destroy::<Minimal>(instance) };
}

#[test]
fn create_reports_errors_config_errors_and_panics() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    let cases: [(&[u8], Status, &str); 4] = [
        (
            b"bad_config",
            abi::STATUS_INVALID_CONFIG,
            "field `rate`: must be positive",
        ),
        (b"fail", abi::STATUS_ERROR, "sensor not found"),
        (b"panic", abi::STATUS_PANICKED, "create blew up"),
        (
            b"ok\xff",
            abi::STATUS_INVALID_CONFIG,
            "create: the configuration is not UTF-8",
        ),
    ];
    for (config, status, message) in cases {
        let (got, instance, text) = create::<Scripted>(api, config);
        assert_eq!(got, status, "config {config:?}: {text}");
        assert!(text.starts_with(message), "config {config:?}: {text:?}");
        assert!(instance.is_null(), "no instance on failure");
    }
}

#[test]
fn poll_reports_errors_and_every_kind_of_panic_payload() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    let cases = [
        ("error", abi::STATUS_ERROR, "i2c read failed"),
        ("panic_str", abi::STATUS_PANICKED, "static message"),
        ("panic_string", abi::STATUS_PANICKED, "formatted 42"),
        (
            "panic_other",
            abi::STATUS_PANICKED,
            "panic with a payload that is not a string",
        ),
    ];
    for (script, status, message) in cases {
        let (created, instance, _) = create::<Scripted>(api, format!("ok/{script}").as_bytes());
        assert_eq!(created, abi::STATUS_OK);
        // Twice: a caught panic leaves the instance callable.
        for _ in 0..2 {
            assert_eq!(
                call(crate::export::poll::<Scripted>, instance),
                (status, message.to_owned()),
                "script {script}"
            );
        }
        unsafe { crate::export::destroy::<Scripted>(instance) };
    }
}

#[test]
fn a_long_message_is_cut_at_a_character_boundary() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    let (_, instance, _) = create::<Scripted>(api, b"ok/long_error");
    // "ü" is two bytes: 7 bytes of capacity hold three of them, not three
    // and a half.
    let mut buf = Buf::new(7);
    let status = unsafe { crate::export::poll::<Scripted>(instance, &mut buf.raw) };
    assert_eq!(status, abi::STATUS_ERROR);
    assert_eq!(buf.raw.len, 6);
    assert_eq!(buf.text(), "üüü");
    // A zero-capacity or null buffer gets nothing and is not overrun.
    let mut empty = ErrorBuf {
        buf: core::ptr::null_mut(),
        capacity: 0,
        len: 99,
    };
    let status = unsafe { crate::export::poll::<Scripted>(instance, &mut empty) };
    assert_eq!((status, empty.len), (abi::STATUS_ERROR, 0));
    unsafe { crate::export::destroy::<Scripted>(instance) };
}

#[test]
fn null_pointers_are_errors_not_crashes() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    let config = b"ok";
    let mut buf = Buf::new(128);
    let mut instance: *mut c_void = core::ptr::null_mut();
    let raw_create = crate::export::create::<Scripted>;
    let status = unsafe {
        raw_create(
            api,
            config.as_ptr(),
            config.len(),
            &mut instance,
            core::ptr::null_mut(),
        )
    };
    assert_eq!(status, abi::STATUS_ERROR);
    let status = unsafe {
        raw_create(
            core::ptr::null(),
            config.as_ptr(),
            config.len(),
            &mut instance,
            &mut buf.raw,
        )
    };
    assert_eq!(
        (status, buf.text()),
        (abi::STATUS_ERROR, "create: the host table is null")
    );
    let status = unsafe { raw_create(api, core::ptr::null(), 0, &mut instance, &mut buf.raw) };
    assert_eq!(
        (status, buf.text()),
        (
            abi::STATUS_ERROR,
            "create: the configuration pointer is null"
        )
    );
    let status = unsafe {
        raw_create(
            api,
            config.as_ptr(),
            config.len(),
            core::ptr::null_mut(),
            &mut buf.raw,
        )
    };
    assert_eq!(
        (status, buf.text()),
        (abi::STATUS_ERROR, "create: the instance pointer is null")
    );
    assert!(instance.is_null());

    assert_eq!(
        call(crate::export::poll::<Scripted>, core::ptr::null_mut()),
        (
            abi::STATUS_ERROR,
            "poll: the instance pointer is null".to_owned()
        )
    );
    let (_, instance, _) = create::<Scripted>(api, b"ok");
    let status = unsafe { crate::export::poll::<Scripted>(instance, core::ptr::null_mut()) };
    assert_eq!(status, abi::STATUS_ERROR);
    let status =
        unsafe { crate::export::command::<Scripted>(instance, core::ptr::null(), 3, &mut buf.raw) };
    assert_eq!(
        (status, buf.text()),
        (abi::STATUS_ERROR, "command: the command pointer is null")
    );
    unsafe { crate::export::destroy::<Scripted>(instance) };
    unsafe { crate::export::destroy::<Scripted>(core::ptr::null_mut()) };
}

#[test]
fn create_refuses_a_host_table_of_another_major_or_too_small() {
    let (_host, api) = fake_host(abi::STATUS_OK);
    for (major, size) in [(2, api.size), (1, api.size - 8)] {
        let odd = HostApi {
            size,
            abi_major: major,
            ..*api
        };
        let (status, instance, text) = create::<Scripted>(&odd, b"ok");
        assert_eq!(status, abi::STATUS_ERROR);
        assert!(text.contains("needs ABI 1"), "{text}");
        assert!(instance.is_null());
    }
}

#[test]
fn destroy_stops_a_running_plugin_and_logs_a_panic_in_drop() {
    let (host, api) = fake_host(abi::STATUS_OK);
    let stops = STOPS.get_or_init(Default::default);
    let (_, instance, _) = create::<Scripted>(api, b"panic_on_drop");
    assert_eq!(
        call(crate::export::start::<Scripted>, instance).0,
        abi::STATUS_OK
    );
    let before = stops.load(std::sync::atomic::Ordering::SeqCst);
    unsafe { crate::export::destroy::<Scripted>(instance) };
    assert!(
        stops.load(std::sync::atomic::Ordering::SeqCst) > before,
        "stop was called"
    );
    assert_eq!(
        *host.logs.lock().unwrap(),
        vec![(abi::LOG_ERROR, "destroy panicked: drop blew up".to_owned())]
    );
}

#[test]
fn emitted_readings_arrive_with_exact_fields() {
    let (host, api) = fake_host(abi::STATUS_OK);
    // SAFETY: a valid table, leaked.
    let h = unsafe { Host::from_raw(api) };
    let tags = [("sensor", "bme280"), ("room", "cellar")];
    let status = h.emit(&[
        Reading::new("temp", Value::F64(21.5)).unit("Cel").at(123),
        Reading::new("count", Value::I64(i64::MIN)).tags(&tags),
        Reading::new("door", Value::Bool(true)).urgent(),
        Reading::new("state", Value::Str("ok")).tags(&tags[1..]),
        Reading::new("blob", Value::Bytes(&[0, 255])),
    ]);
    assert_eq!(status, EmitStatus::Ok);
    let plain = Copied {
        name: Vec::new(),
        unit: Vec::new(),
        timestamp_ns: 0,
        kind: 0,
        flags: 0,
        number: 0.0,
        integer: 0,
        bytes: Vec::new(),
        tags: Vec::new(),
        tags_null: true,
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    };
    let expected = vec![
        Copied {
            name: b"temp".to_vec(),
            unit: b"Cel".to_vec(),
            timestamp_ns: 123,
            kind: abi::VALUE_F64,
            number: 21.5,
            ..plain.clone()
        },
        Copied {
            name: b"count".to_vec(),
            kind: abi::VALUE_I64,
            integer: i64::MIN,
            tags: owned(&tags),
            tags_null: false,
            ..plain.clone()
        },
        Copied {
            name: b"door".to_vec(),
            kind: abi::VALUE_BOOL,
            integer: 1,
            flags: abi::READING_URGENT,
            ..plain.clone()
        },
        Copied {
            name: b"state".to_vec(),
            kind: abi::VALUE_STR,
            bytes: b"ok".to_vec(),
            tags: owned(&tags[1..]),
            tags_null: false,
            ..plain.clone()
        },
        Copied {
            name: b"blob".to_vec(),
            kind: abi::VALUE_BYTES,
            bytes: vec![0, 255],
            ..plain.clone()
        },
    ];
    assert_eq!(*host.emitted.lock().unwrap(), expected);

    host.emitted.lock().unwrap().clear();
    let status = h.emit_one(&Reading::new("off", Value::Bool(false)).tags(&tags[..1]));
    assert_eq!(status, EmitStatus::Ok);
    assert_eq!(
        *host.emitted.lock().unwrap(),
        vec![Copied {
            name: b"off".to_vec(),
            kind: abi::VALUE_BOOL,
            tags: owned(&tags[..1]),
            tags_null: false,
            ..plain
        }]
    );
}

#[test]
fn emit_status_maps_every_host_answer() {
    for (status, expected) in [
        (abi::STATUS_OK, EmitStatus::Ok),
        (abi::STATUS_REJECTED, EmitStatus::Rejected),
        (abi::STATUS_FULL, EmitStatus::Full),
        (abi::STATUS_STOPPED, EmitStatus::Stopped),
        (99, EmitStatus::Unknown(99)),
    ] {
        let (_host, api) = fake_host(status);
        // SAFETY: a valid table, leaked.
        let h = unsafe { Host::from_raw(api) };
        assert_eq!(h.emit_one(&Reading::new("x", Value::I64(1))), expected);
    }
}

#[test]
fn a_host_copy_works_from_other_threads() {
    let (host, api) = fake_host(abi::STATUS_OK);
    // SAFETY: a valid table, leaked.
    let h = unsafe { Host::from_raw(api) };
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                h.emit_one(&Reading::new("t", Value::I64(i)));
                h.warn(&format!("thread {i}"));
                h.now_ns()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 1_700_000_000_000_000_000);
    }
    assert_eq!(host.emitted.lock().unwrap().len(), 4);
    let logs = host.logs.lock().unwrap();
    assert_eq!(logs.len(), 4);
    assert!(logs.iter().all(|(level, _)| *level == abi::LOG_WARN));
}
