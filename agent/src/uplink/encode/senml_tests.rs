//! SenML, checked from the outside: our output is decoded by independent
//! decoders (`serde_json`, `ciborium`) into generic values, and a small
//! resolver written here from RFC 8428 §4.6 (not from the encoder) turns
//! records into resolved ones. The resolver is first checked against the
//! RFC's own examples (§5.1.1 to §5.1.7 in JSON, §6 in CBOR), then used to
//! check that what we write resolves to the readings we were given.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::reading::{Reading, Value};

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

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
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

// ---------------------------------------------------------------------------
// The RFC's examples, read by the resolver.

/// RFC 8428 §5.1.1.
const SINGLE: &str = r#"[
  {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}
]"#;

/// RFC 8428 §5.1.2, first example.
const MULTIPLE_NOW: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
  {"n":"current","u":"A","v":1.2}
]"#;

/// RFC 8428 §5.1.2, second example (the same data as the §6 CBOR example).
const MULTIPLE_TIMED: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
   "bu":"A","bver":5,
   "n":"voltage","u":"V","v":120.1},
  {"n":"current","t":-5,"v":1.2},
  {"n":"current","t":-4,"v":1.3},
  {"n":"current","t":-3,"v":1.4},
  {"n":"current","t":-2,"v":1.5},
  {"n":"current","t":-1,"v":1.6},
  {"n":"current","v":1.7}
]"#;

/// RFC 8428 §5.1.3.
const MEASUREMENTS: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
   "bu":"%RH","v":20},
  {"u":"lon","v":24.30621},
  {"u":"lat","v":60.07965},
  {"t":60,"v":20.3},
  {"u":"lon","t":60,"v":24.30622},
  {"u":"lat","t":60,"v":60.07965},
  {"t":120,"v":20.7},
  {"u":"lon","t":120,"v":24.30623},
  {"u":"lat","t":120,"v":60.07966},
  {"u":"%EL","t":150,"v":98},
  {"t":180,"v":21.2},
  {"u":"lon","t":180,"v":24.30628},
  {"u":"lat","t":180,"v":60.07967}
]"#;

/// RFC 8428 §5.1.4: §5.1.3 resolved.
const MEASUREMENTS_RESOLVED: &str = r#"[
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
   "v":20},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
   "v":24.30621},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
   "v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
   "v":20.3},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
   "v":24.30622},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
   "v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
   "v":20.7},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
   "v":24.30623},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
   "v":60.07966},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
   "v":98},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
   "v":21.2},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
   "v":24.30628},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
   "v":60.07967}
]"#;

/// RFC 8428 §5.1.5.
const DATA_TYPES: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
  {"n":"label","vs":"Machine Room"},
  {"n":"open","vb":false},
  {"n":"nfv-reader","vd":"aGkgCg"}
]"#;

/// RFC 8428 §5.1.6.
const COLLECTION: &str = r#"[
  {"bn":"2001:db8::2/","bt":1.320078429e+09,
   "n":"temperature","u":"Cel","v":25.2},
  {"n":"humidity","u":"%RH","v":30},
  {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
  {"n":"humidity","u":"%RH","v":67}
]"#;

/// RFC 8428 §5.1.7, first example.
const ACTUATOR: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063:"},
  {"n":"temp","u":"Cel","v":23.1},
  {"n":"heat","u":"/","v":1},
  {"n":"fan","u":"/","v":0}
]"#;

/// RFC 8428 §5.1.7, third example.
const ACTUATOR_TIMED: &str = r#"[
  {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},
  {"n":"2001:db8::4","v":0.5},
  {"n":"2001:db8::3","t":0.1,"v":0},
  {"n":"2001:db8::4","t":0.1,"v":0}
]"#;

/// RFC 8428 §6: the CBOR form of `MULTIPLE_TIMED`, as the RFC prints it.
const CBOR_EXAMPLE: &str = "
 87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a
 31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a
 22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00
 67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06
 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06
 24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75
 72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc
 cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f
 f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e
 74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e
 74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67
 63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33
 33 33 33";

const OW: &str = "urn:dev:ow:10e2073a01080063";

#[test]
fn the_resolver_reads_the_single_data_point_example() {
    let r = resolve_json(SINGLE);
    assert_eq!(
        r.iter().map(summary).collect::<Vec<_>>(),
        [(OW.into(), Some("Cel".into()), num(23.1), 0.0)]
    );
}

