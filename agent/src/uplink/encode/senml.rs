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

use std::collections::{BTreeMap, HashSet};
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

/// A `bn` field of `len` bytes (a name or a prefix of one).
fn base_name_size<D: Dialect>(len: usize) -> usize {
    size_of(|c| D::key(c, Label::BaseName)) + D::plain_text_len(len) + D::FIELD_SEP
}

/// What a pack spends on one unit.
#[derive(Debug, Clone)]
struct UnitStat {
    unit: String,
    /// Records with this unit.
    count: usize,
    /// The `u` field (with separator) each of them carries without `bu`.
    field: usize,
    /// The `bu` field (with separator) that can replace them.
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

    /// Whether `count` records of this unit are cheaper with one `bu`.
    fn uses_base(&self, count: usize) -> bool {
        count * self.field > self.base_field
    }

    /// What `count` records of this unit spend on it.
    fn cost(&self, count: usize) -> usize {
        if self.uses_base(count) {
            self.base_field
        } else {
            count * self.field
        }
    }
}

/// How records are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// Every record has its whole name in `n`.
    Plain,
    /// `bn` is the prefix of this many bytes common to every name, in the
    /// first record; `n` holds the rest (left out when empty).
    Common(usize),
    /// Each group of records with one name (and unit) starts with `bn` set
    /// to that name; no record has `n`.
    PerGroup,
}

/// The base fields of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub naming: Naming,
    /// The first reading's timestamp, which `bt` holds in seconds.
    pub first_ns: i64,
    /// The units that get a `bu` at the start of their group.
    pub base_units: Vec<String>,
}

/// A record as the sizer remembers it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name_len: usize,
    fixed: usize,
}

/// The sums a pack's size is made of.
#[derive(Debug, Clone, Copy)]
struct Totals {
    records: usize,
    fixed: usize,
    /// Σ of `n` fields for [`Naming::Plain`], [`Naming::Common`] (without
    /// its `bn`) and [`Naming::PerGroup`] (its `bn` fields).
    names_plain: usize,
    names_common: usize,
    names_grouped: usize,
    common: usize,
    first_ns: i64,
    /// Σ over units of what their records spend on them.
    units: usize,
}

impl Totals {
    /// The cheapest naming (ties: the simpler) and its bytes.
    fn naming<D: Dialect>(&self) -> (Naming, usize) {
        let mut best = (Naming::Plain, self.names_plain);
        if self.common > 0 {
            let common = self.names_common + base_name_size::<D>(self.common);
            if common < best.1 {
                best = (Naming::Common(self.common), common);
            }
        }
        if self.names_grouped < best.1 {
            best = (Naming::PerGroup, self.names_grouped);
        }
        best
    }

    fn size<D: Dialect>(&self) -> usize {
        D::pack_frame(self.records)
            + (self.records - 1) * D::RECORD_SEP
            + self.fixed
            + self.naming::<D>().1
            + self.units
            + field_size::<D>(Label::BaseTime, base_time(self.first_ns))
    }
}

/// A group of records: one unit (or none) and one name.
type GroupKey = (Option<String>, String);

/// Sizes a growing pack exactly, without writing it. Each reading costs
/// O(log n) (its group and unit looked up); a shrinking common prefix
/// re-adds the `n` fields, O(n), at most once per byte of the first name.
#[derive(Debug, Clone)]
pub(crate) struct SenmlSizer<D> {
    device: Option<String>,
    /// The first record's name; the common prefix is a prefix of it.
    first_name: String,
    first_ns: i64,
    entries: Vec<Entry>,
    groups: HashSet<GroupKey>,
    units: Vec<UnitStat>,
    totals: Totals,
    dialect: PhantomData<D>,
}

/// What adding one reading would do; see [`SenmlSizer::measure`].
#[derive(Debug, Clone)]
pub(crate) struct SenmlCandidate {
    size: usize,
    name: Option<String>,
    entry: Entry,
    group: Option<GroupKey>,
    unit: Option<CandidateUnit>,
    totals: Totals,
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
            first_ns: 0,
            entries: Vec::new(),
            groups: HashSet::new(),
            units: Vec::new(),
            totals: Totals {
                records: 0,
                fixed: 0,
                names_plain: 0,
                names_common: 0,
                names_grouped: 0,
                common: 0,
                first_ns: 0,
                units: 0,
            },
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
        let old = &self.totals;
        let common = if first {
            entry.name_len
        } else {
            common_prefix(&self.first_name.as_bytes()[..old.common], p.name.as_bytes())
        };
        let names_common = if first || common == old.common {
            old.names_common + name_size::<D>(entry.name_len - common)
        } else {
            self.entries
                .iter()
                .chain([&entry])
                .map(|e| name_size::<D>(e.name_len - common))
                .sum()
        };
        let first_name = first.then(|| p.name.clone());
        let key: GroupKey = (p.unit.map(str::to_owned), p.name);
        let group = (!self.groups.contains(&key)).then_some(key);
        let names_grouped = old.names_grouped
            + group
                .as_ref()
                .map_or(0, |(_, name)| base_name_size::<D>(name.len()));

