//! Tests of `validate.rs`: one per rejection reason, the edges of every
//! limit, and a property test over arbitrary bytes.

use std::collections::BTreeMap;
use std::ptr;

use edge_agent_sdk::abi::{
    self, Bytes, Tag, MAX_NAME_LEN, MAX_TAGS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_UNIT_LEN,
    MAX_VALUE_LEN, READING_URGENT, VALUE_BOOL, VALUE_BYTES, VALUE_F64, VALUE_I64, VALUE_STR,
};
use proptest::prelude::*;

use super::{validate, Rejection, MAX_FUTURE_NS, OLDEST_TIMESTAMP_NS};
use crate::reading::Value;

/// 2024-06-01T00:00:00Z.
const NOW: i64 = 1_717_200_000 * 1_000_000_000;

fn raw(name: &[u8]) -> abi::Reading {
    abi::Reading {
        name: Bytes::new(name),
        unit: Bytes::EMPTY,
        timestamp_ns: 0,
        kind: VALUE_I64,
        flags: 0,
        number: 0.0,
        integer: 7,
        bytes: Bytes::EMPTY,
        tags: ptr::null(),
        tag_count: 0,
    }
}

fn check(reading: &abi::Reading) -> Result<super::PluginReading, Rejection> {
    // SAFETY: every pointer in the tests' readings borrows live Rust data.
    unsafe { validate(reading, "room", NOW) }
}

fn rejected(reading: &abi::Reading) -> Rejection {
    check(reading).expect_err("the reading should be rejected")
}

fn tag<'a>(key: &'a [u8], value: &'a [u8]) -> Tag {
    Tag {
        key: Bytes::new(key),
        value: Bytes::new(value),
    }
}

#[test]
fn a_valid_reading_is_copied_whole() {
    let tags = [tag(b"sensor", b"bme280"), tag(b"bus", b"i2c-1")];
    let reading = abi::Reading {
        unit: Bytes::new(b"Cel"),
        timestamp_ns: NOW - 5,
        kind: VALUE_F64,
        number: 21.5,
        flags: READING_URGENT | 0x80,
        tags: tags.as_ptr(),
        tag_count: tags.len(),
        ..raw(b"thermal_zone0/temp")
    };
    let out = check(&reading).unwrap();
    assert!(out.urgent);
    assert_eq!(out.reading.source, "room");
    assert_eq!(out.reading.name, "thermal_zone0/temp");
    assert_eq!(out.reading.unit.as_deref(), Some("Cel"));
    assert_eq!(out.reading.value, Value::F64(21.5));
    assert_eq!(out.reading.timestamp_ns, NOW - 5);
    let expected: BTreeMap<String, String> = [("sensor", "bme280"), ("bus", "i2c-1")]
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(out.reading.tags, expected);
}

#[test]
fn every_value_kind_converts() {
    let text = b"open";
    let cases = [
        (VALUE_I64, Value::I64(-3)),
        (VALUE_BOOL, Value::Bool(true)),
        (VALUE_STR, Value::Str("open".into())),
        (VALUE_BYTES, Value::Bytes(b"open".to_vec())),
    ];
    for (kind, expected) in cases {
        let reading = abi::Reading {
            kind,
            integer: -3,
            bytes: Bytes::new(text),
            ..raw(b"door")
        };
        assert_eq!(
            check(&reading).unwrap().reading.value,
            expected,
            "kind {kind}"
        );
    }
    let off = abi::Reading {
        kind: VALUE_BOOL,
        integer: 0,
        ..raw(b"door")
    };
    assert_eq!(check(&off).unwrap().reading.value, Value::Bool(false));
}

#[test]
fn timestamp_zero_is_now_and_no_unit_is_none() {
    let out = check(&raw(b"count")).unwrap();
    assert_eq!(out.reading.timestamp_ns, NOW);
    assert_eq!(out.reading.unit, None);
    assert!(!out.urgent);
}

#[test]
fn name_checks() {
    assert_eq!(rejected(&raw(b"")), Rejection::NameEmpty);
    assert_eq!(rejected(&raw(b"t\xffx")), Rejection::NameNotUtf8);
    assert_eq!(
        rejected(&raw(b"line\nbreak")),
        Rejection::NameControlCharacter
    );
    assert_eq!(rejected(&raw(b"nul\0")), Rejection::NameControlCharacter);
    let longest = vec![b'n'; MAX_NAME_LEN];
    assert!(check(&raw(&longest)).is_ok());
    let too_long = vec![b'n'; MAX_NAME_LEN + 1];
    assert_eq!(rejected(&raw(&too_long)), Rejection::NameTooLong);
    let null = abi::Reading {
        name: Bytes {
            ptr: ptr::null(),
            len: 3,
        },
        ..raw(b"")
    };
    assert_eq!(rejected(&null), Rejection::NullPointer);
}