#[test]
fn the_resolver_concatenates_base_name_and_name() {
    let r = resolve_json(MULTIPLE_NOW);
    assert_eq!(
        r.iter().map(summary).collect::<Vec<_>>(),
        [
            (format!("{OW}:voltage"), Some("V".into()), num(120.1), 0.0),
            (format!("{OW}:current"), Some("A".into()), num(1.2), 0.0),
        ]
    );
}

fn multiple_timed_resolved() -> Vec<(String, Option<String>, Option<Item>, f64)> {
    let name = |n: &str| format!("urn:dev:ow:10e2073a0108006:{n}");
    let mut want = vec![(
        name("voltage"),
        Some("V".into()),
        num(120.1),
        1276020076.001,
    )];
    for (i, v) in [1.2, 1.3, 1.4, 1.5, 1.6, 1.7].into_iter().enumerate() {
        let t = 1276020076.001 + (i as f64 - 5.0);
        want.push((name("current"), Some("A".into()), num(v), t));
    }
    want
}

fn assert_summaries_close(
    got: &[(String, Option<String>, Option<Item>, f64)],
    want: &[(String, Option<String>, Option<Item>, f64)],
) {
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((&g.0, &g.1), (&w.0, &w.1));
        assert_numbers_equal(&g.2, &w.2);
        assert!((g.3 - w.3).abs() < 1e-6, "time {} vs {}", g.3, w.3);
    }
}

/// Like `assert_summaries_close`, in any order: we write records grouped by
/// unit and name, which a pack allows.
fn assert_same_records(
    got: &[(String, Option<String>, Option<Item>, f64)],
    want: &[(String, Option<String>, Option<Item>, f64)],
) {
    let sorted = |list: &[(String, Option<String>, Option<Item>, f64)]| {
        let mut list = list.to_vec();
        list.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)).then(a.3.total_cmp(&b.3)));
        list
    };
    assert_summaries_close(&sorted(got), &sorted(want));
}

#[test]
fn the_resolver_applies_base_time_and_base_unit() {
    let r = resolve_json(MULTIPLE_TIMED);
    assert_summaries_close(
        &r.iter().map(summary).collect::<Vec<_>>(),
        &multiple_timed_resolved(),
    );
}

#[test]
fn the_resolver_turns_section_5_1_3_into_section_5_1_4() {
    let got = resolve_json(MEASUREMENTS);
    let want = resolve_json(MEASUREMENTS_RESOLVED);
    assert_eq!(got.len(), 13);
    assert_summaries_close(
        &got.iter().map(summary).collect::<Vec<_>>(),
        &want.iter().map(summary).collect::<Vec<_>>(),
    );
}

#[test]
fn the_resolver_reads_every_data_type() {
    let r = resolve_json(DATA_TYPES);
    let values: Vec<_> = r
        .iter()
        .map(|r| (r.name.clone(), r.value.clone()))
        .collect();
    assert_eq!(
        values,
        [
            (format!("{OW}:temp"), num(23.1)),
            (
                format!("{OW}:label"),
                Some(Item::Text("Machine Room".into()))
            ),
            (format!("{OW}:open"), Some(Item::Bool(false))),
            (
                format!("{OW}:nfv-reader"),
                Some(Item::Bytes(b"hi \n".to_vec()))
            ),
        ]
    );
}

#[test]
fn the_resolver_keeps_a_base_time_across_a_new_base_name() {
    // "the last record would use the Base Name from the 3rd record but the
    // Base Time from the first record."
    let r = resolve_json(COLLECTION);
    assert_summaries_close(
        &r.iter().map(summary).collect::<Vec<_>>(),
        &[
            (
                "2001:db8::2/temperature".into(),
                Some("Cel".into()),
                num(25.2),
                1320078429.0,
            ),
            (
                "2001:db8::2/humidity".into(),
                Some("%RH".into()),
                int(30),
                1320078429.0,
            ),
            (
                "2001:db8::1/temperature".into(),
                Some("Cel".into()),
                num(12.3),
                1320078429.0,
            ),
            (
                "2001:db8::1/humidity".into(),
                Some("%RH".into()),
                int(67),
                1320078429.0,
            ),
        ],
    );
}

#[test]
fn the_resolver_reads_the_actuator_examples() {
    let r = resolve_json(ACTUATOR);
    // The first record only sets the base name.
    assert_eq!(r[0].value, None);
    assert_eq!(
        r[1..].iter().map(summary).collect::<Vec<_>>(),
        [
            (format!("{OW}:temp"), Some("Cel".into()), num(23.1), 0.0),
            (format!("{OW}:heat"), Some("/".into()), int(1), 0.0),
            (format!("{OW}:fan"), Some("/".into()), int(0), 0.0),
        ]
    );
    let r = resolve_json(ACTUATOR_TIMED);
    assert_summaries_close(
        &r.iter().map(summary).collect::<Vec<_>>(),
        &[
            (
                "2001:db8::3".into(),
                Some("/".into()),
                num(0.5),
                1320078429.0,
            ),
            (
                "2001:db8::4".into(),
                Some("/".into()),
                num(0.5),
                1320078429.0,
            ),
            ("2001:db8::3".into(), Some("/".into()), int(0), 1320078429.1),
            ("2001:db8::4".into(), Some("/".into()), int(0), 1320078429.1),
        ],
    );
}

