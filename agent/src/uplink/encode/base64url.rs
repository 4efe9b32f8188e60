//! Base64 with the URL-safe alphabet and no padding (RFC 4648 §5), the form
//! RFC 8428 §5 prescribes for `vd` in SenML JSON. Twenty lines do not justify
//! a dependency.

use super::sink::Out;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Writes `data` encoded.
pub(crate) fn encode(out: &mut impl Out, data: &[u8]) {
    let sextet = |n: u32, shift: u32| ALPHABET[((n >> shift) & 0x3f) as usize];
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.put(&[sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.put(&[sextet(n, 18), sextet(n, 12)]);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.put(&[sextet(n, 18), sextet(n, 12), sextet(n, 6)]);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(data: &[u8]) -> String {
        let mut out = Vec::new();
        encode(&mut out, data);
        assert_eq!(out.len(), (data.len() * 4).div_ceil(3));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc_4648_vectors_without_padding() {
        for (data, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
            // RFC 8428 §5.1.5's "vd" value.
            ("hi \n", "aGkgCg"),
        ] {
            assert_eq!(encoded(data.as_bytes()), want);
        }
        assert_eq!(encoded(&[0xfb, 0xff, 0xfe]), "-__-");
    }
}
