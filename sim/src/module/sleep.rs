//! The power-saving state machine: Active, Idle, Sleep-1, Sleep-2,
//! Hibernate (`+UPSV`, `+USLPVOTE`, `+USLPURC`/`+UUSLPURC`). Issue 6; the
//! seams other chapters use are fixed here first.

use std::time::Instant;

use super::Module;

/// How deep the module may sleep as far as one part of it is concerned
/// (sockets, the MQTT client, votes). Ordered from shallowest: the module
/// sleeps no deeper than the smallest limit any part reports.
#[allow(dead_code)] // constructed by the sleep machine and sockets (issue 6)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SleepLimit {
    /// Must stay awake (Active/Idle only).
    Awake,
    /// Sleep-1 at most (state kept).
    Sleep1,
    /// Sleep-2 or Hibernate allowed.
    Deep,
}

impl Module {
    /// Data arrived from the network for an always-on socket: a sleeping
    /// module wakes (§5.10.2 "Read scenario"). The socket chapter calls it.
    #[allow(dead_code)] // the sleep machine lands with issue 6
    pub(super) fn wake_for_network_data(&mut self, _now: Instant) {}
}
