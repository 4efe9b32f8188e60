//! The power-saving state machine: Active, Idle, Sleep-1, Sleep-2,
//! Hibernate (`+UPSV`, `+USLPVOTE`, `+USLPURC`/`+UUSLPURC`, `+UUSBCONF`),
//! the wake line, and the power log the energy ledger is computed from.
//!
//! States (Off and Booting are `power.rs`'s):
//! - Active: RRC connected (radio traffic). Idle: awake, RRC idle.
//!   `[model]` AT commands alone do not make the module Active: they keep it
//!   awake (they restart the `+UPSV` timer) but cost Idle current.
//! - Sleep-1: everything kept. `[model]` the first UART byte that reaches a
//!   module in Sleep-1 is lost and wakes it (the notes' "lost first bytes
//!   after sleep"); the rest of that chunk is taken as usual. Radio traffic
//!   and job events wake it too.
//! - Sleep-2 / Hibernate: volatile state lost as at a boot (echo on, CMEE 0,
//!   `+CEREG`/`+CSCON` n 0, the MQTT profile in RAM, a partial command line),
//!   NVM kept (the files too; open handles are lost). HTTP profiles whose
//!   `+UHTTPNV` use is armed come back from NVM, the others factory
//!   (`http/state.rs`). `[model]` what is kept: registration and the PDP context (the
//!   network keeps the context in PSM/eDRX), the SIM's unlocked state, the
//!   clock (`clock.rs`), the settings in effect since boot, the always-on
//!   sockets (§5.10) and this
//!   file's own settings (`+UPSV`, the vote, `+USLPURC`), which are
//!   meaningless if the sleep they configure erased them; a boot resets them.
//!   UART bytes are dropped until the wake line (PWR_ON) is pulsed or network
//!   data for an AoN socket arrives ([`Module::wake_for_network_data`]); the
//!   module answers again after `wake_time` `[model]`. URCs raised while it
//!   sleeps or wakes are held and sent after `+UUSLPURC: SLP2 0`/`HIB 0`.
//!
//! Entry rule: with `+UPSV=1`, once the module has been quiet (RRC idle, no
//! DNS/ping job, no MQTT login/logout/publish/subscribe in flight, no HTTP
//! request running, no binary payload or file data being read) for the
//! `+UPSV` timeout (module time) with no command
//! and no job event, it enters the deepest state every limit allows
//! ([`Module::sleep_depth_allowed`]): the `+UPSV` deepest mode; the vote (a
//! vote down blocks the configured level and everything deeper); the sockets
//! (`socket_sleep_limit`); the MQTT client (`[model]` a session that is up is
//! a connection a deep sleep would lose, like a non-AoN socket: Sleep-1 at
//! most; the vote is how the host keeps the module fully awake for it,
//! §6.1.4); HTTP direct link (Sleep-1 at most while it runs, §4);
//! registration (`[model]` not registered: Sleep-1 at most); USB
//! (`[lib]` a connected USB that is not off: Sleep-1 at most).
//!
//! Wire forms `[model]` (the note gives only the set forms):
//! - `AT+UPSV=<0|1>[,<timeout ms>[,<deepest 2|3|4>]]`; `AT+UPSV?` ->
//!   `+UPSV: <mode>,<timeout>,<deepest>`. Defaults after boot: 0, 5000 (the
//!   notes' example), 4.
//! - `AT+USLPVOTE=1,<level 2|3|4>` (level numbering as `+UPSV`'s modes, see
//!   the notes), `AT+USLPVOTE=0,<0 down|1 up>`; `AT+USLPVOTE?` ->
//!   `+USLPVOTE: 1,<level>` and `+USLPVOTE: 0,<vote>`. After boot: level 2,
//!   voted up.
//! - `AT+USLPURC="SLEEP2"|"HIBNATE",<0|1>` (§5.10.2); `AT+USLPURC?` ->
//!   `+USLPURC: "SLEEP2",<n>` and `+USLPURC: "HIBNATE",<n>`. URCs exactly as
//!   §5.10.2: `+UUSLPURC: SLP2 1`, `SLP2 0`, `HIB 1`, `HIB 0`.
//! - `AT+UUSBCONF=<n>` `[lib]` (99 = USB off, needed for deep sleep on a real
//!   module); `AT+UUSBCONF?` -> `+UUSBCONF: <n>`, n in 0..=99. `[model]` the
//!   value lives in NVM (u-blox keeps USB profile settings there): kept
//!   across deep sleep, reboot and power cut, a change counts as an NVM
//!   write, and it takes effect at once. USB limits sleep only when
//!   `SimConfig::usb_connected` (default false: a gateway wired through the
//!   UART alone); then anything but 99 means Sleep-1 at most.

use std::time::{Duration, Instant};

