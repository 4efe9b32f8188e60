//! Power: what lets the module sleep, and what wakes the agent.
//!
//! - [`sockets`]: the module's sockets against the always-on rules of §5.10,
//!   what blocks deep sleep, and closing what a window opened.
//! - [`doorbell`]: an always-on socket a server rings to wake the agent.

pub mod doorbell;
pub mod sockets;
