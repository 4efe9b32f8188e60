//! The durable store-and-forward queue: readings wait here, on disk, until
//! the uplink confirms them.
//!
//! - Readings are appended in batches ([`Queue::append`]); each gets a
//!   sequence number that is unique and only grows, across restarts too.
//!   `queue.sync` decides when they reach the disk: one flush per batch, or
//!   at most one per interval (the loss window).
//! - The uplink takes the oldest pending readings under a [`Lease`]
//!   ([`Queue::lease`]) and acks it only once delivery is confirmed
//!   ([`Queue::ack`], which flushes: an acked reading never comes back). It
//!   releases a lease it could not send ([`Queue::release`]); a lease
//!   neither acked nor released within `queue.lease_timeout`, and every
//!   lease at a restart, is pending again. **Nothing is removed before the
//!   uplink confirms it**, except by the bounds below, each counted and
//!   logged.
//! - Bounds: `queue.max_bytes` (dead letters go first, then
//!   `queue.on_full` drops the oldest pending readings or rejects new ones),
//!   `queue.max_age` (readings and dead letters expire), and
//!   [`Queue::dead_letter`] for batches the server rejects for good. The
//!   bounds are hard: they apply to leased readings too (a lease's later
//!   ack then removes only what is left of it).
//! - A record that cannot be decoded is moved aside to the `corrupt` tree
//!   and counted; a store sled cannot open is moved aside whole (see
//!   [`crate::store`]). The agent never panics or crash-loops on its data.
//! - Nothing ever loads the whole backlog: leases, expiry, drops, replay
//!   ([`Queue::pending`]) and purges walk key ranges from disk.
//!
//! Files: `record.rs` (byte layout), `counters.rs` (persisted counters),
//! `lease.rs` (leases, in memory), `clock.rs` (injected time), `space.rs`
//! (making room, expiry), `open.rs` (open-time check and repair),
//! `iter.rs` (streaming replay), `options.rs` (the `[queue]` settings),
//! `time.rs` (the boot and the restamp of readings taken before the time
//! was known),
//! `error.rs`. Tests: `tests/` (examples, and a model-based property test).
//!
//! # On-disk format (version 1)
//!
//! One sled database, four trees; the byte layout of every key and record is
//! documented in `record.rs`, which reads and writes it.

mod clock;
mod counters;
mod error;
mod iter;
mod lease;
mod open;
mod options;
pub mod record;
mod space;
mod sync;
mod time;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::reading::{Reading, Sequenced};
use crate::store::{MovedAside, OpenMode, Store, TreeId, WriteSet};

pub use clock::{Clock, ManualClock, SystemClock};
pub use counters::Counters;
pub use error::QueueError;
pub use iter::{DeadLetter, DeadLetters, Pending, PendingReadings};
pub use lease::Lease;
pub use options::{
    OnFull, Options, SyncPolicy, DEFAULT_LEASE_TIMEOUT, DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES,
};
pub use time::Restamped;

use lease::Leases;
use record::KEY_LEN;

/// The store's format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Meta-tree key of the format version.
const FORMAT_KEY: &[u8] = b"format";
/// Meta-tree key of the counters.
const COUNTERS_KEY: &[u8] = b"counters";

/// Enqueue times before this (2020-01-01T00:00:00Z, in ms) mean the clock
/// was not set when the reading came in (a gateway without a battery-backed
/// RTC boots in 1970 until the network sets the time). Such readings are
/// never expired by age: their age is unknown, and taking them at face
/// value would expire every reading of a boot at the first time sync. They
/// are still bounded by `max_bytes`.
pub const CLOCK_SET_AFTER_MS: u64 = 1_577_836_800_000;

/// What [`Queue::append`] did with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Appended {
    /// The sequence number each reading got, in input order; `None` for a
    /// reading that was rejected.
    pub seqs: Vec<Option<u64>>,
    /// Readings of this batch rejected (`on_full = "reject_new"`, or larger
    /// than `max_bytes` on their own).
    pub rejected: usize,
    /// Pending readings dropped to make room (`on_full = "drop_oldest"`;
    /// with a batch larger than `max_bytes`, some of its own).
    pub dropped: usize,
    /// Dead letters dropped to make room.
    pub dead_dropped: usize,
    /// The batch is on disk (flushed) when `append` returns.
    pub durable: bool,
}

