//! The module's own TCP/UDP sockets (application note chapter 5), one
//! folder for the feature:
//!
//! - `commands.rs`: one typed struct per `+USO*` command, each doc naming
//!   the note's section;
//! - `table.rs`: [`SocketTable`], the pure core: what is open, what is
//!   always-on (§5.10) and what keeps the module out of deep sleep;
//! - `manager.rs`: [`SocketManager`], the table driven on the module.
//!
//! The doorbell (`power/doorbell.rs`) is a socket kept across sleep through
//! the manager.

pub mod commands;
pub mod manager;
pub mod table;

pub use commands::*;
pub use manager::SocketManager;
pub use table::{AonDisagreement, Blocker, Role, SocketState, SocketTable};

#[cfg(test)]
mod tests;
