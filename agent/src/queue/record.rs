//! The byte layout of what the queue stores: keys, reading records and
//! dead-letter records, described below. Pure functions over byte slices;
//! decoding checks every length against what is left and rejects trailing
//! bytes, so damaged bytes give a [`DecodeError`], never a panic or a huge
//! allocation.
//!
//! # On-disk format (version 1)
//!
//! One sled database in `<agent.data_dir>/queue` (opened by
//! [`crate::store`]), four trees:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `readings` | seq, `u64` big-endian (8 bytes) | reading record |
//! | `dead_letters` | seq of the reading, `u64` big-endian | dead-letter record |
//! | `meta` | `format` | one byte: the store's format version, `1` |
//! | `meta` | `counters` | version `u8` = 1, varint field count, then that many `u64` BE in the order of [`Counters::FIELDS`] |
//! | `meta` | `boot` | `u64` BE: the first sequence number of the boot, then the kernel's boot id (UTF-8); see `time.rs` |
//! | `corrupt` | tree name, `0x00`, the raw key | the raw value, as found |
//!
//! Big-endian keys make sled's byte order numeric order: iteration from the
//! first key is oldest first.
//!
//! **Reading record** (`varint` = LEB128 unsigned; `str` = varint length +
//! UTF-8 bytes):
//!
//! | field | encoding |
//! |---|---|
//! | version | `u8` = 1 |
//! | enqueued at | `u64` BE, ms since the Unix epoch (the queue's clock); `max_age` counts from here |
//! | timestamp | `i64` BE, ns since the Unix epoch (the reading's own) |
//! | source | `str` |
//! | name | `str` |
//! | unit | varint `0` = none, else `len + 1` followed by the UTF-8 bytes |
//! | value | tag `u8`: `0` f64 (`u64` BE of the IEEE-754 bits), `1` i64 (zigzag varint), `2` false, `3` true, `4` string (`str`), `5` bytes (varint length + bytes) |
//! | tags | varint count, then count × (`str` key, `str` value), keys strictly increasing |
//!
//! Nothing may follow the last field. A realistic reading
//! (`bme280/temperature`, a unit, two tags) takes about 80 bytes, 88 with
//! its key.
//!
//! **Dead-letter record**: version `u8` = 1, dead-lettered at `u64` BE ms,
//! reason `str`, then the reading record exactly as it was stored.
//!
//! A later version bumps the version byte of what it changes (and `format`
//! when old code must not read the store at all); this code refuses a
//! `format` newer than its own rather than touching it, and moves records
//! with an unknown version aside like any undecodable record.
//!
//! Sizes: every bound counts a record as key plus value bytes ("stored
//! bytes"); sled's own overhead on disk comes on top (measured by
//! `cargo run --release -p edge-bench -- queue`).

use std::collections::BTreeMap;

use crate::reading::{Reading, Value};

/// The version byte of reading and dead-letter records this code writes.
pub const RECORD_VERSION: u8 = 1;

/// Bytes of a key: a `u64` sequence number, big-endian, so that sled's
/// byte-wise key order is numeric order.
pub const KEY_LEN: u64 = 8;

const TAG_F64: u8 = 0;
const TAG_I64: u8 = 1;
const TAG_FALSE: u8 = 2;
const TAG_TRUE: u8 = 3;
const TAG_STR: u8 = 4;
const TAG_BYTES: u8 = 5;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record ends before a field does.
    #[error("record truncated while reading {0}")]
    Truncated(&'static str),
    /// The version byte is not one this code knows.
    #[error("unknown record version {0}")]
    Version(u8),
    /// A text field is not UTF-8.
    #[error("{0} is not UTF-8")]
    Utf8(&'static str),
    /// The value's type tag is unknown.
    #[error("unknown value tag {0}")]
    ValueTag(u8),
    /// A varint is longer than 10 bytes or overflows a u64.
    #[error("malformed varint in {0}")]
    Varint(&'static str),
    /// Bytes are left after the last field.
    #[error("{0} bytes left after the record")]
    Trailing(usize),
    /// Tags are not in strictly increasing key order (as encoding writes them).
    #[error("tags out of order")]
    TagOrder,
    /// A key is not 8 bytes.
    #[error("key of {0} bytes, expected 8")]
    Key(usize),
}

/// The key of sequence number `seq`.
pub fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence number of a key.
pub fn seq_of(key: &[u8]) -> Result<u64, DecodeError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| DecodeError::Key(key.len()))
}

/// A reading as stored, with the time the queue took it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Wall-clock time of the append, ms since the Unix epoch; what
    /// `queue.max_age` is measured from.
    pub enqueued_at_ms: u64,
    /// The reading.
    pub reading: Reading,
}

