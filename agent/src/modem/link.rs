//! The configured link to the module: a serial device, or the LEXI-R10
//! simulator started in-process on a pty (`modem.port = "sim"`).
//!
//! Either way the agent talks to a real tty through tokio-serial, so the demo
//! and the tests exercise the same serial path as a gateway in the field.

use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::at::{AtClient, ClientOptions};
use super::boot::BootSettings;
use super::port::{self, OpenError};
use crate::config::{ModemConfig, ModemPort};
use crate::power::Waker;
#[cfg(feature = "sim")]
use crate::power::{WakeError, WakeLine};

/// An open link: the AT client and, with `port = "sim"`, the simulator
/// behind it (kept alive as long as the link).
#[derive(Debug)]
pub struct ModemLink {
    pub client: AtClient,
    /// Where the agent talks to the module: the device, or the simulator's pty.
    pub path: PathBuf,
    #[cfg(feature = "sim")]
    pub simulator: Option<lexi_sim::SimHandle>,
    /// The AT engine's I/O task; it ends when the port closes.
    pub engine: JoinHandle<()>,
}

/// Why the link could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[cfg(feature = "sim")]
    #[error("cannot start the LEXI-R10 simulator: {0}")]
    Simulator(#[from] lexi_sim::SimError),
    #[error("modem.port = \"sim\" needs an edge-agent built with the `sim` feature")]
    SimulatorNotBuilt,
    /// The port went away while the agent ran (device unplugged).
    #[error("the modem port was closed")]
    PortClosed,
}

impl ModemLink {
    /// Opens the link `config` describes and starts the AT engine on it.
    /// Must run inside a tokio runtime.
    pub async fn open(config: &ModemConfig) -> Result<ModemLink, LinkError> {
        let options = ClientOptions {
            default_timeout: config.command_timeout.get(),
            ..ClientOptions::default()
        };
        match &config.port {
            ModemPort::Device(path) => {
                let stream = port::open(path, config.baud.get())?;
                let (client, engine) = AtClient::spawn(stream, options);
                Ok(ModemLink {
                    client,
                    path: path.clone(),
                    #[cfg(feature = "sim")]
                    simulator: None,
                    engine,
                })
            }
            ModemPort::Simulator => Self::open_simulator(config, options),
        }
    }

    #[cfg(feature = "sim")]
    fn open_simulator(
        config: &ModemConfig,
        options: ClientOptions,
    ) -> Result<ModemLink, LinkError> {
        let mut sim = lexi_sim::SimConfig::new(&config.sim.nvm_dir);
        sim.time_scale = config.sim.time_scale;
        if let Some(pin) = &config.sim_pin {
            // The simulated SIM is locked with the PIN the config holds, so
            // the PIN path of the boot sequence runs in the demo too.
            sim.sim_pin = Some(pin.expose().as_str().to_string());
        }
        let (handle, path) = lexi_sim::Simulator::spawn_pty(sim)?;
        tracing::info!(pty = %path.display(), "LEXI-R10 simulator started");
        let stream = port::open(&path, config.baud.get())?;
        let (client, engine) = AtClient::spawn(stream, options);
        Ok(ModemLink {
            client,
            path,
            simulator: Some(handle),
            engine,
        })
    }

    #[cfg(not(feature = "sim"))]
    fn open_simulator(_: &ModemConfig, _: ClientOptions) -> Result<ModemLink, LinkError> {
        Err(LinkError::SimulatorNotBuilt)
    }

    /// What wakes the module from deep sleep on this link: the simulator's
    /// PWR_ON line for `port = "sim"`, else `modem.power.wake`.
    pub fn waker(&self, config: &ModemConfig) -> Waker {
        #[cfg(feature = "sim")]
        if let Some(sim) = &self.simulator {
            return Waker::Line(std::sync::Arc::new(SimWakeLine(sim.clone())));
        }
        // `action()` is `None` only for a table the config check refused.
        config
            .power
            .wake
            .action()
            .map_or(Waker::None, |action| Waker::from_action(&action))
    }
}

/// The simulator's PWR_ON line as a [`WakeLine`].
#[cfg(feature = "sim")]
#[derive(Debug)]
struct SimWakeLine(lexi_sim::SimHandle);

#[cfg(feature = "sim")]
impl WakeLine for SimWakeLine {
    fn pulse_wake_line(&self) -> Result<(), WakeError> {
        self.0.pulse_wake_line();
        Ok(())
    }
}

impl BootSettings {
    /// What the configuration asks the boot sequence to make true.
    pub fn from_config(config: &ModemConfig) -> BootSettings {
        BootSettings {
            apn: config.apn.as_ref().map(|a| a.as_str().to_string()),
            pdp_type: config.pdp_type,
            mno_profile: config.mno_profile,
            sim_pin: config
                .sim_pin
                .as_ref()
                .map(|p| p.expose().as_str().to_string()),
            registration_timeout: config.registration_timeout.get(),
            reboot_timeout: Duration::from_secs(30),
        }
    }
}
