//! `[modem.power]`: how deep and how soon the module may sleep, the level a
//! sleep vote blocks, and how to wake it (`[modem.power.wake]`). The rules
//! across the wake keys (which keys each `kind` needs) are in [`check`],
//! which `load.rs` runs after deserializing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::ModemPort;
use crate::modem::power::SleepMode;
use crate::power::PowerSettings;
pub use crate::power::WakeAction;
use crate::values::duration::{self, Duration};

/// Default of `modem.power.sleep_timeout`.
pub const DEFAULT_SLEEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `modem.power.wake.pulse`.
pub const DEFAULT_WAKE_PULSE: Duration = Duration::from_millis(100);
/// Default of `modem.power.wake.timeout`.
pub const DEFAULT_WAKE_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// `[modem.power]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerConfig {
    /// `modem.power.enabled`: let the module sleep (`AT+UPSV=1,...`) and
    /// vote around every use of it. Default true: a battery gateway that
    /// keeps its modem awake lasts days, not months. `false` sends
    /// `AT+UPSV=0` (for bench setups and modules on mains power).
    #[serde(default = "yes")]
    pub enabled: bool,

    /// `modem.power.sleep_timeout`: how long the UART and radio must be idle
    /// before the module sleeps (`+UPSV`'s timeout). Default `"5s"`, the
    /// value u-blox's host library and `lexi-r10-notes.md` use: long enough
    /// that a command sequence does not sleep between commands.
    #[serde(
        default = "default_sleep_timeout",
        deserialize_with = "duration::positive"
    )]
    pub sleep_timeout: Duration,

    /// `modem.power.deepest`: `"sleep1"`, `"sleep2"` or `"hibernate"`, the
    /// deepest state allowed. Default ([`default_deepest`]): `"hibernate"`,
    /// the lowest current, when something can wake the module from it (a
    /// wake action, or the simulator's line); `"sleep1"` otherwise, since
    /// UART bytes wake the module only from Sleep-1 and a module in
    /// Hibernate with no wake action would never answer again. The agent
    /// restores what deeper sleep loses (start-up settings, profiles from
    /// NVM) after each wake. `None` until loading fills in the default;
    /// read it with [`PowerConfig::deepest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deepest: Option<SleepMode>,

    /// `modem.power.vote_level`: the shallowest state a vote down blocks
    /// (`AT+USLPVOTE=1,<level>`); it blocks every deeper one too. Default
    /// `"sleep1"`, as §6.1.4 does (`AT+USLPVOTE=1,2`): a module in any
    /// sleep state answers late, so a guarded sequence keeps it fully awake.
    #[serde(default = "default_vote_level")]
    pub vote_level: SleepMode,

    /// `modem.power.usb_off`: turn the module's USB off (`AT+UUSBCONF=99`,
    /// read first and written only when it differs: the setting is kept in
    /// the module's NVM). `[lib]` a module whose USB is connected reaches
    /// Sleep-2/Hibernate only with USB off. Default true (used only with
    /// `enabled = true` and `deepest` beyond Sleep-1, where it matters): a
    /// gateway talks over the UART, and without it the deep sleep the other
    /// keys ask for may never happen. Must be false
    /// when `modem.port` is the module's own USB (`ttyACM*`), which this
    /// would cut off ([`usb_off_problem`]).
    #[serde(default = "yes")]
    pub usb_off: bool,

    /// `[modem.power.wake]`: how to wake the module from deep sleep, where
    /// UART bytes alone do not.
    #[serde(default)]
    pub wake: WakeConfig,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            enabled: true,
            sleep_timeout: DEFAULT_SLEEP_TIMEOUT,
            deepest: None,
            vote_level: SleepMode::Sleep1,
            usb_off: true,
            wake: WakeConfig::default(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_sleep_timeout() -> Duration {
    DEFAULT_SLEEP_TIMEOUT
}

impl PowerConfig {
    /// What the power manager is configured with.
    pub fn settings(&self) -> PowerSettings {
        PowerSettings {
            enabled: self.enabled,
            sleep_timeout: self.sleep_timeout.get(),
            deepest: self.deepest(),
            vote_level: self.vote_level,
            usb_off: self.usb_off,
        }
    }

    /// The deepest state allowed. Loading always fills it in; a config
    /// built in code without it gets the safe choice, Sleep-1, which UART
    /// bytes wake.
    pub fn deepest(&self) -> SleepMode {
        self.deepest.unwrap_or(SleepMode::Sleep1)
    }

    /// Whether something other than UART bytes can wake the module: a wake
    /// action, or (with `port = "sim"`) the simulator's line.
    pub fn can_wake_from_deep_sleep(&self, port: &ModemPort) -> bool {
        self.wake.kind != WakeKind::None || *port == ModemPort::Simulator
    }
}

/// The default `modem.power.deepest` for `power` on `port`, and why, for
/// the effective config (`edge-agent check`).
pub(crate) fn default_deepest(power: &PowerConfig, port: &ModemPort) -> (SleepMode, String) {
    let (deepest, why) = if power.wake.kind != WakeKind::None {
        (
            SleepMode::Hibernate,
            "the wake action (modem.power.wake) can wake the module from it",
        )
    } else if *port == ModemPort::Simulator {
        (
            SleepMode::Hibernate,
            "the simulator's wake line can wake the module from it",
        )
    } else {
        (
            SleepMode::Sleep1,
            "modem.power.wake.kind is \"none\", and UART bytes wake the module only from \
             Sleep-1; set [modem.power.wake] to let it sleep deeper",
        )
    };
    (
        deepest,
        format!(
            "modem.power.deepest = \"{}\" (default): {why}",
            deepest.name()
        ),
    )
}

/// Why an explicit `modem.power.deepest` cannot hold, if so: Sleep-2 or
/// Hibernate with nothing that can wake the module from it would strand it
/// after its first window.
pub(crate) fn deepest_problem(power: &PowerConfig, port: &ModemPort) -> Option<String> {
    let deepest = power.deepest?;
    let stranded =
        power.enabled && deepest > SleepMode::Sleep1 && !power.can_wake_from_deep_sleep(port);
    stranded.then(|| {
        format!(
            "deepest = \"{}\" needs a way to wake the module, but modem.power.wake.kind is \
             \"none\": UART bytes wake it only from Sleep-1, so after its first sleep it would \
             never answer again; set [modem.power.wake] (kind = \"gpio\" or \"command\") or \
             deepest = \"sleep1\"",
            deepest.name()
        )
    })
}

fn default_vote_level() -> SleepMode {
    SleepMode::Sleep1
}

/// `modem.power.wake.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WakeKind {
    /// Nothing but sacrificial `AT`s: for `deepest = "sleep1"`, which UART
    /// bytes do wake, and for the simulator (woken through its handle).
    #[default]
    None,
    /// A pulse on a line of a Linux GPIO character device wired to PWR_ON.
    Gpio,
    /// A program (a board's own script) that pulses the line.
    Command,
}

