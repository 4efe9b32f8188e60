//! The validated scalar settings: each type checks its value while it is
//! deserialized, so a bad value is reported like a wrong type, with its key,
//! source and line (see `load.rs`).
//!
//! Text settings also accept integers because environment values that look
//! like numbers arrive as numbers (`EDGE_AGENT_AGENT__DEVICE_ID=356938035643809`).
//! Digit strings with a leading zero stay text (see `env.rs`), so a PIN such as
//! `0123` keeps its zero.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A value that failed validation; the message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub(crate) String);

/// Reads text, or an integer as its decimal text. Values of other types are
/// rejected without being echoed (the text may be a secret).
struct TextVisitor {
    expecting: &'static str,
}

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(E::custom(format!(
            "invalid type: found a decimal number, expected {}",
            self.expecting
        )))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(E::custom(format!(
            "invalid type: found a boolean, expected {}",
            self.expecting
        )))
    }
}

pub(crate) fn text<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<String, D::Error> {
    d.deserialize_any(TextVisitor { expecting })
}

/// Reads an unsigned integer (from TOML's signed integers too).
struct IntegerVisitor {
    expecting: &'static str,
}

impl Visitor<'_> for IntegerVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| {
            E::custom(format!(
                "invalid value: {v} is negative, expected {}",
                self.expecting
            ))
        })
    }
}

/// Defines a validated text newtype: `as_str`, `Display`, `TryFrom<String>`,
/// `Serialize` as the text, `Deserialize` through `validate`.
macro_rules! text_setting {
    ($(#[$doc:meta])* $name:ident, expecting = $expecting:literal, validate = $validate:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;

            fn try_from(value: String) -> Result<Self, InvalidValue> {
                $validate(&value).map_err(InvalidValue)?;
                Ok($name(value))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::try_from($crate::config::values::text(d, $expecting)?)
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Used by `mqtt.rs` for its text settings.
pub(crate) use text_setting;

text_setting!(
    /// `agent.device_id`: 1 to 64 characters of `A-Z a-z 0-9 . _ -`. It becomes
    /// part of MQTT topics, so `/`, `+`, `#` and spaces are not allowed.
    DeviceId,
    expecting = "a device id (1 to 64 of A-Z a-z 0-9 . _ -)",
    validate = validate_device_id
);

fn validate_device_id(s: &str) -> Result<(), String> {
    const ALLOWED: &str = "only letters, digits, '.', '_' and '-' are allowed \
                           (the id becomes part of MQTT topics)";
    if s.is_empty() {
        return Err("the device id is empty; leave the key out to use the module's IMEI".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("device id {s:?} contains {c:?}: {ALLOWED}"));
    }
    if s.len() > 64 {
        return Err(format!(
            "device id {s:?} is {} characters long; at most 64 are allowed",
            s.len()
        ));
    }
    Ok(())
}

text_setting!(
    /// `modem.apn`: 1 to 99 printable ASCII characters without `"` (the APN is
    /// sent inside a quoted AT parameter).
    Apn,
    expecting = "an APN (1 to 99 printable ASCII characters)",
    validate = validate_apn
);

fn validate_apn(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(
            "the APN is empty; leave the key out to keep the APN stored in the module".into(),
        );
    }
    if let Some(c) = s.chars().find(|c| !matches!(c, ' '..='~') || *c == '"') {
        return Err(format!(
            "APN {s:?} contains {c:?}: only printable ASCII characters other than '\"' are allowed"
        ));
    }
    if s.len() > 99 {
        return Err(format!(
            "the APN is {} characters long; at most 99 are allowed",
            s.len()
        ));
    }
    Ok(())
}

/// `modem.sim_pin`: 4 to 8 digits. Held as a [`Secret`](super::Secret);
/// its `Debug` is masked too and errors never quote it.
#[derive(Clone, PartialEq, Eq)]
pub struct SimPin(String);

impl SimPin {
    /// The digits, for `AT+CPIN` only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SimPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimPin({})", super::MASK)
    }
}

impl TryFrom<String> for SimPin {
    type Error = InvalidValue;

    fn try_from(value: String) -> Result<Self, InvalidValue> {
        validate_sim_pin(&value).map_err(InvalidValue)?;
        Ok(SimPin(value))
    }
}

impl<'de> Deserialize<'de> for SimPin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SimPin::try_from(text(d, "a SIM PIN (4 to 8 digits, quoted)")?).map_err(de::Error::custom)
    }
}

fn validate_sim_pin(s: &str) -> Result<(), String> {
    if (4..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("a SIM PIN is 4 to 8 digits (the value is not shown: it is a secret)".into())
    }
}

