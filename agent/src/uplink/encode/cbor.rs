//! The few CBOR items SenML needs (RFC 8949): definite-length arrays and
//! maps, integers, text and byte strings, booleans and floats, always in
//! their preferred (shortest) serialization, so equal values give equal bytes.
//!
//! Why our own writer and not `ciborium`: SenML uses six item types, and this
//! file is smaller than the glue a serde-based writer needs (integer map keys,
//! preferred float widths). It writes into any [`Out`], so sizing a candidate
//! message is the same code with a byte counter. And the tests decode our
//! output with `ciborium`, a decoder that shares no code with this writer.

use super::sink::Out;

const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;

/// A major type and its argument in the fewest bytes (RFC 8949 §3, §4.2.1).
pub(crate) fn head(out: &mut impl Out, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.byte(m | arg as u8);
    } else if let Ok(a) = u8::try_from(arg) {
        out.put(&[m | 24, a]);
    } else if let Ok(a) = u16::try_from(arg) {
        out.byte(m | 25);
        out.put(&a.to_be_bytes());
    } else if let Ok(a) = u32::try_from(arg) {
        out.byte(m | 26);
        out.put(&a.to_be_bytes());
    } else {
        out.byte(m | 27);
        out.put(&arg.to_be_bytes());
    }
}

