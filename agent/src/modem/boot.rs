//! Bringing the module from "just powered" to "registered, with an address".
//!
//! The sequence, and why each step is there:
//! 1. sacrificial `AT`s until `OK`: the module may still be booting, asleep,
//!    or may have lost our first bytes;
//! 2. `ATE0`, `AT+CMEE=2`: the start-up settings every boot resets;
//! 3. identify (`+CGMI`, `+CGMM`, `+CGMR`, `+CGSN`);
//! 4. the SIM PIN, if the SIM asks for one;
//! 5. the MNO profile, only if it differs from what the module holds: radio
//!    off, `+UMNOPROF`, reboot, start-up settings again (§2.3);
//! 6. the APN of context 1, only if it differs: radio off, `+CGDCONT`,
//!    radio on (§2.3);
//! 7. registration URCs on, then wait for registration with a deadline;
//! 8. read operator and assigned address for the report.
//!
//! Reads come before writes so that a gateway that reboots a thousand times
//! writes the module's NVM once, not a thousand times.

use std::time::Duration;

use crate::values::Secret;

use tracing::{info, warn};

use super::at::{AtClient, AtError, RegStatus, Urc};
use super::general::{
    EnterPin, ErrorFormat, Functionality, PinStatus, ReadFirmware, ReadFunctionality, ReadImei,
    ReadManufacturer, ReadMnoProfile, ReadModel, ReadPinStatus, SetEcho, SetErrorFormat,
    SetFunctionality, SetMnoProfile,
};
use super::psd::{
    DefinePdpContext, PdpType, ReadOperator, ReadPdpContexts, ReadRegistration,
    SetRegistrationReporting, SetSignallingReporting,
};

/// What the boot sequence must make true. Absent values are left as the
/// module holds them.
#[derive(Debug, Clone)]
pub struct BootSettings {
    pub apn: Option<String>,
    pub pdp_type: PdpType,
    pub mno_profile: Option<u8>,
    pub sim_pin: Option<Secret<String>>,
    pub registration_timeout: Duration,
    /// How long a rebooting module may stay silent (boot takes ~6 s).
    pub reboot_timeout: Duration,
}

impl Default for BootSettings {
    fn default() -> Self {
        BootSettings {
            apn: None,
            pdp_type: PdpType::Ipv4v6,
            mno_profile: None,
            sim_pin: None,
            registration_timeout: Duration::from_secs(180),
            reboot_timeout: Duration::from_secs(30),
        }
    }
}

/// Who the module is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
    pub imei: String,
}

/// What a successful boot found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModemInfo {
    pub identity: Identity,
    pub registration: RegStatus,
    pub operator: Option<String>,
    pub address: Option<String>,
    /// Whether this boot had to write the module's NVM (profile or APN).
    pub reconfigured: bool,
}

/// Why the module could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    At(#[from] AtError),
    #[error("the SIM asks for a PIN; set modem.sim_pin")]
    PinRequired,
    #[error("the SIM is blocked (PUK required); it needs a person")]
    PukRequired,
    #[error("the SIM reports {0:?}")]
    SimState(String),
    #[error("MNO profile {wanted} was written but the module reports {found} after reboot")]
    ProfileNotApplied { wanted: u8, found: u8 },
    #[error("not registered after {after:?} (last status: {})", .last.describe())]
    RegistrationTimeout { after: Duration, last: RegStatus },
}

/// Runs the start-up settings that every boot and every deep sleep resets.
pub async fn apply_startup_settings(at: &AtClient) -> Result<(), AtError> {
    at.send(&SetEcho(false)).await?;
    at.send(&SetErrorFormat(ErrorFormat::Verbose)).await?;
    Ok(())
}

pub async fn identify(at: &AtClient) -> Result<Identity, AtError> {
    Ok(Identity {
        manufacturer: at.send(&ReadManufacturer).await?,
        model: at.send(&ReadModel).await?,
        firmware: at.send(&ReadFirmware).await?,
        imei: at.send(&ReadImei).await?,
    })
}

/// The whole boot sequence (see the module doc).
pub async fn boot(at: &AtClient, settings: &BootSettings) -> Result<ModemInfo, BootError> {
    at.sync().await?;
    apply_startup_settings(at).await?;
    let identity = identify(at).await?;
    info!(model = %identity.model, firmware = %identity.firmware, imei = %identity.imei, "module identified");
    unlock_sim(at, settings).await?;
    ensure_network_time(at).await?;

    let mut reconfigured = false;
    if let Some(wanted) = settings.mno_profile {
        reconfigured |= ensure_mno_profile(at, settings, wanted).await?;
    }
    if let Some(apn) = &settings.apn {
        reconfigured |= ensure_apn(at, apn, settings.pdp_type).await?;
    }
    if at.send(&ReadFunctionality).await? != Functionality::Full {
        info!("turning the radio on");
        at.send(&SetFunctionality(Functionality::Full)).await?;
    }

    let registration = wait_registered(at, settings.registration_timeout).await?;
    let operator = at.send(&ReadOperator).await?.name;
    let address = at
        .send(&ReadPdpContexts)
        .await?
        .iter()
        .find(|c| c.cid == 1)
        .and_then(|c| c.assigned_address().map(str::to_string));
    info!(status = registration.describe(), operator = ?operator, address = ?address, "registered");
    Ok(ModemInfo {
        identity,
        registration,
        operator,
        address,
        reconfigured,
    })
}

