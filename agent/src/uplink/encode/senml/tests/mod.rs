//! SenML, checked from the outside: our output is decoded by independent
//! decoders (`serde_json`, `ciborium`) into generic values, and a small
//! resolver written here from RFC 8428 §4.6 (not from the encoder) turns
//! records into resolved ones. The resolver is first checked against the
//! RFC's own examples (§5.1.1 to §5.1.7 in JSON, §6 in CBOR), then used to
//! check that what we write resolves to the readings we were given.
//!
//! This file is the resolver; `rfc_examples.rs` checks it against the RFC,
//! `our_output.rs` resolves what we write for the RFC's readings and the
//! documented decisions, `properties.rs` does so for random readings.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::reading::{Reading, Value};
use crate::uplink::encode::*;

mod our_output;
mod properties;
mod rfc_examples;

// ---------------------------------------------------------------------------
// An independent resolver.

/// A number as the decoder gave it.
#[derive(Debug, Clone, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn as_f64(&self) -> f64 {
        match self {
            Num::Int(i) => *i as f64,
            Num::Float(f) => *f,
        }
    }
}

/// A field value as the decoder gave it.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Num(Num),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A record: text labels (CBOR integer labels mapped by RFC 8428 Table 4).
type RawRecord = Vec<(String, Item)>;

fn cbor_label(n: i128) -> &'static str {
    match n {
        -1 => "bver",
        -2 => "bn",
        -3 => "bt",
        -4 => "bu",
        -5 => "bv",
        -6 => "bs",
        0 => "n",
        1 => "u",
        2 => "v",
        3 => "vs",
        4 => "vb",
        5 => "s",
        6 => "t",
        7 => "ut",
        8 => "vd",
        other => panic!("CBOR label {other} is not in RFC 8428 Table 4"),
    }
}

fn cbor_records(bytes: &[u8]) -> Vec<RawRecord> {
    use ciborium::Value as V;
    let value: V = ciborium::de::from_reader(bytes).expect("valid CBOR");
    let V::Array(records) = value else {
        panic!("a pack is an array, got {value:?}")
    };
    records
        .into_iter()
        .map(|record| {
            let V::Map(fields) = record else {
                panic!("a record is a map, got {record:?}")
            };
            fields
                .into_iter()
                .map(|(k, v)| {
                    let label = match k {
                        V::Integer(i) => cbor_label(i128::from(i)).to_owned(),
                        V::Text(t) => t,
                        other => panic!("label {other:?}"),
                    };
                    let item = match v {
                        V::Integer(i) => Item::Num(Num::Int(i128::from(i))),
                        V::Float(f) => Item::Num(Num::Float(f)),
                        V::Text(t) => Item::Text(t),
                        V::Bytes(b) => Item::Bytes(b),
                        V::Bool(b) => Item::Bool(b),
                        other => panic!("value {other:?}"),
                    };
                    (label, item)
                })
                .collect()
        })
        .collect()
}

/// base64url without padding, decoded (the test's own, not the encoder's).
fn base64url_decode(text: &str) -> Vec<u8> {
    let sextet = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            other => panic!("{:?} is not base64url", other as char),
        }
    };
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 6) | sextet(c);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    assert_eq!(bits, 0, "non-zero padding bits in {text:?}");
    out
}

fn json_records(bytes: &[u8]) -> Vec<RawRecord> {
    use serde_json::Value as V;
    let value: V = serde_json::from_slice(bytes).expect("valid JSON");
    let V::Array(records) = value else {
        panic!("a pack is an array, got {value}")
    };
    records
        .into_iter()
        .map(|record| {
            let V::Object(fields) = record else {
                panic!("a record is an object, got {record}")
            };
            fields
                .into_iter()
                .map(|(label, v)| {
                    let item = match v {
                        V::Number(n) => Item::Num(match (n.as_i64(), n.as_u64()) {
                            (Some(i), _) => Num::Int(i128::from(i)),
                            (_, Some(u)) => Num::Int(i128::from(u)),
                            _ => Num::Float(n.as_f64().expect("a number")),
                        }),
                        V::String(s) if label == "vd" => Item::Bytes(base64url_decode(&s)),
                        V::String(s) => Item::Text(s),
                        V::Bool(b) => Item::Bool(b),
                        other => panic!("value {other}"),
                    };
                    (label, item)
                })
                .collect()
        })
        .collect()
}

/// A time: seconds as a double (what RFC 8428 resolves to), and the exact
/// nanoseconds when base time and time are both integers.
#[derive(Debug, Clone, PartialEq)]
struct Time {
    seconds: f64,
    exact_ns: Option<i128>,
}