#[test]
fn the_resolver_reads_the_cbor_example_as_its_json_twin() {
    let bytes = hex(CBOR_EXAMPLE);
    assert_eq!(bytes.len(), 0xc3, "the RFC's dump ends at 00c3");
    let from_cbor = resolve(cbor_records(&bytes));
    let from_json = resolve_json(MULTIPLE_TIMED);
    assert_eq!(from_cbor, from_json);
}

// ---------------------------------------------------------------------------
// Our output, resolved.

const SEC: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000 * SEC;

fn reading(
    source: &str,
    name: &str,
    unit: Option<&str>,
    value: Value,
    timestamp_ns: i64,
) -> Reading {
    Reading {
        source: source.into(),
        name: name.into(),
        unit: unit.map(Into::into),
        value,
        timestamp_ns,
        tags: BTreeMap::new(),
    }
}

fn encode_both(device: Option<&str>, readings: &[Reading]) -> (Vec<u8>, Vec<u8>) {
    let cbor = Encoder::new(Encoding::SenmlCbor, device)
        .encode(readings)
        .unwrap();
    let json = Encoder::new(Encoding::SenmlJson, device)
        .encode(readings)
        .unwrap();
    (cbor, json)
}

/// RFC 8428 §5.1.2's second example as readings (no device, no source: the
/// name is the whole SenML name).
fn multiple_timed_readings() -> Vec<Reading> {
    let base = 1_276_020_076_001_000_000;
    let mut readings = vec![reading(
        "",
        "urn:dev:ow:10e2073a0108006:voltage",
        Some("V"),
        Value::F64(120.1),
        base,
    )];
    for (i, v) in [1.2, 1.3, 1.4, 1.5, 1.6, 1.7].into_iter().enumerate() {
        readings.push(reading(
            "",
            "urn:dev:ow:10e2073a0108006:current",
            Some("A"),
            Value::F64(v),
            base + (i as i64 - 5) * SEC,
        ));
    }
    readings
}

#[test]
fn our_encoding_of_the_rfc_example_resolves_like_the_rfc_and_is_smaller() {
    let (cbor, json) = encode_both(None, &multiple_timed_readings());
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        assert_same_records(
            &resolved.iter().map(summary).collect::<Vec<_>>(),
            &multiple_timed_resolved(),
        );
    }
    // The RFC's CBOR is 195 bytes (with a version field and an explicit
    // "t": 0 that we leave out).
    assert!(cbor.len() < 0xc3, "{} bytes", cbor.len());
    assert_eq!(
        String::from_utf8(json).unwrap(),
        concat!(
            r#"[{"bn":"urn:dev:ow:10e2073a0108006:current","bt":1276020076.001,"bu":"A","v":1.2,"t":-5},"#,
            r#"{"v":1.3,"t":-4},{"v":1.4,"t":-3},{"v":1.5,"t":-2},{"v":1.6,"t":-1},{"v":1.7},"#,
            r#"{"bn":"urn:dev:ow:10e2073a0108006:voltage","u":"V","v":120.1}]"#
        )
    );
}

/// RFC 8428 §5.1.3's data as readings.
fn measurement_readings() -> Vec<Reading> {
    let base = 1_320_067_464 * SEC;
    resolve_json(MEASUREMENTS)
        .into_iter()
        .map(|r| {
            let value = match r.value {
                Some(Item::Num(n)) => Value::F64(n.as_f64()),
                other => panic!("{other:?}"),
            };
            let t = ((r.time.seconds - 1_320_067_464.0) as i64) * SEC;
            reading("", &r.name, r.unit.as_deref(), value, base + t)
        })
        .collect()
}

