//! `influx`: InfluxDB line protocol (`text/plain; charset=utf-8`), one line
//! per reading, lines separated by `\n` (no newline after the last):
//!
//! ```text
//! <source>[,<tag>=<value>...] <name>=<value> <timestamp in ns>
//! bme280,device=gw-01,sensor=bosch,unit=Cel temperature=21.53 1700000005000000000
//! door,device=gw-01 open=f 1700000000000000000
//! ```
//!
//! - The measurement is the reading's source, the field key its name.
//! - Tags are the reading's tags plus `device` (the device id, when known)
//!   and `unit` (when the reading has one), sorted by key in byte order, as
//!   InfluxDB recommends. A reading's own `device` or `unit` tag wins over
//!   ours. A tag with an empty key or value is left out: line protocol
//!   cannot carry it.
//! - Values: `F64` as the shortest text that reads back as the same double
//!   (no suffix: a float); `I64` with the `i` suffix; `Bool` as `t`/`f`;
//!   `Str` in double quotes; `Bytes` as a quoted base64url string (line
//!   protocol has no binary type).
//! - Escaping (with `\`): commas and spaces in the measurement; commas,
//!   spaces and `=` in tag keys, tag values and the field key; `"` in string
//!   values; and `\` itself everywhere, since two backslashes read as one.
//! - **Newlines**: line protocol cannot carry `\n` in any name, tag or value.
//!   Each `\n` or `\r` becomes a space (escaped where spaces are). This is the
//!   one lossy step of this encoding; use a SenML encoding for exact text.
//! - Refused (`Unencodable`): NaN and ±∞ (InfluxDB has no such floats),
//!   timestamps outside InfluxDB's range (`i64::MIN + 2 ..= i64::MAX - 1`),
//!   an empty source or name, and a source starting with `#` (the line would
//!   read as a comment and vanish).

use super::sink::{self, size_of, Out};
use super::{base64url, Encoding, Unencodable};
use crate::reading::{Reading, Value};

/// InfluxDB's earliest and latest valid timestamps (ns).
const MIN_NS: i64 = i64::MIN + 2;
const MAX_NS: i64 = i64::MAX - 1;

pub(crate) fn check(r: &Reading) -> Result<(), Unencodable> {
    if let Value::F64(v) = r.value {
        if !v.is_finite() {
            return Err(Unencodable::NonFinite {
                encoding: Encoding::Influx,
                value: v,
            });
        }
    }
    if !(MIN_NS..=MAX_NS).contains(&r.timestamp_ns) {
        return Err(Unencodable::OutsideInfluxRange {
            timestamp_ns: r.timestamp_ns,
        });
    }
    if r.source.is_empty() || r.source.starts_with('#') {
        return Err(Unencodable::InfluxName {
            what: "source (the measurement)",
            value: r.source.clone(),
        });
    }
    if r.name.is_empty() {
        return Err(Unencodable::InfluxName {
            what: "name (the field key)",
            value: r.name.clone(),
        });
    }
    Ok(())
}

/// Writes `readings` (all encodable), one line each.
pub(crate) fn write(out: &mut impl Out, device: Option<&str>, readings: &[&Reading]) {
    for (i, r) in readings.iter().enumerate() {
        if i > 0 {
            out.byte(b'\n');
        }
        line(out, device, r);
    }
}

/// One reading's line, without the newline.
fn line(out: &mut impl Out, device: Option<&str>, r: &Reading) {
    escaped(out, &r.source, Part::Measurement);
    let mut tags: Vec<(&str, &str)> = r
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (key, value) in [("device", device), ("unit", r.unit.as_deref())] {
        if let Some(value) = value.filter(|_| !r.tags.contains_key(key)) {
            tags.push((key, value));
        }
    }
    tags.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (key, value) in tags
        .into_iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
    {
        out.byte(b',');
        escaped(out, key, Part::Key);
        out.byte(b'=');
        escaped(out, value, Part::Key);
    }
    out.byte(b' ');
    escaped(out, &r.name, Part::Key);
    out.byte(b'=');
    match &r.value {
        Value::F64(v) => sink::shortest_float(out, *v),
        Value::I64(v) => {
            sink::decimal(out, *v);
            out.byte(b'i');
        }
        Value::Bool(v) => out.byte(if *v { b't' } else { b'f' }),
        Value::Str(s) => {
            out.byte(b'"');
            escaped(out, s, Part::Str);
            out.byte(b'"');
        }
        Value::Bytes(b) => {
            out.byte(b'"');
            base64url::encode(out, b);
            out.byte(b'"');
        }
    }
    out.byte(b' ');
    sink::decimal(out, r.timestamp_ns);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The measurement: `,` and space escaped.
    Measurement,
    /// Tag keys, tag values, field keys: `,`, `=` and space escaped.
    Key,
    /// A string field value, inside quotes: `"` escaped.
    Str,
}

fn escaped(out: &mut impl Out, text: &str, part: Part) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match (b, part) {
            (b'\\', _) => b"\\\\",
            (b'\n' | b'\r', Part::Str) => b" ",
            (b'\n' | b'\r', _) => b"\\ ",
            (b' ', Part::Measurement | Part::Key) => b"\\ ",
            (b',', Part::Measurement | Part::Key) => b"\\,",
            (b'=', Part::Key) => b"\\=",
            (b'"', Part::Str) => b"\\\"",
            _ => continue,
        };
        out.put(&bytes[start..i]);
        out.put(replacement);
        start = i + 1;
    }
    out.put(&bytes[start..]);
}

/// Sizes a growing batch: lines are independent, so it only adds up.
#[derive(Debug, Clone)]
pub(crate) struct InfluxSizer {
    device: Option<String>,
    lines: usize,
    size: usize,
}

impl InfluxSizer {
    pub(crate) fn new(device: Option<&str>) -> Self {
        InfluxSizer {
            device: device.map(str::to_owned),
            lines: 0,
            size: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The size with `r` added.
    pub(crate) fn measure(&self, r: &Reading) -> usize {
        let newline = usize::from(self.lines > 0);
        self.size + newline + size_of(|c| line(c, self.device.as_deref(), r))
    }

    /// Adds a reading measured at `size`.
    pub(crate) fn commit(&mut self, size: usize) {
        self.lines += 1;
        self.size = size;
    }
}

#[cfg(test)]
#[path = "influx_tests.rs"]
mod tests;