#[test]
fn unit_checks() {
    let with_unit = |unit: &[u8]| abi::Reading {
        unit: Bytes::new(unit),
        ..raw(b"v")
    };
    assert!(check(&with_unit(&[b'u'; MAX_UNIT_LEN])).is_ok());
    assert_eq!(
        rejected(&with_unit(&[b'u'; MAX_UNIT_LEN + 1])),
        Rejection::UnitTooLong
    );
    assert_eq!(rejected(&with_unit(b"\xc3")), Rejection::UnitNotUtf8);
}

#[test]
fn value_checks() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let reading = abi::Reading {
            kind: VALUE_F64,
            number: bad,
            ..raw(b"v")
        };
        assert_eq!(rejected(&reading), Rejection::NotFinite, "{bad}");
    }
    let unknown = abi::Reading {
        kind: 5,
        ..raw(b"v")
    };
    assert_eq!(rejected(&unknown), Rejection::UnknownKind);
    let longest = vec![b'x'; MAX_VALUE_LEN];
    let too_long = vec![b'x'; MAX_VALUE_LEN + 1];
    for kind in [VALUE_STR, VALUE_BYTES] {
        let with = |bytes: &[u8]| abi::Reading {
            kind,
            bytes: Bytes::new(bytes),
            ..raw(b"v")
        };
        assert!(check(&with(&longest)).is_ok());
        assert_eq!(rejected(&with(&too_long)), Rejection::ValueTooLong);
    }
    let not_utf8 = abi::Reading {
        kind: VALUE_STR,
        bytes: Bytes::new(b"\xfe"),
        ..raw(b"v")
    };
    assert_eq!(rejected(&not_utf8), Rejection::StrNotUtf8);
    // Opaque bytes need not be UTF-8.
    let opaque = abi::Reading {
        kind: VALUE_BYTES,
        ..not_utf8
    };
    assert!(check(&opaque).is_ok());
    let null = abi::Reading {
        kind: VALUE_BYTES,
        bytes: Bytes {
            ptr: ptr::null(),
            len: 1,
        },
        ..raw(b"v")
    };
    assert_eq!(rejected(&null), Rejection::NullPointer);
    // A number's unused `bytes` is never read, however wild.
    let wild = abi::Reading {
        bytes: Bytes {
            ptr: ptr::null(),
            len: usize::MAX,
        },
        ..raw(b"v")
    };
    assert!(check(&wild).is_ok());
}

#[test]
fn tag_checks() {
    let with_tags = |tags: &[Tag]| {
        let reading = abi::Reading {
            tags: tags.as_ptr(),
            tag_count: tags.len(),
            ..raw(b"v")
        };
        check(&reading).err()
    };
    let max = vec![tag(b"k", b"v"); MAX_TAGS];
    // Duplicate keys among the 16 would be refused; make them distinct.
    let keys: Vec<String> = (0..MAX_TAGS).map(|i| format!("k{i}")).collect();
    let distinct: Vec<Tag> = keys.iter().map(|k| tag(k.as_bytes(), b"v")).collect();
    assert_eq!(with_tags(&distinct), None);
    let mut too_many = distinct.clone();
    too_many.push(tag(b"extra", b"v"));
    assert_eq!(with_tags(&too_many), Some(Rejection::TooManyTags));
    assert_eq!(with_tags(&max), Some(Rejection::TagKeyDuplicate));
    assert_eq!(with_tags(&[tag(b"", b"v")]), Some(Rejection::TagKeyEmpty));
    assert_eq!(
        with_tags(&[tag(b"\xff", b"v")]),
        Some(Rejection::TagKeyNotUtf8)
    );
    assert_eq!(
        with_tags(&[tag(b"k", b"\xff")]),
        Some(Rejection::TagValueNotUtf8)
    );
    let long_key = vec![b'k'; MAX_TAG_KEY_LEN + 1];
    let long_value = vec![b'v'; MAX_TAG_VALUE_LEN + 1];
    assert_eq!(
        with_tags(&[tag(&long_key, b"v")]),
        Some(Rejection::TagKeyTooLong)
    );
    assert_eq!(
        with_tags(&[tag(b"k", &long_value)]),
        Some(Rejection::TagValueTooLong)
    );
    assert_eq!(
        with_tags(&[tag(&long_key[1..], &long_value[1..])]),
        None,
        "exactly at the limits"
    );
    let null = abi::Reading {
        tags: ptr::null(),
        tag_count: 1,
        ..raw(b"v")
    };
    assert_eq!(rejected(&null), Rejection::NullPointer);
    // A wild count is refused before the array is touched.
    let wild = abi::Reading {
        tags: ptr::null(),
        tag_count: usize::MAX,
        ..raw(b"v")
    };
    assert_eq!(rejected(&wild), Rejection::TooManyTags);
}

