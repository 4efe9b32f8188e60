//! The agent's on-disk state: one sled database, its trees, and what to do
//! when it cannot be opened. Only this folder names sled; the rest of the
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
//!
//! The files: `db.rs` the open [`Store`] (reads, atomic commits, flushes),
//! `open.rs` the opening above, `sync.rs` the fsyncs of durability,
//! `error.rs` [`StoreError`]; this file the store's vocabulary
//! ([`TreeId`], [`OpenMode`], [`WriteSet`], [`MovedAside`]).

use std::path::PathBuf;

mod db;
mod error;
mod open;
mod sync;

pub use db::{Entries, Store};
pub use error::{BackendError, StoreError};
pub use open::CACHE_CAPACITY;

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

#[cfg(test)]
mod tests;