#[test]
fn our_encoding_of_the_multiple_measurements_resolves_to_section_5_1_4() {
    let readings = measurement_readings();
    let (cbor, json) = encode_both(None, &readings);
    let want: Vec<_> = resolve_json(MEASUREMENTS_RESOLVED)
        .iter()
        .map(summary)
        .collect();
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        let got: Vec<_> = resolved.iter().map(summary).collect();
        assert_same_records(&got, &want);
        // Whole seconds: exact.
        let mut got: Vec<_> = resolved
            .iter()
            .map(|r| (r.unit.clone(), r.time.exact_ns))
            .collect();
        let mut want: Vec<_> = readings
            .iter()
            .map(|r| (r.unit.clone(), Some(i128::from(r.timestamp_ns))))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }
    // Smaller than the RFC's own hand-made form (its Table 3 gives 254
    // bytes for CBOR; for JSON, the example above without whitespace).
    let rfc_json: String = MEASUREMENTS
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        json.len() < rfc_json.len(),
        "{} vs {}",
        json.len(),
        rfc_json.len()
    );
    assert!(cbor.len() < 254, "{} bytes", cbor.len());
}

#[test]
fn our_encoding_of_the_data_types_example_resolves_like_it() {
    let t = 1_320_078_429 * SEC;
    let name = |n: &str| format!("{OW}:{n}");
    let readings = [
        reading("", &name("temp"), Some("Cel"), Value::F64(23.1), t),
        reading(
            "",
            &name("label"),
            None,
            Value::Str("Machine Room".into()),
            t,
        ),
        reading("", &name("open"), None, Value::Bool(false), t),
        reading(
            "",
            &name("nfv-reader"),
            None,
            Value::Bytes(b"hi \n".to_vec()),
            t,
        ),
    ];
    let (cbor, json) = encode_both(None, &readings);
    let want: Vec<_> = resolve_json(DATA_TYPES)
        .into_iter()
        .map(|r| (r.name, r.unit, r.value))
        .collect();
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        let mut got: Vec<_> = resolved
            .into_iter()
            .map(|r| (r.name, r.unit, r.value))
            .collect();
        // Written without units first, then by name.
        let mut want = want.clone();
        want.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        got.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, &g.1), (&w.0, &w.1));
            assert_numbers_equal(&g.2, &w.2);
        }
    }
    assert!(String::from_utf8(json)
        .unwrap()
        .contains(r#""vd":"aGkgCg""#));
}

#[test]
fn our_encoding_of_the_collection_example_resolves_like_it() {
    let t = 1_320_078_429 * SEC;
    let readings: Vec<Reading> = resolve_json(COLLECTION)
        .into_iter()
        .map(|r| {
            let Some(Item::Num(v)) = r.value else {
                panic!("{:?}", r.value)
            };
            reading("", &r.name, r.unit.as_deref(), Value::F64(v.as_f64()), t)
        })
        .collect();
    let (cbor, json) = encode_both(None, &readings);
    let want: Vec<_> = resolve_json(COLLECTION).iter().map(summary).collect();
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        assert_same_records(&resolved.iter().map(summary).collect::<Vec<_>>(), &want);
    }
    // Four names in two devices share "2001:db8::": that is the base name.
    assert!(String::from_utf8(json)
        .unwrap()
        .starts_with(r#"[{"bn":"2001:db8::","#));
}

#[test]
fn the_documented_examples_are_what_we_write() {
    let readings = [
        reading("door", "open", None, Value::Bool(false), T0),
        reading(
            "bme280",
            "temperature",
            Some("Cel"),
            Value::F64(21.53),
            T0 + 5 * SEC,
        ),
        reading(
            "bme280",
            "temperature",
            Some("Cel"),
            Value::F64(21.6),
            T0 + 10_250_000_000,
        ),
    ];
    let (cbor, json) = encode_both(Some("gw-01"), &readings);
    let json_len = json.len();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        concat!(
            r#"[{"bn":"gw-01:door/open","bt":1700000000,"vb":false},"#,
            r#"{"bn":"gw-01:bme280/temperature","bu":"Cel","v":21.53,"t":5},"#,
            r#"{"v":21.6,"t":10.25}]"#
        )
    );
    let mut want = vec![0x83, 0xa3, 0x21, 0x6f];
    want.extend(b"gw-01:door/open");
    want.extend([0x22, 0x1a, 0x65, 0x53, 0xf1, 0x00, 0x04, 0xf4]);
    want.extend([0xa4, 0x21, 0x78, 0x18]);
    want.extend(b"gw-01:bme280/temperature");
    want.extend([0x23, 0x63]);
    want.extend(b"Cel");
    want.extend([0x02, 0xfb]);
    want.extend(21.53f64.to_be_bytes());
    want.extend([0x06, 0x05, 0xa2, 0x02, 0xfb]);
    want.extend(21.6f64.to_be_bytes());
    want.extend([0x06, 0xf9, 0x49, 0x20]);
    assert_eq!(cbor, want);
    // As the docs of senml_cbor.rs say.
    assert_eq!((cbor.len(), json_len), (87, 135));
}

#[test]
fn base_fields_are_used_only_when_they_pay() {
    // One reading: a base name would only repeat the name (CBOR: as long;
    // JSON: one byte longer), and one unit gains nothing from a base unit.
    let one = [reading(
        "bme280",
        "temperature",
        Some("Cel"),
        Value::F64(21.5),
        T0,
    )];
    let (cbor, json) = encode_both(Some("gw"), &one);
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"[{"bt":1700000000,"n":"gw:bme280/temperature","u":"Cel","v":21.5}]"#
    );
    let raw = &cbor_records(&cbor)[0];
    let labels: Vec<&str> = raw.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["bt", "n", "u", "v"]);
    // Ten samples of one sensor: the whole name is the base name.
    let ten: Vec<Reading> = (0..10)
        .map(|i| {
            reading(
                "bme280",
                "temperature",
                Some("Cel"),
                Value::F64(21.5),
                T0 + i * 5 * SEC,
            )
        })
        .collect();
    let (_, json) = encode_both(Some("gw"), &ten);
    let json = String::from_utf8(json).unwrap();
    assert!(
        json.starts_with(r#"[{"bn":"gw:bme280/temperature","bt":1700000000,"bu":"Cel","v":21.5},{"v":21.5,"t":5},"#),
        "{json}"
    );
}

