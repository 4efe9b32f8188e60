//! `[uplink.mqtt.tls]` and `[uplink.http.tls]`: TLS through the module
//! (application note §3, §6.9, §7.5), the same keys for both transports.
//! The table's presence turns TLS on; there is no fallback to plain text.
//!
//! The files are read and checked when the config is loaded
//! ([`check`], through `load.rs`), so `edge-agent check` and a start with a
//! bad file fail at once with the key and the file named, and again when
//! the daemon builds its [`TlsSettings`] ([`TlsConfig::settings`]): the
//! credentials it imports are the ones it checked.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::modem::security::{
    Credential, MinTlsVersion, Resumption, SecurityProfile, TlsSettings, Validation,
};
use crate::tls::{self, CredentialError, FileError};

/// The module's security profile the MQTT client uses (0-4, §3.2).
pub const MQTT_SECURITY_PROFILE: u8 = 0;
/// The one the HTTP client uses: another, so both can be set up at once.
pub const HTTP_SECURITY_PROFILE: u8 = 1;

/// Default of `uplink.mqtt.port` with TLS: MQTT over TLS (IANA).
pub const DEFAULT_MQTTS_PORT: u16 = 8883;

/// `uplink.mqtt.tls.verify`: how the module checks the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verify {
    /// The chain up to a CA of `ca_file`, and the host name.
    #[default]
    ChainAndHostname,
    /// The chain only: for servers reached by an address their certificate
    /// does not name.
    Chain,
    /// Nothing: encrypted, not authenticated. Warned about at start.
    None,
}

/// `uplink.mqtt.tls.min_version`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
    /// Default: what every current broker speaks; 1.0 and 1.1 are
    /// deprecated (RFC 8996).
    #[default]
    #[serde(rename = "1.2")]
    V1_2,
    #[serde(rename = "1.3")]
    V1_3,
}

/// `uplink.mqtt.tls.resumption` (§3.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResumptionMode {
    /// Session tickets, the data kept by the agent across reboots: one full
    /// handshake, then resumed ones.
    #[default]
    Ticket,
    /// The same, the data encrypted by the module's root of trust, so what
    /// the agent stores is useless without this module.
    EncryptedTicket,
    /// A full handshake for every connection.
    Off,
}

/// `[uplink.mqtt.tls]`, `[uplink.http.tls]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `ca_file`: PEM, the CA certificate(s) the broker's certificate must
    /// chain to. Required unless `verify = "none"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `cert_file`: PEM, the gateway's certificate for mutual TLS, with
    /// `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// `key_file`: PEM, the private key of `cert_file`, without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// `server_name`: the name sent as SNI and checked against the
    /// certificate. Default: the server's host when it is a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<super::MqttHost>,
    #[serde(default)]
    pub verify: Verify,
    #[serde(default)]
    pub min_version: TlsVersion,
    #[serde(default)]
    pub resumption: ResumptionMode,
}

/// A TLS file or setting that cannot be used, with the key it came from
/// (`table` is `uplink.mqtt.tls` or `uplink.http.tls`).
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("{table}.{key}: {source}")]
    File {
        table: &'static str,
        key: &'static str,
        #[source]
        source: FileError,
    },
    #[error("{table}.{key} ({}): {source}", path.display())]
    Credential {
        table: &'static str,
        key: &'static str,
        path: PathBuf,
        #[source]
        source: CredentialError,
    },
    #[error("{table}.{key}: {message}")]
    Setting {
        table: &'static str,
        key: &'static str,
        message: String,
    },
}

impl TlsConfigError {
    /// The key under `uplink.mqtt.tls` the error is about.
    pub fn key(&self) -> &'static str {
        match self {
            TlsConfigError::File { key, .. }
            | TlsConfigError::Credential { key, .. }
            | TlsConfigError::Setting { key, .. } => key,
        }
    }
}

/// Where a table's settings and files are read for one transport.
#[derive(Debug, Clone, Copy)]
pub struct TlsTarget<'a> {
    /// `uplink.mqtt.tls` or `uplink.http.tls`, for the messages.
    pub table: &'static str,
    /// The server's host, name or address.
    pub host: &'a str,
    /// The module's security profile (0-4) the transport uses.
    pub profile: u8,
}

impl TlsTarget<'_> {
    fn read(&self, key: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
        tls::read_file(path).map_err(|source| TlsConfigError::File {
            table: self.table,
            key,
            source,
        })
    }

    fn credential_error(
        &self,
        key: &'static str,
        path: &Path,
    ) -> impl Fn(CredentialError) -> TlsConfigError {
        let (table, path) = (self.table, path.to_path_buf());
        move |source| TlsConfigError::Credential {
            table,
            key,
            path: path.clone(),
            source,
        }
    }

    fn setting(&self, key: &'static str, message: String) -> TlsConfigError {
        TlsConfigError::Setting {
            table: self.table,
            key,
            message,
        }
    }
}

