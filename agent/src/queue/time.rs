//! Readings stamped by a host clock that was not set (see
//! `crate::timekeeper`): which boot they belong to, and their restamp once
//! the time is known.
//!
//! - The boot: the `meta` tree's `boot` key holds the kernel's boot id and
//!   the first sequence number the queue gave in that boot
//!   ([`Queue::boot_first_seq`]). Readings from it on were stamped by this
//!   boot's host clock, so one correction fits them all.
//! - The restamp ([`Queue::restamp`]): every pending reading whose timestamp
//!   is not plausible gets, if it is of this boot and the correction is
//!   known, its timestamp (and its enqueue time) corrected; otherwise (an
//!   earlier boot's, which never learned its correction) the time it is
//!   sent and the tag `clock = "unknown"`. Done once when the time becomes
//!   known; the queue remembers whether it holds such readings (from the
//!   open's integrity pass and from appends), so it costs nothing otherwise.

use crate::reading::{is_plausible_time, CLOCK_UNKNOWN_TAG};
use crate::store::{TreeId, WriteSet};

use super::record;
use super::space::CHUNK;
use super::{Queue, QueueError, CLOCK_SET_AFTER_MS};

/// Meta-tree key of the boot record: `u64` BE first sequence number of the
/// boot, then the boot id's bytes.
const BOOT_KEY: &[u8] = b"boot";

/// What [`Queue::restamp`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restamped {
    /// Readings of this boot given their true time.
    pub corrected: usize,
    /// Readings of an earlier boot stamped with the send time and tagged
    /// `clock = "unknown"`.
    pub unknown: usize,
}

impl Queue {
    /// The first sequence number of the boot `boot_id` (the kernel's
    /// `/proc/sys/kernel/random/boot_id`): stored when the queue first saw
    /// this boot, so an agent restarted within the boot gets the same.
    pub fn boot_first_seq(&self, boot_id: &str) -> Result<u64, QueueError> {
        let mut st = self.lock();
        if let Some(stored) = self.store.get(TreeId::Meta, BOOT_KEY)? {
            if let (Some(seq), Some(id)) = (stored.get(..8), stored.get(8..)) {
                if id == boot_id.as_bytes() {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(seq);
                    return Ok(u64::from_be_bytes(be));
                }
            }
        }
        let first = st.counters.next_seq;
        let mut value = first.to_be_bytes().to_vec();
        value.extend_from_slice(boot_id.as_bytes());
        let mut writes = WriteSet::new();
        writes.insert(TreeId::Meta, BOOT_KEY, value);
        self.store.commit(&writes)?;
        self.flush_locked(&mut st)?;
        Ok(first)
    }

    /// Whether pending readings may have timestamps that are not plausible
    /// (stamped by a clock not yet set).
    pub fn has_implausible_times(&self) -> bool {
        self.lock().implausible
    }

    /// Restamps every pending reading whose timestamp is not plausible (see
    /// the module docs): of this boot (`seq >= boot_first_seq`), by
    /// `correction_ns` if known; else with `now_ns`, tagged `clock =
    /// "unknown"`. `now_ns` must be the true time. Leased readings are left
    /// alone (they are restamped next time). Flushed before it returns.
    pub fn restamp(
        &self,
        boot_first_seq: u64,
        correction_ns: Option<i64>,
        now_ns: i64,
    ) -> Result<Restamped, QueueError> {
        let mut st = self.lock();
        let mut done = Restamped::default();
        let mut left_leased = false;
        let mut from = Vec::new();
        loop {
            let mut c = st.counters;
            let mut writes = WriteSet::new();
            let mut last = None;
            for entry in self.store.iter_from(TreeId::Readings, &from).take(CHUNK) {
                let (key, value) = entry?;
                last = Some(key.clone());
                let (Ok(seq), Ok(mut rec)) = (record::seq_of(&key), record::decode_record(&value))
                else {
                    // Undecodable: the next lease moves it aside.
                    continue;
                };
                if is_plausible_time(rec.reading.timestamp_ns) {
                    continue;
                }
                if st.leases.is_leased(seq) {
                    left_leased = true;
                    continue;
                }
                match correction_ns
                    .filter(|_| seq >= boot_first_seq)
                    .map(|c| rec.reading.timestamp_ns.saturating_add(c))
                    .filter(|&t| is_plausible_time(t))
                {
                    Some(corrected) => {
                        let c_ms = correction_ns.unwrap_or(0) / 1_000_000;
                        rec.reading.timestamp_ns = corrected;
                        if rec.enqueued_at_ms < CLOCK_SET_AFTER_MS {
                            rec.enqueued_at_ms = rec.enqueued_at_ms.saturating_add_signed(c_ms);
                        }
                        done.corrected += 1;
                    }
                    None => {
                        rec.reading.timestamp_ns = now_ns;
                        let (k, v) = CLOCK_UNKNOWN_TAG;
                        rec.reading.tags.insert(k.to_owned(), v.to_owned());
                        done.unknown += 1;
                    }
                }
                let new = record::encode_record(rec.enqueued_at_ms, &rec.reading);
                c.pending_bytes = c
                    .pending_bytes
                    .saturating_sub(value.len() as u64)
                    .saturating_add(new.len() as u64);
                writes.insert(TreeId::Readings, key, new);
            }
            let Some(last) = last else {
                break;
            };
            if !writes.is_empty() {
                self.commit_counted(&mut st, &mut writes, c)?;
            }
            // The next chunk starts after the last key seen.
            from = last;
            from.push(0);
        }
        st.implausible = left_leased;
        if st.dirty {
            self.flush_locked(&mut st)?;
        }
        if done != Restamped::default() {
            tracing::info!(
                corrected = done.corrected,
                unknown = done.unknown,
                "readings stamped before the time was known: {} given their true time, {} of an \
                 earlier boot that never learned it stamped with the send time and tagged \
                 clock=unknown",
                done.corrected,
                done.unknown
            );
        }
        Ok(done)
    }
}
