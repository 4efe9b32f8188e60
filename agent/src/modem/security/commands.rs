//! The `+USECMNG` and `+USECPRF` commands (application note chapter 3).
//!
//! One type per command, each doc naming the note's section:
//! - credentials in the module's NVM (§3.1, §3.3): [`ImportCredential`]
//!   (stream import with the `>` prompt), [`CredentialMd5`] (`=4`),
//!   [`ListCredentials`] (`=3`), [`RemoveCredential`] (`=2`);
//! - security profiles, volatile (§3.2, §3.4): [`ResetSecurityProfile`],
//!   [`SetSecurityProfile`] (one [`SecuritySetting`] per op),
//!   [`ReadSessionData`] (`13,3` / `13,13`).
//!
//! The session resumption status arrives as `+UUSECPRF: <p>,13,0,<status>`
//! (the note also prints it as `+USECPRF: ...`; both are URCs, see
//! `Urc::SessionResumption`).

use std::time::Duration;

use crate::modem::at::command::ok_command;
use crate::modem::at::{AtCommand, Field, Fields, ParseError, Prompt, Response};

/// What a credential is, numbered as `+USECMNG`'s `<type>` (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// `0`: a trusted root (CA) certificate.
    Ca = 0,
    /// `1`: the client certificate of mutual TLS.
    ClientCert = 1,
    /// `2`: the client's private key.
    ClientKey = 2,
}

impl CredentialKind {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<CredentialKind> {
        match code {
            0 => Some(CredentialKind::Ca),
            1 => Some(CredentialKind::ClientCert),
            2 => Some(CredentialKind::ClientKey),
            _ => None,
        }
    }

    /// The type as `AT+USECMNG=3` lists it `[lib]`.
    pub fn list_tag(self) -> &'static str {
        match self {
            CredentialKind::Ca => "CA",
            CredentialKind::ClientCert => "CC",
            CredentialKind::ClientKey => "PK",
        }
    }

    /// In words, for logs and errors.
    pub fn describe(self) -> &'static str {
        match self {
            CredentialKind::Ca => "CA certificate",
            CredentialKind::ClientCert => "client certificate",
            CredentialKind::ClientKey => "client key",
        }
    }
}

/// The longest name the module takes for a credential `[lib]`.
pub const CREDENTIAL_NAME_MAX: usize = 32;
/// The largest credential the module takes `[lib]`.
pub const CREDENTIAL_MAX_BYTES: usize = 8 * 1024;

/// What the module answers for a stored credential: the MD5 of its DER, as
/// 32 lowercase hex digits (§3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub kind: CredentialKind,
    pub name: String,
    pub md5: String,
}

/// Parses `+USECMNG: <op>,<type>,"<name>","<md5>"`. The op is not checked:
/// the note's §3.3 stream-import example echoes `1` where modules echo `0`
/// `[lib]`.
fn stored_credential(r: &Response) -> Result<StoredCredential, ParseError> {
    let line = r.line("+USECMNG")?;
    let f = Fields::parse(line, "+USECMNG")?;
    let kind = CredentialKind::from_code(f.int(1)?)
        .ok_or_else(|| ParseError::new(line, "unknown credential type"))?;
    // The note's examples wrap a long hash with a space: keep hex digits only.
    let md5: String = f
        .str(3)?
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if md5.len() != 32 {
        return Err(ParseError::new(line, "the MD5 is not 32 hex digits"));
    }
    Ok(StoredCredential {
        kind,
        name: f.str(2)?.to_owned(),
        md5,
    })
}

/// `AT+USECMNG=0,<type>,"<name>",<size>`, then `>`, then exactly the PEM
/// bytes: imports a credential from a byte stream into the module's NVM
/// (§3.3). Answers `+USECMNG: 0,<type>,"<name>","<md5 of the DER>"`.
/// An import under an existing name replaces it.
#[derive(Clone)]
pub struct ImportCredential {
    pub kind: CredentialKind,
    pub name: String,
    pub pem: Vec<u8>,
}

/// Never shows the bytes: a client key is a secret.
impl std::fmt::Debug for ImportCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportCredential")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("bytes", &self.pem.len())
            .finish()
    }
}

