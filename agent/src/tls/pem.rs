//! PEM text (RFC 7468) into blocks: each block's label, its DER, and the
//! exact bytes of the block as they stand in the file, which is what the
//! module imports.
//!
//! Lenient where files in the wild are: text around and between blocks
//! (`openssl x509 -text` output, `Bag Attributes`), CRLF line ends, blank
//! lines and spaces in the body. RFC 1421 headers (`Proc-Type:`, `DEK-Info:`)
//! are skipped but remembered: they mark a password-protected key. Strict
//! where a mistake would go unnoticed: a block without its END line, an END
//! of another label, and base64 that does not decode are errors.
//!
//! Errors name the line, never the text on it: a key file's lines are the
//! key.

use std::fmt;

/// One `-----BEGIN <label>-----` … `-----END <label>-----` block.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// `CERTIFICATE`, `PRIVATE KEY`, …
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
    /// The block's bytes from its BEGIN line through its END line's line
    /// end, unchanged.
    pub text: Vec<u8>,
    /// The 1-based line of the BEGIN line.
    pub line: usize,
    /// The block had RFC 1421 headers saying it is encrypted
    /// (`Proc-Type: 4,ENCRYPTED`).
    pub encrypted: bool,
}

/// Never shows the bytes: the block may be a private key.
impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("line", &self.line)
            .field("der_bytes", &self.der.len())
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

/// Why text is not PEM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("line {line}: the BEGIN line's label is not printable ASCII or is empty")]
    BadLabel { line: usize },
    #[error("line {line}: `-----BEGIN {label}-----` has no `-----END {label}-----` line")]
    Unterminated { label: String, line: usize },
    #[error(
        "line {line}: `-----END {found}-----` closes the block `{label}` begun on line {begin}"
    )]
    MismatchedEnd {
        label: String,
        found: String,
        begin: usize,
        line: usize,
    },
    #[error("line {line}: the body of `{label}` is not valid base64")]
    Base64 { label: String, line: usize },
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// The label of a `-----BEGIN <label>-----` (or END) line.
fn label_of<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.trim_ascii().strip_prefix(prefix)?.strip_suffix(DASHES)
}

/// Printable ASCII, as RFC 7468 labels are; anything else is not shown.
fn label_text(label: &[u8], line: usize) -> Result<String, PemError> {
    if label.is_empty() || label.len() > 64 || !label.iter().all(|b| matches!(b, b' '..=b'~')) {
        return Err(PemError::BadLabel { line });
    }
    Ok(String::from_utf8_lossy(label).into_owned())
}

/// The lines of `input` with their byte ranges (line end included).
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
    let mut start = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        if start >= input.len() {
            return None;
        }
        let end = input[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |i| start + i + 1);
        number += 1;
        let range = start..end;
        start = end;
        Some((number, range))
    })
}

/// Every PEM block in `input`, in order. Text outside blocks is ignored; no
/// block at all is `Ok` of nothing (the caller says what it expected).
pub fn parse(input: &[u8]) -> Result<Vec<Block>, PemError> {
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    for (number, range) in lines(input) {
        let line = &input[range.clone()];
        match &mut open {
            None => {
                if let Some(label) = label_of(line, BEGIN) {
                    open = Some(Open {
                        label: label_text(label, number)?,
                        line: number,
                        start: range.start,
                        body: Vec::new(),
                        body_line: number + 1,
                        in_headers: true,
                        encrypted: false,
                    });
                }
            }
            Some(block) => {
                if let Some(found) = label_of(line, END) {
                    let found = label_text(found, number)?;
                    if found != block.label {
                        return Err(PemError::MismatchedEnd {
                            label: block.label.clone(),
                            found,
                            begin: block.line,
                            line: number,
                        });
                    }
                    let der = decode_base64(&block.body).ok_or_else(|| PemError::Base64 {
                        label: block.label.clone(),
                        line: block.body_line,
                    })?;
                    blocks.push(Block {
                        label: block.label.clone(),
                        der,
                        text: input[block.start..range.end].to_vec(),
                        line: block.line,
                        encrypted: block.encrypted,
                    });
                    open = None;
                } else if label_of(line, BEGIN).is_some() {
                    return Err(PemError::Unterminated {
                        label: block.label.clone(),
                        line: block.line,
                    });
                } else {
                    block.take(line, number);
                }
            }
        }
    }
    match open {
        Some(block) => Err(PemError::Unterminated {
            label: block.label,
            line: block.line,
        }),
        None => Ok(blocks),
    }
}

/// A block whose END line has not come yet.
struct Open {
    label: String,
    line: usize,
    start: usize,
    body: Vec<u8>,
    /// The first line of the body, for a base64 error.
    body_line: usize,
    /// Still where RFC 1421 headers may stand (before the first body line).
    in_headers: bool,
    encrypted: bool,
}

impl Open {
    fn take(&mut self, line: &[u8], number: usize) {
        let text = line.trim_ascii();
        if self.in_headers {
            if text.contains(&b':') {
                if text.starts_with(b"Proc-Type:") && text.windows(9).any(|w| w == b"ENCRYPTED") {
                    self.encrypted = true;
                }
                self.body_line = number + 1;
                return;
            }
            if text.is_empty() {
                self.body_line = number + 1;
                return;
            }
            self.in_headers = false;
        }
        self.body.extend_from_slice(text);
    }
}

