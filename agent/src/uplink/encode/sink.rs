//! Where encoders write: a `Vec<u8>`, or a [`Count`] that only adds up
//! lengths. The packer sizes candidate messages by running the very code that
//! writes them into a `Count`, so a size and the bytes written cannot drift
//! apart.

use std::fmt::{self, Write as _};

/// A byte sink.
pub(crate) trait Out {
    fn put(&mut self, bytes: &[u8]);

    fn byte(&mut self, b: u8) {
        self.put(&[b]);
    }
}

impl Out for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn byte(&mut self, b: u8) {
        self.push(b);
    }
}

/// Counts the bytes it is given and keeps none.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub usize);

impl Out for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    fn byte(&mut self, _: u8) {
        self.0 += 1;
    }
}

/// The number of bytes `write` puts out.
pub(crate) fn size_of(write: impl FnOnce(&mut Count)) -> usize {
    let mut count = Count(0);
    write(&mut count);
    count.0
}

/// A fixed stack buffer for formatting numbers without allocating. Writing
/// more than it holds is a `fmt::Error`, which callers use to reject a form
/// that is too long.
pub(crate) struct Digits {
    buf: [u8; 40],
    len: usize,
}

impl Digits {
    pub(crate) fn new() -> Self {
        Digits {
            buf: [0; 40],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes an integer in decimal.
pub(crate) fn decimal(out: &mut impl Out, v: i64) {
    let mut d = Digits::new();
    // 20 characters at most ("-9223372036854775808"): always fits.
    let _ = write!(d, "{v}");
    out.put(d.as_bytes());
}

/// Writes a finite float as the shortest text that reads back as the same
/// `f64`: Rust's `Display` or `LowerExp` form (both print the shortest digits
/// that round-trip), whichever is shorter, with a trailing `.0` dropped
/// (`21` rather than `21.0`; both are the same number in JSON and in line
/// protocol). `Display` never uses an exponent, so `1e300` would take 301
/// characters; `LowerExp` turns `0.5` into `5e-1`. Ties go to `Display`,
/// unless its digits reach 19 characters (RFC 8428 §5 asks for mantissas
/// shorter than that).
/// Negative zero is written `-0.0`: a decoder would read `-0` as the integer 0.
pub(crate) fn shortest_float(out: &mut impl Out, v: f64) {
    if v == 0.0 && v.is_sign_negative() {
        return out.put(b"-0.0");
    }
    let mut plain = Digits::new();
    let plain_ok = write!(plain, "{v}").is_ok();
    let mut exp = Digits::new();
    // "-1.2345678901234567e-308" is 24 characters: always fits.
    let _ = write!(exp, "{v:e}");
    let plain = plain_ok.then(|| {
        let b = plain.as_bytes();
        b.strip_suffix(b".0").unwrap_or(b)
    });
    match plain {
        Some(p) if p.len() <= exp.as_bytes().len() && p.len() < 19 => out.put(p),
        _ => out.put(exp.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_text(v: f64) -> String {
        let mut out = Vec::new();
        shortest_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_take_their_shortest_exact_form() {
        assert_eq!(float_text(21.5), "21.5");
        assert_eq!(float_text(21.0), "21");
        assert_eq!(float_text(-0.0), "-0.0");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1e300), "1e300");
        assert_eq!(float_text(1.5e-7), "1.5e-7");
        assert_eq!(float_text(123456789.0), "123456789");
        assert_eq!(float_text(1e21), "1e21");
        assert_eq!(float_text(123456789012345680000.0), "1.2345678901234568e20");
        assert_eq!(float_text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(float_text(5e-324), "5e-324");
        for v in [0.1, 1.0 / 3.0, 1e300, 5e-324, -123.456e-100, f64::MAX] {
            assert_eq!(float_text(v).parse::<f64>().unwrap(), v, "{v}");
        }
    }

    #[test]
    fn a_count_agrees_with_a_vec() {
        let mut out = Vec::new();
        decimal(&mut out, i64::MIN);
        shortest_float(&mut out, 1.0 / 3.0);
        let n = size_of(|c| {
            decimal(c, i64::MIN);
            shortest_float(c, 1.0 / 3.0);
        });
        assert_eq!(n, out.len());
    }
}
