//! The open store: reads, streaming ranges, atomic commits across trees,
//! flushes that reach the disk, and a close that waits for sled to let go
//! of its lock.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sled::transaction::{TransactionError, Transactional};

use super::open::ensure_unlocked;
use super::sync::sync_data;
use super::{Entry, MovedAside, StoreError, TreeId, WriteSet};

/// The open store.
pub struct Store {
    /// `None` only while dropping.
    pub(super) db: Option<sled::Db>,
    /// In [`TreeId::index`] order.
    pub(super) trees: Vec<sled::Tree>,
    /// sled's log file, opened a second time: `fdatasync` works on the
    /// file, not the descriptor, and sled does not let us reach its own.
    pub(super) log: File,
    /// fsyncs (and fdatasyncs) this store issued, for the benchmark and the
    /// tests that check an interval sync really groups them.
    pub(super) syncs: AtomicU64,
    pub(super) dir: PathBuf,
    pub(super) moved_aside: Option<MovedAside>,
}

impl Drop for Store {
    /// Closes sled and waits until it has let go of its lock. sled's I/O
    /// threads hold its files a moment after the last handle is dropped, so
    /// without this wait a store closed and reopened in the same process
    /// (tests do that; an agent restarting its queue would) could find its
    /// own lock still held and report "the agent is running".
    fn drop(&mut self) {
        self.trees.clear();
        if let Some(db) = self.db.take() {
            // While unwinding (a panic in sled, caught by `open_checked`),
            // a second panic in the flush would abort the process.
            if std::thread::panicking() {
                return;
            }
            let flushed = db
                .flush()
                .map_err(StoreError::backend("flushing"))
                .and_then(|_| sync_data(&self.log, &self.dir));
            if let Err(e) = flushed {
                tracing::error!("cannot flush the store while closing it: {e}");
            }
            drop(db);
        }
        let deadline = std::time::Instant::now() + LOCK_RELEASE_WAIT;
        while ensure_unlocked(&self.dir).is_err() {
            if std::time::Instant::now() >= deadline {
                tracing::warn!(
                    store = %self.dir.display(),
                    "the store's lock is still held {:?} after closing it (by sled's I/O \
                     threads, or by another process that opened the store since)",
                    LOCK_RELEASE_WAIT
                );
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// How long closing a store waits for sled to release its lock.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("moved_aside", &self.moved_aside)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The damaged store this open moved aside, if it did.
    pub fn moved_aside(&self) -> Option<&MovedAside> {
        self.moved_aside.as_ref()
    }

    fn tree(&self, id: TreeId) -> &sled::Tree {
        &self.trees[id.index()]
    }

    /// The value of `key` in `tree`.
    pub fn get(&self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree(tree)
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(StoreError::backend("reading"))
    }

    /// The entry with the smallest key in `tree`.
    pub fn first(&self, tree: TreeId) -> Result<Option<Entry>, StoreError> {
        self.tree(tree)
            .first()
            .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .map_err(StoreError::backend("reading"))
    }

    /// The entry with the largest key in `tree`.
    pub fn last(&self, tree: TreeId) -> Result<Option<Entry>, StoreError> {
        self.tree(tree)
            .last()
            .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .map_err(StoreError::backend("reading"))
    }

    /// The entries of `tree` with keys from `from` on, in key order, read
    /// from disk as the iterator advances (memory stays bounded).
    pub fn iter_from(&self, tree: TreeId, from: &[u8]) -> Entries {
        Entries(self.tree(tree).range(from.to_vec()..))
    }

    /// Applies `writes` atomically: after a crash either all of them are
    /// there or none. Durable only after [`Store::flush`].
    pub fn commit(&self, writes: &WriteSet) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let result: Result<(), TransactionError<()>> = self.trees.as_slice().transaction(|views| {
            for (tree, key, value) in &writes.ops {
                let view = &views[tree.index()];
                match value {
                    Some(value) => view.insert(key.as_slice(), value.as_slice())?,
                    None => view.remove(key.as_slice())?,
                };
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TransactionError::Storage(e) => StoreError::backend("writing")(e),
            // The closure never aborts.
            TransactionError::Abort(()) => StoreError::Check("transaction aborted".into()),
        })
    }

    /// Writes everything committed so far to the disk: sled's buffers,
    /// then an `fdatasync` of its log (see the module docs for why sled's
    /// own flush is not enough). When this returns, a power cut loses
    /// nothing committed before the call.
    pub fn flush(&self) -> Result<(), StoreError> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        db.flush().map_err(StoreError::backend("flushing"))?;
        sync_data(&self.log, &self.dir)?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many fsyncs this store has issued since it was opened (the ones
    /// of the open itself included): what a sync policy costs the flash.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// A streaming range of a tree (see [`Store::iter_from`]).
pub struct Entries(sled::Iter);

impl fmt::Debug for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entries")
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| {
            e.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::backend("reading"))
        })
    }
}