use super::timers::TimerKind;
use super::{bad_param, unsupported, Effect, Module, PowerState};
use crate::at::parse::Form;
use crate::at::reply::{frame, CmeError, Fail};

/// How deep the module may sleep as far as one part of it is concerned
/// (sockets, the MQTT client, votes). Ordered from shallowest: the module
/// sleeps no deeper than the smallest limit any part reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SleepLimit {
    /// Must stay awake (Active/Idle only).
    Awake,
    /// Sleep-1 at most (state kept).
    Sleep1,
    /// Sleep-2 or Hibernate allowed.
    Deep,
}

/// How deep the module sleeps right now (or may sleep), shallowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) enum Depth {
    #[default]
    Awake,
    Sleep1,
    Sleep2,
    Hibernate,
}

impl Depth {
    /// `+UPSV`'s deepest mode and `+USLPVOTE`'s level: 2, 3, 4.
    fn from_mode(mode: i64) -> Option<Depth> {
        match mode {
            2 => Some(Depth::Sleep1),
            3 => Some(Depth::Sleep2),
            4 => Some(Depth::Hibernate),
            _ => None,
        }
    }

    fn mode(self) -> u8 {
        match self {
            Depth::Awake => 0,
            Depth::Sleep1 => 2,
            Depth::Sleep2 => 3,
            Depth::Hibernate => 4,
        }
    }

    fn from_limit(limit: SleepLimit) -> Depth {
        match limit {
            SleepLimit::Awake => Depth::Awake,
            SleepLimit::Sleep1 => Depth::Sleep1,
            SleepLimit::Deep => Depth::Hibernate,
        }
    }

    /// The shallower neighbour: what is left when `self` is blocked.
    fn shallower(self) -> Depth {
        match self {
            Depth::Awake | Depth::Sleep1 => Depth::Awake,
            Depth::Sleep2 => Depth::Sleep1,
            Depth::Hibernate => Depth::Sleep2,
        }
    }

    fn is_deep(self) -> bool {
        self >= Depth::Sleep2
    }
}

/// What the module is doing as far as power goes: the power log's and the
/// energy ledger's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PowerMode {
    Off,
    Booting,
    /// RRC connected.
    Active,
    /// Awake, RRC idle.
    Idle,
    Sleep1,
    Sleep2,
    Hibernate,
}

impl PowerMode {
    pub const ALL: [PowerMode; 7] = [
        PowerMode::Off,
        PowerMode::Booting,
        PowerMode::Active,
        PowerMode::Idle,
        PowerMode::Sleep1,
        PowerMode::Sleep2,
        PowerMode::Hibernate,
    ];

    /// Position in [`PowerMode::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One change of [`PowerMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerLogEntry {
    /// Module time since the simulator started (real time / `time_scale`).
    pub at: Duration,
    pub state: PowerMode,
}

/// `[model]` `+UPSV` timeout after boot: the notes' example `AT+UPSV=1,5000,4`.
const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// `[lib]` `+UUSBCONF` value that turns USB off.
const USB_OFF: u8 = 99;
/// `[model]` the longest `+UPSV` timeout accepted (one hour).
const MAX_TIMEOUT_MS: i64 = 3_600_000;

/// The sleep machine's settings and state; a boot resets it, a deep sleep
/// does not (see the module doc).
#[derive(Debug)]
pub(super) struct Sleep {
    /// `+UPSV=1`.
    enabled: bool,
    timeout: Duration,
    deepest: Depth,
    /// `+USLPVOTE=1,<level>`: what a vote down blocks (this and deeper).
    vote_level: Depth,
    voted_down: bool,
    urc_sleep2: bool,
    urc_hibernate: bool,
    pub(super) depth: Depth,
    /// The wake line was pulsed (or network data came) while in deep sleep;
    /// the module answers once `WakeComplete` fires.
    waking: bool,
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep {
            enabled: false,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            deepest: Depth::Hibernate,
            vote_level: Depth::Sleep1,
            voted_down: false,
            urc_sleep2: false,
            urc_hibernate: false,
            depth: Depth::Awake,
            waking: false,
        }
    }
}

