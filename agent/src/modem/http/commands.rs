//! The `+UHTTP*` commands (application note chapter 7).
//!
//! One type per command, each doc naming the note's section:
//! - the profile: [`ResetHttpProfile`] (`AT+UHTTP=<p>`), [`SetHttpProfile`]
//!   (one [`HttpSetting`] per op), [`HttpNvm`] (`+UHTTPNV`, §7.1.1);
//! - requests: [`HttpRequest`] (`+UHTTPC` with a response file),
//!   [`PostDirect`] (`+UHTTPC=<p>,7,...` in direct link: the body after
//!   `CONNECT`, the response streamed back, §7.3);
//! - the diagnosis: [`ReadHttpError`] (`+UHTTPER`, §7.4).
//!
//! A request's `OK` only says the module took it: the result is the URC
//! `+UUHTTPCR: <p>,<cmd>,<1|0>` (`Urc::HttpResult`). The note misspells
//! several of these (`AT+UHTTTP`, `AT+UHTTPCR=0,4,...`, `+UFTPER`): the
//! correct spellings are used, as a module expects them (`lexi-r10-notes.md`).

use std::time::Duration;

use crate::modem::at::command::ok_command;
use crate::modem::at::{AtCommand, Fields, ParseError, Prompt, Response};

/// The module's HTTP profiles `[lib]`.
pub const HTTP_PROFILES: std::ops::RangeInclusive<u8> = 0..=3;

/// `AT+UHTTP=<p>`: resets profile `p` to its factory values (§7.1).
#[derive(Debug, Clone, Copy)]
pub struct ResetHttpProfile(pub u8);

ok_command!(ResetHttpProfile, |c| format!("AT+UHTTP={}", c.0));

/// `+UHTTP` op 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpAuth {
    None = 0,
    Basic = 1,
}

/// `+UHTTP` op 10: where requests and responses go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoMode {
    /// `0`: files in the module's file system (§7.2).
    FileSystem = 0,
    /// `1`: the UART, between `CONNECT` and `DISCONNECT` (§7.3).
    DirectLink = 1,
}

/// One `+UHTTP` setting (§7.1, §7.5).
#[derive(Clone, PartialEq, Eq)]
pub enum HttpSetting {
    /// Op 0.
    ServerIp(String),
    /// Op 1.
    ServerName(String),
    /// Op 2.
    Username(String),
    /// Op 3: never shown in a label or a log.
    Password(String),
    /// Op 4.
    Auth(HttpAuth),
    /// Op 5. Set after op 6, since op 6 switches the port between 80 and
    /// 443 unless it was set by hand (§7.5).
    Port(u16),
    /// Op 6: HTTPS with this security profile (`6,1,<p>`), or plain (`6,0`).
    Secure(Option<u8>),
    /// Op 7: the request timeout in seconds (at least 30 `[lib]`).
    Timeout(u16),
    /// Op 9: a custom request header, `"<index>:<name>:<value>"` `[lib]`
    /// (index 0-4). The value is a secret (a token): never shown in a label
    /// or a log.
    CustomHeader {
        index: u8,
        name: String,
        value: String,
    },
    /// Op 10.
    IoMode(IoMode),
    /// Op 20: the PDP context and preferred IP type (§7.1).
    PdpMapping { cid: u8, ip_type: u8 },
}

impl HttpSetting {
    pub fn op(&self) -> u8 {
        match self {
            HttpSetting::ServerIp(_) => 0,
            HttpSetting::ServerName(_) => 1,
            HttpSetting::Username(_) => 2,
            HttpSetting::Password(_) => 3,
            HttpSetting::Auth(_) => 4,
            HttpSetting::Port(_) => 5,
            HttpSetting::Secure(_) => 6,
            HttpSetting::Timeout(_) => 7,
            HttpSetting::CustomHeader { .. } => 9,
            HttpSetting::IoMode(_) => 10,
            HttpSetting::PdpMapping { .. } => 20,
        }
    }

    /// The parameters after `<p>,`; with `masked`, the password and the
    /// header values as [`crate::values::MASK`].
    fn params(&self, masked: bool) -> String {
        let secret = |value: &str| {
            if masked {
                crate::values::MASK.to_owned()
            } else {
                value.to_owned()
            }
        };
        match self {
            HttpSetting::ServerIp(ip) => format!("0,\"{ip}\""),
            HttpSetting::ServerName(name) => format!("1,\"{name}\""),
            HttpSetting::Username(user) => format!("2,\"{user}\""),
            HttpSetting::Password(password) => format!("3,\"{}\"", secret(password)),
            HttpSetting::Auth(a) => format!("4,{}", *a as u8),
            HttpSetting::Port(p) => format!("5,{p}"),
            HttpSetting::Secure(None) => "6,0".to_owned(),
            HttpSetting::Secure(Some(profile)) => format!("6,1,{profile}"),
            HttpSetting::Timeout(s) => format!("7,{s}"),
            HttpSetting::CustomHeader { index, name, value } => {
                format!("9,\"{index}:{name}:{}\"", secret(value))
            }
            HttpSetting::IoMode(m) => format!("10,{}", *m as u8),
            HttpSetting::PdpMapping { cid, ip_type } => format!("20,{cid},{ip_type}"),
        }
    }
}

