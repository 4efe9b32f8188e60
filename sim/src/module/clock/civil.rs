//! Calendar arithmetic for the module's clock: seconds since the Unix epoch
//! to a civil date and time (proleptic Gregorian calendar) and back.
//!
//! Written here rather than taken from chrono or time: the clock needs two
//! conversions, Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (public domain, <https://howardhinnant.github.io/date_algorithms.html>),
//! a few lines each; a date crate would add a dependency for them alone.

/// Seconds in a civil day (no leap seconds, as in Unix time).
pub const SECONDS_PER_DAY: i64 = 86_400;

/// A date and a time of day, without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl DateTime {
    /// The date and time `seconds` after 1970-01-01 00:00:00 (before it
    /// when negative). Total: every `i64` has a date.
    pub fn from_unix_seconds(seconds: i64) -> DateTime {
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        // of_day < 86 400, so each part fits a u8.
        DateTime {
            year,
            month,
            day,
            hour: (of_day / 3600) as u8,
            minute: (of_day % 3600 / 60) as u8,
            second: (of_day % 60) as u8,
        }
    }

    /// Seconds since 1970-01-01 00:00:00; `None` when a field is out of
    /// range (month 13, 30 February, hour 24, ...) or the result overflows.
    pub fn to_unix_seconds(self) -> Option<i64> {
        let valid = (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60;
        if !valid {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day)?;
        let of_day =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        days.checked_mul(SECONDS_PER_DAY)?.checked_add(of_day)
    }
}

/// Days in `month` (1..=12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days from 1970-01-01 to `year-month-day` (a valid date). The calendar
/// repeats every 400 years (an era, 146 097 days); years start on 1 March
/// so the leap day is the last day of a year.
fn days_from_civil(year: i64, month: u8, day: u8) -> Option<i64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era.checked_mul(146_097)?
        .checked_add(day_of_era)?
        .checked_sub(719_468)
}

/// The inverse of [`days_from_civil`]: (year, month, day) of a day count.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    // 719 468 days from 0000-03-01 to 1970-01-01. `days` comes from seconds
    // divided by 86 400, far from overflowing.
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i64, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn known_instants() {
        // Values checked with Python's datetime.
        let cases = [
            (0, at(1970, 1, 1, 0, 0, 0)),
            (951_782_400, at(2000, 2, 29, 0, 0, 0)),
            (946_684_799, at(1999, 12, 31, 23, 59, 59)),
            (1_420_070_400, at(2015, 1, 1, 0, 0, 0)),
            (1_709_164_800, at(2024, 2, 29, 0, 0, 0)),
            (1_796_415_330, at(2026, 12, 4, 20, 15, 30)),
            (4_107_542_399, at(2100, 2, 28, 23, 59, 59)),
            (4_107_542_400, at(2100, 3, 1, 0, 0, 0)),
            (-1, at(1969, 12, 31, 23, 59, 59)),
            (-11_644_473_600, at(1601, 1, 1, 0, 0, 0)),
        ];
        for (seconds, date) in cases {
            assert_eq!(DateTime::from_unix_seconds(seconds), date, "{seconds}");
            assert_eq!(date.to_unix_seconds(), Some(seconds), "{date:?}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_and_follows_the_previous() {
        // 1900..2300 covers both kinds of century year (2000 leap, 1900,
        // 2100, 2200 not).
        let first = at(1900, 1, 1, 12, 0, 0).to_unix_seconds().unwrap();
        let mut previous = DateTime::from_unix_seconds(first - SECONDS_PER_DAY);
        for n in 0..146_097 {
            let seconds = first + n * SECONDS_PER_DAY;
            let date = DateTime::from_unix_seconds(seconds);
            assert_eq!(date.to_unix_seconds(), Some(seconds));
            let next_of_previous = if previous.day < days_in_month(previous.year, previous.month) {
                (previous.year, previous.month, previous.day + 1)
            } else if previous.month < 12 {
                (previous.year, previous.month + 1, 1)
            } else {
                (previous.year + 1, 1, 1)
            };
            assert_eq!((date.year, date.month, date.day), next_of_previous);
            previous = date;
        }
        assert_eq!(previous.year, 2299);
    }

    #[test]
    fn impossible_dates_have_no_seconds() {
        for date in [
            at(2023, 2, 29, 0, 0, 0),
            at(2100, 2, 29, 0, 0, 0),
            at(2026, 4, 31, 0, 0, 0),
            at(2026, 13, 1, 0, 0, 0),
            at(2026, 0, 1, 0, 0, 0),
            at(2026, 1, 0, 0, 0, 0),
            at(2026, 1, 1, 24, 0, 0),
            at(2026, 1, 1, 0, 60, 0),
            at(2026, 1, 1, 0, 0, 60),
            at(i64::MAX, 1, 1, 0, 0, 0),
        ] {
            assert_eq!(date.to_unix_seconds(), None, "{date:?}");
        }
        assert_eq!(
            at(2000, 2, 29, 0, 0, 0).to_unix_seconds(),
            Some(951_782_400)
        );
    }

    #[test]
    fn extreme_seconds_do_not_panic() {
        for seconds in [i64::MIN, i64::MAX, i64::MIN / 2, i64::MAX / 2] {
            let date = DateTime::from_unix_seconds(seconds);
            assert!((1..=12).contains(&date.month), "{date:?}");
        }
    }
}