/// `AT+CTZU=1` if it is off (read first: u-blox keeps it in NVM), so the
/// network sets the module's clock at registration: the only source of time
/// for a gateway without an RTC (`crate::timekeeper`). A module that does
/// not know the command is warned about, not failed: the agent then relies
/// on the host clock.
async fn ensure_network_time(at: &AtClient) -> Result<(), BootError> {
    use super::clock::{ReadTimeZoneUpdate, SetTimeZoneUpdate};
    match at.send(&ReadTimeZoneUpdate).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            info!("turning on network time updates (AT+CTZU=1)");
            at.send(&SetTimeZoneUpdate(true)).await?;
            Ok(())
        }
        Err(e @ (AtError::Cme { .. } | AtError::Error { .. })) => {
            warn!(
                error = %e,
                "the module has no network time updates (+CTZU); the host clock must be set"
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn unlock_sim(at: &AtClient, settings: &BootSettings) -> Result<(), BootError> {
    match at.send(&ReadPinStatus).await? {
        PinStatus::Ready => Ok(()),
        PinStatus::PinRequired => {
            let pin = settings.sim_pin.as_ref().ok_or(BootError::PinRequired)?;
            at.send(&EnterPin(pin.expose().clone())).await?;
            info!("SIM unlocked");
            Ok(())
        }
        PinStatus::PukRequired => Err(BootError::PukRequired),
        PinStatus::Other(state) => Err(BootError::SimState(state)),
    }
}

/// Sets the MNO profile if it differs: radio off, write, reboot (§2.3).
/// Returns whether it wrote.
async fn ensure_mno_profile(
    at: &AtClient,
    settings: &BootSettings,
    wanted: u8,
) -> Result<bool, BootError> {
    let current = at.send(&ReadMnoProfile).await?;
    if current == wanted {
        return Ok(false);
    }
    info!(
        current,
        wanted, "changing the MNO profile (radio off, write, reboot)"
    );
    at.send(&SetFunctionality(Functionality::Minimum)).await?;
    at.send(&SetMnoProfile(wanted)).await?;
    reboot(at, settings.reboot_timeout).await?;
    unlock_sim(at, settings).await?;
    let found = at.send(&ReadMnoProfile).await?;
    if found != wanted {
        return Err(BootError::ProfileNotApplied { wanted, found });
    }
    Ok(true)
}

/// `AT+CFUN=16`, then wait for the module to answer again and re-apply the
/// start-up settings the reboot cleared.
pub async fn reboot(at: &AtClient, within: Duration) -> Result<(), AtError> {
    at.send(&SetFunctionality(Functionality::Reboot)).await?;
    at.sync_within(within).await?;
    apply_startup_settings(at).await
}

/// Sets the APN of context 1 if it differs: radio off, define, radio on
/// (§2.3). Returns whether it wrote.
async fn ensure_apn(at: &AtClient, apn: &str, pdp_type: PdpType) -> Result<bool, BootError> {
    let contexts = at.send(&ReadPdpContexts).await?;
    let current = contexts.iter().find(|c| c.cid == 1);
    let matches = current.is_some_and(|c| c.apn == apn && pdp_type.may_read_as(&c.pdp_type));
    if matches {
        return Ok(false);
    }
    info!(apn, %pdp_type, was = ?current.map(|c| &c.apn), "setting the APN of context 1 (radio off, define, radio on)");
    at.send(&SetFunctionality(Functionality::Minimum)).await?;
    at.send(&DefinePdpContext {
        cid: 1,
        pdp_type,
        apn: apn.to_string(),
    })
    .await?;
    at.send(&SetFunctionality(Functionality::Full)).await?;
    Ok(true)
}

/// Turns on registration URCs and waits until the module is registered.
/// Subscribes before reading, so a URC between the read and the wait cannot
/// be missed.
pub async fn wait_registered(at: &AtClient, within: Duration) -> Result<RegStatus, BootError> {
    let mut urcs = at.subscribe();
    at.send(&SetRegistrationReporting(2)).await?;
    at.send(&SetSignallingReporting(true)).await?;
    let first = at.send(&ReadRegistration).await?.status;
    if first.is_registered() {
        return Ok(first);
    }
    info!(status = first.describe(), "waiting for registration");
    let deadline = tokio::time::Instant::now() + within;
    let mut last = first;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let status = urcs
            .wait_for(left, |urc| match urc {
                Urc::Registration { status, .. } => Some(*status),
                _ => None,
            })
            .await;
        match status {
            Some(s) if s.is_registered() => return Ok(s),
            Some(s) => {
                if s == RegStatus::Denied {
                    warn!("registration denied by the network; still waiting");
                }
                last = s;
            }
            None => {
                return Err(BootError::RegistrationTimeout {
                    after: within,
                    last,
                })
            }
        }
    }
}
