//! The declared HTTP profile (`config` builds it from `[uplink.http]`),
//! written to the module only when it changed, and kept armed for use
//! after deep sleep (§7.1.1, §7.1.2).
//!
//! As for MQTT (`modem/mqtt/profile.rs`), the module's own reads cannot be
//! compared with the config (no password, no header values shown), so the
//! agent keeps a digest of what it last wrote and stored in NVM in the
//! store's `modem` tree (key `http`). [`provision`] then costs one
//! `AT+UHTTPNV=<p>,1` when nothing changed (load from NVM, and use it after
//! a wake), and when something did: `AT+UHTTP=<p>` (reset, so no op of an
//! older config survives), every op, one `AT+UHTTPNV=<p>,2`, then the
//! digest.
//!
//! The arming ("use the NVM copy after a wake") is not permanent: a boot
//! clears it (§7.1.1), so after every boot `AT+UHTTPNV=<p>,1` comes before
//! the first request ([`provision`] does it). A deep sleep keeps it and
//! the module reloads the profile itself (§7.1.2): nothing is written then.
//! Only a reboot the agent did not see (one during deep sleep looks like
//! deep sleep) can leave it disarmed, so after deep sleep [`ensure_armed`]
//! reads `AT+UHTTPNV?` and re-arms only if needed.

use std::fmt;

use super::commands::{
    HttpNvm, HttpNvmOp, HttpSetting, ReadHttpNvm, ResetHttpProfile, SetHttpProfile,
};
use crate::modem::at::{AtClient, AtCommand, AtError};
use crate::modem::digest::{Fnv1a, Provisioned};
use crate::store::{Store, StoreError, TreeId, WriteSet};

/// The key of the HTTP profile's digest in [`TreeId::Modem`].
pub const DIGEST_KEY: &[u8] = b"http";

/// The profile requests run on: "the only profile allowed is number 0 for
/// HTTP operations" (LEXI-R10 AT commands manual).
pub const HTTP_PROFILE_ID: u8 = 0;

/// The HTTP profile the agent declares: profile `id` and the ordered
/// `AT+UHTTP` writes that make the module hold it.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpProfile {
    id: u8,
    settings: Vec<HttpSetting>,
}

/// Lists the settings; the password and header values stay masked.
impl fmt::Debug for HttpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProfile")
            .field("id", &self.id)
            .field("settings", &self.settings)
            .finish()
    }
}

impl HttpProfile {
    /// Profile `id` holding exactly these settings, written in this order.
    pub fn from_settings(id: u8, settings: Vec<HttpSetting>) -> HttpProfile {
        HttpProfile { id, settings }
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    pub fn settings(&self) -> &[HttpSetting] {
        &self.settings
    }

    /// The `AT+UHTTP=<p>,<op>,...` commands, in order (after the reset).
    pub fn commands(&self) -> impl Iterator<Item = SetHttpProfile> + '_ {
        self.settings.iter().cloned().map(|setting| SetHttpProfile {
            profile: self.id,
            setting,
        })
    }

    /// The stable digest (see `modem/digest.rs`) of every command's full
    /// text, secrets included: a changed token writes the profile again.
    pub fn digest(&self) -> u64 {
        let mut hash = Fnv1a::new();
        hash.write(ResetHttpProfile(self.id).text().as_bytes());
        for cmd in self.commands() {
            // A separator no AT text contains, so ("a","bc") != ("ab","c").
            hash.write(&[0]);
            hash.write(cmd.text().as_bytes());
        }
        hash.finish()
    }

    fn nvm(&self, op: HttpNvmOp) -> HttpNvm {
        HttpNvm {
            profile: self.id,
            op,
        }
    }
}

/// Provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("provisioning the HTTP profile: {0}")]
    Modem(#[from] AtError),
    #[error("the HTTP profile digest in the store: {0}")]
    Store(#[from] StoreError),
}

/// Makes the module hold `profile` and arms its use after a wake: with the
/// digest in `store` unchanged, `AT+UHTTPNV=<p>,1` only; otherwise the
/// reset, every op, `AT+UHTTPNV=<p>,2`, and only then the digest, so a
/// failure halfway writes everything again next time. Also what a boot
/// needs before the first request (§7.1.2.2).
///
/// The caller keeps the module from deep sleep while this runs (§7.1.2:
/// votes surround the configuration).
pub async fn provision(
    at: &AtClient,
    store: &Store,
    profile: &HttpProfile,
) -> Result<Provisioned, ProvisionError> {
    let digest = profile.digest().to_be_bytes();
    let stored = store.get(TreeId::Modem, DIGEST_KEY)?;
    if stored.as_deref() == Some(&digest[..]) {
        at.send(&profile.nvm(HttpNvmOp::Load)).await?;
        tracing::debug!("HTTP profile unchanged; loaded from the module's NVM and armed");
        return Ok(Provisioned::Reloaded);
    }
    at.send(&ResetHttpProfile(profile.id)).await?;
    for cmd in profile.commands() {
        tracing::debug!(command = %cmd.label(), "HTTP profile");
        at.send(&cmd).await?;
    }
    at.send(&profile.nvm(HttpNvmOp::Save)).await?;
    let mut writes = WriteSet::new();
    writes.insert(TreeId::Modem, DIGEST_KEY, digest.to_vec());
    store.commit(&writes)?;
    store.flush()?;
    tracing::info!(
        settings = profile.settings().len(),
        "HTTP profile written and stored in the module's NVM"
    );
    Ok(Provisioned::Written)
}

/// After deep sleep: the module reloaded the profile itself if its use was
/// armed (§7.1.2). `AT+UHTTPNV?` tells; only a module that lost the arming
/// (it rebooted while asleep) gets `AT+UHTTPNV=<p>,1`. Never writes.
pub async fn ensure_armed(at: &AtClient, profile: &HttpProfile) -> Result<Provisioned, AtError> {
    let armed = at.send(&ReadHttpNvm).await?;
    if armed.contains(&(profile.id, true)) {
        return Ok(Provisioned::Kept);
    }
    tracing::warn!(
        "the module no longer uses its stored HTTP profile after a wake (it rebooted while \
         asleep?); loading it from NVM again"
    );
    at.send(&profile.nvm(HttpNvmOp::Load)).await?;
    Ok(Provisioned::Reloaded)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
