//! The plugin host: loads sensor plugins (shared libraries speaking the C ABI
//! of `edge-agent-sdk`), drives each instance from its own thread, and feeds
//! what they emit into the durable queue.
//!
//! - `descriptor.rs`: the descriptor a plugin's entry symbol returns, checked
//!   (magic, ABI, size, required functions) into a [`PluginApi`].

mod descriptor;

pub use descriptor::{DescriptorError, PluginApi};