#[test]
fn readings_without_a_unit_come_first_when_a_base_unit_is_used() {
    let readings = [
        reading("bme280", "temperature", Some("Cel"), Value::F64(21.5), T0),
        reading("door", "open", None, Value::Bool(true), T0),
        reading(
            "bme280",
            "temperature",
            Some("Cel"),
            Value::F64(21.6),
            T0 + SEC,
        ),
        reading("counter", "pulses", None, Value::I64(7), T0 + SEC),
    ];
    let (cbor, json) = encode_both(Some("gw"), &readings);
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        let got: Vec<_> = resolved
            .iter()
            .map(|r| (r.name.as_str(), r.unit.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("gw:counter/pulses", None),
                ("gw:door/open", None),
                ("gw:bme280/temperature", Some("Cel")),
                ("gw:bme280/temperature", Some("Cel")),
            ]
        );
    }
}

#[test]
fn integers_beyond_2_pow_53_stay_exact_in_both_forms() {
    let big = [
        reading("c", "a", None, Value::I64(i64::MAX), T0),
        reading("c", "b", None, Value::I64(i64::MIN), T0),
        reading("c", "c", None, Value::I64((1 << 53) + 1), T0),
    ];
    let (cbor, json) = encode_both(None, &big);
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        let values: Vec<_> = resolved.into_iter().map(|r| r.value).collect();
        assert_eq!(
            values,
            [
                int(i128::from(i64::MAX)),
                int(i128::from(i64::MIN)),
                int((1 << 53) + 1)
            ]
        );
    }
}

#[test]
fn nan_and_infinity_travel_in_cbor_and_are_refused_by_json() {
    let readings = [
        reading("s", "nan", None, Value::F64(f64::NAN), T0),
        reading("s", "inf", None, Value::F64(f64::INFINITY), T0),
        reading("s", "-inf", None, Value::F64(f64::NEG_INFINITY), T0),
    ];
    let cbor = Encoder::new(Encoding::SenmlCbor, None)
        .encode(&readings)
        .unwrap();
    let values: Vec<f64> = resolve(cbor_records(&cbor))
        .into_iter()
        .map(|r| match r.value {
            Some(Item::Num(Num::Float(f))) => f,
            other => panic!("{other:?}"),
        })
        .collect();
    // Written by name: "s/-inf", "s/inf", "s/nan".
    assert_eq!(values[..2], [f64::NEG_INFINITY, f64::INFINITY]);
    assert!(values[2].is_nan());

    let json = Encoder::new(Encoding::SenmlJson, None);
    let mut out = b"kept".to_vec();
    assert_eq!(
        json.encode_into(&readings[1..], &mut out),
        Err(EncodeError::Unencodable {
            index: 0,
            reason: Unencodable::NonFinite {
                encoding: Encoding::SenmlJson,
                value: f64::INFINITY
            }
        })
    );
    assert_eq!(out, b"kept", "nothing is written on error");
    assert!(json.check(&readings[0]).is_err());
}

#[test]
fn an_empty_batch_is_an_error_not_an_empty_pack() {
    for encoding in Encoding::ALL {
        let none: [Reading; 0] = [];
        assert_eq!(
            Encoder::new(encoding, None).encode(&none),
            Err(EncodeError::Empty)
        );
    }
}