impl TlsConfig {
    /// The name checked against the server's certificate and sent as SNI:
    /// `server_name`, else the host when it is a name.
    pub fn effective_server_name<'a>(&'a self, host: &'a str) -> Option<&'a str> {
        match &self.server_name {
            Some(name) => Some(name.as_str()),
            None if host.parse::<std::net::IpAddr>().is_err() => Some(host),
            None => None,
        }
    }

    /// Reads and checks the files, and declares what the module must hold:
    /// the credentials and the security profile for `target`.
    pub fn settings(&self, target: TlsTarget<'_>) -> Result<TlsSettings, TlsConfigError> {
        let host = target.host;
        let server_name = self.effective_server_name(host);
        if self.verify == Verify::ChainAndHostname && server_name.is_none() {
            return Err(target.setting(
                "server_name",
                format!(
                    "the server is the address {host}, and verify = \"chain-and-hostname\" \
                     needs the name its certificate is for: set server_name, or verify = \
                     \"chain\""
                ),
            ));
        }
        let mut credentials: Vec<Credential> = Vec::new();
        let ca_names = match &self.ca_file {
            Some(path) => {
                let cas = tls::ca_certificates(&target.read("ca_file", path)?)
                    .map_err(target.credential_error("ca_file", path))?;
                let names = cas.iter().map(|c| c.name.clone()).collect();
                credentials.extend(cas);
                names
            }
            None if self.verify == Verify::None => Vec::new(),
            None => {
                return Err(target.setting(
                    "ca_file",
                    format!(
                        "required with verify = \"{}\": the CA certificate(s) (PEM) the \
                         server's certificate chains to",
                        self.verify.name()
                    ),
                ))
            }
        };
        let (client_cert, client_key) = match (&self.cert_file, &self.key_file) {
            (Some(cert_path), Some(key_path)) => {
                let cert = tls::client_certificate(&target.read("cert_file", cert_path)?)
                    .map_err(target.credential_error("cert_file", cert_path))?;
                let key = tls::client_key(&target.read("key_file", key_path)?)
                    .map_err(target.credential_error("key_file", key_path))?;
                tls::key_matches(&cert, &key)
                    .map_err(target.credential_error("key_file", key_path))?;
                let names = (cert.credential.name.clone(), key.credential.name.clone());
                credentials.push(cert.credential);
                credentials.push(key.credential);
                (Some(names.0), Some(names.1))
            }
            (None, None) => (None, None),
            (Some(_), None) => {
                return Err(target.setting(
                    "key_file",
                    "required with cert_file: the private key of the gateway's certificate \
                     (PEM, without a password)"
                        .into(),
                ))
            }
            (None, Some(_)) => {
                return Err(target.setting(
                    "cert_file",
                    "required with key_file: the gateway's certificate (PEM) the key belongs \
                     to"
                    .into(),
                ))
            }
        };
        let profile = SecurityProfile {
            id: target.profile,
            validation: match self.verify {
                Verify::ChainAndHostname => Validation::ChainAndHostname,
                Verify::Chain => Validation::Chain,
                Verify::None => Validation::None,
            },
            min_version: match self.min_version {
                TlsVersion::V1_0 => MinTlsVersion::Tls1_0,
                TlsVersion::V1_1 => MinTlsVersion::Tls1_1,
                TlsVersion::V1_2 => MinTlsVersion::Tls1_2,
                TlsVersion::V1_3 => MinTlsVersion::Tls1_3,
            },
            ca_names,
            client_cert,
            client_key,
            hostname: server_name
                .filter(|_| self.verify == Verify::ChainAndHostname)
                .map(str::to_owned),
            // SNI carries a host name, never an address (RFC 6066 §3).
            sni: server_name
                .filter(|name| name.parse::<std::net::IpAddr>().is_err())
                .map(str::to_owned),
            resumption: match self.resumption {
                ResumptionMode::Ticket => Resumption::Ticket,
                ResumptionMode::EncryptedTicket => Resumption::EncryptedTicket,
                ResumptionMode::Off => Resumption::Off,
            },
        };
        Ok(TlsSettings {
            credentials,
            profile,
        })
    }
}

impl Verify {
    /// As written in the config.
    pub fn name(self) -> &'static str {
        match self {
            Verify::ChainAndHostname => "chain-and-hostname",
            Verify::Chain => "chain",
            Verify::None => "none",
        }
    }
}

/// What is wrong with a TLS table, as (key under the table, message);
/// empty when the module can be given what it declares.
pub(super) fn check(tls: &TlsConfig, target: TlsTarget<'_>) -> Vec<(&'static str, String)> {
    match tls.settings(target) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let message = match &e {
                TlsConfigError::File { source, .. } => source.to_string(),
                TlsConfigError::Credential { path, source, .. } => {
                    format!("{}: {source}", path.display())
                }
                TlsConfigError::Setting { message, .. } => message.clone(),
            };
            vec![(e.key(), message)]
        }
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
