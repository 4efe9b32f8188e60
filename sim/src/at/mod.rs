//! The module side of the AT interface: bytes to lines ([`mod@line`]), lines to
//! commands ([`parse`]), and the framing of everything sent back ([`reply`]).
//!
//! Independent of the agent's codec on purpose (see the crate doc).

pub mod line;
pub mod parse;
pub mod reply;
