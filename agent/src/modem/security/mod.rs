//! TLS through the module (application note chapter 3), one folder for the
//! feature:
//!
//! - `commands.rs`: one typed struct per `+USECMNG` / `+USECPRF` command,
//!   each doc naming the note's section;
//! - `provision.rs`: the credentials in the module's NVM (imported only
//!   when they changed) and the volatile security profile;
//! - `session.rs`: the session data of the last handshake, kept in the
//!   store across reboots so the next connection resumes.

pub mod commands;
pub mod provision;
pub mod session;

pub use commands::*;
pub use provision::{
    apply_profile, ensure_credentials, remove_stale_credentials, Credential, CredentialsReport,
    Resumption, SecurityError, SecurityProfile, TlsSettings, CREDENTIAL_PREFIX,
};
pub use session::{SessionCache, Stored};
