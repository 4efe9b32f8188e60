//! The plugin host: loads sensor plugins (shared libraries speaking the C ABI
//! of `edge-agent-sdk`), drives each instance from its own thread, and feeds
//! what they emit into the durable queue.
//!
//! - `descriptor.rs`: the descriptor a plugin's entry symbol returns, checked
//!   (magic, ABI, size, required functions) into a [`PluginApi`].
//! - `load.rs`: one library from path and pin to a [`LoadedPlugin`]
//!   (sealed copy, `dlopen`, entry symbol), never unloaded; `verify.rs`: the
//!   file checks and the hash before it; `pin.rs`: the SHA-256 pin.
//! - `configured.rs`: the `[[plugins]]` tables loaded into [`InstanceSpec`]s;
//!   a plugin that fails to load is reported and left out, never fatal.
//! - `runtime.rs`: [`PluginHost`]: starts the instances ([`InstanceSpec`]),
//!   forwards commands, reports [`InstanceStatus`], shuts them down; the
//!   bounded channel of [`PluginReading`]s.
//! - `supervisor.rs`: one tokio task per instance: when to call what, the
//!   deadline of each call (wedged past it), backoff on errors, UNSUPPORTED
//!   meaning poll-only or push-only.
//! - `instance.rs`: the instance's own thread, which makes the C calls and
//!   opens and closes its emit gate around them.
//! - `host_api.rs`: the `HostApi` table each instance gets (`emit`, `log`,
//!   `now_ns`), leaked on purpose; emit never blocks. (`BenchHostApi`: the
//!   same table without a plugin, for `edge-bench plugins`.)
//! - `validate.rs`: an emitted reading checked against the ABI's limits and
//!   copied, or a [`Rejection`] reason.
//! - `status.rs`: [`InstanceState`], the per-instance counters.

mod configured;
mod descriptor;
mod host_api;
mod instance;
mod load;
mod pin;
mod runtime;
mod status;
mod supervisor;
mod validate;
mod verify;

pub use configured::{load_configured, LoadFailure, PluginEntry};
pub use descriptor::{DescriptorError, PluginApi};
#[doc(hidden)]
pub use host_api::BenchHostApi;
pub use host_api::MAX_LOG_LEN;
pub use load::{inspect, load, LoadError, LoadRequest, LoadedPlugin};
pub use pin::{parse_sha256_hex, sha256_hex, Pin};
pub use runtime::{CommandError, InstanceSpec, PluginHost, DEFAULT_CHANNEL_CAPACITY};
pub use status::{CounterSnapshot, InstanceState, InstanceStatus, PluginCall};
pub use validate::{validate, PluginReading, Rejection, MAX_FUTURE_NS, OLDEST_TIMESTAMP_NS};