/// Never prints the password or a header's value.
impl std::fmt::Debug for HttpSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UHTTP={}", self.params(true))
    }
}

/// `AT+UHTTP=<p>,<op>,...`: one setting of HTTP profile `p` (§7.1). Kept
/// across deep sleep only once stored with [`HttpNvm::Save`] (§7.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetHttpProfile {
    pub profile: u8,
    pub setting: HttpSetting,
}

ok_command!(
    SetHttpProfile,
    |c| format!("AT+UHTTP={},{}", c.profile, c.setting.params(false)),
    label = |c| format!("AT+UHTTP={},{}", c.profile, c.setting.params(true))
);

/// `AT+UHTTPNV=<p>,<op>` (§7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpNvmOp {
    /// `0`: factory values, and stop using NVM after a wake.
    RestoreFactory = 0,
    /// `1`: load what NVM holds and use it after a wake. Not permanent:
    /// re-armed after every boot (§7.1.2.2).
    Load = 1,
    /// `2`: store the profile in NVM (a flash write; also arms its use
    /// after a wake).
    Save = 2,
}

/// `AT+UHTTPNV=<p>,<op>` (§7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpNvm {
    pub profile: u8,
    pub op: HttpNvmOp,
}

ok_command!(HttpNvm, |c| format!(
    "AT+UHTTPNV={},{}",
    c.profile, c.op as u8
));

/// `AT+UHTTPNV?`: which profiles use their NVM copy after a wake,
/// `+UHTTPNV: <p>,<0|1>` per profile (§7.1.1). A module that rebooted has
/// forgotten it (§7.1.2.2), even one that rebooted while asleep.
#[derive(Debug, Clone, Copy)]
pub struct ReadHttpNvm;

impl AtCommand for ReadHttpNvm {
    /// `(profile, armed)` per line.
    type Response = Vec<(u8, bool)>;
    fn text(&self) -> String {
        "AT+UHTTPNV?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UHTTPNV")
    }
    fn parse(&self, r: &Response) -> Result<Vec<(u8, bool)>, ParseError> {
        r.lines_with("+UHTTPNV")
            .map(|line| {
                let f = Fields::parse(line, "+UHTTPNV")?;
                Ok((f.int_as(0)?, f.int(1)? == 1))
            })
            .collect()
    }
}

/// `+UHTTPC`'s `<http_command>` (§7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Head = 0,
    Get = 1,
    Delete = 2,
    Put = 3,
    /// A body from a file of the module's file system.
    PostFile = 4,
    /// A short body inline (at most 128 printable characters `[lib]`).
    PostData = 5,
    /// A body streamed after `CONNECT`, in direct link mode (§7.3).
    PostDirect = 7,
}

/// `+UHTTPC`'s content type (`[lib]`: ubxlib and the AT manual).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentType {
    FormUrlEncoded,
    TextPlain,
    OctetStream,
    MultipartFormData,
    Json,
    Xml,
    /// `6` and the type itself (at most 64 characters).
    UserDefined(String),
}

impl ContentType {
    pub fn code(&self) -> u8 {
        match self {
            ContentType::FormUrlEncoded => 0,
            ContentType::TextPlain => 1,
            ContentType::OctetStream => 2,
            ContentType::MultipartFormData => 3,
            ContentType::Json => 4,
            ContentType::Xml => 5,
            ContentType::UserDefined(_) => 6,
        }
    }

    /// `<code>,"<user type>"` as the request commands take it; the user
    /// type is empty unless `UserDefined` (the note writes `1,,11`).
    fn params(&self) -> String {
        match self {
            ContentType::UserDefined(t) => format!("6,\"{t}\""),
            other => format!("{},", other.code()),
        }
    }
}

/// `AT+UHTTPC=<p>,<cmd>,"<path>","<response file>"[,...]`: a request whose
/// response goes to a file of the module (§7.1, §7.2). `OK` means it was
/// taken; the result is `+UUHTTPCR: <p>,<cmd>,<1|0>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub profile: u8,
    pub method: HttpMethod,
    pub path: String,
    pub response_file: String,
    /// For [`HttpMethod::PostFile`] / `Put`: the file holding the body, and
    /// its content type.
    pub body: Option<(String, ContentType)>,
}

