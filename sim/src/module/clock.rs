//! The module's clock and network time: `+CTZU`, `+CCLK`.
//!
//! The notes' "Time" (`[lib]` ubxlib, other host drivers): a host sends
//! `AT+CTZU=1` (automatic time and zone update from the network) at start-up
//! and reads `AT+CCLK?` after registration: `+CCLK: "yy/MM/dd,hh:mm:ss±zz"`,
//! local time, `zz` the zone in quarter hours (`cclk.rs`). Before the network
//! set it, modules report a default date; the clock is lost at power off.
//!
//! Model:
//! - The clock is a local time and zone set at one instant and running on
//!   from there. `[model]` Every boot (reboot, power on) starts it at
//!   2015-01-01 00:00:00, zone +00, counting up from the start of the boot
//!   (one of the defaults host libraries report).
//! - `[model]` Sleep-2 and Hibernate keep it running (the RTC is what wakes
//!   the module from PSM); a power cut loses it (the notes).
//! - `AT+CCLK="yy/MM/dd,hh:mm:ss±zz"` sets it by hand (time and zone).
//! - Network time: `[model]` the network sends its time and zone (NITZ)
//!   when the module registers (stat 2 -> 1 or 5); with `+CTZU` 1 the module
//!   takes it. `[model]` turning `+CTZU` on while registered takes the
//!   network's time at once, as if the network had just sent it. What the
//!   network sends comes from [`SimConfig::network_time`] and
//!   [`SimConfig::network_tz_quarters`]; a network that sends no time
//!   ([`NetworkTime::None`]) leaves the clock as it is. The network's time
//!   is not sent again until the next registration, so a clock set by hand
//!   afterwards stays as set.
//! - `[model]` `+CTZU` is kept in NVM (u-blox modules keep it there; not
//!   confirmed for LEXI-R10), factory 0: a boot keeps what the host set.
//!   Turning it off keeps the time the clock has.
//! - `[model]` every clock runs at real (tokio) time: `time_scale` shortens
//!   the module's own delays, it does not make clocks run faster. With
//!   tokio's paused clock the clock follows the paused time.
//! - `[model]` no `+CTZV`/`+CTZE` URCs (`+CTZR` is not modelled).
//!
//! Wire forms: `AT+CTZU=<0|1>`, `AT+CTZU?` -> `+CTZU: <n>`; `AT+CCLK?` ->
//! `+CCLK: "<time>"`; `AT+CCLK="<time>"`. `[model]` test forms (`=?`) and a
//! `+CCLK` text other than exactly `yy/MM/dd,hh:mm:ss±zz` with a real date
//! and a zone in -48..=56 answer CME 50 / CME 4 as elsewhere.

mod cclk;
pub(super) mod civil;

use std::time::{Duration, Instant};

use super::{bad_param, unsupported, Module};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::config::{NetworkTime, SimConfig};

pub use cclk::{QUARTER_HOUR_S, TZ_QUARTERS};

/// `[model]` the date a booted module's clock starts at: 2015-01-01
/// 00:00:00 (seconds since the Unix epoch), zone +00.
const DEFAULT_DATE_S: i64 = 1_420_070_400;

/// Where the time on the module's clock came from (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// The default date, counting up since the last boot.
    Default,
    /// `AT+CCLK=` set it.
    Host,
    /// The network's time (`+CTZU` 1, registered).
    Network,
}

/// The module's real-time clock: a local time and zone at one instant,
/// running on from there. Kept in milliseconds so a network time with a
/// fraction of a second does not drift by it.
#[derive(Debug, Clone)]
pub(super) struct Rtc {
    /// The local time at `base`, in milliseconds since 1970-01-01 00:00:00
    /// as if it were UTC.
    local_ms_at_base: i64,
    base: Instant,
    tz_quarters: i8,
    source: ClockSource,
}

impl Rtc {
    /// The clock a boot starting at `now` gives.
    pub(super) fn after_boot(now: Instant) -> Rtc {
        Rtc {
            local_ms_at_base: DEFAULT_DATE_S * 1000,
            base: now,
            tz_quarters: 0,
            source: ClockSource::Default,
        }
    }

