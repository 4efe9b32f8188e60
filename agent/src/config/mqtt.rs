//! `[uplink.mqtt]` and `[uplink.mqtt.will]`: the MQTT profile of the
//! module's embedded client (application note §6.1), declared here and
//! provisioned by `modem::mqtt::provision`.
//!
//! Every text value ends up inside a quoted `AT+UMQTT` parameter, so none may
//! hold `"` or control characters; the module has no escape for them.
//! Topics are checked for MQTT's wildcards (`+`, `#`), which a publish topic
//! must not contain.

use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

use super::tls::{TlsConfig, TlsTarget, MQTT_SECURITY_PROFILE};
use super::values::{self, text_setting, InvalidValue};
use super::Secret;
use crate::modem::mqtt::profile::MqttProfile;
use crate::modem::mqtt::ProfileSetting;
use crate::values::duration::{self, Duration};

/// The profile cannot be built from the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "uplink.mqtt.host is not set: the MQTT uplink needs a broker (set it in [uplink.mqtt] \
         or with EDGE_AGENT_UPLINK__MQTT__HOST)"
    )]
    NoHost,
}

/// Default of `uplink.mqtt.port`: MQTT without TLS (IANA).
pub const DEFAULT_MQTT_PORT: u16 = 1883;
/// Default of `uplink.mqtt.keepalive`.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);
/// Default of `uplink.mqtt.qos`.
pub const DEFAULT_QOS: u8 = 1;
/// Default of `uplink.mqtt.topic`.
pub const DEFAULT_TOPIC: &str = "devices/{device_id}/telemetry";
/// Default of `uplink.mqtt.command_topic`.
pub const DEFAULT_COMMAND_TOPIC: &str = "devices/{device_id}/commands";
/// The placeholder replaced by the device id in topics.
pub const DEVICE_ID_PLACEHOLDER: &str = "{device_id}";

/// `uplink.transport`: which of the module's clients carries the readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The embedded MQTT client (`+UMQTT`, §6).
    #[default]
    Mqtt,
    /// The embedded HTTP client (`+UHTTP`, §7): one POST per message,
    /// `[uplink.http]`.
    Http,
}

/// Text the module takes inside a quoted parameter: printable ASCII, no `"`.
fn quotable(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if let Some(c) = s.chars().find(|c| !matches!(c, ' '..='~') || *c == '"') {
        return Err(format!(
            "the {what} contains {c:?}: only printable ASCII characters other than '\"' \
             are allowed (it is sent inside a quoted AT parameter)"
        ));
    }
    if s.len() > max {
        return Err(format!(
            "the {what} is {} characters long; at most {max} are allowed",
            s.len()
        ));
    }
    Ok(())
}

text_setting!(
    /// `uplink.mqtt.host`: the broker's DNS name or IP address. An address is
    /// provisioned with `AT+UMQTT=2`, a name with `AT+UMQTT=3` (§6.1.1).
    MqttHost,
    expecting = "a broker host name or IP address",
    validate = validate_host
);

fn validate_host(s: &str) -> Result<(), String> {
    quotable("host", s, 253)?;
    if s.contains(' ') {
        return Err(format!("host {s:?} contains a space"));
    }
    Ok(())
}

impl MqttHost {
    /// The host as an IP address, if it is one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.as_str().parse().ok()
    }
}

text_setting!(
    /// `uplink.mqtt.client_id`: 1 to 128 printable ASCII characters without
    /// `"` or spaces.
    ClientId,
    expecting = "an MQTT client id",
    validate = validate_client_id
);

fn validate_client_id(s: &str) -> Result<(), String> {
    quotable("client id", s, 128)?;
    if s.contains(' ') {
        return Err(format!("client id {s:?} contains a space"));
    }
    Ok(())
}

text_setting!(
    /// `uplink.mqtt.username`, `uplink.mqtt.will.message`: printable ASCII
    /// without `"`, at most 256 characters.
    MqttText,
    expecting = "text (printable ASCII without '\"')",
    validate = validate_text
);

fn validate_text(s: &str) -> Result<(), String> {
    quotable("text", s, 256)
}

text_setting!(
    /// A topic to publish to: no wildcards (`+`, `#`), may hold `{device_id}`.
    MqttTopic,
    expecting = "an MQTT topic such as \"devices/{device_id}/telemetry\"",
    validate = validate_topic
);

