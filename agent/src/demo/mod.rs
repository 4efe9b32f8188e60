//! What `edge-agent demo` runs besides the agent: a local MQTT broker (and,
//! through `modem.port = "sim"`, the simulated module). Only built with the
//! `demo` feature (which brings `sim`); a gateway's firmware build leaves it
//! out, and so does a build with the simulator alone.

pub mod broker;

pub use broker::{BrokerError, LocalBroker};
