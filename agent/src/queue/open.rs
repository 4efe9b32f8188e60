//! Opening a queue, and the repairs that make a crash or a damaged record
//! harmless.
//!
//! In [`OpenMode::Agent`] the store is opened with an integrity pass: every
//! record of every tree is read once, in key order (bounded memory). That
//! makes sled verify the checksum of every page now, while a damaged store
//! can still be moved aside whole, rather than fail a lease hours later; it
//! decodes every record, so undecodable ones are moved to the `corrupt`
//! tree before anything hands them out; and it recounts what is pending, so
//! the persisted counters are checked against the data at every start. This
//! is the only full scan the queue makes (its cost is the "reopen" figure
//! of the queue benchmark); steady-state operations never scan.
//!
//! The next sequence number is the largest of: the persisted one, one past
//! the largest key found anywhere (readings, dead letters, records moved
//! aside), and the current time in microseconds since the epoch. The last
//! one keeps sequence numbers growing even when the store went back in
//! time: replaced (moved aside as damaged, or deleted by hand), restored
//! from a backup, or cut short by sled's recovery, which drops the log from
//! the first damaged entry on (it cannot tell bit rot from a torn write),
//! taking the latest counters with it. It holds as long as the clock is
//! set and no store handed out more than one number per microsecond of its
//! life; the price is a gap in the numbers at each start, which consumers
//! must accept anyway (drops and expiry leave gaps too).

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::counters::Counters;
use super::lease::Leases;
use super::record::{self, DecodeError};
use super::space::{Repairs, CHUNK};
use super::{
    Clock, Options, Queue, QueueError, Recovery, State, COUNTERS_KEY, FORMAT_KEY, FORMAT_VERSION,
};
use crate::store::{OpenMode, Store, StoreError, TreeId, WriteSet};

/// What the integrity pass found.
#[derive(Debug, Default)]
struct Scan {
    pending_count: u64,
    pending_bytes: u64,
    dead_count: u64,
    dead_bytes: u64,
    /// The largest sequence number in any tree.
    max_seq: Option<u64>,
    /// Pending readings whose timestamps are not plausible (a host clock
    /// not yet set), to be restamped once the time is known.
    implausible: u64,
    /// Undecodable records: tree, key, why. Keys only, so that even a store
    /// whose every record is undecodable costs little memory here.
    corrupt: Vec<(TreeId, Vec<u8>, DecodeError)>,
}

impl Scan {
    fn seen_seq(&mut self, seq: u64) {
        self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
    }
}

/// Reads every record of every tree.
fn scan(store: &Store) -> Result<Scan, StoreError> {
    let mut scan = Scan::default();
    for entry in store.iter_from(TreeId::Readings, &[]) {
        let (key, value) = entry?;
        let seq = record::seq_of(&key);
        if let Ok(seq) = seq {
            scan.seen_seq(seq);
        }
        match seq.and_then(|_| record::decode_record(&value)) {
            Ok(rec) => {
                if !crate::reading::is_plausible_time(rec.reading.timestamp_ns) {
                    scan.implausible += 1;
                }
                scan.pending_count += 1;
                scan.pending_bytes += (key.len() + value.len()) as u64;
            }
            Err(error) => scan.corrupt.push((TreeId::Readings, key, error)),
        }
    }
    for entry in store.iter_from(TreeId::DeadLetters, &[]) {
        let (key, value) = entry?;
        let seq = record::seq_of(&key);
        if let Ok(seq) = seq {
            scan.seen_seq(seq);
        }
        match seq.and_then(|_| record::decode_dead(&value)) {
            Ok(_) => {
                scan.dead_count += 1;
                scan.dead_bytes += (key.len() + value.len()) as u64;
            }
            Err(error) => scan.corrupt.push((TreeId::DeadLetters, key, error)),
        }
    }
    for entry in store.iter_from(TreeId::Corrupt, &[]) {
        let (key, _) = entry?;
        // `<tree>\0<raw key>`: a sequence number moved aside is still used.
        if let Some(at) = key.iter().position(|&b| b == 0) {
            if let Ok(seq) = record::seq_of(&key[at + 1..]) {
                scan.seen_seq(seq);
            }
        }
    }
    for entry in store.iter_from(TreeId::Meta, &[]) {
        entry?;
    }
    Ok(scan)
}

