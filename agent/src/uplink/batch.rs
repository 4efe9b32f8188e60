//! The batch packer: as many readings as fit into one message.
//!
//! [`Packer::pack`] pulls readings from a peekable iterator (the queue
//! streams them from disk; only the readings of the message being built are
//! held) and fills one message up to `uplink.max_payload_bytes` and
//! `uplink.max_readings`, in the iterator's order, never splitting a reading.
//! It returns one of:
//!
//! - [`Packed::Message`]: the encoded payload, the sequence numbers it holds
//!   (ack exactly these once delivery is confirmed), and why it stopped. A
//!   reading that did not fit is not taken: it stays in the iterator and
//!   starts the next message.
//! - [`Packed::Rejected`]: the next reading can never be sent: alone it
//!   encodes to more than `max_payload_bytes`, or the encoding cannot carry
//!   it (NaN in JSON, a timestamp SenML cannot express, ...). It is taken
//!   from the iterator and handed back, so that it cannot block the queue:
//!   **the caller dead-letters it** (counted and logged) and packs on.
//! - [`Packed::Empty`]: the iterator is exhausted.
//!
//! Sizes come from the encoder's [`Sizer`], which computes the exact encoded
//! size of the batch plus one reading without encoding it (each reading is
//! measured once; SenML's base fields are accounted for as they change), so
//! packing n readings costs O(n) and one final encode. Pure code: no I/O, no
//! clock.

use std::iter::Peekable;

use super::encode::{Encoder, Sizer, Unencodable};
use crate::reading::{Reading, Sequenced};

/// What a message may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `uplink.max_payload_bytes`.
    pub max_payload_bytes: usize,
    /// `uplink.max_readings`.
    pub max_readings: usize,
}

/// Packs readings into messages of one encoding.
#[derive(Debug, Clone)]
pub struct Packer {
    encoder: Encoder,
    limits: Limits,
}

/// One step of packing.
#[derive(Debug, Clone, PartialEq)]
pub enum Packed {
    /// One message to send.
    Message(Message),
    /// A reading that can never be sent; dead-letter it.
    Rejected(Rejected),
    /// Nothing left to pack.
    Empty,
}

/// An encoded message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The payload: at most `max_payload_bytes`.
    pub payload: Vec<u8>,
    /// The sequence numbers of the readings in it, in the order they were
    /// taken (SenML may order records differently; see `encode/senml/`):
    /// at least one, at most `max_readings`.
    pub seqs: Vec<u64>,
    /// Why the message ends, and so what is left.
    pub stop: Stop,
}

/// Why a message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The iterator is exhausted: nothing is left.
    Exhausted,
    /// It holds `max_readings` readings; the iterator may hold more.
    MaxReadings,
    /// Reading `next_seq` would have made the payload exceed
    /// `max_payload_bytes`; it stays in the iterator.
    MaxPayload { next_seq: u64 },
    /// Reading `next_seq` cannot be encoded; it stays in the iterator and
    /// the next call returns it as [`Packed::Rejected`].
    Unencodable { next_seq: u64 },
}

/// A reading taken from the iterator because it can never be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub reading: Sequenced,
    pub reason: Reject,
}

/// Why a reading can never be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reject {
    #[error(
        "alone it encodes to {encoded_bytes} bytes, more than uplink.max_payload_bytes \
         = {max_payload_bytes}"
    )]
    Oversized {
        encoded_bytes: usize,
        max_payload_bytes: usize,
    },
    #[error(transparent)]
    Unencodable(#[from] Unencodable),
}

impl Packer {
    pub fn new(encoder: Encoder, limits: Limits) -> Self {
        Packer { encoder, limits }
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Packs the next message from `readings`; see the module docs.
    pub fn pack<I>(&self, readings: &mut Peekable<I>) -> Packed
    where
        I: Iterator<Item = Sequenced>,
    {
        let max_bytes = self.limits.max_payload_bytes;
        let max_readings = self.limits.max_readings.max(1);
        let mut sizer: Sizer = self.encoder.sizer();
        let mut taken: Vec<Sequenced> = Vec::new();
        let stop = loop {
            let Some(next) = readings.peek() else {
                break Stop::Exhausted;
            };
            if let Err(reason) = self.encoder.check(&next.reading) {
                if taken.is_empty() {
                    return self.reject(readings, Reject::Unencodable(reason));
                }
                break Stop::Unencodable { next_seq: next.seq };
            }
            let candidate = sizer.measure(&next.reading);
            if candidate.size() > max_bytes {
                if taken.is_empty() {
                    let encoded_bytes = candidate.size();
                    return self.reject(
                        readings,
                        Reject::Oversized {
                            encoded_bytes,
                            max_payload_bytes: max_bytes,
                        },
                    );
                }
                break Stop::MaxPayload { next_seq: next.seq };
            }
            sizer.commit(candidate);
            // Peeked just above, so `next` yields it.
            if let Some(reading) = readings.next() {
                taken.push(reading);
            }
            if taken.len() >= max_readings {
                break Stop::MaxReadings;
            }
        };
        if taken.is_empty() {
            return Packed::Empty;
        }
        // Every reading passed `check` and `taken` is not empty, so this
        // cannot fail; the sizer's figure is exact (the tests check that).
        let readings: Vec<&Reading> = taken.iter().map(|s| &s.reading).collect();
        let mut payload = Vec::with_capacity(sizer.size());
        self.encoder.write_checked(&readings, &mut payload);
        debug_assert_eq!(payload.len(), sizer.size());
        debug_assert!(payload.len() <= max_bytes);
        Packed::Message(Message {
            payload,
            seqs: taken.iter().map(|s| s.seq).collect(),
            stop,
        })
    }

    fn reject<I>(&self, readings: &mut Peekable<I>, reason: Reject) -> Packed
    where
        I: Iterator<Item = Sequenced>,
    {
        match readings.next() {
            Some(reading) => Packed::Rejected(Rejected { reading, reason }),
            None => Packed::Empty,
        }
    }

    /// Packs all of `readings`, one [`Packed`] per step, until they run out.
    pub fn packs<I>(&self, readings: I) -> Packs<'_, I::IntoIter>
    where
        I: IntoIterator<Item = Sequenced>,
    {
        Packs {
            packer: self,
            readings: readings.into_iter().peekable(),
        }
    }
}

/// The messages and rejected readings of a whole stream; see
/// [`Packer::packs`]. Never yields [`Packed::Empty`].
#[derive(Debug)]
pub struct Packs<'a, I: Iterator<Item = Sequenced>> {
    packer: &'a Packer,
    readings: Peekable<I>,
}

impl<I: Iterator<Item = Sequenced>> Iterator for Packs<'_, I> {
    type Item = Packed;

    fn next(&mut self) -> Option<Packed> {
        match self.packer.pack(&mut self.readings) {
            Packed::Empty => None,
            packed => Some(packed),
        }
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
