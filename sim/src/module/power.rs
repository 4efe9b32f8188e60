//! Power and boot: power-on, `AT+CFUN=16`, unannounced reset, power cut.
//!
//! While booting (`boot_time`, `[lib]` ~6 s) or off, everything the host sends
//! is dropped and nothing is sent. A boot resets all volatile state (echo on,
//! CMEE 0, CEREG/CSCON n = 0, SIM locked again if it has a PIN, pending DNS and
//! pings cancelled, registration lost), keeps NVM, and puts the NVM settings
//! that "take effect after reboot" (MNO profile, default PDP) into effect,
//! and restarts the clock at its default date (`clock.rs`).
//! `[lib]` LEXI-R10 sends no boot URC (ubxlib polls with `AT`); an optional
//! `[model]` `boot_greeting` is sent when boot completes.

use std::time::Instant;

use super::network::Radio;
use super::timers::TimerKind;
use super::{Effect, InEffect, Module, Session};

/// Whether the module is powered and answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    /// No power: silent until power-on.
    Off,
    /// Powered, not answering yet.
    Booting,
    /// Answering AT commands.
    Ready,
}

impl Module {
    /// Starts a boot from `now`; volatile state is gone from this instant.
    pub(super) fn begin_boot(&mut self, now: Instant) {
        self.lose_volatile_state();
        self.power = PowerState::Booting;
        self.in_effect = InEffect {
            mno_profile: self.nvm.mno_profile,
            default_pdp: self.nvm.default_pdp,
        };
        self.clock = super::clock::Rtc::after_boot(now);
        self.timers.set(TimerKind::Boot, now, self.timing.boot);
    }

    /// The boot timer fired: answer from now on, radio on, registration starts.
    pub(super) fn boot_complete(&mut self, now: Instant) {
        self.power = PowerState::Ready;
        if let Some(greeting) = self.cfg.boot_greeting.clone() {
            self.out.push(Effect::Send(greeting));
        }
        self.start_registration(now);
    }

    /// Control handle: unannounced reset. Output still queued (an answer in
    /// progress) is cut off. `[model]` a module without power stays off.
    pub(super) fn reset(&mut self, now: Instant) {
        if self.power == PowerState::Off {
            return;
        }
        self.out.push(Effect::DropPendingOutput);
        self.begin_boot(now);
    }

    /// Control handle: power cut.
    pub(super) fn power_off(&mut self) {
        self.out.push(Effect::DropPendingOutput);
        self.lose_volatile_state();
        self.power = PowerState::Off;
    }

    /// Control handle: PWR_ON. `[model]` ignored while the module is on.
    pub(super) fn power_on(&mut self, now: Instant) {
        if self.power == PowerState::Off {
            self.begin_boot(now);
        }
    }

    /// Forgets everything a reset or power cut loses. No URCs: the module is
    /// not talking while this happens.
    fn lose_volatile_state(&mut self) {
        self.session = Session::after_boot(self.cfg.sim_pin.is_some());
        self.radio = Radio::default();
        self.timers.clear();
        self.urcs.clear();
        self.reboot_after_answer = false;
        self.jobs.clear();
        // The MQTT session ends silently; the profile is volatile (§6.1.4).
        self.mqtt = super::mqtt::Client::default();
        // Sockets too; their jobs go with CancelAllJobs.
        self.sockets = super::socket::Sockets::default();
        // The HTTP client and open files too (the files are in NVM).
        self.http = super::http::Client::default();
        self.files = super::files::OpenFiles::default();
        // Power saving settings are volatile too [model] (see sleep.rs).
        self.sleep = super::sleep::Sleep::default();
        self.out.push(Effect::CancelAllJobs);
    }
}