#[derive(Debug, Clone, PartialEq)]
struct Resolved {
    name: String,
    unit: Option<String>,
    value: Option<Item>,
    sum: Option<f64>,
    time: Time,
    /// Fields this resolver does not know (extensions).
    ext: BTreeMap<String, Item>,
}

/// RFC 8428 §4.6: base fields apply to their record and every later one,
/// until a record sets them again; names concatenate, times and values add.
fn resolve(records: Vec<RawRecord>) -> Vec<Resolved> {
    let mut bn = String::new();
    let mut bt: Option<Num> = None;
    let mut bu: Option<String> = None;
    let mut bv: Option<f64> = None;
    let mut bs: Option<f64> = None;
    let mut out = Vec::new();
    for record in records {
        let mut n = String::new();
        let mut u = None;
        let mut value = None;
        let mut s = None;
        let mut t: Option<Num> = None;
        let mut ext = BTreeMap::new();
        for (label, item) in record {
            assert!(!label.ends_with('_'), "must-understand field {label}");
            match (label.as_str(), item) {
                ("bn", Item::Text(x)) => bn = x,
                ("bt", Item::Num(x)) => bt = Some(x),
                ("bu", Item::Text(x)) => bu = Some(x),
                ("bv", Item::Num(x)) => bv = Some(x.as_f64()),
                ("bs", Item::Num(x)) => bs = Some(x.as_f64()),
                ("bver", Item::Num(Num::Int(x))) => assert!(x <= 10, "version {x}"),
                ("n", Item::Text(x)) => n = x,
                ("u", Item::Text(x)) => u = Some(x),
                ("v", Item::Num(x)) => {
                    assert!(value.is_none(), "two values");
                    value = Some(Item::Num(x));
                }
                ("vs", x @ Item::Text(_))
                | ("vb", x @ Item::Bool(_))
                | ("vd", x @ Item::Bytes(_)) => {
                    assert!(value.is_none(), "two values");
                    value = Some(x);
                }
                ("s", Item::Num(x)) => s = Some(x.as_f64()),
                ("t", Item::Num(x)) => t = Some(x),
                ("ut", Item::Num(_)) => {}
                (
                    l @ ("bn" | "bt" | "bu" | "bv" | "bs" | "bver" | "n" | "u" | "v" | "vs" | "vb"
                    | "vd" | "s" | "t" | "ut"),
                    x,
                ) => panic!("{l} with a value of the wrong type: {x:?}"),
                (other, x) => {
                    ext.insert(other.to_owned(), x);
                }
            }
        }
        if let (Some(Item::Num(v)), Some(base)) = (&value, bv) {
            value = Some(Item::Num(Num::Float(base + v.as_f64())));
        }
        let seconds = bt.as_ref().map_or(0.0, Num::as_f64) + t.as_ref().map_or(0.0, Num::as_f64);
        let exact_ns = match (&bt, &t) {
            (Some(Num::Int(b)), Some(Num::Int(x))) => Some((b + x) * 1_000_000_000),
            (Some(Num::Int(b)), None) => Some(b * 1_000_000_000),
            _ => None,
        };
        let name = format!("{bn}{n}");
        out.push(Resolved {
            name,
            unit: u.or_else(|| bu.clone()),
            value,
            sum: match (bs, s) {
                (None, None) => None,
                (b, s) => Some(b.unwrap_or(0.0) + s.unwrap_or(0.0)),
            },
            time: Time { seconds, exact_ns },
            ext,
        });
    }
    out
}

fn resolve_json(text: &str) -> Vec<Resolved> {
    resolve(json_records(text.as_bytes()))
}

/// The RFC's hex dumps (spaced and wrapped) as bytes.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    crate::values::hex::decode(&digits).expect("a hex dump of whole bytes")
}

/// A resolved record, for the examples: (name, unit, value, seconds).
fn summary(r: &Resolved) -> (String, Option<String>, Option<Item>, f64) {
    (
        r.name.clone(),
        r.unit.clone(),
        r.value.clone(),
        r.time.seconds,
    )
}

fn num(v: f64) -> Option<Item> {
    Some(Item::Num(Num::Float(v)))
}

fn int(v: i128) -> Option<Item> {
    Some(Item::Num(Num::Int(v)))
}

fn assert_numbers_equal(a: &Option<Item>, b: &Option<Item>) {
    match (a, b) {
        (Some(Item::Num(x)), Some(Item::Num(y))) => assert_eq!(x.as_f64(), y.as_f64()),
        _ => assert_eq!(a, b),
    }
}