#[test]
fn timestamp_checks() {
    let at = |timestamp_ns: i64| abi::Reading {
        timestamp_ns,
        ..raw(b"v")
    };
    assert!(check(&at(OLDEST_TIMESTAMP_NS)).is_ok());
    assert_eq!(
        rejected(&at(OLDEST_TIMESTAMP_NS - 1)),
        Rejection::TimestampTooOld
    );
    assert_eq!(rejected(&at(1)), Rejection::TimestampTooOld);
    assert_eq!(rejected(&at(-1)), Rejection::TimestampTooOld);
    assert!(check(&at(NOW + MAX_FUTURE_NS)).is_ok());
    assert_eq!(
        rejected(&at(NOW + MAX_FUTURE_NS + 1)),
        Rejection::TimestampInFuture
    );
    assert_eq!(rejected(&at(i64::MAX)), Rejection::TimestampInFuture);
}

#[test]
fn rejection_indices_match_all() {
    for (i, reason) in Rejection::ALL.iter().enumerate() {
        assert_eq!(reason.index(), i, "{reason:?}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        name in proptest::collection::vec(any::<u8>(), 0..200),
        unit in proptest::collection::vec(any::<u8>(), 0..40),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        key in proptest::collection::vec(any::<u8>(), 0..80),
        kind in 0u32..6,
        number in any::<f64>(),
        timestamp_ns in any::<i64>(),
    ) {
        let tags = [tag(&key, &bytes)];
        let reading = abi::Reading {
            name: Bytes::new(&name),
            unit: Bytes::new(&unit),
            kind,
            number,
            timestamp_ns,
            bytes: Bytes::new(&bytes),
            tags: tags.as_ptr(),
            tag_count: 1,
            ..raw(b"")
        };
        // Either outcome is fine; what it must not do is panic or accept
        // something outside the limits.
        if let Ok(out) = check(&reading) {
            prop_assert!(!out.reading.name.is_empty() && out.reading.name.len() <= MAX_NAME_LEN);
            prop_assert!(out.reading.unit.as_ref().is_none_or(|u| u.len() <= MAX_UNIT_LEN));
            if let Value::F64(v) = out.reading.value {
                prop_assert!(v.is_finite());
            }
        }
    }

    #[test]
    fn valid_readings_round_trip(
        name in "[a-z0-9_/.\\- ]{1,128}",
        unit in "[A-Za-z%/]{0,32}",
        text in "\\PC{0,100}",
        key in "[a-z]{1,64}",
        value in "\\PC{0,60}",
        integer in any::<i64>(),
        offset in 0i64..MAX_FUTURE_NS,
    ) {
        let tags = [tag(key.as_bytes(), value.as_bytes())];
        let timestamp_ns = NOW - offset;
        for kind in [VALUE_I64, VALUE_STR] {
            let reading = abi::Reading {
                name: Bytes::new(name.as_bytes()),
                unit: Bytes::new(unit.as_bytes()),
                kind,
                integer,
                timestamp_ns,
                bytes: Bytes::new(text.as_bytes()),
                tags: tags.as_ptr(),
                tag_count: 1,
                ..raw(b"")
            };
            let out = check(&reading).map_err(|why| TestCaseError::fail(why.to_string()))?;
            prop_assert_eq!(&out.reading.name, &name);
            prop_assert_eq!(out.reading.unit.as_deref().unwrap_or(""), unit.as_str());
            prop_assert_eq!(out.reading.timestamp_ns, timestamp_ns);
            prop_assert_eq!(out.reading.tags.get(&key), Some(&value));
            let expected = if kind == VALUE_I64 { Value::I64(integer) } else { Value::Str(text.clone()) };
            prop_assert_eq!(&out.reading.value, &expected);
        }
    }
}