impl Queue {
    /// Opens the queue in `dir` with the given clock: the general form of
    /// [`Queue::open`] (agent) and [`Queue::inspect`] (CLI), for tests and
    /// benchmarks that control time.
    pub fn open_with(
        dir: &Path,
        options: Options,
        clock: Arc<dyn Clock>,
        mode: OpenMode,
    ) -> Result<Queue, QueueError> {
        let mut scanned = None;
        let mut implausible = false;
        let store = Store::open(dir, mode, |store| {
            if mode == OpenMode::Agent {
                scanned = Some(scan(store)?);
            }
            Ok(())
        })?;
        let mut recovery = Recovery {
            moved_aside: store.moved_aside().cloned(),
            ..Recovery::default()
        };
        let agent = mode == OpenMode::Agent;
        let mut writes = WriteSet::new();
        let mut repairs = Repairs::default();

        let format = store.get(TreeId::Meta, FORMAT_KEY)?;
        match format.as_deref() {
            Some([FORMAT_VERSION]) => {}
            Some(&[found]) if found > FORMAT_VERSION => {
                return Err(QueueError::NewerFormat {
                    dir: dir.to_path_buf(),
                    found,
                    supported: FORMAT_VERSION,
                })
            }
            None => writes.insert(TreeId::Meta, FORMAT_KEY, vec![FORMAT_VERSION]),
            Some(other) => {
                let version = other.first().copied().unwrap_or_default();
                repairs.corrupt(
                    TreeId::Meta,
                    FORMAT_KEY.to_vec(),
                    other.to_vec(),
                    DecodeError::Version(version),
                );
                writes.insert(TreeId::Meta, FORMAT_KEY, vec![FORMAT_VERSION]);
            }
        }

        let stored = store.get(TreeId::Meta, COUNTERS_KEY)?;
        let fresh = stored.is_none() && format.is_none();
        let (mut counters, trusted) = match stored {
            None => (Counters::default(), false),
            Some(bytes) => match Counters::decode(&bytes) {
                Ok(c) => (c, true),
                Err(error) => {
                    tracing::warn!(
                        queue = %dir.display(),
                        "the queue's counters cannot be decoded ({error})"
                    );
                    repairs.corrupt(TreeId::Meta, COUNTERS_KEY.to_vec(), bytes, error);
                    (Counters::default(), false)
                }
            },
        };
        let before = counters;

        if let (true, Some(scan)) = (agent, scanned) {
            implausible = scan.implausible > 0;
            reconcile(
                &mut counters,
                trusted,
                fresh,
                &scan,
                clock.as_ref(),
                dir,
                &mut recovery,
            );
            // The format/counters repairs go with the first chunk.
            recovery.corrupt_moved = (scan.corrupt.len() + repairs.len()) as u64;
            for chunk in scan.corrupt.chunks(CHUNK) {
                for (tree, key, error) in chunk {
                    if let Some(value) = store.get(*tree, key)? {
                        repairs.corrupt(*tree, key.clone(), value, error.clone());
                    }
                }
                // Not counted: the scan left them out of the counts already.
                repairs.apply(&mut writes, &mut counters, false);
                writes.insert(TreeId::Meta, COUNTERS_KEY, counters.encode());
                store.commit(&writes)?;
                writes = WriteSet::new();
                repairs = Repairs::default();
            }
            repairs.apply(&mut writes, &mut counters, false);
            if counters != before || !writes.is_empty() {
                writes.insert(TreeId::Meta, COUNTERS_KEY, counters.encode());
            }
            store.commit(&writes)?;
        }

        let mut queue = Queue {
            store,
            options,
            clock,
            recovery,
            state: Mutex::new(State {
                counters,
                leases: Leases::default(),
                last_flush: std::time::Duration::ZERO,
                dirty: agent,
                implausible,
            }),
        };
        if agent {
            let now_ms = queue.clock.unix_ms();
            let mut st = queue.lock();
            let (expired, dead_expired) = queue.expire(&mut st, now_ms)?;
            queue.flush_locked(&mut st)?;
            drop(st);
            queue.recovery.expired = (expired + dead_expired) as u64;
        }
        Ok(queue)
    }
}

/// Sets the pending and dead-letter counts from the scan and the next
/// sequence number from everything known (see the module docs).
fn reconcile(
    c: &mut Counters,
    trusted: bool,
    fresh: bool,
    scan: &Scan,
    clock: &dyn Clock,
    dir: &Path,
    recovery: &mut Recovery,
) {
    let found = (
        scan.pending_count,
        scan.pending_bytes,
        scan.dead_count,
        scan.dead_bytes,
    );
    let held = (c.pending_count, c.pending_bytes, c.dead_count, c.dead_bytes);
    if trusted && held != found {
        tracing::warn!(
            queue = %dir.display(),
            "the queue's counters disagreed with its data (counted {} pending readings, \
             {} dead letters; the counters said {} and {}); recounted",
            found.0,
            found.2,
            held.0,
            held.2,
        );
        recovery.recounted = true;
    }
    if !trusted && !fresh {
        tracing::warn!(
            queue = %dir.display(),
            "the queue's counters were missing or unreadable: recounted {} pending readings \
             and {} dead letters from the data; the lifetime counters start again from 0",
            found.0,
            found.2,
        );
        recovery.recounted = true;
    }
    (c.pending_count, c.pending_bytes, c.dead_count, c.dead_bytes) = found;

    let mut next = c.next_seq;
    if let Some(max) = scan.max_seq {
        next = next.max(max.saturating_add(1));
    }
    next = next.max(clock.unix_ms().saturating_mul(1_000));
    c.next_seq = next;
}
