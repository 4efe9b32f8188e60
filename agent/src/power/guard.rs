//! [`AwakeGuard`] and the vote bookkeeping behind it: the only code that
//! sends `AT+USLPVOTE=0,<0|1>`.
//!
//! Two locks, with one rule each:
//! - `guards` (a plain mutex, never held across an await) counts the
//!   guards alive and being acquired; [`Drop`] can update it synchronously.
//! - `module` (an async mutex) is held for every vote sent and records what
//!   the module holds. Votes are only sent with it held.
//!
//! Ordering guarantees, and why they hold:
//! - A guard is handed out only after `AT+USLPVOTE=0,0` was answered `OK`
//!   (or was already the module's vote): [`Votes::ensure_down`] runs under
//!   `module` after the count went up.
//! - A vote up is never sent while a guard exists: it is sent only under
//!   `module` and only if the count is 0 at that moment; a guard being
//!   acquired meanwhile waits for `module` and, finding the vote up, votes
//!   down again before it is handed out.
//! - Dropping the last guard queues a vote up (a nudge to the manager's
//!   task). An acquire that wins the race to `module` finds the module
//!   voted down and sends nothing: the queued vote up then finds a guard
//!   and is cancelled. So acquire/drop/acquire ends voted down, and no two
//!   equal votes are sent in a row while the module answers. The one
//!   deliberate exception: `PowerManager::configure` under a guard re-sends
//!   the vote down after `AT+USLPVOTE=1,<level>`, which may reset it.
//! - A vote that fails (timeout) leaves the module's vote unknown; the next
//!   acquire votes down and the next release votes up whatever was there.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Mutex as AsyncMutex;

use super::manager::PowerManager;
use super::PowerError;
use crate::modem::at::AtClient;
use crate::modem::power::Vote;

/// Proof that the module is voted awake. Hold it for as long as the module
/// must not sleep: a profile change, a session, a command sequence whose
/// replies matter. Get one from [`PowerManager::acquire`]; drop it when done.
#[derive(Debug)]
#[must_use = "the module may sleep as soon as the guard is dropped"]
pub struct AwakeGuard {
    pub(super) manager: PowerManager,
}

impl AwakeGuard {
    /// The manager that handed the guard out (to configure or restore while
    /// holding it).
    pub fn manager(&self) -> &PowerManager {
        &self.manager
    }
}

impl Drop for AwakeGuard {
    fn drop(&mut self) {
        self.manager.release();
    }
}

/// What the module holds, as far as the agent knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ModuleVote {
    Unknown,
    Down,
    Up,
}

/// The guard count and the module's vote.
#[derive(Debug)]
pub(super) struct Votes {
    at: AtClient,
    /// With power saving off nothing sleeps: guards are only counted.
    voting: Mutex<bool>,
    guards: Mutex<usize>,
    pub(super) module: AsyncMutex<ModuleVote>,
}

impl Votes {
    pub(super) fn new(at: AtClient) -> Votes {
        Votes {
            at,
            voting: Mutex::new(true),
            guards: Mutex::new(0),
            module: AsyncMutex::new(ModuleVote::Unknown),
        }
    }

    pub(super) fn client(&self) -> &AtClient {
        &self.at
    }

    fn lock_count(&self) -> MutexGuard<'_, usize> {
        // Nothing panics while holding it; if something did, the count is
        // still the best there is.
        self.guards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn count(&self) -> usize {
        *self.lock_count()
    }

    pub(super) fn add(&self) {
        *self.lock_count() += 1;
    }

    /// Returns true when this was the last guard.
    pub(super) fn remove(&self) -> bool {
        let mut n = self.lock_count();
        *n = n.saturating_sub(1);
        *n == 0
    }

    pub(super) fn voting(&self) -> bool {
        *self.voting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_voting(&self, on: bool) {
        *self.voting.lock().unwrap_or_else(PoisonError::into_inner) = on;
    }

    /// Votes down unless the module already is. Called with a guard counted.
    pub(super) async fn ensure_down(&self) -> Result<(), PowerError> {
        let mut module = self.module.lock().await;
        self.down_locked(&mut module).await
    }

    pub(super) async fn down_locked(&self, module: &mut ModuleVote) -> Result<(), PowerError> {
        if !self.voting() || *module == ModuleVote::Down {
            return Ok(());
        }
        // Unknown until answered: a cancelled or failed send may or may
        // not have reached the module.
        *module = ModuleVote::Unknown;
        self.at.send(&Vote::Down).await.map_err(PowerError::Vote)?;
        *module = ModuleVote::Down;
        Ok(())
    }

    /// Votes up if no guard exists and the module is not voted up already.
    pub(super) async fn settle(&self) -> Result<(), PowerError> {
        let mut module = self.module.lock().await;
        self.up_locked(&mut module).await
    }

    pub(super) async fn up_locked(&self, module: &mut ModuleVote) -> Result<(), PowerError> {
        if !self.voting() || self.count() > 0 || *module == ModuleVote::Up {
            return Ok(());
        }
        *module = ModuleVote::Unknown;
        self.at.send(&Vote::Up).await.map_err(PowerError::Vote)?;
        *module = ModuleVote::Up;
        Ok(())
    }
}