/// Encodes a reading record.
pub fn encode_record(enqueued_at_ms: u64, reading: &Reading) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&enqueued_at_ms.to_be_bytes());
    out.extend_from_slice(&reading.timestamp_ns.to_be_bytes());
    put_str(&mut out, &reading.source);
    put_str(&mut out, &reading.name);
    match &reading.unit {
        None => put_varint(&mut out, 0),
        Some(unit) => {
            put_varint(&mut out, unit.len() as u64 + 1);
            out.extend_from_slice(unit.as_bytes());
        }
    }
    match &reading.value {
        Value::F64(v) => {
            out.push(TAG_F64);
            out.extend_from_slice(&v.to_bits().to_be_bytes());
        }
        Value::I64(v) => {
            out.push(TAG_I64);
            put_varint(&mut out, zigzag(*v));
        }
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Str(s) => {
            out.push(TAG_STR);
            put_str(&mut out, s);
        }
        Value::Bytes(b) => {
            out.push(TAG_BYTES);
            put_bytes(&mut out, b);
        }
    }
    put_varint(&mut out, reading.tags.len() as u64);
    for (k, v) in &reading.tags {
        put_str(&mut out, k);
        put_str(&mut out, v);
    }
    out
}

/// Decodes a reading record.
pub fn decode_record(bytes: &[u8]) -> Result<Record, DecodeError> {
    let mut r = Reader { rest: bytes };
    let enqueued_at_ms = header(&mut r)?;
    let timestamp_ns = i64::from_be_bytes(r.array("timestamp")?);
    let source = r.string("source")?;
    let name = r.string("name")?;
    let unit = match r.varint("unit")? {
        0 => None,
        n => Some(r.utf8(n - 1, "unit")?),
    };
    let value = match r.byte("value")? {
        TAG_F64 => Value::F64(f64::from_bits(u64::from_be_bytes(r.array("value")?))),
        TAG_I64 => Value::I64(unzigzag(r.varint("value")?)),
        TAG_FALSE => Value::Bool(false),
        TAG_TRUE => Value::Bool(true),
        TAG_STR => Value::Str(r.string("value")?),
        TAG_BYTES => {
            let n = r.varint("value")?;
            Value::Bytes(r.take(n, "value")?.to_vec())
        }
        other => return Err(DecodeError::ValueTag(other)),
    };
    let count = r.varint("tags")?;
    let mut tags = BTreeMap::new();
    for _ in 0..count {
        let k = r.string("tag name")?;
        let v = r.string("tag value")?;
        // Encoding writes a BTreeMap, so keys come strictly increasing.
        if tags.last_key_value().is_some_and(|(last, _)| *last >= k) {
            return Err(DecodeError::TagOrder);
        }
        tags.insert(k, v);
    }
    r.finish()?;
    Ok(Record {
        enqueued_at_ms,
        reading: Reading {
            source,
            name,
            unit,
            value,
            timestamp_ns,
            tags,
        },
    })
}

/// Only the enqueue time of a reading record (for expiry scans), after
/// checking its version.
pub fn decode_enqueued_at(bytes: &[u8]) -> Result<u64, DecodeError> {
    header(&mut Reader { rest: bytes })
}

fn header(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    match r.byte("version")? {
        RECORD_VERSION => Ok(u64::from_be_bytes(r.array("enqueue time")?)),
        other => Err(DecodeError::Version(other)),
    }
}

/// A dead letter: a reading the server rejected for good, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadRecord {
    /// When it was dead-lettered, ms since the Unix epoch.
    pub dead_at_ms: u64,
    /// The reason the uplink gave.
    pub reason: String,
    /// The reading's record, as it was in the readings tree.
    pub record: Record,
}

/// Encodes a dead-letter record around the reading's stored record bytes.
pub fn encode_dead(dead_at_ms: u64, reason: &str, record_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record_bytes.len() + reason.len() + 12);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&dead_at_ms.to_be_bytes());
    put_str(&mut out, reason);
    out.extend_from_slice(record_bytes);
    out
}

/// Decodes a dead-letter record.
pub fn decode_dead(bytes: &[u8]) -> Result<DeadRecord, DecodeError> {
    let mut r = Reader { rest: bytes };
    let dead_at_ms = header(&mut r)?;
    let reason = r.string("reason")?;
    let record = decode_record(r.rest)?;
    Ok(DeadRecord {
        dead_at_ms,
        reason,
        record,
    })
}

