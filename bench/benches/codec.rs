//! AT codec throughput: how many MB/s of module output the pure decoder turns
//! into items. Run with `cargo bench -p edge-bench --bench codec`.
//!
//! Three workloads: ordinary answers and URCs (short lines), socket reads
//! with 1 KiB counted binary payloads, and an HTTP direct-link stream.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::borrow::Cow;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use edge_agent::modem::at::codec::{Counted, Decoder, Expect, PayloadSpec};

/// Decodes all of `input` and returns how many items came out.
fn decode_all(expect: &Expect, input: &[u8]) -> usize {
    let mut decoder = Decoder::new();
    decoder.set_expect(Some(expect.clone()));
    let mut used = 0;
    let mut items = 0;
    while let Some((item, n)) = decoder.decode(&input[used..]) {
        black_box(&item);
        used += n;
        items += 1;
    }
    items
}

fn expect(echo: &str, prefix: &'static str) -> Expect {
    Expect {
        echo: echo.as_bytes().to_vec(),
        response_prefix: Some(Cow::Borrowed(prefix.as_bytes())),
        payload: None,
        prompt: None,
    }
}

fn answers() -> Vec<u8> {
    let unit: &[u8] = b"\r\n+CEREG: 2,1,\"2B67\",\"0A1B2C3D\",7\r\n\r\n+CSCON: 0\r\n\
        \r\n+UMQTT: 0,\"357862090033897\"\r\n+UMQTT: 2,\"192.168.105.30\",1883\r\n\
        \r\n+UUPING: 1,32,\"www.google.com\",\"216.58.206.68\",115,62\r\n\r\nOK\r\n";
    unit.repeat(2000)
}

fn payloads() -> (Expect, Vec<u8>) {
    let mut e = expect("AT+USORD=0,1024", "+USORD");
    e.payload = Some(PayloadSpec {
        prefix: Cow::Borrowed(b"+USORD:"),
        counted: vec![Counted {
            length_field: 1,
            hex: false,
        }],
    });
    // Binary payload bytes, including quotes, CR, LF and "OK".
    let body: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 13) as u8).collect();
    let mut unit = b"\r\n+USORD: 0,1024,\"".to_vec();
    unit.extend_from_slice(&body);
    unit.extend_from_slice(b"\"\r\n\r\nOK\r\n");
    (e, unit.repeat(200))
}

fn stream() -> Vec<u8> {
    let mut s = b"\r\nCONNECT\r\nHTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n".to_vec();
    s.extend((0..262_144u32).map(|i| b"abcdefgh\r\n"[(i % 10) as usize]));
    s.extend_from_slice(b"\r\nDISCONNECT\r\n\r\nOK\r\n");
    s
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("at_codec");

    // Each workload is checked to decode as intended before it is timed, so
    // a figure never comes from a decoder that gave up early.
    let input = answers();
    let e = expect("AT+UMQTT?", "+UMQTT");
    assert_eq!(decode_all(&e, &input), 2000 * 6);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("answers_and_urcs", |b| b.iter(|| decode_all(&e, &input)));

    let (e, input) = payloads();
    assert_eq!(decode_all(&e, &input), 200 * 2);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("counted_binary_payloads", |b| {
        b.iter(|| decode_all(&e, &input))
    });

    let input = stream();
    let e = expect("AT+UHTTPC=0,1,\"/\",\"get.ffs\"", "+UHTTPC");
    assert_eq!(decode_all(&e, &input), 4);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("http_direct_link_stream", |b| {
        b.iter(|| decode_all(&e, &input))
    });

    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