ok_command!(HttpRequest, |c| {
    let mut text = format!(
        "AT+UHTTPC={},{},\"{}\",\"{}\"",
        c.profile, c.method as u8, c.path, c.response_file
    );
    if let Some((file, content_type)) = &c.body {
        text.push_str(&format!(",\"{file}\",{}", content_type.code()));
        if let ContentType::UserDefined(t) = content_type {
            text.push_str(&format!(",\"{t}\""));
        }
    }
    text
});

/// `AT+UHTTPC=<p>,7,"<path>",<content type>,"<user type>",<size>`, then
/// `CONNECT`, then exactly the body; the module answers with the server's
/// response as a stream (status line, headers, body) up to `DISCONNECT`,
/// then `OK`, then `+UUHTTPCR: <p>,7,<1|0>` (§7.3). Binary bodies go byte
/// for byte. Direct link keeps the module out of Sleep-2/Hibernate while
/// it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDirect {
    pub profile: u8,
    pub path: String,
    pub content_type: ContentType,
    pub body: Vec<u8>,
    /// The command's deadline: the profile's request timeout and a margin.
    pub timeout: Duration,
}

impl AtCommand for PostDirect {
    /// The response stream as the module relayed it (empty when it sent
    /// none, e.g. the connection failed; the URC then says 0).
    type Response = Vec<u8>;
    fn text(&self) -> String {
        format!(
            "AT+UHTTPC={},7,\"{}\",{},{}",
            self.profile,
            self.path,
            self.content_type.params(),
            self.body.len()
        )
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::Connect, &self.body))
    }
    fn streams_response(&self) -> bool {
        true
    }
    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }
    fn parse(&self, r: &Response) -> Result<Vec<u8>, ParseError> {
        Ok(r.stream.clone().unwrap_or_default())
    }
}

/// The last error of an HTTP profile, `+UHTTPER: <p>,<class>,<code>` (§7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpErrorCode {
    pub class: i64,
    pub code: i64,
}

impl HttpErrorCode {
    pub const NONE: HttpErrorCode = HttpErrorCode { class: 0, code: 0 };

    /// In words, where the code is known (`[lib]`: codes seen in the field;
    /// `[model]`: the simulator's, see lexi-sim's `module/http` docs).
    pub fn describe(self) -> &'static str {
        match (self.class, self.code) {
            (0, 0) => "no error",
            (3, 4) => "the server's name does not resolve",
            (3, 7) => "the profile names no server (the module lost its HTTP profile?)",
            (3, 10) => "internal error of the module's HTTP client",
            (3, 11) => "the server does not respond (or packets are lost)",
            (10, 22) => "the PDP context is not active",
            (_, 70) => "TLS: the server's certificate is not trusted by the CA (uplink.http.tls.ca_file)",
            (_, 71) => "TLS: the server's certificate is not for this host name (uplink.http.tls.server_name)",
            (_, 72) => "TLS: the server refused the TLS version or cipher (uplink.http.tls.min_version)",
            (_, 73) => "TLS: the server refused or missed the client certificate (uplink.http.tls.cert_file, key_file)",
            (_, 74) => "TLS: the handshake failed",
            _ => "see the AT commands manual's error class and code tables",
        }
    }

    /// A TLS handshake failure (`[model]`: codes 70-74, as the MQTT
    /// client's, see `MqttErrorCode::is_tls`).
    pub fn is_tls(self) -> bool {
        (70..=74).contains(&self.code)
    }

    /// Worth another attempt later: the network, not the request.
    pub fn is_retryable(self) -> bool {
        matches!((self.class, self.code), (3, 11) | (10, 22) | (0, 0))
    }
}

impl std::fmt::Display for HttpErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "+UHTTPER: {},{} ({})",
            self.class,
            self.code,
            self.describe()
        )
    }
}

/// `AT+UHTTPER=<p>`: why the profile's last request failed (§7.4).
#[derive(Debug, Clone, Copy)]
pub struct ReadHttpError(pub u8);

impl AtCommand for ReadHttpError {
    type Response = HttpErrorCode;
    fn text(&self) -> String {
        format!("AT+UHTTPER={}", self.0)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UHTTPER")
    }
    fn parse(&self, r: &Response) -> Result<HttpErrorCode, ParseError> {
        let f = Fields::parse(r.line("+UHTTPER")?, "+UHTTPER")?;
        Ok(HttpErrorCode {
            class: f.int(1)?,
            code: f.int(2)?,
        })
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
