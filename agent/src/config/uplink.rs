//! `[uplink]`: how readings are packed into messages and which of the
//! module's clients carries them (`transport`, `[uplink.mqtt]` in `mqtt.rs`,
//! `[uplink.http]` in `http.rs`).

use serde::{Deserialize, Serialize};

use super::http::HttpConfig;
use super::mqtt::{MqttConfig, Transport};
use super::values;
use crate::uplink::{Encoder, Encoding, Limits, Packer};
use crate::values::duration::Duration;

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

/// Default of `uplink.interval`: a quarter of an hour, the heartbeat's
/// default too, so a quiet gateway wakes its radio about 96 times a day.
pub const DEFAULT_UPLOAD_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default of `uplink.max_pending`: about 8 full 1024-byte SenML CBOR
/// messages of typical readings, still one short session.
pub const DEFAULT_MAX_PENDING: usize = 500;
/// The range of `uplink.max_pending`.
pub const MAX_PENDING_RANGE: std::ops::RangeInclusive<usize> = 1..=1_000_000;
/// Default of `uplink.jitter`.
pub const DEFAULT_UPLOAD_JITTER: Duration = Duration::from_secs(60);

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

    /// `uplink.interval`: upload windows open this often (plus jitter);
    /// readings wait in the queue in between, so the radio wakes once per
    /// window rather than once per reading. Default 15 min. `"0s"`: no
    /// windows, every reading is sent at once over a session kept open (a
    /// gateway on mains power).
    #[serde(default = "default_upload_interval")]
    pub interval: Duration,

    /// `uplink.max_pending`: a window opens early once this many readings
    /// wait. Default 500; 1..=1000000.
    #[serde(default = "default_max_pending", deserialize_with = "max_pending")]
    pub max_pending: usize,

    /// `uplink.jitter`: each window opens up to this much after its slot, a
    /// different amount every time, so a fleet started together does not
    /// reach its broker in the same second. Default 1 min; at most
    /// `uplink.interval`.
    #[serde(default = "default_upload_jitter")]
    pub jitter: Duration,

    /// `uplink.transport`: `"mqtt"` (the module's embedded MQTT client) or
    /// `"http"` (its HTTP client, `[uplink.http]`). Default `"mqtt"`.
    #[serde(default)]
    pub transport: Transport,

    /// `[uplink.mqtt]`: the broker and the MQTT profile. Printed only once
    /// declared: after a successful load, no host means no key of it was set.
    #[serde(default, skip_serializing_if = "MqttConfig::is_undeclared")]
    pub mqtt: MqttConfig,

    /// `[uplink.http]`: the server and the HTTP profile; `None` when the
    /// table is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpConfig>,
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig {
            encoding: Encoding::default(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            max_readings: DEFAULT_MAX_READINGS,
            interval: DEFAULT_UPLOAD_INTERVAL,
            max_pending: DEFAULT_MAX_PENDING,
            jitter: DEFAULT_UPLOAD_JITTER,
            transport: Transport::default(),
            mqtt: MqttConfig::default(),
            http: None,
        }
    }
}

fn default_max_payload_bytes() -> usize {
    DEFAULT_MAX_PAYLOAD_BYTES
}

fn default_max_readings() -> usize {
    DEFAULT_MAX_READINGS
}

fn default_upload_interval() -> Duration {
    DEFAULT_UPLOAD_INTERVAL
}

fn default_max_pending() -> usize {
    DEFAULT_MAX_PENDING
}

fn default_upload_jitter() -> Duration {
    DEFAULT_UPLOAD_JITTER
}

fn max_pending<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    values::integer_in(
        d,
        MAX_PENDING_RANGE,
        "a number of waiting readings that opens an upload window early, 1..=1000000",
    )
}

impl UplinkConfig {
    /// A packer for these settings, naming readings after `device_id` (the
    /// configured one, or the module's IMEI). Its byte limit is the
    /// transport's: `uplink.max_payload_bytes` for MQTT (one publish),
    /// `uplink.http.max_payload_bytes` for HTTP (one POST body).
    pub fn packer(&self, device_id: Option<&str>) -> Packer {
        Packer::new(
            Encoder::new(self.encoding, device_id),
            Limits {
                max_payload_bytes: self.max_payload_bytes(),
                max_readings: self.max_readings,
            },
        )
    }

