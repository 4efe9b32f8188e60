//! `[doorbell]`: an optional always-on socket to a server that can wake the
//! gateway out of deep sleep (`power/doorbell.rs`, application note §5.10).

use crate::modem::socket::Protocol;
use crate::power::doorbell::{DoorbellError, DoorbellSettings};
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize};

use super::mqtt::DEVICE_ID_PLACEHOLDER;
use super::values;
use crate::values::duration::{self, Duration};

/// Default of `doorbell.hello`: the device id, which is what the server
/// needs to tell gateways apart.
pub const DEFAULT_DOORBELL_HELLO: &str = DEVICE_ID_PLACEHOLDER;
/// The longest `doorbell.hello`, in bytes after `{device_id}` is replaced: it
/// goes out as one datagram or one write, and 512 bytes stays far below the
/// module's limits for either (§5.3.3's 7 kB queue, one IP packet).
pub const DOORBELL_HELLO_MAX: usize = 512;

/// `doorbell.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoorbellProtocol {
    /// A UDP socket: the server answers the hello's source address and port.
    #[default]
    Udp,
    /// A TCP connection the gateway opens and keeps.
    Tcp,
}

/// `[doorbell]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorbellConfig {
    /// `doorbell.enabled`: open the doorbell socket after boot. Default
    /// false: it needs a server that knows the protocol, and a network that
    /// lets the server's datagrams in.
    #[serde(default)]
    pub enabled: bool,

    /// `doorbell.protocol`: `"udp"` or `"tcp"`. Default `"udp"`: no
    /// connection for the network to drop while the module sleeps, and
    /// `+USOST`/`+USORF` need no connect (§5).
    #[serde(default)]
    pub protocol: DoorbellProtocol,

    /// `doorbell.server`: the server's IP address (host names later).
    /// Required when `enabled`.
    #[serde(
        default,
        deserialize_with = "ip_address",
        skip_serializing_if = "Option::is_none"
    )]
    pub server: Option<IpAddr>,

    /// `doorbell.port`: the server's port, 1..=65535. Required when `enabled`.
    #[serde(
        default,
        deserialize_with = "port",
        skip_serializing_if = "Option::is_none"
    )]
    pub port: Option<u16>,

    /// `doorbell.hello`: sent when the socket opens, so the server learns
    /// the address and port the network gave the gateway. `{device_id}` is
    /// replaced. Default `"{device_id}"`.
    #[serde(default = "default_hello", deserialize_with = "hello")]
    pub hello: String,

    /// `doorbell.keepalive`: TCP only, the idle time after which the module
    /// sends keep-alive packets (`+USOSO`, §5.5). Default: not set, no
    /// keep-alive: every packet wakes the radio, and the right period
    /// depends on the operator's idle timeout, which only the deployment
    /// knows.
    #[serde(
        default,
        deserialize_with = "keepalive",
        skip_serializing_if = "Option::is_none"
    )]
    pub keepalive: Option<Duration>,
}

impl Default for DoorbellConfig {
    fn default() -> Self {
        DoorbellConfig {
            enabled: false,
            protocol: DoorbellProtocol::default(),
            server: None,
            port: None,
            hello: default_hello(),
            keepalive: None,
        }
    }
}

impl DoorbellConfig {
    /// The hello for this device.
    /// What the doorbell is opened with; [`DoorbellError::NotConfigured`]
    /// unless it is enabled with a server and a port.
    pub fn settings(&self, device_id: &str) -> Result<DoorbellSettings, DoorbellError> {
        let (true, Some(server), Some(port)) = (self.enabled, self.server, self.port) else {
            return Err(DoorbellError::NotConfigured);
        };
        Ok(DoorbellSettings {
            protocol: match self.protocol {
                DoorbellProtocol::Udp => Protocol::Udp,
                DoorbellProtocol::Tcp => Protocol::Tcp,
            },
            server,
            port,
            keepalive: self.keepalive.map(Duration::get),
            hello: self.hello_for(device_id),
        })
    }

    pub fn hello_for(&self, device_id: &str) -> Vec<u8> {
        let mut bytes = self
            .hello
            .replace(DEVICE_ID_PLACEHOLDER, device_id)
            .into_bytes();
        bytes.truncate(DOORBELL_HELLO_MAX);
        bytes
    }
}

fn default_hello() -> String {
    DEFAULT_DOORBELL_HELLO.to_owned()
}

fn ip_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    let text = values::text(d, "an IP address")?;
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid value: {text:?}, expected an IP address such as \"203.0.113.7\" or \
             \"2001:db8::7\" (host names are not supported yet)"
        ))
    })
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let n = values::integer_in(d, 1..=65_535, "a port number, 1..=65535")?;
    Ok(u16::try_from(n).ok())
}

fn hello<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = values::text(d, "text")?;
    if text.is_empty() || text.len() > DOORBELL_HELLO_MAX {
        return Err(serde::de::Error::custom(format!(
            "invalid value: {} bytes, expected 1..={DOORBELL_HELLO_MAX} bytes of text",
            text.len()
        )));
    }
    Ok(text)
}

fn keepalive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration::positive(d).map(Some)
}