impl Appended {
    /// The sequence numbers given, in order.
    pub fn stored(&self) -> impl Iterator<Item = u64> + '_ {
        self.seqs.iter().flatten().copied()
    }
}

/// What [`Queue::maintain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Maintenance {
    /// Leased readings whose lease timed out, pending again.
    pub reclaimed: usize,
    /// Pending readings expired.
    pub expired: usize,
    /// Dead letters expired.
    pub dead_expired: usize,
    /// Whether a due interval flush ran.
    pub flushed: bool,
}

/// A snapshot of the queue's state, without a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The persisted counters.
    pub counters: Counters,
    /// Readings leased by this process right now (leases are in memory:
    /// another process, e.g. the CLI, always sees 0).
    pub leased: usize,
    /// When the oldest pending reading was enqueued (ms since the epoch).
    pub oldest_enqueued_at_ms: Option<u64>,
    /// Its sequence number.
    pub oldest_seq: Option<u64>,
    /// `queue.max_bytes`.
    pub max_bytes: u64,
}

/// What opening found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The damaged store that was moved aside, if any.
    pub moved_aside: Option<MovedAside>,
    /// Records moved to the `corrupt` tree while opening.
    pub corrupt_moved: u64,
    /// The counters disagreed with the data (or were unreadable) and were
    /// recounted.
    pub recounted: bool,
    /// Readings and dead letters expired while opening.
    pub expired: u64,
}

/// The durable queue. Cheap to share behind an `Arc`: every method takes
/// `&self` and serializes on an internal lock. Methods do blocking disk
/// I/O (an fsync on flush); from async code, call them from
/// `spawn_blocking`.
#[derive(Debug)]
pub struct Queue {
    store: Store,
    options: Options,
    clock: Arc<dyn Clock>,
    recovery: Recovery,
    state: Mutex<State>,
}

/// What the lock protects.
#[derive(Debug)]
struct State {
    /// The persisted counters as last committed.
    counters: Counters,
    leases: Leases,
    /// Monotonic time of the last flush (the sync interval runs from it).
    last_flush: Duration,
    /// Something was committed after the last flush.
    dirty: bool,
    /// Pending readings may have timestamps that are not plausible (a host
    /// clock not yet set); cleared by [`Queue::restamp`].
    implausible: bool,
}

impl Queue {
    /// Opens (or creates) the queue in `dir` for the agent, with the
    /// system's clocks. A damaged store is moved aside and replaced (see
    /// [`Queue::recovery`]).
    pub fn open(dir: &Path, options: Options) -> Result<Queue, QueueError> {
        Queue::open_with(dir, options, Arc::new(SystemClock::new()), OpenMode::Agent)
    }

    /// Opens the queue in `dir` for inspection (the CLI): it must exist;
    /// nothing is expired, checked or moved aside.
    pub fn inspect(dir: &Path, options: Options) -> Result<Queue, QueueError> {
        Queue::open_with(
            dir,
            options,
            Arc::new(SystemClock::new()),
            OpenMode::Inspect,
        )
    }

    /// The directory of the store.
    /// The store the queue lives in, for the other state the agent keeps
    /// beside it (the modem profile digests, `TreeId::Modem`).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The options the queue runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// What opening found and repaired.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the committed state intact
        // (counters are replaced only after a commit succeeds).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stored size of a reading (key plus record), as every bound
    /// counts it.
    pub fn stored_size(reading: &Reading) -> u64 {
        KEY_LEN + record::encode_record(0, reading).len() as u64
    }

