//! The plugin host: loads sensor plugins (shared libraries speaking the C ABI
//! of `edge-agent-sdk`), drives each instance from its own thread, and feeds
//! what they emit into the durable queue.
//!
//! - `descriptor.rs`: the descriptor a plugin's entry symbol returns, checked
//!   (magic, ABI, size, required functions) into a [`PluginApi`].
//! - `load.rs`: one library from path and pin to a [`LoadedPlugin`]
//!   (sealed copy, `dlopen`, entry symbol), never unloaded; `verify.rs`: the
//!   file checks and the hash before it; `pin.rs`: the SHA-256 pin.

mod descriptor;
mod load;
mod pin;
mod verify;

pub use descriptor::{DescriptorError, PluginApi};
pub use load::{inspect, load, LoadError, LoadRequest, LoadedPlugin};
pub use pin::{parse_sha256_hex, sha256_hex, Pin};
