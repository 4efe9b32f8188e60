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
    check_access(
        path,
        metadata.mode(),
        metadata.uid(),
        nix::unistd::geteuid().as_raw(),
    )?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    Ok(VerifiedFile { bytes, sha256 })
}

/// Who may change the file: no one but its owner, and the owner must be
/// root or the agent itself (`euid`). Otherwise anyone who can write it can
/// run code in the agent, pin or no pin, from the next update on.
fn check_access(path: &Path, mode: u32, owner: u32, euid: u32) -> Result<(), LoadError> {
    let mode = mode & 0o7777;
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
    if owner != 0 && owner != euid {
        return Err(LoadError::Owner {
            path: path.to_path_buf(),
            owner,
            euid,
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: u32 = 0;
    const AGENT: u32 = 1000;
    const SOMEONE: u32 = 1001;

    fn access(mode: u32, owner: u32, euid: u32) -> Result<(), LoadError> {
        check_access(Path::new("/p.so"), mode, owner, euid)
    }

    #[test]
    fn a_file_only_its_owner_can_write_passes_when_root_or_the_agent_owns_it() {
        assert!(access(0o100755, ROOT, AGENT).is_ok());
        assert!(access(0o100644, AGENT, AGENT).is_ok());
        assert!(access(0o100555, ROOT, ROOT).is_ok());
    }

    #[test]
    fn a_file_owned_by_someone_else_is_refused_naming_both_users() {
        let error = access(0o100755, SOMEONE, AGENT).unwrap_err();
        assert!(
            matches!(
                error,
                LoadError::Owner {
                    owner: SOMEONE,
                    euid: AGENT,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn group_or_other_write_is_refused_whoever_owns_the_file() {
        for (mode, by) in [
            (0o100775, "its group"),
            (0o100757, "others"),
            (0o100777, "its group and by others"),
        ] {
            let error = access(mode, ROOT, AGENT).unwrap_err();
            assert!(
                matches!(&error, LoadError::Writable { by: found, mode: m, .. } if *found == by && *m == mode & 0o7777),
                "{mode:o}: {error:?}"
            );
        }
    }
}
