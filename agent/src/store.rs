//! The agent's on-disk state: one sled database, its trees, and what to do
//! when it cannot be opened. Only this file names sled; the rest of the
//! agent sees [`Store`], [`TreeId`], [`WriteSet`] and [`StoreError`], so the
//! choice of sled stays open.
//!
//! sled is configured for a battery host (see
//! `shared/design/dependencies.md`): a small page cache
//! ([`CACHE_CAPACITY`]) instead of the default 1 GiB, no background flusher
//! (`flush_every_ms(None)`: every flush is explicit, when the data is worth
//! an fsync), the low-space mode (segments are compacted eagerly, which
//! matters more on a small flash than write throughput).
//!
//! # Durability: "flushed" means on the disk
//!
//! Invariant: when [`Store::flush`] returns, everything committed before it
//! survives a power cut, not only a crash of the process. sled 0.34 alone
//! does not promise that: on Linux it writes its log with `pwrite` and
//! `sync_file_range`, which starts the data's writeback but commits neither
//! the file's metadata (its new size: data past the old end of file is lost
//! with it) nor the disk's write cache; its only `fsync` of the log is in
//! the periodic flusher, which this store turns off. So the store adds what
//! is missing, and counts it ([`Store::syncs`]):
//! - every flush: sled's own flush (its buffers written), then
//!   `fdatasync` of sled's log file `db` (data, size, disk cache);
//! - every open: `fsync` of `conf` and `db`, of the store's directory (sled
//!   creates files in it and renames a fresh snapshot into place at every
//!   open), and of each directory the open created on the way to it, so the
//!   entries that lead to the data are on the disk too;
//! - moving a damaged store aside: `fsync` of the parent directory.
//!
//! Measured with the power-cut test (`tests/it/power_cut.rs`: ext4 on a loop
//! device, the writer killed and the device's image copied at that instant)
//! and `edge-bench queue` (the fsyncs this costs).
//!
//! Opening, in order:
//! 1. If another process holds the store's lock (the running agent), fail
//!    with [`StoreError::Locked`] before sled is touched, so that a held
//!    lock is never mistaken for damage.
//! 2. Open sled and run the caller's check (the queue reads every record,
//!    which makes sled verify every page's checksum), catching panics.
//! 3. If that fails because the files are damaged (sled reports corruption
//!    or panics), then in [`OpenMode::Agent`] the directory is renamed,
//!    intact, to `<dir>.corrupt-<unix seconds>`, a new empty store is opened
//!    in its place and an `error!` says so and where the old one went: the
//!    agent never crash-loops on its own data. In [`OpenMode::Inspect`] (the
//!    CLI) nothing is moved; the error says what the agent will do.

use std::fmt;
use std::fs::File;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use sled::transaction::{TransactionError, Transactional};

/// sled's page cache. sled defaults to 1 GiB; a gateway has a few hundred
/// MiB of RAM in all, and the queue's access pattern (append at the end,
/// read and remove at the front) needs only the pages at both ends.
pub const CACHE_CAPACITY: u64 = 2 << 20;

/// The file sled locks (with `flock`, through `fs2`) while a process has
/// the database open. It is also sled's log, where every write goes.
const LOCK_FILE: &str = "db";
/// sled's log: every committed write lands here.
const LOG_FILE: &str = "db";
/// sled's storage parameters, written once when the store is created.
const CONF_FILE: &str = "conf";

/// The trees of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeId {
    /// Pending readings: seq → reading record.
    Readings,
    /// Counters and the format version.
    Meta,
    /// Readings the server rejected for good: seq → dead-letter record.
    DeadLetters,
    /// Records that could not be decoded, kept raw: tree name, 0, key → value.
    Corrupt,
    /// What the agent last wrote to the modem's non-volatile profiles:
    /// profile name (`mqtt`) → digest. Lets provisioning skip NVM writes
    /// when nothing changed ("declared, not scripted").
    Modem,
}

impl TreeId {
    /// Every tree, in the order [`Store`] holds them.
    pub const ALL: [TreeId; 5] = [
        TreeId::Readings,
        TreeId::Meta,
        TreeId::DeadLetters,
        TreeId::Corrupt,
        TreeId::Modem,
    ];

    /// The tree's name on disk.
    pub const fn name(self) -> &'static str {
        match self {
            TreeId::Readings => "readings",
            TreeId::Meta => "meta",
            TreeId::DeadLetters => "dead_letters",
            TreeId::Corrupt => "corrupt",
            TreeId::Modem => "modem",
        }
    }

    const fn index(self) -> usize {
        match self {
            TreeId::Readings => 0,
            TreeId::Meta => 1,
            TreeId::DeadLetters => 2,
            TreeId::Corrupt => 3,
            TreeId::Modem => 4,
        }
    }
}

