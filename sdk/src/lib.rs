//! The plugin SDK of edge-agent.
//!
//! Sensor plugins are shared libraries that the agent loads at run time. Only
//! C ABI crosses that boundary: `#[repr(C)]` types, `extern "C"` functions,
//! borrowed byte slices with lengths, no shared allocator and no panics.
//!
//! - [`abi`]: the boundary itself, the `#[repr(C)]` types and constants that
//!   `include/edge_agent_plugin.h` declares for C.

pub mod abi;

pub use abi::{ABI_MAJOR, ABI_MINOR};