fn validate_topic(s: &str) -> Result<(), String> {
    quotable("topic", s, 256)?;
    if let Some(c) = s.chars().find(|c| matches!(c, '+' | '#')) {
        return Err(format!(
            "topic {s:?} contains the wildcard {c:?}; a topic to publish to names one topic"
        ));
    }
    Ok(())
}

impl MqttTopic {
    /// The topic with `{device_id}` replaced by `device_id`.
    pub fn for_device(&self, device_id: &str) -> String {
        self.as_str().replace(DEVICE_ID_PLACEHOLDER, device_id)
    }

    fn default_telemetry() -> Self {
        MqttTopic(DEFAULT_TOPIC.to_owned())
    }

    fn default_commands() -> Self {
        MqttTopic(DEFAULT_COMMAND_TOPIC.to_owned())
    }
}

/// `uplink.mqtt.password`: printable ASCII without `"`. Held as a
/// [`Secret`]; its `Debug` is masked and errors never quote it.
#[derive(Clone, PartialEq, Eq)]
pub struct MqttPassword(String);

impl MqttPassword {
    /// The password, for `AT+UMQTT=4` only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MqttPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MqttPassword({})", super::MASK)
    }
}

impl TryFrom<String> for MqttPassword {
    type Error = InvalidValue;

    fn try_from(value: String) -> Result<Self, InvalidValue> {
        // The validator's message may quote the value: replace it.
        quotable("password", &value, 256).map_err(|_| {
            InvalidValue(
                "a password is 1 to 256 printable ASCII characters other than '\"' \
                 (the value is not shown: it is a secret)"
                    .into(),
            )
        })?;
        Ok(MqttPassword(value))
    }
}

impl<'de> Deserialize<'de> for MqttPassword {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MqttPassword::try_from(values::text(d, "a password (quoted text)")?)
            .map_err(serde::de::Error::custom)
    }
}

/// `[uplink.mqtt]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `uplink.mqtt.host`: the broker. Required when the uplink is
    /// configured (`uplink.transport` or this table set); see `load.rs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<MqttHost>,

    /// `uplink.mqtt.port`: the broker's TCP port, 1..=65535. Default 1883,
    /// 8883 with `[uplink.mqtt.tls]` (set in `load.rs`).
    #[serde(default = "default_port", deserialize_with = "port")]
    pub port: u16,

    /// `uplink.mqtt.client_id`: default not set, meaning the module's IMEI,
    /// which the module itself uses by default (§6.1.1) and is unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,

    /// `uplink.mqtt.username`: default not set (anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<MqttText>,

    /// `uplink.mqtt.password`: a [`Secret`]; only sent with a username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret<MqttPassword>>,

    /// `uplink.mqtt.keepalive`: MQTT keep-alive, whole seconds 1..=65535.
    /// Default 60 s: short enough that a dead link is noticed within a
    /// minute and a half, long enough that pings cost little radio time.
    #[serde(default = "default_keepalive", deserialize_with = "keepalive")]
    pub keepalive: Duration,

    /// `uplink.mqtt.clean_session`: default true; the agent subscribes again
    /// at every login, so no session state on the broker is needed.
    #[serde(default = "default_true")]
    pub clean_session: bool,

    /// `uplink.mqtt.pdp_context`: the PDP context (cid 1..=15) the module's
    /// MQTT client uses (`AT+UMQTT=20`, §6.1.5). Default 1: the initial
    /// default EPS bearer, the one with the APN (§2.1).
    #[serde(default = "default_pdp_context", deserialize_with = "pdp_context")]
    pub pdp_context: u8,

    /// `uplink.mqtt.ip_type`: `"ipv4"` or `"ipv6"`, the protocol the MQTT
    /// client prefers on that context. Default `"ipv4"`.
    #[serde(default)]
    pub ip_type: IpType,

    /// `uplink.mqtt.qos`: 0 or 1. Default 1: a publish counts as sent only
    /// when the broker acknowledged it; at QoS 0 the module's confirmation
    /// only says it left the module.
    #[serde(default = "default_qos", deserialize_with = "publish_qos")]
    pub qos: u8,

    /// `uplink.mqtt.topic`: where readings go; `{device_id}` is replaced.
    #[serde(default = "MqttTopic::default_telemetry")]
    pub topic: MqttTopic,

    /// `uplink.mqtt.command_topic`: where the agent listens for commands.
    #[serde(default = "MqttTopic::default_commands")]
    pub command_topic: MqttTopic,

    /// `[uplink.mqtt.will]`: the last will; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub will: Option<WillConfig>,

    /// `[uplink.mqtt.tls]`: present = TLS on (`config/tls.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: None,
            port: DEFAULT_MQTT_PORT,
            client_id: None,
            username: None,
            password: None,
            keepalive: DEFAULT_KEEPALIVE,
            clean_session: true,
            pdp_context: DEFAULT_PDP_CONTEXT,
            ip_type: IpType::default(),
            qos: DEFAULT_QOS,
            topic: MqttTopic::default_telemetry(),
            command_topic: MqttTopic::default_commands(),
            will: None,
            tls: None,
        }
    }
}

