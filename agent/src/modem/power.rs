//! Power commands: power saving (`+UPSV`), sleep votes (`+USLPVOTE`), sleep
//! URCs (`+USLPURC`), the USB profile (`+UUSBCONF`). One struct per command; each doc
//! names the application note section (UBXDOC-686885345-2004) or `[lib]`
//! (u-blox's host library) where the note only shows the command in passing.
//!
//! Only `crate::power` sends these: votes in particular go through its
//! `AwakeGuard` (see the invariant in `power/mod.rs`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::at::{AtCommand, Fields, ParseError, Response};
use crate::modem::at::command::ok_command;

/// A sleep state the module may enter, numbered as `+UPSV`'s `<deepest>`
/// and `+USLPVOTE=1,<level>` take it. `[lib]` for `+UPSV`; for the vote
/// level the note only shows `1,2` = "Sleep-1 and every deeper state"
/// (§6.1.4), so the other levels following `+UPSV`'s numbering is `[model]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SleepMode {
    /// Sleep-1: the module keeps its IP, MQTT and HTTP state.
    Sleep1 = 2,
    /// Sleep-2: volatile state lost; only AoN sockets survive (§5.10).
    Sleep2 = 3,
    /// Hibernate: as Sleep-2, with longer (eDRX) sleeps (§5.10.2).
    Hibernate = 4,
}

impl SleepMode {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<SleepMode> {
        match code {
            2 => Some(SleepMode::Sleep1),
            3 => Some(SleepMode::Sleep2),
            4 => Some(SleepMode::Hibernate),
            _ => None,
        }
    }

    /// The config spelling (`"sleep1"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SleepMode::Sleep1 => "sleep1",
            SleepMode::Sleep2 => "sleep2",
            SleepMode::Hibernate => "hibernate",
        }
    }

    /// Whether the module loses its volatile settings in this state.
    pub fn loses_volatile_state(self) -> bool {
        self >= SleepMode::Sleep2
    }
}

/// What `+UPSV` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerSaving {
    /// `+UPSV=0`: the module never sleeps.
    Off,
    /// `+UPSV=1,<timeout ms>,<deepest>`: sleep after `timeout` of UART and
    /// radio inactivity, no deeper than `deepest`.
    On {
        timeout: Duration,
        deepest: SleepMode,
    },
}

/// `AT+UPSV=1,<timeout ms>,<deepest>` / `AT+UPSV=0` (`[lib]`; the note only
/// refers to `+UPSV` in §6.1 and §5.10). `[model]`: the timeout is written
/// in milliseconds, as `lexi-r10-notes.md` gives it (`AT+UPSV=1,5000,4`).
#[derive(Debug, Clone, Copy)]
pub struct SetPowerSaving(pub PowerSaving);

ok_command!(SetPowerSaving, |c| {
    match c.0 {
        PowerSaving::Off => "AT+UPSV=0".into(),
        PowerSaving::On { timeout, deepest } => {
            format!("AT+UPSV=1,{},{}", timeout.as_millis(), deepest.code())
        }
    }
});

/// `AT+UPSV?` -> `+UPSV: <mode>[,<timeout ms>,<deepest>]` (`[lib]`;
/// `[model]` the read answer mirrors the set syntax).
#[derive(Debug, Clone, Copy)]
pub struct ReadPowerSaving;

impl AtCommand for ReadPowerSaving {
    type Response = PowerSaving;
    fn text(&self) -> String {
        "AT+UPSV?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UPSV")
    }
    fn parse(&self, r: &Response) -> Result<PowerSaving, ParseError> {
        let line = r.line("+UPSV")?;
        let f = Fields::parse(line, "+UPSV")?;
        match f.int(0)? {
            0 => Ok(PowerSaving::Off),
            1 => {
                let ms = u64::try_from(f.int(1)?)
                    .map_err(|_| ParseError::new(line, "negative timeout"))?;
                let deepest = SleepMode::from_code(f.int(2)?)
                    .ok_or_else(|| ParseError::new(line, "unknown deepest sleep mode"))?;
                Ok(PowerSaving::On {
                    timeout: Duration::from_millis(ms),
                    deepest,
                })
            }
            _ => Err(ParseError::new(line, "unknown power saving mode")),
        }
    }
}

