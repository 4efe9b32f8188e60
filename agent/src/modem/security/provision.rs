//! What the module must hold for TLS, declared: the credentials in its NVM
//! and the security profile, which is volatile.
//!
//! - Credentials (§3.1, §3.3) are named after their content
//!   ([`Credential::name`] comes from the config, derived from the DER's
//!   hash), so "is this file already in the module?" is one
//!   `AT+USECMNG=4,<type>,"<name>"` whose MD5 must match: a boot with
//!   unchanged files imports nothing and writes no NVM. The module's answer
//!   is asked rather than a digest kept in our store because the module is
//!   the one that can change behind the agent's back (swapped on the bench,
//!   factory-reset, its NVM worn out), and a check costs ~40 bytes on the
//!   UART and no flash write; it is asked once per module boot, not per
//!   window (NVM survives sleep).
//! - A changed file has a new name: it is imported next to the old one, the
//!   profile is switched to it, and only then are the agent's other
//!   credentials removed ([`remove_stale_credentials`]), so a failed import
//!   never leaves the module without a working CA. Credentials the agent did
//!   not import (another name prefix) are never touched.
//! - The security profile (§3.2) is volatile: [`apply_profile`] resets it
//!   and sets every op the config controls, after every boot and every
//!   Sleep-2/Hibernate, under an awake guard, before the session.

use tracing::{debug, info};

use super::commands::{
    CredentialKind, CredentialMd5, ImportCredential, ListCredentials, MinTlsVersion,
    RemoveCredential, ResetSecurityProfile, SecuritySetting, SetSecurityProfile, Validation,
};
use crate::modem::at::{AtClient, AtError};
use crate::modem::digest::Fnv1a;

/// The prefix of every credential name the agent gives; what does not carry
/// it was put there by someone else and is left alone.
pub const CREDENTIAL_PREFIX: &str = "ea-";

/// A credential to hold in the module.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub kind: CredentialKind,
    /// Content-derived, starts with [`CREDENTIAL_PREFIX`], at most
    /// `CREDENTIAL_NAME_MAX` characters.
    pub name: String,
    /// Exactly what is streamed to the module: one PEM block.
    pub pem: Vec<u8>,
    /// The MD5 of the DER, lowercase hex: what the module answers.
    pub md5: String,
}

/// Never shows the bytes (a client key is a secret).
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("md5", &self.md5)
            .finish()
    }
}

/// Session resumption (§3.4), `uplink.mqtt.tls.resumption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resumption {
    Off,
    /// A session ticket, handed out in the clear (`13,1,1`, data `13,3`).
    Ticket,
    /// Encrypted by the module's root of trust (`13,1,11`, data `13,13`).
    EncryptedTicket,
}

impl Resumption {
    pub fn is_on(self) -> bool {
        self != Resumption::Off
    }

    pub fn encrypted(self) -> bool {
        self == Resumption::EncryptedTicket
    }
}

/// The security profile the agent declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityProfile {
    /// Which of the module's profiles (0-4).
    pub id: u8,
    pub validation: Validation,
    pub min_version: MinTlsVersion,
    /// The trusted roots' names; with exactly one it is set as the
    /// profile's root (op 3), with several the module checks against every
    /// imported root (§3.2, op 0 level 1) `[model]`.
    pub ca_names: Vec<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// Op 4, checked with [`Validation::ChainAndHostname`].
    pub hostname: Option<String>,
    /// Op 10.
    pub sni: Option<String>,
    pub resumption: Resumption,
}

impl SecurityProfile {
    /// The ops to set after the reset, in order.
    pub fn settings(&self) -> Vec<SecuritySetting> {
        let mut s = vec![
            SecuritySetting::Validation(self.validation),
            SecuritySetting::MinVersion(self.min_version),
        ];
        if let [ca] = &self.ca_names[..] {
            s.push(SecuritySetting::CaName(ca.clone()));
        }
        if let Some(host) = &self.hostname {
            s.push(SecuritySetting::ExpectedHostname(host.clone()));
        }
        if let Some(cert) = &self.client_cert {
            s.push(SecuritySetting::ClientCertName(cert.clone()));
        }
        if let Some(key) = &self.client_key {
            s.push(SecuritySetting::ClientKeyName(key.clone()));
        }
        if let Some(sni) = &self.sni {
            s.push(SecuritySetting::Sni(sni.clone()));
        }
        if self.resumption.is_on() {
            s.push(SecuritySetting::Resumption(true));
            s.push(SecuritySetting::ResumptionType {
                encrypted: self.resumption.encrypted(),
            });
        }
        s
    }

