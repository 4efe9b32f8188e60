//! SenML (RFC 8428): one data model, written in two dialects, JSON
//! (`senml_json.rs`) and CBOR (`senml_cbor.rs`). This file decides what goes
//! into a pack; the dialects only spell it.
//!
//! # What a pack holds
//!
//! One record per reading, with exactly one value field:
//!
//! | reading | record |
//! |---|---|
//! | `device`, `source`, `name` | resolved name `<device>:<source>/<name>` (`<device>:` left out when there is no device id, `<source>/` when the source is empty) |
//! | `unit` | `u` (or inherited from `bu`); no unit, no `u` |
//! | `F64`, `I64` | `v` |
//! | `Bool` | `vb` |
//! | `Str` | `vs` |
//! | `Bytes` | `vd` (base64url without padding in JSON, a byte string in CBOR, §5 and §6) |
//! | `timestamp_ns` | `bt` + `t`, in seconds |
//! | `tags` | extension field `tags`: `k=v,k=v` sorted by key, `\`, `,` and `=` escaped with `\` |
//!
//! # Base fields: the same bytes only once
//!
//! Record order carries no meaning in a pack (each record has its own time),
//! so records are written grouped: readings without a unit first, then by
//! unit, then by name (input order within a group). The packer reports
//! sequence numbers separately. Base fields apply from their record on,
//! until a later record sets them again (§4.1), which the groups use:
//!
//! - `bt` (base time) is the first reading's timestamp in seconds, in the
//!   first record: an integer when it is a whole second, else the nearest
//!   double. Each record's `t` is its offset from the first reading (negative
//!   for older ones), left out when zero, an integer when it is a whole
//!   number of seconds: readings sampled at a fixed interval carry small
//!   integers (1 to 3 bytes in CBOR) instead of 9-byte doubles, whatever the
//!   fraction of a second they started at. `bt` is fixed by the first
//!   reading, so it never changes while the packer adds readings.
//!   Precision: SenML times are doubles of seconds, so a consumer resolves a
//!   time to about a quarter of a microsecond today (2 µs in 2262); whole
//!   seconds stay exact.
//! - Names, the cheapest of three ways: every record with its whole name in
//!   `n`; or `bn` = the prefix common to all names, cut after a `:` or `/`
//!   (typically `"<device>:"`), in the first record and the rest in `n`; or, when series
//!   have several samples each (the usual batch), `bn` = the whole name at
//!   the start of each group and no `n` at all, so a name is sent once per
//!   message instead of once per reading.
//! - `bu` (base unit) at the start of a unit's group when that is cheaper
//!   than `u` in each of its records (two records or more, in practice).
//!   SenML cannot take a base unit back, which is why readings without a
//!   unit come first.
//! - `bv`/`bs` (base value, base sum) are not used: adding a base value to a
//!   float is not exact, and readings carry no sums. `bver` is left out
//!   (version 10, the default).
//!
//! # Decisions
//!
//! - **Integers beyond 2^53.** `I64` values are written as exact integers
//!   (JSON digits, CBOR major type 0/1), never rounded by us. RFC 8428 makes
//!   `v` a double, so a consumer that converts to `f64` rounds values beyond
//!   ±2^53; one that keeps integers (serde_json, ciborium, most CBOR
//!   libraries) gets them exactly. Turning them into strings would change the
//!   field's type, which is worse.
//! - **Names.** The resolved name must match `[A-Za-z0-9][-:./_A-Za-z0-9]*`
//!   (§4.5.1) or a strict consumer rejects the whole pack. A name that does
//!   not (unicode, spaces, a leading `_`) is written with each other
//!   character replaced by `_` (and an `x` in front when it does not start
//!   with a letter or digit), and the original goes into the extension field
//!   `rawname`, so nothing is lost and the pack stays valid.
//! - **Extension fields** (`tags`, `rawname`) are text labels that match the
//!   CDDL's regular labels (§11: not starting with `b`, which would make them
//!   base fields) and do not end in `_`, so a consumer that does not know
//!   them must ignore them (§4.4) and still reads every measurement. In CBOR
//!   they are text keys, as §6 says extensions are. They describe a reading;
//!   a series is identified by its name.
//! - **Old timestamps.** Times below 2^28 s (before 1978-07-04T21:24:16Z)
//!   mean "relative to now" in SenML (§4.5.3); a reading stamped by a clock
//!   that was never set would silently become "a few minutes ago". Such a
//!   reading is refused (`Unencodable::BeforeSenmlEpoch`) and dead-lettered
//!   by the caller.
//! - **Floats.** CBOR writes every number in the shortest exact form: an
//!   integer when the value is whole and that is not longer, else the
//!   narrowest float width that holds it (so converting back to `f64` gives
//!   the same value, §6); NaN and ±∞ as half-precision floats. JSON writes
//!   the shortest text that reads back as the same double and cannot carry
//!   NaN or ±∞: such readings are refused (`Unencodable::NonFinite`).
//!
//! The files: this one the record model every part shares (labels, values,
//! how a dialect spells them, a reading prepared as a record, times);
//! `names.rs` valid names and the `tags` text; `sizer.rs` the base fields
//! chosen and a pack's size known exactly as it grows; `write.rs` the pack
//! written from the sizer's plan.

mod names;
mod sizer;
mod write;

#[cfg(test)]
mod tests;

use super::sink::{size_of, Out};
use crate::reading::{Reading, Value};
use names::{full_name, tags_text};
pub(crate) use sizer::{SenmlCandidate, SenmlSizer};
pub(crate) use write::write;

