//! Bytes per reading in each uplink encoding, and what encoding and packing
//! cost: `cargo run --release -p edge-bench -- encodings`.
//!
//! The batch: 50 readings of one gateway (device id: an IMEI, the default),
//! 5 sensors sampled together every 5 s, 10 times, in the order a queue
//! would hand them out:
//!
//! | source/name | unit | values |
//! |---|---|---|
//! | `bme280/temperature` | `Cel` | 21.37, 21.42, ... (2 decimals) |
//! | `bme280/humidity` | `%RH` | 45.21, ... |
//! | `bme280/pressure` | `Pa` | 100853.42, ... |
//! | `battery/voltage` | `V` | 3.712, ... (3 decimals) |
//! | `door/open` | none | true/false |
//!
//! Three kinds of timestamps, because SenML's size depends on them: whole
//! seconds; a fixed 5 s interval started at an arbitrary fraction of a
//! second (every reading at `.347`); and raw nanosecond clock readings with
//! a few milliseconds of jitter per sensor.
//!
//! Columns: the batch's size; bytes per reading; the time to encode the
//! batch; the time the packer takes to pack it at the default limits
//! (1024 bytes, 100 readings; the messages that takes); the time a naive
//! packer would take, encoding every prefix to measure it; and how many
//! 1024-byte messages 1000 such readings need.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use edge_agent::config::UplinkConfig;
use edge_agent::reading::{Reading, Sequenced, Value};
use edge_agent::uplink::{Encoder, Encoding, Packed, Packer};

const SEC: i64 = 1_000_000_000;
/// 2024-11-14T22:13:20Z.
const T0: i64 = 1_731_622_400 * SEC;
const DEVICE: &str = "356938035643809";

#[derive(Clone, Copy)]
enum Clock {
    WholeSeconds,
    FixedFraction,
    Jittered,
}

impl Clock {
    fn label(self) -> &'static str {
        match self {
            Clock::WholeSeconds => "whole s",
            Clock::FixedFraction => "5 s + .347",
            Clock::Jittered => "ns, jitter",
        }
    }
}

/// A small deterministic generator (the figures must not move between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A value in `-1.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next() % 2001) as f64 / 1000.0 - 1.0
    }
}

