//! The module's clock: network time and time zone updates (`+CTZU`) and the
//! real-time clock (`+CCLK`). The application note does not describe them;
//! they follow 3GPP TS 27.007 §8.15 (`+CCLK`) and u-blox's host library
//! (`[lib]` in `lexi-r10-notes.md`, "Time"), which sends `AT+CTZU=1` at
//! start and reads `AT+CCLK?` once registered.
//!
//! A module reports a default date until the network has set its clock
//! (host libraries see years such as 2080, 2015 or 2004), so a reading is
//! only believed when [`is_plausible`] says so (2020 to 2079).

use super::at::command::ok_command;
use super::at::{AtCommand, Fields, ParseError, Response};

pub use crate::reading::is_plausible_time as is_plausible;

/// `AT+CTZU?`: whether the module takes time and time zone from the network.
#[derive(Debug, Clone, Copy)]
pub struct ReadTimeZoneUpdate;

impl AtCommand for ReadTimeZoneUpdate {
    type Response = bool;
    fn text(&self) -> String {
        "AT+CTZU?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CTZU")
    }
    fn parse(&self, r: &Response) -> Result<bool, ParseError> {
        let line = r.line("+CTZU")?;
        let fields = Fields::parse(line, "+CTZU")?;
        Ok(fields.int(0)? != 0)
    }
}

/// `AT+CTZU=<0|1>`: automatic time zone and time update from the network
/// (NITZ). Kept in the module's NVM on u-blox modules (`[lib]`), so the
/// agent reads it first and writes only when it is off.
#[derive(Debug, Clone, Copy)]
pub struct SetTimeZoneUpdate(pub bool);

ok_command!(SetTimeZoneUpdate, |c| format!("AT+CTZU={}", u8::from(c.0)));

/// What `AT+CCLK?` said: the module's local time and its offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleTime {
    /// UTC, in seconds since the epoch.
    pub utc_s: i64,
    /// The time zone the network reported, in quarter hours east of UTC.
    pub zone_quarters: i32,
}

impl ModuleTime {
    /// UTC in ns since the epoch.
    pub fn utc_ns(&self) -> i64 {
        self.utc_s.saturating_mul(1_000_000_000)
    }

    /// Whether this is the network's time rather than a default date.
    pub fn is_plausible(&self) -> bool {
        is_plausible(self.utc_ns())
    }
}

/// `AT+CCLK?` -> `+CCLK: "yy/MM/dd,hh:mm:ss±zz"`: local time with the zone
/// in quarter hours (27.007 §8.15); UTC = local - zz x 15 min. A module
/// without a zone (`"yy/MM/dd,hh:mm:ss"`, some networks send none) is read
/// as UTC.
#[derive(Debug, Clone, Copy)]
pub struct ReadClock;

impl AtCommand for ReadClock {
    type Response = ModuleTime;
    fn text(&self) -> String {
        "AT+CCLK?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CCLK")
    }
    fn parse(&self, r: &Response) -> Result<ModuleTime, ParseError> {
        let line = r.line("+CCLK")?;
        let fields = Fields::parse(line, "+CCLK")?;
        let text = fields.str(0)?;
        parse_cclk(text).map_err(|reason| ParseError::new(line, reason))
    }
}

/// Parses the quoted text of a `+CCLK` answer: `yy/MM/dd,hh:mm:ss±zz`.
pub fn parse_cclk(text: &str) -> Result<ModuleTime, String> {
    let bad =
        |what: &str| format!("{what} in the clock {text:?} (expected \"yy/MM/dd,hh:mm:ss+zz\")");
    let (date, rest) = text.split_once(',').ok_or_else(|| bad("no comma"))?;
    let (time, zone) = match rest.find(['+', '-']) {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let numbers = |part: &str, what: &str| -> Result<[i64; 3], String> {
        let mut out = [0i64; 3];
        let mut pieces = part.split(['/', ':']);
        for slot in &mut out {
            let piece = pieces.next().ok_or_else(|| bad(what))?;
            if piece.is_empty() || piece.len() > 2 || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(what));
            }
            *slot = piece.parse().map_err(|_| bad(what))?;
        }
        if pieces.next().is_some() {
            return Err(bad(what));
        }
        Ok(out)
    };
    let [yy, month, day] = numbers(date, "a bad date")?;
    let [hour, minute, second] = numbers(time, "a bad time")?;
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(2000 + yy, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad("an impossible date or time"));
    }
    let zone_quarters = match zone {
        None => 0,
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits = &z[1..];
            if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad("a bad time zone"));
            }
            let q: i32 = digits.parse().map_err(|_| bad("a bad time zone"))?;
            if q > 56 {
                return Err(bad("a time zone beyond ±14 h"));
            }
            sign * q
        }
    };
    let local_s =
        days_from_civil(2000 + yy, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Ok(ModuleTime {
        utc_s: local_s - i64::from(zone_quarters) * 900,
        zone_quarters,
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_local_time_with_a_zone_in_quarter_hours() {
        // 2026-12-04 22:15:30 at UTC+1 is 21:15:30 UTC.
        let t = parse_cclk("26/12/04,22:15:30+04").unwrap();
        assert_eq!(t.utc_s, 1_796_418_930);
        assert_eq!(t.zone_quarters, 4);
        // West of UTC: 2024-02-29 03:00 at UTC-3:30 is 06:30 UTC.
        let t = parse_cclk("24/02/29,03:00:00-14").unwrap();
        assert_eq!(t.utc_s, 1_709_188_200);
        // A day boundary crossed by the zone: 00:30 at UTC+2 is 22:30 UTC
        // the day before.
        let t = parse_cclk("25/01/01,00:30:00+08").unwrap();
        assert_eq!(t.utc_s, 1_735_684_200);
        // No zone: read as UTC.
        assert_eq!(
            parse_cclk("25/01/01,00:00:00").unwrap().utc_s,
            1_735_689_600
        );
    }

    #[test]
    fn the_modules_default_dates_are_not_plausible() {
        for default in [
            "80/01/06,00:00:00+00",
            "15/01/01,00:00:12+00",
            "04/01/01,00:00:00+00",
        ] {
            let t = parse_cclk(default).unwrap();
            assert!(!t.is_plausible(), "{default}");
        }
        assert!(parse_cclk("26/12/04,22:15:30+04").unwrap().is_plausible());
        assert!(!is_plausible(86_400_000_000_000), "1970-01-02");
        assert!(is_plausible(1_796_418_930_000_000_000));
    }

    #[test]
    fn malformed_clocks_are_refused_with_the_text() {
        for bad in [
            "",
            "26/12/04 22:15:30",
            "26/13/04,22:15:30+04",
            "26/02/30,22:15:30+04",
            "26/12/04,24:00:00+04",
            "26/12/04,22:15+04",
            "26/12/04,22:15:30+",
            "26/12/04,22:15:30+99",
            "2026/12/04,22:15:30+04",
            "26/12/04,22:15:30+04x",
        ] {
            let e = parse_cclk(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn the_answers_parse_from_the_modules_lines() {
        let r = Response::from_lines(&["+CCLK: \"26/12/04,22:15:30+04\""]);
        assert_eq!(ReadClock.parse(&r).unwrap().utc_s, 1_796_418_930);
        let r = Response::from_lines(&["+CTZU: 1"]);
        assert!(ReadTimeZoneUpdate.parse(&r).unwrap());
        let r = Response::from_lines(&["+CTZU: 0"]);
        assert!(!ReadTimeZoneUpdate.parse(&r).unwrap());
        assert_eq!(SetTimeZoneUpdate(true).text(), "AT+CTZU=1");
    }
}
