//! Splitting an answer line into its fields.
//!
//! `+USORF: 0,"195.34.89.241" ,7,2,"12"` becomes `[Int(0), Str("195.34.89.241"),
//! Int(7), Int(2), Str("12")]`. Blanks around fields are ignored (the note's
//! tables show both `0,2` and `0, 2`). Counted payloads found by the codec are
//! taken whole, whatever bytes they hold.

use super::codec::Line;
use super::error::ParseError;

/// One field of an answer line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<'a> {
    /// Nothing between two commas.
    Empty,
    Int(i64),
    /// A quoted string or counted payload, without its quotes.
    Quoted(&'a [u8]),
    /// Unquoted text that is not a number (e.g. `SLP2 1`, `IPV4V6`).
    Bare(&'a [u8]),
}

/// The fields of one line, with accessors that name the line in their errors.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    line: &'a Line,
    fields: Vec<Field<'a>>,
}

impl<'a> Fields<'a> {
    /// Splits `line`, which must start with `prefix:` (e.g. `+CGDCONT`).
    pub fn parse(line: &'a Line, prefix: &str) -> Result<Fields<'a>, ParseError> {
        let bytes = &line.bytes;
        let head = prefix.as_bytes();
        let matches = bytes.len() > head.len()
            && bytes[..head.len()].eq_ignore_ascii_case(head)
            && bytes[head.len()] == b':';
        if !matches {
            return Err(ParseError::new(
                line,
                format!("expected a `{prefix}:` line"),
            ));
        }
        Self::parse_from(line, head.len() + 1)
    }

    /// Splits a line that has no prefix (e.g. `ATI`'s lines are plain text).
    pub fn parse_bare(line: &'a Line) -> Result<Fields<'a>, ParseError> {
        Self::parse_from(line, 0)
    }

    fn parse_from(line: &'a Line, start: usize) -> Result<Fields<'a>, ParseError> {
        let bytes = &line.bytes[..];
        let mut fields = Vec::new();
        let mut pos = start;
        loop {
            while bytes.get(pos) == Some(&b' ') {
                pos += 1;
            }
            let field_start = pos;
            if let Some(range) = line.counted.iter().find(|r| r.start == pos + 1) {
                // A counted payload: the codec measured it, take it whole.
                fields.push(Field::Quoted(&bytes[range.clone()]));
                pos = range.end + 1;
            } else if bytes.get(pos) == Some(&b'"') {
                let Some(len) = bytes[pos + 1..].iter().position(|&b| b == b'"') else {
                    return Err(ParseError::new(line, "unterminated quoted field"));
                };
                fields.push(Field::Quoted(&bytes[pos + 1..pos + 1 + len]));
                pos += len + 2;
            } else {
                let len = bytes[pos..]
                    .iter()
                    .position(|&b| b == b',')
                    .unwrap_or(bytes.len() - pos);
                let raw = bytes[pos..pos + len].trim_ascii();
                fields.push(bare_field(raw));
                pos += len;
            }
            while bytes.get(pos) == Some(&b' ') {
                pos += 1;
            }
            match bytes.get(pos) {
                None => break,
                Some(b',') => pos += 1,
                Some(_) => {
                    return Err(ParseError::new(
                        line,
                        format!("unexpected byte after field starting at {field_start}"),
                    ))
                }
            }
            if pos == bytes.len() {
                fields.push(Field::Empty);
                break;
            }
        }
        Ok(Fields { line, fields })
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&Field<'a>> {
        self.fields.get(index)
    }

    pub fn int(&self, index: usize) -> Result<i64, ParseError> {
        match self.fields.get(index) {
            Some(Field::Int(v)) => Ok(*v),
            _ => Err(self.wrong(index, "a number")),
        }
    }

    /// A number that may be absent or empty.
    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, ParseError> {
        match self.fields.get(index) {
            None | Some(Field::Empty) => Ok(None),
            Some(Field::Int(v)) => Ok(Some(*v)),
            _ => Err(self.wrong(index, "a number or nothing")),
        }
    }

    /// A number that must fit `T` (e.g. a `u8` profile id).
    pub fn int_as<T: TryFrom<i64>>(&self, index: usize) -> Result<T, ParseError> {
        let v = self.int(index)?;
        T::try_from(v).map_err(|_| self.wrong(index, "a number in range"))
    }

    pub fn bytes(&self, index: usize) -> Result<&'a [u8], ParseError> {
        match self.fields.get(index) {
            Some(Field::Quoted(b)) | Some(Field::Bare(b)) => Ok(b),
            Some(Field::Empty) => Ok(&[]),
            _ => Err(self.wrong(index, "a string")),
        }
    }

    /// A text field (quoted or bare), as UTF-8.
    pub fn str(&self, index: usize) -> Result<&'a str, ParseError> {
        let b = self.bytes(index)?;
        std::str::from_utf8(b).map_err(|_| self.wrong(index, "UTF-8 text"))
    }

    fn wrong(&self, index: usize, what: &str) -> ParseError {
        ParseError::new(self.line, format!("field {index} is not {what}"))
    }
}

fn bare_field(raw: &[u8]) -> Field<'_> {
    if raw.is_empty() {
        return Field::Empty;
    }
    match std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    {
        Some(v) => Field::Int(v),
        None => Field::Bare(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_tolerate_blanks_around_commas() {
        let line = Line::text(br#"+USORF: 0,"195.34.89.241" ,7, 2,"12""#);
        let f = Fields::parse(&line, "+USORF").unwrap();
        assert_eq!(f.int(0).unwrap(), 0);
        assert_eq!(f.str(1).unwrap(), "195.34.89.241");
        assert_eq!(f.int(2).unwrap(), 7);
        assert_eq!(f.int(3).unwrap(), 2);
        assert_eq!(f.bytes(4).unwrap(), b"12");
    }

    #[test]
    fn empty_fields_are_kept_in_place() {
        let line = Line::text(b"+CEREG: 2,1,,,7,");
        let f = Fields::parse(&line, "+CEREG").unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f.opt_int(2).unwrap(), None);
        assert_eq!(f.int(4).unwrap(), 7);
        assert_eq!(f.get(5), Some(&Field::Empty));
    }

    #[test]
    fn counted_payload_is_taken_whole() {
        let bytes = b"+USORD: 0,6,\"a\",\r\nb\"".to_vec();
        let line = Line {
            counted: std::iter::once(13..19).collect(),
            bytes,
        };
        let f = Fields::parse(&line, "+USORD").unwrap();
        assert_eq!(f.bytes(2).unwrap(), b"a\",\r\nb");
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn wrong_prefix_is_an_error_naming_the_line() {
        let line = Line::text(b"+COPS: 0");
        let err = Fields::parse(&line, "+CEREG").unwrap_err();
        assert!(err.to_string().contains("+COPS: 0"), "{err}");
    }
}