impl AtCommand for ImportCredential {
    type Response = StoredCredential;
    fn text(&self) -> String {
        format!(
            "AT+USECMNG=0,{},\"{}\",{}",
            self.kind.code(),
            self.name,
            self.pem.len()
        )
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USECMNG")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::Greater, &self.pem))
    }
    /// Parsing and storing a certificate takes the module a moment `[model]`.
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(20))
    }
    fn parse(&self, r: &Response) -> Result<StoredCredential, ParseError> {
        stored_credential(r)
    }
}

/// `AT+USECMNG=4,<type>,"<name>"`: the MD5 of a stored credential's DER
/// (§3.1); answers like the import `[lib]`, or `+CME ERROR` when there is
/// no such credential.
#[derive(Debug, Clone)]
pub struct CredentialMd5 {
    pub kind: CredentialKind,
    pub name: String,
}

impl AtCommand for CredentialMd5 {
    type Response = StoredCredential;
    fn text(&self) -> String {
        format!("AT+USECMNG=4,{},\"{}\"", self.kind.code(), self.name)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USECMNG")
    }
    fn parse(&self, r: &Response) -> Result<StoredCredential, ParseError> {
        stored_credential(r)
    }
}

/// `AT+USECMNG=2,<type>,"<name>"`: removes a credential (§3.1).
#[derive(Debug, Clone)]
pub struct RemoveCredential {
    pub kind: CredentialKind,
    pub name: String,
}

ok_command!(RemoveCredential, |c| format!(
    "AT+USECMNG=2,{},\"{}\"",
    c.kind.code(),
    c.name
));

/// One line of `AT+USECMNG=3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCredential {
    /// `None` for types the agent never imports (`SC`, `VC`, `PU`).
    pub kind: Option<CredentialKind>,
    pub name: String,
}

/// `AT+USECMNG=3`: every stored credential, one line each without a prefix:
/// `CA,"name","subject","YYYY/MM/DD HH:MM:SS"`, `PK,"name"` (§3.1).
#[derive(Debug, Clone, Copy)]
pub struct ListCredentials;

impl AtCommand for ListCredentials {
    type Response = Vec<ListedCredential>;
    fn text(&self) -> String {
        "AT+USECMNG=3".into()
    }
    fn parse(&self, r: &Response) -> Result<Vec<ListedCredential>, ParseError> {
        r.lines
            .iter()
            .map(|line| {
                let f = Fields::parse_bare(line)?;
                let tag = f.str(0)?;
                let kind = [
                    CredentialKind::Ca,
                    CredentialKind::ClientCert,
                    CredentialKind::ClientKey,
                ]
                .into_iter()
                .find(|k| k.list_tag().eq_ignore_ascii_case(tag.trim()));
                Ok(ListedCredential {
                    kind,
                    name: f.str(1)?.to_owned(),
                })
            })
            .collect()
    }
}

/// The security profiles the module has (§3.2) `[lib]`.
pub const SECURITY_PROFILES: std::ops::RangeInclusive<u8> = 0..=4;

/// `AT+USECPRF=<p>`: resets profile `p` to its factory values (§3.2, which
/// recommends it before setting a profile).
#[derive(Debug, Clone, Copy)]
pub struct ResetSecurityProfile(pub u8);

ok_command!(ResetSecurityProfile, |c| format!("AT+USECPRF={}", c.0));

/// How the module checks the server's certificate, `+USECPRF` op 0 (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validation {
    /// `0`: no validation.
    None = 0,
    /// `1`: the chain, against the trusted root.
    Chain = 1,
    /// `2`: the chain and the expected server host name (op 4).
    ChainAndHostname = 2,
}

/// The oldest TLS version the module accepts, `+USECPRF` op 1 `[lib]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MinTlsVersion {
    /// `0`: any.
    Any = 0,
    Tls1_0 = 1,
    Tls1_1 = 2,
    Tls1_2 = 3,
    /// `4` `[model]`: the note lists TLS 1.3 among what the module speaks,
    /// host libraries stop at 3.
    Tls1_3 = 4,
}

/// Session resumption data as the module hands it out and takes it back:
/// base64 text and its length (§3.4).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionData {
    pub base64: String,
}

/// Never shows the data: it resumes a session with the server.
impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionData({} base64 characters)", self.base64.len())
    }
}

