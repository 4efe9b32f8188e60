//! Data security (chapter 3): the credential store (`+USECMNG`), the
//! security profiles (`+USECPRF`) with session resumption and its
//! `+UUSECPRF` URC, and what a secure connection of the embedded clients
//! gets from them (the TLS itself is `crate::jobs::tls`).
//!
//! Wire forms:
//! - `AT+USECMNG=0,<type>,"<name>",<size>` -> `\r\n>` `[model]` (framed like
//!   the MQTT prompt) -> exactly `<size>` bytes of PEM, not echoed `[model]`
//!   -> `+USECMNG: 0,<type>,"<name>","<md5>"` and `OK` (§3.3; `[lib]` real
//!   modules echo op 0 and all 32 hex digits, lower case). The MD5 is of the
//!   DER (`credential.rs`). Types 0 CA, 1 client certificate, 2 client key.
//!   `[lib]` name <= 32 characters, PEM <= 8 KiB: longer, or a bad type,
//!   answers `+CME ERROR: 50` before the prompt; `[model]` PEM that is not
//!   one readable block of the type answers `+CME ERROR: 50` after the
//!   bytes. `[model]` the same type and name again replaces the credential.
//! - `AT+USECMNG=1,...` (import from a file): `[model]` `+CME ERROR: 4`, the
//!   module's file system is not simulated.
//! - `AT+USECMNG=2,<type>,"<name>"` removes; `AT+USECMNG=3[,<type>]` lists
//!   (one line each, no prefix `[lib]`: `CA,"name","subject","YYYY/MM/DD
//!   HH:MM:SS"`, `CC,...`, `PK,"name"`); `AT+USECMNG=4,<type>,"<name>"`
//!   answers like the import with op 4. `[model]` a name that is not stored
//!   answers `+CME ERROR: 22` (not found) to 2 and 4.
//! - Credentials live in NVM: every import and removal is an NVM write
//!   (counted even when the bytes are the same, as a flash write would be).
//! - `AT+USECPRF=<p>` resets profile p (0-4) to the factory one;
//!   `AT+USECPRF=<p>,<op>,<value>` sets ops 0, 1, 2, 3, 4, 5, 6, 10 and
//!   `13,0,<0|1>`, `13,1,<1|11>`, `13,3,<b64>,<size>`, `13,13,<b64>,<size>`
//!   (`profile.rs`; the data unquoted as the note prints it, quoted also
//!   taken). `AT+USECPRF=<p>,<op>` (`<p>,13,<sub>`) reads one setting
//!   `[model]` as `+USECPRF: <p>,<op>,<value>`; `13,3` answers
//!   `+USECPRF: <p>,13,3,<b64>,<size>` (§3.4.2), `[model]` `<p>,13,3,,0`
//!   when nothing is held. Ops 7-9, 11, 12: `+CME ERROR: 4` `[model]`.
//! - Op 0, validation: 0 none, 1 the chain to a trusted root (op 3's, or
//!   `[model]` every imported one when op 3 is empty), 2 also the host name
//!   (op 4; `[model]` the server as the client names it when op 4 is
//!   empty), 3 also the certificates' dates (§3.2 names levels 1-3;
//!   `[model]` their meaning as in u-blox's other modules). `[model]`
//!   levels 1 and 2 do not check dates (the clock may not be set yet);
//!   level 3 checks them against the module's clock (`+CCLK`).
//! - Op 13,13 `[model]`: the data is the session sealed with AES-256-GCM
//!   under a key of this module's root of trust, derived from its IMEI
//!   (`profile.rs`): only a module with the same IMEI opens it; another
//!   answers `+CME ERROR: 50` to the set.
//! - Profiles are volatile (§3.4): a boot, Sleep-2 and Hibernate bring the
//!   factory profiles back, session data included.
//! - `+UUSECPRF: <p>,13,0,<status>` (§3.4.1; the note also prints it as
//!   `+USECPRF`, this module sends `+UUSECPRF`) after every secure
//!   connection whose profile has resumption on, once its handshake is done
//!   and before the client's own URC (`+UUMQTTC: 1,1`): 2 when the profile
//!   holds session data then, 1 otherwise. Not after `13,0,1` itself: the
//!   note's tables (§3.4.2) answer it with `OK` alone. `[model]` a
//!   connection that was not resumed and brought no new session leaves none
//!   held (the old data did not work), a failed one drops it; a resumed one
//!   without a new ticket keeps it.
//! - At most two TLS connections at once (§3.3): the secure MQTT session
//!   and `[model]` every socket with `+USOSEC` on count.
//!
//! The files: this one (the commands and the chapter's state),
//! `credential` (PEM to DER, the MD5, the list line), `profile` (one
//! security profile, its ops, the root of trust) and `connection` (what a
//! client's TLS connection is made with and what its reports change).
//!
//! `+UMQTTER` codes of a secure login that fails, `[model]` (class 13 is the
//! MQTT client's, as in the note's 13,50); the login answers `OK` then
//! `+UUMQTTC: 1,0`:
//! | class,code | meaning |
//! |---|---|
//! | 13,70 | the server's certificate is not trusted (no chain to the profile's CA, or no CA; at level 3 also out of its dates) |
//! | 13,71 | the server's certificate does not name the expected host (levels 2 and 3, op 4) |
//! | 13,72 | the server refused the TLS version or cipher (op 1), or we refused its |
//! | 13,73 | client certificate refused or missing (ops 5/6 not both stored and matching, or the server refused it) |
//! | 13,74 | other TLS handshake failure; also no TLS connection free (§3.3) |

