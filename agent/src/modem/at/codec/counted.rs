//! Lines whose quoted payload has an announced length (`+USORD`, `+USORF`,
//! `+UMQTTC: 6`, §5.4, §5.7, §6.5): scanned field by field and read by
//! length, never by looking for the closing quote.

use std::ops::Range;

use super::{PayloadSpec, MAX_COUNTED_PAYLOAD, MAX_LINE};

pub(super) enum Counting {
    NeedMore,
    NotCounted,
    /// `end`: end of the line's content; `next`: bytes used including the
    /// terminator; `counted`: payload ranges within the line.
    Line {
        end: usize,
        next: usize,
        counted: Vec<Range<usize>>,
    },
}

/// Scans a line that may hold counted payloads, field by field.
pub(super) fn scan_counted_line(buf: &[u8], spec: &PayloadSpec) -> Counting {
    let mut pos = spec.prefix.len();
    let mut field = 0usize;
    let mut last_number: Option<usize> = None;
    let mut counted = Vec::new();
    loop {
        while buf.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let Some(&b) = buf.get(pos) else {
            return Counting::NeedMore;
        };
        let rule = spec.counted.iter().find(|c| c.length_field + 1 == field);
        if let Some(rule) = rule {
            let Some(n) = last_number else {
                return Counting::NotCounted;
            };
            if b != b'"' {
                return Counting::NotCounted;
            }
            let len = if rule.hex { n.saturating_mul(2) } else { n };
            if len > MAX_COUNTED_PAYLOAD {
                return Counting::NotCounted;
            }
            let body = pos + 1;
            let close = body + len;
            match buf.get(close) {
                None => return Counting::NeedMore,
                Some(b'"') => {}
                Some(_) => return Counting::NotCounted,
            }
            counted.push(body..close);
            pos = close + 1;
        } else if b == b'"' {
            // An ordinary quoted field: it cannot contain a quote.
            match buf[pos + 1..]
                .iter()
                .position(|&c| c == b'"' || c == b'\r' || c == b'\n')
            {
                None => return scan_limit(buf),
                Some(off) if buf[pos + 1 + off] == b'"' => pos = pos + 1 + off + 1,
                Some(_) => return Counting::NotCounted,
            }
            last_number = None;
        } else {
            let len = buf[pos..]
                .iter()
                .position(|&c| matches!(c, b',' | b'\r' | b'\n'))
                .unwrap_or(buf.len() - pos);
            let text = buf[pos..pos + len].trim_ascii_end();
            last_number = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok());
            pos += len;
        }
        while buf.get(pos) == Some(&b' ') {
            pos += 1;
        }
        match buf.get(pos) {
            None => return scan_limit(buf),
            Some(b',') => {
                pos += 1;
                field += 1;
            }
            Some(b'\r') | Some(b'\n') => {
                let end = pos;
                return Counting::Line {
                    end,
                    next: end + 1,
                    counted,
                };
            }
            Some(_) => return Counting::NotCounted,
        }
    }
}

/// An unfinished counted line that already exceeds any legal length is not
/// one: let the plain-line path turn it into garbage.
pub(super) fn scan_limit(buf: &[u8]) -> Counting {
    if buf.len() > MAX_LINE + MAX_COUNTED_PAYLOAD {
        Counting::NotCounted
    } else {
        Counting::NeedMore
    }
}
