//! TLS through the module (application note chapter 3), one folder for the
//! feature:
//!
//! - `commands.rs`: one typed struct per `+USECMNG` / `+USECPRF` command,
//!   each doc naming the note's section.

pub mod commands;

pub use commands::*;
