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
//! - `bn` (base name) is the longest common prefix of the records' names
//!   (character by character, not cut at a separator: SenML just concatenates),
//!   used only when it makes the pack smaller; a record whose name equals it
//!   has no `n`. Typically `"<device>:"`, or the whole name when every reading
//!   comes from one sensor.
//! - `bu` (base unit) is the unit that saves the most bytes, used only when it
//!   saves any (in practice: a unit shared by two or more records; ties go to
//!   the smaller unit string). SenML has no way to say "no unit" once a base
//!   unit applies, so when `bu` is used the records of readings *without* a
//!   unit come first and `bu` is set in the first record that has one
//!   (§4.1: a base field applies from its record on). Record order carries no
//!   meaning in a pack (each record has its own time); the packer reports
//!   sequence numbers separately.
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

use std::collections::BTreeMap;
use std::marker::PhantomData;

use super::sink::{size_of, Out};
use crate::reading::{Reading, Value};

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

/// Whether `name` is a valid resolved SenML name (RFC 8428 §4.5.1).
pub(crate) fn is_valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.chars().all(name_char)
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '/' | '_')
}

/// The resolved name of a reading, valid SenML, and the original when it
/// had to be changed to become valid.
pub(crate) fn full_name(device: Option<&str>, r: &Reading) -> (String, Option<String>) {
    let mut raw = String::with_capacity(
        device.map_or(0, |d| d.len() + 1) + r.source.len() + 1 + r.name.len(),
    );
    if let Some(device) = device {
        raw.push_str(device);
        raw.push(':');
    }
    if !r.source.is_empty() {
        raw.push_str(&r.source);
        raw.push('/');
    }
    raw.push_str(&r.name);
    if is_valid_name(&raw) {
        return (raw, None);
    }
    let mut name = String::with_capacity(raw.len() + 1);
    if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name.push('x');
    }
    name.extend(raw.chars().map(|c| if name_char(c) { c } else { '_' }));
    (name, Some(raw))
}

/// The `tags` extension's text: `k=v,k=v` in key order, with `\`, `,` and
/// `=` escaped by a `\`. `None` without tags.
pub(crate) fn tags_text(tags: &BTreeMap<String, String>) -> Option<String> {
    if tags.is_empty() {
        return None;
    }
    let mut text = String::new();
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        escape_tag(&mut text, k);
        text.push('=');
        escape_tag(&mut text, v);
    }
    Some(text)
}

fn escape_tag(text: &mut String, part: &str) {
    for c in part.chars() {
        if matches!(c, '\\' | ',' | '=') {
            text.push('\\');
        }
        text.push(c);
    }
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

/// The bytes of a record that do not depend on the base fields: its frame,
/// value, time, tags and raw name.
fn fixed_size<D: Dialect>(p: &Prepared<'_>, first_ns: i64) -> usize {
    let mut size = D::RECORD_FRAME - D::FIELD_SEP + field_size::<D>(p.value.0, p.value.1);
    if let Some(t) = relative_time(p.time_ns, first_ns) {
        size += field_size::<D>(Label::Time, t);
    }
    if let Some(tags) = &p.tags {
        size += field_size::<D>(Label::Tags, Val::Text(tags));
    }
    if let Some(raw) = &p.raw_name {
        size += field_size::<D>(Label::RawName, Val::Text(raw));
    }
    size
}

/// The `n` field for a name suffix of `len` bytes; nothing when empty.
fn name_size<D: Dialect>(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        size_of(|c| D::key(c, Label::Name)) + D::plain_text_len(len) + D::FIELD_SEP
    }
}

/// What a pack spends on one unit.
#[derive(Debug, Clone)]
struct UnitStat {
    unit: String,
    /// Records with this unit.
    count: usize,
    /// The `u` field (with separator) each of them carries without `bu`.
    field: usize,
    /// The `bu` field (with separator) that would replace them.
    base_field: usize,
}

impl UnitStat {
    fn new<D: Dialect>(unit: &str) -> Self {
        UnitStat {
            unit: unit.to_owned(),
            count: 0,
            field: field_size::<D>(Label::Unit, Val::Text(unit)),
            base_field: field_size::<D>(Label::BaseUnit, Val::Text(unit)),
        }
    }

    /// Bytes saved by making this the base unit, if any.
    fn saving(&self, count: usize) -> Option<usize> {
        (count * self.field).checked_sub(self.base_field)
    }
}

/// The unit whose `bu` saves most bytes (ties: the smaller unit string),
/// with the saving; `None` when no unit saves anything. `counts` yields each
/// unit with its record count.
fn best_unit<'a>(counts: impl Iterator<Item = (&'a UnitStat, usize)>) -> Option<(&'a str, usize)> {
    let mut best: Option<(&str, usize)> = None;
    for (stat, count) in counts {
        let Some(saving) = stat.saving(count).filter(|s| *s > 0) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((unit, most)) => saving > most || (saving == most && stat.unit.as_str() < unit),
        };
        if better {
            best = Some((&stat.unit, saving));
        }
    }
    best
}

/// A record as the sizer remembers it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name_len: usize,
    fixed: usize,
}