#[test]
fn names_outside_the_senml_character_set_are_replaced_and_kept_raw() {
    let readings = [
        reading(
            "thermomètre",
            "température extérieure",
            Some("Cel"),
            Value::F64(-3.5),
            T0,
        ),
        reading("_hidden", "x", None, Value::I64(1), T0),
        reading("", "", None, Value::I64(2), T0),
    ];
    let (cbor, json) = encode_both(Some("gw-01"), &readings);
    let (_, no_device) = encode_both(None, &readings[1..]);
    for resolved in [
        resolve(cbor_records(&cbor)),
        resolve(json_records(&json)),
        resolve(json_records(&no_device)),
    ] {
        for r in &resolved {
            assert!(valid_senml_name(&r.name), "{:?}", r.name);
        }
    }
    // Without units first: "gw-01:", "gw-01:_hidden/x", then the thermometer.
    let resolved = resolve(json_records(&json));
    assert_eq!(resolved[0].name, "gw-01:");
    assert_eq!(resolved[2].name, "gw-01:thermom_tre/temp_rature_ext_rieure");
    assert_eq!(
        resolved[2].ext.get("rawname"),
        Some(&Item::Text(
            "gw-01:thermomètre/température extérieure".into()
        ))
    );
    // A valid name has no raw twin.
    let ok = [reading("bme280", "t", None, Value::I64(1), T0)];
    let (_, json) = encode_both(Some("gw"), &ok);
    assert!(resolve(json_records(&json))[0].ext.is_empty());
    // Starting with '_' is not allowed; an 'x' goes in front.
    let resolved = resolve(json_records(&no_device));
    assert_eq!(resolved[0].name, "x");
    assert_eq!(resolved[1].name, "x_hidden/x");
}

/// RFC 8428 §4.5.1, written here on its own.
fn valid_senml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-:./_".contains(c))
}

#[test]
fn timestamps_before_1978_are_refused_and_the_far_future_is_fine() {
    let earliest = (1i64 << 28) * SEC;
    for encoding in [Encoding::SenmlCbor, Encoding::SenmlJson] {
        let encoder = Encoder::new(encoding, None);
        for ts in [0, -1, earliest - 1, i64::MIN] {
            let r = reading("s", "n", None, Value::I64(1), ts);
            assert_eq!(
                encoder.check(&r),
                Err(Unencodable::BeforeSenmlEpoch { timestamp_ns: ts })
            );
        }
        let edge = [
            reading("s", "first", None, Value::I64(1), earliest),
            reading("s", "last", None, Value::I64(2), i64::MAX),
        ];
        let out = encoder.encode(&edge).unwrap();
        let resolved = match encoding {
            Encoding::SenmlCbor => resolve(cbor_records(&out)),
            _ => resolve(json_records(&out)),
        };
        assert_eq!(resolved[0].time.exact_ns, Some(i128::from(earliest)));
        assert_eq!(resolved[0].time.seconds, 268_435_456.0);
        // 292 years apart: the offset is a double, exact to its precision.
        let want = i64::MAX as f64 / 1e9;
        assert!((resolved[1].time.seconds - want).abs() <= want * 1e-15);
    }
}

#[test]
fn tags_go_into_an_extension_field_and_read_back() {
    let mut r = reading("bme280", "temperature", Some("Cel"), Value::F64(21.5), T0);
    r.tags.insert("room".into(), "kitchen, north=1".into());
    r.tags.insert("a\\b".into(), "ü".into());
    let (cbor, json) = encode_both(Some("gw"), &[r.clone()]);
    for resolved in [resolve(cbor_records(&cbor)), resolve(json_records(&json))] {
        let Some(Item::Text(tags)) = resolved[0].ext.get("tags") else {
            panic!("{:?}", resolved[0].ext)
        };
        assert_eq!(tags, r"a\\b=ü,room=kitchen\, north\=1");
        assert_eq!(parse_tags(tags), r.tags);
    }
}

