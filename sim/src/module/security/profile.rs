//! One security profile (`+USECPRF`, §3.2, §3.4): its settings and the
//! session data the last handshake left, and the module's root of trust
//! that encrypts that data for `13,13`.
//!
//! Volatile (§3.4): a boot, Sleep-2 and Hibernate bring back the factory
//! profile ([`SecurityProfile::default`]); `mod.rs` does that.

use openssl::hash::{hash, MessageDigest};
use openssl::ssl::SslSession;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use super::super::{bad_param, unsupported};
use crate::at::parse::{Param, Params};
use crate::at::reply::{CmeError, Fail};
use crate::nvm::Credential;

/// `[model]` the longest host name (ops 4 and 10): a DNS name's limit.
const HOST_MAX: usize = 253;
/// `[model]` the largest session data taken back, in base64 characters:
/// what fits a command line (`at::line::MAX_LINE`) with room to spare.
pub(super) const SESSION_B64_MAX: usize = 6 * 1024;

/// The factory profile: validation 1 `[lib]`, any TLS version, nothing
/// named, resumption off with type 1 `[model]`.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct SecurityProfile {
    /// Op 0: 0 none, 1 the chain against a trusted root, 2 also the
    /// server's host name (op 4), 3 also the certificates' dates (§3.2
    /// names levels 1 to 3; `[model]` the meaning of 3, from u-blox's other
    /// modules).
    pub validation: u8,
    /// Op 1: 0 any, 1 TLS 1.0, 2 TLS 1.1, 3 TLS 1.2, 4 TLS 1.3 `[model]`.
    pub min_version: u8,
    /// Op 2 as given: `[model]` kept for its read, the handshake offers
    /// OpenSSL's default suites whatever it says.
    pub cipher: Option<String>,
    /// Op 3: the one trusted root to use; empty: every imported one (§3.2).
    pub ca_name: String,
    /// Op 4: the host name the server's certificate must name (level 2).
    pub expected_host: String,
    /// Ops 5 and 6: the client certificate and key of mutual TLS.
    pub client_cert: String,
    pub client_key: String,
    /// Op 10: server name indication; empty: `[model]` none is sent.
    pub sni: String,
    /// `13,0`: session resumption on.
    pub resumption: bool,
    /// `13,1`: 11 (encrypted by the root of trust) rather than 1.
    pub encrypted: bool,
    /// The session (OpenSSL's DER of it) set with `13,3`/`13,13` or left by
    /// the last handshake.
    pub session: Option<Vec<u8>>,
}

impl Default for SecurityProfile {
    fn default() -> Self {
        SecurityProfile {
            validation: 1,
            min_version: 0,
            cipher: None,
            ca_name: String::new(),
            expected_host: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
            sni: String::new(),
            resumption: false,
            encrypted: false,
            session: None,
        }
    }
}

/// Never shows the session: it resumes a session with the server.
impl std::fmt::Debug for SecurityProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityProfile")
            .field("validation", &self.validation)
            .field("min_version", &self.min_version)
            .field("ca_name", &self.ca_name)
            .field("expected_host", &self.expected_host)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("sni", &self.sni)
            .field("resumption", &self.resumption)
            .field("encrypted", &self.encrypted)
            .field("session_len", &self.session.as_ref().map(Vec::len))
            .finish()
    }
}

fn incorrect() -> Fail {
    CmeError::INCORRECT_PARAMETERS.into()
}

fn int_in(params: &Params, i: usize, range: std::ops::RangeInclusive<i64>) -> Result<i64, Fail> {
    let n = params.required_int(i).map_err(bad_param)?;
    range.contains(&n).then_some(n).ok_or_else(incorrect)
}

/// A quoted name (ops 3, 5, 6): empty clears it `[model]`.
fn name(params: &Params, i: usize) -> Result<String, Fail> {
    let text = params.required_string(i).map_err(bad_param)?;
    if text.is_empty() || Credential::valid_name(text) {
        Ok(text.to_string())
    } else {
        Err(incorrect())
    }
}