/// The rules across `[doorbell]` keys: (key inside `doorbell`, message).
pub(crate) fn check(c: &DoorbellConfig) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if c.enabled {
        if c.server.is_none() {
            problems.push((
                "server",
                "required key is missing: the doorbell is enabled, so set `server` (the \
                 server's IP address)"
                    .to_owned(),
            ));
        }
        if c.port.is_none() {
            problems.push((
                "port",
                "required key is missing: the doorbell is enabled, so set `port` (the \
                 server's port)"
                    .to_owned(),
            ));
        }
    }
    if c.keepalive.is_some() && c.protocol == DoorbellProtocol::Udp {
        problems.push((
            "keepalive",
            "keep-alive is a TCP option; remove it or set `protocol = \"tcp\"`".to_owned(),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError, Origin, Problem};
    use super::*;

    #[test]
    fn the_doorbell_settings_fill_in_the_device_id_and_need_enabled_server_and_port() {
        let mut c = DoorbellConfig {
            enabled: true,
            server: Some("203.0.113.7".parse().unwrap()),
            port: Some(5683),
            ..DoorbellConfig::default()
        };
        assert_eq!(
            c.settings("gw-7").unwrap(),
            DoorbellSettings {
                protocol: Protocol::Udp,
                server: "203.0.113.7".parse().unwrap(),
                port: 5683,
                keepalive: None,
                hello: b"gw-7".to_vec(),
            }
        );
        c.protocol = DoorbellProtocol::Tcp;
        c.keepalive = Some(Duration::from_secs(60));
        c.hello = "hello {device_id}".into();
        let tcp = c.settings("gw").unwrap();
        assert_eq!(tcp.protocol, Protocol::Tcp);
        assert_eq!(tcp.keepalive, Some(std::time::Duration::from_secs(60)));
        assert_eq!(tcp.hello, b"hello gw");
        for off in [
            DoorbellConfig::default(),
            DoorbellConfig {
                enabled: false,
                ..c.clone()
            },
            DoorbellConfig {
                port: None,
                ..c.clone()
            },
        ] {
            assert!(matches!(
                off.settings("gw"),
                Err(DoorbellError::NotConfigured)
            ));
        }
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

    fn line(p: &Problem) -> Option<usize> {
        match &p.origin {
            Origin::File { line, .. } => *line,
            _ => None,
        }
    }

    #[test]
    fn absent_doorbell_is_off_with_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.doorbell, DoorbellConfig::default());
        assert!(!c.doorbell.enabled);
        assert_eq!(c.doorbell.protocol, DoorbellProtocol::Udp);
        assert_eq!(c.doorbell.hello_for("gw-7"), b"gw-7");
    }

    #[test]
    fn every_doorbell_key_can_be_set_in_the_file_or_the_environment() {
        let c = load(
            "[doorbell]\nenabled = true\nprotocol = \"tcp\"\nserver = \"203.0.113.7\"\n\
             port = 7000\nhello = \"hi {device_id}!\"\nkeepalive = \"5m\"\n",
            &[],
        )
        .unwrap();
        let d = &c.doorbell;
        assert!(d.enabled);
        assert_eq!(d.protocol, DoorbellProtocol::Tcp);
        assert_eq!(d.server, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(d.port, Some(7000));
        assert_eq!(d.hello_for("gw"), b"hi gw!");
        assert_eq!(d.keepalive, Some(Duration::from_secs(300)));
        let c = load(
            "",
            &[
                ("EDGE_AGENT_DOORBELL__ENABLED", "true"),
                ("EDGE_AGENT_DOORBELL__SERVER", "2001:db8::7"),
                ("EDGE_AGENT_DOORBELL__PORT", "5683"),
            ],
        )
        .unwrap();
        assert!(c.doorbell.enabled);
        assert_eq!(c.doorbell.server, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(c.doorbell.port, Some(5683));
        let printed = c.to_toml().unwrap();
        let again: Config = toml::from_str(&printed).unwrap();
        assert_eq!(again.doorbell, c.doorbell);
    }

    #[test]
    fn bad_doorbell_values_are_named_with_key_and_line() {
        let problems = load(
            "[doorbell]\nenabled = true\nserver = \"bell.example.com\"\nport = 0\n\
             hello = \"\"\nprotocol = \"sctp\"\nring = 1\n",
            &[],
        )
        .unwrap_err();
        let found: Vec<(&str, Option<usize>)> =
            problems.iter().map(|p| (p.key.as_str(), line(p))).collect();
        assert_eq!(
            found,
            vec![
                ("doorbell.server", Some(5)),
                ("doorbell.port", Some(6)),
                ("doorbell.hello", Some(7)),
                ("doorbell.protocol", Some(8)),
                ("doorbell.ring", Some(9)),
            ],
            "{problems:#?}"
        );
        assert!(problems[0]
            .message
            .contains("host names are not supported yet"));
        assert!(problems[1].message.contains("1..=65535"));
    }

    #[test]
    fn an_enabled_doorbell_needs_server_and_port_and_keepalive_needs_tcp() {
        let problems = load("[doorbell]\nenabled = true\nkeepalive = \"1m\"\n", &[]).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["doorbell.server", "doorbell.port", "doorbell.keepalive"],
            "{problems:#?}"
        );
        let lines: Vec<Option<usize>> = problems.iter().map(line).collect();
        assert_eq!(lines, [Some(3), Some(3), Some(5)]);
        assert!(problems[0].message.contains("set `server`"));
        // Off, nothing is required.
        assert!(load("[doorbell]\nport = 7000\n", &[]).is_ok());
    }
}
