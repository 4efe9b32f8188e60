//! HTTP through the module's embedded client (application note chapter 7),
//! one folder for the feature:
//!
//! - `commands.rs`: one typed struct per `+UHTTP*` command, each doc naming
//!   the note's section;
//! - `profile.rs`: the profile the agent declares, written to the module's
//!   NVM only when its digest changed, else loaded and armed; kept armed
//!   after deep sleep;
//! - `session.rs`: one POST per message, in direct link or through the
//!   module's files (`modem/fs.rs`), its completion URC awaited;
//! - `response.rs`: the status line, headers and body the module relays.
//!
//! What `[uplink.http]` says is turned into a profile and request options
//! by `config`; the uplink judges the responses (`uplink/http.rs`).

pub mod commands;
pub mod profile;
pub mod response;
pub mod session;

pub use commands::*;
pub use profile::{HttpProfile, HTTP_PROFILE_ID};
pub use response::{HttpResponse, ResponseError};
pub use session::{HttpOptions, HttpSession, PostError, PostMethod};
