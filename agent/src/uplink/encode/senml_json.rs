//! `senml-json`: SenML in JSON (RFC 8428 §5, `application/senml+json`).
//!
//! A pack is an array of objects with the text labels of Table 2, e.g. (three
//! readings of one gateway, the first at 2023-11-14T22:13:20Z; records are
//! grouped, readings without a unit first, see `senml/mod.rs`):
//!
//! ```text
//! [{"bn":"gw-01:door/open","bt":1700000000,"vb":false},
//!  {"bn":"gw-01:bme280/temperature","bu":"Cel","v":21.53,"t":5},
//!  {"v":21.6,"t":10.25}]
//! ```
//!
//! (without the line breaks). Numbers are the shortest text that reads back
//! as the same double (`21` rather than `21.0`, `1e300` rather than 301
//! digits); `vd` is base64url without padding; strings are UTF-8 with the
//! RFC 8259 escapes. NaN and ±∞ have no JSON form: readings carrying them are
//! refused. What goes into a record and why: see `senml/mod.rs`.

use super::senml::{Dialect, Label, Val};
use super::sink::Out;
use super::{base64url, json};

/// The JSON dialect of SenML.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json;

impl Dialect for Json {
    const FIELD_SEP: usize = 1;
    const RECORD_SEP: usize = 1;
    const RECORD_FRAME: usize = 2;

    fn pack_frame(_records: usize) -> usize {
        2
    }

    fn plain_text_len(len: usize) -> usize {
        len + 2
    }

    fn pack_start(out: &mut impl Out, _records: usize) {
        out.byte(b'[');
    }

    fn pack_end(out: &mut impl Out) {
        out.byte(b']');
    }

    fn record_sep(out: &mut impl Out) {
        out.byte(b',');
    }

    fn record_start(out: &mut impl Out, _fields: usize) {
        out.byte(b'{');
    }

    fn record_end(out: &mut impl Out) {
        out.byte(b'}');
    }

    fn field_sep(out: &mut impl Out) {
        out.byte(b',');
    }

    fn key(out: &mut impl Out, label: Label) {
        json::string(out, label.text());
        out.byte(b':');
    }

    fn value(out: &mut impl Out, value: Val<'_>) {
        match value {
            Val::Text(s) => json::string(out, s),
            Val::Data(d) => {
                out.byte(b'"');
                base64url::encode(out, d);
                out.byte(b'"');
            }
            Val::Int(v) => json::int(out, v),
            Val::Float(v) => json::float(out, v),
            Val::Bool(v) => json::boolean(out, v),
        }
    }
}