/// The enqueue time of the reading inside a dead-letter record (dead letters
/// expire by the age of their reading, like pending readings).
pub fn decode_dead_enqueued_at(bytes: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader { rest: bytes };
    header(&mut r)?;
    let n = r.varint("reason")?;
    r.take(n, "reason")?;
    decode_enqueued_at(r.rest)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// A cursor over a record's bytes; every read checks what is left.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated(what))?;
        if n > self.rest.len() {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.take(1, what)?
            .first()
            .copied()
            .ok_or(DecodeError::Truncated(what))
    }

    fn array(&mut self, what: &'static str) -> Result<[u8; 8], DecodeError> {
        <[u8; 8]>::try_from(self.take(8, what)?).map_err(|_| DecodeError::Truncated(what))
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut n: u64 = 0;
        for i in 0..10 {
            let b = self.byte(what)?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && bits > 1 {
                return Err(DecodeError::Varint(what));
            }
            n |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(DecodeError::Varint(what))
    }

    fn utf8(&mut self, n: u64, what: &'static str) -> Result<String, DecodeError> {
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Utf8(what))
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let n = self.varint(what)?;
        self.utf8(n, what)
    }

    fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reading(value: Value) -> Reading {
        Reading {
            source: "bme280".into(),
            name: "bme280/temperature".into(),
            unit: Some("Cel".into()),
            value,
            timestamp_ns: 1_732_000_000_123_456_789,
            tags: BTreeMap::from([("room".into(), "lab".into())]),
        }
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let r = Reading {
            source: "s".into(),
            name: "n".into(),
            unit: None,
            value: Value::Bool(true),
            timestamp_ns: -1,
            tags: BTreeMap::new(),
        };
        let bytes = encode_record(0x0102, &r);
        let mut expected = vec![1, 0, 0, 0, 0, 0, 0, 0x01, 0x02];
        expected.extend_from_slice(&[0xff; 8]);
        expected.extend_from_slice(&[1, b's', 1, b'n', 0, TAG_TRUE, 0]);
        assert_eq!(bytes, expected);
        assert_eq!(key(258), [0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn every_value_type_round_trips() {
        for value in [
            Value::F64(21.5),
            Value::F64(f64::NAN),
            Value::I64(i64::MIN),
            Value::I64(-1),
            Value::I64(i64::MAX),
            Value::Bool(false),
            Value::Str("ok ✓".into()),
            Value::Bytes(vec![0, 255, 10]),
        ] {
            let r = reading(value);
            let decoded = decode_record(&encode_record(7, &r)).unwrap();
            assert_eq!(decoded.enqueued_at_ms, 7);
            // NaN != NaN: compare the encodings instead.
            assert_eq!(encode_record(7, &decoded.reading), encode_record(7, &r));
        }
    }

    #[test]
    fn a_realistic_reading_takes_about_eighty_bytes() {
        let bytes = encode_record(1, &reading(Value::F64(21.5)));
        assert!((50..=90).contains(&bytes.len()), "{}", bytes.len());
    }

    #[test]
    fn dead_letters_keep_the_record_and_the_reason() {
        let r = reading(Value::I64(3));
        let record = encode_record(11, &r);
        let dead = encode_dead(12, "400 Bad Request", &record);
        let decoded = decode_dead(&dead).unwrap();
        assert_eq!(decoded.dead_at_ms, 12);
        assert_eq!(decoded.reason, "400 Bad Request");
        assert_eq!(decoded.record.reading, r);
        assert_eq!(decode_dead_enqueued_at(&dead), Ok(11));
    }

    #[test]
    fn damaged_records_are_errors() {
        let good = encode_record(1, &reading(Value::Str("x".into())));
        assert_eq!(decode_record(&[9, 0]).unwrap_err(), DecodeError::Version(9));
        assert!(decode_record(&[]).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode_record(&trailing), Err(DecodeError::Trailing(1)));
        for cut in 0..good.len() {
            assert!(decode_record(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(seq_of(&[1, 2, 3]), Err(DecodeError::Key(3)));
    }

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<f64>().prop_map(Value::F64),
            any::<i64>().prop_map(Value::I64),
            any::<bool>().prop_map(Value::Bool),
            ".{0,20}".prop_map(Value::Str),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        ]
    }

    fn any_reading() -> impl Strategy<Value = Reading> {
        (
            ".{0,12}",
            ".{0,24}",
            proptest::option::of(".{0,4}"),
            any_value(),
            any::<i64>(),
            proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..3),
        )
            .prop_map(|(source, name, unit, value, timestamp_ns, tags)| Reading {
                source,
                name,
                unit,
                value,
                timestamp_ns,
                tags,
            })
    }

    proptest! {
        #[test]
        fn any_reading_round_trips(r in any_reading(), at in any::<u64>()) {
            let bytes = encode_record(at, &r);
            let back = decode_record(&bytes).unwrap();
            prop_assert_eq!(back.enqueued_at_ms, at);
            prop_assert_eq!(encode_record(at, &back.reading), bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_record(&bytes);
            let _ = decode_dead(&bytes);
            let _ = decode_dead_enqueued_at(&bytes);
        }

        #[test]
        fn one_flipped_byte_never_panics(r in any_reading(), at in 0usize..200, bit in 0u8..8) {
            let mut bytes = encode_record(1, &r);
            let i = at % bytes.len();
            bytes[i] ^= 1 << bit;
            let _ = decode_record(&bytes);
        }
    }
}
