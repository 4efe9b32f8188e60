//! What the TLS tests of the simulator (`sim/tests/it/tls/`) and of the
//! agent (`tests/it/tls.rs`) run against, written once:
//!
//! - [`pki`]: certificates and keys made at test time with the `openssl`
//!   command line (never with the crate the simulator uses, so the two
//!   cannot agree on a mistake);
//! - [`servers`]: mosquitto with a plain and a TLS listener, and
//!   `openssl s_server`, which says whether a connection resumed a session;
//! - [`counting_proxy`]: a TLS server in front of a broker's plain listener
//!   that counts full and resumed handshakes as the server saw them.
//!
//! The tools must be installed (`scripts/test` installs them): without them
//! the tests fail, they never skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod counting_proxy;
pub mod pki;
pub mod servers;

use std::time::Duration;

/// How long a test waits for a server or a message before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);
