//! SenML names and tags: a resolved name made valid (RFC 8428 §4.5.1) with
//! the original kept for the `rawname` extension, and the `tags` extension's
//! escaped `k=v,k=v` text.

use std::collections::BTreeMap;

use crate::reading::Reading;

/// Whether `name` is a valid resolved SenML name (RFC 8428 §4.5.1).
pub(crate) fn is_valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.chars().all(name_char)
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '/' | '_')
}

/// The resolved name of a reading, valid SenML, and the original when it
/// had to be changed to become valid.
pub(crate) fn full_name(device: Option<&str>, r: &Reading) -> (String, Option<String>) {
    let mut raw = String::with_capacity(
        device.map_or(0, |d| d.len() + 1) + r.source.len() + 1 + r.name.len(),
    );
    if let Some(device) = device {
        raw.push_str(device);
        raw.push(':');
    }
    if !r.source.is_empty() {
        raw.push_str(&r.source);
        raw.push('/');
    }
    raw.push_str(&r.name);
    if is_valid_name(&raw) {
        return (raw, None);
    }
    let mut name = String::with_capacity(raw.len() + 1);
    if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name.push('x');
    }
    name.extend(raw.chars().map(|c| if name_char(c) { c } else { '_' }));
    (name, Some(raw))
}

/// The `tags` extension's text: `k=v,k=v` in key order, with `\`, `,` and
/// `=` escaped by a `\`. `None` without tags.
pub(crate) fn tags_text(tags: &BTreeMap<String, String>) -> Option<String> {
    if tags.is_empty() {
        return None;
    }
    let mut text = String::new();
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        escape_tag(&mut text, k);
        text.push('=');
        escape_tag(&mut text, v);
    }
    Some(text)
}

fn escape_tag(text: &mut String, part: &str) {
    for c in part.chars() {
        if matches!(c, '\\' | ',' | '=') {
            text.push('\\');
        }
        text.push(c);
    }
}
