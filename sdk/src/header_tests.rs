//! Keeps `include/edge_agent_plugin.h` in step with `abi.rs`: a C program
//! compiled against the header prints the size and offset of every field
//! and the value of every constant, and each line is compared with the Rust
//! side. Adding a field or a constant means adding one row to [`rows`].
//!
//! Also compiles and runs the C plugin of `README.md`, so the guide's
//! example cannot rot.
//!
//! A missing C compiler fails these tests (with a message saying so): the
//! header is part of the ABI, and an unchecked header is a broken promise.

use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::abi;

/// One line the C program prints: `label=value`.
struct Row {
    /// What the line is about, as the C expression that computes it.
    label: String,
    /// The C expression and how `printf` formats it.
    c_value: CValue,
    /// What the Rust side says.
    rust: String,
}

enum CValue {
    /// A number, printed as `long long`.
    Number(String),
    /// A string literal or a macro stringified.
    Text(String),
}

/// The size of field `F` of `T`, named by a projection closure.
fn size_of_field<T, F>(_field: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Rows for one struct: its size, and each field's offset and size.
/// The `exhaustive` pattern makes a field added to the Rust struct without a
/// row here a compile error; a field added to the C struct only changes
/// its size or an offset.
macro_rules! layout {
    ($rows:ident, $c:ident = $rust:path { $($field:ident),+ $(,)? }) => {{
        #[allow(dead_code)]
        fn exhaustive(value: &$rust) {
            let $rust { $($field: _),+ } = value;
        }
        $rows.push(number(
            format!("sizeof({})", stringify!($c)),
            size_of::<$rust>() as i128,
        ));
        $(
            $rows.push(number(
                format!("offsetof({}, {})", stringify!($c), stringify!($field)),
                offset_of!($rust, $field) as i128,
            ));
            $rows.push(number(
                format!("sizeof((({} *)0)->{})", stringify!($c), stringify!($field)),
                size_of_field(|s: &$rust| &s.$field) as i128,
            ));
        )+
    }};
}

/// Rows for `#define`d numbers: `C_NAME = rust_const`.
macro_rules! constants {
    ($rows:ident, $($c:ident = $rust:expr),+ $(,)?) => {
        $( $rows.push(number(stringify!($c).to_owned(), $rust as i128)); )+
    };
}

fn number(label: String, rust: i128) -> Row {
    Row {
        c_value: CValue::Number(label.clone()),
        label,
        rust: rust.to_string(),
    }
}

fn text(label: &str, c_expr: &str, rust: &str) -> Row {
    Row {
        label: label.to_owned(),
        c_value: CValue::Text(c_expr.to_owned()),
        rust: rust.to_owned(),
    }
}

/// Everything the header declares, with the Rust side's value.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    layout!(rows, ea_bytes = abi::Bytes { ptr, len });
    layout!(rows, ea_error_buf = abi::ErrorBuf { buf, capacity, len });
    layout!(rows, ea_tag = abi::Tag { key, value });
    layout!(
        rows,
        ea_reading = abi::Reading {
            name,
            unit,
            timestamp_ns,
            kind,
            flags,
            number,
            integer,
            bytes,
            tags,
            tag_count,
        }
    );
    layout!(
        rows,
        ea_host_api = abi::HostApi {
            size,
            abi_major,
            abi_minor,
            ctx,
            emit,
            log,
            now_ns,
        }
    );
    layout!(
        rows,
        ea_plugin_descriptor = abi::PluginDescriptor {
            magic,
            abi_major,
            abi_minor,
            size,
            flags,
            name,
            version,
            create,
            destroy,
            poll,
            start,
            stop,
            command,
        }
    );
    rows.push(number(
        "sizeof(ea_status)".into(),
        size_of::<abi::Status>() as i128,
    ));
    rows.push(number(
        "sizeof(ea_create_fn)".into(),
        size_of::<abi::CreateFn>() as i128,
    ));
    rows.push(number(
        "sizeof(ea_instance_fn)".into(),
        size_of::<abi::InstanceFn>() as i128,
    ));
    rows.push(number(
        "sizeof(ea_command_fn)".into(),
        size_of::<abi::CommandFn>() as i128,
    ));
    rows.push(number(
        "sizeof(ea_destroy_fn)".into(),
        size_of::<abi::DestroyFn>() as i128,
    ));
    constants!(
        rows,
        EA_ABI_MAJOR = abi::ABI_MAJOR,
        EA_ABI_MINOR = abi::ABI_MINOR,
        EA_MAGIC = abi::MAGIC,
        EA_STATUS_OK = abi::STATUS_OK,
        EA_STATUS_ERROR = abi::STATUS_ERROR,
        EA_STATUS_INVALID_CONFIG = abi::STATUS_INVALID_CONFIG,
        EA_STATUS_UNSUPPORTED = abi::STATUS_UNSUPPORTED,
        EA_STATUS_PANICKED = abi::STATUS_PANICKED,
        EA_STATUS_REJECTED = abi::STATUS_REJECTED,
        EA_STATUS_FULL = abi::STATUS_FULL,
        EA_STATUS_STOPPED = abi::STATUS_STOPPED,
        EA_VALUE_F64 = abi::VALUE_F64,
        EA_VALUE_I64 = abi::VALUE_I64,
        EA_VALUE_BOOL = abi::VALUE_BOOL,
        EA_VALUE_STR = abi::VALUE_STR,
        EA_VALUE_BYTES = abi::VALUE_BYTES,
        EA_READING_URGENT = abi::READING_URGENT,
        EA_LOG_ERROR = abi::LOG_ERROR,
        EA_LOG_WARN = abi::LOG_WARN,
        EA_LOG_INFO = abi::LOG_INFO,
        EA_LOG_DEBUG = abi::LOG_DEBUG,
        EA_LOG_TRACE = abi::LOG_TRACE,
        EA_MAX_NAME_LEN = abi::MAX_NAME_LEN,
        EA_MAX_UNIT_LEN = abi::MAX_UNIT_LEN,
        EA_MAX_VALUE_LEN = abi::MAX_VALUE_LEN,
        EA_MAX_TAGS = abi::MAX_TAGS,
        EA_MAX_TAG_KEY_LEN = abi::MAX_TAG_KEY_LEN,
        EA_MAX_TAG_VALUE_LEN = abi::MAX_TAG_VALUE_LEN,
    );
    let entry = std::str::from_utf8(abi::ENTRY_SYMBOL)
        .expect("ENTRY_SYMBOL is ASCII")
        .trim_end_matches('\0');
    rows.push(text("EA_ENTRY_SYMBOL", "EA_ENTRY_SYMBOL", entry));
    rows.push(text("EA_ENTRY", "EA_STRINGIFY(EA_ENTRY)", entry));
    rows
}

