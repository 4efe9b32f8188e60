//! The LEXI-R10 seen from the host.
//!
//! [`at`] is the AT engine. Beside it, one file per chapter of the
//! application note holds the typed commands of that chapter ([`general`],
//! [`psd`], [`socket`], [`mqtt`], [`http`], [`security`], [`power`], and
//! [`fs`], the module's files as the HTTP client uses them), [`clock`] the
//! module's network time, and [`boot`] brings the module up. [`port`] opens
//! the serial device.

pub mod at;
pub mod boot;
pub mod clock;
pub mod digest;
pub mod fs;
pub mod general;
pub mod http;
pub mod link;
pub mod mqtt;
pub mod port;
pub mod power;
pub mod psd;
pub mod security;
pub mod socket;

#[cfg(test)]
pub(crate) mod test_peer;

pub use boot::{boot, BootError, BootSettings, Identity, ModemInfo};
pub use link::{LinkError, LinkPort, LinkSettings, ModemLink, SimulatorSettings};
