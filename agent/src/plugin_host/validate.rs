//! One emitted `abi::Reading` checked and copied into a host [`Reading`].
//!
//! A plugin is untrusted input: every field is checked against the limits of
//! `abi.rs` before anything is copied, and a reading that breaks one is
//! dropped whole (never cut: a cut name would be another series). Each way
//! to fail is its own [`Rejection`], so the host can count them per reason.

use std::collections::BTreeMap;

use edge_agent_sdk::abi::{
    self, MAX_NAME_LEN, MAX_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_UNIT_LEN, MAX_VALUE_LEN,
    READING_URGENT, VALUE_BOOL, VALUE_BYTES, VALUE_F64, VALUE_I64, VALUE_STR,
};

use crate::reading::{Reading, Value};

/// 2000-01-01T00:00:00Z in ns since the Unix epoch: older timestamps come
/// from a clock that was never set (a gateway without RTC battery boots in
/// 1970), so they would be filed decades away from their real time.
pub const OLDEST_TIMESTAMP_NS: i64 = 946_684_800 * 1_000_000_000;

/// How far ahead of the host's clock a timestamp may be: clocks of sensors
/// and host drift apart, but a day ahead is a broken clock, not drift.
pub const MAX_FUTURE_NS: i64 = 24 * 3600 * 1_000_000_000;

/// What goes through the channel from the plugin host to the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginReading {
    /// The reading, its `source` the instance's configured name.
    pub reading: Reading,
    /// The plugin set `READING_URGENT`: upload without waiting for the next
    /// window (for the power manager).
    pub urgent: bool,
}

/// Why an emitted reading was dropped. One counter per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum Rejection {
    #[error("a null pointer with a non-zero length")]
    NullPointer,
    #[error("the name is not UTF-8")]
    NameNotUtf8,
    #[error("the name is empty")]
    NameEmpty,
    #[error("the name is longer than {MAX_NAME_LEN} bytes")]
    NameTooLong,
    #[error("the name holds a control character")]
    NameControlCharacter,
    #[error("the unit is not UTF-8")]
    UnitNotUtf8,
    #[error("the unit is longer than {MAX_UNIT_LEN} bytes")]
    UnitTooLong,
    #[error("the value kind is not one of VALUE_*")]
    UnknownKind,
    #[error("the number is NaN or infinite")]
    NotFinite,
    #[error("the string value is not UTF-8")]
    StrNotUtf8,
    #[error("the value is longer than {MAX_VALUE_LEN} bytes")]
    ValueTooLong,
    #[error("more than {MAX_TAGS} tags")]
    TooManyTags,
    #[error("a tag key is not UTF-8")]
    TagKeyNotUtf8,
    #[error("a tag key is empty")]
    TagKeyEmpty,
    #[error("a tag key is longer than {MAX_TAG_KEY_LEN} bytes")]
    TagKeyTooLong,
    #[error("a tag key appears twice")]
    TagKeyDuplicate,
    #[error("a tag value is not UTF-8")]
    TagValueNotUtf8,
    #[error("a tag value is longer than {MAX_TAG_VALUE_LEN} bytes")]
    TagValueTooLong,
    #[error("the timestamp is before 2000-01-01 (a clock never set?)")]
    TimestampTooOld,
    #[error("the timestamp is more than a day ahead of the host's clock")]
    TimestampInFuture,
}

impl Rejection {
    /// Every reason, in counter order (`ALL[r.index()] == r`).
    pub const ALL: [Rejection; 20] = [
        Rejection::NullPointer,
        Rejection::NameNotUtf8,
        Rejection::NameEmpty,
        Rejection::NameTooLong,
        Rejection::NameControlCharacter,
        Rejection::UnitNotUtf8,
        Rejection::UnitTooLong,
        Rejection::UnknownKind,
        Rejection::NotFinite,
        Rejection::StrNotUtf8,
        Rejection::ValueTooLong,
        Rejection::TooManyTags,
        Rejection::TagKeyNotUtf8,
        Rejection::TagKeyEmpty,
        Rejection::TagKeyTooLong,
        Rejection::TagKeyDuplicate,
        Rejection::TagValueNotUtf8,
        Rejection::TagValueTooLong,
        Rejection::TimestampTooOld,
        Rejection::TimestampInFuture,
    ];