const NS_PER_S: i64 = 1_000_000_000;

/// The earliest timestamp SenML can carry as an absolute time: 2^28 s after
/// the epoch (RFC 8428 §4.5.3).
pub(crate) const EARLIEST_NS: i64 = (1 << 28) * NS_PER_S;

/// The fields this encoder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    BaseName,
    BaseTime,
    BaseUnit,
    Name,
    Unit,
    Value,
    StringValue,
    BoolValue,
    DataValue,
    Time,
    /// Extension: the reading's tags.
    Tags,
    /// Extension: the original name, when it had to be changed to be valid.
    RawName,
}

impl Label {
    /// The JSON label (RFC 8428 Table 1), and the text label of extensions.
    pub(crate) const fn text(self) -> &'static str {
        match self {
            Label::BaseName => "bn",
            Label::BaseTime => "bt",
            Label::BaseUnit => "bu",
            Label::Name => "n",
            Label::Unit => "u",
            Label::Value => "v",
            Label::StringValue => "vs",
            Label::BoolValue => "vb",
            Label::DataValue => "vd",
            Label::Time => "t",
            Label::Tags => "tags",
            Label::RawName => "rawname",
        }
    }

    /// The CBOR label (RFC 8428 Table 4); `None` for extensions, which CBOR
    /// writes with their text label.
    pub(crate) const fn cbor(self) -> Option<i64> {
        match self {
            Label::BaseName => Some(-2),
            Label::BaseTime => Some(-3),
            Label::BaseUnit => Some(-4),
            Label::Name => Some(0),
            Label::Unit => Some(1),
            Label::Value => Some(2),
            Label::StringValue => Some(3),
            Label::BoolValue => Some(4),
            Label::Time => Some(6),
            Label::DataValue => Some(8),
            Label::Tags | Label::RawName => None,
        }
    }
}

/// A field's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    Text(&'a str),
    Data(&'a [u8]),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// How a dialect spells a pack. Sizes are the bytes of the separators and
/// frames, so that a pack's size adds up from its fields.
pub(crate) trait Dialect {
    /// Bytes between two fields of a record.
    const FIELD_SEP: usize;
    /// Bytes between two records.
    const RECORD_SEP: usize;
    /// Bytes that open and close a record of at most 23 fields.
    const RECORD_FRAME: usize;

    /// Bytes that open and close a pack of `records` records.
    fn pack_frame(records: usize) -> usize;
    /// The size of a text value of `len` bytes that needs no escaping (the
    /// names, which are ASCII from a set that JSON does not escape).
    fn plain_text_len(len: usize) -> usize;

    fn pack_start(out: &mut impl Out, records: usize);
    fn pack_end(out: &mut impl Out);
    fn record_sep(out: &mut impl Out);
    fn record_start(out: &mut impl Out, fields: usize);
    fn record_end(out: &mut impl Out);
    fn field_sep(out: &mut impl Out);
    fn key(out: &mut impl Out, label: Label);
    fn value(out: &mut impl Out, value: Val<'_>);
}

/// A field's size, including the separator that precedes it.
fn field_size<D: Dialect>(label: Label, value: Val<'_>) -> usize {
    size_of(|c| {
        D::key(c, label);
        D::value(c, value);
    }) + D::FIELD_SEP
}

/// A reading's record, everything but the base fields worked out.
struct Prepared<'a> {
    name: String,
    raw_name: Option<String>,
    unit: Option<&'a str>,
    value: (Label, Val<'a>),
    time_ns: i64,
    tags: Option<String>,
}

fn prepare<'a>(device: Option<&str>, r: &'a Reading) -> Prepared<'a> {
    let (name, raw_name) = full_name(device, r);
    let value = match &r.value {
        Value::F64(v) => (Label::Value, Val::Float(*v)),
        Value::I64(v) => (Label::Value, Val::Int(*v)),
        Value::Bool(v) => (Label::BoolValue, Val::Bool(*v)),
        Value::Str(v) => (Label::StringValue, Val::Text(v)),
        Value::Bytes(v) => (Label::DataValue, Val::Data(v)),
    };
    Prepared {
        name,
        raw_name,
        unit: r.unit.as_deref(),
        value,
        time_ns: r.timestamp_ns,
        tags: tags_text(&r.tags),
    }
}

/// The `bt` of a batch whose first reading was taken at `first_ns`.
fn base_time(first_ns: i64) -> Val<'static> {
    let (secs, nanos) = (first_ns.div_euclid(NS_PER_S), first_ns.rem_euclid(NS_PER_S));
    if nanos == 0 {
        Val::Int(secs)
    } else {
        // Both parts are exact doubles (|secs| < 2^34), so the sum rounds once.
        Val::Float(secs as f64 + nanos as f64 / 1e9)
    }
}

/// `t`: the offset from the first reading, or `None` when zero. Whole
/// seconds stay integers; otherwise the nearest double of the offset.
fn relative_time(time_ns: i64, first_ns: i64) -> Option<Val<'static>> {
    let delta = i128::from(time_ns) - i128::from(first_ns);
    if delta == 0 {
        None
    } else if delta % i128::from(NS_PER_S) == 0 {
        // |delta| < 2^64 ns, so the seconds fit an i64.
        Some(Val::Int((delta / i128::from(NS_PER_S)) as i64))
    } else {
        Some(Val::Float(delta as f64 / 1e9))
    }
}
