//! Our output, resolved: the RFC's readings written by us resolve like the
//! RFC's examples (and are smaller), and each documented decision (base
//! fields, names, integers, non-finite numbers, old times, tags) holds.

use super::rfc_examples::{
    assert_same_records, multiple_timed_resolved, COLLECTION, DATA_TYPES, MEASUREMENTS,
    MEASUREMENTS_RESOLVED, OW,
};
use super::*;

pub(super) const SEC: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z.
pub(super) const T0: i64 = 1_700_000_000 * SEC;

pub(super) fn reading(
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

pub(super) fn encode_both(device: Option<&str>, readings: &[Reading]) -> (Vec<u8>, Vec<u8>) {
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
pub(super) fn valid_senml_name(name: &str) -> bool {
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
pub(super) fn parse_tags(text: &str) -> BTreeMap<String, String> {
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
