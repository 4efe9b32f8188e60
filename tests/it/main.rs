//! The project's integration tests: one binary, test names read as sentences.

mod architecture;
mod config_cli;
#[cfg(feature = "sim")]
mod demo_broker;
#[cfg(feature = "sim")]
mod field;
#[cfg(feature = "sim")]
mod in_process;
mod modem_cli;
mod modem_pty;
#[cfg(feature = "sim")]
mod mqtt_brokers;
#[cfg(feature = "sim")]
mod mqtt_e2e;
#[cfg(feature = "sim")]
mod paused_clock;
#[cfg(feature = "sim")]
mod plugin_e2e;
mod plugin_host;
mod plugin_load;
mod power_cut;
#[cfg(feature = "sim")]
mod power_windows;
mod queue_cli;
mod queue_corruption;
mod queue_crash;
mod queue_to_messages;
#[cfg(feature = "sim")]
mod run_cli;
#[cfg(feature = "sim")]
mod service;
mod support;
#[cfg(feature = "sim")]
mod upload_windows;
