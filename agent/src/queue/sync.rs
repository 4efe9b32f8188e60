//! When committed writes reach the disk (`queue.sync`): every batch, or at
//! most once an interval, and always before an ack returns. A flush is
//! sled's flush plus an fsync of its files ([`crate::store::Store::flush`]),
//! so "flushed" survives a power cut, not only a crash.

use std::time::Duration;

use super::{Counters, Queue, QueueError, State, SyncPolicy, COUNTERS_KEY};
use crate::store::{TreeId, WriteSet};

impl Queue {
    /// With `sync` an interval: flushes if something is unflushed and the
    /// interval has passed since the last flush. Returns whether it flushed.
    pub fn flush_if_due(&self) -> Result<bool, QueueError> {
        let mut st = self.lock();
        let now = self.clock.monotonic();
        self.flush_due_locked(&mut st, now)
    }

    /// Flushes if anything committed is not on the disk yet, whatever the
    /// interval; returns whether it flushed. For an owner that keeps the
    /// interval on a clock of its own.
    pub fn flush_if_dirty(&self) -> Result<bool, QueueError> {
        let mut st = self.lock();
        if !st.dirty {
            return Ok(false);
        }
        self.flush_locked(&mut st)?;
        Ok(true)
    }

    /// Flushes everything committed to disk now.
    pub fn flush(&self) -> Result<(), QueueError> {
        let mut st = self.lock();
        self.flush_locked(&mut st)
    }

    pub(super) fn flush_due_locked(
        &self,
        st: &mut State,
        now: Duration,
    ) -> Result<bool, QueueError> {
        let due = match self.options.sync {
            SyncPolicy::Batch => true,
            SyncPolicy::Interval(every) => now.saturating_sub(st.last_flush) >= every.get(),
        };
        if st.dirty && due {
            self.flush_locked(st)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Commits `writes` together with the counters they change, in one
    /// atomic write set, and adopts the counters: data and counters never
    /// disagree on disk, whatever moment a power cut picks.
    pub(super) fn commit_counted(
        &self,
        st: &mut State,
        writes: &mut WriteSet,
        counters: Counters,
    ) -> Result<(), QueueError> {
        writes.insert(TreeId::Meta, COUNTERS_KEY, counters.encode());
        self.store.commit(writes)?;
        st.counters = counters;
        st.dirty = true;
        Ok(())
    }

    pub(super) fn flush_locked(&self, st: &mut State) -> Result<(), QueueError> {
        self.store.flush()?;
        st.dirty = false;
        st.last_flush = self.clock.monotonic();
        Ok(())
    }
}