    /// Appends a batch. Each reading that fits gets the next sequence
    /// number; what does not fit is handled as `on_full` says (see
    /// [`Appended`]). With `sync = "batch"` the batch is flushed before
    /// this returns.
    pub fn append(&self, readings: &[Reading]) -> Result<Appended, QueueError> {
        if readings.is_empty() {
            return Ok(Appended {
                durable: true,
                ..Appended::default()
            });
        }
        let mut st = self.lock();
        let now_ms = self.clock.unix_ms();
        let now = self.clock.monotonic();
        self.housekeep(&mut st, now_ms, now)?;

        let mut c = st.counters;
        let mut writes = WriteSet::new();
        let mut room = space::Room::new(&self.store);
        let mut out = Appended::default();
        let mut dropped_seqs = Vec::new();
        let max = self.options.max_bytes;
        for reading in readings {
            let value = record::encode_record(now_ms, reading);
            let size = KEY_LEN + value.len() as u64;
            if size > max {
                c.rejected += 1;
                out.rejected += 1;
                out.seqs.push(None);
                continue;
            }
            while c.used_bytes().saturating_add(size) > max {
                if let Some((key, bytes)) = room.next_dead()? {
                    writes.remove(TreeId::DeadLetters, key);
                    c.remove_dead(bytes);
                    c.dead_dropped += 1;
                    out.dead_dropped += 1;
                    continue;
                }
                if self.options.on_full == OnFull::DropOldest {
                    if let Some((key, bytes)) = room.next_pending()? {
                        if let Ok(seq) = record::seq_of(&key) {
                            dropped_seqs.push(seq);
                        }
                        writes.remove(TreeId::Readings, key);
                        c.remove_pending(bytes);
                        c.dropped += 1;
                        out.dropped += 1;
                        continue;
                    }
                }
                break;
            }
            if c.used_bytes().saturating_add(size) > max {
                c.rejected += 1;
                out.rejected += 1;
                out.seqs.push(None);
                continue;
            }
            st.implausible |= !crate::reading::is_plausible_time(reading.timestamp_ns);
            let seq = c.next_seq;
            c.next_seq = c.next_seq.saturating_add(1);
            writes.insert(TreeId::Readings, record::key(seq), value);
            room.appended(seq, size);
            c.add_pending(size);
            c.appended += 1;
            out.seqs.push(Some(seq));
        }
        self.commit_counted(&mut st, &mut writes, c)?;
        st.leases.forget(dropped_seqs.iter().copied());

        out.durable = match self.options.sync {
            SyncPolicy::Batch => {
                self.flush_locked(&mut st)?;
                true
            }
            SyncPolicy::Interval(every) => {
                if now.saturating_sub(st.last_flush) >= every.get() {
                    self.flush_locked(&mut st)?;
                    true
                } else {
                    false
                }
            }
        };
        space::log_append(&out, &dropped_seqs, &self.options);
        Ok(out)
    }

    /// Hands out up to `max_readings` of the oldest pending readings that
    /// are not leased, stopping before `max_bytes` of stored size (but
    /// always at least one reading, so an oversized one cannot block the
    /// queue). Flushes first if anything is unflushed. An empty lease means
    /// there is nothing to send.
    pub fn lease(&self, max_readings: usize, max_bytes: Option<u64>) -> Result<Lease, QueueError> {
        let mut st = self.lock();
        let now_ms = self.clock.unix_ms();
        let now = self.clock.monotonic();
        self.housekeep(&mut st, now_ms, now)?;
        // A reading leaves only once it is on disk. With an interval sync,
        // an unflushed reading could otherwise be sent, lost in a power cut,
        // and its sequence number given again to another reading, which
        // the consumer would then drop as a duplicate.
        if st.dirty {
            self.flush_locked(&mut st)?;
        }
        let id = st.leases.next_id();
        if max_readings == 0 {
            return Ok(Lease::new(id, Vec::new(), Vec::new()));
        }

        let mut readings = Vec::new();
        let mut sizes = Vec::new();
        let mut total = 0u64;
        let mut repairs = space::Repairs::default();
        for entry in self.store.iter_from(TreeId::Readings, &[]) {
            let (key, value) = entry?;
            let size = key.len() as u64 + value.len() as u64;
            let seq = match record::seq_of(&key) {
                Ok(seq) => seq,
                Err(error) => {
                    repairs.corrupt(TreeId::Readings, key, value, error);
                    continue;
                }
            };
            if st.leases.is_leased(seq) {
                continue;
            }
            let reading = match record::decode_record(&value) {
                Ok(record) => record.reading,
                Err(error) => {
                    repairs.corrupt(TreeId::Readings, key, value, error);
                    continue;
                }
            };
            if !readings.is_empty() && max_bytes.is_some_and(|m| total + size > m) {
                break;
            }
            total += size;
            readings.push(Sequenced { seq, reading });
            sizes.push(size);
            if readings.len() >= max_readings {
                break;
            }
        }
        self.apply_repairs(&mut st, repairs)?;
        let lease = Lease::new(id, readings, sizes);
        st.leases
            .hold(&lease, now.saturating_add(self.options.lease_timeout));
        if !lease.is_empty() {
            tracing::debug!(
                lease = lease.id(),
                readings = lease.len(),
                bytes = lease.bytes(),
                "leased"
            );
        }
        Ok(lease)
    }

