//! Sizing a growing pack exactly without writing it, and choosing its base
//! fields on the way: the cheapest naming (`n` only, a common `bn`, or a
//! `bn` per group), `bu` where it pays, `bt` from the first reading.

use std::collections::HashSet;
use std::marker::PhantomData;

use super::{base_time, field_size, prepare, relative_time, Dialect, Label, Prepared, Val};
use crate::reading::Reading;
use crate::uplink::encode::sink::size_of;

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
