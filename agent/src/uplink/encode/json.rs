//! The JSON items SenML needs (RFC 8259): strings with the standard escapes,
//! integers, and floats in their shortest exact form.

use super::sink::{self, Out};

/// A JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, ...
/// or `\u00XX`; everything else, including non-ASCII, as UTF-8 (RFC 8428 §5
/// allows only UTF-8 JSON).
pub(crate) fn string(out: &mut impl Out, s: &str) {
    out.byte(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.put(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.put(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.put(escape);
        }
        start = i + 1;
    }
    out.put(&bytes[start..]);
    out.byte(b'"');
}

pub(crate) fn int(out: &mut impl Out, v: i64) {
    sink::decimal(out, v);
}

/// A finite float. Non-finite values have no JSON form; the SenML JSON
/// encoder refuses them before it writes anything (see `Unencodable`), so
/// reaching here with one is a bug, and `null` at least keeps the text JSON.
pub(crate) fn float(out: &mut impl Out, v: f64) {
    if v.is_finite() {
        sink::shortest_float(out, v);
    } else {
        debug_assert!(false, "non-finite float {v} reached the JSON writer");
        out.put(b"null");
    }
}

pub(crate) fn boolean(out: &mut impl Out, v: bool) {
    out.put(if v { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn string_text(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(string_text("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string_text("l1\nl2\t\r"), r#""l1\nl2\t\r""#);
        assert_eq!(
            string_text("\u{1}\u{1f}\u{8}\u{c}"),
            r#""\u0001\u001f\b\f""#
        );
        assert_eq!(string_text("température/°C"), "\"température/°C\"");
        assert_eq!(string_text("a/b"), "\"a/b\"");
    }

    proptest! {
        #[test]
        fn any_string_reads_back_with_serde_json(s in any::<String>()) {
            let text = string_text(&s);
            let back: String = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn any_finite_float_reads_back_with_serde_json(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let mut out = Vec::new();
            float(&mut out, v);
            let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let back = back.as_f64().unwrap();
            if v == 0.0 {
                prop_assert_eq!(back, 0.0);
            } else {
                prop_assert_eq!(back.to_bits(), v.to_bits());
            }
        }
    }
}