    /// Its position in [`Rejection::ALL`] (the index of its counter).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Checks `raw` and copies it into a reading of `source`; a timestamp of 0
/// becomes `now_ns`, which is also what "sane" is measured against.
///
/// # Safety
/// Every non-null pointer in `raw` (name, unit, bytes, tags and the tags'
/// keys and values) must point at as many readable bytes (tags) as its
/// length says, for the duration of the call: the ABI's promise for the
/// arguments of `emit`. Null pointers with a non-zero length are refused
/// here, and `bytes` and `tags` are only read when `kind` and `tag_count`
/// say they are used.
pub unsafe fn validate(
    raw: &abi::Reading,
    source: &str,
    now_ns: i64,
) -> Result<PluginReading, Rejection> {
    // SAFETY (all the `unsafe` blocks below): forwarded to the caller.
    let name = text(unsafe { slice(raw.name) }?, Rejection::NameNotUtf8)?;
    if name.is_empty() {
        return Err(Rejection::NameEmpty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Rejection::NameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(Rejection::NameControlCharacter);
    }
    let unit = text(unsafe { slice(raw.unit) }?, Rejection::UnitNotUtf8)?;
    if unit.len() > MAX_UNIT_LEN {
        return Err(Rejection::UnitTooLong);
    }
    let value = match raw.kind {
        VALUE_F64 if raw.number.is_finite() => Value::F64(raw.number),
        VALUE_F64 => return Err(Rejection::NotFinite),
        VALUE_I64 => Value::I64(raw.integer),
        VALUE_BOOL => Value::Bool(raw.integer != 0),
        VALUE_STR | VALUE_BYTES => {
            let bytes = unsafe { slice(raw.bytes) }?;
            if bytes.len() > MAX_VALUE_LEN {
                return Err(Rejection::ValueTooLong);
            }
            if raw.kind == VALUE_STR {
                Value::Str(text(bytes, Rejection::StrNotUtf8)?.to_owned())
            } else {
                Value::Bytes(bytes.to_vec())
            }
        }
        _ => return Err(Rejection::UnknownKind),
    };
    let tags = unsafe { tags(raw) }?;
    let timestamp_ns = match raw.timestamp_ns {
        0 => now_ns,
        t if t < OLDEST_TIMESTAMP_NS => return Err(Rejection::TimestampTooOld),
        t if t > now_ns.saturating_add(MAX_FUTURE_NS) => return Err(Rejection::TimestampInFuture),
        t => t,
    };
    Ok(PluginReading {
        reading: Reading {
            source: source.to_owned(),
            name: name.to_owned(),
            unit: (!unit.is_empty()).then(|| unit.to_owned()),
            value,
            timestamp_ns,
            tags,
        },
        urgent: raw.flags & READING_URGENT != 0,
    })
}

/// # Safety
/// As [`validate`].
unsafe fn tags(raw: &abi::Reading) -> Result<BTreeMap<String, String>, Rejection> {
    let mut tags = BTreeMap::new();
    if raw.tag_count == 0 {
        return Ok(tags);
    }
    // Checked before the array is touched: a wild count must not make us
    // read past the plugin's array.
    if raw.tag_count > MAX_TAGS {
        return Err(Rejection::TooManyTags);
    }
    if raw.tags.is_null() {
        return Err(Rejection::NullPointer);
    }
    // SAFETY: the caller guarantees `tag_count` tags at `tags`; unaligned
    // reads cost nothing here and spare us a check a C plugin could fail.
    for i in 0..raw.tag_count {
        let tag = unsafe { raw.tags.add(i).read_unaligned() };
        let key = text(unsafe { slice(tag.key) }?, Rejection::TagKeyNotUtf8)?;
        if key.is_empty() {
            return Err(Rejection::TagKeyEmpty);
        }
        if key.len() > MAX_TAG_KEY_LEN {
            return Err(Rejection::TagKeyTooLong);
        }
        let value = text(unsafe { slice(tag.value) }?, Rejection::TagValueNotUtf8)?;
        if value.len() > MAX_TAG_VALUE_LEN {
            return Err(Rejection::TagValueTooLong);
        }
        if tags.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Rejection::TagKeyDuplicate);
        }
    }
    Ok(tags)
}

/// # Safety
/// As [`abi::Bytes::as_slice`], for the duration of the caller's call.
unsafe fn slice<'a>(bytes: abi::Bytes) -> Result<&'a [u8], Rejection> {
    // SAFETY: forwarded to the caller.
    unsafe { bytes.as_slice() }.ok_or(Rejection::NullPointer)
}

fn text(bytes: &[u8], not_utf8: Rejection) -> Result<&str, Rejection> {
    std::str::from_utf8(bytes).map_err(|_| not_utf8)
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
