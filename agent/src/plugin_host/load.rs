//! Loading one plugin library: from a path and a pin to a checked
//! [`PluginApi`], or a [`LoadError`] that names the path, says what was
//! found and how to fix it.
//!
//! In this order, so that nothing of an unchecked file ever runs:
//! 1. `verify.rs`: open without following symlinks, check type, mode and
//!    owner on the descriptor, read the whole file through it, SHA-256 it.
//! 2. Compare with the pin. A mismatch stops here, before `dlopen` (which
//!    runs the library's initializers).
//! 3. Copy the very bytes that were hashed into a sealed `memfd` and
//!    `dlopen` that (`/proc/self/fd/N`): whatever happens to the file on
//!    disk afterwards, what runs is what was hashed.
//! 4. Find the entry symbol, call it, check the descriptor (`descriptor.rs`).
//!
//! A library is never unloaded (see [`load`]).

use std::ffi::c_void;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use edge_agent_sdk::abi::{self, EntryFn, ABI_MAJOR, ENTRY_SYMBOL_PREFIX};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use super::descriptor::{DescriptorError, PluginApi};
use super::pin::{sha256_hex, Pin};
use super::verify::verify;

/// Which file to load and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRequest {
    /// The library (`plugins[].path`).
    pub path: PathBuf,
    /// Its pin (`plugins[].sha256`, or [`Pin::Unpinned`] with
    /// `allow_unpinned = true`).
    pub pin: Pin,
}

/// A loaded plugin library. Its functions stay valid for the life of the
/// process: the library is never unloaded.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// What the descriptor says, checked.
    pub api: PluginApi,
    /// The SHA-256 of the bytes that were loaded.
    pub sha256: [u8; 32],
    /// The path it was loaded from.
    pub path: PathBuf,
}

/// Loads the plugin `request` names, after every check (see the module
/// doc). An unpinned load logs a warning with the hash it is about to load,
/// before the library's initializers run, so the operator can pin it.
///
/// Loading the same file twice maps two independent copies (each load is
/// its own sealed copy), each with its own statics.
pub fn load(request: &LoadRequest) -> Result<LoadedPlugin, LoadError> {
    load_checked(&request.path, request.pin, WarnUnpinned::Yes)
}

/// `edge-agent plugin inspect`: loads `path` with the same checks as the
/// agent but without a pin and without the unpinned warning (inspecting is
/// how one learns the hash to pin). Still runs the library's initializers.
pub fn inspect(path: &Path) -> Result<LoadedPlugin, LoadError> {
    load_checked(path, Pin::Unpinned, WarnUnpinned::No)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WarnUnpinned {
    Yes,
    No,
}

fn load_checked(path: &Path, pin: Pin, warn: WarnUnpinned) -> Result<LoadedPlugin, LoadError> {
    let file = verify(path)?;
    match pin {
        Pin::Sha256(expected) if expected != file.sha256 => {
            return Err(LoadError::HashMismatch {
                path: path.to_path_buf(),
                expected: sha256_hex(&expected),
                found: sha256_hex(&file.sha256),
            });
        }
        Pin::Sha256(_) => {}
        Pin::Unpinned => {
            if warn == WarnUnpinned::Yes {
                tracing::warn!(
                    path = %path.display(),
                    sha256 = %sha256_hex(&file.sha256),
                    "loading an UNPINNED plugin (allow_unpinned = true): pin it with \
                     sha256 = \"{}\" after checking that this is the file you meant",
                    sha256_hex(&file.sha256)
                );
            }
        }
    }
    let library = open_sealed_copy(path, &file.bytes)?;
    let entry = entry_point(path, &library)?;
    // Never dlclose: instances keep the library's function pointers, its
    // threads may still run, and its statics (the descriptor, the name) are
    // borrowed for the life of the process; unloading would turn all of
    // them into use-after-free. The handle is dropped without closing.
    let _ = library.into_raw();
    // SAFETY: `entry` is the library's `edge_agent_plugin_v1`, of the ABI's
    // type by the ABI's contract; the library stays loaded forever.
    let descriptor = unsafe { entry() };
    // SAFETY: the pointer comes from a library that is never unloaded;
    // `from_raw` reads the descriptor's head only until its size is known.
    let api =
        unsafe { PluginApi::from_raw(descriptor) }.map_err(|problem| LoadError::Descriptor {
            path: path.to_path_buf(),
            problem,
        })?;
    Ok(LoadedPlugin {
        api,
        sha256: file.sha256,
        path: path.to_path_buf(),
    })
}

/// Copies `bytes` into a sealed memfd and `dlopen`s it.
fn open_sealed_copy(path: &Path, bytes: &[u8]) -> Result<Library, LoadError> {
    let memfd = sealed_memfd(path, bytes)?;
    let proc_path = format!("/proc/self/fd/{}", memfd.as_raw_fd());
    // SAFETY: loading a library runs its initializers; this one passed the
    // owner, mode and pin checks, which is all the trust the agent can have.
    let opened = unsafe { Library::open(Some(&proc_path), RTLD_NOW | RTLD_LOCAL) };
    let library = opened.map_err(|error| LoadError::NotLoadable {
        path: path.to_path_buf(),
        reason: error_chain(&error).replace(&format!("{proc_path}: "), ""),
    })?;
    // The memfd stays open for the life of the process. glibc recognises an
    // already loaded library by the name it was opened under: were the fd
    // closed, the next plugin's memfd could get the same number, and
    // `dlopen("/proc/self/fd/N")` would hand back the first plugin instead.
    // The mapping keeps the memory alive anyway; the fd costs nothing more.
    let _ = memfd.into_raw_fd();
    Ok(library)
}

/// A memfd holding `bytes`, sealed against any change.
fn sealed_memfd(path: &Path, bytes: &[u8]) -> Result<OwnedFd, LoadError> {
    let fail = |step: &'static str| {
        move |error: std::io::Error| LoadError::SealedCopy {
            path: path.to_path_buf(),
            step,
            error,
        }
    };
    // Named after the file, so `/proc/<pid>/maps` says which plugin a
    // mapping (and a crash address) belongs to.
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    let fd = memfd_create(
        format!("edge-agent-plugin:{name}").as_str(),
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| fail("memfd_create")(e.into()))?;
    let mut file = File::from(fd);
    file.write_all(bytes).map_err(fail("write"))?;
    fcntl(
        &file,
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_WRITE
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_SEAL,
        ),
    )
    .map_err(|e| fail("seal")(e.into()))?;
    Ok(OwnedFd::from(file))
}

