//! edge-agent: a telemetry agent for battery-powered gateways that reach the
//! cloud through a u-blox LEXI-R10 cellular module.
//!
//! The parts, in the order data flows through them (see ARCHITECTURE.md):
//!
//! - [`config`]: the TOML file plus `EDGE_AGENT_*` environment overrides,
//!   validated into typed settings; errors name the key, the source and the line.
//! - [`plugin_host`]: sensor plugins, shared libraries speaking the C ABI of
//!   `edge-agent-sdk`: checked, pinned by SHA-256 and loaded (never
//!   unloaded); each instance driven from its own thread with deadlines and
//!   backoff; what they emit validated and handed over on a bounded channel.
//! - [`reading`]: the [`reading::Reading`] every stage after the plugin host
//!   handles; [`heartbeat`]: the agent's own vital signs as readings;
//!   [`timekeeper`]: what UTC it is (host clock, module network time, or
//!   unknown) and the correction of readings stamped by a wrong host clock.
//! - [`command`]: the commands a server sends the agent (over MQTT or in
//!   an HTTP response), one grammar for both.
//! - [`intake`]: plugin readings into the queue, a task of its own so that
//!   the intake never waits for the uplink.
//! - [`queue`]: the durable store-and-forward queue: readings wait on disk,
//!   under sequence numbers that survive restarts, until the uplink confirms
//!   them; bounded by bytes and age, with dead letters.
//! - [`store`]: the sled database the queue lives in, configured for a
//!   battery host; moves a store it cannot open aside.
//! - [`uplink`]: readings into messages: the encodings (SenML CBOR/JSON,
//!   line protocol), the batch packer that fills each message, the
//!   transports (the module's MQTT and HTTP clients) and the upload windows
//!   that decide when the radio comes up.
//! - [`modem`]: the LEXI-R10 seen from the host. [`modem::at`] is the AT engine
//!   (a pure codec over byte slices, a client that owns the serial port and
//!   fans URCs out); the files beside it hold one typed struct per AT command,
//!   grouped by the application note's chapters, and the boot sequence.
//! - [`power`]: the module's sleep: sleep settings, the awake guard (the only
//!   way to keep the module awake, through sleep votes), the power state from
//!   the sleep URCs, restoring what deep sleep loses, the wake action, the
//!   always-on sockets and the doorbell.
//! - [`tls`]: TLS credentials (PEM, DER, X.509, private keys) read and
//!   checked before they are imported into the module.
//! - [`daemon`]: the agent at run time, tying the parts together;
//!   [`notify`]: what it tells systemd (ready, status, watchdog, stopping).
//! - `backoff`: the one rule for waiting after consecutive failures (the
//!   plugin host's calls, the daemon's windows).
//! - `demo` (feature `demo`): the demo's in-process MQTT broker.

mod backoff;
pub mod command;
pub mod config;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod heartbeat;
pub mod intake;
pub mod modem;
pub mod notify;
pub mod plugin_host;
pub mod power;
pub mod queue;
pub mod reading;
pub mod store;
pub mod timekeeper;
pub mod tls;
pub mod uplink;
pub mod values;
