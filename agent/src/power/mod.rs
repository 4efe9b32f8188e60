//! Power management of the module: who keeps it awake, what state it is in,
//! how to get it back from deep sleep, what lets it sleep, and what wakes
//! the agent.
//!
//! - [`manager`]: [`PowerManager`], the one owner of the module's sleep
//!   settings (`+UPSV`, the vote level, the sleep URCs) and of its votes; it
//!   tracks `+UUSLPURC` into a [`PowerStatus`] others can watch.
//! - [`guard`]: [`AwakeGuard`], the proof that the module is voted awake.
//! - [`state`]: the pure power-state machine behind [`PowerStatus`].
//! - [`restore`]: [`restore_after_deep_sleep`]: start-up settings, sleep
//!   settings and the uplink's profile (MQTT's from NVM, HTTP's checked or
//!   armed again), after the module lost them.
//! - [`wake`]: the configured wake action (GPIO pulse, command, or the
//!   simulator's line), then sacrificial `AT`s; [`gpio`] holds the Linux
//!   GPIO character device's uAPI.
//! - [`doorbell`]: an always-on socket a server rings to wake the agent.
//!
//! **Invariant: awake is a guard.** Code that needs the module awake holds
//! an [`AwakeGuard`] from [`PowerManager::acquire`]. The manager votes down
//! (`AT+USLPVOTE=0,0`) before the first guard is handed out and up
//! (`AT+USLPVOTE=0,1`) after the last one drops. No other code sends
//! `+USLPVOTE`: votes are sent only from `power/guard.rs`, the vote level
//! only from `power/manager.rs`, and the test
//! `no_code_outside_the_power_manager_sends_sleep_votes` fails the build's
//! tests if any other file under `agent/src` spells either.

pub mod doorbell;
pub mod gpio;
pub mod guard;
pub mod manager;
pub mod restore;
pub mod state;
pub mod wake;

pub use guard::AwakeGuard;
pub use manager::{PowerManager, PowerSettings};
pub use restore::{restore_after_deep_sleep, RestoreError, UplinkProfile};
pub use state::{PowerEvent, PowerState, PowerStatus};
pub use wake::{WakeAction, WakeError, WakeLine, Waker};

use crate::modem::at::AtError;

/// A vote or a sleep setting could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    #[error("sleep vote: {0}")]
    Vote(#[source] AtError),
    #[error("power saving settings: {0}")]
    Configure(#[source] AtError),
}

#[cfg(test)]
mod tests;