/// The C program that prints every row's C side.
fn c_program(rows: &[Row]) -> String {
    let mut c = String::from(
        "#include <stdio.h>\n\
         #include \"edge_agent_plugin.h\"\n\
         #define EA_STRINGIFY_(x) #x\n\
         #define EA_STRINGIFY(x) EA_STRINGIFY_(x)\n\
         int main(void) {\n",
    );
    for row in rows {
        let line = match &row.c_value {
            CValue::Number(expr) => format!(
                "    printf(\"%s=%lld\\n\", {label:?}, (long long)({expr}));\n",
                label = row.label
            ),
            CValue::Text(expr) => format!(
                "    printf(\"%s=%s\\n\", {label:?}, {expr});\n",
                label = row.label
            ),
        };
        c.push_str(&line);
    }
    c.push_str("    return 0;\n}\n");
    c
}

/// `$CC`, or `cc`.
fn compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// Runs the C compiler with the header's strictest flags plus `args`;
/// fails the test with the compiler's output on an error, and with a clear
/// message when there is no compiler at all.
fn compile(args: &[&str]) {
    let cc = compiler();
    let mut command = Command::new(&cc);
    command
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(include_dir())
        .args(args);
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run the C compiler `{cc}` ({e}). These tests check the C header and the \
             README's C plugin and need one: install a C compiler (e.g. `apt-get install gcc`) \
             or set CC"
        )
    });
    assert!(
        output.status.success(),
        "`{command:?}` failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run(program: &Path) -> String {
    let output = Command::new(program)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the C program prints ASCII")
}

/// Compares the C program's lines with the rows: every difference, missing
/// or extra line is listed.
fn differences(rows: &[Row], c_output: &str) -> Vec<String> {
    let mut c_lines: Vec<(&str, &str)> = c_output
        .lines()
        .map(|line| line.split_once('=').unwrap_or((line, "<no value>")))
        .collect();
    let mut problems = Vec::new();
    for row in rows {
        match c_lines.iter().position(|(label, _)| *label == row.label) {
            Some(i) => {
                let (_, c) = c_lines.remove(i);
                if c != row.rust {
                    problems.push(format!("{}: C says {c}, Rust says {}", row.label, row.rust));
                }
            }
            None => problems.push(format!("{}: the C program printed nothing", row.label)),
        }
    }
    problems.extend(
        c_lines
            .iter()
            .map(|(label, value)| format!("{label}={value}: printed by C, not a row")),
    );
    problems
}

#[test]
fn the_header_matches_the_rust_abi() {
    let rows = rows();
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("layout.c");
    let program = dir.path().join("layout");
    std::fs::write(&source, c_program(&rows)).expect("write layout.c");
    compile(&[
        source.to_str().expect("UTF-8 temp path"),
        "-o",
        program.to_str().expect("UTF-8 temp path"),
    ]);
    let output = run(&program);
    let problems = differences(&rows, &output);
    assert!(
        problems.is_empty(),
        "edge_agent_plugin.h and abi.rs disagree:\n  {}",
        problems.join("\n  ")
    );
    // The rows really reached the comparison (an empty table would pass).
    assert_eq!(output.lines().count(), rows.len());
    assert!(rows.len() > 100, "only {} rows", rows.len());
}

