//! The `+CCLK` time text, `yy/MM/dd,hh:mm:ss±zz` (3GPP TS 27.007 §8.15, the
//! notes' "Time"): the local date and time, then the zone as its offset from
//! UTC in quarter hours with a sign (`+04` is UTC+1). UTC = local time - zz x
//! 15 min. The module quotes it on the wire; this file handles the text
//! between the quotes.

use std::ops::RangeInclusive;

use super::civil::DateTime;

/// Zone offsets the text can carry, in quarter hours: UTC-12:00 to
/// UTC+14:00, the zones in use (27.007 gives -48..+56 for `+CTZR`).
pub const TZ_QUARTERS: RangeInclusive<i8> = -48..=56;

/// Seconds in a quarter hour.
pub const QUARTER_HOUR_S: i64 = 15 * 60;

/// The first year `yy` stands for: `[model]` 00..99 are 2000..2099 (the
/// years a module set by a network today can show).
const CENTURY: i64 = 2000;

/// `local_s` (the local date and time, counted in seconds since 1970-01-01
/// 00:00:00 as if it were UTC) and the zone, as `+CCLK` shows them. A year
/// outside 2000..2099 shows its last two digits `[model]`.
pub fn format(local_s: i64, tz_quarters: i8) -> String {
    let t = DateTime::from_unix_seconds(local_s);
    let sign = if tz_quarters < 0 { '-' } else { '+' };
    format!(
        "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}",
        t.year.rem_euclid(100),
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        tz_quarters.unsigned_abs()
    )
}

/// The text of an `AT+CCLK=` back into (local seconds, zone); `None` unless
/// it is exactly `yy/MM/dd,hh:mm:ss±zz`, two digits each, a date that
/// exists and a zone in [`TZ_QUARTERS`].
pub fn parse(text: &str) -> Option<(i64, i8)> {
    let bytes = text.as_bytes();
    // yy/MM/dd,hh:mm:ss±zz: seven two-digit fields and their separators.
    const SEPARATORS: [(usize, u8); 5] = [(2, b'/'), (5, b'/'), (8, b','), (11, b':'), (14, b':')];
    if bytes.len() != 20 || SEPARATORS.iter().any(|&(at, sep)| bytes[at] != sep) {
        return None;
    }
    let field = |at: usize| -> Option<u8> {
        let (tens, ones) = (bytes[at], bytes[at + 1]);
        (tens.is_ascii_digit() && ones.is_ascii_digit()).then(|| (tens - b'0') * 10 + (ones - b'0'))
    };
    let date = DateTime {
        year: CENTURY + i64::from(field(0)?),
        month: field(3)?,
        day: field(6)?,
        hour: field(9)?,
        minute: field(12)?,
        second: field(15)?,
    };
    let magnitude = i8::try_from(field(18)?).ok()?;
    let tz_quarters = match bytes[17] {
        b'+' => magnitude,
        b'-' => -magnitude,
        _ => return None,
    };
    if !TZ_QUARTERS.contains(&tz_quarters) {
        return None;
    }
    Some((date.to_unix_seconds()?, tz_quarters))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 20:15:30 UTC.
    const UTC: i64 = 1_796_415_330;

    fn local(utc: i64, tz_quarters: i8) -> i64 {
        utc + i64::from(tz_quarters) * QUARTER_HOUR_S
    }

    #[test]
    fn formats_local_time_and_the_zone_in_quarter_hours() {
        // The brief's example: UTC+1 is +04.
        assert_eq!(format(local(UTC, 4), 4), "26/12/04,21:15:30+04");
        assert_eq!(format(UTC, 0), "26/12/04,20:15:30+00");
        // UTC-5 (New York in winter): the day before, a negative zone.
        assert_eq!(format(local(UTC, -20), -20), "26/12/04,15:15:30-20");
        // UTC-9:30 (Marquesas), two-digit magnitude with its sign.
        assert_eq!(format(local(UTC, -38), -38), "26/12/04,10:45:30-38");
        // UTC+14 (Kiribati) crosses into the next day.
        assert_eq!(format(local(UTC, 56), 56), "26/12/05,10:15:30+56");
        // A negative zone of under an hour still has two digits.
        assert_eq!(format(local(UTC, -2), -2), "26/12/04,19:45:30-02");
    }

    #[test]
    fn two_digit_years_from_2000() {
        // 2000-01-01 00:00:00, 2009-03-05 07:08:09, 2099-12-31 23:59:59.
        assert_eq!(format(946_684_800, 0), "00/01/01,00:00:00+00");
        assert_eq!(format(1_236_236_889, 0), "09/03/05,07:08:09+00");
        assert_eq!(format(4_102_444_799, 0), "99/12/31,23:59:59+00");
        // The module's default date.
        assert_eq!(format(1_420_070_400, 0), "15/01/01,00:00:00+00");
    }

    #[test]
    fn parse_is_the_inverse_of_format() {
        for (local_s, tz) in [
            (local(UTC, 4), 4),
            (local(UTC, -20), -20),
            (946_684_800, 0),
            (4_102_444_799, -48),
            (1_236_236_889, 56),
        ] {
            let text = format(local_s, tz);
            assert_eq!(parse(&text), Some((local_s, tz)), "{text}");
        }
        assert_eq!(parse("26/12/04,21:15:30-00"), Some((local(UTC, 4), 0)));
    }

    #[test]
    fn bad_text_is_refused() {
        for text in [
            "",
            "26/12/04,21:15:30",
            "26/12/04,21:15:30+4",
            "26/12/04,21:15:30+004",
            "2026/12/04,21:15:30+04",
            "26-12-04,21:15:30+04",
            "26/12/04 21:15:30+04",
            "26/13/04,21:15:30+04",
            "26/00/04,21:15:30+04",
            "26/02/29,21:15:30+04",
            "26/04/31,21:15:30+04",
            "26/12/00,21:15:30+04",
            "26/12/04,24:00:00+04",
            "26/12/04,21:60:30+04",
            "26/12/04,21:15:60+04",
            "26/12/04,21:15:30+57",
            "26/12/04,21:15:30-49",
            "26/12/04,21:15:30*04",
            "2a/12/04,21:15:30+04",
            "26/12/04,21:15:30+0x",
            "26/12/04,21:15:3é+04",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
        // 2028 is a leap year.
        assert!(parse("28/02/29,00:00:00+00").is_some());
    }
}