/// The entry function, or why there is none: a plugin built for another
/// major exports another symbol, so probe those to say so.
fn entry_point(path: &Path, library: &Library) -> Result<EntryFn, LoadError> {
    // SAFETY: the symbol is the ABI's entry, whose type is `EntryFn`.
    if let Ok(symbol) = unsafe { library.get::<EntryFn>(abi::ENTRY_SYMBOL) } {
        return Ok(*symbol);
    }
    for major in (0..=9).filter(|&m| m != ABI_MAJOR) {
        let name = format!("{ENTRY_SYMBOL_PREFIX}{major}");
        // SAFETY: only the symbol's presence is checked; it is never used.
        if unsafe { library.get::<*const c_void>(name.as_str()) }.is_ok() {
            return Err(LoadError::OtherAbi {
                path: path.to_path_buf(),
                major,
            });
        }
    }
    Err(LoadError::NoEntry {
        path: path.to_path_buf(),
    })
}

/// An error and its sources, `: `-separated (libloading 0.9 keeps dlerror's
/// reason in `source()`, its own message says only "dlopen failed").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why a plugin was not loaded. Every message names the file, says what was
/// found, and where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened (missing, no permission).
    #[error("cannot open plugin {}: {error}", path.display())]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The path is a symbolic link.
    #[error(
        "plugin {} is a symbolic link: refused, since the link could be pointed at another \
         file; set plugins[].path to the file itself",
        path.display()
    )]
    Symlink { path: PathBuf },

    /// Not a regular file.
    #[error("plugin {} is {found}, not a regular file", path.display())]
    NotRegular { path: PathBuf, found: &'static str },

    /// Writable by someone other than its owner.
    #[error(
        "plugin {p} has mode {mode:04o}: writable by {by}, so someone other than its owner \
         could replace the code the agent runs; chmod g-w,o-w {p}",
        p = path.display()
    )]
    Writable {
        path: PathBuf,
        mode: u32,
        by: &'static str,
    },

    /// Owned by someone other than root or the agent's user.
    #[error(
        "plugin {p} is owned by uid {owner}: only root (uid 0) or the agent's own user \
         (uid {euid}) may own a plugin, since its owner can change it; chown root {p}",
        p = path.display()
    )]
    Owner {
        path: PathBuf,
        owner: u32,
        euid: u32,
    },

    /// Reading the opened file failed.
    #[error("cannot read plugin {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The file's SHA-256 is not its pin. Refused before `dlopen`.
    #[error(
        "plugin {p} does not match its pin: plugins[].sha256 is {expected} but the file's \
         SHA-256 is {found}; it was not loaded. If the file was updated on purpose, \
         `edge-agent plugin inspect {p}` prints the new hash to pin",
        p = path.display()
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// The sealed in-memory copy could not be made (no memfd support,
    /// `vm.memfd_noexec = 2`, out of memory).
    #[error(
        "cannot make the sealed in-memory copy of plugin {} to load ({step}): {error}",
        path.display()
    )]
    SealedCopy {
        path: PathBuf,
        step: &'static str,
        error: std::io::Error,
    },

    /// `dlopen` refused it: not a shared library, wrong architecture, a
    /// missing dependency.
    #[error("plugin {} could not be loaded as a shared library: {reason}", path.display())]
    NotLoadable { path: PathBuf, reason: String },

    /// It exports the entry symbol of another ABI major.
    #[error(
        "plugin {} was built for plugin ABI {major}, this agent speaks {ABI_MAJOR} \
         (it exports {ENTRY_SYMBOL_PREFIX}{major}, not {ENTRY_SYMBOL_PREFIX}{ABI_MAJOR}): \
         rebuild it against edge-agent-sdk {ABI_MAJOR}.x",
        path.display()
    )]
    OtherAbi { path: PathBuf, major: u16 },

    /// No entry symbol of any ABI.
    #[error(
        "{} is not an edge-agent plugin: no symbol {ENTRY_SYMBOL_PREFIX}{ABI_MAJOR}",
        path.display()
    )]
    NoEntry { path: PathBuf },

    /// The entry symbol returned a descriptor this agent cannot use.
    #[error("plugin {}: {problem}", path.display())]
    Descriptor {
        path: PathBuf,
        problem: DescriptorError,
    },
}

impl LoadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Open { path, .. }
            | LoadError::Symlink { path }
            | LoadError::NotRegular { path, .. }
            | LoadError::Writable { path, .. }
            | LoadError::Owner { path, .. }
            | LoadError::Read { path, .. }
            | LoadError::HashMismatch { path, .. }
            | LoadError::SealedCopy { path, .. }
            | LoadError::NotLoadable { path, .. }
            | LoadError::OtherAbi { path, .. }
            | LoadError::NoEntry { path }
            | LoadError::Descriptor { path, .. } => path,
        }
    }
}
