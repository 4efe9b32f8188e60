//! The radio: `+CFUN`, `+COPS`, `+CEREG`, `+CSCON`, and the registration
//! and RRC models behind them.
//!
//! Registration `[model]`: whenever the radio is on (`CFUN=1`), operator
//! selection is automatic (`COPS=0`) and the SIM is ready, the module searches
//! (stat 2) and after `registration_time` ends in what the network condition
//! says: home (1), roaming (5), denied (3), or keeps searching (no coverage).
//! A change of the condition starts a new attempt. Registered means the
//! default EPS bearer (cid 1) is up with the assigned address.
//!
//! RRC `[model]`: connected from registration and on any traffic (DNS, ping);
//! idle after `rrc_inactivity` without traffic, and at once on deregistration.

use std::time::Instant;

use super::timers::TimerKind;
use super::{bad_param, unsupported, Module};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::config::NetworkCondition;

/// `<stat>` of `+CEREG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegStat {
    /// 0: not registered, not searching.
    #[default]
    NotSearching,
    /// 1: registered, home network.
    Home,
    /// 2: not registered, searching.
    Searching,
    /// 3: registration denied.
    Denied,
    /// 5: registered, roaming.
    Roaming,
}

impl RegStat {
    pub fn number(self) -> u8 {
        match self {
            RegStat::NotSearching => 0,
            RegStat::Home => 1,
            RegStat::Searching => 2,
            RegStat::Denied => 3,
            RegStat::Roaming => 5,
        }
    }

    pub fn is_registered(self) -> bool {
        matches!(self, RegStat::Home | RegStat::Roaming)
    }
}

/// Radio state; reset by every boot.
#[derive(Debug, Clone)]
pub(super) struct Radio {
    /// `+CFUN` level: 0, 1 or 4 (16 is a reboot, never a state).
    pub cfun: u8,
    /// `+COPS=2` was given: stay deregistered until `+COPS=0`.
    /// `[model]` volatile: every boot starts in automatic mode.
    pub deregistered_by_host: bool,
    pub stat: RegStat,
    pub rrc_connected: bool,
}

impl Default for Radio {
    /// `[model]` the module boots with CFUN=1.
    fn default() -> Self {
        Radio {
            cfun: 1,
            deregistered_by_host: false,
            stat: RegStat::NotSearching,
            rrc_connected: false,
        }
    }
}

impl Radio {
    /// The `<mode>` of `+COPS`.
    pub fn cops_mode(&self) -> u8 {
        if self.deregistered_by_host {
            2
        } else {
            0
        }
    }
}

/// `[model]` the access technology in `+COPS`/`+CEREG`: 7, E-UTRAN (§2.3).
const ACT_EUTRAN: u8 = 7;

