//! The checks a plugin file passes before anything of it runs: opened
//! without following a symlink, a regular file that only its owner can
//! write, owned by root or the agent's user, read whole through that one
//! descriptor and hashed. The bytes returned are the bytes that were hashed;
//! `load.rs` loads exactly those.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;
use sha2::{Digest, Sha256};

use super::load::LoadError;

/// A plugin file that passed the checks, with its content and its SHA-256.
pub(crate) struct VerifiedFile {
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: [u8; 32],
}

/// Opens, checks and reads `path`. Ownership and mode are taken from the
/// open descriptor (`fstat`), not from the path, so they describe the very
/// file that is read.
pub(crate) fn verify(path: &Path) -> Result<VerifiedFile, LoadError> {
    let mut file = open(path)?;
    let metadata = file.metadata().map_err(|error| LoadError::Open {
        path: path.to_path_buf(),
        error,
    })?;
    if !metadata.file_type().is_file() {
        return Err(LoadError::NotRegular {
            path: path.to_path_buf(),
            found: file_kind(&metadata),
        });
    }
    let mode = metadata.mode() & 0o7777;
    let writable_by = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("its group and by others"),
        (true, false) => Some("its group"),
        (false, true) => Some("others"),
        (false, false) => None,
    };
    if let Some(by) = writable_by {
        return Err(LoadError::Writable {
            path: path.to_path_buf(),
            mode,
            by,
        });
    }
    let euid = nix::unistd::geteuid().as_raw();
    if metadata.uid() != 0 && metadata.uid() != euid {
        return Err(LoadError::Owner {
            path: path.to_path_buf(),
            owner: metadata.uid(),
            euid,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    Ok(VerifiedFile { bytes, sha256 })
}

/// Opens read-only, close-on-exec (std's default), refusing a symlink as the
/// last component: a link could be pointed elsewhere between two loads.
/// Non-blocking, so that a FIFO in a plugin's place is refused by the type
/// check instead of hanging the agent until someone writes to it.
fn open(path: &Path) -> Result<File, LoadError> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|error| {
            if error.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
                LoadError::Symlink {
                    path: path.to_path_buf(),
                }
            } else {
                LoadError::Open {
                    path: path.to_path_buf(),
                    error,
                }
            }
        })
}

fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}
