//! [`PowerManager`]: configures the module's sleep (`+UPSV`, the vote
//! level, the sleep URCs), hands out [`AwakeGuard`]s, and tracks the power
//! state from `+UUSLPURC` into a [`PowerStatus`] the agent can watch.
//!
//! It owns two tasks: the vote-up task (a dropped last guard nudges it, see
//! `guard.rs` for the ordering) and the URC monitor. Both end on their own:
//! the first when the last handle and guard are gone, the second when the
//! port closes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::guard::{AwakeGuard, ModuleVote, Votes};
use super::state::{PowerEvent, PowerStatus};
use super::PowerError;
use crate::modem::at::{AtClient, AtError};
use crate::modem::power::{
    ConfigureVote, DeepSleep, PowerSaving, ReadUsbProfile, SetPowerSaving, SetSleepUrc,
    SetUsbProfile, SleepMode, USB_OFF,
};

/// What `[modem.power]` asks of the module's sleep (`config` builds it,
/// with `deepest` already resolved to its default where it was not set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerSettings {
    /// Power saving on (`AT+UPSV=1,...`) and votes around every use.
    pub enabled: bool,
    /// Idle time before the module sleeps.
    pub sleep_timeout: Duration,
    /// The deepest state allowed.
    pub deepest: SleepMode,
    /// The shallowest state a vote down blocks.
    pub vote_level: SleepMode,
    /// Turn the module's USB off for Sleep-2/Hibernate.
    pub usb_off: bool,
}

impl Default for PowerSettings {
    /// Power saving on, 5 s, Sleep-1 at most (what UART bytes wake), votes
    /// blocking every sleep state, USB off.
    fn default() -> Self {
        PowerSettings {
            enabled: true,
            sleep_timeout: Duration::from_secs(5),
            deepest: SleepMode::Sleep1,
            vote_level: SleepMode::Sleep1,
            usb_off: true,
        }
    }
}

/// A handle to the power manager. Cheap to clone; every clone and every
/// guard share one vote count.
#[derive(Debug, Clone)]
pub struct PowerManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    votes: Arc<Votes>,
    nudge: mpsc::UnboundedSender<()>,
    status: Arc<watch::Sender<PowerStatus>>,
    /// The USB profile needs no more attention in this process: it was
    /// found or set to 99 (it is kept in NVM, so deep sleep and reboots do
    /// not undo it, and asking again at every wake would be needless AT
    /// traffic), or the module refused `AT+UUSBCONF?` (a firmware without
    /// it; warned about once).
    usb_settled: AtomicBool,
    /// The "deep sleep needs USB off" warning was given.
    usb_on_warned: AtomicBool,
}

impl PowerManager {
    /// Starts the manager on `at`. Subscribes to URCs at once, so no sleep
    /// URC after this call is missed. Must be called inside a tokio runtime.
    /// Sends nothing: [`PowerManager::configure`] does.
    pub fn new(at: AtClient) -> PowerManager {
        let votes = Arc::new(Votes::new(at.clone()));
        let (nudge, mut nudged) = mpsc::unbounded_channel::<()>();
        let (status, _) = watch::channel(PowerStatus::default());
        let status = Arc::new(status);

        let voter = Arc::clone(&votes);
        tokio::spawn(async move {
            while nudged.recv().await.is_some() {
                if let Err(e) = voter.settle().await {
                    warn!(error = %e, "vote up failed; the next release tries again");
                }
            }
        });

        let mut urcs = at.subscribe();
        let monitor = Arc::clone(&status);
        tokio::spawn(async move {
            while let Some(urc) = urcs.recv().await {
                let mut event = None;
                monitor.send_if_modified(|s| {
                    event = s.handle_urc(&urc);
                    event.is_some()
                });
                if let Some(event) = event {
                    log_event(event);
                }
            }
        });

        PowerManager {
            inner: Arc::new(Inner {
                votes,
                nudge,
                status,
                usb_settled: AtomicBool::new(false),
                usb_on_warned: AtomicBool::new(false),
            }),
        }
    }

    /// Keeps the module awake until the guard drops. The first guard votes
    /// down, and this returns only once the module answered that vote.
    pub async fn acquire(&self) -> Result<AwakeGuard, PowerError> {
        self.inner.votes.add();
        // Made before the vote, so a failed or cancelled acquire releases
        // its count through the guard's drop.
        let guard = AwakeGuard {
            manager: self.clone(),
        };
        self.inner.votes.ensure_down().await?;
        Ok(guard)
    }

    /// Guards alive (and being acquired).
    pub fn guards(&self) -> usize {
        self.inner.votes.count()
    }

    pub(super) fn release(&self) {
        if self.inner.votes.remove() {
            // The task is gone only when every handle is; then nobody is
            // left to vote for, and the port is likely closed too.
            let _ = self.inner.nudge.send(());
        }
    }

    /// Sends a vote up now if no guard exists and one is still due (e.g.
    /// before the agent exits, so a queued vote up is not lost).
    pub async fn settle(&self) -> Result<(), PowerError> {
        self.inner.votes.settle().await
    }

