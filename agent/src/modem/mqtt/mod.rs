//! MQTT through the module's embedded client (application note chapter 6),
//! one folder for the feature:
//!
//! - `commands.rs`: one typed struct per `+UMQTT*` command, each doc naming
//!   the note's section;
//! - `profile.rs`: the profile the agent declares, written to the module's
//!   NVM only when its digest changed, else reloaded;
//! - `session.rs`: a session (login, publish, subscribe, logout) as a pure
//!   [`SessionState`](session::SessionState) and a thin async driver.
//!
//! What `[uplink.mqtt]` says is turned into a profile by `config`; the
//! uplink drains the queue through a session (`uplink/mqtt.rs`).

pub mod commands;
pub mod profile;
pub mod session;

pub use commands::*;
