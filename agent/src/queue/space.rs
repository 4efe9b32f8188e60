//! Keeping the queue within its bounds: making room for new readings
//! (dead letters first, then the oldest pending readings), expiring old
//! ones, and moving undecodable records aside. Everything walks the trees
//! from their oldest key, in chunks of [`CHUNK`] per transaction, so memory
//! stays bounded however large the backlog.

use std::collections::VecDeque;

use super::counters::Counters;
use super::record::{self, DecodeError};
use super::{Appended, Options, Queue, QueueError, State, CLOCK_SET_AFTER_MS};
use crate::store::{Entries, Store, TreeId, WriteSet};
use crate::values::ByteSize;

/// Records removed per transaction by expiry and purges.
pub(crate) const CHUNK: usize = 1_000;

impl Counters {
    pub(crate) fn add_pending(&mut self, bytes: u64) {
        self.pending_count = self.pending_count.saturating_add(1);
        self.pending_bytes = self.pending_bytes.saturating_add(bytes);
    }

    // Saturating: counters come from disk, and a damaged value must not
    // turn into an overflow panic.
    pub(crate) fn remove_pending(&mut self, bytes: u64) {
        self.pending_count = self.pending_count.saturating_sub(1);
        self.pending_bytes = self.pending_bytes.saturating_sub(bytes);
    }

    pub(crate) fn add_dead(&mut self, bytes: u64) {
        self.dead_count = self.dead_count.saturating_add(1);
        self.dead_bytes = self.dead_bytes.saturating_add(bytes);
    }

    pub(crate) fn remove_dead(&mut self, bytes: u64) {
        self.dead_count = self.dead_count.saturating_sub(1);
        self.dead_bytes = self.dead_bytes.saturating_sub(bytes);
    }
}

/// The oldest records that could make room, in the order they go: dead
/// letters, then pending readings on disk, then readings appended earlier
/// in the same batch (a batch larger than `max_bytes` drops its own head).
pub(crate) struct Room<'a> {
    store: &'a Store,
    dead: Option<Entries>,
    pending: Option<Entries>,
    pending_on_disk_done: bool,
    appended: VecDeque<(u64, u64)>,
}

impl<'a> Room<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Room {
            store,
            dead: None,
            pending: None,
            pending_on_disk_done: false,
            appended: VecDeque::new(),
        }
    }

    /// The next dead letter to drop: key and stored size.
    pub(crate) fn next_dead(&mut self) -> Result<Option<(Vec<u8>, u64)>, QueueError> {
        let store = self.store;
        let dead = self
            .dead
            .get_or_insert_with(|| store.iter_from(TreeId::DeadLetters, &[]));
        match dead.next() {
            Some(entry) => {
                let (key, value) = entry?;
                let size = (key.len() + value.len()) as u64;
                Ok(Some((key, size)))
            }
            None => Ok(None),
        }
    }

    /// The next pending reading to drop: key and stored size.
    pub(crate) fn next_pending(&mut self) -> Result<Option<(Vec<u8>, u64)>, QueueError> {
        if !self.pending_on_disk_done {
            let store = self.store;
            let pending = self
                .pending
                .get_or_insert_with(|| store.iter_from(TreeId::Readings, &[]));
            match pending.next() {
                Some(entry) => {
                    let (key, value) = entry?;
                    let size = (key.len() + value.len()) as u64;
                    return Ok(Some((key, size)));
                }
                None => self.pending_on_disk_done = true,
            }
        }
        Ok(self
            .appended
            .pop_front()
            .map(|(seq, size)| (record::key(seq).to_vec(), size)))
    }

    /// A reading of the batch being appended, now the newest.
    pub(crate) fn appended(&mut self, seq: u64, size: u64) {
        self.appended.push_back((seq, size));
    }
}

/// Undecodable records found while reading, to be moved to the corrupt
/// tree.
#[derive(Debug, Default)]
pub(crate) struct Repairs {
    items: Vec<(TreeId, Vec<u8>, Vec<u8>, DecodeError)>,
}