/// `[modem.power.wake]`. One flat table: the keys a `kind` does not use
/// must be absent ([`check`]), so a half-edited table fails at start.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WakeConfig {
    /// `modem.power.wake.kind`: `"none"`, `"gpio"` or `"command"`. Default
    /// `"none"`: which line wakes the module depends on the board.
    #[serde(default)]
    pub kind: WakeKind,

    /// `modem.power.wake.chip` (gpio): the GPIO character device, e.g.
    /// `"/dev/gpiochip0"`. Required with `kind = "gpio"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<PathBuf>,

    /// `modem.power.wake.line` (gpio): the line offset on that chip.
    /// Required with `kind = "gpio"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,

    /// `modem.power.wake.active_low` (gpio): the line is active when
    /// physically low (PWR_ON is usually driven through an inverting
    /// transistor, so boards differ). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_low: Option<bool>,

    /// `modem.power.wake.pulse` (gpio): how long the line is held active.
    /// Default `"100ms"` (`[model]`: no public figure for the LEXI-R10's
    /// wake pulse was found; a board's datasheet wins).
    #[serde(
        default,
        deserialize_with = "optional_positive",
        skip_serializing_if = "Option::is_none"
    )]
    pub pulse: Option<Duration>,

    /// `modem.power.wake.program` (command): the program to run, by path.
    /// Required with `kind = "command"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,

    /// `modem.power.wake.args` (command): its arguments. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,

    /// `modem.power.wake.timeout` (command): the program must exit 0 within
    /// this. Default `"10s"`: a script toggling a line takes milliseconds;
    /// one that hangs must not hold the agent.
    #[serde(
        default,
        deserialize_with = "optional_positive",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
}

