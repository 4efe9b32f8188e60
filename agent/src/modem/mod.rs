//! The LEXI-R10 seen from the host.
pub mod at;