/// The base fields of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Length of `bn`, a prefix of every name; 0 when `bn` is not used.
    pub bn_len: usize,
    /// The first reading's timestamp, which `bt` holds in seconds.
    pub first_ns: i64,
    pub bu: Option<String>,
}

/// Sizes a growing pack exactly, without writing it: each reading costs
/// O(1) plus O(units); a shrinking base name re-adds the name fields, O(n),
/// which happens at most once per character of the first name.
#[derive(Debug, Clone)]
pub(crate) struct SenmlSizer<D> {
    device: Option<String>,
    /// The first record's name; `bn` is a prefix of it.
    first_name: String,
    /// The longest prefix common to every name.
    common: usize,
    first_ns: i64,
    entries: Vec<Entry>,
    units: Vec<UnitStat>,
    fixed: usize,
    /// Σ of `n` fields without `bn`, and with `bn` = the common prefix.
    names_plain: usize,
    names_based: usize,
    /// Σ of `u` fields without `bu`.
    units_plain: usize,
    dialect: PhantomData<D>,
}

/// What adding one reading would do; see [`SenmlSizer::measure`].
#[derive(Debug, Clone)]
pub(crate) struct SenmlCandidate {
    size: usize,
    name: Option<String>,
    entry: Entry,
    common: usize,
    names_based: usize,
    first_ns: i64,
    unit: Option<CandidateUnit>,
}

#[derive(Debug, Clone)]
enum CandidateUnit {
    Known(usize),
    New(UnitStat),
}

impl SenmlCandidate {
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

impl<D: Dialect> SenmlSizer<D> {
    pub(crate) fn new(device: Option<&str>) -> Self {
        SenmlSizer {
            device: device.map(str::to_owned),
            first_name: String::new(),
            common: 0,
            first_ns: 0,
            entries: Vec::new(),
            units: Vec::new(),
            fixed: 0,
            names_plain: 0,
            names_based: 0,
            units_plain: 0,
            dialect: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The size of the pack with `r` added (nothing changes until `commit`).
    pub(crate) fn measure(&self, r: &Reading) -> SenmlCandidate {
        let p = prepare(self.device.as_deref(), r);
        let first = self.entries.is_empty();
        let first_ns = if first { r.timestamp_ns } else { self.first_ns };
        let entry = Entry {
            name_len: p.name.len(),
            fixed: fixed_size::<D>(&p, first_ns),
        };
        let common = if first {
            entry.name_len
        } else {
            common_prefix(
                &self.first_name.as_bytes()[..self.common],
                p.name.as_bytes(),
            )
        };
        let names_based = if first || common == self.common {
            self.names_based + name_size::<D>(entry.name_len - common)
        } else {
            self.entries
                .iter()
                .chain([&entry])
                .map(|e| name_size::<D>(e.name_len - common))
                .sum()
        };
        let unit = p
            .unit
            .map(|u| match self.units.iter().position(|s| s.unit == u) {
                Some(i) => CandidateUnit::Known(i),
                None => CandidateUnit::New(UnitStat::new::<D>(u)),
            });
        let unit_field = match &unit {
            None => 0,
            Some(CandidateUnit::Known(i)) => self.units[*i].field,
            Some(CandidateUnit::New(stat)) => stat.field,
        };
        let counts = self
            .units
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let added = matches!(unit, Some(CandidateUnit::Known(k)) if k == i);
                (s, s.count + usize::from(added))
            })
            .chain(match &unit {
                Some(CandidateUnit::New(stat)) => Some((stat, 1)),
                _ => None,
            });
        let unit_saving = best_unit(counts).map_or(0, |(_, saving)| saving);
        let size = Totals {
            records: self.entries.len() + 1,
            fixed: self.fixed + entry.fixed,
            names_plain: self.names_plain + name_size::<D>(entry.name_len),
            names_based,
            common,
            first_ns,
            units: self.units_plain + unit_field - unit_saving,
        }
        .size::<D>();
        SenmlCandidate {
            size,
            name: first.then_some(p.name),
            entry,
            common,
            names_based,
            first_ns,
            unit,
        }
    }

    /// Adds the reading `candidate` was measured for.
    pub(crate) fn commit(&mut self, candidate: SenmlCandidate) {
        if let Some(name) = candidate.name {
            self.first_name = name;
        }
        self.first_ns = candidate.first_ns;
        self.common = candidate.common;
        self.names_based = candidate.names_based;
        self.names_plain += name_size::<D>(candidate.entry.name_len);
        self.fixed += candidate.entry.fixed;
        let stat = match candidate.unit {
            None => None,
            Some(CandidateUnit::Known(i)) => self.units.get_mut(i),
            Some(CandidateUnit::New(stat)) => {
                self.units.push(stat);
                self.units.last_mut()
            }
        };
        if let Some(stat) = stat {
            stat.count += 1;
            self.units_plain += stat.field;
        }
        self.entries.push(candidate.entry);
    }

    fn base_unit(&self) -> Option<(&str, usize)> {
        best_unit(self.units.iter().map(|s| (s, s.count)))
    }