    /// The commands that make the module hold this profile: the reset
    /// ubxlib and §3.2 recommend, then every op.
    fn commands(&self) -> impl Iterator<Item = SetSecurityProfile> + '_ {
        self.settings()
            .into_iter()
            .map(|setting| SetSecurityProfile {
                profile: self.id,
                setting,
            })
    }

    /// A stable digest of everything a TLS session depends on in this
    /// profile: session data saved under another digest is not offered.
    pub fn digest(&self) -> u64 {
        let mut hash = Fnv1a::new();
        for cmd in self.commands() {
            hash.write(crate::modem::at::AtCommand::text(&cmd).as_bytes());
            hash.write(b"\r");
        }
        hash.finish()
    }
}

/// What TLS needs from the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub credentials: Vec<Credential>,
    pub profile: SecurityProfile,
}

/// Why the module could not be made to hold the credentials.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("importing the {} {name:?}: {source}", kind.describe())]
    Import {
        kind: CredentialKind,
        name: String,
        #[source]
        source: AtError,
    },
    #[error(
        "the module stored the {} {name:?} with MD5 {found}, not {expected}: the bytes \
         were changed on the way (check the serial line)",
        kind.describe()
    )]
    ImportMismatch {
        kind: CredentialKind,
        name: String,
        expected: String,
        found: String,
    },
    #[error("the security profile: {0}")]
    Profile(#[source] AtError),
    #[error("listing or removing the module's credentials: {0}")]
    Cleanup(#[source] AtError),
}

/// What [`ensure_credentials`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredentialsReport {
    /// Already in the module with the right MD5.
    pub kept: usize,
    /// Imported now (each one write of the module's NVM).
    pub imported: usize,
}

/// Makes sure the module holds every credential: checked by MD5, imported
/// when missing or different.
pub async fn ensure_credentials(
    at: &AtClient,
    credentials: &[Credential],
) -> Result<CredentialsReport, SecurityError> {
    let mut report = CredentialsReport::default();
    for c in credentials {
        let check = at
            .send(&CredentialMd5 {
                kind: c.kind,
                name: c.name.clone(),
            })
            .await;
        match check {
            Ok(stored) if stored.md5 == c.md5 => {
                debug!(kind = c.kind.describe(), name = %c.name, "credential already in the module");
                report.kept += 1;
                continue;
            }
            Ok(stored) => debug!(
                kind = c.kind.describe(),
                name = %c.name,
                found = %stored.md5,
                "credential differs in the module; importing it again"
            ),
            // `+CME ERROR`: no such credential. Anything else (the module
            // silent) fails the import below in the same way.
            Err(e) => {
                debug!(kind = c.kind.describe(), name = %c.name, error = %e, "credential not in the module")
            }
        }
        let stored = at
            .send(&ImportCredential {
                kind: c.kind,
                name: c.name.clone(),
                pem: c.pem.clone(),
            })
            .await
            .map_err(|source| SecurityError::Import {
                kind: c.kind,
                name: c.name.clone(),
                source,
            })?;
        if stored.md5 != c.md5 {
            return Err(SecurityError::ImportMismatch {
                kind: c.kind,
                name: c.name.clone(),
                expected: c.md5.clone(),
                found: stored.md5,
            });
        }
        info!(kind = c.kind.describe(), name = %c.name, "credential imported into the module's NVM");
        report.imported += 1;
    }
    Ok(report)
}

/// Removes the agent's credentials the module still holds but `keep` no
/// longer names (the files they came from changed). Call it once the
/// profile uses the new ones. Returns how many were removed.
pub async fn remove_stale_credentials(
    at: &AtClient,
    keep: &[Credential],
) -> Result<usize, SecurityError> {
    let listed = at
        .send(&ListCredentials)
        .await
        .map_err(SecurityError::Cleanup)?;
    let mut removed = 0;
    for item in listed {
        let Some(kind) = item.kind else { continue };
        let ours = item.name.starts_with(CREDENTIAL_PREFIX);
        let kept = keep.iter().any(|c| c.kind == kind && c.name == item.name);
        if ours && !kept {
            at.send(&RemoveCredential {
                kind,
                name: item.name.clone(),
            })
            .await
            .map_err(SecurityError::Cleanup)?;
            info!(kind = kind.describe(), name = %item.name, "old credential removed from the module");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Makes the module's (volatile) security profile what `profile` declares.
pub async fn apply_profile(at: &AtClient, profile: &SecurityProfile) -> Result<(), SecurityError> {
    at.send(&ResetSecurityProfile(profile.id))
        .await
        .map_err(SecurityError::Profile)?;
    for cmd in profile.commands() {
        at.send(&cmd).await.map_err(SecurityError::Profile)?;
    }
    debug!(profile = profile.id, "security profile applied");
    Ok(())
}

#[cfg(test)]
#[path = "provision_tests.rs"]
mod tests;