/// Splits `k=v,k=v` with `\` escapes (the test's own parser).
fn parse_tags(text: &str) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let (mut key, mut current) = (None, String::new());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next().expect("an escaped character")),
            '=' if key.is_none() => key = Some(std::mem::take(&mut current)),
            ',' => {
                tags.insert(key.take().expect("a key"), std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    if let Some(k) = key {
        tags.insert(k, current);
    }
    tags
}

#[test]
fn the_same_batch_always_gives_the_same_bytes() {
    let mut batch = measurement_readings();
    for r in &mut batch {
        // Line protocol needs a source (its measurement).
        r.source = "ow".into();
    }
    for encoding in Encoding::ALL {
        let a = Encoder::new(encoding, Some("gw")).encode(&batch).unwrap();
        let b = Encoder::new(encoding, Some("gw"))
            .encode(&batch.clone())
            .unwrap();
        assert_eq!(a, b, "{encoding}");
    }
}

// ---------------------------------------------------------------------------
// Properties over random readings.

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["bme280", "battery", "door", "temperature", "x", "a.b-c_d"])
            .prop_map(str::to_owned),
        1 => "[a-z]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn value_strategy(finite: bool) -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", move |v| !finite || v.is_finite())
            .prop_map(Value::F64),
        prop::sample::select(vec![21.5, 0.1, -3.25, 101325.0, 1e300, 3.71]).prop_map(Value::F64),
        any::<i64>().prop_map(Value::I64),
        (-1000i64..1000).prop_map(Value::I64),
        any::<bool>().prop_map(Value::Bool),
        any::<String>().prop_map(|s| Value::Str(s.chars().take(20).collect())),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
    ]
}

pub(super) fn reading_strategy(finite: bool) -> impl Strategy<Value = Reading> {
    let unit = prop::option::of(prop::sample::select(vec![
        "Cel", "%RH", "Pa", "V", "/", "m/s",
    ]));
    let timestamp = prop_oneof![
        // Within ten days of T0, at ns, ms or whole-second precision.
        4 => (-864_000_000_000_000i64..864_000_000_000_000)
            .prop_flat_map(|d| prop::sample::select(vec![d, d / 1_000_000 * 1_000_000, d / SEC * SEC]))
            .prop_map(|d| T0 + d),
        1 => (1i64 << 28) * SEC..=i64::MAX,
    ];
    let tags = prop::collection::btree_map(text_strategy(), text_strategy(), 0..3);
    (
        text_strategy(),
        text_strategy(),
        unit,
        value_strategy(finite),
        timestamp,
        tags,
    )
        .prop_map(|(source, name, unit, value, timestamp_ns, tags)| Reading {
            source,
            name,
            unit: unit.map(str::to_owned),
            value,
            timestamp_ns,
            tags,
        })
}

fn device_strategy() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec!["gw-01", "356938035643809", "-odd"]).prop_map(str::to_owned),
    )
}

/// The resolved name we expect for a reading whose name is valid.
fn expected_name(device: Option<&str>, r: &Reading) -> String {
    let mut name = String::new();
    if let Some(d) = device {
        name += d;
        name += ":";
    }
    if !r.source.is_empty() {
        name += &r.source;
        name += "/";
    }
    name + &r.name
}