fn round(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

/// `samples` rounds of the five sensors.
fn batch(clock: Clock, samples: usize) -> Vec<Reading> {
    let mut rng = Lcg(42);
    let (mut temp, mut hum, mut press, mut volt) = (21.37, 45.21, 100_853.42, 3.712);
    let mut door = false;
    let mut readings = Vec::with_capacity(samples * 5);
    for k in 0..samples as i64 {
        let tick = match clock {
            Clock::WholeSeconds => T0 + k * 5 * SEC,
            Clock::FixedFraction | Clock::Jittered => T0 + 347_000_000 + k * 5 * SEC,
        };
        temp = round(temp + rng.unit() * 0.05, 2);
        hum = round(hum + rng.unit() * 0.2, 2);
        press = round(press + rng.unit() * 3.0, 2);
        volt = round(volt - 0.001 * (rng.next() % 2) as f64, 3);
        if rng.next() % 7 == 0 {
            door = !door;
        }
        let sensors: [(&str, &str, Option<&str>, Value); 5] = [
            ("bme280", "temperature", Some("Cel"), Value::F64(temp)),
            ("bme280", "humidity", Some("%RH"), Value::F64(hum)),
            ("bme280", "pressure", Some("Pa"), Value::F64(press)),
            ("battery", "voltage", Some("V"), Value::F64(volt)),
            ("door", "open", None, Value::Bool(door)),
        ];
        for (i, (source, name, unit, value)) in sensors.into_iter().enumerate() {
            let timestamp_ns = match clock {
                Clock::Jittered => {
                    // Each read a few ms after the tick, at ns resolution.
                    tick + i as i64 * 2_000_000 + (rng.next() % 3_000_000) as i64
                }
                _ => tick,
            };
            readings.push(Reading {
                source: source.into(),
                name: name.into(),
                unit: unit.map(Into::into),
                value,
                timestamp_ns,
                tags: BTreeMap::new(),
            });
        }
    }
    readings
}

fn sequenced(readings: &[Reading]) -> Vec<Sequenced> {
    readings
        .iter()
        .enumerate()
        .map(|(i, r)| Sequenced {
            seq: i as u64,
            reading: r.clone(),
        })
        .collect()
}

/// The median time of `f` over enough runs to fill about 150 ms.
fn time(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(100));
    let runs = (Duration::from_millis(150).as_nanos() / once.as_nanos()).clamp(5, 20_000) as usize;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Packs `readings` with `packer`: the messages, checking that every
/// reading went into one (a figure from a packer that dropped readings
/// would be worthless).
fn pack_all(packer: &Packer, readings: &[Sequenced]) -> Result<Vec<Vec<u8>>, String> {
    let mut messages = Vec::new();
    let mut taken = 0;
    for packed in packer.packs(readings.iter().cloned()) {
        match packed {
            Packed::Message(m) => {
                taken += m.seqs.len();
                messages.push(m.payload);
            }
            other => return Err(format!("the batch is all sendable, got {other:?}")),
        }
    }
    if taken != readings.len() {
        return Err(format!("{taken} of {} readings packed", readings.len()));
    }
    Ok(messages)
}

/// What a packer without a sizer would do: encode every prefix.
fn encode_and_measure(encoder: &Encoder, readings: &[Reading], max_bytes: usize) -> usize {
    let mut fit = 0;
    for n in 1..=readings.len() {
        match encoder.encode(&readings[..n]) {
            Ok(bytes) if bytes.len() <= max_bytes => fit = n,
            _ => break,
        }
    }
    fit
}

pub fn run() {
    if let Err(e) = table() {
        eprintln!("edge-bench encodings: {e}");
        std::process::exit(1);
    }
}

fn table() -> Result<(), String> {
    let config = UplinkConfig::default();
    println!(
        "uplink encodings: 50 readings (5 sensors x 10 samples, 5 s apart), device id {DEVICE}"
    );
    println!(
        "defaults: max_payload_bytes = {}, max_readings = {}\n",
        config.max_payload_bytes, config.max_readings
    );
    println!(
        "{:<11} {:<12} {:>6} {:>7} {:>10} {:>13} {:>14} {:>11}",
        "encoding",
        "timestamps",
        "bytes",
        "B/read",
        "encode µs",
        "pack µs (n)",
        "naive pack µs",
        "msgs/1000"
    );
    for encoding in Encoding::ALL {
        for clock in [Clock::WholeSeconds, Clock::FixedFraction, Clock::Jittered] {
            let readings = batch(clock, 10);
            let encoder = Encoder::new(encoding, Some(DEVICE));
            let payload = encoder.encode(&readings).map_err(|e| e.to_string())?;
            let encode = time(|| {
                black_box(encoder.encode(black_box(&readings)).ok());
            });

            let packer = Packer::new(
                encoder.clone(),
                edge_agent::uplink::Limits {
                    max_payload_bytes: config.max_payload_bytes,
                    max_readings: config.max_readings,
                },
            );
            let queued = sequenced(&readings);
            let messages = pack_all(&packer, &queued)?.len();
            let pack = time(|| {
                black_box(pack_all(&packer, black_box(&queued)).ok());
            });
            let naive = time(|| {
                // Until the first message is full, like `pack` does per message.
                let mut rest = &readings[..];
                while !rest.is_empty() {
                    let n = encode_and_measure(&encoder, rest, config.max_payload_bytes).max(1);
                    rest = &rest[n.min(config.max_readings)..];
                }
            });

            let long = sequenced(&batch(clock, 200));
            let per_1000 = pack_all(&packer, &long)?.len();

            println!(
                "{:<11} {:<12} {:>6} {:>7.1} {:>10} {:>13} {:>14} {:>11}",
                encoding.as_str(),
                clock.label(),
                payload.len(),
                payload.len() as f64 / readings.len() as f64,
                micros(encode),
                format!("{} ({messages})", micros(pack)),
                micros(naive),
                per_1000,
            );
        }
    }
    println!(
        "\nbytes: the 50 readings as one message; pack: the packer at the defaults (n messages); \
         naive pack: encoding every prefix to measure it; msgs/1000: messages for 1000 such readings"
    );
    Ok(())
}