    /// The uplink confirmed delivery: removes the lease's readings for good
    /// and flushes. Readings already gone (dropped, expired, acked through
    /// another lease) are skipped. Returns how many were removed.
    pub fn ack(&self, lease: Lease) -> Result<usize, QueueError> {
        let mut st = self.lock();
        let mut c = st.counters;
        let mut writes = WriteSet::new();
        let mut removed = 0;
        for (seq, size) in lease.seqs().zip(lease.sizes().iter().copied()) {
            let key = record::key(seq);
            if self.store.get(TreeId::Readings, &key)?.is_some() {
                writes.remove(TreeId::Readings, key);
                c.remove_pending(size);
                c.acked += 1;
                removed += 1;
            }
        }
        if removed > 0 {
            self.commit_counted(&mut st, &mut writes, c)?;
        }
        st.leases.forget(lease.seqs());
        // Durable before returning: an acked reading must never come back
        // (nor one that expiry or a drop already removed, unflushed).
        if st.dirty {
            self.flush_locked(&mut st)?;
        }
        tracing::debug!(lease = lease.id(), removed, "acked");
        Ok(removed)
    }

    /// The uplink could not send the lease: its readings are pending again
    /// (only those it still holds: after a timeout they may belong to a
    /// newer lease). Returns how many.
    pub fn release(&self, lease: Lease) -> usize {
        let n = self.lock().leases.release(&lease);
        tracing::debug!(lease = lease.id(), released = n, "released");
        n
    }

    /// Same as [`Queue::release`]: a negative acknowledgement.
    pub fn nack(&self, lease: Lease) -> usize {
        self.release(lease)
    }

    /// The server rejected the lease's readings for good: moves those still
    /// pending to the dead letters with `reason`, counted, logged and
    /// flushed. Returns how many were moved.
    pub fn dead_letter(&self, lease: Lease, reason: &str) -> Result<usize, QueueError> {
        let mut st = self.lock();
        let now_ms = self.clock.unix_ms();
        let mut c = st.counters;
        let mut writes = WriteSet::new();
        let mut moved = Vec::new();
        for (seq, size) in lease.seqs().zip(lease.sizes().iter().copied()) {
            let key = record::key(seq);
            let Some(value) = self.store.get(TreeId::Readings, &key)? else {
                continue;
            };
            let dead = record::encode_dead(now_ms, reason, &value);
            let dead_size = KEY_LEN + dead.len() as u64;
            writes.remove(TreeId::Readings, key);
            writes.insert(TreeId::DeadLetters, key, dead);
            c.remove_pending(size);
            c.add_dead(dead_size);
            c.dead_lettered += 1;
            moved.push(seq);
        }
        if !moved.is_empty() {
            self.commit_counted(&mut st, &mut writes, c)?;
        }
        st.leases.forget(lease.seqs());
        if st.dirty {
            self.flush_locked(&mut st)?;
        }
        if let (Some(first), Some(last)) = (moved.first(), moved.last()) {
            tracing::warn!(
                readings = moved.len(),
                first_seq = first,
                last_seq = last,
                reason,
                "the server rejected {} readings for good (seq {first}..={last}): \
                 moved to the dead letters",
                moved.len()
            );
        }
        Ok(moved.len())
    }