    /// The largest message of the configured transport.
    pub fn max_payload_bytes(&self) -> usize {
        match (self.transport, &self.http) {
            (Transport::Http, Some(http)) => http.max_payload_bytes,
            _ => self.max_payload_bytes,
        }
    }

    /// The upload-window policy these settings describe.
    pub fn window_policy(&self) -> crate::uplink::WindowPolicy {
        crate::uplink::WindowPolicy {
            interval: self.interval.get(),
            max_pending: self.max_pending as u64,
            jitter: self.jitter.get(),
        }
    }
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

    #[test]
    fn the_default_packer_fills_senml_cbor_messages_of_one_kib_and_100_readings() {
        let p = UplinkConfig::default().packer(Some("356938035643809"));
        assert_eq!(p.encoder().encoding(), Encoding::SenmlCbor);
        assert_eq!(
            p.limits(),
            Limits {
                max_payload_bytes: 1024,
                max_readings: 100
            }
        );
    }

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

    const MQTT_FULL: &str = r#"
[uplink]
transport = "mqtt"

[uplink.mqtt]
host = "broker.example.com"
port = 8883
client_id = "gw-7"
username = "agent"
password = "s3cr3t-pw"
keepalive = "2m"
clean_session = false
qos = 0
topic = "t/{device_id}/up"
command_topic = "t/{device_id}/cmd"

[uplink.mqtt.will]
topic = "t/{device_id}/status"
message = "offline"
qos = 1
retain = true
"#;

    #[test]
    fn every_mqtt_key_can_be_set_and_the_password_stays_masked() {
        use crate::config::{MqttConfig, Transport, WillConfig};
        let c = load(MQTT_FULL, &[]).unwrap();
        assert_eq!(c.uplink.transport, Transport::Mqtt);
        let m: &MqttConfig = &c.uplink.mqtt;
        assert_eq!(
            m.host.as_ref().map(|h| h.as_str()),
            Some("broker.example.com")
        );
        assert_eq!(m.host.as_ref().and_then(|h| h.ip()), None);
        assert_eq!(m.port, 8883);
        assert_eq!(m.client_id.as_ref().map(|c| c.as_str()), Some("gw-7"));
        assert_eq!(m.username.as_ref().map(|u| u.as_str()), Some("agent"));
        assert_eq!(
            m.password.as_ref().map(|p| p.expose().as_str()),
            Some("s3cr3t-pw")
        );
        assert_eq!(m.keepalive_secs(), 120);
        assert!(!m.clean_session);
        assert_eq!(m.qos, 0);
        assert_eq!(m.topic.for_device("gw-7"), "t/gw-7/up");
        assert_eq!(m.command_topic.for_device("gw-7"), "t/gw-7/cmd");
        let will: &WillConfig = m.will.as_ref().unwrap();
        assert_eq!(will.topic.for_device("x"), "t/x/status");
        assert_eq!(
            (will.message.as_str(), will.qos, will.retain),
            ("offline", 1, true)
        );
        let printed = c.to_toml().unwrap();
        assert!(!printed.contains("s3cr3t-pw"), "{printed}");
        assert!(!format!("{c:?}").contains("s3cr3t-pw"));
        assert!(printed.contains("password = \"***\""), "{printed}");
    }

    #[test]
    fn absent_mqtt_keys_take_their_defaults() {
        let c = load("[uplink.mqtt]\nhost = \"10.0.0.7\"\n", &[]).unwrap();
        let m = &c.uplink.mqtt;
        assert_eq!(
            m.host.as_ref().and_then(|h| h.ip()),
            Some([10, 0, 0, 7].into())
        );
        assert_eq!(m.port, 1883);
        assert_eq!(m.client_id, None);
        assert_eq!(m.username, None);
        assert!(m.password.is_none());
        assert_eq!(m.keepalive_secs(), 60);
        assert!(m.clean_session);
        assert_eq!(m.qos, 1);
        assert_eq!(m.topic.for_device("gw"), "devices/gw/telemetry");
        assert_eq!(m.command_topic.for_device("gw"), "devices/gw/commands");
        assert_eq!(m.will, None);
        // Without the table the uplink is simply not configured yet.
        let c = load("", &[]).unwrap();
        assert!(c.uplink.mqtt.is_undeclared());
        assert!(!c.to_toml().unwrap().contains("[uplink.mqtt]"));
    }

