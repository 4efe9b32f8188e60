//! The plugin loader against real libraries: the C fixture in
//! `tests/it/plugins/fixture.c`, compiled at test time with the system C
//! compiler (`$CC`, else `cc`) into a temporary directory, one variant per
//! way a plugin can be wrong. And `edge-agent plugin inspect` as a user runs
//! it.
//!
//! This process loads the libraries and never unloads them (neither does
//! the agent), so every test builds its own file under its own name.

// The helpers below are test code too (clippy only exempts `#[test]` bodies):
// a panic in them is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edge_agent::plugin_host::{
    self, sha256_hex, DescriptorError, LoadError, LoadRequest, LoadedPlugin, Pin,
};
use sha2::{Digest, Sha256};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Compiles the fixture with `defines` (`NAME` or `NAME=value`) into
/// `dir/<file_name>`. Fails the test, saying so, when there is no compiler.
fn compile(dir: &Path, file_name: &str, defines: &[&str]) -> PathBuf {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut words = cc.split_whitespace();
    let program = words.next().expect("$CC is empty");
    let output = dir.join(file_name);
    let mut command = Command::new(program);
    command
        .args(words)
        .args(["-shared", "-fPIC", "-Wall", "-o"])
        .arg(&output)
        .arg("-I")
        .arg(repo_file("sdk/include"))
        .arg(repo_file("tests/it/plugins/fixture.c"));
    for define in defines {
        command.arg(format!("-D{define}"));
    }
    let result = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run the C compiler {cc:?} ({e}): these tests build a plugin written in C; \
             install one (e.g. `apt-get install gcc`) or point $CC at it"
        )
    });
    assert!(
        result.status.success(),
        "{cc} failed to build the fixture:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

fn file_sha256(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).unwrap()).into()
}

fn pinned(path: &Path) -> LoadRequest {
    LoadRequest {
        path: path.to_path_buf(),
        pin: Pin::Sha256(file_sha256(path)),
    }
}

/// The load must fail; returns the error and its message.
fn refused(request: &LoadRequest) -> (LoadError, String) {
    match plugin_host::load(request) {
        Ok(loaded) => panic!("loaded although it must be refused: {loaded:?}"),
        Err(e) => {
            let message = e.to_string();
            assert_eq!(e.path(), request.path);
            assert!(
                message.contains(&request.path.display().to_string()),
                "the message does not name the file: {message}"
            );
            (e, message)
        }
    }
}

fn loaded(request: &LoadRequest) -> LoadedPlugin {
    plugin_host::load(request).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_plugin_written_in_c_loads_with_the_name_version_and_abi_of_its_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libgood.so", &[]);
    let plugin = loaded(&pinned(&path));
    assert_eq!(plugin.api.name, "C Fixture");
    assert_eq!(plugin.api.version, "1.2.3");
    assert_eq!((plugin.api.abi_major, plugin.api.abi_minor), (1, 0));
    assert!(plugin.api.can_poll());
    assert!(!plugin.api.can_push());
    assert!(!plugin.api.takes_commands());
    assert_eq!(plugin.sha256, file_sha256(&path));
    assert_eq!(plugin.path, path);
    // What is mapped is the sealed in-memory copy that was hashed, not the
    // file on disk (which could be changed after the check).
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.contains("/memfd:edge-agent-plugin:libgood.so"),
        "no mapping of the sealed copy in /proc/self/maps"
    );
    assert!(
        !maps.contains(&path.display().to_string()),
        "the file itself is mapped"
    );
}

/// Each load is its own memfd, opened as `/proc/self/fd/N`; glibc takes a
/// name it has loaded before for the same library, so a reused fd number
/// would hand back the first plugin.
#[test]
fn plugins_loaded_one_after_the_other_are_each_their_own_library() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..3)
        .map(|i| {
            let name = format!("PLUGIN_NAME=\"sequence-{i}\"");
            let path = compile(dir.path(), &format!("libsequence{i}.so"), &[&name]);
            loaded(&pinned(&path)).api.name
        })
        .collect();
    assert_eq!(names, ["sequence-0", "sequence-1", "sequence-2"]);
}

