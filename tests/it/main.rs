//! The project's integration tests: one binary, test names read as sentences.

mod architecture;
mod config_cli;
#[cfg(feature = "demo")]
mod demo_broker;
#[cfg(feature = "demo")]
mod field;
#[cfg(feature = "sim")]
mod http_server;
#[cfg(feature = "sim")]
mod http_uplink;
// The agent in this process on a simulator the test holds.
#[cfg(feature = "sim")]
mod in_process;
mod modem_cli;
mod modem_pty;
#[cfg(feature = "sim")]
mod mqtt_brokers;
#[cfg(feature = "demo")]
mod mqtt_e2e;
#[cfg(feature = "sim")]
mod paused_clock;
#[cfg(feature = "demo")]
mod plugin_e2e;
mod plugin_host;
mod plugin_load;
mod power_cut;
#[cfg(feature = "demo")]
mod power_windows;
mod queue_cli;
mod queue_corruption;
mod queue_crash;
mod queue_to_messages;
#[cfg(feature = "demo")]
mod run_cli;
mod run_test_cli;
#[cfg(feature = "demo")]
mod service;
mod support;
mod tls;
#[cfg(feature = "demo")]
mod upload_windows;