/// The documented repair of an invalid name: every character outside the set
/// becomes `_`, and an `x` goes in front of a name that does not start with a
/// letter or digit.
fn made_valid(name: &str) -> String {
    if valid_senml_name(name) {
        return name.to_owned();
    }
    let mut out = String::new();
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.push('x');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || "-:./_".contains(c) {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Checks that `resolved` are `readings`, in our documented order.
fn check_resolves_to(
    resolved: &[Resolved],
    raw: &[RawRecord],
    device: Option<&str>,
    readings: &[Reading],
) {
    assert_eq!(resolved.len(), readings.len());
    assert_eq!(raw.len(), readings.len());
    // The documented order: without a unit first, then by unit, then by
    // (valid) name, then as given.
    let mut order: Vec<&Reading> = readings.iter().collect();
    order.sort_by_key(|r| (r.unit.clone(), made_valid(&expected_name(device, r))));
    let first_ns = readings[0].timestamp_ns;
    for (got, want) in resolved.iter().zip(order) {
        let name = expected_name(device, want);
        assert!(valid_senml_name(&got.name), "{:?}", got.name);
        assert_eq!(got.name, made_valid(&name));
        if valid_senml_name(&name) {
            assert!(!got.ext.contains_key("rawname"));
        } else {
            assert_eq!(got.ext.get("rawname"), Some(&Item::Text(name)));
        }
        assert_eq!(got.unit, want.unit);
        match (&got.value, &want.value) {
            (Some(Item::Num(Num::Int(i))), Value::I64(v)) => assert_eq!(*i, i128::from(*v)),
            (Some(Item::Num(n)), Value::F64(v)) => {
                let g = n.as_f64();
                assert!(
                    g.to_bits() == v.to_bits()
                        || (g == *v && *v != 0.0)
                        || (g.is_nan() && v.is_nan()),
                    "{g} vs {v}"
                );
            }
            (Some(Item::Bool(g)), Value::Bool(v)) => assert_eq!(g, v),
            (Some(Item::Text(g)), Value::Str(v)) => assert_eq!(g, v),
            (Some(Item::Bytes(g)), Value::Bytes(v)) => assert_eq!(g, v),
            (g, v) => panic!("{g:?} for {v:?}"),
        }
        // Time: exact for whole seconds; otherwise within what a double of
        // seconds holds (a few ulps: bt, t and their sum each round once).
        let want_s = want.timestamp_ns as f64 / 1e9;
        if let Some(ns) = got.time.exact_ns {
            assert_eq!(ns, i128::from(want.timestamp_ns));
        } else {
            let ulp = f64::EPSILON * want_s.abs().max(got.time.seconds.abs());
            let offset =
                (i128::from(want.timestamp_ns) - i128::from(first_ns)).unsigned_abs() as f64 / 1e9;
            let tolerance = 3.0 * ulp + offset * f64::EPSILON;
            assert!(
                (got.time.seconds - want_s).abs() <= tolerance,
                "time {} vs {} (tolerance {tolerance})",
                got.time.seconds,
                want_s
            );
        }
        match got.ext.get("tags") {
            Some(Item::Text(t)) => assert_eq!(parse_tags(t), want.tags),
            None => assert!(want.tags.is_empty()),
            other => panic!("{other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn cbor_packs_resolve_to_their_readings(
        device in device_strategy(),
        readings in prop::collection::vec(reading_strategy(false), 1..30),
    ) {
        let encoder = Encoder::new(Encoding::SenmlCbor, device.as_deref());
        let out = encoder.encode(&readings).unwrap();
        let raw = cbor_records(&out);
        check_resolves_to(&resolve(raw.clone()), &raw, device.as_deref(), &readings);
    }

    #[test]
    fn json_packs_resolve_to_their_readings(
        device in device_strategy(),
        readings in prop::collection::vec(reading_strategy(true), 1..30),
    ) {
        let encoder = Encoder::new(Encoding::SenmlJson, device.as_deref());
        let out = encoder.encode(&readings).unwrap();
        let raw = json_records(&out);
        check_resolves_to(&resolve(raw.clone()), &raw, device.as_deref(), &readings);
    }

    #[test]
    fn the_sizer_predicts_every_prefix_exactly(
        device in device_strategy(),
        readings in prop::collection::vec(reading_strategy(true), 1..30),
    ) {
        for encoding in Encoding::ALL {
            let encoder = Encoder::new(encoding, device.as_deref());
            let usable: Vec<&Reading> = readings.iter().filter(|r| encoder.check(r).is_ok()).collect();
            let mut sizer = encoder.sizer();
            for (i, r) in usable.iter().enumerate() {
                let candidate = sizer.measure(r);
                let want = encoder.encode(&usable[..=i]).unwrap().len();
                prop_assert_eq!(candidate.size(), want, "{} after {} readings", encoding, i);
                sizer.commit(candidate);
                prop_assert_eq!(sizer.size(), want);
            }
        }
    }
}

#[test]
fn a_base_name_shared_by_several_sources_ends_at_a_separator_never_inside_a_word() {
    let readings = [
        reading("sysfs", "loadavg/1m", None, Value::F64(0.5), T0),
        reading(
            "synthetic",
            "temperature",
            Some("Cel"),
            Value::F64(21.0),
            T0,
        ),
        reading("sysfs", "loadavg/5m", None, Value::F64(0.4), T0),
    ];
    let (cbor, json) = encode_both(Some("gateway-0042"), &readings);
    for records in [cbor_records(&cbor), json_records(&json)] {
        let base_names: Vec<&Item> = records
            .iter()
            .flatten()
            .filter(|(label, _)| label == "bn")
            .map(|(_, item)| item)
            .collect();
        assert!(!base_names.is_empty(), "a common prefix is worth a bn");
        for bn in base_names {
            let Item::Text(bn) = bn else {
                panic!("bn is text: {bn:?}")
            };
            assert!(
                bn.ends_with(':')
                    || bn.ends_with('/')
                    || readings
                        .iter()
                        .any(|r| *bn == format!("gateway-0042:{}/{}", r.source, r.name)),
                "bn {bn:?} cuts a word"
            );
        }
    }
    let names: Vec<String> = resolve(json_records(&json))
        .iter()
        .map(|r| summary(r).0)
        .collect();
    for r in &readings {
        assert!(
            names.contains(&format!("gateway-0042:{}/{}", r.source, r.name)),
            "{names:?}"
        );
    }
}
