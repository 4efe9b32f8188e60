//! What `edge-agent demo` runs besides the agent: a local MQTT broker (and,
//! through `modem.port = "sim"`, the simulated module). Only built with the
//! `sim` feature; a gateway's firmware build leaves it out.

pub mod broker;

pub use broker::{BrokerError, LocalBroker};