/// The value of a character of the standard base64 alphabet (RFC 4648 §4).
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard base64 with padding, ASCII white space ignored anywhere. `None`
/// for any other character, a length that is not whole quads, or padding
/// anywhere but at the end.
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if symbols.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let quads = symbols.chunks_exact(4);
    let last = quads.len().saturating_sub(1);
    for (i, quad) in quads.enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && i != last) {
            return None;
        }
        let mut bits: u32 = 0;
        for &c in &quad[..4 - padding] {
            bits = (bits << 6) | u32::from(sextet(c)?);
        }
        bits <<= 6 * padding;
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_every_padding_and_refuses_what_is_not_base64() {
        assert_eq!(decode_base64(b"").unwrap(), b"");
        assert_eq!(decode_base64(b"TQ==").unwrap(), b"M");
        assert_eq!(decode_base64(b"TWE=").unwrap(), b"Ma");
        assert_eq!(decode_base64(b"TWFu").unwrap(), b"Man");
        assert_eq!(decode_base64(b"TW\r\nFu IA==\n").unwrap(), b"Man ");
        assert_eq!(decode_base64(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in [&b"TWF"[..], b"TW=u", b"TQ==TWFu", b"T===", b"TWF*", b"TWF-"] {
            assert_eq!(decode_base64(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn every_byte_value_round_trips_through_a_reference_encoding() {
        // "AAECAwQF…" is the standard encoding of 0, 1, 2, …; built here by
        // the definition, independent of the decoder.
        let bytes: Vec<u8> = (0..=255).collect();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut text = Vec::new();
        for chunk in bytes.chunks(3) {
            let mut n = [0u8; 3];
            n[..chunk.len()].copy_from_slice(chunk);
            let v = u32::from(n[0]) << 16 | u32::from(n[1]) << 8 | u32::from(n[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    text.push(alphabet[(v >> (18 - 6 * i) & 63) as usize]);
                } else {
                    text.push(b'=');
                }
            }
        }
        assert_eq!(decode_base64(&text).unwrap(), bytes);
    }

    #[test]
    fn blocks_keep_their_label_der_exact_text_and_line_amid_other_text() {
        let input = b"Bag Attributes\r\n    friendlyName: x\r\n\
                      -----BEGIN CERTIFICATE-----\r\nTWFu\r\nIA==\r\n-----END CERTIFICATE-----\r\n\
                      between\n\n-----BEGIN PRIVATE KEY-----\nTWE=\n-----END PRIVATE KEY-----";
        let blocks = parse(input).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].der, b"Man ");
        assert_eq!(blocks[0].line, 3);
        assert_eq!(
            blocks[0].text,
            b"-----BEGIN CERTIFICATE-----\r\nTWFu\r\nIA==\r\n-----END CERTIFICATE-----\r\n"
        );
        assert_eq!(blocks[1].label, "PRIVATE KEY");
        assert_eq!(blocks[1].der, b"Ma");
        assert_eq!(blocks[1].line, 9);
        assert!(blocks[1].text.ends_with(b"-----END PRIVATE KEY-----"));
        assert!(!blocks[1].encrypted);
        assert!(parse(b"no pem here\n").unwrap().is_empty());
    }

    #[test]
    fn rfc1421_headers_are_skipped_and_mark_an_encrypted_key() {
        let input = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-128-CBC,00\n\nTWFu\n-----END RSA PRIVATE KEY-----\n";
        let blocks = parse(input).unwrap();
        assert_eq!(blocks[0].der, b"Man");
        assert!(blocks[0].encrypted);
    }

    #[test]
    fn broken_blocks_are_named_by_line_without_their_text() {
        assert_eq!(
            parse(b"x\n-----BEGIN CERTIFICATE-----\nTWFu\n"),
            Err(PemError::Unterminated {
                label: "CERTIFICATE".into(),
                line: 2
            })
        );
        assert_eq!(
            parse(b"-----BEGIN A-----\n-----BEGIN B-----\n-----END B-----\n"),
            Err(PemError::Unterminated {
                label: "A".into(),
                line: 1
            })
        );
        assert_eq!(
            parse(b"-----BEGIN A-----\nTWFu\n-----END B-----\n"),
            Err(PemError::MismatchedEnd {
                label: "A".into(),
                found: "B".into(),
                begin: 1,
                line: 3
            })
        );
        let secret = b"-----BEGIN PRIVATE KEY-----\nSECRETSECRET*\n-----END PRIVATE KEY-----\n";
        let error = parse(secret).unwrap_err();
        assert_eq!(
            error,
            PemError::Base64 {
                label: "PRIVATE KEY".into(),
                line: 2
            }
        );
        assert!(!error.to_string().contains("SECRET"), "{error}");
        assert_eq!(
            parse(b"-----BEGIN \x01-----\n"),
            Err(PemError::BadLabel { line: 1 })
        );
    }
}
