//! A span of time written the way people write it in a config file.
//!
//! Accepted: a sequence of `<integer><unit>` with the units `d`, `h`, `m`,
//! `s`, `ms`, largest first and each at most once (`"250ms"`, `"10s"`,
//! `"5m"`, `"1h"`, `"2d"`, `"1m30s"`), or a bare integer meaning seconds
//! (`30`, or `"30"` from an environment variable). It prints back in the same
//! form, with the largest units first (`90` prints as `"1m30s"`).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The forms [`Duration`] accepts, quoted in every error message.
pub const ACCEPTED_FORMS: &str = r#""250ms", "10s", "5m", "1h", "2d", a combination such as "1m30s", or an integer number of seconds"#;

/// Units from largest to smallest: the order in which they must appear.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// A non-negative span of time with millisecond resolution.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// Why a duration text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason}; use {ACCEPTED_FORMS}")]
pub struct ParseDurationError {
    text: String,
    reason: String,
}

impl Duration {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(std::time::Duration::from_millis(millis))
    }

    /// The span as a standard library duration (for timers and deadlines).
    pub const fn get(self) -> std::time::Duration {
        self.0
    }

    /// True for a zero-length span.
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ParseDurationError {
            text: text.to_owned(),
            reason,
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(fail("it is empty".into()));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            let secs = s
                .parse::<u64>()
                .map_err(|_| fail("the number is too large".into()))?;
            return Ok(Duration::from_secs(secs));
        }

        let mut rest = s;
        let mut total: u64 = 0;
        // Index into UNITS of the last unit seen: later units must be smaller.
        let mut last_unit: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail(format!("expected a number at {rest:?}")));
            }
            let (number, after) = rest.split_at(digits);
            if after.starts_with(['.', ',']) {
                return Err(fail(
                    "fractions are not supported; use a smaller unit (\"1s500ms\", not \"1.5s\")"
                        .into(),
                ));
            }
            let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
            let (unit, after) = after.split_at(letters);
            if unit.is_empty() {
                return Err(fail(format!("the number {number} has no unit")));
            }
            let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(fail(format!("unknown unit {unit:?}")));
            };
            if last_unit.is_some_and(|last| index <= last) {
                return Err(fail(format!(
                    "unit {unit:?} repeated or out of order (largest unit first)"
                )));
            }
            last_unit = Some(index);
            let millis = number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(UNITS[index].1))
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(|| fail("it is too long".into()))?;
            total = millis;
            rest = after;
        }
        Ok(Duration::from_millis(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Millisecond resolution: anything finer was never parsed.
        let mut left = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if left == 0 {
            return f.write_str("0s");
        }
        for (name, size) in UNITS {
            let count = left / size;
            if count > 0 {
                write!(f, "{count}{name}")?;
                left %= size;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({self})")
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration: {ACCEPTED_FORMS}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v).map(Duration::from_secs).map_err(|_| {
                    E::custom(format!(
                        "invalid duration {v}: it is negative; use {ACCEPTED_FORMS}"
                    ))
                })
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

/// `deserialize_with` helper for durations that must be longer than zero
/// (timeouts: a zero deadline would fail every operation at once).
pub(crate) fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let d = Duration::deserialize(deserializer)?;
    if d.is_zero() {
        return Err(de::Error::custom(
            "a zero duration is not allowed here (it would expire at once)",
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Duration, ParseDurationError> {
        s.parse()
    }

    #[test]
    fn accepts_each_unit_and_combinations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h2m3s4ms"), Ok(Duration::from_millis(3_723_004)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
    }

    #[test]
    fn prints_back_in_the_human_form() {
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_secs(180).to_string(), "3m");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration::from_millis(1_500).to_string(), "1s500ms");
        assert_eq!(Duration::from_secs(0).to_string(), "0s");
        assert_eq!(Duration::from_secs(172_800).to_string(), "2d");
        for text in ["1h2m3s4ms", "10s", "2d", "250ms"] {
            assert_eq!(parse(text).map(|d| d.to_string()).as_deref(), Ok(text));
        }
    }

    #[test]
    fn rejects_bad_text_saying_why_and_showing_the_accepted_forms() {
        for (text, why) in [
            ("", "empty"),
            ("10x", "unknown unit \"x\""),
            ("1.5s", "fractions are not supported"),
            ("1.5", "fractions are not supported"),
            ("s", "expected a number"),
            ("10 s", "has no unit"),
            ("30s1m", "out of order"),
            ("1s1s", "repeated"),
            ("-5s", "expected a number"),
            ("99999999999999999999s", "too long"),
            ("999999999999999999d", "too long"),
        ] {
            let message = match parse(text) {
                Ok(d) => panic!("{text:?} was accepted as {d}"),
                Err(e) => e.to_string(),
            };
            assert!(message.contains(why), "{text:?}: {message}");
            assert!(message.contains("\"1m30s\""), "{text:?}: {message}");
        }
    }
}
