//! `[uplink.http]`: the HTTP uplink through the module's embedded client
//! (application note chapter 7). Declared here, provisioned by
//! `modem::http::profile`, driven by `modem::http::session`.
//!
//! What the module can carry decides what is accepted: the URL is taken
//! apart by `url.rs` (its host and port go into the profile, its path and
//! query into every request); custom headers go into `AT+UHTTP=<p>,9,
//! "<index>:<name>:<value>"`, one quoted parameter with indexes 0-4
//! `[lib]`, so at most five, names that are tokens, values of printable
//! ASCII without `"`. Header values are secrets (an `Authorization` token):
//! they print as `***` in `edge-agent check`, and no message or log shows
//! them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration as StdDuration;

use serde::de::Deserializer;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::mqtt::{default_pdp_context, pdp_context, IpType, DEVICE_ID_PLACEHOLDER};
use super::tls::{TlsConfig, TlsTarget, HTTP_SECURITY_PROFILE};
use super::url::{self, HttpUrl, Scheme, UrlHost};
use super::values::{self, text_setting, InvalidValue};
use super::Secret;
use crate::modem::http::{
    ContentType, HttpOptions, HttpProfile, HttpSetting, IoMode, PostMethod, HTTP_PROFILE_ID,
};
use crate::uplink::Encoding;
use crate::values::duration::{self, Duration};

/// Default of `uplink.http.timeout`: the module's shortest (`[lib]`).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The range of `uplink.http.timeout` in seconds: 30 is the module's
/// minimum `[lib]`, 180 its factory value (the AT manual's default).
pub const HTTP_TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 30..=180;
/// Default of `uplink.http.max_payload_bytes`: a POST body is not bound by
/// the MQTT publish limit; 8 KiB keeps a window's requests few and each
/// one short enough to retry.
pub const DEFAULT_HTTP_MAX_PAYLOAD_BYTES: usize = 8192;
/// The most custom headers: op 9 takes the indexes 0 to 4 `[lib]`.
pub const MAX_HTTP_HEADERS: usize = 5;
/// The longest op 9 text, `<index>:<name>:<value>` (`[model]`: the
/// simulator's limit; the AT manual gives none).
pub const MAX_HEADER_TEXT: usize = 256;
/// Headers the module writes itself, from the URL and the body: one of
/// the operator's would contradict them.
const MODULE_HEADERS: [&str; 5] = [
    "Host",
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
];
/// Stands in for `{device_id}` when a URL is checked at load time: an IMEI,
/// what the id is by default.
const SAMPLE_DEVICE_ID: &str = "356938035643809";

/// The HTTP uplink cannot be built from the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpConfigError {
    #[error(
        "uplink.transport = \"http\" needs the [uplink.http] table (at least uplink.http.url)"
    )]
    NotDeclared,
    #[error("uplink.http.url with the device id {device_id:?}: {message}")]
    Url { device_id: String, message: String },
}

text_setting!(
    /// `uplink.http.url`: `http://` or `https://`, host, optional port,
    /// path and query; `{device_id}` is replaced (see `url.rs`).
    HttpUrlText,
    expecting = "an http:// or https:// URL",
    validate = validate_url
);

fn validate_url(s: &str) -> Result<(), String> {
    url::parse(&s.replace(DEVICE_ID_PLACEHOLDER, SAMPLE_DEVICE_ID)).map(drop)
}

/// `uplink.http.headers`: extra request headers, in name order (op 9's
/// index). The values are secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpHeaders(Vec<(String, Secret<String>)>);

impl HttpHeaders {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Name and value, in op 9's index order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose().as_str()))
    }
}

impl fmt::Debug for HttpHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

/// Names with their values masked.
impl Serialize for HttpHeaders {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A header value read as text (a number from the environment too).
struct HeaderText(String);

impl<'de> Deserialize<'de> for HeaderText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        values::text(d, "a header value (quoted text)").map(HeaderText)
    }
}

impl<'de> Deserialize<'de> for HttpHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, HeaderText>::deserialize(d)?;
        let headers: Vec<(String, String)> = map.into_iter().map(|(n, v)| (n, v.0)).collect();
        check_headers(&headers).map_err(serde::de::Error::custom)?;
        Ok(HttpHeaders(
            headers
                .into_iter()
                .map(|(n, v)| (n, Secret::new(v)))
                .collect(),
        ))
    }
}

