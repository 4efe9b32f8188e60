//! The queue's persisted counters: what is in it now (so nothing needs a
//! full scan to answer "how much is pending") and what happened to it over
//! its life (so no drop, expiry or dead letter is silent). They live in one
//! value of the meta tree and are written in the same transaction as the
//! data they count, so a crash can never separate the two.
//!
//! Encoding (`meta` key `counters`): a version byte (1), a varint field
//! count `n`, then `n` big-endian `u64`s in the order of [`Counters::FIELDS`].
//! A later version appends fields: an older reader ignores the extra ones, a
//! newer reader takes missing ones as 0.

use super::record::DecodeError;

/// Version byte of the counters value.
const COUNTERS_VERSION: u8 = 1;

/// Every counter the queue keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// The sequence number the next appended reading gets.
    pub next_seq: u64,
    /// Readings waiting for the uplink (leased ones included).
    pub pending_count: u64,
    /// Their size: key plus record, as `queue.max_bytes` counts.
    pub pending_bytes: u64,
    /// Dead letters held now.
    pub dead_count: u64,
    /// Their size, counted against `queue.max_bytes` too.
    pub dead_bytes: u64,
    /// Readings ever appended.
    pub appended: u64,
    /// Readings ever acked (confirmed by the uplink and removed).
    pub acked: u64,
    /// Pending readings dropped to make room (`on_full = "drop_oldest"`).
    pub dropped: u64,
    /// New readings refused (`on_full = "reject_new"`, or one reading larger
    /// than `max_bytes` on its own).
    pub rejected: u64,
    /// Pending readings removed for being older than `max_age`.
    pub expired: u64,
    /// Readings ever moved to the dead letters.
    pub dead_lettered: u64,
    /// Dead letters dropped to make room for new readings.
    pub dead_dropped: u64,
    /// Dead letters removed for being older than `max_age`.
    pub dead_expired: u64,
    /// Dead letters removed by `queue purge --dead-letters`.
    pub dead_purged: u64,
    /// Records that could not be decoded and were moved to the corrupt tree.
    pub corrupt: u64,
}

impl Counters {
    /// Field names in encoding order (also the JSON keys of `queue stats`).
    pub const FIELDS: [&'static str; 15] = [
        "next_seq",
        "pending_count",
        "pending_bytes",
        "dead_count",
        "dead_bytes",
        "appended",
        "acked",
        "dropped",
        "rejected",
        "expired",
        "dead_lettered",
        "dead_dropped",
        "dead_expired",
        "dead_purged",
        "corrupt",
    ];

    /// The values in the order of [`Counters::FIELDS`].
    pub fn values(&self) -> [u64; 15] {
        [
            self.next_seq,
            self.pending_count,
            self.pending_bytes,
            self.dead_count,
            self.dead_bytes,
            self.appended,
            self.acked,
            self.dropped,
            self.rejected,
            self.expired,
            self.dead_lettered,
            self.dead_dropped,
            self.dead_expired,
            self.dead_purged,
            self.corrupt,
        ]
    }

    fn from_values(v: [u64; 15]) -> Self {
        let [next_seq, pending_count, pending_bytes, dead_count, dead_bytes, appended, acked, dropped, rejected, expired, dead_lettered, dead_dropped, dead_expired, dead_purged, corrupt] =
            v;
        Counters {
            next_seq,
            pending_count,
            pending_bytes,
            dead_count,
            dead_bytes,
            appended,
            acked,
            dropped,
            rejected,
            expired,
            dead_lettered,
            dead_dropped,
            dead_expired,
            dead_purged,
            corrupt,
        }
    }

    /// What `queue.max_bytes` bounds.
    pub fn used_bytes(&self) -> u64 {
        self.pending_bytes.saturating_add(self.dead_bytes)
    }

    /// The meta-tree value.
    pub fn encode(&self) -> Vec<u8> {
        let values = self.values();
        let mut out = Vec::with_capacity(2 + 8 * values.len());
        out.push(COUNTERS_VERSION);
        out.push(values.len() as u8);
        for v in values {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Reads a meta-tree value.
    pub fn decode(bytes: &[u8]) -> Result<Counters, DecodeError> {
        let (&version, rest) = bytes
            .split_first()
            .ok_or(DecodeError::Truncated("counters version"))?;
        if version != COUNTERS_VERSION {
            return Err(DecodeError::Version(version));
        }
        // The count is a varint; below 128 fields it is this one byte.
        let (&n, rest) = rest
            .split_first()
            .ok_or(DecodeError::Truncated("counters length"))?;
        if n >= 0x80 {
            return Err(DecodeError::Varint("counters length"));
        }
        let n = usize::from(n);
        if rest.len() != 8 * n {
            return Err(if rest.len() < 8 * n {
                DecodeError::Truncated("counters")
            } else {
                DecodeError::Trailing(rest.len() - 8 * n)
            });
        }
        let mut values = [0u64; 15];
        for (slot, chunk) in values.iter_mut().zip(rest.chunks_exact(8)) {
            let mut be = [0u8; 8];
            be.copy_from_slice(chunk);
            *slot = u64::from_be_bytes(be);
        }
        Ok(Counters::from_values(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_and_tolerate_added_fields() {
        let c = Counters {
            next_seq: 1 << 50,
            pending_count: 3,
            corrupt: 9,
            ..Counters::default()
        };
        assert_eq!(Counters::decode(&c.encode()), Ok(c));

        // A later version with one more field: the known ones still read.
        let mut longer = c.encode();
        longer[1] += 1;
        longer.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(Counters::decode(&longer), Ok(c));

        // An earlier one with fewer fields: the missing ones are 0.
        let mut shorter = c.encode();
        shorter[1] = 2;
        shorter.truncate(2 + 16);
        assert_eq!(
            Counters::decode(&shorter),
            Ok(Counters {
                next_seq: 1 << 50,
                pending_count: 3,
                ..Counters::default()
            })
        );
    }

    #[test]
    fn damaged_counters_are_errors() {
        let good = Counters::default().encode();
        assert!(Counters::decode(&[]).is_err());
        assert!(Counters::decode(&good[..good.len() - 1]).is_err());
        let mut bad = good.clone();
        bad[0] = 2;
        assert_eq!(Counters::decode(&bad), Err(DecodeError::Version(2)));
    }
}