mod connection;
mod credential;
mod profile;

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::{bad_param, unsupported, Effect, Module};
use crate::at::parse::{Form, Params};
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::tls::TlsFailure;
use crate::jobs::JobId;
use crate::nvm::{Credential, CredentialKind, CREDENTIAL_MAX_BYTES};
pub use connection::TlsConnection;
use credential::{list_line, md5_hex, pem_to_der};
use profile::{RootOfTrust, SecurityProfile};

/// Security profiles 0-4 `[lib]`.
pub const SECURITY_PROFILES: usize = 5;
/// §3.3: two TLS connections at once, overall.
pub const MAX_TLS_CONNECTIONS: usize = 2;

pub const ER_TLS_UNTRUSTED: (u16, u16) = (13, 70);
pub const ER_TLS_HOST: (u16, u16) = (13, 71);
pub const ER_TLS_VERSION: (u16, u16) = (13, 72);
pub const ER_TLS_CLIENT_CERT: (u16, u16) = (13, 73);
pub const ER_TLS_OTHER: (u16, u16) = (13, 74);

/// The `+UMQTTER` code of a failed handshake (see the table above).
pub(in crate::module) fn tls_error(failure: TlsFailure) -> (u16, u16) {
    match failure {
        TlsFailure::Untrusted => ER_TLS_UNTRUSTED,
        TlsFailure::HostMismatch => ER_TLS_HOST,
        TlsFailure::Version => ER_TLS_VERSION,
        TlsFailure::ClientCertificate => ER_TLS_CLIENT_CERT,
        TlsFailure::Handshake => ER_TLS_OTHER,
    }
}

/// A stream import collecting its bytes after the `>` prompt.
struct Import {
    kind: CredentialKind,
    name: String,
    want: usize,
    buf: Vec<u8>,
}

/// Never shows the bytes: they may be a private key.
impl std::fmt::Debug for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Import")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("want", &self.want)
            .field("got", &self.buf.len())
            .finish()
    }
}

/// Handshakes the record keeps (the oldest go first); the energy ledger
/// keeps the totals.
const TLS_LOG_MAX: usize = 1024;

/// The chapter's state. The profiles, the import in progress and the open
/// connections are volatile; the log is the simulator's record.
#[derive(Debug, Default)]
pub(super) struct Security {
    profiles: [SecurityProfile; SECURITY_PROFILES],
    import: Option<Import>,
    open: BTreeMap<JobId, connection::Open>,
    log: VecDeque<TlsConnection>,
}

impl Security {
    /// What a boot or a deep sleep loses.
    pub(super) fn lose_volatile(&mut self) {
        self.profiles = Default::default();
        self.import = None;
        self.open.clear();
    }
}

