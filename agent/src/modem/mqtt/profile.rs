//! The declared MQTT profile (`config` builds it from `[uplink.mqtt]`),
//! written to the module only when it changed.
//!
//! The module's own read (`AT+UMQTT?`) cannot be compared with the config:
//! it never reports the password and reports ops in its own forms. So the
//! agent keeps a digest of the profile it last wrote *and stored in NVM*
//! (`AT+UMQTTNV=2`) in the sled store (`TreeId::Modem`, key `mqtt`).
//! [`provision`] then costs one `AT+UMQTTNV=1` (reload from NVM, §6.1.4) when
//! nothing changed, and the full write plus exactly one NVM write when
//! something did. Every NVM write wears the module's flash and keeps the
//! radio awake, hence the digest.
//!
//! The digest is 64-bit FNV-1a over every setting's full AT text (password
//! included: it detects a changed password; it is not a protection of it,
//! the config file next to it holds the password in clear). `std`'s
//! `DefaultHasher` is not used: its output may change between Rust releases,
//! and a toolchain upgrade must not rewrite every gateway's NVM.

use std::fmt;

use super::commands::{ProfileNvm, ProfileSetting, SetProfile};
use crate::modem::at::{AtClient, AtCommand, AtError};
use crate::modem::digest::Fnv1a;
use crate::store::{Store, StoreError, TreeId, WriteSet};

/// The key of the MQTT profile's digest in [`TreeId::Modem`].
pub const DIGEST_KEY: &[u8] = b"mqtt";

/// The MQTT profile the agent declares, as the ordered `AT+UMQTT` writes
/// that make the module hold it.
#[derive(Clone, PartialEq, Eq)]
pub struct MqttProfile {
    settings: Vec<ProfileSetting>,
}

/// Lists the settings; the password stays masked.
impl fmt::Debug for MqttProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.settings).finish()
    }
}

impl MqttProfile {
    /// A profile as `[uplink.mqtt]` with only `host = "broker.example"` and
    /// `port` set declares it, for tests of what is done with a profile.
    #[cfg(test)]
    pub(crate) fn example(port: u16) -> MqttProfile {
        MqttProfile::from_settings(vec![
            ProfileSetting::ClientId("357862090033897".to_owned()),
            ProfileSetting::ServerName {
                name: "broker.example".to_owned(),
                port,
            },
            ProfileSetting::Secure(None),
            ProfileSetting::WillQos(0),
            ProfileSetting::WillRetain(false),
            ProfileSetting::WillTopic(String::new()),
            ProfileSetting::WillMessage(String::new()),
            ProfileSetting::KeepAlive(60),
            ProfileSetting::CleanSession(true),
            ProfileSetting::PdpMapping { cid: 1, ip_type: 0 },
        ])
    }

    /// A profile of exactly these settings, in this order.
    pub fn from_settings(settings: Vec<ProfileSetting>) -> MqttProfile {
        MqttProfile { settings }
    }

    pub fn settings(&self) -> &[ProfileSetting] {
        &self.settings
    }

    /// The `AT+UMQTT=` commands, in order.
    pub fn commands(&self) -> impl Iterator<Item = SetProfile> + '_ {
        self.settings.iter().cloned().map(SetProfile)
    }

    /// The stable digest of the profile (see the module docs).
    pub fn digest(&self) -> u64 {
        let mut hash = Fnv1a::new();
        for cmd in self.commands() {
            hash.write(cmd.text().as_bytes());
            // A separator no AT text contains, so ("a","bc") != ("ab","c").
            hash.write(&[0]);
        }
        hash.finish()
    }
}

/// Provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("provisioning the MQTT profile: {0}")]
    Modem(#[from] AtError),
    #[error("the MQTT profile digest in the store: {0}")]
    Store(#[from] StoreError),
}

/// What [`provision`] did (shared with the HTTP profile).
pub use crate::modem::digest::Provisioned;

/// Makes the module hold `profile` (§6.1.3, §6.1.4). If the digest in
/// `store` equals the profile's, sends only `AT+UMQTTNV=1`; otherwise every
/// `AT+UMQTT=` op, then `AT+UMQTTNV=2`, and only then records the digest,
/// so a failure halfway writes everything again next time.
///
/// The caller keeps the module from deep sleep while this runs (§6.1.4).
pub async fn provision(
    at: &AtClient,
    store: &Store,
    profile: &MqttProfile,
) -> Result<Provisioned, ProvisionError> {
    let digest = profile.digest().to_be_bytes();
    let stored = store.get(TreeId::Modem, DIGEST_KEY)?;
    if stored.as_deref() == Some(&digest[..]) {
        at.send(&ProfileNvm::Load).await?;
        tracing::debug!("MQTT profile unchanged; reloaded from the module's NVM");
        return Ok(Provisioned::Reloaded);
    }
    for cmd in profile.commands() {
        tracing::debug!(command = %cmd.label(), "MQTT profile");
        at.send(&cmd).await?;
    }
    at.send(&ProfileNvm::Save).await?;
    let mut writes = WriteSet::new();
    writes.insert(TreeId::Modem, DIGEST_KEY, digest.to_vec());
    store.commit(&writes)?;
    store.flush()?;
    tracing::info!(
        settings = profile.settings().len(),
        "MQTT profile written and stored in the module's NVM"
    );
    Ok(Provisioned::Written)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