/// One `+USECPRF` setting (§3.2, §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecuritySetting {
    /// Op 0.
    Validation(Validation),
    /// Op 1.
    MinVersion(MinTlsVersion),
    /// Op 3: the trusted root's name.
    CaName(String),
    /// Op 4: the host name the server's certificate must carry.
    ExpectedHostname(String),
    /// Op 5.
    ClientCertName(String),
    /// Op 6.
    ClientKeyName(String),
    /// Op 10: server name indication.
    Sni(String),
    /// Op `13,0,<1|0>`: session resumption on or off.
    Resumption(bool),
    /// Op `13,1,<type>`: `1` session ticket, `11` ticket encrypted with the
    /// module's root of trust.
    ResumptionType { encrypted: bool },
    /// Op `13,3,<b64>,<size>` (or `13,13,...` encrypted): the session data
    /// the next handshake resumes with.
    SessionData { encrypted: bool, data: SessionData },
}

impl SecuritySetting {
    fn params(&self, secret: Option<&str>) -> String {
        match self {
            SecuritySetting::Validation(v) => format!("0,{}", *v as u8),
            SecuritySetting::MinVersion(v) => format!("1,{}", *v as u8),
            SecuritySetting::CaName(n) => format!("3,\"{n}\""),
            SecuritySetting::ExpectedHostname(n) => format!("4,\"{n}\""),
            SecuritySetting::ClientCertName(n) => format!("5,\"{n}\""),
            SecuritySetting::ClientKeyName(n) => format!("6,\"{n}\""),
            SecuritySetting::Sni(n) => format!("10,\"{n}\""),
            SecuritySetting::Resumption(on) => format!("13,0,{}", u8::from(*on)),
            SecuritySetting::ResumptionType { encrypted } => {
                format!("13,1,{}", if *encrypted { 11 } else { 1 })
            }
            // The note writes the data without quotes (§3.4.2); base64 has
            // no comma or quote, so the line splits the same either way.
            SecuritySetting::SessionData { encrypted, data } => format!(
                "13,{},{},{}",
                if *encrypted { 13 } else { 3 },
                secret.unwrap_or(&data.base64),
                data.base64.len()
            ),
        }
    }
}

/// `AT+USECPRF=<p>,<op>,...`: one setting of security profile `p` (§3.2).
/// Profiles are volatile: set again after every boot and deep sleep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSecurityProfile {
    pub profile: u8,
    pub setting: SecuritySetting,
}

ok_command!(
    SetSecurityProfile,
    |c| format!("AT+USECPRF={},{}", c.profile, c.setting.params(None)),
    label = |c| format!(
        "AT+USECPRF={},{}",
        c.profile,
        c.setting.params(Some(crate::values::MASK))
    )
);

/// `AT+USECPRF=<p>,13,3` (or `13,13` encrypted): the session data the last
/// handshake left (§3.4.2): `+USECPRF: <p>,13,3,<b64>,<size>`. `None` when
/// the module holds none (an empty field, or no line).
#[derive(Debug, Clone, Copy)]
pub struct ReadSessionData {
    pub profile: u8,
    pub encrypted: bool,
}

impl ReadSessionData {
    fn op(&self) -> i64 {
        if self.encrypted {
            13
        } else {
            3
        }
    }
}

impl AtCommand for ReadSessionData {
    type Response = Option<SessionData>;
    fn text(&self) -> String {
        format!("AT+USECPRF={},13,{}", self.profile, self.op())
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USECPRF")
    }
    fn label(&self) -> String {
        self.text()
    }
    fn parse(&self, r: &Response) -> Result<Option<SessionData>, ParseError> {
        for line in r.lines_with("+USECPRF") {
            let f = Fields::parse(line, "+USECPRF")?;
            if f.int(1)? != 13 || f.int(2)? != self.op() {
                continue;
            }
            let base64 = match f.get(3) {
                Some(Field::Empty) | None => return Ok(None),
                // All digits is still base64.
                Some(Field::Int(n)) => n.to_string(),
                Some(_) => f.str(3)?.trim().to_owned(),
            };
            if base64.is_empty() {
                return Ok(None);
            }
            // The note prints the size twice for `13,13`; the data is what
            // counts, its size is only checked when it is a number.
            if let Ok(size) = f.int(4) {
                if usize::try_from(size).ok() != Some(base64.len()) {
                    return Err(ParseError::new(
                        line,
                        "the session data's size does not match it",
                    ));
                }
            }
            return Ok(Some(SessionData { base64 }));
        }
        Ok(None)
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