/// Who opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The agent: creates the directory, and moves a damaged one aside.
    Agent,
    /// The CLI: the directory must exist; nothing is moved aside.
    Inspect,
}

/// A damaged store that [`Store::open`] moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// Where the store was (and where the new one is).
    pub from: PathBuf,
    /// Where the old, damaged store is now, intact.
    pub to: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// The storage engine's own error, kept opaque.
#[derive(Debug)]
pub struct BackendError(sled::Error);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            sled::Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process has the store open: the agent is running.
    #[error(
        "the queue at {} is in use by another process: the agent is running; \
         stop it first (e.g. `systemctl stop edge-agent`), or run this again after it exits",
        dir.display()
    )]
    Locked {
        /// The store's directory.
        dir: PathBuf,
    },
    /// [`OpenMode::Inspect`] and there is no store.
    #[error("there is no queue at {}: the agent has not stored anything yet", dir.display())]
    NotFound {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// The files are damaged ([`OpenMode::Inspect`]; the agent moves such a
    /// store aside instead).
    #[error(
        "the queue at {} is damaged ({reason}); the agent will move it aside intact \
         and start a new one when it next starts",
        dir.display()
    )]
    Damaged {
        /// The store's directory.
        dir: PathBuf,
        /// What sled said.
        reason: String,
    },
    /// A damaged store could not be renamed out of the way.
    #[error("cannot move the damaged queue {} aside to {}", from.display(), to.display())]
    MoveAside {
        /// The store's directory.
        from: PathBuf,
        /// Where it was to go.
        to: PathBuf,
        /// Why not.
        source: io::Error,
    },
    /// The storage engine failed.
    #[error("storage error while {op}: {source}")]
    Backend {
        /// What was being done.
        op: &'static str,
        /// The engine's error.
        source: BackendError,
    },
    /// An fsync failed: what was written may not be on the disk. (Linux
    /// may drop the dirty pages of a failed writeback, so a retry could
    /// report success for data that is gone: the caller must treat the
    /// write as lost, not retry the sync.)
    #[error("cannot sync {} to the disk: {source}", path.display())]
    Sync {
        /// The file or directory.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// The caller's open-time check failed for a reason of its own.
    #[error("{0}")]
    Check(String),
}

impl StoreError {
    fn backend(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
        move |e| StoreError::Backend {
            op,
            source: BackendError(e),
        }
    }