/// `[uplink.mqtt.will]`: the message the broker publishes when the module
/// disappears without logging out (§6.1.2, §6.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WillConfig {
    /// `uplink.mqtt.will.topic`: required; `{device_id}` is replaced.
    pub topic: MqttTopic,
    /// `uplink.mqtt.will.message`: required.
    pub message: MqttText,
    /// `uplink.mqtt.will.qos`: 0, 1 or 2. Default 0.
    #[serde(default, deserialize_with = "will_qos")]
    pub qos: u8,
    /// `uplink.mqtt.will.retain`: default false.
    #[serde(default)]
    pub retain: bool,
}

fn default_port() -> u16 {
    DEFAULT_MQTT_PORT
}

fn default_keepalive() -> Duration {
    DEFAULT_KEEPALIVE
}

/// Default of `uplink.mqtt.pdp_context`.
pub const DEFAULT_PDP_CONTEXT: u8 = 1;

pub(super) fn default_pdp_context() -> u8 {
    DEFAULT_PDP_CONTEXT
}

pub(super) fn pdp_context<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = values::integer_in(d, 1..=15, "a PDP context id, 1..=15")?;
    u8::try_from(n).map_err(serde::de::Error::custom)
}

/// `uplink.mqtt.ip_type`: `<IP type>` of `AT+UMQTT=20` (0 IPv4, 1 IPv6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpType {
    #[default]
    Ipv4,
    Ipv6,
}

impl IpType {
    /// The number `AT+UMQTT=20,<cid>,<ip type>` takes.
    pub const fn code(self) -> u8 {
        match self {
            IpType::Ipv4 => 0,
            IpType::Ipv6 => 1,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_qos() -> u8 {
    DEFAULT_QOS
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = values::integer_in(d, 1..=65_535, "a TCP port, 1..=65535")?;
    u16::try_from(n).map_err(serde::de::Error::custom)
}

fn publish_qos<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = values::integer_in(d, 0..=1, "an MQTT QoS for publishing, 0 or 1")?;
    u8::try_from(n).map_err(serde::de::Error::custom)
}

fn will_qos<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = values::integer_in(d, 0..=2, "an MQTT QoS, 0, 1 or 2")?;
    u8::try_from(n).map_err(serde::de::Error::custom)
}

/// `AT+UMQTT=10` takes whole seconds; MQTT's field is 16 bits.
fn keepalive<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration::positive(d)?;
    let ms = v.get().as_millis();
    if ms % 1000 != 0 || ms / 1000 > 65_535 {
        return Err(serde::de::Error::custom(format!(
            "invalid value: {v}, expected whole seconds from 1s to 65535s (18h12m15s)"
        )));
    }
    Ok(v)
}

