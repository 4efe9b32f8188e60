//! Power management of the module: who keeps it awake, what state it is in,
//! how to get it back from deep sleep.
//!
//! - [`manager`]: [`PowerManager`], the one owner of the module's sleep
//!   settings (`+UPSV`, the vote level, the sleep URCs) and of its votes; it
//!   tracks `+UUSLPURC` into a [`PowerStatus`] others can watch.
//! - [`guard`]: [`AwakeGuard`], the proof that the module is voted awake.
//! - [`state`]: the pure power-state machine behind [`PowerStatus`].
//! - [`restore`]: [`restore_after_deep_sleep`]: start-up settings, sleep
//!   settings and the MQTT profile from NVM, after the module lost them.
//! - [`wake`]: the configured wake action (GPIO pulse, command, or the
//!   simulator's line), then sacrificial `AT`s; [`gpio`] holds the Linux
//!   GPIO character device's uAPI.
//!
//! **Invariant: awake is a guard.** Code that needs the module awake holds
//! an [`AwakeGuard`] from [`PowerManager::acquire`]. The manager votes down
//! (`AT+USLPVOTE=0,0`) before the first guard is handed out and up
//! (`AT+USLPVOTE=0,1`) after the last one drops. No other code sends
//! `+USLPVOTE`: `grep -rn 'Vote::\|ConfigureVote' agent/src` finds only
//! `power/guard.rs`, `power/manager.rs` and the command's own file.

pub mod gpio;
pub mod guard;
pub mod manager;
pub mod restore;
pub mod state;
pub mod wake;

pub use guard::AwakeGuard;
pub use manager::PowerManager;
pub use restore::{restore_after_deep_sleep, RestoreError};
pub use state::{PowerEvent, PowerState, PowerStatus};
pub use wake::{WakeError, WakeLine, Waker};

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
