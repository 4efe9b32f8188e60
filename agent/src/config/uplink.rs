//! `[uplink]`: how readings are packed into messages. The MQTT and HTTP keys
//! join this table with the uplinks themselves (issue 4).

use serde::{Deserialize, Serialize};

use super::values;
use crate::uplink::Encoding;

/// Default of `uplink.max_payload_bytes`: the largest message the module's
/// embedded MQTT client takes in one binary publish (`AT+UMQTTC=9,<qos>,
/// <retain>,"<topic>",<length>`, then `>` and exactly that many bytes).
///
/// Source: u-blox's host library ubxlib, `cell/api/u_cell_mqtt.h`
/// (commit 0fb8e209fa7d83d87c7cdba7861a40ba72628e9a):
/// `#define U_CELL_MQTT_PUBLISH_BIN_MAX_LENGTH_BYTES 1024`, "the maximum
/// length of an MQTT publish message in bytes, if binary mode can be used";
/// `cell/src/u_cell_mqtt.c`'s `publish()` refuses a longer message on every
/// module with binary publish (all but SARA-R41x, whose text/hex modes take
/// 512 bytes) before it writes `AT+UMQTTC=9`. The LEXI-R10 application note
/// gives no figure, so ubxlib's is the one to trust.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024;
/// The range of `uplink.max_payload_bytes`. Below 64 bytes most single
/// readings would not fit; above 64 KiB is more than any uplink of the
/// module takes in one message.
pub const MAX_PAYLOAD_BYTES_RANGE: std::ops::RangeInclusive<usize> = 64..=65_536;
/// Default of `uplink.max_readings`.
pub const DEFAULT_MAX_READINGS: usize = 100;
/// The range of `uplink.max_readings`; the packer holds that many readings
/// in memory while it builds a message.
pub const MAX_READINGS_RANGE: std::ops::RangeInclusive<usize> = 1..=10_000;

/// `[uplink]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkConfig {
    /// `uplink.encoding`: `"senml-cbor"`, `"senml-json"` or `"influx"`.
    /// Default `"senml-cbor"`: the smallest, about 15 bytes per typical
    /// reading against 24 for SenML JSON and 71 for line protocol
    /// (`cargo run --release -p edge-bench -- encodings`).
    #[serde(default)]
    pub encoding: Encoding,

    /// `uplink.max_payload_bytes`: the largest message, in bytes of encoded
    /// payload. Default 1024, the module's MQTT binary publish limit (see
    /// [`DEFAULT_MAX_PAYLOAD_BYTES`]); 64..=65536.
    #[serde(
        default = "default_max_payload_bytes",
        deserialize_with = "max_payload_bytes"
    )]
    pub max_payload_bytes: usize,

    /// `uplink.max_readings`: the most readings in one message, whatever
    /// their size. Default 100: a full 1024-byte SenML CBOR message of
    /// typical readings holds about 65, so the byte limit usually decides;
    /// 1..=10000.
    #[serde(default = "default_max_readings", deserialize_with = "max_readings")]
    pub max_readings: usize,
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig {
            encoding: Encoding::default(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            max_readings: DEFAULT_MAX_READINGS,
        }
    }
}

fn default_max_payload_bytes() -> usize {
    DEFAULT_MAX_PAYLOAD_BYTES
}

fn default_max_readings() -> usize {
    DEFAULT_MAX_READINGS
}

fn max_payload_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    values::integer_in(
        d,
        MAX_PAYLOAD_BYTES_RANGE,
        "a payload size in bytes, 64..=65536 (1024 is the LEXI-R10's limit for one MQTT \
         binary publish)",
    )
}

fn max_readings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    values::integer_in(
        d,
        MAX_READINGS_RANGE,
        "a number of readings per message, 1..=10000",
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError, Origin, Problem};
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<Problem>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, format!("[modem]\nport = \"/dev/ttyUSB0\"\n{text}")).unwrap();
        match Config::load_with_env(&path, env.iter().copied()) {
            Ok(loaded) => Ok(loaded.config),
            Err(ConfigError::Invalid { problems, .. }) => Err(problems),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn absent_uplink_keys_take_their_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.uplink, UplinkConfig::default());
        assert_eq!(c.uplink.encoding, Encoding::SenmlCbor);
        assert_eq!(c.uplink.max_payload_bytes, 1024);
        assert_eq!(c.uplink.max_readings, 100);
        assert_eq!(c.uplink.encoding.content_type(), "application/senml+cbor");
    }

    #[test]
    fn every_uplink_key_can_be_set_in_the_file_or_the_environment() {
        let c = load(
            "[uplink]\nencoding = \"senml-json\"\nmax_payload_bytes = 512\nmax_readings = 20\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.uplink.encoding, Encoding::SenmlJson);
        assert_eq!(c.uplink.max_payload_bytes, 512);
        assert_eq!(c.uplink.max_readings, 20);
        let c = load(
            "",
            &[
                ("EDGE_AGENT_UPLINK__ENCODING", "influx"),
                ("EDGE_AGENT_UPLINK__MAX_PAYLOAD_BYTES", "65536"),
                ("EDGE_AGENT_UPLINK__MAX_READINGS", "1"),
            ],
        )
        .unwrap();
        assert_eq!(c.uplink.encoding, Encoding::Influx);
        assert_eq!(c.uplink.max_payload_bytes, 65_536);
        assert_eq!(c.uplink.max_readings, 1);
        assert_eq!(
            c.uplink.encoding.content_type(),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn bad_uplink_values_are_named_with_key_line_and_what_is_allowed() {
        let problems = load(
            "[uplink]\nencoding = \"cbor\"\nmax_payload_bytes = 63\nmax_readings = 0\nsize = 1\n",
            &[],
        )
        .unwrap_err();
        let found: Vec<(&str, Option<usize>, &str)> = problems
            .iter()
            .map(|p| {
                let line = match &p.origin {
                    Origin::File { line, .. } => *line,
                    other => panic!("{other:?}"),
                };
                (p.key.as_str(), line, p.message.as_str())
            })
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert_eq!(found[0].0, "uplink.encoding");
        assert_eq!(found[0].1, Some(4));
        assert!(
            found[0].2.contains("`senml-cbor`, `senml-json`, `influx`"),
            "{}",
            found[0].2
        );
        assert_eq!(
            found[1],
            (
                "uplink.max_payload_bytes",
                Some(5),
                "invalid value: 63, expected a payload size in bytes, 64..=65536 (1024 is the \
                 LEXI-R10's limit for one MQTT binary publish)"
            )
        );
        assert_eq!(
            found[2],
            (
                "uplink.max_readings",
                Some(6),
                "invalid value: 0, expected a number of readings per message, 1..=10000"
            )
        );
        assert_eq!(found[3].0, "uplink.size");
        let problems = load("", &[("EDGE_AGENT_UPLINK__MAX_READINGS", "-3")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("negative"),
            "{}",
            problems[0].message
        );
        let problems = load("[uplink]\nmax_payload_bytes = 70000\n", &[]).unwrap_err();
        assert!(
            problems[0].message.starts_with("invalid value: 70000"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn the_printed_config_shows_the_uplink_table_and_reads_back() {
        let c = load("[uplink]\nencoding = \"influx\"\n", &[]).unwrap();
        let printed = c.to_toml().unwrap();
        assert!(
            printed.contains(
                "[uplink]\nencoding = \"influx\"\nmax_payload_bytes = 1024\nmax_readings = 100\n"
            ),
            "{printed}"
        );
        let again: Config = toml::from_str(&printed).unwrap();
        assert_eq!(again.uplink, c.uplink);
    }
}
