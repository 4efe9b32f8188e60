//! A minimal DER reader: tag-length-value items out of a byte slice, with
//! every length checked against what is really there.
//!
//! What the credential checks need and no more: single-byte tags, definite
//! lengths of up to four bytes, and helpers for the few universal types
//! X.509 and the key formats use (INTEGER, BIT STRING, OCTET STRING, OID,
//! BOOLEAN). It never panics on any input and never allocates: items are
//! slices of the input, so a length announced by a hostile file costs
//! nothing unless the bytes are really there.

use std::fmt;

/// Universal and context tags, as their one DER byte.
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const IA5_STRING: u8 = 0x16;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;

    /// `[n]` constructed (EXPLICIT tagging, or IMPLICIT of a constructed type).
    pub const fn context(n: u8) -> u8 {
        0xa0 | (n & 0x1f)
    }

    /// `[n]` primitive (IMPLICIT tagging of a primitive type).
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | (n & 0x1f)
    }
}

/// Why bytes are not the DER expected. Says where, never what the bytes
/// were (they may be a private key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("the data ends inside an item (at byte {at})")]
    Truncated { at: usize },
    #[error("an item at byte {at} uses a multi-byte tag, which none of these formats has")]
    HighTag { at: usize },
    #[error("an item at byte {at} has an indefinite length (BER, not DER)")]
    IndefiniteLength { at: usize },
    #[error("an item at byte {at} announces a length of more than 4 bytes")]
    LengthTooLong { at: usize },
    #[error("expected {} at byte {at}, found {}", tag_name(*expected), tag_name(*found))]
    UnexpectedTag { expected: u8, found: u8, at: usize },
    #[error("expected {} at byte {at}, found the end of its container", tag_name(*expected))]
    Missing { expected: u8, at: usize },
    #[error("{count} unexpected byte(s) after the last item (at byte {at})")]
    TrailingData { count: usize, at: usize },
    #[error("{what} at byte {at} is malformed")]
    Malformed { what: &'static str, at: usize },
}

/// A tag in words, for messages.
fn tag_name(tag: u8) -> String {
    let name = match tag {
        tag::BOOLEAN => "a BOOLEAN",
        tag::INTEGER => "an INTEGER",
        tag::BIT_STRING => "a BIT STRING",
        tag::OCTET_STRING => "an OCTET STRING",
        tag::NULL => "a NULL",
        tag::OID => "an OBJECT IDENTIFIER",
        tag::SEQUENCE => "a SEQUENCE",
        tag::SET => "a SET",
        t if t & 0xc0 == 0x80 => return format!("a [{}] item", t & 0x1f),
        t => return format!("an item of tag 0x{t:02x}"),
    };
    name.to_owned()
}

/// One item: its tag, its contents, and where it started in the
/// outermost input (for messages).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// The whole encoding, tag and length included (a certificate's
    /// subject is compared as encoded).
    pub raw: &'a [u8],
    /// Offset of the tag in the outermost input.
    pub at: usize,
}

/// Never shows the contents: they may be a private key.
impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tlv(tag 0x{:02x}, {} bytes at {})",
            self.tag,
            self.value.len(),
            self.at
        )
    }
}

impl<'a> Tlv<'a> {
    /// A reader over this item's contents (for a constructed item).
    pub fn contents(&self) -> Reader<'a> {
        Reader {
            rest: self.value,
            offset: self.at + (self.raw.len() - self.value.len()),
        }
    }
}

/// Reads items one after another out of a slice.
#[derive(Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
    /// Offset of `rest` in the outermost input.
    offset: usize,
}

