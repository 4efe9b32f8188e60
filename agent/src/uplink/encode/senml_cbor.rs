//! `senml-cbor`: SenML in CBOR (RFC 8428 §6, `application/senml+cbor`), the
//! default encoding: the smallest of the three.
//!
//! A pack is a definite-length array of maps keyed by the integer labels of
//! Table 4 (bver -1, bn -2, bt -3, bu -4, n 0, u 1, v 2, vs 3, vb 4, t 6,
//! vd 8); the extensions `tags` and `rawname` are text keys, as §6 says new
//! labels are. In diagnostic notation, the example of `senml_json.rs` is
//!
//! ```text
//! [{-2: "gw-01:door/open", -3: 1700000000, 4: false},
//!  {-2: "gw-01:bme280/temperature", -4: "Cel", 2: 21.53, 6: 5},
//!  {2: 21.6, 6: 10.25}]
//! ```
//!
//! (87 bytes; the JSON is 135.)
//!
//! Every item takes its preferred serialization (RFC 8949 §4.2): the shortest
//! head; a number as an integer when it is whole and that is not longer,
//! else the narrowest float (half, single, double) that holds it exactly, so
//! that converting back to a double gives the same value (RFC 8428 §6); NaN
//! and ±∞ as half-precision floats. `vs` is a text string, `vd` a byte
//! string. What goes into a record and why: see `senml/mod.rs`.

use super::cbor;
use super::senml::{Dialect, Label, Val};
use super::sink::{size_of, Out};

/// The CBOR dialect of SenML.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cbor;

impl Dialect for Cbor {
    const FIELD_SEP: usize = 0;
    const RECORD_SEP: usize = 0;
    // A map head holds counts below 24 in its first byte; a record has at
    // most 9 fields.
    const RECORD_FRAME: usize = 1;

    fn pack_frame(records: usize) -> usize {
        cbor::head_len(records as u64)
    }

    fn plain_text_len(len: usize) -> usize {
        cbor::head_len(len as u64) + len
    }

    fn pack_start(out: &mut impl Out, records: usize) {
        cbor::array(out, records);
    }

    fn pack_end(_out: &mut impl Out) {}

    fn record_sep(_out: &mut impl Out) {}

    fn record_start(out: &mut impl Out, fields: usize) {
        debug_assert!(fields < 24, "a record of {fields} fields");
        cbor::map(out, fields);
    }

    fn record_end(_out: &mut impl Out) {}

    fn field_sep(_out: &mut impl Out) {}

    fn key(out: &mut impl Out, label: Label) {
        match label.cbor() {
            Some(n) => cbor::int(out, n),
            None => cbor::text(out, label.text()),
        }
    }

    fn value(out: &mut impl Out, value: Val<'_>) {
        match value {
            Val::Text(s) => cbor::text(out, s),
            Val::Data(d) => cbor::bytes(out, d),
            Val::Int(v) => cbor::int(out, v),
            Val::Float(v) => number(out, v),
            Val::Bool(v) => cbor::boolean(out, v),
        }
    }
}

/// A float as the shorter of an exact integer and the narrowest exact float
/// (ties: the integer). Negative zero stays a float: as an integer it would
/// lose its sign.
fn number(out: &mut impl Out, v: f64) {
    // 2^63: the first whole double that no longer fits an i64.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    let whole = v.fract() == 0.0 && v.abs() < I64_END && !(v == 0.0 && v.is_sign_negative());
    if whole {
        let i = v as i64;
        if size_of(|c| cbor::int(c, i)) <= size_of(|c| cbor::float(c, v)) {
            return cbor::int(out, i);
        }
    }
    cbor::float(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(v: f64) -> Vec<u8> {
        let mut out = Vec::new();
        number(&mut out, v);
        out
    }

    #[test]
    fn whole_numbers_become_integers_when_that_is_not_longer() {
        assert_eq!(written(21.0), [0x15]);
        assert_eq!(written(-5.0), [0x24]);
        assert_eq!(written(101325.0), [0x1a, 0x00, 0x01, 0x8b, 0xcd]);
        // 2^40 is a single-precision float (5 bytes) but a 9-byte integer.
        assert_eq!(written(1099511627776.0), [0xfa, 0x53, 0x80, 0x00, 0x00]);
        assert_eq!(written(-0.0), [0xf9, 0x80, 0x00]);
        assert_eq!(written(21.5), [0xf9, 0x4d, 0x60]);
        assert_eq!(written(f64::INFINITY), [0xf9, 0x7c, 0x00]);
        assert_eq!(written(1e300).len(), 9);
    }
}
