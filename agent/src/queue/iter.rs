//! Replay: pending readings and dead letters streamed from disk in key
//! order, one record in memory at a time (`queue peek`, `queue export`, and
//! any consumer that must walk a backlog of any size).

use super::record::{self, DecodeError};
use super::QueueError;
use crate::reading::Reading;
use crate::store::{Entries, TreeId};

/// A pending reading as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Its sequence number.
    pub seq: u64,
    /// When the queue took it in, ms since the Unix epoch.
    pub enqueued_at_ms: u64,
    /// The reading.
    pub reading: Reading,
    /// Stored size: key plus record.
    pub bytes: u64,
}

/// A dead letter as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The reading's sequence number.
    pub seq: u64,
    /// When it was dead-lettered, ms since the Unix epoch.
    pub dead_at_ms: u64,
    /// Why the server rejected it.
    pub reason: String,
    /// When the queue took the reading in.
    pub enqueued_at_ms: u64,
    /// The reading.
    pub reading: Reading,
}

fn corrupt(tree: TreeId, key: Vec<u8>, error: DecodeError) -> QueueError {
    QueueError::Corrupt {
        tree: tree.name(),
        key,
        error,
    }
}

/// The pending readings, oldest first (see [`Queue::pending`](super::Queue::pending)).
#[derive(Debug)]
pub struct PendingReadings(Entries);

impl PendingReadings {
    pub(crate) fn new(entries: Entries) -> Self {
        PendingReadings(entries)
    }
}

impl Iterator for PendingReadings {
    type Item = Result<Pending, QueueError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.0.next()?;
        Some(entry.map_err(QueueError::from).and_then(|(key, value)| {
            let seq =
                record::seq_of(&key).map_err(|e| corrupt(TreeId::Readings, key.clone(), e))?;
            let bytes = (key.len() + value.len()) as u64;
            let record =
                record::decode_record(&value).map_err(|e| corrupt(TreeId::Readings, key, e))?;
            Ok(Pending {
                seq,
                enqueued_at_ms: record.enqueued_at_ms,
                reading: record.reading,
                bytes,
            })
        }))
    }
}

/// The dead letters, oldest first (see [`Queue::dead_letters`](super::Queue::dead_letters)).
#[derive(Debug)]
pub struct DeadLetters(Entries);

impl DeadLetters {
    pub(crate) fn new(entries: Entries) -> Self {
        DeadLetters(entries)
    }
}

impl Iterator for DeadLetters {
    type Item = Result<DeadLetter, QueueError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.0.next()?;
        Some(entry.map_err(QueueError::from).and_then(|(key, value)| {
            let seq =
                record::seq_of(&key).map_err(|e| corrupt(TreeId::DeadLetters, key.clone(), e))?;
            let dead =
                record::decode_dead(&value).map_err(|e| corrupt(TreeId::DeadLetters, key, e))?;
            Ok(DeadLetter {
                seq,
                dead_at_ms: dead.dead_at_ms,
                reason: dead.reason,
                enqueued_at_ms: dead.record.enqueued_at_ms,
                reading: dead.record.reading,
            })
        }))
    }
}