    #[test]
    fn the_mqtt_port_can_be_overridden_from_the_environment() {
        let c = load(
            "[uplink.mqtt]\nhost = \"broker\"\nport = 1883\n",
            &[("EDGE_AGENT_UPLINK__MQTT__PORT", "8883")],
        )
        .unwrap();
        assert_eq!(c.uplink.mqtt.port, 8883);
        let c = load(
            "",
            &[
                ("EDGE_AGENT_UPLINK__MQTT__HOST", "broker"),
                ("EDGE_AGENT_UPLINK__MQTT__PORT", "8883"),
                ("EDGE_AGENT_UPLINK__MQTT__QOS", "0"),
            ],
        )
        .unwrap();
        assert_eq!(c.uplink.mqtt.port, 8883);
        assert_eq!(c.uplink.mqtt.qos, 0);
    }

    #[test]
    fn bad_mqtt_values_are_named_with_their_keys_and_lines() {
        let problems = load(
            "[uplink]\ntransport = \"http\"\n[uplink.mqtt]\nhost = \"a b\"\nport = 0\nqos = 2\n\
             topic = \"a/+/b\"\nkeepalive = \"1500ms\"\npassword = \"x\\\"y\"\n\
             [uplink.mqtt.will]\ntopic = \"w/#\"\nmessage = \"bye\"\nqos = 3\n",
            &[],
        )
        .unwrap_err();
        let found: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|p| match &p.origin {
                Origin::File { line, .. } => (p.key.as_str(), *line),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            found,
            [
                ("uplink.transport", Some(4)),
                ("uplink.mqtt.host", Some(6)),
                ("uplink.mqtt.port", Some(7)),
                ("uplink.mqtt.qos", Some(8)),
                ("uplink.mqtt.topic", Some(9)),
                ("uplink.mqtt.keepalive", Some(10)),
                ("uplink.mqtt.password", Some(11)),
                ("uplink.mqtt.will.topic", Some(13)),
                ("uplink.mqtt.will.qos", Some(15)),
            ]
        );
        assert!(
            problems[4].message.contains("wildcard '+'"),
            "{}",
            problems[4].message
        );
        assert!(
            !problems[6].message.contains("x\"y"),
            "{}",
            problems[6].message
        );
        assert!(
            problems[0].message.contains("`mqtt`"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_configured_mqtt_uplink_without_a_host_names_the_key() {
        let problems = load("[uplink.mqtt]\nport = 8883\n", &[]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].key, "uplink.mqtt.host");
        assert_eq!(problems[0].origin, Origin::NotSet);
        assert!(
            problems[0]
                .message
                .contains("EDGE_AGENT_UPLINK__MQTT__HOST"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn upload_windows_default_to_a_quarter_hour_and_can_be_turned_off() {
        let c = load("", &[]).unwrap();
        let policy = c.uplink.window_policy();
        assert_eq!(policy.interval, std::time::Duration::from_secs(900));
        assert_eq!(policy.max_pending, 500);
        assert_eq!(policy.jitter, std::time::Duration::from_secs(60));
        let c = load(
            "[uplink]\ninterval = \"0s\"\nmax_pending = 1\njitter = \"0s\"\n",
            &[],
        )
        .unwrap();
        assert!(c.uplink.window_policy().interval.is_zero());
        assert_eq!(c.uplink.max_pending, 1);
        let c = load("", &[("EDGE_AGENT_UPLINK__INTERVAL", "1h")]).unwrap();
        assert_eq!(
            c.uplink.interval.get(),
            std::time::Duration::from_secs(3600)
        );
    }

    #[test]
    fn a_jitter_longer_than_the_interval_or_no_pending_limit_is_refused_at_its_line() {
        let problems = load(
            "[uplink]\ninterval = \"5m\"\njitter = \"6m\"\nmax_pending = 0\n",
            &[],
        )
        .unwrap_err();
        let found: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|p| match &p.origin {
                Origin::File { line, .. } => (p.key.as_str(), *line),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            found,
            [("uplink.jitter", Some(5)), ("uplink.max_pending", Some(6))],
            "{problems:#?}"
        );
        assert!(problems[0].message.contains("longer than uplink.interval"));
    }
}