impl Repairs {
    pub(crate) fn corrupt(
        &mut self,
        tree: TreeId,
        key: Vec<u8>,
        value: Vec<u8>,
        error: DecodeError,
    ) {
        self.items.push((tree, key, value, error));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds the moves to `writes` and counts them in `c`. `counted`: the
    /// records are included in the pending/dead counters (and so leave
    /// them). Returns the sequence numbers that left the readings tree.
    pub(crate) fn apply(self, writes: &mut WriteSet, c: &mut Counters, counted: bool) -> Vec<u64> {
        let mut seqs = Vec::new();
        let Some((tree, key, _, error)) = self.items.first() else {
            return seqs;
        };
        tracing::warn!(
            records = self.items.len(),
            "moved {} undecodable records aside to the `corrupt` tree (first: {} key {:02x?}: \
             {error}); they are kept raw and counted, not sent",
            self.items.len(),
            tree.name(),
            key,
        );
        for (tree, key, value, _) in self.items {
            let size = (key.len() + value.len()) as u64;
            if counted {
                match tree {
                    TreeId::Readings => c.remove_pending(size),
                    TreeId::DeadLetters => c.remove_dead(size),
                    TreeId::Meta | TreeId::Corrupt | TreeId::Modem => {}
                }
            }
            if tree == TreeId::Readings {
                if let Ok(seq) = record::seq_of(&key) {
                    seqs.push(seq);
                }
            }
            c.corrupt = c.corrupt.saturating_add(1);
            writes.insert(TreeId::Corrupt, corrupt_key(tree, &key), value);
            writes.remove(tree, key);
        }
        seqs
    }
}

/// The corrupt-tree key of `key` from `tree`: the tree's name, a zero byte,
/// the raw key.
pub(crate) fn corrupt_key(tree: TreeId, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tree.name().len() + 1 + key.len());
    out.extend_from_slice(tree.name().as_bytes());
    out.push(0);
    out.extend_from_slice(key);
    out
}

impl Queue {
    /// Expires pending readings and dead letters older than `max_age`,
    /// oldest first, stopping at the first one that is not (readings are
    /// appended in time order, so the rest are younger; after the clock
    /// was set back they wait their turn). Returns (readings, dead letters).
    pub(super) fn expire(&self, st: &mut State, now_ms: u64) -> Result<(usize, usize), QueueError> {
        let max_age_ms = u64::try_from(self.options.max_age.as_millis()).unwrap_or(u64::MAX);
        let expired = |at: u64| at >= CLOCK_SET_AFTER_MS && now_ms.saturating_sub(at) >= max_age_ms;
        let readings = self.expire_tree(st, TreeId::Readings, &expired)?;
        let dead = self.expire_tree(st, TreeId::DeadLetters, &expired)?;
        Ok((readings, dead))
    }

    fn expire_tree(
        &self,
        st: &mut State,
        tree: TreeId,
        expired: &dyn Fn(u64) -> bool,
    ) -> Result<usize, QueueError> {
        let mut total = 0;
        let mut seqs = Vec::new();
        loop {
            let mut c = st.counters;
            let mut writes = WriteSet::new();
            let mut repairs = Repairs::default();
            let mut seen = 0;
            let mut reached_young = false;
            for entry in self.store.iter_from(tree, &[]).take(CHUNK) {
                let (key, value) = entry?;
                seen += 1;
                let at = match tree {
                    TreeId::DeadLetters => record::decode_dead_enqueued_at(&value),
                    _ => record::decode_enqueued_at(&value),
                };
                let at = match at {
                    Ok(at) => at,
                    Err(error) => {
                        repairs.corrupt(tree, key, value, error);
                        continue;
                    }
                };
                if !expired(at) {
                    reached_young = true;
                    break;
                }
                let size = (key.len() + value.len()) as u64;
                if tree == TreeId::DeadLetters {
                    c.remove_dead(size);
                    c.dead_expired += 1;
                } else {
                    c.remove_pending(size);
                    c.expired += 1;
                    if let Ok(seq) = record::seq_of(&key) {
                        seqs.push(seq);
                    }
                }
                writes.remove(tree, key);
                total += 1;
            }
            seqs.extend(repairs.apply(&mut writes, &mut c, true));
            if writes.is_empty() {
                break;
            }
            self.commit_counted(st, &mut writes, c)?;
            if reached_young || seen < CHUNK {
                break;
            }
        }
        st.leases.forget(seqs.iter().copied());
        if total > 0 {
            let what = if tree == TreeId::DeadLetters {
                "dead letters"
            } else {
                "pending readings"
            };
            tracing::warn!(
                count = total,
                "expired {total} {what} older than max_age = {:?}",
                self.options.max_age
            );
        }
        Ok(total)
    }
}

/// Logs what an append had to drop or reject: one line each, not one per
/// reading.
pub(crate) fn log_append(out: &Appended, dropped_seqs: &[u64], options: &Options) {
    let max = ByteSize::bytes(options.max_bytes);
    if out.dead_dropped > 0 {
        tracing::warn!(
            count = out.dead_dropped,
            "queue full (max_bytes = {max}): dropped the {} oldest dead letters to make room",
            out.dead_dropped
        );
    }
    if out.dropped > 0 {
        let (first, last) = (
            dropped_seqs.iter().min().copied().unwrap_or_default(),
            dropped_seqs.iter().max().copied().unwrap_or_default(),
        );
        tracing::warn!(
            count = out.dropped,
            first_seq = first,
            last_seq = last,
            "queue full (max_bytes = {max}, on_full = drop_oldest): dropped the {} oldest \
             pending readings (seq {first}..={last}) to make room",
            out.dropped
        );
    }
    if out.rejected > 0 {
        tracing::warn!(
            count = out.rejected,
            "queue full (max_bytes = {max}, on_full = {}): rejected {} new readings",
            options.on_full,
            out.rejected
        );
    }
}
