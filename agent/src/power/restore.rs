//! Bringing back what the module forgot in Sleep-2, Hibernate or a reboot.
//!
//! Volatile: echo and error format (`ATE0`, `AT+CMEE=2`), the sleep settings
//! (`[model]`, see [`PowerManager::configure`]) and the MQTT profile in use.
//! The profile is reloaded from NVM (`AT+UMQTTNV=1`, §6.1.4) by
//! [`provision`], which writes nothing when the declared profile is the one
//! stored: so a restore never wears the module's flash.

use super::guard::AwakeGuard;
use super::manager::{PowerManager, PowerSettings};
use super::PowerError;
use crate::modem::at::{AtClient, AtError};
use crate::modem::boot::apply_startup_settings;
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
}

/// Re-applies the start-up settings and the sleep settings, then reloads the
/// MQTT profile from NVM (or writes it, if the config changed meanwhile).
///
/// Takes the caller's guard: the module must already be awake (woken and
/// answering `AT`, see [`super::Waker`]) and stay so until the session that
/// follows is over, as §6.1.4 orders it: vote down, reload, session, vote up.
/// Because the vote level is re-sent here, [`PowerManager::configure`] votes
/// down once more after it.
pub async fn restore_after_deep_sleep(
    awake: &AwakeGuard,
    at: &AtClient,
    power: &PowerSettings,
    store: &Store,
    profile: &MqttProfile,
) -> Result<Provisioned, RestoreError> {
    let manager: &PowerManager = awake.manager();
    apply_startup_settings(at)
        .await
        .map_err(RestoreError::Startup)?;
    manager.configure(power).await?;
    let provisioned = provision(at, store, profile).await?;
    manager.note_restored();
    Ok(provisioned)
}
