//! The packer: limits, order, nothing lost or duplicated, and readings that
//! can never be sent handed back instead of blocking the queue.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::reading::{Reading, Sequenced, Value};
use crate::uplink::encode::{Encoder, Encoding, Unencodable};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

fn reading(name: &str, value: Value, timestamp_ns: i64) -> Reading {
    Reading {
        source: "bme280".into(),
        name: name.into(),
        unit: Some("Cel".into()),
        value,
        timestamp_ns,
        tags: BTreeMap::new(),
    }
}

fn sequenced(readings: Vec<Reading>) -> Vec<Sequenced> {
    readings
        .into_iter()
        .enumerate()
        .map(|(i, reading)| Sequenced {
            seq: 1000 + i as u64,
            reading,
        })
        .collect()
}

fn packer(encoding: Encoding, max_payload_bytes: usize, max_readings: usize) -> Packer {
    Packer::new(
        Encoder::new(encoding, Some("gw-01")),
        Limits {
            max_payload_bytes,
            max_readings,
        },
    )
}

fn temperatures(n: usize) -> Vec<Sequenced> {
    sequenced(
        (0..n)
            .map(|i| {
                reading(
                    "temperature",
                    Value::F64(21.0 + i as f64 / 100.0),
                    T0 + i as i64 * 5 * SEC,
                )
            })
            .collect(),
    )
}

#[test]
fn an_empty_stream_packs_nothing() {
    let p = packer(Encoding::SenmlCbor, 1024, 100);
    assert_eq!(p.pack(&mut std::iter::empty().peekable()), Packed::Empty);
    assert_eq!(p.packs(Vec::new()).count(), 0);
}

#[test]
fn max_readings_ends_a_message_and_the_rest_stays_in_the_iterator() {
    let p = packer(Encoding::SenmlCbor, 1024, 3);
    let mut it = temperatures(5).into_iter().peekable();
    let Packed::Message(m) = p.pack(&mut it) else {
        panic!()
    };
    assert_eq!(m.seqs, [1000, 1001, 1002]);
    assert_eq!(m.stop, Stop::MaxReadings);
    assert_eq!(it.peek().map(|s| s.seq), Some(1003));
    let Packed::Message(m) = p.pack(&mut it) else {
        panic!()
    };
    assert_eq!(m.seqs, [1003, 1004]);
    assert_eq!(m.stop, Stop::Exhausted);
    assert_eq!(p.pack(&mut it), Packed::Empty);
}

#[test]
fn the_byte_limit_ends_a_message_before_the_reading_that_would_overflow_it() {
    for encoding in Encoding::ALL {
        let p = packer(encoding, 200, 100);
        let mut it = temperatures(50).into_iter().peekable();
        let Packed::Message(m) = p.pack(&mut it) else {
            panic!()
        };
        assert!(m.payload.len() <= 200);
        let next = it.peek().cloned().unwrap();
        assert_eq!(m.stop, Stop::MaxPayload { next_seq: next.seq });
        // Maximal: with the next reading it would not have fitted.
        let taken: Vec<Reading> = temperatures(50)
            .into_iter()
            .take(m.seqs.len() + 1)
            .map(|s| s.reading)
            .collect();
        let bigger = p.encoder().encode(&taken).unwrap();
        assert!(bigger.len() > 200, "{encoding}: {} bytes", bigger.len());
        assert_eq!(
            p.encoder().encode(&taken[..m.seqs.len()]).unwrap(),
            m.payload
        );
    }
}

#[test]
fn a_reading_too_big_for_any_message_is_handed_back_and_packing_goes_on() {
    let p = packer(Encoding::SenmlJson, 100, 10);
    let mut readings = temperatures(4);
    readings[1].reading.value = Value::Str("x".repeat(200));
    let steps: Vec<Packed> = p.packs(readings.clone()).collect();
    assert_eq!(steps.len(), 3, "{steps:#?}");
    let Packed::Message(first) = &steps[0] else {
        panic!("{:?}", steps[0])
    };
    assert_eq!(first.seqs, [1000]);
    assert_eq!(first.stop, Stop::MaxPayload { next_seq: 1001 });
    let Packed::Rejected(rejected) = &steps[1] else {
        panic!("{:?}", steps[1])
    };
    assert_eq!(rejected.reading, readings[1]);
    let Reject::Oversized {
        encoded_bytes,
        max_payload_bytes: 100,
    } = rejected.reason
    else {
        panic!("{:?}", rejected.reason)
    };
    assert_eq!(
        encoded_bytes,
        p.encoder().encode(&[&readings[1].reading]).unwrap().len()
    );
    let Packed::Message(last) = &steps[2] else {
        panic!("{:?}", steps[2])
    };
    assert_eq!(last.seqs, [1002, 1003]);
}

#[test]
fn a_reading_the_encoding_cannot_carry_is_handed_back_in_order() {
    let p = packer(Encoding::SenmlJson, 1024, 10);
    let mut readings = temperatures(4);
    readings[2].reading.value = Value::F64(f64::NAN);
    let steps: Vec<Packed> = p.packs(readings.clone()).collect();
    assert!(matches!(&steps[0], Packed::Message(m)
        if m.seqs == [1000, 1001] && m.stop == Stop::Unencodable { next_seq: 1002 }));
    assert!(matches!(&steps[1], Packed::Rejected(Rejected {
        reading,
        reason: Reject::Unencodable(Unencodable::NonFinite { .. }),
    }) if reading.seq == 1002));
    assert!(matches!(&steps[2], Packed::Message(m) if m.seqs == [1003]));
    // SenML CBOR carries NaN: one message.
    let cbor: Vec<Packed> = packer(Encoding::SenmlCbor, 1024, 10)
        .packs(readings)
        .collect();
    assert!(matches!(&cbor[..], [Packed::Message(m)] if m.seqs.len() == 4));
}

