//! Writing a pack: the records grouped (no unit first, then by unit and by
//! name) with the base fields of the sizer's plan, in one dialect.

use super::sizer::{Naming, SenmlSizer};
use super::{base_time, prepare, relative_time, Dialect, Label, Prepared, Val};
use crate::reading::Reading;
use crate::uplink::encode::sink::Out;

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