    fn set(&mut self, now: Instant, local_ms: i64, tz_quarters: i8, source: ClockSource) {
        *self = Rtc {
            local_ms_at_base: local_ms,
            base: now,
            tz_quarters,
            source,
        };
    }

    /// The local time at `now`, in milliseconds (see `local_ms_at_base`).
    fn local_ms(&self, now: Instant) -> i64 {
        self.local_ms_at_base
            .saturating_add(millis(now.saturating_duration_since(self.base)))
    }

    /// The `+CCLK` text (without quotes) at `now`.
    fn reading(&self, now: Instant) -> String {
        cclk::format(self.local_ms(now).div_euclid(1000), self.tz_quarters)
    }

    /// UTC at `now` as the clock has it (its local time less its zone), in
    /// seconds since the epoch: what the module checks certificate dates
    /// against (`security`).
    pub(super) fn utc_seconds(&self, now: Instant) -> i64 {
        let offset_s = i64::from(self.tz_quarters) * QUARTER_HOUR_S;
        self.local_ms(now).div_euclid(1000).saturating_sub(offset_s)
    }

    pub(super) fn source(&self) -> ClockSource {
        self.source
    }
}

/// What the network sends as its time, fixed when the simulator starts.
#[derive(Debug, Clone, Copy)]
pub(super) struct NetworkClock {
    /// UTC in milliseconds since the epoch at `started`; `None`: the
    /// network sends no time.
    utc_ms_at_start: Option<i64>,
    started: Instant,
    tz_quarters: i8,
}

impl NetworkClock {
    /// `host_utc`: the host's UTC at `started` (used by [`NetworkTime::Host`]).
    pub(super) fn new(cfg: &SimConfig, host_utc: Duration, started: Instant) -> Self {
        let utc_ms_at_start = match cfg.network_time {
            NetworkTime::Host => Some(millis(host_utc)),
            NetworkTime::Fixed {
                utc_at_start_unix_s,
            } => Some(utc_at_start_unix_s.saturating_mul(1000)),
            NetworkTime::None => None,
        };
        NetworkClock {
            utc_ms_at_start,
            started,
            tz_quarters: cfg.network_tz_quarters,
        }
    }

    /// The local time (ms) the network sends at `now`, and its zone.
    fn local_ms(&self, now: Instant) -> Option<(i64, i8)> {
        let utc_ms = self
            .utc_ms_at_start?
            .saturating_add(millis(now.saturating_duration_since(self.started)));
        let offset_ms = i64::from(self.tz_quarters) * QUARTER_HOUR_S * 1000;
        Some((utc_ms.saturating_add(offset_ms), self.tz_quarters))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Module {
    /// `+CTZU=<0|1>` (NVM), `+CTZU?`.
    pub(super) fn ctzu(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+CTZU: {}", u8::from(self.nvm.ctzu)));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let on = match params.required_int(0).map_err(bad_param)? {
                    0 => false,
                    1 => true,
                    _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                };
                let turned_on = on && !self.nvm.ctzu;
                self.update_nvm(|nvm| nvm.ctzu = on);
                if turned_on && self.radio.stat.is_registered() {
                    self.take_network_time(now);
                }
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+CCLK?`, `+CCLK="yy/MM/dd,hh:mm:ss±zz"`.
    pub(super) fn cclk(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+CCLK: \"{}\"", self.clock.reading(now)));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let text = params.required_string(0).map_err(bad_param)?;
                let (local_s, tz_quarters) =
                    cclk::parse(text).ok_or(CmeError::INCORRECT_PARAMETERS)?;
                self.clock
                    .set(now, local_s * 1000, tz_quarters, ClockSource::Host);
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// The module registered: the network sends its time, taken with
    /// `+CTZU` 1. The radio chapter calls it.
    pub(super) fn network_time_on_registration(&mut self, now: Instant) {
        if self.nvm.ctzu {
            self.take_network_time(now);
        }
    }

    /// Sets the clock to the network's time, if the network sends one.
    fn take_network_time(&mut self, now: Instant) {
        if let Some((local_ms, tz_quarters)) = self.network_clock.local_ms(now) {
            self.clock
                .set(now, local_ms, tz_quarters, ClockSource::Network);
        }
    }
}
