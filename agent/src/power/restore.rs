//! Bringing back what the module forgot in Sleep-2, Hibernate or a reboot.
//!
//! Volatile: echo and error format (`ATE0`, `AT+CMEE=2`), the sleep settings
//! (`[model]`, see [`PowerManager::configure`]) and the uplink's profile in
//! use. The MQTT profile is reloaded from NVM (`AT+UMQTTNV=1`, §6.1.4) by
//! its `provision`, which writes nothing when the declared profile is the
//! one stored: so a restore never wears the module's flash. The HTTP
//! profile comes back by itself after deep sleep (§7.1.2): only whether the
//! module still uses its NVM copy is checked; after a reboot its use is
//! armed again (`AT+UHTTPNV=<p>,1`, §7.1.2.2).

use super::guard::AwakeGuard;
use super::manager::{PowerManager, PowerSettings};
use super::PowerError;
use crate::modem::at::{AtClient, AtError};
use crate::modem::boot::apply_startup_settings;
use crate::modem::http::profile::{self as http_profile, HttpProfile};
use crate::modem::mqtt::profile::{provision, MqttProfile, ProvisionError, Provisioned};
use crate::store::Store;

/// The restore failed; the status keeps `needs_restore` so it is retried.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("start-up settings: {0}")]
    Startup(#[source] AtError),
    #[error(transparent)]
    Power(#[from] PowerError),
    #[error(transparent)]
    Profile(#[from] ProvisionError),
    #[error(transparent)]
    HttpProfile(#[from] http_profile::ProvisionError),
}

/// The uplink's profile, as a restore brings it back.
#[derive(Debug, Clone, Copy)]
pub enum UplinkProfile<'a> {
    /// Reloaded from NVM (or written, if the config changed meanwhile).
    Mqtt(&'a MqttProfile),
    /// After a reboot (`rebooted`): loaded and armed again, like at start;
    /// after deep sleep: the module reloaded it, only checked.
    Http {
        profile: &'a HttpProfile,
        rebooted: bool,
    },
}

impl<'a> From<&'a MqttProfile> for UplinkProfile<'a> {
    fn from(profile: &'a MqttProfile) -> Self {
        UplinkProfile::Mqtt(profile)
    }
}

/// Re-applies the start-up settings and the sleep settings, then brings
/// the uplink's profile back (see the module docs).
///
/// Takes the caller's guard: the module must already be awake (woken and
/// answering `AT`, see [`super::Waker`]) and stay so until the session that
/// follows is over, as §6.1.4 and §7.1.2 order it: vote down, reload,
/// session, vote up. Because the vote level is re-sent here,
/// [`PowerManager::configure`] votes down once more after it.
pub async fn restore_after_deep_sleep<'a>(
    awake: &AwakeGuard,
    at: &AtClient,
    power: &PowerSettings,
    store: &Store,
    profile: impl Into<UplinkProfile<'a>>,
) -> Result<Provisioned, RestoreError> {
    let manager: &PowerManager = awake.manager();
    apply_startup_settings(at)
        .await
        .map_err(RestoreError::Startup)?;
    manager.configure(power).await?;
    let provisioned = match profile.into() {
        UplinkProfile::Mqtt(profile) => provision(at, store, profile).await?,
        UplinkProfile::Http {
            profile,
            rebooted: true,
        } => http_profile::provision(at, store, profile).await?,
        UplinkProfile::Http {
            profile,
            rebooted: false,
        } => http_profile::ensure_armed(at, profile)
            .await
            .map_err(http_profile::ProvisionError::Modem)?,
    };
    manager.note_restored();
    Ok(provisioned)
}