fn incorrect() -> Fail {
    CmeError::INCORRECT_PARAMETERS.into()
}

fn not_found() -> Fail {
    CmeError(22).into()
}

fn kind_at(params: &Params, i: usize) -> Result<CredentialKind, Fail> {
    let code = params.required_int(i).map_err(bad_param)?;
    CredentialKind::from_type(code).ok_or_else(incorrect)
}

fn name_at(params: &Params, i: usize) -> Result<String, Fail> {
    let name = params.required_string(i).map_err(bad_param)?;
    if Credential::valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(incorrect())
    }
}

impl Module {
    fn root_of_trust(&self) -> RootOfTrust {
        RootOfTrust::for_imei(&self.cfg.imei)
    }

    pub(super) fn credential(&self, kind: CredentialKind, name: &str) -> Option<&Credential> {
        self.nvm
            .credentials
            .iter()
            .find(|c| c.kind == kind && c.name == name)
    }

    /// Every import and removal is a flash write, even of the same bytes.
    fn write_credentials(&mut self, change: impl FnOnce(&mut Vec<Credential>)) {
        change(&mut self.nvm.credentials);
        self.nvm_writes += 1;
        self.out.push(Effect::SaveNvm(self.nvm.clone()));
    }

    /// `+USECMNG=<op>,...`.
    pub(super) fn usecmng(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        match params.required_int(0).map_err(bad_param)? {
            0 => {
                params.at_most(4).map_err(bad_param)?;
                let kind = kind_at(params, 1)?;
                let name = name_at(params, 2)?;
                let size = params.required_int(3).map_err(bad_param)?;
                let want = usize::try_from(size)
                    .ok()
                    .filter(|n| (1..=CREDENTIAL_MAX_BYTES).contains(n))
                    .ok_or_else(incorrect)?;
                self.security.import = Some(Import {
                    kind,
                    name,
                    want,
                    buf: Vec::with_capacity(want),
                });
                Ok(())
            }
            // [model] no file system to import from.
            1 => unsupported(),
            2 => {
                params.at_most(3).map_err(bad_param)?;
                let kind = kind_at(params, 1)?;
                let name = name_at(params, 2)?;
                self.credential(kind, &name).ok_or_else(not_found)?;
                self.write_credentials(|all| all.retain(|c| c.kind != kind || c.name != name));
                Ok(())
            }
            3 => {
                params.at_most(2).map_err(bad_param)?;
                let only = match params.int(1).map_err(bad_param)? {
                    None => None,
                    Some(code) => Some(CredentialKind::from_type(code).ok_or_else(incorrect)?),
                };
                for c in &self.nvm.credentials {
                    if only.is_none_or(|k| k == c.kind) {
                        info.push(list_line(c.kind, &c.name, &c.der));
                    }
                }
                Ok(())
            }
            4 => {
                params.at_most(3).map_err(bad_param)?;
                let kind = kind_at(params, 1)?;
                let name = name_at(params, 2)?;
                let c = self.credential(kind, &name).ok_or_else(not_found)?;
                info.push(md5_line(4, c));
                Ok(())
            }
            _ => Err(incorrect()),
        }
    }

    /// True while a stream import reads its PEM.
    pub(super) fn credential_import_pending(&self) -> bool {
        self.security.import.is_some()
    }

    /// Called by `run_line` after a command: true when it opened the `>`
    /// prompt of a stream import (the final result comes after the bytes).
    pub(super) fn credential_prompt(&mut self, ok: bool) -> bool {
        if self.security.import.is_none() {
            return false;
        }
        if ok {
            self.out.push(Effect::Send(b"\r\n>".to_vec()));
            return true;
        }
        self.security.import = None;
        false
    }

