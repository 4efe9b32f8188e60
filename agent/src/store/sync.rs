//! The fsyncs that make "flushed" mean "on the disk" (see the module docs):
//! of sled's log at every flush, of its files and the directories leading
//! to them at every open.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::StoreError;

/// sled's log: every committed write lands here.
pub(super) const LOG_FILE: &str = "db";
/// sled's storage parameters, written once when the store is created.
const CONF_FILE: &str = "conf";

/// `fdatasync` of sled's log: its data and its size (the metadata needed
/// to read the data back), then the disk's write cache.
pub(super) fn sync_data(log: &File, dir: &Path) -> Result<(), StoreError> {
    log.sync_data().map_err(|source| StoreError::Sync {
        path: dir.join(LOG_FILE),
        source,
    })
}

/// `fsync` of a file or a directory (a directory's fsync makes the entries
/// created or renamed in it durable).
pub(super) fn sync_path(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| StoreError::Sync {
            path: path.to_path_buf(),
            source,
        })
}

/// The directories from `dir` up that do not exist yet, deepest first:
/// those an open is about to create, whose entries then need an fsync of
/// their parents.
pub(super) fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at {
        if path.as_os_str().is_empty() || path.exists() {
            break;
        }
        missing.push(path.to_path_buf());
        at = path.parent();
    }
    missing
}

/// Makes a freshly opened store's files and the directory entries leading
/// to them durable: `conf` and `db`, the store's directory (sled created
/// files and renamed a snapshot in it), and the parent of every directory
/// in `created`. Returns how many fsyncs that took.
pub(super) fn sync_after_open(dir: &Path, created: &[PathBuf]) -> Result<u64, StoreError> {
    let mut syncs = 0;
    for path in [dir.join(CONF_FILE), dir.join(LOG_FILE), dir.to_path_buf()] {
        if path.exists() {
            sync_path(&path)?;
            syncs += 1;
        }
    }
    for created in created {
        sync_path(&parent_of(created))?;
        syncs += 1;
    }
    Ok(syncs)
}

/// The directory `path` is in (`.` for a bare relative name).
pub(super) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
