//! lexi-sim: a simulator of the u-blox LEXI-R10 cellular module's AT
//! interface, faithful enough to test the edge-agent end to end without
//! hardware.
//!
//! Wire format ground truth: the vendor's application note
//! (shared/reference, "LEXI-R10 series, Internet applications development
//! guide"). Where the note is silent the code says `[model]` (our choice,
//! easy to find and change) or `[lib]` (a fact from u-blox's host library
//! ubxlib).
//!
//! **Invariant: independent of the agent.** Nothing here depends on
//! `edge-agent`; the AT parsing on the module side is this crate's own, so a
//! parser bug in the agent cannot be cancelled out by the same bug here.
//!
//! # Map
//!
//! From the wire inwards:
//! - [`transport`]: the UART. A raw pty ([`transport::pty`]) for the agent's
//!   serial code, or an in-process duplex pipe.
//! - `runner` (private): the I/O task. Reads and writes the port, selects
//!   over port, timers, job events and control requests; nothing else.
//! - [`at`]: module-side AT syntax: bytes to lines ([`at::line`]), lines to
//!   commands and parameters ([`at::parse`]), framing and `+CME ERROR`s
//!   ([`at::reply`]).
//! - [`module`]: the LEXI-R10 as a pure state machine,
//!   `handle(input, now) -> effects`, one file per chapter of commands
//!   (general, SIM, network, PDP, IP services, MQTT, sockets, HTTP, the
//!   file system, power, sleep, the clock).
//! - [`jobs`]: work that completes later (DNS, ping, the MQTT client as a real
//!   rumqttc session, sockets, HTTP requests through a real reqwest client)
//!   runs as tasks and posts events back to the module.
//! - [`dns`]: the simulated name service (a table, never the host resolver).
//! - [`energy`]: the energy ledger (time per power state x current, radio
//!   bytes, TLS handshakes) and its one table of currents.
//! - [`nvm`]: the module's NVM as a versioned JSON file, written atomically.
//! - [`config`]: [`SimConfig`], [`NetworkCondition`] and [`NetworkTime`];
//!   [`error`]: [`SimError`].
//! - [`handle`]: [`Simulator::spawn_pty`] / [`Simulator::spawn_duplex`] and the
//!   [`SimHandle`] tests steer it with (fault injection, reboot, power,
//!   network, transcript).
//! - [`control`]: the same steering from outside the process, a Unix socket
//!   of text commands (`lexi-sim --control PATH`) and its client.
//!
//! Time: every module-internal duration is multiplied by
//! [`SimConfig::time_scale`]; control-handle delays are real time.

pub mod at;
pub mod config;
pub mod control;
pub mod dns;
pub mod energy;
pub mod error;
pub mod handle;
pub mod jobs;
pub mod module;
pub mod nvm;
mod runner;
pub mod transport;

pub use config::{MqttBackend, NetworkCondition, NetworkTime, SimConfig};
pub use energy::{Currents, EnergyReport, StateEnergy};
pub use error::SimError;
pub use handle::{SimHandle, Simulator};
pub use jobs::PublishedRecord;
pub use module::{ClockSource, PowerLogEntry, PowerMode, PowerState, RegStat, SimSnapshot};
