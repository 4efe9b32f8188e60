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
//! - [`drain`]: lease, pack, send through a [`drain::Transport`], then ack,
//!   release or dead-letter by what the far end said.
//! - [`window`]: upload windows, when the radio comes up to send what waits
//!   (every `uplink.interval` with jitter, earlier for a backlog or an urgent
//!   reading).
//!
//! - [`mqtt`]: the module's MQTT session (`modem::mqtt`) as a
//!   [`Transport`]; [`http`]: its HTTP client (`modem::http`), one POST per
//!   message, judged by the status. The daemon drains through either in
//!   its upload windows.

pub mod batch;
pub mod drain;
pub mod encode;
pub mod http;
pub mod mqtt;
pub mod window;

pub use batch::{Limits, Message, Packed, Packer, Packs, Reject, Rejected, Stop};
pub use drain::{drain, Budget, DrainControl, DrainReport, SendError, Transport};
pub use encode::{Candidate, EncodeError, Encoder, Encoding, Sizer, Unencodable};
pub use window::{UploadWindows, WindowPolicy, WindowReason};
