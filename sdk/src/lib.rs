//! The plugin ABI of edge-agent.
//!
//! Sensor plugins are shared libraries that the agent loads at run time. Only
//! C ABI crosses that boundary: `#[repr(C)]` types, `extern "C"` functions,
//! borrowed byte slices with lengths, no shared allocator and no panics.
//!
//! The descriptor, the host function table, the safe `Plugin` trait, the
//! `export_plugin!` macro and the C header are defined by the plugin-host work
//! (issue 5). Until then this crate only fixes the ABI version numbers that the
//! entry symbol's name and the descriptor will carry.

/// Major ABI version: part of the entry symbol's name, so an incompatible
/// plugin looks like a missing symbol rather than a misread struct.
pub const ABI_MAJOR: u32 = 1;

/// Minor ABI version: structures only grow at their end between minors.
pub const ABI_MINOR: u32 = 0;
