//! Uplink: from queued readings to the messages the module's MQTT and HTTP
//! clients send. Every byte over the radio costs battery, so messages are
//! as few and as full as the module allows.
//!
//! - [`encode`]: the wire formats (SenML CBOR, the default; SenML JSON;
//!   InfluxDB line protocol), their content types, and exact sizing of a
//!   batch before it is written.
//! - [`batch`]: the packer, which fills one message up to
//!   `uplink.max_payload_bytes` and `uplink.max_readings` from a stream of
//!   queued readings, and hands back readings that can never be sent.
//!
//! The MQTT transport is `modem::mqtt` (profile) and `modem::mqtt_session`;
//! the run loop that feeds it from the queue is still to come (issue 4).

pub mod batch;
pub mod encode;

#[cfg(test)]
mod batch_tests;

pub use batch::{Limits, Message, Packed, Packer, Packs, Reject, Rejected, Stop};
pub use encode::{Candidate, EncodeError, Encoder, Encoding, Sizer, Unencodable};