fn optional_positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration::positive(d).map(Some)
}

impl WakeConfig {
    /// The action; `None` when [`check`] would report a problem.
    pub fn action(&self) -> Option<WakeAction> {
        match self.kind {
            WakeKind::None => Some(WakeAction::None),
            WakeKind::Gpio => Some(WakeAction::Gpio {
                chip: self.chip.clone()?,
                line: self.line?,
                active_low: self.active_low.unwrap_or(false),
                pulse: self.pulse.unwrap_or(DEFAULT_WAKE_PULSE).get(),
            }),
            WakeKind::Command => Some(WakeAction::Command {
                program: self.program.clone()?,
                args: self.args.clone().unwrap_or_default(),
                timeout: self.timeout.unwrap_or(DEFAULT_WAKE_COMMAND_TIMEOUT).get(),
            }),
        }
    }
}

/// The CDC-ACM driver's device names: how the module's own USB shows up.
const USB_ACM_PREFIX: &str = "ttyACM";

/// Why `modem.power.usb_off` cannot hold with this `modem.port`, if so: USB
/// off would take away the very port the agent talks through, and the
/// module would be unreachable until its USB setting is changed some other
/// way (it is kept in NVM, so not even a reboot helps).
pub(crate) fn usb_off_problem(power: &PowerConfig, port: &ModemPort) -> Option<String> {
    let ModemPort::Device(path) = port else {
        return None;
    };
    let is_acm = |path: &std::path::Path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(USB_ACM_PREFIX))
    };
    // The stable name of a USB port is a link (`/dev/serial/by-id/usb-…`)
    // to the `ttyACM` device; a port that does not exist (yet) is judged by
    // its name alone.
    let on_usb = is_acm(path) || std::fs::canonicalize(path).is_ok_and(|target| is_acm(&target));
    let deep_sleep = power.deepest() > SleepMode::Sleep1;
    (power.enabled && power.usb_off && deep_sleep && on_usb).then(|| {
        format!(
            "modem.port {} is the module's own USB ({USB_ACM_PREFIX}*): USB off would cut \
             the agent off from the module; set usb_off = false (the module then cannot \
             reach Sleep-2/Hibernate) or connect through the UART",
            path.display()
        )
    })
}

/// A rule across `[modem.power.wake]` keys that does not hold: the key
/// inside the wake table, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WakeProblem {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

/// Each `kind` needs its keys and takes no other kind's.
pub(crate) fn check(wake: &WakeConfig) -> Vec<WakeProblem> {
    let kind = match wake.kind {
        WakeKind::None => "none",
        WakeKind::Gpio => "gpio",
        WakeKind::Command => "command",
    };
    let present: [(&'static str, bool, WakeKind); 7] = [
        ("chip", wake.chip.is_some(), WakeKind::Gpio),
        ("line", wake.line.is_some(), WakeKind::Gpio),
        ("active_low", wake.active_low.is_some(), WakeKind::Gpio),
        ("pulse", wake.pulse.is_some(), WakeKind::Gpio),
        ("program", wake.program.is_some(), WakeKind::Command),
        ("args", wake.args.is_some(), WakeKind::Command),
        ("timeout", wake.timeout.is_some(), WakeKind::Command),
    ];
    let required: &[&str] = match wake.kind {
        WakeKind::None => &[],
        WakeKind::Gpio => &["chip", "line"],
        WakeKind::Command => &["program"],
    };
    let mut problems = Vec::new();
    for (key, set, belongs) in present {
        if set && belongs != wake.kind {
            let owner = if belongs == WakeKind::Gpio {
                "gpio"
            } else {
                "command"
            };
            problems.push(WakeProblem {
                key,
                message: format!(
                    "`{key}` is only used with kind = \"{owner}\", but kind is \"{kind}\""
                ),
            });
        } else if !set && required.contains(&key) {
            let what = match key {
                "chip" => "the GPIO character device, e.g. \"/dev/gpiochip0\"",
                "line" => "the line offset on that chip, e.g. 17",
                _ => "the path of the program that wakes the module",
            };
            problems.push(WakeProblem {
                key,
                message: format!("required key is missing with kind = \"{kind}\": {what}"),
            });
        }
    }
    problems
}

#[cfg(test)]
#[path = "power_tests.rs"]
mod tests;
