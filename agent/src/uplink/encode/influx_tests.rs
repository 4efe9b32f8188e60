//! Line protocol, checked by a small parser written here from InfluxDB's
//! line protocol reference (not from the encoder): escaping round-trips,
//! value types, the newline rule and the refused readings.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::reading::{Reading, Value};
use crate::uplink::encode::*;

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Float(f64),
    Int(i64),
    Bool(bool),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Line {
    measurement: String,
    tags: Vec<(String, String)>,
    key: String,
    value: Field,
    timestamp: i64,
}

/// Reads up to (not including) an unescaped character of `stops`, undoing
/// `\` escapes of `escapable` characters and of `\` itself (a `\` before
/// anything else is a literal backslash).
fn token(chars: &[char], at: &mut usize, stops: &[char], escapable: &[char]) -> String {
    let mut out = String::new();
    while let Some(&c) = chars.get(*at) {
        if stops.contains(&c) {
            break;
        }
        *at += 1;
        if c == '\\' {
            match chars.get(*at) {
                Some(&next) if next == '\\' || escapable.contains(&next) => {
                    out.push(next);
                    *at += 1;
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn expect(chars: &[char], at: &mut usize, c: char) {
    assert_eq!(
        chars.get(*at),
        Some(&c),
        "at {} of {:?}",
        *at,
        chars.iter().collect::<String>()
    );
    *at += 1;
}

fn parse(text: &str) -> Vec<Line> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    let mut lines = Vec::new();
    loop {
        assert_ne!(chars.get(at), Some(&'#'), "a comment line");
        let measurement = token(&chars, &mut at, &[',', ' '], &[',', ' ']);
        let mut tags = Vec::new();
        while chars.get(at) == Some(&',') {
            at += 1;
            let k = token(&chars, &mut at, &['='], &[',', '=', ' ']);
            expect(&chars, &mut at, '=');
            let v = token(&chars, &mut at, &[',', ' '], &[',', '=', ' ']);
            assert!(!k.is_empty() && !v.is_empty(), "empty tag {k:?}={v:?}");
            tags.push((k, v));
        }
        expect(&chars, &mut at, ' ');
        let key = token(&chars, &mut at, &['='], &[',', '=', ' ']);
        expect(&chars, &mut at, '=');
        let value = if chars.get(at) == Some(&'"') {
            at += 1;
            let mut s = String::new();
            loop {
                match chars.get(at) {
                    Some('\\') if matches!(chars.get(at + 1), Some('"' | '\\')) => {
                        s.push(chars[at + 1]);
                        at += 2;
                    }
                    Some('"') => {
                        at += 1;
                        break;
                    }
                    Some(&c) => {
                        s.push(c);
                        at += 1;
                    }
                    None => panic!("unterminated string"),
                }
            }
            Field::Str(s)
        } else {
            let raw = token(&chars, &mut at, &[' '], &[]);
            match raw.as_str() {
                "t" | "T" | "true" | "True" | "TRUE" => Field::Bool(true),
                "f" | "F" | "false" | "False" | "FALSE" => Field::Bool(false),
                r if r.ends_with('i') => Field::Int(r[..r.len() - 1].parse().expect("an integer")),
                r => Field::Float(r.parse().expect("a float")),
            }
        };
        expect(&chars, &mut at, ' ');
        let ts: String = chars[at..].iter().take_while(|c| **c != '\n').collect();
        at += ts.chars().count();
        lines.push(Line {
            measurement,
            tags,
            key,
            value,
            timestamp: ts.parse().expect("a timestamp"),
        });
        match chars.get(at) {
            None => return lines,
            Some('\n') => at += 1,
            Some(c) => panic!("{c:?} after the timestamp"),
        }
    }
}

fn reading(source: &str, name: &str, unit: Option<&str>, value: Value) -> Reading {
    Reading {
        source: source.into(),
        name: name.into(),
        unit: unit.map(Into::into),
        value,
        timestamp_ns: 1_700_000_000_123_456_789,
        tags: BTreeMap::new(),
    }
}

fn text(device: Option<&str>, readings: &[Reading]) -> String {
    let out = Encoder::new(Encoding::Influx, device)
        .encode(readings)
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_documented_example_is_what_we_write() {
    let mut t = reading("bme280", "temperature", Some("Cel"), Value::F64(21.53));
    t.tags.insert("sensor".into(), "bosch".into());
    t.timestamp_ns = 1_700_000_005_000_000_000;
    let mut d = reading("door", "open", None, Value::Bool(false));
    d.timestamp_ns = 1_700_000_000_000_000_000;
    assert_eq!(
        text(Some("gw-01"), &[t, d]),
        "bme280,device=gw-01,sensor=bosch,unit=Cel temperature=21.53 1700000005000000000\n\
         door,device=gw-01 open=f 1700000000000000000"
    );
}

#[test]
fn values_take_their_line_protocol_types() {
    let readings = [
        reading("s", "f", None, Value::F64(21.0)),
        reading("s", "g", None, Value::F64(-1.5e-300)),
        reading("s", "i", None, Value::I64(i64::MIN)),
        reading("s", "b", None, Value::Bool(true)),
        reading("s", "s", None, Value::Str("say \"hi\" \\ bye".into())),
        reading("s", "d", None, Value::Bytes(vec![0xfb, 0xff, 0xfe])),
    ];
    let out = text(None, &readings);
    let values: Vec<&str> = out.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(
        values,
        [
            "f=21 1700000000123456789",
            "g=-1.5e-300 1700000000123456789",
            "i=-9223372036854775808i 1700000000123456789",
            "b=t 1700000000123456789",
            r#"s="say \"hi\" \\ bye" 1700000000123456789"#,
            r#"d="-__-" 1700000000123456789"#,
        ]
    );
    let parsed: Vec<Field> = parse(&out).into_iter().map(|l| l.value).collect();
    assert_eq!(
        parsed,
        [
            Field::Float(21.0),
            Field::Float(-1.5e-300),
            Field::Int(i64::MIN),
            Field::Bool(true),
            Field::Str("say \"hi\" \\ bye".into()),
            Field::Str("-__-".into()),
        ]
    );
}

#[test]
fn names_and_tags_escape_commas_spaces_equals_and_backslashes() {
    let mut r = reading(
        "my meas,ure=ment\\",
        "field key,=x",
        Some("m/s"),
        Value::I64(1),
    );
    r.tags.insert("tag key,=".into(), "va lue,=\\".into());
    let out = text(Some("gw 1"), &[r]);
    assert_eq!(
        out,
        r"my\ meas\,ure=ment\\,device=gw\ 1,tag\ key\,\==va\ lue\,\=\\,unit=m/s field\ key\,\=x=1i 1700000000123456789"
    );
    let line = &parse(&out)[0];
    assert_eq!(line.measurement, "my meas,ure=ment\\");
    assert_eq!(
        line.tags,
        [
            ("device".to_owned(), "gw 1".to_owned()),
            ("tag key,=".to_owned(), "va lue,=\\".to_owned()),
            ("unit".to_owned(), "m/s".to_owned()),
        ]
    );
    assert_eq!(line.key, "field key,=x");
}

#[test]
fn newlines_become_spaces_because_line_protocol_cannot_carry_them() {
    let mut r = reading(
        "line\none",
        "a\r\nb",
        None,
        Value::Str("multi\nline".into()),
    );
    r.tags.insert("k\n".into(), "v\nw".into());
    let out = text(None, &[r]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let line = &parse(&out)[0];
    assert_eq!(line.measurement, "line one");
    assert_eq!(line.key, "a  b");
    assert_eq!(line.tags, [("k ".to_owned(), "v w".to_owned())]);
    assert_eq!(line.value, Field::Str("multi line".into()));
}

#[test]
fn unicode_passes_through() {
    let r = reading(
        "thermomètre",
        "température",
        Some("°C"),
        Value::Str("très chaud 🌡".into()),
    );
    let line = &parse(&text(Some("passerelle-é"), &[r]))[0];
    assert_eq!(line.measurement, "thermomètre");
    assert_eq!(line.key, "température");
    assert_eq!(
        line.tags,
        [
            ("device".to_owned(), "passerelle-é".to_owned()),
            ("unit".to_owned(), "°C".to_owned())
        ]
    );
    assert_eq!(line.value, Field::Str("très chaud 🌡".into()));
}

#[test]
fn a_readings_own_unit_or_device_tag_wins_and_empty_tags_are_left_out() {
    let mut r = reading("s", "n", Some("Cel"), Value::I64(1));
    r.tags.insert("unit".into(), "degC".into());
    r.tags.insert("device".into(), "probe-7".into());
    r.tags.insert("empty".into(), String::new());
    r.tags.insert(String::new(), "no key".into());
    let line = &parse(&text(Some("gw"), &[r]))[0];
    assert_eq!(
        line.tags,
        [
            ("device".to_owned(), "probe-7".to_owned()),
            ("unit".to_owned(), "degC".to_owned())
        ]
    );
}

#[test]
fn what_line_protocol_cannot_carry_is_refused() {
    let encoder = Encoder::new(Encoding::Influx, None);
    let refused = |r: &Reading| encoder.check(r).err();
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            refused(&reading("s", "n", None, Value::F64(v))),
            Some(Unencodable::NonFinite { .. })
        ));
    }
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX] {
        let mut r = reading("s", "n", None, Value::I64(1));
        r.timestamp_ns = ts;
        assert_eq!(
            refused(&r),
            Some(Unencodable::OutsideInfluxRange { timestamp_ns: ts })
        );
    }
    for (source, name) in [("", "n"), ("s", ""), ("#s", "n")] {
        assert!(matches!(
            refused(&reading(source, name, None, Value::I64(1))),
            Some(Unencodable::InfluxName { .. })
        ));
    }
    // The extremes InfluxDB accepts, and the years before 1970.
    for ts in [i64::MIN + 2, i64::MAX - 1, -1, 0] {
        let mut r = reading("s", "n", None, Value::I64(1));
        r.timestamp_ns = ts;
        assert_eq!(parse(&text(None, &[r]))[0].timestamp, ts);
    }
}

fn name_strategy() -> impl Strategy<Value = String> {
    // Any text without newlines (they become spaces: tested above), not
    // empty, not a comment.
    prop_oneof![
        "[a-z]{1,8}",
        "[ ,=\\\\\"a-z]{1,10}",
        any::<String>().prop_map(|s| s.replace(['\n', '\r'], "").chars().take(12).collect()),
    ]
    .prop_map(|s: String| {
        if s.is_empty() || s.starts_with('#') {
            format!("x{s}")
        } else {
            s
        }
    })
}

fn field_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Value::F64),
        any::<i64>().prop_map(Value::I64),
        any::<bool>().prop_map(Value::Bool),
        name_strategy().prop_map(Value::Str),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_reading_round_trips_through_the_parser(
        source in name_strategy(),
        name in name_strategy(),
        unit in prop::option::of(name_strategy()),
        value in field_strategy(),
        timestamp_ns in (i64::MIN + 2)..=(i64::MAX - 1),
        tags in prop::collection::btree_map(name_strategy(), name_strategy(), 0..4),
        device in prop::option::of(name_strategy()),
        copies in 1usize..4,
    ) {
        let r = Reading { source, name, unit, value, timestamp_ns, tags };
        let batch = vec![r.clone(); copies];
        let lines = parse(&text(device.as_deref(), &batch));
        prop_assert_eq!(lines.len(), copies);
        let line = &lines[0];
        prop_assert_eq!(&line.measurement, &r.source);
        prop_assert_eq!(&line.key, &r.name);
        prop_assert_eq!(line.timestamp, r.timestamp_ns);
        let mut want: BTreeMap<String, String> = r.tags.clone();
        if let Some(d) = &device {
            want.entry("device".into()).or_insert_with(|| d.clone());
        }
        if let Some(u) = &r.unit {
            want.entry("unit".into()).or_insert_with(|| u.clone());
        }
        let want: Vec<(String, String)> = want.into_iter().collect();
        prop_assert_eq!(&line.tags, &want);
        let expected = match &r.value {
            Value::F64(v) => Field::Float(*v),
            Value::I64(v) => Field::Int(*v),
            Value::Bool(v) => Field::Bool(*v),
            Value::Str(s) => Field::Str(s.clone()),
            Value::Bytes(b) => Field::Str(base64url(b)),
        };
        match (&line.value, &expected) {
            (Field::Float(a), Field::Float(b)) => prop_assert!(a == b, "{} vs {}", a, b),
            (a, b) => prop_assert_eq!(a, b),
        }
    }
}

/// base64url without padding (the test's own).
fn base64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for &b in data {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(A[((bits >> n) & 63) as usize] as char);
        }
    }
    if n > 0 {
        out.push(A[((bits << (6 - n)) & 63) as usize] as char);
    }
    out
}