    /// One byte of a stream import; the last one stores the credential and
    /// sends the answer.
    pub(super) fn credential_byte(&mut self, byte: u8) {
        let Some(import) = self.security.import.as_mut() else {
            return;
        };
        import.buf.push(byte);
        if import.buf.len() < import.want {
            return;
        }
        let Some(import) = self.security.import.take() else {
            return;
        };
        let result = match pem_to_der(import.kind, &import.buf) {
            Ok(der) => {
                let stored = Credential {
                    kind: import.kind,
                    name: import.name,
                    der,
                };
                let line = md5_line(0, &stored);
                self.write_credentials(|all| {
                    match all
                        .iter_mut()
                        .find(|c| c.kind == stored.kind && c.name == stored.name)
                    {
                        Some(old) => *old = stored,
                        None => all.push(stored),
                    }
                });
                self.out.push(Effect::Send(frame(&line)));
                Ok(())
            }
            Err(why) => {
                tracing::debug!(?why, "credential import refused");
                Err(incorrect())
            }
        };
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    /// `+USECPRF=<p>[,<op>[,...]]`.
    pub(super) fn usecprf(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let p = params.required_int(0).map_err(bad_param)?;
        let p = usize::try_from(p)
            .ok()
            .filter(|p| *p < SECURITY_PROFILES)
            .ok_or_else(incorrect)?;
        if params.at_most(1).is_ok() {
            self.security.profiles[p] = SecurityProfile::default();
            return Ok(());
        }
        let rest = Params(params.0[1..].to_vec());
        let op = rest.required_int(0).map_err(bad_param)?;
        let root = self.root_of_trust();
        let profile = &mut self.security.profiles[p];
        let is_read = if op == 13 {
            rest.at_most(2).is_ok()
        } else {
            rest.at_most(1).is_ok()
        };
        if is_read {
            info.push(profile.read(p as u8, &rest, &root)?);
            return Ok(());
        }
        let mut changed = profile.clone();
        changed.set(&rest, &root)?;
        *profile = changed;
        Ok(())
    }
}

/// `line` as a log may show it, secrets replaced by `***`: the session
/// data of every `+USECPRF=<p>,13,3,...` and `13,13,...` (it resumes a
/// session with the server), the MQTT password of `+UMQTT=4,...` and the
/// HTTP password of `+UHTTP=<p>,3,...`. Other lines come back as they are.
pub fn without_secrets(line: &str) -> std::borrow::Cow<'_, str> {
    /// (command, the fields before the op that pick the secret, the
    /// secret's field).
    fn secret_field(command: &str, fields: &[&str]) -> Option<usize> {
        let field = |i: usize| fields.get(i).map(|f| f.trim());
        match command {
            "+USECPRF=" => {
                (field(1) == Some("13") && matches!(field(2), Some("3" | "13"))).then_some(3)
            }
            "+UMQTT=" => (field(0) == Some("4")).then_some(2),
            "+UHTTP=" => (field(1) == Some("3")).then_some(2),
            _ => None,
        }
    }
    const COMMANDS: [&str; 3] = ["+USECPRF=", "+UMQTT=", "+UHTTP="];
    let upper = line.to_ascii_uppercase();
    if !COMMANDS.iter().any(|c| upper.contains(c)) {
        return line.into();
    }
    let masked: Vec<String> = line
        .split(';')
        .map(|part| {
            let upper = part.to_ascii_uppercase();
            let Some((command, at)) = COMMANDS
                .iter()
                .find_map(|c| upper.find(c).map(|at| (*c, at)))
            else {
                return part.to_string();
            };
            let (head, params) = part.split_at(at + command.len());
            let mut fields: Vec<&str> = params.split(',').collect();
            if let Some(i) = secret_field(command, &fields).filter(|&i| i < fields.len()) {
                // A password may hold commas: all of it goes. The session
                // data is base64, followed by its size, which stays.
                if command != "+USECPRF=" {
                    fields.truncate(i + 1);
                }
                fields[i] = "***";
            }
            format!("{head}{}", fields.join(","))
        })
        .collect();
    masked.join(";").into()
}

/// `+USECMNG: <op>,<type>,"<name>","<md5>"`.
fn md5_line(op: u8, c: &Credential) -> String {
    format!(
        "+USECMNG: {op},{},\"{}\",\"{}\"",
        c.kind.code(),
        c.name,
        md5_hex(&c.der)
    )
}
