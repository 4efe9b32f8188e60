//! Value types and spellings every part of the agent shares: a leaf module,
//! it imports nothing from the rest of the crate, so any stage may use it
//! without tying itself to another.
//!
//! - `duration.rs`: [`Duration`], the config's spelling of a time span
//!   (`"1m30s"`).
//! - `size.rs`: [`ByteSize`] (`"32MiB"`).
//! - `secret.rs`: [`Secret`], a value that never reaches a log or the
//!   printed config.
//! - `hex.rs`: the one hex spelling of bytes (digests, keys, payloads).
//! - `wall_clock.rs`: the host's wall clock as Unix time, saturating, for
//!   stamps that must not panic on a clock before 1970.
//!
//! Invariant: nothing here names another module of the crate.

pub mod duration;
pub mod hex;
pub mod secret;
pub mod size;
pub mod wall_clock;

pub use duration::{Duration, ParseDurationError, ACCEPTED_FORMS as DURATION_FORMS};
pub use secret::{Secret, MASK};
pub use size::{ByteSize, ParseSizeError, ACCEPTED_FORMS as SIZE_FORMS};
