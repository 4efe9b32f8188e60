//! Leases: which pending readings the uplink holds right now.
//!
//! Leases live in memory only. Persisting them would cost a write and an
//! fsync on flash per batch sent, for nothing: after a restart the uplink
//! session that held a lease is gone, its readings must be sent again
//! anyway (delivery is at-least-once; consumers drop duplicates by sequence
//! number), so every unacked reading is simply pending again.
//!
//! Bookkeeping is per reading (seq → lease id and deadline), not per lease,
//! so that a lease can be split (ack what was sent, release the rest) and a
//! late answer to a lease that timed out and was handed out again does the
//! right thing: a late ack still removes the readings (they were delivered),
//! a late release returns nothing (the readings belong to the new lease).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::reading::Sequenced;

/// Readings handed out to the uplink, to be acked, released or
/// dead-lettered (see [`Queue::lease`](super::Queue::lease)).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a lease holds its readings until it is acked, released or times out"]
pub struct Lease {
    id: u64,
    readings: Vec<Sequenced>,
    /// Stored size (key + record) of each reading, in the same order.
    sizes: Vec<u64>,
}

impl Lease {
    pub(crate) fn new(id: u64, readings: Vec<Sequenced>, sizes: Vec<u64>) -> Self {
        Lease {
            id,
            readings,
            sizes,
        }
    }

    /// The lease's number, unique within this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The readings, oldest first.
    pub fn readings(&self) -> &[Sequenced] {
        &self.readings
    }

    /// Their sequence numbers, oldest first.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.readings.iter().map(|r| r.seq)
    }

    /// How many readings.
    pub fn len(&self) -> usize {
        self.readings.len()
    }

    /// No readings (the queue had nothing to hand out).
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }

    /// Their stored size, key plus record, as `max_bytes` of
    /// [`Queue::lease`](super::Queue::lease) counts it.
    pub fn bytes(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// Splits after the first `n` readings: e.g. ack the part a message
    /// carried and release the rest. Both parts keep the lease's id and
    /// deadline.
    pub fn split_at(mut self, n: usize) -> (Lease, Lease) {
        let n = n.min(self.readings.len());
        let rest = Lease {
            id: self.id,
            readings: self.readings.split_off(n),
            sizes: self.sizes.split_off(n),
        };
        (self, rest)
    }

    pub(crate) fn sizes(&self) -> &[u64] {
        &self.sizes
    }
}

/// Who holds a leased reading, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hold {
    lease: u64,
    /// Monotonic time after which the reading is pending again.
    deadline: Duration,
}

/// Lease ids come from one counter per process, so that a lease of a
/// queue that was closed and reopened in the same process can never be
/// taken for a lease of the new one.
static NEXT_LEASE_ID: AtomicU64 = AtomicU64::new(1);

/// The leased readings of a queue.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    by_seq: BTreeMap<u64, Hold>,
}

impl Leases {
    /// A fresh lease id.
    pub(crate) fn next_id(&mut self) -> u64 {
        NEXT_LEASE_ID.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn is_leased(&self, seq: u64) -> bool {
        self.by_seq.contains_key(&seq)
    }

    /// How many readings are leased.
    pub(crate) fn len(&self) -> usize {
        self.by_seq.len()
    }

    /// The leased sequence numbers, in order.
    pub(crate) fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_seq.keys().copied()
    }

    pub(crate) fn hold(&mut self, lease: &Lease, deadline: Duration) {
        for seq in lease.seqs() {
            self.by_seq.insert(
                seq,
                Hold {
                    lease: lease.id,
                    deadline,
                },
            );
        }
    }

    /// Returns the readings `lease` still holds; how many.
    pub(crate) fn release(&mut self, lease: &Lease) -> usize {
        let mut n = 0;
        for seq in lease.seqs() {
            if self.by_seq.get(&seq).is_some_and(|h| h.lease == lease.id) {
                self.by_seq.remove(&seq);
                n += 1;
            }
        }
        n
    }

    /// Forgets readings that left the queue (acked, dropped, expired,
    /// dead-lettered, moved aside), whoever held them.
    pub(crate) fn forget(&mut self, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            self.by_seq.remove(&seq);
        }
    }

    /// Ends every hold whose deadline is at or before `now`; returns how
    /// many readings and how many distinct leases timed out.
    pub(crate) fn reclaim(&mut self, now: Duration) -> (usize, usize) {
        let before = self.by_seq.len();
        let mut leases = std::collections::BTreeSet::new();
        self.by_seq.retain(|_, hold| {
            let keep = hold.deadline > now;
            if !keep {
                leases.insert(hold.lease);
            }
            keep
        });
        (before - self.by_seq.len(), leases.len())
    }
}