impl Module {
    /// `+UPSV=<mode>[,<timeout>[,<deepest>]]`, `+UPSV?`.
    pub(super) fn upsv(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                let s = &self.sleep;
                info.push(format!(
                    "+UPSV: {},{},{}",
                    u8::from(s.enabled),
                    s.timeout.as_millis(),
                    s.deepest.mode()
                ));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(3).map_err(bad_param)?;
                let bad = || Fail::from(CmeError::INCORRECT_PARAMETERS);
                let enabled = match params.required_int(0).map_err(bad_param)? {
                    0 => false,
                    1 => true,
                    _ => return Err(bad()),
                };
                let timeout = match params.int(1).map_err(bad_param)? {
                    None => self.sleep.timeout,
                    Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => {
                        Duration::from_millis(ms.unsigned_abs())
                    }
                    Some(_) => return Err(bad()),
                };
                let deepest = match params.int(2).map_err(bad_param)? {
                    None => self.sleep.deepest,
                    Some(mode) => Depth::from_mode(mode).ok_or_else(bad)?,
                };
                self.sleep.enabled = enabled;
                self.sleep.timeout = timeout;
                self.sleep.deepest = deepest;
                self.timers.cancel(TimerKind::SleepEntry);
                self.sleep_review(now, true);
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+USLPVOTE=1,<level>` configures, `+USLPVOTE=0,<0|1>` votes down/up.
    pub(super) fn uslpvote(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+USLPVOTE: 1,{}", self.sleep.vote_level.mode()));
                info.push(format!("+USLPVOTE: 0,{}", u8::from(!self.sleep.voted_down)));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(2).map_err(bad_param)?;
                let bad = || Fail::from(CmeError::INCORRECT_PARAMETERS);
                let value = params.required_int(1).map_err(bad_param)?;
                match params.required_int(0).map_err(bad_param)? {
                    0 => {
                        self.sleep.voted_down = match value {
                            0 => true,
                            1 => false,
                            _ => return Err(bad()),
                        }
                    }
                    1 => self.sleep.vote_level = Depth::from_mode(value).ok_or_else(bad)?,
                    _ => return Err(bad()),
                }
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+USLPURC="SLEEP2"|"HIBNATE",<0|1>`, `+USLPURC?`.
    pub(super) fn uslpurc(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!(
                    "+USLPURC: \"SLEEP2\",{}",
                    u8::from(self.sleep.urc_sleep2)
                ));
                info.push(format!(
                    "+USLPURC: \"HIBNATE\",{}",
                    u8::from(self.sleep.urc_hibernate)
                ));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(2).map_err(bad_param)?;
                let on = match params.required_int(1).map_err(bad_param)? {
                    0 => false,
                    1 => true,
                    _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                };
                match params.required_string(0).map_err(bad_param)? {
                    "SLEEP2" => self.sleep.urc_sleep2 = on,
                    "HIBNATE" => self.sleep.urc_hibernate = on,
                    _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                }
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+UUSBCONF=<n>`, `+UUSBCONF?` (in NVM, see the module doc).
    pub(super) fn uusbconf(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+UUSBCONF: {}", self.nvm.usb_conf));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let n = params.required_int(0).map_err(bad_param)?;
                let n = u8::try_from(n)
                    .ok()
                    .filter(|n| crate::nvm::USB_CONF.contains(n))
                    .ok_or(CmeError::INCORRECT_PARAMETERS)?;
                // Written only when it differs (`update_nvm`), as the
                // module would not rewrite an unchanged NVM item.
                self.update_nvm(|nvm| nvm.usb_conf = n);
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// Nothing in flight that a sleep would have to wait for.
    fn quiet(&self) -> bool {
        !self.radio.rrc_connected
            && self.jobs.is_empty()
            && !self.raw_input()
            && !self.mqtt_busy()
            && !self.http_busy()
            && !self.file_raw_input()
            && !self.reboot_after_answer
    }

    /// The deepest state every part allows right now.
    pub(super) fn sleep_depth_allowed(&self) -> Depth {
        let s = &self.sleep;
        let mut depth = s.deepest;
        if s.voted_down {
            depth = depth.min(s.vote_level.shallower());
        }
        depth = depth.min(Depth::from_limit(self.socket_sleep_limit()));
        depth = depth.min(Depth::from_limit(self.mqtt_sleep_limit()));
        depth = depth.min(Depth::from_limit(self.http_sleep_limit()));
        if !self.radio.stat.is_registered() {
            depth = depth.min(Depth::Sleep1);
        }
        if self.cfg.usb_connected && self.nvm.usb_conf != USB_OFF {
            depth = depth.min(Depth::Sleep1);
        }
        depth
    }

    /// Called after every input: keeps the `+UPSV` timer running while the
    /// module is awake and quiet. `activity` (a command, a job event, a
    /// wake) restarts it; otherwise a running timer is left alone and a
    /// missing one started, so a sleep that was blocked is tried again one
    /// timeout later (a limit can lift without an input, e.g. RRC idle).
    pub(super) fn sleep_review(&mut self, now: Instant, activity: bool) {
        let awake = self.power == PowerState::Ready && self.sleep.depth == Depth::Awake;
        if !awake || !self.sleep.enabled || !self.quiet() {
            self.timers.cancel(TimerKind::SleepEntry);
            return;
        }
        if activity || !self.timers.is_set(TimerKind::SleepEntry) {
            let after = self.cfg.scaled(self.sleep.timeout);
            self.timers.set(TimerKind::SleepEntry, now, after);
        }
    }

    /// The `+UPSV` timer fired: sleep as deep as allowed.
    pub(super) fn sleep_entry(&mut self, _now: Instant) {
        if self.power != PowerState::Ready
            || self.sleep.depth != Depth::Awake
            || !self.sleep.enabled
            || !self.quiet()
        {
            return;
        }
        let depth = self.sleep_depth_allowed();
        if depth == Depth::Awake {
            return;
        }
        if depth.is_deep() {
            self.enter_deep_sleep(depth);
        } else {
            self.sleep.depth = Depth::Sleep1;
        }
    }

    fn enter_deep_sleep(&mut self, depth: Depth) {
        // Whatever was queued goes out before the UART goes quiet.
        self.flush_urcs();
        if let Some(text) = self.sleep_urc(depth, true) {
            self.out.push(Effect::Send(frame(&text)));
        }
        self.lose_volatile_state_in_deep_sleep();
        self.sleep.depth = depth;
        self.sleep.waking = false;
    }

    /// `+UUSLPURC: SLP2|HIB 1|0` when enabled.
    fn sleep_urc(&self, depth: Depth, entering: bool) -> Option<String> {
        let flag = u8::from(entering);
        match depth {
            Depth::Sleep2 if self.sleep.urc_sleep2 => Some(format!("+UUSLPURC: SLP2 {flag}")),
            Depth::Hibernate if self.sleep.urc_hibernate => Some(format!("+UUSLPURC: HIB {flag}")),
            _ => None,
        }
    }

    /// The part of a boot's reset that a deep sleep also does (see the
    /// module doc for what it keeps). No `CancelAllJobs`: the always-on
    /// sockets' jobs live on, and nothing else runs (`quiet`).
    fn lose_volatile_state_in_deep_sleep(&mut self) {
        let sim_ready = self.session.sim_ready;
        self.session = super::Session::after_boot(self.cfg.sim_pin.is_some());
        self.session.sim_ready = sim_ready;
        self.urcs.clear();
        self.mqtt = super::mqtt::Client::default();
        // HTTP profiles come back from NVM where armed (§7.1.2).
        self.http = self.http.after_deep_sleep(&self.nvm);
        self.files = super::files::OpenFiles::default();
    }

    /// True while host bytes are dropped: deep sleep, or waking from it.
    pub(super) fn uart_asleep(&self) -> bool {
        self.power == PowerState::Ready && self.sleep.depth.is_deep()
    }

    /// True in Sleep-1: the next UART byte is lost and wakes the module.
    pub(super) fn in_sleep1(&self) -> bool {
        self.power == PowerState::Ready && self.sleep.depth == Depth::Sleep1
    }

    /// Leaves Sleep-1 at once (UART byte, traffic, job event).
    pub(super) fn wake_from_sleep1(&mut self) {
        if self.in_sleep1() {
            self.sleep.depth = Depth::Awake;
        }
    }

    /// PWR_ON pulse. Boots a module that is off `[model]`; wakes a sleeping
    /// one (deep sleep after `wake_time`); nothing otherwise.
    pub(super) fn wake_line(&mut self, now: Instant) {
        if self.power == PowerState::Off {
            self.power_on(now);
            return;
        }
        self.wake(now);
    }

    fn wake(&mut self, now: Instant) {
        if self.in_sleep1() {
            self.wake_from_sleep1();
        } else if self.uart_asleep() && !self.sleep.waking {
            self.sleep.waking = true;
            self.timers
                .set(TimerKind::WakeComplete, now, self.timing.wake);
        }
    }

    /// The deep-sleep wake finished: answering again, held URCs out.
    pub(super) fn wake_complete(&mut self, _now: Instant) {
        if !self.uart_asleep() || !self.sleep.waking {
            return;
        }
        let depth = self.sleep.depth;
        self.sleep.depth = Depth::Awake;
        self.sleep.waking = false;
        if let Some(text) = self.sleep_urc(depth, false) {
            self.urcs.insert(0, text);
        }
    }

    /// Data arrived from the network for an always-on socket: a sleeping
    /// module wakes (§5.10.2 "Read scenario"). The socket chapter calls it.
    pub(super) fn wake_for_network_data(&mut self, now: Instant) {
        self.wake(now);
    }

    /// The state the power log records.
    pub(super) fn power_mode(&self) -> PowerMode {
        match self.power {
            PowerState::Off => PowerMode::Off,
            PowerState::Booting => PowerMode::Booting,
            PowerState::Ready => match self.sleep.depth {
                Depth::Awake if self.radio.rrc_connected => PowerMode::Active,
                Depth::Awake => PowerMode::Idle,
                Depth::Sleep1 => PowerMode::Sleep1,
                Depth::Sleep2 => PowerMode::Sleep2,
                Depth::Hibernate => PowerMode::Hibernate,
            },
        }
    }
}