/// A quoted host name (ops 4, 10): printable, no spaces `[model]`.
fn host(params: &Params, i: usize) -> Result<String, Fail> {
    let text = params.required_string(i).map_err(bad_param)?;
    if text.len() <= HOST_MAX && text.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        Ok(text.to_string())
    } else {
        Err(incorrect())
    }
}

/// The session data parameter: base64, unquoted as the note prints it
/// (§3.4.2) or quoted.
fn base64_param(params: &Params, i: usize) -> Result<&str, Fail> {
    match params.get(i) {
        Param::Bare(text) | Param::Quoted(text) => Ok(text),
        Param::Omitted => Err(incorrect()),
    }
}

impl SecurityProfile {
    /// Applies `AT+USECPRF=<p>,<op>,<value...>` (`params` from the op on).
    /// `root` seals and opens the `13,13` data.
    pub(super) fn set(&mut self, params: &Params, root: &RootOfTrust) -> Result<(), Fail> {
        let op = params.required_int(0).map_err(bad_param)?;
        match op {
            0 => {
                params.at_most(2).map_err(bad_param)?;
                self.validation = int_in(params, 1, 0..=3)? as u8;
            }
            1 => {
                params.at_most(2).map_err(bad_param)?;
                self.min_version = int_in(params, 1, 0..=4)? as u8;
            }
            2 => {
                // `2,<legacy suite>` or `2,99,"<IANA name>"`: accepted and
                // ignored [model].
                params.at_most(3).map_err(bad_param)?;
                let suite = int_in(params, 1, 0..=255)?;
                let iana = params.string(2).map_err(bad_param)?;
                self.cipher = Some(match iana {
                    Some(text) => format!("{suite},\"{text}\""),
                    None => suite.to_string(),
                });
            }
            3 => {
                params.at_most(2).map_err(bad_param)?;
                self.ca_name = name(params, 1)?;
            }
            4 => {
                params.at_most(2).map_err(bad_param)?;
                self.expected_host = host(params, 1)?;
            }
            5 => {
                params.at_most(2).map_err(bad_param)?;
                self.client_cert = name(params, 1)?;
            }
            6 => {
                params.at_most(2).map_err(bad_param)?;
                self.client_key = name(params, 1)?;
            }
            10 => {
                params.at_most(2).map_err(bad_param)?;
                self.sni = host(params, 1)?;
            }
            13 => self.set_resumption(params, root)?,
            // [model] key password, PSK, PSK identity, pinning, ALPN: not
            // simulated.
            7..=9 | 11 | 12 => return unsupported(),
            _ => return Err(incorrect()),
        }
        Ok(())
    }

    /// `13,<sub>,...`.
    fn set_resumption(&mut self, params: &Params, root: &RootOfTrust) -> Result<(), Fail> {
        match int_in(params, 1, 0..=13)? {
            0 => {
                params.at_most(3).map_err(bad_param)?;
                self.resumption = int_in(params, 2, 0..=1)? == 1;
            }
            1 => {
                params.at_most(3).map_err(bad_param)?;
                self.encrypted = match int_in(params, 2, 1..=11)? {
                    1 => false,
                    11 => true,
                    _ => return Err(incorrect()),
                };
            }
            sub @ (3 | 13) => {
                params.at_most(4).map_err(bad_param)?;
                self.check_data_op(sub)?;
                let text = base64_param(params, 2)?;
                let size = params.required_int(3).map_err(bad_param)?;
                if text.len() > SESSION_B64_MAX || usize::try_from(size) != Ok(text.len()) {
                    return Err(incorrect());
                }
                let bytes = openssl::base64::decode_block(text).map_err(|_| incorrect())?;
                let der = if sub == 13 {
                    root.open(&bytes).ok_or_else(incorrect)?
                } else {
                    bytes
                };
                // [model] data OpenSSL cannot read as a session is refused
                // here rather than ignored at the next handshake.
                SslSession::from_der(&der).map_err(|_| incorrect())?;
                self.session = Some(der);
            }
            _ => return Err(incorrect()),
        }
        Ok(())
    }

