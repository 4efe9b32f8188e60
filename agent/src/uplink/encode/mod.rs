//! The wire formats of uplink messages, one file each:
//!
//! | `uplink.encoding` | file | content type |
//! |---|---|---|
//! | `"senml-cbor"` (default) | `senml_cbor.rs` | `application/senml+cbor` |
//! | `"senml-json"` | `senml_json.rs` | `application/senml+json` |
//! | `"influx"` | `influx.rs` | `text/plain; charset=utf-8` |
//!
//! `senml/` holds what both SenML forms share (names, base fields, the
//! sizer); `cbor.rs`, `json.rs` and `base64url.rs` write the primitive items;
//! `sink.rs` is where bytes go: a `Vec<u8>`, or a counter, so that sizing a
//! candidate message runs the code that writes it.
//!
//! An [`Encoder`] is an encoding plus the device id that names the readings.
//! It [`check`](Encoder::check)s whether a reading can be carried at all,
//! [`encode`](Encoder::encode)s a batch, and hands out a [`Sizer`] that tells
//! the size of a growing batch exactly, in O(1) per reading for the usual
//! batch, without writing it. Output is deterministic: the same batch gives
//! the same bytes.

mod base64url;
mod cbor;
mod influx;
mod json;
mod senml;
mod senml_cbor;
mod senml_json;
mod sink;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::reading::{Reading, Value};
use senml::SenmlSizer;
use senml_cbor::Cbor;
use senml_json::Json;

/// `uplink.encoding`: how readings are written into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Encoding {
    /// SenML in CBOR (RFC 8428 §6): the smallest.
    #[default]
    #[serde(rename = "senml-cbor")]
    SenmlCbor,
    /// SenML in JSON (RFC 8428 §5): readable, about 1.6 times the size.
    #[serde(rename = "senml-json")]
    SenmlJson,
    /// InfluxDB line protocol: for Telegraf/InfluxDB back ends.
    #[serde(rename = "influx")]
    Influx,
}

impl Encoding {
    /// Every encoding, in the order of the docs.
    pub const ALL: [Encoding; 3] = [Encoding::SenmlCbor, Encoding::SenmlJson, Encoding::Influx];

    /// The spelling in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::SenmlCbor => "senml-cbor",
            Encoding::SenmlJson => "senml-json",
            Encoding::Influx => "influx",
        }
    }

    /// The media type of a message, for an HTTP `Content-Type` or an MQTT 5
    /// content type (RFC 8428 §12.3; InfluxDB's write API for line protocol).
    pub const fn content_type(self) -> &'static str {
        match self {
            Encoding::SenmlCbor => "application/senml+cbor",
            Encoding::SenmlJson => "application/senml+json",
            Encoding::Influx => "text/plain; charset=utf-8",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a reading cannot be carried by an encoding, whatever else is in the
/// message. The packer hands such a reading back on its own (see
/// [`crate::uplink::batch`]) for the caller to dead-letter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unencodable {
    /// NaN or ±∞: JSON and line protocol have no such numbers (SenML CBOR
    /// carries them).
    #[error("{encoding} cannot carry the non-finite number {value}")]
    NonFinite { encoding: Encoding, value: f64 },
    /// Before 2^28 s after the epoch SenML times mean "relative to now"
    /// (RFC 8428 §4.5.3): typically a clock that was never set.
    #[error(
        "timestamp {timestamp_ns} ns is before 1978-07-04T21:24:16Z (2^28 s), the earliest \
         absolute time SenML can express (RFC 8428 §4.5.3); was the clock set?"
    )]
    BeforeSenmlEpoch { timestamp_ns: i64 },
    /// InfluxDB accepts `i64::MIN + 2 ..= i64::MAX - 1` ns.
    #[error("timestamp {timestamp_ns} ns is outside the range InfluxDB accepts")]
    OutsideInfluxRange { timestamp_ns: i64 },
    /// Line protocol needs a measurement and a field key, and a line starting
    /// with `#` is a comment.
    #[error("influx needs a non-empty {what} that does not start with '#', not {value:?}")]
    InfluxName { what: &'static str, value: String },
}

/// Why a batch could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A SenML pack needs at least one record (RFC 8428 §11), and an empty
    /// message is never worth the radio.
    #[error("the batch is empty")]
    Empty,
    #[error("reading {index} of the batch: {reason}")]
    Unencodable { index: usize, reason: Unencodable },
}

/// An encoding, and the device id that prefixes the readings' names
/// (`<device>:<source>/<name>` in SenML, a `device` tag in line protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoder {
    encoding: Encoding,
    device: Option<String>,
}

