//! An amount of storage written the way people write it in a config file.
//!
//! Accepted: an integer number of bytes (`1048576`, or `"1048576"` from an
//! environment variable), or an integer with a unit: `B`, the binary units
//! `KiB`, `MiB`, `GiB` (powers of 1024) or the decimal units `kB`, `MB`, `GB`
//! (powers of 1000), optionally with one space (`"64MiB"`, `"64 MiB"`,
//! `"500kB"`). Units are case-sensitive: `mb` could mean megabits. It prints
//! back in the largest binary unit that divides it (`"32MiB"`), else in bytes.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The forms [`ByteSize`] accepts, quoted in every error message.
pub const ACCEPTED_FORMS: &str =
    r#""64MiB", "512KiB", "1GiB", "500kB", "10MB", or an integer number of bytes"#;

const UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

/// A number of bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

/// Why a size text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {text:?}: {reason}; use {ACCEPTED_FORMS}")]
pub struct ParseSizeError {
    text: String,
    reason: String,
}

impl ByteSize {
    /// `bytes` bytes.
    pub const fn bytes(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n << 20)
    }

    /// The size in bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = ParseSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ParseSizeError {
            text: text.to_owned(),
            reason,
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(fail("it is empty".into()));
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail(format!("expected a number at {s:?}")));
        }
        let (number, rest) = s.split_at(digits);
        if rest.starts_with(['.', ',']) {
            return Err(fail(
                "fractions are not supported; use a smaller unit (\"1536KiB\", not \"1.5MiB\")"
                    .into(),
            ));
        }
        let unit = rest.strip_prefix(' ').unwrap_or(rest);
        let factor = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, factor)| *factor)
                .ok_or_else(|| {
                    fail(format!(
                        "unknown unit {unit:?} (units: B, KiB, MiB, GiB, kB, MB, GB)"
                    ))
                })?
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(ByteSize)
            .ok_or_else(|| fail("it is too large".into()))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= factor && self.0 % factor == 0 {
                return write!(f, "{}{name}", self.0 / factor);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteSize({self})")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a size: {ACCEPTED_FORMS}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| {
                    E::custom(format!(
                        "invalid size {v}: it is negative; use {ACCEPTED_FORMS}"
                    ))
                })
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<u64, ParseSizeError> {
        s.parse::<ByteSize>().map(ByteSize::get)
    }

    #[test]
    fn accepts_bytes_binary_and_decimal_units() {
        assert_eq!(parse("1048576"), Ok(1_048_576));
        assert_eq!(parse("512B"), Ok(512));
        assert_eq!(parse("64KiB"), Ok(65_536));
        assert_eq!(parse("32MiB"), Ok(33_554_432));
        assert_eq!(parse("32 MiB"), Ok(33_554_432));
        assert_eq!(parse("1GiB"), Ok(1 << 30));
        assert_eq!(parse("500kB"), Ok(500_000));
        assert_eq!(parse("10MB"), Ok(10_000_000));
        assert_eq!(parse("2GB"), Ok(2_000_000_000));
    }

    #[test]
    fn prints_back_in_the_largest_exact_binary_unit() {
        assert_eq!(ByteSize::mib(32).to_string(), "32MiB");
        assert_eq!(ByteSize::bytes(1536).to_string(), "1536B");
        assert_eq!(ByteSize::bytes(3 << 10).to_string(), "3KiB");
        assert_eq!(ByteSize::bytes(1 << 30).to_string(), "1GiB");
        assert_eq!(ByteSize::bytes(1000).to_string(), "1000B");
        assert_eq!(ByteSize::bytes(0).to_string(), "0B");
        for text in ["32MiB", "3KiB", "1000B"] {
            assert_eq!(
                parse(text).map(|n| ByteSize(n).to_string()).as_deref(),
                Ok(text)
            );
        }
    }

    #[test]
    fn rejects_bad_text_saying_why_and_showing_the_accepted_forms() {
        for (text, why) in [
            ("", "empty"),
            ("MiB", "expected a number"),
            ("1.5MiB", "fractions are not supported"),
            ("64mb", "unknown unit \"mb\""),
            ("64  MiB", "unknown unit"),
            ("-1", "expected a number"),
            ("99999999999GiB", "too large"),
        ] {
            let message = match parse(text) {
                Ok(n) => panic!("{text:?} was accepted as {n}"),
                Err(e) => e.to_string(),
            };
            assert!(message.contains(why), "{text:?}: {message}");
            assert!(message.contains("\"64MiB\""), "{text:?}: {message}");
        }
    }
}