impl MqttConfig {
    /// The module's MQTT profile these settings declare. `imei` is the client id when
    /// `client_id` is not set (the module's own default, §6.1.1, written
    /// anyway so a module holding another id is corrected); `device_id`
    /// replaces `{device_id}` in the will topic.
    ///
    /// Order: identity, server, TLS (op 11, §6.9: the security profile, or
    /// none), credentials, will, session options. Every
    /// op the agent controls is written even at its default value (an empty
    /// will topic and message when there is no will), so what the module
    /// holds never depends on what an earlier config wrote. Op 4 is left out
    /// without a username (anonymous login). Op 20 maps the client to
    /// `uplink.mqtt.pdp_context` and `ip_type` (§6.1.5).
    pub fn profile(&self, imei: &str, device_id: &str) -> Result<MqttProfile, ProfileError> {
        let config = self;
        let host = config.host.as_ref().ok_or(ProfileError::NoHost)?;
        let mut settings = vec![ProfileSetting::ClientId(
            config
                .client_id
                .as_ref()
                .map_or(imei, |c| c.as_str())
                .to_owned(),
        )];
        settings.push(match host.ip() {
            Some(ip) => ProfileSetting::ServerIp {
                address: ip.to_string(),
                port: config.port,
            },
            None => ProfileSetting::ServerName {
                name: host.as_str().to_owned(),
                port: config.port,
            },
        });
        settings.push(ProfileSetting::Secure(
            config.tls.as_ref().map(|_| MQTT_SECURITY_PROFILE),
        ));
        if let Some(user) = &config.username {
            settings.push(ProfileSetting::Credentials {
                username: user.as_str().to_owned(),
                password: config
                    .password
                    .as_ref()
                    .map(|p| p.expose().as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
        let (qos, retain, topic, message) = match &config.will {
            Some(w) => (
                w.qos,
                w.retain,
                w.topic.for_device(device_id),
                w.message.as_str().to_owned(),
            ),
            None => (0, false, String::new(), String::new()),
        };
        settings.extend([
            ProfileSetting::WillQos(qos),
            ProfileSetting::WillRetain(retain),
            ProfileSetting::WillTopic(topic),
            ProfileSetting::WillMessage(message),
            ProfileSetting::KeepAlive(config.keepalive_secs()),
            ProfileSetting::CleanSession(config.clean_session),
            ProfileSetting::PdpMapping {
                cid: config.pdp_context,
                ip_type: config.ip_type.code(),
            },
        ]);
        Ok(MqttProfile::from_settings(settings))
    }

    /// What `[uplink.mqtt.tls]` is read for: the broker, on the MQTT
    /// client's security profile. `None` without a broker.
    pub fn tls_target(&self) -> Option<TlsTarget<'_>> {
        self.host.as_ref().map(|host| TlsTarget {
            table: "uplink.mqtt.tls",
            host: host.as_str(),
            profile: MQTT_SECURITY_PROFILE,
        })
    }

    /// No broker set: the MQTT uplink is not configured.
    pub fn is_undeclared(&self) -> bool {
        self.host.is_none()
    }

    /// The keep-alive in seconds, as `AT+UMQTT=10` takes it.
    pub fn keepalive_secs(&self) -> u16 {
        u16::try_from(self.keepalive.get().as_secs()).unwrap_or(u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::at::AtCommand;

    fn config() -> MqttConfig {
        MqttConfig {
            host: Some(MqttHost::try_from("broker.example".to_owned()).unwrap()),
            ..MqttConfig::default()
        }
    }

    #[test]
    fn the_example_profile_of_the_modem_tests_is_what_a_host_alone_declares() {
        let c = MqttConfig {
            host: Some(MqttHost::try_from("broker.example".to_owned()).unwrap()),
            ..MqttConfig::default()
        };
        assert_eq!(
            c.profile("357862090033897", "gw"),
            Ok(MqttProfile::example(1883))
        );
    }

    #[test]
    fn the_profile_is_the_ordered_list_of_set_commands() {
        let mut c = config();
        c.username = Some(MqttText::try_from("agent".to_owned()).unwrap());
        let p = c.profile("357862090033897", "gw").unwrap();
        let labels: Vec<String> = p.commands().map(|c| c.label()).collect();
        assert_eq!(
            labels,
            [
                "AT+UMQTT=0,\"357862090033897\"",
                "AT+UMQTT=3,\"broker.example\",1883",
                "AT+UMQTT=11,0",
                "AT+UMQTT=4,\"agent\",\"***\"",
                "AT+UMQTT=6,0",
                "AT+UMQTT=7,0",
                "AT+UMQTT=8,\"\"",
                "AT+UMQTT=9,\"\"",
                "AT+UMQTT=10,60",
                "AT+UMQTT=12,1",
                "AT+UMQTT=20,1,0",
            ]
        );
        let ip = MqttConfig {
            host: Some(MqttHost::try_from("10.1.2.3".to_owned()).unwrap()),
            ..config()
        };
        let p = ip.profile("1", "gw").unwrap();
        assert_eq!(p.settings()[1].op(), 2);
        assert_eq!(
            MqttConfig::default().profile("1", "gw"),
            Err(ProfileError::NoHost)
        );
    }
}
