//! The plugin SDK of edge-agent.
//!
//! Sensor plugins are shared libraries that the agent loads at run time. Only
//! C ABI crosses that boundary: `#[repr(C)]` types, `extern "C"` functions,
//! borrowed byte slices with lengths, no shared allocator and no panics.
//! `README.md` next to this crate is the plugin author's guide.
//!
//! - [`abi`]: the boundary itself, the `#[repr(C)]` types and constants that
//!   `include/edge_agent_plugin.h` declares for C.
//! - [`plugin`]: the [`Plugin`] trait a Rust plugin implements and its
//!   [`Error`].
//! - [`host`]: [`Host`], the plugin's handle on the host's functions (emit,
//!   log, clock), and the [`Reading`] builder.
//! - `export`: the [`export_plugin!`] macro and the panic-catching C shims
//!   it points the descriptor at.

pub mod abi;
#[doc(hidden)]
pub mod export;
pub mod host;
pub mod plugin;

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod header_tests;
#[cfg(test)]
mod panic_strategy_tests;

pub use abi::{ABI_MAJOR, ABI_MINOR};
pub use host::{EmitStatus, Host, Level, Reading, Value};
pub use plugin::{Error, Plugin};