/// What the module cannot carry; messages name the header, never the value.
fn check_headers(headers: &[(String, String)]) -> Result<(), String> {
    if headers.len() > MAX_HTTP_HEADERS {
        return Err(format!(
            "{} headers; the module carries at most {MAX_HTTP_HEADERS} (AT+UHTTP op 9, \
             indexes 0-4)",
            headers.len()
        ));
    }
    for (index, (name, value)) in headers.iter().enumerate() {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if let Some(c) = name.chars().find(|c| !u8::try_from(*c).is_ok_and(token)) {
            return Err(format!(
                "header {:?}: the name contains {c:?}; a header name is letters, digits and \
                 !#$%&'*+-.^_`|~ (no ':', '\"', spaces or control characters)",
                name.escape_debug().to_string()
            ));
        }
        if name.is_empty() {
            return Err("a header has an empty name".into());
        }
        if let Some(own) = MODULE_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "header {name:?}: the module writes {own} itself (from the URL, the encoding \
                 and the body)"
            ));
        }
        let secret = "(the value is not shown: header values are secrets)";
        if value.is_empty() {
            return Err(format!("header {name:?}: the value is empty"));
        }
        if value
            .bytes()
            .any(|b| !(b' '..=b'~').contains(&b) || b == b'"')
        {
            return Err(format!(
                "header {name:?}: the value holds '\"' or a character that is not printable \
                 ASCII, which the module cannot carry {secret}"
            ));
        }
        if value.trim() != value {
            return Err(format!(
                "header {name:?}: the value starts or ends with a blank {secret}"
            ));
        }
        let text = format!("{index}:{name}:").len() + value.len();
        if text > MAX_HEADER_TEXT {
            return Err(format!(
                "header {name:?}: \"<index>:<name>:<value>\" is {text} characters; the module \
                 takes at most {MAX_HEADER_TEXT} {secret}"
            ));
        }
    }
    Ok(())
}

/// `[uplink.http]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `uplink.http.url`: required. `https://` needs `[uplink.http.tls]`.
    pub url: HttpUrlText,

    /// `uplink.http.method`: `"direct"` (default: the body goes byte for
    /// byte over the UART in direct link, §7.3) or `"file"` (written to a
    /// file of the module first, §7.2, for firmware where direct link
    /// misbehaves).
    #[serde(default)]
    pub method: PostMethod,

    /// `uplink.http.timeout`: the module's request timeout (op 7), whole
    /// seconds from 30 s to 180 s. Default 30 s.
    #[serde(default = "default_timeout", deserialize_with = "timeout")]
    pub timeout: Duration,

    /// `uplink.http.max_payload_bytes`: the largest body, the packer's
    /// limit with this transport; 64..=65536. Default 8192.
    #[serde(
        default = "default_max_payload_bytes",
        deserialize_with = "max_payload_bytes"
    )]
    pub max_payload_bytes: usize,

    /// `uplink.http.pdp_context`: the PDP context (cid 1..=15) of the
    /// module's HTTP client (op 20, §7.1). Default 1.
    #[serde(default = "default_pdp_context", deserialize_with = "pdp_context")]
    pub pdp_context: u8,

    /// `uplink.http.ip_type`: `"ipv4"` or `"ipv6"` on that context.
    #[serde(default)]
    pub ip_type: IpType,

    /// `uplink.http.headers`: extra request headers; values are secrets.
    #[serde(default, skip_serializing_if = "HttpHeaders::is_empty")]
    pub headers: HttpHeaders,

    /// `[uplink.http.tls]`: required for `https://`, refused for `http://`
    /// (checked in `load.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

fn default_timeout() -> Duration {
    DEFAULT_HTTP_TIMEOUT
}

fn default_max_payload_bytes() -> usize {
    DEFAULT_HTTP_MAX_PAYLOAD_BYTES
}

/// Op 7 takes whole seconds, 30 at least.
fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration::positive(d)?;
    let ms = v.get().as_millis();
    if ms % 1000 != 0 || !HTTP_TIMEOUT_SECS.contains(&(v.get().as_secs())) {
        return Err(serde::de::Error::custom(format!(
            "invalid value: {v}, expected whole seconds from 30s (the module's minimum) to \
             180s (3m)"
        )));
    }
    Ok(v)
}

fn max_payload_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    values::integer_in(
        d,
        super::MAX_PAYLOAD_BYTES_RANGE,
        "a body size in bytes, 64..=65536",
    )
}