        let (unit, units) = match p.unit {
            None => (None, old.units),
            Some(u) => match self.units.iter().position(|s| s.unit == u) {
                Some(i) => {
                    let stat = &self.units[i];
                    let units = old.units - stat.cost(stat.count) + stat.cost(stat.count + 1);
                    (Some(CandidateUnit::Known(i)), units)
                }
                None => {
                    let stat = UnitStat::new::<D>(u);
                    let units = old.units + stat.cost(1);
                    (Some(CandidateUnit::New(stat)), units)
                }
            },
        };
        let totals = Totals {
            records: old.records + 1,
            fixed: old.fixed + entry.fixed,
            names_plain: old.names_plain + name_size::<D>(entry.name_len),
            names_common,
            names_grouped,
            common,
            first_ns,
            units,
        };
        SenmlCandidate {
            size: totals.size::<D>(),
            name: first_name,
            entry,
            group,
            unit,
            totals,
        }
    }

    /// Adds the reading `candidate` was measured for.
    pub(crate) fn commit(&mut self, candidate: SenmlCandidate) {
        if let Some(name) = candidate.name {
            self.first_name = name;
        }
        self.first_ns = candidate.totals.first_ns;
        self.totals = candidate.totals;
        if let Some(group) = candidate.group {
            self.groups.insert(group);
        }
        match candidate.unit {
            None => {}
            Some(CandidateUnit::Known(i)) => {
                if let Some(stat) = self.units.get_mut(i) {
                    stat.count += 1;
                }
            }
            Some(CandidateUnit::New(mut stat)) => {
                stat.count = 1;
                self.units.push(stat);
            }
        }
        self.entries.push(candidate.entry);
    }

    /// The size of the pack so far (0 when empty).
    pub(crate) fn size(&self) -> usize {
        if self.entries.is_empty() {
            0
        } else {
            self.totals.size::<D>()
        }
    }

    /// The base fields the pack will use.
    pub(crate) fn plan(&self) -> Plan {
        Plan {
            naming: self.totals.naming::<D>().0,
            first_ns: self.first_ns,
            base_units: self
                .units
                .iter()
                .filter(|s| s.uses_base(s.count))
                .map(|s| s.unit.clone())
                .collect(),
        }
    }
}

/// How much of `a` can be `bn` for both `a` and `b`: all of it when the
/// names are equal, else their common prefix cut after its last `:` or `/`,
/// so that a person reading a message sees `bn` `"gw:sysfs/"` and `n`
/// `"loadavg/1m"`, never `"gw:sy"` and `"sfs/loadavg/1m"`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() && common == b.len() {
        return common;
    }
    a[..common]
        .iter()
        .rposition(|&c| c == b':' || c == b'/')
        .map_or(0, |i| i + 1)
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
    // Readings without a unit first (a base unit cannot be taken back), then
    // by unit and by name, so that each unit and each name is one run.
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&prepared[a], &prepared[b]);
        (a.unit, &a.name).cmp(&(b.unit, &b.name))
    });

    D::pack_start(out, prepared.len());
    let mut previous: Option<&Prepared<'_>> = None;
    for (position, &i) in order.iter().enumerate() {
        let p = &prepared[i];
        let new_unit = previous.is_none_or(|q| q.unit != p.unit);
        let new_group = new_unit || previous.is_some_and(|q| q.name != p.name);
        let mut fields = Fields::default();
        match plan.naming {
            Naming::Common(len) if position == 0 => {
                fields.push(Label::BaseName, Val::Text(&p.name[..len]));
            }
            Naming::PerGroup if new_group => fields.push(Label::BaseName, Val::Text(&p.name)),
            _ => {}
        }
        if position == 0 {
            fields.push(Label::BaseTime, base_time(plan.first_ns));
        }
        let base_unit = p.unit.filter(|u| plan.base_units.iter().any(|b| b == u));
        if let (Some(unit), true) = (base_unit, new_unit) {
            fields.push(Label::BaseUnit, Val::Text(unit));
        }
        let n = match plan.naming {
            Naming::Plain => &p.name[..],
            Naming::Common(len) => &p.name[len..],
            Naming::PerGroup => "",
        };
        if !n.is_empty() {
            fields.push(Label::Name, Val::Text(n));
        }
        if let (Some(unit), None) = (p.unit, base_unit) {
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
        previous = Some(p);
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