text_setting!(
    /// `agent.log_level`: a `tracing` filter, comma-separated directives, each
    /// a level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or
    /// `target=level` (e.g. `"info,edge_agent::modem=debug"`). `RUST_LOG`, when
    /// set, replaces it at run time.
    LogFilter,
    expecting = "a log filter such as \"info\" or \"info,edge_agent::modem=debug\"",
    validate = validate_log_filter
);

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter("info".into())
    }
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

fn validate_log_filter(s: &str) -> Result<(), String> {
    // EnvFilter also accepts a bare word as "everything from that target", so
    // a typo such as "inf" or "verbose" would silently log nothing useful.
    // Require bare words to be levels; a target needs `=level`.
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', '[']);
        if bare && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "log filter {s:?}: {directive:?} is not a level; use one of {} \
                 or `target=level` (e.g. \"info,edge_agent::modem=debug\")",
                LEVELS.join(", ")
            ));
        }
    }
    if s.trim().is_empty() {
        return Err(format!(
            "the log filter is empty; use one of {}",
            LEVELS.join(", ")
        ));
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(s)
        .map(drop)
        .map_err(|e| format!("log filter {s:?} is invalid: {e}"))
}

/// `modem.baud`: the serial speed, one of the standard rates the LEXI-R10's
/// UART supports ([`Baud::SUPPORTED`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Baud(u32);

impl Baud {
    /// The rates the module's UART supports.
    pub const SUPPORTED: [u32; 9] = [
        9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600, 3_000_000,
    ];

    /// The rate in bits per second.
    pub const fn get(self) -> u32 {
        self.0
    }

    fn supported_list() -> String {
        Baud::SUPPORTED.map(|b| b.to_string()).join(", ")
    }
}

impl Default for Baud {
    /// 115200: the module's factory rate, so a new gateway needs no setting.
    fn default() -> Self {
        Baud(115_200)
    }
}

impl TryFrom<u64> for Baud {
    type Error = InvalidValue;

    fn try_from(rate: u64) -> Result<Self, InvalidValue> {
        u32::try_from(rate)
            .ok()
            .filter(|r| Baud::SUPPORTED.contains(r))
            .map(Baud)
            .ok_or_else(|| {
                InvalidValue(format!(
                    "unsupported baud rate {rate}; allowed: {}",
                    Baud::supported_list()
                ))
            })
    }
}

impl fmt::Display for Baud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Baud {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for Baud {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let rate = d.deserialize_any(IntegerVisitor {
            expecting: "a baud rate (an integer such as 115200)",
        })?;
        Baud::try_from(rate).map_err(de::Error::custom)
    }
}

/// `modem.port`: where the module is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModemPort {
    /// A serial device, e.g. `/dev/ttyUSB0`.
    Device(PathBuf),
    /// The literal `"sim"`: run the LEXI-R10 simulator in-process over a pty.
    Simulator,
}

impl ModemPort {
    /// The spelling of [`ModemPort::Simulator`] in the config.
    pub const SIMULATOR: &'static str = "sim";

    /// Stands in for a port the config did not set, until `load` reports it
    /// as missing. Deserialization never produces an empty path itself.
    pub(crate) fn unset() -> Self {
        ModemPort::Device(PathBuf::new())
    }

    pub(crate) fn is_unset(&self) -> bool {
        matches!(self, ModemPort::Device(p) if p.as_os_str().is_empty())
    }
}

impl fmt::Display for ModemPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModemPort::Device(path) => path.display().fmt(f),
            ModemPort::Simulator => f.write_str(Self::SIMULATOR),
        }
    }
}

impl Serialize for ModemPort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ModemPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = text(d, "a device path such as \"/dev/ttyUSB0\", or \"sim\"")?;
        if s == Self::SIMULATOR {
            if cfg!(feature = "sim") {
                return Ok(ModemPort::Simulator);
            }
            return Err(de::Error::custom(
                "\"sim\" needs the simulator, and this edge-agent was built without it \
                 (cargo feature `sim`); use a device path such as \"/dev/ttyUSB0\"",
            ));
        }
        if s.trim().is_empty() {
            return Err(de::Error::custom(
                "the port is empty; use a device path such as \"/dev/ttyUSB0\", or \"sim\"",
            ));
        }
        Ok(ModemPort::Device(PathBuf::from(s)))
    }
}

/// The PDP type of `modem.pdp_type` is the AT layer's own type, so the
/// config and `AT+CGDCONT` cannot spell it differently.
pub use crate::modem::psd::PdpType;

/// `deserialize_with` for `modem.mno_profile`: an integer 0..=255.
pub(crate) fn mno_profile<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    const EXPECTING: &str =
        "an MNO profile number 0..=255 (AT+UMNOPROF, e.g. 90 global, 100 Europe)";
    let n = d.deserialize_any(IntegerVisitor {
        expecting: EXPECTING,
    })?;
    u8::try_from(n)
        .map(Some)
        .map_err(|_| de::Error::custom(format!("invalid value: {n}, expected {EXPECTING}")))
}