#[test]
fn the_default_limits_fill_a_message_with_typical_readings() {
    // `[uplink]`'s defaults (the config's tests check that they are these).
    let p = packer(Encoding::SenmlCbor, 1024, 100);
    let steps: Vec<Packed> = p.packs(temperatures(500)).collect();
    let sizes: Vec<(usize, usize)> = steps
        .iter()
        .map(|s| match s {
            Packed::Message(m) => (m.seqs.len(), m.payload.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    // Each message but the last is nearly full: the next reading (about a
    // dozen bytes) did not fit.
    for (_, bytes) in &sizes[..sizes.len() - 1] {
        assert!((1000..=1024).contains(bytes), "{sizes:?}");
    }
    assert_eq!(sizes.iter().map(|(n, _)| n).sum::<usize>(), 500);
}

fn reading_strategy() -> impl Strategy<Value = Reading> {
    let name = prop::sample::select(vec![
        "temperature",
        "humidity",
        "pressure",
        "voltage",
        "open",
        "t",
    ]);
    let unit = prop::option::of(prop::sample::select(vec!["Cel", "%RH", "Pa", "V"]));
    let value = prop_oneof![
        4 => (-50.0f64..150.0).prop_map(Value::F64),
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, 1e300]).prop_map(Value::F64),
        2 => any::<i64>().prop_map(Value::I64),
        2 => any::<bool>().prop_map(Value::Bool),
        1 => "[a-z ]{0,300}".prop_map(Value::Str),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
    ];
    let timestamp = prop_oneof![
        9 => (0i64..86_400_000).prop_map(|ms| T0 + ms * 1_000_000),
        1 => Just(0i64),
    ];
    let source = prop::sample::select(vec!["bme280", "battery", "door", ""]);
    (source, name, unit, value, timestamp).prop_map(|(source, name, unit, value, timestamp_ns)| {
        Reading {
            source: source.into(),
            name: name.into(),
            unit: unit.map(Into::into),
            value,
            timestamp_ns,
            tags: BTreeMap::new(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn packing_respects_the_limits_and_loses_nothing(
        readings in prop::collection::vec(reading_strategy(), 0..120),
        max_payload_bytes in 64usize..1500,
        max_readings in 1usize..40,
        encoding in prop::sample::select(Encoding::ALL.to_vec()),
    ) {
        let p = packer(encoding, max_payload_bytes, max_readings);
        let input = sequenced(readings);
        let by_seq: BTreeMap<u64, &Reading> = input.iter().map(|s| (s.seq, &s.reading)).collect();
        let mut seen: Vec<u64> = Vec::new();
        let mut it = input.clone().into_iter().peekable();
        loop {
            match p.pack(&mut it) {
                Packed::Empty => break,
                Packed::Message(m) => {
                    prop_assert!(!m.seqs.is_empty());
                    prop_assert!(m.payload.len() <= max_payload_bytes);
                    prop_assert!(m.seqs.len() <= max_readings);
                    let batch: Vec<&Reading> = m.seqs.iter().map(|s| by_seq[s]).collect();
                    // The payload is exactly the encoding of those readings.
                    prop_assert_eq!(&p.encoder().encode(&batch).unwrap(), &m.payload);
                    let next = it.peek().map(|s| s.seq);
                    match m.stop {
                        Stop::Exhausted => prop_assert_eq!(next, None),
                        Stop::MaxReadings => prop_assert_eq!(m.seqs.len(), max_readings),
                        Stop::MaxPayload { next_seq } => {
                            prop_assert_eq!(Some(next_seq), next);
                            let mut more = batch.clone();
                            more.push(by_seq[&next_seq]);
                            prop_assert!(p.encoder().encode(&more).unwrap().len() > max_payload_bytes);
                        }
                        Stop::Unencodable { next_seq } => {
                            prop_assert_eq!(Some(next_seq), next);
                            prop_assert!(p.encoder().check(by_seq[&next_seq]).is_err());
                        }
                    }
                    seen.extend(&m.seqs);
                }
                Packed::Rejected(r) => {
                    match &r.reason {
                        Reject::Oversized { encoded_bytes, .. } => {
                            let alone = p.encoder().encode(&[&r.reading.reading]).unwrap();
                            prop_assert_eq!(alone.len(), *encoded_bytes);
                            prop_assert!(alone.len() > max_payload_bytes);
                        }
                        Reject::Unencodable(reason) => {
                            // Debug text: NaN inside is not equal to itself.
                            let again = p.encoder().check(&r.reading.reading).err();
                            prop_assert_eq!(format!("{again:?}"), format!("{:?}", Some(reason)));
                        }
                    }
                    // The very reading (as text: a NaN is not equal to itself).
                    prop_assert_eq!(format!("{:?}", by_seq[&r.reading.seq]), format!("{:?}", r.reading.reading));
                    seen.push(r.reading.seq);
                }
            }
        }
        // Every reading went somewhere, once, in order.
        let all: Vec<u64> = input.iter().map(|s| s.seq).collect();
        prop_assert_eq!(seen, all);
    }
}