#[test]
fn the_comparison_catches_a_different_value_a_missing_line_and_an_extra_one() {
    let rows = vec![
        number("sizeof(ea_bytes)".into(), 16),
        number("EA_MAX_TAGS".into(), 16),
    ];
    assert!(differences(&rows, "sizeof(ea_bytes)=16\nEA_MAX_TAGS=16\n").is_empty());
    assert_eq!(
        differences(&rows, "sizeof(ea_bytes)=16\nEA_MAX_TAGS=17\nEA_NEW=1\n"),
        vec![
            "EA_MAX_TAGS: C says 17, Rust says 16".to_owned(),
            "EA_NEW=1: printed by C, not a row".to_owned(),
        ]
    );
    assert_eq!(
        differences(&rows, "EA_MAX_TAGS=16\n"),
        vec!["sizeof(ea_bytes): the C program printed nothing".to_owned()]
    );
}

#[test]
fn the_entry_symbol_names_the_major_version() {
    let entry = std::str::from_utf8(abi::ENTRY_SYMBOL).expect("ASCII");
    assert_eq!(
        entry,
        format!("{}{}\0", abi::ENTRY_SYMBOL_PREFIX, abi::ABI_MAJOR)
    );
}

/// The one ```c block of the README: the guide's complete C plugin.
fn readme_c_plugin() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", readme.display()));
    let blocks: Vec<&str> = readme
        .split("\n```c\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().expect("split yields one piece"))
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "README.md must hold exactly one ```c block (the complete C plugin)"
    );
    blocks[0].to_owned()
}

/// A host in C that loads nothing: it links the README's plugin, creates an
/// instance, polls it once and checks what it emitted.
const README_DRIVER: &str = r#"
#include <stdio.h>
#include "edge_agent_plugin.h"

static int emitted;
static int bad;

static ea_status emit(void *ctx, const ea_reading *r, size_t count) {
    size_t i;
    (void)ctx;
    for (i = 0; i < count; i++) {
        if (r[i].name.len == 0 || r[i].kind != EA_VALUE_F64 || !(r[i].number >= 0.0)) {
            bad++;
        }
        printf("reading %.*s=%f\n", (int)r[i].name.len, (const char *)r[i].name.ptr, r[i].number);
        emitted++;
    }
    return EA_STATUS_OK;
}

static void log_(void *ctx, int32_t level, const uint8_t *msg, size_t len) {
    (void)ctx;
    printf("log %d %.*s\n", (int)level, (int)len, (const char *)msg);
}

static int64_t now_ns(void *ctx) {
    (void)ctx;
    return 1;
}

int main(void) {
    static const ea_host_api host = {sizeof(ea_host_api), EA_ABI_MAJOR, EA_ABI_MINOR, NULL,
                                     emit, log_, now_ns};
    const ea_plugin_descriptor *d = EA_ENTRY();
    uint8_t buf[256];
    ea_error_buf err;
    void *instance = NULL;
    const char *config = "{}";
    ea_status status;

    err.buf = buf;
    err.capacity = sizeof buf;
    err.len = 0;
    if (d->magic != EA_MAGIC || d->abi_major != EA_ABI_MAJOR ||
        d->size != sizeof(ea_plugin_descriptor) || !d->create || !d->destroy || !d->poll) {
        printf("bad descriptor\n");
        return 1;
    }
    status = d->create(&host, (const uint8_t *)config, strlen(config), &instance, &err);
    if (status != EA_STATUS_OK) {
        printf("create: %d %.*s\n", (int)status, (int)err.len, (const char *)buf);
        return 1;
    }
    status = d->poll(instance, &err);
    if (status != EA_STATUS_OK) {
        printf("poll: %d %.*s\n", (int)status, (int)err.len, (const char *)buf);
        return 1;
    }
    d->destroy(instance);
    if (emitted == 0 || bad != 0) {
        printf("emitted %d readings, %d bad\n", emitted, bad);
        return 1;
    }
    return 0;
}
"#;

#[test]
fn the_readme_c_plugin_builds_as_a_shared_library_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plugin = dir.path().join("my_sensor.c");
    let driver = dir.path().join("driver.c");
    std::fs::write(&plugin, readme_c_plugin()).expect("write my_sensor.c");
    std::fs::write(&driver, README_DRIVER).expect("write driver.c");
    let path = |p: &Path| p.to_str().expect("UTF-8 temp path").to_owned();

    // The guide's own build command, warnings as errors.
    let library = dir.path().join("libmy_sensor.so");
    compile(&[
        "-shared",
        "-fPIC",
        "-O2",
        "-o",
        &path(&library),
        &path(&plugin),
    ]);
    assert!(library.is_file());

    let program = dir.path().join("driver");
    compile(&[&path(&driver), &path(&plugin), "-o", &path(&program)]);
    let output = run(&program);
    assert!(output.contains("reading "), "{output}");
}