    fn totals(&self) -> Totals {
        Totals {
            records: self.entries.len(),
            fixed: self.fixed,
            names_plain: self.names_plain,
            names_based: self.names_based,
            common: self.common,
            first_ns: self.first_ns,
            units: self.units_plain - self.base_unit().map_or(0, |(_, saving)| saving),
        }
    }

    /// The size of the pack so far (0 when empty).
    pub(crate) fn size(&self) -> usize {
        if self.entries.is_empty() {
            0
        } else {
            self.totals().size::<D>()
        }
    }

    /// The base fields the pack will use.
    pub(crate) fn plan(&self) -> Plan {
        Plan {
            bn_len: if self.totals().uses_base_name::<D>() {
                self.common
            } else {
                0
            },
            first_ns: self.first_ns,
            bu: self.base_unit().map(|(u, _)| u.to_owned()),
        }
    }
}

/// The sums a pack's size is made of.
struct Totals {
    records: usize,
    fixed: usize,
    names_plain: usize,
    names_based: usize,
    common: usize,
    first_ns: i64,
    /// The `u` fields left after the base unit, plus its `bu` field.
    units: usize,
}

impl Totals {
    fn base_name_field<D: Dialect>(&self) -> usize {
        size_of(|c| D::key(c, Label::BaseName)) + D::plain_text_len(self.common) + D::FIELD_SEP
    }

    fn uses_base_name<D: Dialect>(&self) -> bool {
        self.common > 0 && self.names_based + self.base_name_field::<D>() < self.names_plain
    }

    fn size<D: Dialect>(&self) -> usize {
        let names = if self.uses_base_name::<D>() {
            self.names_based + self.base_name_field::<D>()
        } else {
            self.names_plain
        };
        D::pack_frame(self.records)
            + (self.records - 1) * D::RECORD_SEP
            + self.fixed
            + names
            + self.units
            + field_size::<D>(Label::BaseTime, base_time(self.first_ns))
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Writes `readings` (at least one, all encodable) as a SenML pack and
/// returns the size the sizer predicted, for the caller to check.
pub(crate) fn write<D: Dialect>(
    out: &mut impl Out,
    device: Option<&str>,
    readings: &[&Reading],
) -> usize {
    let mut sizer = SenmlSizer::<D>::new(device);
    for r in readings {
        let candidate = sizer.measure(r);
        sizer.commit(candidate);
    }
    let plan = sizer.plan();
    let prepared: Vec<Prepared<'_>> = readings.iter().map(|r| prepare(device, r)).collect();
    // With a base unit, readings without a unit go first: SenML cannot take
    // a base unit back (see the module docs).
    let order: Vec<usize> = if plan.bu.is_some() {
        let (without, with): (Vec<usize>, Vec<usize>) =
            (0..prepared.len()).partition(|&i| prepared[i].unit.is_none());
        without.into_iter().chain(with).collect()
    } else {
        (0..prepared.len()).collect()
    };

    D::pack_start(out, prepared.len());
    let mut bu_written = false;
    for (position, &i) in order.iter().enumerate() {
        let p = &prepared[i];
        let mut fields = Fields::default();
        if position == 0 {
            if plan.bn_len > 0 {
                fields.push(Label::BaseName, Val::Text(&p.name[..plan.bn_len]));
            }
            fields.push(Label::BaseTime, base_time(plan.first_ns));
        }
        if let (Some(bu), Some(_), false) = (&plan.bu, p.unit, bu_written) {
            fields.push(Label::BaseUnit, Val::Text(bu));
            bu_written = true;
        }
        let suffix = &p.name[plan.bn_len..];
        if !suffix.is_empty() {
            fields.push(Label::Name, Val::Text(suffix));
        }
        if let Some(unit) = p.unit.filter(|u| plan.bu.as_deref() != Some(*u)) {
            fields.push(Label::Unit, Val::Text(unit));
        }
        fields.push(p.value.0, p.value.1);
        if let Some(t) = relative_time(p.time_ns, plan.first_ns) {
            fields.push(Label::Time, t);
        }
        if let Some(tags) = &p.tags {
            fields.push(Label::Tags, Val::Text(tags));
        }
        if let Some(raw) = &p.raw_name {
            fields.push(Label::RawName, Val::Text(raw));
        }

        if position > 0 {
            D::record_sep(out);
        }
        D::record_start(out, fields.len);
        for (j, (label, value)) in fields.iter().enumerate() {
            if j > 0 {
                D::field_sep(out);
            }
            D::key(out, label);
            D::value(out, value);
        }
        D::record_end(out);
    }
    D::pack_end(out);
    sizer.size()
}

/// The fields of one record, at most 9 (3 base, name, unit, value, time and
/// 2 extensions), kept on the stack.
struct Fields<'a> {
    items: [(Label, Val<'a>); 9],
    len: usize,
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields {
            items: [(Label::Value, Val::Bool(false)); 9],
            len: 0,
        }
    }
}

impl<'a> Fields<'a> {
    fn push(&mut self, label: Label, value: Val<'a>) {
        // Nine pushes at most, by construction of `write`.
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (label, value);
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Label, Val<'a>)> + '_ {
        self.items[..self.len].iter().copied()
    }
}