    /// Applies the sleep settings of `config`: `AT+UPSV`, then (when power
    /// saving is on) the vote level, the sleep URCs the deepest state can
    /// report and, with `usb_off`, USB off. Run at start-up and after every
    /// loss of volatile state.
    ///
    /// `[model]`: all of these are treated as volatile (the note says the
    /// vote level is "needed only for the first configuration", ubxlib does
    /// not say whether `+UPSV` survives deep sleep); re-sending them costs
    /// four commands per wake from deep sleep, a lost setting costs the
    /// battery. Nothing is read back first: a read costs as much as a write.
    /// The USB profile is the exception: it lives in the module's NVM, so
    /// it is read once per agent process and written only when it differs
    /// ([`Self::ensure_usb_off`]).
    ///
    /// Afterwards the module's vote matches the guards: down if any guard
    /// exists (the vote level was just reset, so the vote is re-sent), up if
    /// none (an earlier agent process may have exited voted down).
    pub async fn configure(&self, config: &PowerSettings) -> Result<(), PowerError> {
        let votes = &self.inner.votes;
        let at = votes.client();
        let mut module = votes.module.lock().await;
        let saving = if config.enabled {
            PowerSaving::On {
                timeout: config.sleep_timeout,
                deepest: config.deepest,
            }
        } else {
            PowerSaving::Off
        };
        at.send(&SetPowerSaving(saving))
            .await
            .map_err(PowerError::Configure)?;
        votes.set_voting(config.enabled);
        if !config.enabled {
            info!("power saving off: the module never sleeps");
            return Ok(());
        }
        *module = ModuleVote::Unknown;
        at.send(&ConfigureVote {
            level: config.vote_level,
        })
        .await
        .map_err(PowerError::Configure)?;
        for state in [DeepSleep::Sleep2, DeepSleep::Hibernate] {
            if config.deepest >= state.mode() {
                at.send(&SetSleepUrc {
                    state,
                    enabled: true,
                })
                .await
                .map_err(PowerError::Configure)?;
            }
        }
        // USB off matters only for Sleep-2/Hibernate (`[lib]`); at Sleep-1
        // the module's USB is left as it is.
        if config.usb_off && config.deepest > SleepMode::Sleep1 {
            self.ensure_usb_off(at).await?;
        } else if config.deepest > SleepMode::Sleep1
            && !self.inner.usb_on_warned.swap(true, Ordering::Relaxed)
        {
            warn!(
                deepest = config.deepest.name(),
                "modem.power.usb_off is false: a module whose USB is connected sleeps no \
                 deeper than Sleep-1, since Sleep-2/Hibernate need USB off"
            );
        }
        self.inner.status.send_modify(PowerStatus::configured);
        if votes.count() > 0 {
            votes.down_locked(&mut module).await?;
        } else {
            votes.up_locked(&mut module).await?;
        }
        debug!(
            timeout = ?config.sleep_timeout,
            deepest = config.deepest.name(),
            vote_level = config.vote_level.name(),
            "module sleep configured"
        );
        Ok(())
    }

    /// `AT+UUSBCONF=99` unless the module already holds it. Read first: the
    /// profile is in NVM, and a gateway that reboots thousands of times
    /// must not write its flash each time (as `modem::boot` does for the
    /// MNO profile and APN). A module that answers the read with an error
    /// has no such setting: warned about once, never fatal (it can still
    /// sleep if its USB is not connected). A module that does not answer
    /// at all fails the configure, as any other setting would.
    async fn ensure_usb_off(&self, at: &AtClient) -> Result<(), PowerError> {
        if self.inner.usb_settled.load(Ordering::Relaxed) {
            return Ok(());
        }
        let profile = match at.send(&ReadUsbProfile).await {
            Ok(profile) => profile,
            Err(e) if module_refused(&e) => {
                self.inner.usb_settled.store(true, Ordering::Relaxed);
                warn!(
                    error = %e,
                    "the module does not know AT+UUSBCONF; USB left as it is (if it is \
                     connected, the module cannot reach Sleep-2/Hibernate)"
                );
                return Ok(());
            }
            Err(e) => return Err(PowerError::Configure(e)),
        };
        if profile != USB_OFF {
            at.send(&SetUsbProfile(USB_OFF))
                .await
                .map_err(PowerError::Configure)?;
            info!(
                was = profile,
                "module USB turned off (AT+UUSBCONF=99) for deep sleep"
            );
        }
        self.inner.usb_settled.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The power state and whether a restore is due, as it changes.
    pub fn watch(&self) -> watch::Receiver<PowerStatus> {
        self.inner.status.subscribe()
    }

    pub fn status(&self) -> PowerStatus {
        *self.inner.status.borrow()
    }

    /// Whoever rebooted the module (or saw it reboot) says so here.
    pub fn note_reboot(&self) {
        let mut event = None;
        self.inner
            .status
            .send_modify(|s| event = Some(s.rebooted()));
        if let Some(event) = event {
            log_event(event);
        }
    }

    pub(super) fn note_restored(&self) {
        self.inner.status.send_modify(|s| {
            s.restored();
        });
    }
}

/// The module answered, and the answer was no: as opposed to not answering.
fn module_refused(e: &AtError) -> bool {
    matches!(
        e,
        AtError::Error { .. } | AtError::Cme { .. } | AtError::Parse { .. }
    )
}

fn log_event(event: PowerEvent) {
    match event {
        PowerEvent::EnteredDeepSleep(s) => {
            info!(state = s.mode().name(), "module entered deep sleep")
        }
        PowerEvent::LeftDeepSleep(s) => info!(
            state = s.mode().name(),
            "module left deep sleep; its settings must be restored"
        ),
        PowerEvent::Rebooted => info!("module rebooted; its settings must be restored"),
        PowerEvent::Restored => debug!("module settings restored"),
    }
}
