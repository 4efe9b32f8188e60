//! Waking the module for a window: the wake action if it is in deep sleep
//! (UART bytes alone do not wake it), else one `AT` whose echo reveals an
//! unannounced reboot; the vote down; the restore of what deep sleep or a
//! reboot made it forget (the MQTT profile reloaded from NVM, never
//! rewritten unless the config changed; the HTTP profile, which the module
//! reloads itself after deep sleep, checked, and armed again after a
//! reboot); the module's socket list after
//! either, and the doorbell opened again if it is gone. A module that does
//! not answer is reported once, with the setting that most likely explains
//! it. Invariant: the doorbell is (re)opened only while a guard is held.

use tracing::{info, warn};

use crate::modem::at::AtError;
use crate::power::doorbell::Doorbell;
use crate::power::{restore_after_deep_sleep, AwakeGuard, PowerError, RestoreError, WakeError};

use super::Agent;

/// Why a window could not get the module awake and ready; the window is
/// retried with backoff, like a failed login.
#[derive(Debug, thiserror::Error)]
pub(super) enum WakeForWindowError {
    #[error(transparent)]
    Wake(#[from] WakeError),
    #[error("the module does not answer: {0}")]
    NoAnswer(#[from] AtError),
    #[error(transparent)]
    Vote(#[from] PowerError),
    #[error("cannot restore the module's settings after deep sleep: {0}")]
    Restore(#[from] RestoreError),
    #[error("cannot restore the TLS security profile: {0}")]
    Security(#[from] crate::modem::security::SecurityError),
}

impl WakeForWindowError {
    /// The module did not answer (as opposed to a failing wake program or
    /// a refused command): the failure a wrong power setup causes.
    pub(super) fn is_silence(&self) -> bool {
        matches!(
            self,
            WakeForWindowError::NoAnswer(_) | WakeForWindowError::Wake(WakeError::NoAnswer(_))
        )
    }
}

/// What to tell an operator whose module stopped answering between windows:
/// which setting most likely explains it.
pub(super) fn silence_advice(power: &crate::config::PowerConfig) -> String {
    use crate::config::WakeKind;
    let deepest = power.deepest().name();
    match power.wake.kind {
        WakeKind::None => format!(
            "the module does not answer after sleeping (modem.power.deepest = \"{deepest}\", \
             modem.power.wake.kind = \"none\"): UART bytes wake it only from Sleep-1; if it \
             sleeps deeper, configure [modem.power.wake] (a GPIO line or a command wired to \
             its PWR_ON) or set modem.power.deepest = \"sleep1\"; else check the serial line \
             and the module's power supply"
        ),
        kind => format!(
            "the module does not answer after the wake action (modem.power.wake.kind = \
             \"{}\"): check that the wake line is wired to its PWR_ON (and `active_low`), \
             that the wake program really pulses it, and the module's power supply",
            match kind {
                WakeKind::Gpio => "gpio",
                _ => "command",
            }
        ),
    }
}

impl Agent<'_> {
    /// Gets the module ready for a window and keeps it awake: the wake
    /// action if it is in deep sleep (UART bytes alone do not wake it),
    /// `AT`s until it answers (Sleep-1 loses the first bytes), the vote
    /// down, and, if deep sleep or a reboot cost it its volatile settings,
    /// their restore (the uplink's profile back, never rewritten unless the
    /// config changed); then the doorbell, if it was lost.
    pub(super) async fn wake_for_window(&mut self) -> Result<AwakeGuard, WakeForWindowError> {
        let power_settings = self.config.modem.power.settings();
        if power_settings.enabled && self.power.status().state.is_deep_sleep() {
            self.waker.wake(&self.at).await?;
        } else {
            // One `AT` even when the module should be awake: it wakes a
            // module in Sleep-1 (which loses the first bytes), and its echo
            // tells whether the module rebooted since the last window.
            self.at.sync().await?;
        }
        // Echo is back on: the module forgot `ATE0`, and with it every
        // volatile setting and the profile it had loaded. Deep sleep does
        // that too, and the sleep URC said so; a reboot also closes every
        // socket, the always-on ones included.
        let forgot = self.at.echoes_seen() > self.echo_baseline;
        let rebooted = forgot && !self.power.status().needs_restore;
        if rebooted {
            warn!("the module has lost its settings (an unannounced reboot?); restoring them");
            self.power.note_reboot();
        }
        let awake = self.power.acquire().await?;
        if self.power.status().needs_restore {
            let restored = restore_after_deep_sleep(
                &awake,
                &self.at,
                &power_settings,
                self.queue.store(),
                self.uplink.restore_profile(rebooted),
            )
            .await?;
            info!(?restored, "module settings restored");
            // The security profile is volatile too (§3.2).
            if let Some(tls) = self.tls.as_mut() {
                tls.restore(&self.at).await?;
            }
        }
        self.echo_baseline = self.at.echoes_seen();
        if forgot {
            self.check_sockets(rebooted).await;
        }
        if let Err(e) = self.learn_time().await {
            warn!(error = %e, "cannot restamp the queue's readings");
        }
        self.open_doorbell().await;
        Ok(awake)
    }

    /// After the module lost its volatile state: which sockets survived?
    /// Always-on ones survive deep sleep, none survives a reboot, and a
    /// reboot during deep sleep looks like deep sleep: with a doorbell to
    /// keep, the module's own list (`+USOCR?`) decides; without one, the
    /// table is emptied on a reboot.
    async fn check_sockets(&mut self, rebooted: bool) {
        let Some(bell) = &self.doorbell else {
            if rebooted {
                self.sockets.forget_all();
            }
            return;
        };
        if let Err(e) = self.sockets.reconcile().await {
            warn!(error = %e, "could not list the module's sockets");
            return;
        }
        if self.sockets.table().get(bell.socket()).is_none() {
            warn!(
                socket = bell.socket(),
                "the doorbell's socket is gone; opening it again"
            );
            self.doorbell = None;
        }
    }

    /// Opens the doorbell if this run keeps one and it is not open. Called
    /// only while the module is voted awake.
    pub(super) async fn open_doorbell(&mut self) {
        if !self.windows.keeps_doorbell() || self.doorbell.is_some() {
            return;
        }
        // The doorbell is the first socket of its protocol, so it is
        // always-on (§5.10): a server can wake the gateway through it from
        // deep sleep.
        let opened = match self.config.doorbell.settings(&self.device_id) {
            Ok(settings) => Doorbell::open(&mut self.sockets, &settings).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(bell) => self.doorbell = Some(bell),
            Err(e) => warn!(
                error = %e,
                "no doorbell: the gateway is reachable only in its windows; trying again in the next"
            ),
        }
    }
}