/// `deserialize_with` for `modem.sim.time_scale`: a finite number above 0.
pub(crate) fn time_scale<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(de::Error::custom(format!(
            "invalid value: {v}, expected a number greater than 0 \
             (1.0 = real module timings, 0.01 = 100 times faster)"
        )))
    }
}

/// An integer within `range`, for `deserialize_with` helpers; `expecting`
/// says what is allowed (it ends every error message).
pub(crate) fn integer_in<'de, D: Deserializer<'de>>(
    d: D,
    range: std::ops::RangeInclusive<usize>,
    expecting: &'static str,
) -> Result<usize, D::Error> {
    let n = d.deserialize_any(IntegerVisitor { expecting })?;
    usize::try_from(n)
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| de::Error::custom(format!("invalid value: {n}, expected {expecting}")))
}

/// `deserialize_with` for `queue.max_bytes`: at least 4 KiB, so that a
/// reading of realistic size always fits.
pub(crate) fn positive_size<'de, D: Deserializer<'de>>(d: D) -> Result<super::ByteSize, D::Error> {
    const MIN: u64 = 4 << 10;
    let size = super::ByteSize::deserialize(d)?;
    if size.get() < MIN {
        return Err(de::Error::custom(format!(
            "invalid value: {size} is too small, expected at least 4KiB"
        )));
    }
    Ok(size)
}

/// `deserialize_with` for directory settings: a non-empty path.
pub(crate) fn dir<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let s = text(d, "a directory path")?;
    if s.trim().is_empty() {
        return Err(de::Error::custom(
            "the path is empty; leave the key out to use the default",
        ));
    }
    Ok(PathBuf::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_allow_only_topic_safe_characters() {
        for good in ["gw-01", "A.b_c-9", "356938035643809", &"x".repeat(64)] {
            assert!(DeviceId::try_from(good.to_owned()).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("gw/01", "'/'"),
            ("gw+", "'+'"),
            ("gw#", "'#'"),
            ("gw 1", "' '"),
            ("gwé", "'é'"),
            (&"x".repeat(65), "at most 64"),
        ] {
            match DeviceId::try_from(bad.to_owned()) {
                Ok(id) => panic!("{bad:?} accepted as {id}"),
                Err(e) => assert!(e.to_string().contains(why), "{bad:?}: {e}"),
            }
        }
    }

    #[test]
    fn apns_are_printable_ascii_without_quotes() {
        assert!(Apn::try_from("internet.m2m".to_owned()).is_ok());
        assert!(Apn::try_from("a b".to_owned()).is_ok());
        assert!(Apn::try_from("x".repeat(99)).is_ok());
        assert!(Apn::try_from("x".repeat(100)).is_err());
        assert!(Apn::try_from(String::new()).is_err());
        assert!(Apn::try_from("a\"b".to_owned()).is_err());
        assert!(Apn::try_from("a\tb".to_owned()).is_err());
    }

    #[test]
    fn sim_pins_are_four_to_eight_digits_and_errors_do_not_quote_them() {
        let pin = SimPin::try_from("0123".to_owned()).unwrap();
        assert_eq!(pin.as_str(), "0123");
        assert_eq!(format!("{pin:?}"), "SimPin(***)");
        assert!(SimPin::try_from("12345678".to_owned()).is_ok());
        for bad in ["123", "123456789", "12a4", ""] {
            let e = SimPin::try_from(bad.to_owned())
                .err()
                .map(|e| e.to_string());
            let e = e.unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(bad.is_empty() || !e.contains(bad), "{e}");
        }
    }

    #[test]
    fn log_filters_are_levels_or_target_directives() {
        for good in [
            "info",
            "WARN",
            "info,edge_agent::modem=debug",
            "edge_agent=trace",
        ] {
            assert!(LogFilter::try_from(good.to_owned()).is_ok(), "{good}");
        }
        for bad in ["", "verbose", "inf", "info,edge_agent", "edge_agent=loud"] {
            assert!(LogFilter::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn baud_accepts_only_supported_rates_and_lists_them() {
        assert_eq!(Baud::try_from(9_600).map(Baud::get), Ok(9_600));
        assert_eq!(Baud::try_from(3_000_000).map(Baud::get), Ok(3_000_000));
        let e = Baud::try_from(12_345).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "unsupported baud rate 12345; allowed: 9600, 19200, 38400, 57600, \
                 115200, 230400, 460800, 921600, 3000000"
            )
        );
        assert!(Baud::try_from(u64::MAX).is_err());
    }

    #[test]
    fn pdp_types_use_the_at_spelling() {
        assert_eq!(PdpType::default().as_str(), "IPV4V6");
        assert_eq!(PdpType::Ip.to_string(), "IP");
    }
}
