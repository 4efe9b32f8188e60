//! The simulator's integration tests, as one binary: over a duplex, over a
//! real pty, and through the `lexi-sim` executable. They use only the
//! simulator's public API, never the agent's code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bin;
mod clock;
mod common;
mod control;
mod duplex;
mod http;
mod http_server;
mod mqtt;
mod pty;
mod sleep;
mod sockets;
mod virtual_broker;