/// The size of a head with argument `arg`.
pub(crate) const fn head_len(arg: u64) -> usize {
    if arg < 24 {
        1
    } else if arg <= u8::MAX as u64 {
        2
    } else if arg <= u16::MAX as u64 {
        3
    } else if arg <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

pub(crate) fn int(out: &mut impl Out, v: i64) {
    if v >= 0 {
        head(out, UINT, v as u64);
    } else {
        // Major type 1 carries -1 - v, which `!v` is for negative v (and it
        // cannot overflow, unlike `-1 - v` written out for i64::MIN).
        head(out, NINT, !v as u64);
    }
}

pub(crate) fn text(out: &mut impl Out, s: &str) {
    head(out, TEXT, s.len() as u64);
    out.put(s.as_bytes());
}

pub(crate) fn bytes(out: &mut impl Out, b: &[u8]) {
    head(out, BYTES, b.len() as u64);
    out.put(b);
}

pub(crate) fn array(out: &mut impl Out, len: usize) {
    head(out, ARRAY, len as u64);
}

pub(crate) fn map(out: &mut impl Out, len: usize) {
    head(out, MAP, len as u64);
}

pub(crate) fn boolean(out: &mut impl Out, v: bool) {
    out.byte(if v { 0xf5 } else { 0xf4 });
}

/// A float in the shortest of half, single and double precision that holds
/// it exactly (RFC 8949 §4.2.2), so converting it back to `f64` gives the
/// same value, as RFC 8428 §6 asks. NaN becomes the canonical half-precision
/// quiet NaN `f9 7e 00`.
pub(crate) fn float(out: &mut impl Out, v: f64) {
    if v.is_nan() {
        out.put(&[0xf9, 0x7e, 0x00]);
    } else if let Some(h) = f16_bits(v) {
        out.byte(0xf9);
        out.put(&h.to_be_bytes());
    } else if f64::from(v as f32) == v {
        out.byte(0xfa);
        out.put(&(v as f32).to_be_bytes());
    } else {
        out.byte(0xfb);
        out.put(&v.to_be_bytes());
    }
}

/// The IEEE 754 half-precision bits of `v` if it has them exactly (NaN
/// excluded by the caller).
fn f16_bits(v: f64) -> Option<u16> {
    let single = v as f32;
    if f64::from(single) != v {
        return None;
    }
    let bits = single.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        return Some(sign | 0x7c00); // an infinity
    }
    if exponent == 0 {
        // Zero, or a single-precision subnormal (far below half's range).
        return (mantissa == 0).then_some(sign);
    }
    let e = exponent - 127;
    if (-14..=15).contains(&e) {
        // Normal in half precision: 10 mantissa bits, the 13 below must be 0.
        if mantissa & 0x1fff != 0 {
            return None;
        }
        return Some(sign | (((e + 15) as u16) << 10) | (mantissa >> 13) as u16);
    }
    if (-24..-14).contains(&e) {
        // Subnormal in half precision: the value is m * 2^-24 with m < 1024.
        // The full significand (with its implicit 1) is `full * 2^(e-23)`, so
        // m = full >> -(e+1), and the bits shifted out must be zero.
        let full = 0x80_0000 | mantissa;
        let shift = (-(e + 1)) as u32;
        if full & ((1 << shift) - 1) != 0 {
            return None;
        }
        return Some(sign | (full >> shift) as u16);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes_of(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out);
        out
    }

    fn decoded(bytes: &[u8]) -> ciborium::Value {
        ciborium::de::from_reader(bytes).unwrap()
    }

    #[test]
    fn floats_take_the_shortest_exact_width() {
        // From RFC 8949 Appendix A.
        let table: &[(f64, &[u8])] = &[
            (0.0, &[0xf9, 0x00, 0x00]),
            (-0.0, &[0xf9, 0x80, 0x00]),
            (1.0, &[0xf9, 0x3c, 0x00]),
            (1.5, &[0xf9, 0x3e, 0x00]),
            (65504.0, &[0xf9, 0x7b, 0xff]),
            (100000.0, &[0xfa, 0x47, 0xc3, 0x50, 0x00]),
            (3.4028234663852886e+38, &[0xfa, 0x7f, 0x7f, 0xff, 0xff]),
            (
                1.0e+300,
                &[0xfb, 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c],
            ),
            (5.960464477539063e-8, &[0xf9, 0x00, 0x01]),
            (0.00006103515625, &[0xf9, 0x04, 0x00]),
            (-4.0, &[0xf9, 0xc4, 0x00]),
            (
                -4.1,
                &[0xfb, 0xc0, 0x10, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66],
            ),
            (f64::INFINITY, &[0xf9, 0x7c, 0x00]),
            (f64::NAN, &[0xf9, 0x7e, 0x00]),
            (f64::NEG_INFINITY, &[0xf9, 0xfc, 0x00]),
        ];
        for (v, want) in table {
            assert_eq!(bytes_of(|o| float(o, *v)), *want, "{v}");
        }
    }

    #[test]
    fn heads_and_integers_match_rfc_8949_appendix_a() {
        let table: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 0x18]),
            (100, &[0x18, 0x64]),
            (1000, &[0x19, 0x03, 0xe8]),
            (1000000, &[0x1a, 0x00, 0x0f, 0x42, 0x40]),
            (1000000000000, &[0x1b, 0, 0, 0, 0xe8, 0xd4, 0xa5, 0x10, 0]),
            (-1, &[0x20]),
            (-10, &[0x29]),
            (-100, &[0x38, 0x63]),
            (-1000, &[0x39, 0x03, 0xe7]),
            (
                i64::MIN,
                &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (v, want) in table {
            assert_eq!(bytes_of(|o| int(o, *v)), *want, "{v}");
        }
        assert_eq!(bytes_of(|o| text(o, "IETF")), b"\x64IETF");
        assert_eq!(bytes_of(|o| bytes(o, &[1, 2, 3, 4])), [0x44, 1, 2, 3, 4]);
        for arg in [
            0,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(bytes_of(|o| head(o, 0, arg)).len(), head_len(arg), "{arg}");
        }
    }

    proptest! {
        #[test]
        fn every_float_reads_back_bit_for_bit_from_the_shortest_width(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let out = bytes_of(|o| float(o, v));
            let back = match decoded(&out) {
                ciborium::Value::Float(f) => f,
                other => panic!("{other:?}"),
            };
            if v.is_nan() {
                prop_assert!(back.is_nan());
            } else {
                prop_assert_eq!(back.to_bits(), v.to_bits());
            }
            // Shortest: a narrower width would not have held it.
            if out.len() == 9 {
                prop_assert!(f64::from(v as f32) != v);
            }
        }

        #[test]
        fn floats_of_single_and_half_precision_shrink(bits in any::<u32>()) {
            let single = f32::from_bits(bits);
            prop_assume!(!single.is_nan());
            let out = bytes_of(|o| float(o, f64::from(single)));
            prop_assert!(out.len() <= 5);
            prop_assert_eq!(decoded(&out), ciborium::Value::Float(f64::from(single)));
        }

        #[test]
        fn every_integer_reads_back(v in any::<i64>()) {
            let out = bytes_of(|o| int(o, v));
            let back = match decoded(&out) {
                ciborium::Value::Integer(i) => i128::from(i),
                other => panic!("{other:?}"),
            };
            prop_assert_eq!(back, i128::from(v));
        }
    }
}