    /// `[model]` the plain data (`13,3`) only with type 1, the encrypted
    /// (`13,13`) only with type 11: a module whose root of trust guards its
    /// sessions does not hand them out in the clear.
    fn check_data_op(&self, sub: i64) -> Result<(), Fail> {
        if (sub == 13) == self.encrypted {
            Ok(())
        } else {
            Err(CmeError::OPERATION_NOT_ALLOWED.into())
        }
    }

    /// The answer to `AT+USECPRF=<p>,<op>[,<sub>]` `[model]` (the note shows
    /// only `13,3` and `13,13`): `+USECPRF: <p>,<op>,<value>`.
    pub(super) fn read(&self, p: u8, params: &Params, root: &RootOfTrust) -> Result<String, Fail> {
        let op = params.required_int(0).map_err(bad_param)?;
        let quoted = |text: &str| format!("+USECPRF: {p},{op},\"{text}\"");
        if op != 13 {
            params.at_most(1).map_err(bad_param)?;
        }
        Ok(match op {
            0 => format!("+USECPRF: {p},0,{}", self.validation),
            1 => format!("+USECPRF: {p},1,{}", self.min_version),
            2 => format!("+USECPRF: {p},2,{}", self.cipher.as_deref().unwrap_or("0")),
            3 => quoted(&self.ca_name),
            4 => quoted(&self.expected_host),
            5 => quoted(&self.client_cert),
            6 => quoted(&self.client_key),
            10 => quoted(&self.sni),
            13 => {
                params.at_most(2).map_err(bad_param)?;
                match params.required_int(1).map_err(bad_param)? {
                    0 => format!("+USECPRF: {p},13,0,{}", u8::from(self.resumption)),
                    1 => format!("+USECPRF: {p},13,1,{}", if self.encrypted { 11 } else { 1 }),
                    sub @ (3 | 13) => {
                        self.check_data_op(sub)?;
                        let data = match &self.session {
                            Some(der) if sub == 13 => root.seal(der),
                            Some(der) => Some(der.clone()),
                            None => None,
                        };
                        // [model] nothing held: an empty field and size 0.
                        let b64 =
                            data.map_or_else(String::new, |d| openssl::base64::encode_block(&d));
                        format!("+USECPRF: {p},13,{sub},{b64},{}", b64.len())
                    }
                    _ => return Err(incorrect()),
                }
            }
            7..=9 | 11 | 12 => return Err(CmeError::OPERATION_NOT_SUPPORTED.into()),
            _ => return Err(incorrect()),
        })
    }

    /// `+UUSECPRF`'s status: 1 enabled, 2 configured (data held) (§3.4.1).
    pub(super) fn resumption_status(&self) -> u8 {
        if self.session.is_some() {
            2
        } else {
            1
        }
    }
}

/// `[model]` the module's root of trust for `13,1,11`: AES-256-GCM under a
/// key only this module has (derived from its IMEI), so the encrypted data
/// resumes a session on this module and is noise anywhere else. The sealed
/// form is nonce (12 bytes) || ciphertext || tag (16 bytes).
#[derive(Clone)]
pub(super) struct RootOfTrust {
    key: Vec<u8>,
}

/// Never shows the key.
impl std::fmt::Debug for RootOfTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootOfTrust(..)")
    }
}

const NONCE: usize = 12;
const TAG: usize = 16;
const AAD: &[u8] = b"lexi-sim session data v1";

impl RootOfTrust {
    pub(super) fn for_imei(imei: &str) -> Self {
        let seed = format!("lexi-sim root of trust {imei}");
        let key = hash(MessageDigest::sha256(), seed.as_bytes())
            .map(|d| d.to_vec())
            .unwrap_or_default();
        RootOfTrust { key }
    }

    pub(super) fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE];
        openssl::rand::rand_bytes(&mut nonce).ok()?;
        let mut tag = [0u8; TAG];
        let sealed = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            AAD,
            plain,
            &mut tag,
        )
        .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out.extend_from_slice(&tag);
        Some(out)
    }

    /// `None`: not sealed by this module (or damaged).
    pub(super) fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE + TAG {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE);
        let (body, tag) = rest.split_at(rest.len() - TAG);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            AAD,
            body,
            tag,
        )
        .ok()
    }
}