/// `AT+USLPVOTE=1,<level>`: what a vote down blocks: `level` and every
/// deeper state (§6.1.4, §7.1.2.1: `1,2` blocks Sleep-1 and deeper; "needed
/// only for the first configuration").
#[derive(Debug, Clone, Copy)]
pub struct ConfigureVote {
    pub level: SleepMode,
}

ok_command!(ConfigureVote, |c| format!(
    "AT+USLPVOTE=1,{}",
    c.level.code()
));

/// `AT+USLPVOTE=0,0` (down: stay awake) / `AT+USLPVOTE=0,1` (up: sleep
/// allowed) (§6.1.4, §7.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    Down,
    Up,
}

ok_command!(Vote, |c| {
    match c {
        Vote::Down => "AT+USLPVOTE=0,0".into(),
        Vote::Up => "AT+USLPVOTE=0,1".into(),
    }
});

/// The deep-sleep states that report URCs (§5.10.2). Sleep-1 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeepSleep {
    Sleep2,
    Hibernate,
}

impl DeepSleep {
    pub fn mode(self) -> SleepMode {
        match self {
            DeepSleep::Sleep2 => SleepMode::Sleep2,
            DeepSleep::Hibernate => SleepMode::Hibernate,
        }
    }
}

/// `AT+USLPURC="SLEEP2",<0|1>` / `AT+USLPURC="HIBNATE",<0|1>`: report
/// entering and leaving that state with `+UUSLPURC` (§5.10.2).
#[derive(Debug, Clone, Copy)]
pub struct SetSleepUrc {
    pub state: DeepSleep,
    pub enabled: bool,
}

ok_command!(SetSleepUrc, |c| {
    let name = match c.state {
        DeepSleep::Sleep2 => "SLEEP2",
        DeepSleep::Hibernate => "HIBNATE",
    };
    format!("AT+USLPURC=\"{name}\",{}", u8::from(c.enabled))
});

/// The `+UUSBCONF` profile that turns the module's USB off (`[lib]`).
pub const USB_OFF: u8 = 99;

/// `AT+UUSBCONF?` -> `+UUSBCONF: <n>[,...]`: the module's USB profile
/// (`[lib]`: `lexi-r10-notes.md`, Power; the application note does not
/// cover it). Only the first field is read: firmwares answer with more
/// fields after it (e.g. `+UUSBCONF: 99,"",,`) whose meaning we do not
/// need, and a quirk there must not hide the one value that matters.
#[derive(Debug, Clone, Copy)]
pub struct ReadUsbProfile;

impl AtCommand for ReadUsbProfile {
    type Response = u8;
    fn text(&self) -> String {
        "AT+UUSBCONF?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UUSBCONF")
    }
    fn parse(&self, r: &Response) -> Result<u8, ParseError> {
        let line = r.line("+UUSBCONF")?;
        // Split by hand rather than with `Fields`: the rest of the line is
        // not ours to validate.
        let rest = line
            .bytes
            .iter()
            .position(|&b| b == b':')
            .map(|colon| &line.bytes[colon + 1..])
            .ok_or_else(|| ParseError::new(line, "no `:` after the prefix"))?;
        let first = rest.split(|&b| b == b',').next().unwrap_or_default();
        std::str::from_utf8(first)
            .ok()
            .map(str::trim)
            .and_then(|n| n.parse::<u8>().ok())
            .ok_or_else(|| ParseError::new(line, "the USB profile is not a number 0-255"))
    }
}

