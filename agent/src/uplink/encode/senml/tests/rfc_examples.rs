//! The resolver against the RFC's own examples (§5.1.1 to §5.1.7 in JSON,
//! §6 in CBOR): it must read them as the RFC says they resolve.

use super::*;

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
pub(super) const MEASUREMENTS: &str = r#"[
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
pub(super) const MEASUREMENTS_RESOLVED: &str = r#"[
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
pub(super) const DATA_TYPES: &str = r#"[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
  {"n":"label","vs":"Machine Room"},
  {"n":"open","vb":false},
  {"n":"nfv-reader","vd":"aGkgCg"}
]"#;

/// RFC 8428 §5.1.6.
pub(super) const COLLECTION: &str = r#"[
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

pub(super) const OW: &str = "urn:dev:ow:10e2073a01080063";

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

pub(super) fn multiple_timed_resolved() -> Vec<(String, Option<String>, Option<Item>, f64)> {
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
pub(super) fn assert_same_records(
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
