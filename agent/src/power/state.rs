//! The module's power state as the agent knows it, and whether the module
//! still holds what the agent configured. Pure: URCs and notices in, the
//! new status and an event out; no I/O, no clock.
//!
//! The agent learns the state only from `+UUSLPURC` (§5.10.2), so it knows
//! Sleep-2 and Hibernate but not Sleep-1, which has no URC and keeps every
//! setting: while in Sleep-1 the state stays [`PowerState::Awake`].

use crate::modem::at::Urc;
use crate::modem::power::DeepSleep;

/// What the agent knows of the module's power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PowerState {
    /// Nothing heard yet (before the sleep URCs are enabled).
    #[default]
    Unknown,
    /// Awake or in Sleep-1 (which UART bytes wake and which loses nothing).
    Awake,
    /// In Sleep-2 (`+UUSLPURC: SLP2 1`).
    Sleep2,
    /// In Hibernate (`+UUSLPURC: HIB 1`).
    Hibernate,
}

impl PowerState {
    /// In a state that UART bytes do not wake: a wake action is needed.
    pub fn is_deep_sleep(self) -> bool {
        matches!(self, PowerState::Sleep2 | PowerState::Hibernate)
    }
}

/// What the rest of the agent watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PowerStatus {
    pub state: PowerState,
    /// The module lost its volatile settings (deep sleep or reboot) and
    /// [`super::restore_after_deep_sleep`] has not run since.
    pub needs_restore: bool,
    /// Deep sleeps entered since the agent started (for the heartbeat).
    pub deep_sleeps: u64,
}

/// A change worth telling about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerEvent {
    /// The module entered a deep-sleep state: its volatile state is gone.
    EnteredDeepSleep(DeepSleep),
    /// The module left a deep-sleep state; it must be restored before use.
    LeftDeepSleep(DeepSleep),
    /// The module rebooted (seen by whoever sent `AT+CFUN=16` or saw it
    /// answer like a freshly booted module).
    Rebooted,
    /// The agent restored the module's settings.
    Restored,
}

impl PowerStatus {
    /// Applies a URC; `None` for URCs that say nothing about power, and for
    /// repeats that change nothing.
    pub fn handle_urc(&mut self, urc: &Urc) -> Option<PowerEvent> {
        let Urc::Sleep { state, entered } = *urc else {
            return None;
        };
        let now = match state {
            DeepSleep::Sleep2 => PowerState::Sleep2,
            DeepSleep::Hibernate => PowerState::Hibernate,
        };
        if entered {
            if self.state == now {
                return None;
            }
            self.state = now;
            self.needs_restore = true;
            self.deep_sleeps += 1;
            Some(PowerEvent::EnteredDeepSleep(state))
        } else {
            // Leaving a state the agent did not see entered (the URC was
            // lost, or the agent started while the module slept) still means
            // the volatile state is gone: trust the URC.
            self.state = PowerState::Awake;
            self.needs_restore = true;
            Some(PowerEvent::LeftDeepSleep(state))
        }
    }

    /// The module rebooted: awake, with its volatile settings reset.
    pub fn rebooted(&mut self) -> PowerEvent {
        self.state = PowerState::Awake;
        self.needs_restore = true;
        PowerEvent::Rebooted
    }

    /// The module answered after the agent configured it: it is awake.
    pub fn configured(&mut self) {
        self.state = PowerState::Awake;
    }

    /// The agent re-applied what the module lost.
    pub fn restored(&mut self) -> PowerEvent {
        self.state = PowerState::Awake;
        self.needs_restore = false;
        PowerEvent::Restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleep(state: DeepSleep, entered: bool) -> Urc {
        Urc::Sleep { state, entered }
    }

    #[test]
    fn a_deep_sleep_cycle_needs_a_restore_until_restored() {
        let mut s = PowerStatus::default();
        assert_eq!(s.state, PowerState::Unknown);
        assert_eq!(
            s.handle_urc(&sleep(DeepSleep::Hibernate, true)),
            Some(PowerEvent::EnteredDeepSleep(DeepSleep::Hibernate))
        );
        assert_eq!(s.state, PowerState::Hibernate);
        assert!(s.state.is_deep_sleep());
        assert!(s.needs_restore);
        assert_eq!(
            s.handle_urc(&sleep(DeepSleep::Hibernate, false)),
            Some(PowerEvent::LeftDeepSleep(DeepSleep::Hibernate))
        );
        assert_eq!(s.state, PowerState::Awake);
        assert!(s.needs_restore, "waking does not bring the settings back");
        assert_eq!(s.restored(), PowerEvent::Restored);
        assert!(!s.needs_restore);
        assert_eq!(s.deep_sleeps, 1);
    }

    #[test]
    fn a_repeated_entry_is_no_event_and_a_wake_never_seen_entered_still_counts() {
        let mut s = PowerStatus::default();
        s.handle_urc(&sleep(DeepSleep::Sleep2, true));
        assert_eq!(s.handle_urc(&sleep(DeepSleep::Sleep2, true)), None);
        assert_eq!(s.deep_sleeps, 1);
        let mut fresh = PowerStatus::default();
        assert_eq!(
            fresh.handle_urc(&sleep(DeepSleep::Sleep2, false)),
            Some(PowerEvent::LeftDeepSleep(DeepSleep::Sleep2))
        );
        assert!(fresh.needs_restore);
        assert_eq!(fresh.state, PowerState::Awake);
    }

    #[test]
    fn other_urcs_change_nothing_and_a_reboot_needs_a_restore() {
        let mut s = PowerStatus::default();
        s.configured();
        let before = s;
        let other = Urc::SignallingConnection { connected: true };
        assert_eq!(s.handle_urc(&other), None);
        assert_eq!(s, before);
        assert_eq!(s.rebooted(), PowerEvent::Rebooted);
        assert!(s.needs_restore);
        assert_eq!(s.state, PowerState::Awake);
        assert_eq!(s.deep_sleeps, 0);
    }
}