#[test]
fn a_descriptor_of_another_abi_major_is_refused_saying_which() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libabi2desc.so", &["DESC_ABI_MAJOR=2"]);
    let (error, message) = refused(&pinned(&path));
    assert!(
        matches!(
            error,
            LoadError::Descriptor {
                problem: DescriptorError::AbiMajor { found: 2, .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message.contains("built for plugin ABI 2.0"), "{message}");
}

#[test]
fn a_plugin_exporting_only_the_v2_entry_is_refused_as_built_for_abi_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libabi2.so", &["ENTRY=edge_agent_plugin_v2"]);
    let (error, message) = refused(&pinned(&path));
    assert!(
        matches!(error, LoadError::OtherAbi { major: 2, .. }),
        "{error:?}"
    );
    assert!(
        message.contains("built for plugin ABI 2, this agent speaks 1"),
        "{message}"
    );
}

#[test]
fn a_library_without_an_entry_symbol_is_not_an_edge_agent_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libnoentry.so", &["NO_ENTRY"]);
    let (error, message) = refused(&pinned(&path));
    assert!(matches!(error, LoadError::NoEntry { .. }), "{error:?}");
    assert!(
        message.contains("not an edge-agent plugin: no symbol edge_agent_plugin_v1"),
        "{message}"
    );
}

#[test]
fn a_descriptor_with_a_bad_magic_is_refused_showing_both_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libmagic.so", &["DESC_MAGIC=0x12345678u"]);
    let (error, message) = refused(&pinned(&path));
    assert!(
        matches!(
            error,
            LoadError::Descriptor {
                problem: DescriptorError::Magic { found: 0x1234_5678 },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        message.contains("0x12345678") && message.contains("0x4541504c"),
        "{message}"
    );
}

#[test]
fn a_descriptor_smaller_than_abi_1_0s_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libsmall.so", &["DESC_SIZE=16"]);
    let (error, message) = refused(&pinned(&path));
    assert!(
        matches!(
            error,
            LoadError::Descriptor {
                problem: DescriptorError::TooSmall { found: 16, .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message.contains("says it is 16 bytes"), "{message}");
}

#[test]
fn a_text_file_is_refused_with_dlopens_reason_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libtext.so");
    std::fs::write(&path, "this is not a shared library\n".repeat(10)).unwrap();
    let (error, message) = refused(&pinned(&path));
    assert!(matches!(error, LoadError::NotLoadable { .. }), "{error:?}");
    assert!(
        message.contains("could not be loaded as a shared library")
            && message.contains("invalid ELF header"),
        "{message}"
    );
    assert!(!message.contains("/proc/self/fd"), "{message}");
}

#[test]
fn a_hash_mismatch_is_refused_before_dlopen_runs_any_of_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("constructor-ran");
    let define = format!("MARKER_PATH=\"{}\"", marker.display());
    let path = compile(dir.path(), "libmismatch.so", &[&define]);
    let actual = file_sha256(&path);
    let mut wrong = actual;
    wrong[0] ^= 0xff;
    let (error, message) = refused(&LoadRequest {
        path: path.clone(),
        pin: Pin::Sha256(wrong),
    });
    assert!(matches!(error, LoadError::HashMismatch { .. }), "{error:?}");
    assert!(
        message.contains(&sha256_hex(&wrong))
            && message.contains(&sha256_hex(&actual))
            && message.contains(&format!("edge-agent plugin inspect {}", path.display())),
        "{message}"
    );
    assert!(
        !marker.exists(),
        "the library's constructor ran: it was loaded before the hash was checked"
    );
    // The same file with the right pin does run its constructor, so the
    // marker above could have appeared.
    loaded(&pinned(&path));
    assert!(
        marker.exists(),
        "the constructor did not run on a good load"
    );
}

#[test]
fn a_group_writable_file_is_refused_with_its_mode_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("constructor-ran");
    let define = format!("MARKER_PATH=\"{}\"", marker.display());
    let path = compile(dir.path(), "libgroupw.so", &[&define]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let (error, message) = refused(&pinned(&path));
    assert!(matches!(error, LoadError::Writable { .. }), "{error:?}");
    assert!(
        message.contains("mode 0664: writable by its group")
            && message.contains(&format!("chmod g-w,o-w {}", path.display())),
        "{message}"
    );
    assert!(!marker.exists(), "the refused library was loaded");
}

#[test]
fn an_other_writable_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libotherw.so", &[]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o646)).unwrap();
    let (error, message) = refused(&pinned(&path));
    assert!(matches!(error, LoadError::Writable { .. }), "{error:?}");
    assert!(
        message.contains("mode 0646: writable by others"),
        "{message}"
    );
}

