//! HTTP through the module's embedded client (application note chapter 7),
//! one folder for the feature:
//!
//! - `commands.rs`: one typed struct per `+UHTTP*` command, each doc naming
//!   the note's section;
//! - `response.rs`: the status line, headers and body the module relays.

pub mod commands;
pub mod response;

pub use commands::*;
pub use response::{HttpResponse, ResponseError};