/// Never shows the bytes.
impl fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Reader({} bytes left at {})",
            self.rest.len(),
            self.offset
        )
    }
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader {
            rest: input,
            offset: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The offset of the next item in the outermost input.
    pub fn position(&self) -> usize {
        self.offset
    }

    /// The next item's tag, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next item.
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let at = self.offset;
        let (&tag, after_tag) = self.rest.split_first().ok_or(DerError::Truncated { at })?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::HighTag { at });
        }
        let (&first, mut after_length) = after_tag
            .split_first()
            .ok_or(DerError::Truncated { at: at + 1 })?;
        let length = if first < 0x80 {
            usize::from(first)
        } else if first == 0x80 {
            return Err(DerError::IndefiniteLength { at });
        } else {
            let count = usize::from(first & 0x7f);
            if count > 4 {
                return Err(DerError::LengthTooLong { at });
            }
            if after_length.len() < count {
                return Err(DerError::Truncated {
                    at: at + 2 + after_length.len(),
                });
            }
            let (digits, rest) = after_length.split_at(count);
            after_length = rest;
            digits
                .iter()
                .fold(0usize, |n, &d| (n << 8) | usize::from(d))
        };
        let header = self.rest.len() - after_length.len();
        if after_length.len() < length {
            return Err(DerError::Truncated {
                at: at + header + after_length.len(),
            });
        }
        let (value, rest) = after_length.split_at(length);
        let raw = &self.rest[..header + length];
        self.rest = rest;
        self.offset += header + length;
        Ok(Tlv {
            tag,
            value,
            raw,
            at,
        })
    }

    /// The next item, which must carry `expected`.
    pub fn expect(&mut self, expected: u8) -> Result<Tlv<'a>, DerError> {
        let at = self.offset;
        match self.peek_tag() {
            None => Err(DerError::Missing { expected, at }),
            Some(found) if found != expected => Err(DerError::UnexpectedTag {
                expected,
                found,
                at,
            }),
            Some(_) => self.read(),
        }
    }

    /// The next item if it carries `tag`; nothing is read otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Skips items until one carries `tag`; `None` at the end.
    pub fn find(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        while !self.is_empty() {
            let item = self.read()?;
            if item.tag == tag {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    /// The next item is a SEQUENCE: a reader over its contents.
    pub fn sequence(&mut self) -> Result<Reader<'a>, DerError> {
        Ok(self.expect(tag::SEQUENCE)?.contents())
    }

    /// The next item is a non-negative INTEGER: its magnitude, big-endian,
    /// without leading zero bytes (empty for zero).
    pub fn unsigned_integer(&mut self) -> Result<&'a [u8], DerError> {
        let item = self.expect(tag::INTEGER)?;
        match item.value.first() {
            None => Err(DerError::Malformed {
                what: "an empty INTEGER",
                at: item.at,
            }),
            Some(&b) if b & 0x80 != 0 => Err(DerError::Malformed {
                what: "a negative INTEGER where a size or key part was expected",
                at: item.at,
            }),
            Some(_) => {
                let zeros = item.value.iter().take_while(|&&b| b == 0).count();
                Ok(&item.value[zeros..])
            }
        }
    }

    /// The next item is an INTEGER that fits in a `u64`.
    pub fn small_integer(&mut self) -> Result<u64, DerError> {
        let at = self.offset;
        let magnitude = self.unsigned_integer()?;
        if magnitude.len() > 8 {
            return Err(DerError::Malformed {
                what: "an INTEGER too large for a version number",
                at,
            });
        }
        Ok(magnitude.iter().fold(0u64, |n, &d| (n << 8) | u64::from(d)))
    }

    /// The next item is a BIT STRING of whole bytes: its bytes.
    pub fn bit_string(&mut self) -> Result<&'a [u8], DerError> {
        let item = self.expect(tag::BIT_STRING)?;
        bit_string_bytes(&item)
    }

    /// The next item is an OCTET STRING: its bytes.
    pub fn octet_string(&mut self) -> Result<&'a [u8], DerError> {
        Ok(self.expect(tag::OCTET_STRING)?.value)
    }

    /// The next item is an OBJECT IDENTIFIER: its encoded arcs.
    pub fn oid(&mut self) -> Result<&'a [u8], DerError> {
        let item = self.expect(tag::OID)?;
        if item.value.is_empty() || item.value.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(DerError::Malformed {
                what: "an OBJECT IDENTIFIER",
                at: item.at,
            });
        }
        Ok(item.value)
    }

    /// The next item is a BOOLEAN.
    pub fn boolean(&mut self) -> Result<bool, DerError> {
        let item = self.expect(tag::BOOLEAN)?;
        match item.value {
            [0] => Ok(false),
            [_] => Ok(true),
            _ => Err(DerError::Malformed {
                what: "a BOOLEAN",
                at: item.at,
            }),
        }
    }

    /// Nothing may follow.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData {
                count: self.rest.len(),
                at: self.offset,
            })
        }
    }
}

/// The bytes of a BIT STRING (or an IMPLICIT-tagged one) whose length is
/// whole bytes, as keys always are.
pub fn bit_string_bytes<'a>(item: &Tlv<'a>) -> Result<&'a [u8], DerError> {
    match item.value.split_first() {
        Some((0, bytes)) => Ok(bytes),
        _ => Err(DerError::Malformed {
            what: "a BIT STRING of whole bytes",
            at: item.at,
        }),
    }
}