#[test]
fn a_symlink_is_refused_even_to_a_good_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let target = compile(dir.path(), "libtarget.so", &[]);
    let link = dir.path().join("liblink.so");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (error, message) = refused(&LoadRequest {
        path: link,
        pin: Pin::Sha256(file_sha256(&target)),
    });
    assert!(matches!(error, LoadError::Symlink { .. }), "{error:?}");
    assert!(message.contains("is a symbolic link"), "{message}");
}

#[test]
fn a_directory_or_a_missing_file_is_refused_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let (error, message) = refused(&LoadRequest {
        path: dir.path().to_path_buf(),
        pin: Pin::Unpinned,
    });
    assert!(matches!(error, LoadError::NotRegular { .. }), "{error:?}");
    assert!(message.contains("is a directory"), "{message}");
    let (error, message) = refused(&LoadRequest {
        path: dir.path().join("libmissing.so"),
        pin: Pin::Unpinned,
    });
    assert!(matches!(error, LoadError::Open { .. }), "{error:?}");
    assert!(message.contains("No such file"), "{message}");
}

/// A `Write` into a shared buffer, for a tracing subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_unpinned_load_warns_with_the_path_and_the_hash_it_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libunpinned.so", &[]);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let plugin = tracing::subscriber::with_default(subscriber, || {
        loaded(&LoadRequest {
            path: path.clone(),
            pin: Pin::Unpinned,
        })
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN")
            && log.contains("UNPINNED")
            && log.contains(&path.display().to_string())
            && log.contains(&sha256_hex(&plugin.sha256)),
        "{log}"
    );
}

fn edge_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_config_refuses_an_unpinned_plugin_unless_allow_unpinned_and_the_request_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let entry = "[modem]\nport = \"/dev/ttyUSB0\"\n\n[[plugins]]\nname = \"a\"\npath = \"/x.so\"\n";
    std::fs::write(&config, entry).unwrap();
    let out = edge_agent(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:4:1: plugins[0].sha256: required key is missing",
            config.display()
        )),
        "{stderr}"
    );

    std::fs::write(&config, format!("{entry}allow_unpinned = true\n")).unwrap();
    let loaded = edge_agent::config::Config::load(&config).unwrap();
    let request = loaded.plugins[0].entry().request;
    assert_eq!(request.pin, Pin::Unpinned);
    assert_eq!(request.path, Path::new("/x.so"));
}

#[test]
fn inspect_prints_the_sha256_and_an_entry_that_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libinspect.so", &[]);
    let out = edge_agent(&["plugin", "inspect", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hex = sha256_hex(&file_sha256(&path));
    for line in [
        "name:     C Fixture",
        "version:  1.2.3",
        "ABI:      1.0",
        "provides: poll",
        &format!("SHA-256:  {hex}"),
        "name = \"c_fixture\"",
        &format!("path = \"{}\"", path.display()),
        &format!("sha256 = \"{hex}\""),
        "# [plugins.config]",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{stdout}"
        );
    }

    let snippet = &stdout[stdout.find("[[plugins]]").unwrap()..];
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[modem]\nport = \"/dev/ttyUSB0\"\n\n{snippet}"),
    )
    .unwrap();
    let out = edge_agent(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("sha256 = \"{hex}\"")));
    let config = edge_agent::config::Config::load(&config).unwrap();
    let plugin = loaded(&config.plugins[0].entry().request);
    assert_eq!(plugin.api.name, "C Fixture");
}

#[test]
fn inspect_refuses_a_group_writable_file_like_the_agent_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = compile(dir.path(), "libinspectw.so", &[]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = edge_agent(&["plugin", "inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("mode 0664: writable by its group") && stderr.contains("chmod g-w,o-w"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn inspects_help_warns_that_it_runs_the_librarys_code() {
    let out = edge_agent(&["plugin", "inspect", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.contains("runs its initializers") && help.contains("Inspect only files you trust"),
        "{help}"
    );
}
