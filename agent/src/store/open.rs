//! Opening the store (the steps are in the module docs): the lock check
//! before sled is touched, sled's open with the caller's check and panics
//! caught, and moving a damaged store aside.

use std::fs::File;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::sync::{missing_ancestors, parent_of, sync_after_open, sync_path, LOG_FILE};
use super::{MovedAside, OpenMode, Store, StoreError, TreeId};

/// sled's page cache. sled defaults to 1 GiB; a gateway has a few hundred
/// MiB of RAM in all, and the queue's access pattern (append at the end,
/// read and remove at the front) needs only the pages at both ends.
pub const CACHE_CAPACITY: u64 = 2 << 20;

/// The file sled locks (with `flock`, through `fs2`) while a process has
/// the database open. It is also sled's log, where every write goes.
const LOCK_FILE: &str = "db";

impl Store {
    /// Opens (in [`OpenMode::Agent`], creates) the store in `dir` and runs
    /// `check` on it; see the module docs for what happens when either fails.
    pub fn open<F>(dir: &Path, mode: OpenMode, mut check: F) -> Result<Store, StoreError>
    where
        F: FnMut(&Store) -> Result<(), StoreError>,
    {
        if mode == OpenMode::Inspect && !dir.is_dir() {
            return Err(StoreError::NotFound {
                dir: dir.to_path_buf(),
            });
        }
        ensure_unlocked(dir)?;
        let error = match open_checked(dir, &mut check) {
            Ok(store) => return Ok(store),
            Err(e) if e.is_lock() => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(e) if e.is_damage() => e,
            Err(e) => return Err(e),
        };
        let reason = match error {
            StoreError::Damaged { reason, .. } => reason,
            other => other.to_string(),
        };
        if mode == OpenMode::Inspect {
            return Err(StoreError::Damaged {
                dir: dir.to_path_buf(),
                reason,
            });
        }
        let to = move_aside(dir)?;
        tracing::error!(
            queue = %dir.display(),
            moved_to = %to.display(),
            "the queue's store could not be opened ({reason}); moved it aside intact to {} \
             and started a new, empty queue in {}. Readings in the old store will not be sent; \
             inspect or delete it by hand",
            to.display(),
            dir.display(),
        );
        let mut store = open_checked(dir, &mut check)?;
        store.moved_aside = Some(MovedAside {
            from: dir.to_path_buf(),
            to,
            reason,
        });
        Ok(store)
    }
}

/// Fails with [`StoreError::Locked`] if another process holds sled's lock
/// on `dir`. The lock is sled's `flock` on its `db` file, released by the
/// kernel when the holder exits, so it is never stale.
pub(super) fn ensure_unlocked(dir: &Path) -> Result<(), StoreError> {
    let file = match File::open(dir.join(LOCK_FILE)) {
        Ok(file) => file,
        // No database yet, or unreadable: sled will say what is wrong.
        Err(_) => return Ok(()),
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        // Dropping the guard unlocks it again.
        Ok(_guard) => Ok(()),
        Err((_, Errno::EWOULDBLOCK)) => Err(StoreError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(_) => Ok(()),
    }
}

/// Opens sled in `dir` and runs `check`, turning panics into damage.
fn open_checked<F>(dir: &Path, check: &mut F) -> Result<Store, StoreError>
where
    F: FnMut(&Store) -> Result<(), StoreError>,
{
    let created = missing_ancestors(dir);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_CAPACITY)
            .flush_every_ms(None)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(StoreError::backend("opening"))?;
        let trees = TreeId::ALL
            .iter()
            .map(|id| db.open_tree(id.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::backend("opening a tree"))?;
        // Opening the trees may have written to the log (a new tree's root):
        // on the disk with the rest before anything else is stored.
        db.flush().map_err(StoreError::backend("flushing"))?;
        let log = File::open(dir.join(LOG_FILE)).map_err(|source| StoreError::Sync {
            path: dir.join(LOG_FILE),
            source,
        })?;
        let syncs = sync_after_open(dir, &created)?;
        let store = Store {
            db: Some(db),
            trees,
            log,
            syncs: AtomicU64::new(syncs),
            dir: dir.to_path_buf(),
            moved_aside: None,
        };
        match check(&store) {
            Ok(()) => Ok(store),
            Err(e) => {
                // Dropping a damaged sled flushes and may panic again: keep
                // that inside this catch_unwind.
                drop(store);
                Err(e)
            }
        }
    }));
    outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Err(StoreError::Damaged {
            dir: dir.to_path_buf(),
            reason: format!("the storage engine panicked: {what}"),
        })
    })
}

/// Renames `dir` to a free `<dir>.corrupt-<unix seconds>[-n]` beside it.
fn move_aside(dir: &Path) -> Result<PathBuf, StoreError> {
    let secs = crate::values::wall_clock::unix_secs();
    let name = dir
        .file_name()
        .map_or_else(|| "queue".into(), |n| n.to_string_lossy().into_owned());
    let mut to = dir.with_file_name(format!("{name}.corrupt-{secs}"));
    let mut n = 1;
    while to.exists() {
        to = dir.with_file_name(format!("{name}.corrupt-{secs}-{n}"));
        n += 1;
    }
    std::fs::rename(dir, &to).map_err(|source| StoreError::MoveAside {
        from: dir.to_path_buf(),
        to: to.clone(),
        source,
    })?;
    // The rename must not be undone by a power cut after the new store is
    // in use: two stores would then claim the same directory.
    sync_path(&parent_of(dir))?;
    Ok(to)
}