/// An OBJECT IDENTIFIER's encoded arcs as dotted text (`1.3.101.112`), for
/// messages about algorithms and curves the agent does not know.
pub fn oid_text(encoded: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    for &b in encoded {
        // An arc past 2^56 is not one any registry assigns; saturate rather
        // than overflow.
        current = current
            .saturating_mul(128)
            .saturating_add(u64::from(b & 0x7f));
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (first, second) = match current {
                    0..=39 => (0, current),
                    40..=79 => (1, current - 40),
                    _ => (2, current - 80),
                };
                arcs.extend([first, second]);
            } else {
                arcs.push(current);
            }
            current = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_and_a_long_length_are_read_and_the_rest_is_left() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        long.extend([0x05, 0x00]);
        let mut r = Reader::new(&long);
        let item = r.read().unwrap();
        assert_eq!(item.tag, tag::OCTET_STRING);
        assert_eq!(item.value.len(), 0x80);
        assert_eq!(item.raw.len(), 0x83);
        assert_eq!(r.position(), 0x83);
        assert_eq!(r.expect(tag::NULL).unwrap().value, b"");
        assert!(r.is_empty());
        r.finish().unwrap();
    }

    #[test]
    fn a_length_longer_than_the_data_is_refused_without_allocating() {
        // Four length bytes announcing 4 GiB, and nothing behind them.
        let mut r = Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]);
        assert_eq!(r.read(), Err(DerError::Truncated { at: 7 }));
        let mut r = Reader::new(&[0x30, 0x85, 1, 2, 3, 4, 5]);
        assert_eq!(r.read(), Err(DerError::LengthTooLong { at: 0 }));
        let mut r = Reader::new(&[0x30, 0x82, 0x01]);
        assert_eq!(r.read(), Err(DerError::Truncated { at: 3 }));
        let mut r = Reader::new(&[0x30]);
        assert_eq!(r.read(), Err(DerError::Truncated { at: 1 }));
    }

    #[test]
    fn ber_forms_and_multi_byte_tags_are_refused() {
        let mut r = Reader::new(&[0x30, 0x80, 0x00, 0x00]);
        assert_eq!(r.read(), Err(DerError::IndefiniteLength { at: 0 }));
        let mut r = Reader::new(&[0x1f, 0x81, 0x00, 0x00]);
        assert_eq!(r.read(), Err(DerError::HighTag { at: 0 }));
    }

    #[test]
    fn offsets_inside_nested_items_count_from_the_outermost_input() {
        let data = [0x30, 0x05, 0x02, 0x01, 0x05, 0x04, 0x00, 0xff];
        let mut outer = Reader::new(&data);
        let mut inner = outer.sequence().unwrap();
        assert_eq!(inner.position(), 2);
        assert_eq!(inner.small_integer().unwrap(), 5);
        assert_eq!(inner.position(), 5);
        assert_eq!(
            inner.expect(tag::BIT_STRING),
            Err(DerError::UnexpectedTag {
                expected: tag::BIT_STRING,
                found: tag::OCTET_STRING,
                at: 5
            })
        );
        assert_eq!(
            outer.finish(),
            Err(DerError::TrailingData { count: 1, at: 7 })
        );
    }

    #[test]
    fn integers_lose_their_leading_zeros_and_negative_ones_are_refused() {
        let mut r = Reader::new(&[0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0xff]);
        assert_eq!(r.unsigned_integer().unwrap(), [0x80, 0x01]);
        assert!(matches!(
            r.unsigned_integer(),
            Err(DerError::Malformed { at: 5, .. })
        ));
        let mut r = Reader::new(&[0x02, 0x00]);
        assert!(r.unsigned_integer().is_err());
    }

    #[test]
    fn bit_strings_with_unused_bits_and_bad_booleans_are_malformed() {
        let mut r = Reader::new(&[0x03, 0x02, 0x00, 0xaa, 0x03, 0x02, 0x01, 0xaa]);
        assert_eq!(r.bit_string().unwrap(), [0xaa]);
        assert!(r.bit_string().is_err());
        let mut r = Reader::new(&[0x01, 0x01, 0xff, 0x01, 0x01, 0x00, 0x01, 0x00]);
        assert!(r.boolean().unwrap());
        assert!(!r.boolean().unwrap());
        assert!(r.boolean().is_err());
    }

    #[test]
    fn oids_read_as_dotted_text() {
        assert_eq!(oid_text(&[0x2b, 0x65, 0x70]), "1.3.101.112");
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            "1.2.840.10045.3.1.7"
        );
        assert_eq!(oid_text(&[0x55, 0x1d, 0x13]), "2.5.29.19");
        let mut r = Reader::new(&[0x06, 0x01, 0x81]);
        assert!(r.oid().is_err());
    }

    #[test]
    fn find_skips_to_the_first_item_of_a_tag() {
        let data = [0x02, 0x01, 0x00, 0xa3, 0x02, 0x05, 0x00, 0x04, 0x00];
        let mut r = Reader::new(&data);
        let found = r.find(tag::context(3)).unwrap().unwrap();
        assert_eq!(found.at, 3);
        assert_eq!(found.contents().expect(tag::NULL).unwrap().at, 5);
        assert_eq!(r.find(tag::SEQUENCE).unwrap(), None);
        assert!(r.is_empty());
    }
}
