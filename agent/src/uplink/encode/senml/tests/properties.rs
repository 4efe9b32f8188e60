//! Properties over random readings: every pack resolves to its readings in
//! both dialects, and the sizer predicts every prefix of a batch exactly.

use super::our_output::{encode_both, parse_tags, reading, valid_senml_name, SEC, T0};
use super::*;

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