    /// True when the files themselves are damaged (as opposed to a held
    /// lock, a missing permission or a full disk, which moving the
    /// directory aside would not cure).
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Damaged { .. } => true,
            StoreError::Backend { source, .. } => match &source.0 {
                sled::Error::Corruption { .. }
                | sled::Error::ReportableBug(_)
                | sled::Error::Unsupported(_)
                | sled::Error::CollectionNotFound(_) => true,
                sled::Error::Io(e) => {
                    matches!(
                        e.kind(),
                        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                    )
                }
            },
            _ => false,
        }
    }

    fn is_lock(&self) -> bool {
        match self {
            StoreError::Locked { .. } => true,
            // sled's own lock failure (if another process took the lock
            // between our check and sled's): an `Other` I/O error.
            StoreError::Backend { source, .. } => match &source.0 {
                sled::Error::Io(e) => e.to_string().contains("could not acquire lock"),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Changes to apply atomically, across trees.
#[derive(Debug, Default, Clone)]
pub struct WriteSet {
    ops: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteSet {
    /// An empty set.
    pub fn new() -> Self {
        WriteSet::default()
    }

    /// Sets `key` in `tree` to `value`.
    pub fn insert(&mut self, tree: TreeId, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.ops.push((tree, key.into(), Some(value)));
    }

    /// Removes `key` from `tree`.
    pub fn remove(&mut self, tree: TreeId, key: impl Into<Vec<u8>>) {
        self.ops.push((tree, key.into(), None));
    }

    /// How many changes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// No changes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// One key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The open store.
pub struct Store {
    /// `None` only while dropping.
    db: Option<sled::Db>,
    /// In [`TreeId::index`] order.
    trees: Vec<sled::Tree>,
    /// sled's log file, opened a second time: `fdatasync` works on the
    /// file, not the descriptor, and sled does not let us reach its own.
    log: File,
    /// fsyncs (and fdatasyncs) this store issued, for the benchmark and the
    /// tests that check an interval sync really groups them.
    syncs: AtomicU64,
    dir: PathBuf,
    moved_aside: Option<MovedAside>,
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

/// `fdatasync` of sled's log: its data and its size (the metadata needed
/// to read the data back), then the disk's write cache.
fn sync_data(log: &File, dir: &Path) -> Result<(), StoreError> {
    log.sync_data().map_err(|source| StoreError::Sync {
        path: dir.join(LOG_FILE),
        source,
    })
}

/// `fsync` of a file or a directory (a directory's fsync makes the entries
/// created or renamed in it durable).
fn sync_path(path: &Path) -> Result<(), StoreError> {
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
fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
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
fn sync_after_open(dir: &Path, created: &[PathBuf]) -> Result<u64, StoreError> {
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
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
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

/// Fails with [`StoreError::Locked`] if another process holds sled's lock
/// on `dir`. The lock is sled's `flock` on its `db` file, released by the
/// kernel when the holder exits, so it is never stale.
fn ensure_unlocked(dir: &Path) -> Result<(), StoreError> {
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
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn no_check(_: &Store) -> Result<(), StoreError> {
        Ok(())
    }

    #[test]
    fn writes_commit_atomically_across_trees_and_read_back_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q");
        let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
        let mut w = WriteSet::new();
        for seq in [3u64, 1, 2] {
            w.insert(TreeId::Readings, seq.to_be_bytes(), vec![seq as u8]);
        }
        w.insert(TreeId::Meta, *b"k", b"v".to_vec());
        store.commit(&w).unwrap();
        store.flush().unwrap();
        let keys: Vec<_> = store
            .iter_from(TreeId::Readings, &[])
            .map(|e| e.unwrap().1[0])
            .collect();
        assert_eq!(keys, [1, 2, 3]);
        assert_eq!(store.get(TreeId::Meta, b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(store.last(TreeId::Readings).unwrap().unwrap().1, [3]);
        drop(store);

        let store = Store::open(&path, OpenMode::Inspect, no_check).unwrap();
        assert_eq!(store.first(TreeId::Readings).unwrap().unwrap().1, [1]);
        assert!(store.moved_aside().is_none());
    }

    #[test]
    fn an_open_syncs_the_files_and_the_directories_it_created_and_a_flush_syncs_the_log() {
        let dir = tempfile::tempdir().unwrap();
        // Two directories the open creates: the store's and its parent.
        let path = dir.path().join("state").join("q");
        let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
        // conf, db, the store's directory, and the parents of `q` and `state`.
        assert_eq!(store.syncs(), 5);
        let mut w = WriteSet::new();
        w.insert(TreeId::Meta, *b"k", vec![1]);
        store.commit(&w).unwrap();
        assert_eq!(store.syncs(), 5, "a commit alone does not sync");
        store.flush().unwrap();
        assert_eq!(store.syncs(), 6);
        drop(store);
        // Reopened: nothing created, the files and the directory again
        // (sled renamed a new snapshot into it).
        let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
        assert_eq!(store.syncs(), 3);
    }

    #[test]
    fn a_second_open_while_the_first_holds_the_store_says_the_agent_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q");
        let _held = Store::open(&path, OpenMode::Agent, no_check).unwrap();
        for mode in [OpenMode::Inspect, OpenMode::Agent] {
            let e = Store::open(&path, mode, no_check).unwrap_err();
            assert!(matches!(e, StoreError::Locked { .. }), "{e}");
            assert!(e.to_string().contains("the agent is running"), "{e}");
        }
        // Nothing was moved aside.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn inspecting_a_missing_store_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q");
        let e = Store::open(&path, OpenMode::Inspect, no_check).unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn a_store_sled_cannot_open_is_moved_aside_intact_by_the_agent_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q");
        std::fs::create_dir(&path).unwrap();
        // A `conf` sled cannot parse.
        std::fs::write(path.join("conf"), b"\xff\xfe garbage").unwrap();

        let e = Store::open(&path, OpenMode::Inspect, no_check).unwrap_err();
        assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
        assert!(path.join("conf").exists());

        let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
        let moved = store.moved_aside().unwrap().clone();
        assert_eq!(moved.from, path);
        let name = moved.to.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("q.corrupt-"), "{name}");
        assert_eq!(
            std::fs::read(moved.to.join("conf")).unwrap(),
            b"\xff\xfe garbage"
        );
        // The new store works.
        let mut w = WriteSet::new();
        w.insert(TreeId::Meta, *b"k", vec![1]);
        store.commit(&w).unwrap();
        store.flush().unwrap();
    }

    #[test]
    fn a_failing_check_that_reports_damage_moves_the_store_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q");
        drop(Store::open(&path, OpenMode::Agent, no_check).unwrap());
        let mut first = true;
        let store = Store::open(&path, OpenMode::Agent, |_| {
            if std::mem::take(&mut first) {
                panic!("simulated damage found while reading");
            }
            Ok(())
        })
        .unwrap();
        let moved = store.moved_aside().unwrap();
        assert!(
            moved.reason.contains("simulated damage"),
            "{}",
            moved.reason
        );
        assert!(moved.to.join("db").exists());
    }
}