impl Module {
    /// `+CFUN=<0|1|4|16>[,0]`, `+CFUN?`.
    pub(super) fn cfun(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+CFUN: {}", self.radio.cfun));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(2).map_err(bad_param)?;
                let fun = params.required_int(0).map_err(bad_param)?;
                // [model] `<rst>` is accepted only as 0 ("no reset").
                if !matches!(params.int(1).map_err(bad_param)?, None | Some(0)) {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                match fun {
                    0 | 4 => {
                        self.radio.cfun = fun as u8;
                        self.stop_registration();
                    }
                    1 => {
                        if self.radio.cfun != 1 {
                            self.radio.cfun = 1;
                            self.start_registration(now);
                        }
                    }
                    16 => self.reboot_after_answer = true,
                    _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                }
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+COPS=0` automatic (restarts registration), `+COPS=2` deregister,
    /// `+COPS?`.
    pub(super) fn cops(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                let line = if self.radio.stat.is_registered() {
                    format!("+COPS: 0,0,\"{}\",{ACT_EUTRAN}", self.cfg.operator)
                } else {
                    format!("+COPS: {}", self.radio.cops_mode())
                };
                info.push(line);
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                match params.required_int(0).map_err(bad_param)? {
                    0 => {
                        self.radio.deregistered_by_host = false;
                        let attempt_running = self.radio.stat == RegStat::Searching
                            && self.timers.is_set(TimerKind::Registration);
                        if !self.radio.stat.is_registered() && !attempt_running {
                            self.start_registration(now);
                        }
                        Ok(())
                    }
                    2 => {
                        self.radio.deregistered_by_host = true;
                        self.stop_registration();
                        Ok(())
                    }
                    // [model] manual selection and format setting are not modelled.
                    1 | 3 | 4 => Err(CmeError::OPERATION_NOT_SUPPORTED.into()),
                    _ => Err(CmeError::INCORRECT_PARAMETERS.into()),
                }
            }
            _ => unsupported(),
        }
    }

    /// `+CEREG=<0..5>` (volatile), `+CEREG?`.
    pub(super) fn cereg(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                let n = self.session.cereg_n;
                let stat = self.radio.stat;
                let line = if n >= 2 && stat.is_registered() {
                    format!("+CEREG: {n},{},{}", stat.number(), self.location())
                } else {
                    format!("+CEREG: {n},{}", stat.number())
                };
                info.push(line);
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let n = params.required_int(0).map_err(bad_param)?;
                // [model] n = 3..5 are accepted but report like n = 2 (no
                // reject cause, no PSM timers).
                if !(0..=5).contains(&n) {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                self.session.cereg_n = n as u8;
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+CSCON=<0|1>` (volatile), `+CSCON?` -> `+CSCON: <n>,<mode>`.
    pub(super) fn cscon(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!(
                    "+CSCON: {},{}",
                    self.session.cscon_n,
                    u8::from(self.radio.rrc_connected)
                ));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                match params.required_int(0).map_err(bad_param)? {
                    n @ (0 | 1) => {
                        self.session.cscon_n = n as u8;
                        Ok(())
                    }
                    _ => Err(CmeError::INCORRECT_PARAMETERS.into()),
                }
            }
            _ => unsupported(),
        }
    }

    /// `"<tac>","<ci>",7` as in `+CEREG` for n >= 2.
    fn location(&self) -> String {
        format!(
            "\"{:04X}\",\"{:08X}\",{ACT_EUTRAN}",
            self.cfg.tac, self.cfg.cell_id
        )
    }

    /// Whether the module should be trying to register right now.
    fn may_register(&self) -> bool {
        self.is_ready()
            && self.radio.cfun == 1
            && !self.radio.deregistered_by_host
            && self.session.sim_ready
    }

    /// Starts a registration attempt: stat 2 now, the outcome after
    /// `registration_time`. Does nothing when the module may not register.
    pub(super) fn start_registration(&mut self, now: Instant) {
        if !self.may_register() {
            return;
        }
        self.set_stat(RegStat::Searching, now);
        self.timers
            .set(TimerKind::Registration, now, self.timing.registration);
    }

    /// Radio off or `COPS=2`: stat 0 at once.
    pub(super) fn stop_registration(&mut self) {
        self.timers.cancel(TimerKind::Registration);
        self.set_stat_deregistered(RegStat::NotSearching);
    }

    /// The registration timer fired.
    pub(super) fn registration_attempt_ends(&mut self, now: Instant) {
        if !self.may_register() {
            return;
        }
        let outcome = match self.network {
            NetworkCondition::Coverage => RegStat::Home,
            NetworkCondition::Roaming => RegStat::Roaming,
            NetworkCondition::Denied => RegStat::Denied,
            NetworkCondition::NoCoverage => RegStat::Searching,
        };
        self.set_stat(outcome, now);
    }

    /// The control handle changed the radio environment.
    pub(super) fn set_network(&mut self, condition: NetworkCondition, now: Instant) {
        if condition == self.network {
            return;
        }
        self.network = condition;
        let attempt_running = self.timers.is_set(TimerKind::Registration);
        if !attempt_running {
            self.start_registration(now);
        }
    }

    /// Changes stat, raising `+CEREG` and, through RRC, `+CSCON` URCs.
    fn set_stat(&mut self, stat: RegStat, now: Instant) {
        if stat.is_registered() {
            let newly_registered = !self.radio.stat.is_registered();
            if self.radio.stat != stat {
                self.radio.stat = stat;
                self.cereg_urc();
            }
            if newly_registered {
                self.network_time_on_registration(now);
            }
            self.traffic(now);
        } else {
            self.set_stat_deregistered(stat);
        }
    }

    fn set_stat_deregistered(&mut self, stat: RegStat) {
        if self.radio.stat != stat {
            self.radio.stat = stat;
            self.cereg_urc();
        }
        self.mqtt_radio_lost();
        self.http_radio_lost();
        self.rrc_idle();
    }

    fn cereg_urc(&mut self) {
        let n = self.session.cereg_n;
        let stat = self.radio.stat;
        if n == 0 {
            return;
        }
        let text = if n >= 2 && stat.is_registered() {
            format!("+CEREG: {},{}", stat.number(), self.location())
        } else {
            format!("+CEREG: {}", stat.number())
        };
        self.urc(text);
    }

    /// Network traffic: RRC connected, inactivity timer restarted.
    pub(super) fn traffic(&mut self, now: Instant) {
        if !self.radio.stat.is_registered() {
            return;
        }
        self.wake_from_sleep1();
        if !self.radio.rrc_connected {
            self.radio.rrc_connected = true;
            if self.session.cscon_n == 1 {
                self.urc("+CSCON: 1".to_string());
            }
        }
        self.timers
            .set(TimerKind::RrcIdle, now, self.timing.rrc_inactivity);
    }

    pub(super) fn rrc_idle(&mut self) {
        self.timers.cancel(TimerKind::RrcIdle);
        if self.radio.rrc_connected {
            self.radio.rrc_connected = false;
            if self.session.cscon_n == 1 {
                self.urc("+CSCON: 0".to_string());
            }
        }
    }
}