/// `AT+UUSBCONF=<n>`: select the module's USB profile; 99 turns USB off,
/// which Sleep-2 and Hibernate need on a module whose USB is connected
/// (`[lib]`: `lexi-r10-notes.md`, Power). u-blox modules keep it in NVM, so
/// only [`crate::power::PowerManager`] sends it, after reading it.
#[derive(Debug, Clone, Copy)]
pub struct SetUsbProfile(pub u8);

ok_command!(SetUsbProfile, |c| format!("AT+UUSBCONF={}", c.0));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_texts_follow_the_note() {
        let on = PowerSaving::On {
            timeout: Duration::from_secs(5),
            deepest: SleepMode::Hibernate,
        };
        assert_eq!(SetPowerSaving(on).text(), "AT+UPSV=1,5000,4");
        assert_eq!(SetPowerSaving(PowerSaving::Off).text(), "AT+UPSV=0");
        assert_eq!(
            ConfigureVote {
                level: SleepMode::Sleep1
            }
            .text(),
            "AT+USLPVOTE=1,2"
        );
        assert_eq!(Vote::Down.text(), "AT+USLPVOTE=0,0");
        assert_eq!(Vote::Up.text(), "AT+USLPVOTE=0,1");
        let urc = |state, enabled| SetSleepUrc { state, enabled }.text();
        assert_eq!(urc(DeepSleep::Sleep2, true), "AT+USLPURC=\"SLEEP2\",1");
        assert_eq!(urc(DeepSleep::Hibernate, true), "AT+USLPURC=\"HIBNATE\",1");
        assert_eq!(urc(DeepSleep::Hibernate, false), "AT+USLPURC=\"HIBNATE\",0");
        assert_eq!(SetUsbProfile(USB_OFF).text(), "AT+UUSBCONF=99");
        assert_eq!(SetUsbProfile(0).text(), "AT+UUSBCONF=0");
        assert_eq!(ReadUsbProfile.text(), "AT+UUSBCONF?");
    }

    #[test]
    fn the_power_saving_read_is_typed() {
        let read = |lines: &[&str]| ReadPowerSaving.parse(&Response::from_lines(lines));
        assert_eq!(
            read(&["+UPSV: 1,5000,3"]).unwrap(),
            PowerSaving::On {
                timeout: Duration::from_secs(5),
                deepest: SleepMode::Sleep2
            }
        );
        assert_eq!(read(&["+UPSV: 0"]).unwrap(), PowerSaving::Off);
        assert!(read(&["+UPSV: 1,5000,9"]).is_err());
        assert!(read(&["+UPSV: 1,-5,4"]).is_err());
        assert!(read(&["+UPSV: 7"]).is_err());
        assert!(read(&[]).is_err());
    }

    #[test]
    fn the_usb_profile_read_takes_the_first_number_and_ignores_the_rest() {
        let read = |lines: &[&str]| ReadUsbProfile.parse(&Response::from_lines(lines));
        assert_eq!(read(&["+UUSBCONF: 99"]).unwrap(), 99);
        assert_eq!(read(&["+UUSBCONF: 0"]).unwrap(), 0);
        assert_eq!(read(&["+UUSBCONF:3"]).unwrap(), 3);
        assert_eq!(read(&["+UUSBCONF: 99,\"\",,"]).unwrap(), 99);
        assert_eq!(read(&["+UUSBCONF: 2,\"RNDIS\",\"unterminated"]).unwrap(), 2);
        assert_eq!(read(&["+UUSBCONF:  99 ,,"]).unwrap(), 99);
        for bad in [
            &["+UUSBCONF: "][..],
            &["+UUSBCONF: ,99"],
            &["+UUSBCONF: \"99\""],
            &["+UUSBCONF: -1"],
            &["+UUSBCONF: 256"],
            &["+UUSBCONF: x"],
            &[],
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_deep_states_lose_volatile_state() {
        assert!(!SleepMode::Sleep1.loses_volatile_state());
        assert!(SleepMode::Sleep2.loses_volatile_state());
        assert!(SleepMode::Hibernate.loses_volatile_state());
        assert!(SleepMode::Sleep1 < SleepMode::Hibernate);
    }
}