impl HttpConfig {
    /// The URL with `{device_id}` replaced, taken apart.
    pub fn url_for(&self, device_id: &str) -> Result<HttpUrl, HttpConfigError> {
        url::parse(&self.url.as_str().replace(DEVICE_ID_PLACEHOLDER, device_id)).map_err(
            |message| HttpConfigError::Url {
                device_id: device_id.to_owned(),
                message,
            },
        )
    }

    /// The module's HTTP profile these settings declare for `device_id`.
    ///
    /// Order (§7.1, §7.5): the server, TLS on or off (op 6, which moves
    /// the port between 80 and 443), then the port (op 5, so the URL's port
    /// wins), the timeout, the headers by index, the I/O mode the method
    /// needs, the PDP context. Every op is written even at the value the
    /// reset leaves, so what the module holds never depends on history.
    pub fn profile(&self, device_id: &str) -> Result<HttpProfile, HttpConfigError> {
        let url = self.url_for(device_id)?;
        let mut settings = vec![
            match &url.host {
                UrlHost::Ip(ip) => HttpSetting::ServerIp(ip.to_string()),
                UrlHost::Name(name) => HttpSetting::ServerName(name.clone()),
            },
            HttpSetting::Secure((url.scheme == Scheme::Https).then_some(HTTP_SECURITY_PROFILE)),
            HttpSetting::Port(url.port),
            HttpSetting::Timeout(self.timeout_secs()),
        ];
        settings.extend(
            self.headers
                .iter()
                .enumerate()
                .map(|(index, (name, value))| HttpSetting::CustomHeader {
                    index: u8::try_from(index).unwrap_or(u8::MAX),
                    name: name.to_owned(),
                    value: value.to_owned(),
                }),
        );
        settings.extend([
            HttpSetting::IoMode(match self.method {
                PostMethod::Direct => IoMode::DirectLink,
                PostMethod::File => IoMode::FileSystem,
            }),
            HttpSetting::PdpMapping {
                cid: self.pdp_context,
                ip_type: self.ip_type.code(),
            },
        ]);
        Ok(HttpProfile::from_settings(HTTP_PROFILE_ID, settings))
    }

    /// What each request needs: the path for `device_id`, the method, the
    /// content type of `encoding`, the timeout.
    pub fn options(
        &self,
        device_id: &str,
        encoding: Encoding,
    ) -> Result<HttpOptions, HttpConfigError> {
        let url = self.url_for(device_id)?;
        Ok(HttpOptions {
            profile: HTTP_PROFILE_ID,
            path: url.path,
            method: self.method,
            // Every encoding's media type is user-defined (6): the named
            // codes have no SenML, and `1` is text/plain without charset.
            content_type: ContentType::UserDefined(encoding.content_type().to_owned()),
            request_timeout: StdDuration::from_secs(u64::from(self.timeout_secs())),
        })
    }

    /// What `[uplink.http.tls]` is read for: `host`, on the HTTP client's
    /// security profile.
    pub fn tls_target<'a>(&self, host: &'a str) -> TlsTarget<'a> {
        TlsTarget {
            table: "uplink.http.tls",
            host,
            profile: HTTP_SECURITY_PROFILE,
        }
    }

    /// The timeout in seconds, as op 7 takes it.
    pub fn timeout_secs(&self) -> u16 {
        u16::try_from(self.timeout.get().as_secs()).unwrap_or(u16::MAX)
    }
}

/// What is wrong across `[uplink.http]`'s keys, as (key under
/// `uplink.http`, message): the scheme against the TLS table, then the TLS
/// table itself (`tls.ca_file`, ...).
pub(super) fn check(http: &HttpConfig) -> Vec<(String, String)> {
    let Ok(url) = url::parse(
        &http
            .url
            .as_str()
            .replace(DEVICE_ID_PLACEHOLDER, SAMPLE_DEVICE_ID),
    ) else {
        // Reported at the key already.
        return Vec::new();
    };
    match (url.scheme, &http.tls) {
        (Scheme::Https, None) => vec![(
            "tls".into(),
            "required for an https:// URL: add [uplink.http.tls] with ca_file (the CA the \
             server's certificate chains to), or verify = \"none\""
                .into(),
        )],
        (Scheme::Http, Some(_)) => vec![(
            "tls".into(),
            "the URL is http://, which never uses TLS: use https://, or remove \
             [uplink.http.tls]"
                .into(),
        )],
        (Scheme::Https, Some(tls)) => {
            let host = url.host.text();
            super::tls::check(tls, http.tls_target(&host))
                .into_iter()
                .map(|(key, message)| (format!("tls.{key}"), message))
                .collect()
        }
        (Scheme::Http, None) => Vec::new(),
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
