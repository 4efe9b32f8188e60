//! The uplink the configuration declares (`uplink.transport`), as the
//! window logic sees it: one shape for both of the module's clients.
//!
//! [`Uplink`] is what is declared: the profile the module must hold and
//! what every session needs. It provisions the profile at start (under the
//! start's awake guard), says how a restore brings it back after deep sleep
//! or a reboot, builds the TLS of its table, and opens an
//! [`UplinkSession`](super::session::UplinkSession) for a window:
//!
//! - MQTT: a login (`+UUMQTTC: 1,1`), with the command topic subscribed;
//! - HTTP: nothing to open: each message is a request of its own.
//!
//! The daemon's files call these and never ask which transport it is.

use crate::config::{Config, Transport};
use crate::modem::at::AtClient;
use crate::modem::digest::Provisioned;
use crate::modem::http::profile::{self as http_profile, HttpProfile};
use crate::modem::http::{HttpOptions, HttpSession};
use crate::modem::mqtt::profile::{self as mqtt_profile, MqttProfile};
use crate::modem::mqtt::session::{MqttSession, SessionError, SessionOptions};
use crate::power::UplinkProfile;
use crate::store::Store;
use crate::uplink::http::HttpTransport;

use super::session::UplinkSession;
use super::{RunError, Tls};

/// The declared uplink: its profile and its sessions' options.
#[derive(Debug)]
pub(super) enum Uplink {
    Mqtt {
        profile: MqttProfile,
        options: SessionOptions,
    },
    Http {
        profile: HttpProfile,
        options: HttpOptions,
    },
}

impl Uplink {
    /// What `config` declares for `device_id` (the module's `imei` is the
    /// MQTT client id by default), and the TLS of its table, if any.
    pub fn from_config(
        config: &Config,
        imei: &str,
        device_id: &str,
    ) -> Result<(Uplink, Option<Tls>), RunError> {
        match config.uplink.transport {
            Transport::Mqtt => {
                let mqtt = &config.uplink.mqtt;
                let profile = mqtt.profile(imei, device_id)?;
                let tls = match (&mqtt.tls, mqtt.tls_target()) {
                    (Some(tls), Some(target)) => Some(Tls::from_config(tls, target, mqtt.port)?),
                    _ => None,
                };
                let options = SessionOptions::new(
                    mqtt.qos,
                    mqtt.topic.for_device(device_id),
                    Some(mqtt.command_topic.for_device(device_id)),
                );
                Ok((Uplink::Mqtt { profile, options }, tls))
            }
            Transport::Http => {
                let http = config
                    .uplink
                    .http
                    .as_ref()
                    .ok_or(crate::config::HttpConfigError::NotDeclared)?;
                let url = http.url_for(device_id)?;
                let profile = http.profile(device_id)?;
                let options = http.options(device_id, config.uplink.encoding)?;
                let host = url.host.text();
                let tls = match &http.tls {
                    Some(tls) => Some(Tls::from_config(tls, http.tls_target(&host), url.port)?),
                    None => None,
                };
                Ok((Uplink::Http { profile, options }, tls))
            }
        }
    }

    /// `MQTT` or `HTTP`, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Uplink::Mqtt { .. } => "MQTT",
            Uplink::Http { .. } => "HTTP",
        }
    }

    /// Whether TLS's bookkeeping goes around the session's open (an MQTT
    /// login), rather than around each message (an HTTPS request).
    pub fn tls_at_login(&self) -> bool {
        matches!(self, Uplink::Mqtt { .. })
    }

    /// Makes the module hold the profile (written only when its digest
    /// changed) and, for HTTP, arms its use after deep sleep. The caller
    /// holds an awake guard: votes surround the configuration (§6.1.4,
    /// §7.1.2).
    pub async fn provision(&self, at: &AtClient, store: &Store) -> Result<Provisioned, RunError> {
        Ok(match self {
            Uplink::Mqtt { profile, .. } => mqtt_profile::provision(at, store, profile).await?,
            Uplink::Http { profile, .. } => http_profile::provision(at, store, profile).await?,
        })
    }

    /// How a restore brings the profile back; `rebooted`: the module is
    /// known to have rebooted (not only slept).
    pub fn restore_profile(&self, rebooted: bool) -> UplinkProfile<'_> {
        match self {
            Uplink::Mqtt { profile, .. } => UplinkProfile::Mqtt(profile),
            Uplink::Http { profile, .. } => UplinkProfile::Http { profile, rebooted },
        }
    }

    /// Opens a session for a window: the MQTT login, or, for HTTP, nothing
    /// the module is asked (so it cannot fail).
    pub async fn open(&self, at: &AtClient) -> Result<UplinkSession, SessionError> {
        Ok(match self {
            Uplink::Mqtt { options, .. } => {
                UplinkSession::Mqtt(MqttSession::connect(at, options.clone()).await?)
            }
            Uplink::Http { options, .. } => {
                UplinkSession::Http(HttpTransport::new(HttpSession::new(at, options.clone())))
            }
        })
    }

    /// The MQTT session's options (the reply topic), if this is MQTT.
    pub fn mqtt_options(&self) -> Option<&SessionOptions> {
        match self {
            Uplink::Mqtt { options, .. } => Some(options),
            Uplink::Http { .. } => None,
        }
    }
}
