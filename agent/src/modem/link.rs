//! The configured link to the module: a serial device, or the LEXI-R10
//! simulator started in-process on a pty (`modem.port = "sim"`).
//!
//! Either way the agent talks to a real tty through tokio-serial, so the demo
//! and the tests exercise the same serial path as a gateway in the field.

use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::at::{AtClient, ClientOptions};
use super::port::{self, OpenError};
use crate::values::Secret;

/// Where and how to reach the module (`[modem]`; `config` builds it).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSettings {
    pub port: LinkPort,
    /// Serial speed in bits per second.
    pub baud: u32,
    /// The deadline of a command without one of its own.
    pub command_timeout: Duration,
}

/// `modem.port`.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkPort {
    /// A serial device.
    Device(PathBuf),
    /// The simulator, started in-process on a pty.
    Simulator(SimulatorSettings),
}

/// `[modem.sim]`, and the PIN the simulated SIM is locked with.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorSettings {
    /// Where the simulated module keeps its NVM.
    pub nvm_dir: PathBuf,
    /// Multiplies every simulated delay.
    pub time_scale: f64,
    /// The config's `modem.sim_pin`: the simulated SIM is locked with it, so
    /// the PIN path of the boot sequence runs in the demo too.
    pub sim_pin: Option<Secret<String>>,
}

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
    /// Opens the link `settings` describe and starts the AT engine on it.
    /// Must run inside a tokio runtime.
    pub async fn open(settings: &LinkSettings) -> Result<ModemLink, LinkError> {
        let options = ClientOptions {
            default_timeout: settings.command_timeout,
            ..ClientOptions::default()
        };
        match &settings.port {
            LinkPort::Device(path) => {
                let stream = port::open(path, settings.baud)?;
                let (client, engine) = AtClient::spawn(stream, options);
                Ok(ModemLink {
                    client,
                    path: path.clone(),
                    #[cfg(feature = "sim")]
                    simulator: None,
                    engine,
                })
            }
            LinkPort::Simulator(sim) => Self::open_simulator(sim, settings.baud, options),
        }
    }

    #[cfg(feature = "sim")]
    fn open_simulator(
        settings: &SimulatorSettings,
        baud: u32,
        options: ClientOptions,
    ) -> Result<ModemLink, LinkError> {
        let mut sim = lexi_sim::SimConfig::new(&settings.nvm_dir);
        sim.time_scale = settings.time_scale;
        sim.sim_pin = settings.sim_pin.as_ref().map(|pin| pin.expose().clone());
        let (handle, path) = lexi_sim::Simulator::spawn_pty(sim)?;
        tracing::info!(pty = %path.display(), "LEXI-R10 simulator started");
        let stream = port::open(&path, baud)?;
        let (client, engine) = AtClient::spawn(stream, options);
        Ok(ModemLink {
            client,
            path,
            simulator: Some(handle),
            engine,
        })
    }

    #[cfg(not(feature = "sim"))]
    fn open_simulator(
        _: &SimulatorSettings,
        _: u32,
        _: ClientOptions,
    ) -> Result<ModemLink, LinkError> {
        Err(LinkError::SimulatorNotBuilt)
    }
}