impl Encoder {
    pub fn new(encoding: Encoding, device: Option<&str>) -> Self {
        Encoder {
            encoding,
            device: device.map(str::to_owned),
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// Whether `reading` can be carried by this encoding at all.
    pub fn check(&self, reading: &Reading) -> Result<(), Unencodable> {
        match self.encoding {
            Encoding::SenmlCbor | Encoding::SenmlJson => {
                if reading.timestamp_ns < senml::EARLIEST_NS {
                    return Err(Unencodable::BeforeSenmlEpoch {
                        timestamp_ns: reading.timestamp_ns,
                    });
                }
                match reading.value {
                    Value::F64(v) if !v.is_finite() && self.encoding == Encoding::SenmlJson => {
                        Err(Unencodable::NonFinite {
                            encoding: self.encoding,
                            value: v,
                        })
                    }
                    _ => Ok(()),
                }
            }
            Encoding::Influx => influx::check(reading),
        }
    }

    /// The message for `readings`, in their order (SenML moves readings
    /// without a unit to the front when it uses a base unit; see `senml/mod.rs`).
    pub fn encode<R: AsRef<Reading>>(&self, readings: &[R]) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(readings, &mut out)?;
        Ok(out)
    }

    /// Like [`Encoder::encode`], appending to `out`. On error nothing is written.
    pub fn encode_into<R: AsRef<Reading>>(
        &self,
        readings: &[R],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if readings.is_empty() {
            return Err(EncodeError::Empty);
        }
        let readings: Vec<&Reading> = readings.iter().map(AsRef::as_ref).collect();
        for (index, r) in readings.iter().enumerate() {
            self.check(r)
                .map_err(|reason| EncodeError::Unencodable { index, reason })?;
        }
        self.write_checked(&readings, out);
        Ok(())
    }

    /// Appends the message for `readings`, which must be non-empty and have
    /// passed [`Encoder::check`], and returns its size.
    pub(crate) fn write_checked(&self, readings: &[&Reading], out: &mut Vec<u8>) -> usize {
        debug_assert!(!readings.is_empty());
        let start = out.len();
        let device = self.device.as_deref();
        let predicted = match self.encoding {
            Encoding::SenmlCbor => senml::write::<Cbor>(out, device, readings),
            Encoding::SenmlJson => senml::write::<Json>(out, device, readings),
            Encoding::Influx => {
                influx::write(out, device, readings);
                out.len() - start
            }
        };
        debug_assert_eq!(out.len() - start, predicted, "sizer and writer disagree");
        out.len() - start
    }

    /// A sizer for a batch that starts empty.
    pub fn sizer(&self) -> Sizer {
        let device = self.device.as_deref();
        Sizer(match self.encoding {
            Encoding::SenmlCbor => SizerKind::Cbor(SenmlSizer::new(device)),
            Encoding::SenmlJson => SizerKind::Json(SenmlSizer::new(device)),
            Encoding::Influx => SizerKind::Influx(influx::InfluxSizer::new(device)),
        })
    }
}

/// The exact encoded size of a growing batch, without encoding it: measure
/// a reading, and commit it if the size is acceptable. Readings must pass
/// [`Encoder::check`] first.
#[derive(Debug, Clone)]
pub struct Sizer(SizerKind);

#[derive(Debug, Clone)]
enum SizerKind {
    Cbor(SenmlSizer<Cbor>),
    Json(SenmlSizer<Json>),
    Influx(influx::InfluxSizer),
}

/// The batch with one more reading, as measured by [`Sizer::measure`].
#[derive(Debug, Clone)]
pub struct Candidate(CandidateKind);

#[derive(Debug, Clone)]
enum CandidateKind {
    Senml(senml::SenmlCandidate),
    Influx(usize),
}

impl Candidate {
    /// The encoded size of the batch with the reading added.
    pub fn size(&self) -> usize {
        match &self.0 {
            CandidateKind::Senml(c) => c.size(),
            CandidateKind::Influx(size) => *size,
        }
    }
}

impl Sizer {
    /// The batch with `reading` added; the sizer does not change.
    pub fn measure(&self, reading: &Reading) -> Candidate {
        Candidate(match &self.0 {
            SizerKind::Cbor(s) => CandidateKind::Senml(s.measure(reading)),
            SizerKind::Json(s) => CandidateKind::Senml(s.measure(reading)),
            SizerKind::Influx(s) => CandidateKind::Influx(s.measure(reading)),
        })
    }

    /// Adds the reading `candidate` was measured for. A candidate measured
    /// by another sizer, or before another commit, gives wrong sizes.
    pub fn commit(&mut self, candidate: Candidate) {
        match (&mut self.0, candidate.0) {
            (SizerKind::Cbor(s), CandidateKind::Senml(c)) => s.commit(c),
            (SizerKind::Json(s), CandidateKind::Senml(c)) => s.commit(c),
            (SizerKind::Influx(s), CandidateKind::Influx(size)) => s.commit(size),
            // A candidate of another encoding: a caller's bug; ignoring it
            // keeps the sizer consistent with what it has committed.
            _ => debug_assert!(false, "a candidate from another sizer"),
        }
    }

    /// The encoded size of the batch so far (0 when empty).
    pub fn size(&self) -> usize {
        match &self.0 {
            SizerKind::Cbor(s) => s.size(),
            SizerKind::Json(s) => s.size(),
            SizerKind::Influx(s) => s.size(),
        }
    }

    /// The number of readings committed.
    pub fn len(&self) -> usize {
        match &self.0 {
            SizerKind::Cbor(s) => s.len(),
            SizerKind::Json(s) => s.len(),
            SizerKind::Influx(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
