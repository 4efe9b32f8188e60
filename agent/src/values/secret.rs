//! A value that must not show up in logs, `check` output or error messages.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints as, everywhere.
pub const MASK: &str = "***";

/// A secret setting (a SIM PIN, later passwords and keys).
///
/// `Debug`, `Display` and `Serialize` all show [`MASK`], so a secret cannot
/// leak through `{:?}`, a log line or the effective config that
/// `edge-agent check` prints. The value is reachable only through
/// [`Secret::expose`], which makes every use easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value itself. Call this only where the value is sent to
    /// its destination (e.g. the `AT+CPIN` command), never to print it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Serializes as [`MASK`]: serialization exists for printing the effective
/// configuration, which must never contain the secret.
impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_serialization_show_only_the_mask() {
        let secret = Secret::new(String::from("4711"));
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
        let toml = toml::to_string(&Wrapper {
            pin: secret.clone(),
        })
        .unwrap();
        assert_eq!(toml.trim(), r#"pin = "***""#);
        assert_eq!(secret.expose(), "4711");
    }

    #[derive(Serialize)]
    struct Wrapper {
        pin: Secret<String>,
    }
}