    /// Periodic upkeep for the owner's timer: hands timed-out leases back,
    /// expires old readings and dead letters, runs a due interval flush.
    pub fn maintain(&self) -> Result<Maintenance, QueueError> {
        let mut st = self.lock();
        let now_ms = self.clock.unix_ms();
        let now = self.clock.monotonic();
        let mut done = self.housekeep(&mut st, now_ms, now)?;
        done.flushed = self.flush_due_locked(&mut st, now)?;
        Ok(done)
    }

    /// The queue's state from its counters and its oldest record; no scan.
    pub fn stats(&self) -> Result<Stats, QueueError> {
        let st = self.lock();
        let first = self.store.first(TreeId::Readings)?;
        let oldest_seq = first.as_ref().and_then(|(k, _)| record::seq_of(k).ok());
        let oldest_enqueued_at_ms = first
            .as_ref()
            .and_then(|(_, v)| record::decode_enqueued_at(v).ok());
        Ok(Stats {
            counters: st.counters,
            leased: st.leases.len(),
            oldest_enqueued_at_ms,
            oldest_seq,
            max_bytes: self.options.max_bytes,
        })
    }

    /// The sequence numbers leased right now, in order.
    pub fn leased_seqs(&self) -> Vec<u64> {
        self.lock().leases.seqs().collect()
    }

    /// Every pending reading, oldest first, streamed from disk (leased ones
    /// included). An undecodable record is an `Err` item; iteration goes on.
    pub fn pending(&self) -> PendingReadings {
        PendingReadings::new(self.store.iter_from(TreeId::Readings, &[]))
    }

    /// Every dead letter, oldest first, streamed from disk.
    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters::new(self.store.iter_from(TreeId::DeadLetters, &[]))
    }

    /// Removes every dead letter, in chunks (bounded memory), counted and
    /// flushed. Returns how many and their stored bytes.
    pub fn purge_dead_letters(&self) -> Result<(u64, u64), QueueError> {
        let mut st = self.lock();
        let (mut count, mut bytes) = (0u64, 0u64);
        loop {
            let mut c = st.counters;
            let mut writes = WriteSet::new();
            for entry in self
                .store
                .iter_from(TreeId::DeadLetters, &[])
                .take(space::CHUNK)
            {
                let (key, value) = entry?;
                let size = key.len() as u64 + value.len() as u64;
                writes.remove(TreeId::DeadLetters, key);
                c.remove_dead(size);
                c.dead_purged += 1;
                count += 1;
                bytes += size;
            }
            if writes.is_empty() {
                break;
            }
            self.commit_counted(&mut st, &mut writes, c)?;
        }
        self.flush_locked(&mut st)?;
        if count > 0 {
            tracing::warn!(count, bytes, "purged {count} dead letters");
        }
        Ok((count, bytes))
    }

    /// Hands back timed-out leases and expires old records.
    fn housekeep(
        &self,
        st: &mut State,
        now_ms: u64,
        now: Duration,
    ) -> Result<Maintenance, QueueError> {
        let (reclaimed, leases) = st.leases.reclaim(now);
        if reclaimed > 0 {
            tracing::info!(
                readings = reclaimed,
                leases,
                "{leases} leases timed out after {:?} without an ack; their {reclaimed} \
                 readings are pending again",
                self.options.lease_timeout
            );
        }
        let (expired, dead_expired) = self.expire(st, now_ms)?;
        Ok(Maintenance {
            reclaimed,
            expired,
            dead_expired,
            flushed: false,
        })
    }

    /// Applies the moves of undecodable records found while reading.
    fn apply_repairs(&self, st: &mut State, repairs: space::Repairs) -> Result<(), QueueError> {
        if repairs.is_empty() {
            return Ok(());
        }
        let mut c = st.counters;
        let mut writes = WriteSet::new();
        let seqs = repairs.apply(&mut writes, &mut c, true);
        self.commit_counted(st, &mut writes, c)?;
        st.leases.forget(seqs);
        Ok(())
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if st.dirty {
            if let Err(e) = self.store.flush() {
                tracing::error!("cannot flush the queue while closing it: {e}");
            }
        }
    }
}
