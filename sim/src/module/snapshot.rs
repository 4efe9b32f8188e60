//! A read-only picture of the module's state, for tests and logs.

use super::{ClockSource, PowerMode, PowerState, RegStat, SocketSnapshot, TlsConnection};
use crate::config::NetworkCondition;
use crate::nvm::{DefaultPdp, NvmImage};

/// The module's state at one moment (see `SimHandle::snapshot`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimSnapshot {
    pub power: PowerState,
    pub echo: bool,
    /// `+CMEE` 0, 1 or 2.
    pub cmee: u8,
    pub sim_ready: bool,
    /// `+CFUN` 0, 1 or 4.
    pub cfun: u8,
    /// `+COPS` mode 0 or 2.
    pub cops_mode: u8,
    pub reg_stat: RegStat,
    pub cereg_n: u8,
    pub cscon_n: u8,
    pub rrc_connected: bool,
    pub network: NetworkCondition,
    /// The MNO profile in effect (what `+UMNOPROF?` answers).
    pub mno_profile: u16,
    /// The `+UDCONF=19` setting in effect since the last boot.
    pub default_pdp: DefaultPdp,
    /// NVM as stored (pending-after-reboot settings included).
    pub nvm: NvmImage,
    /// NVM writes since the simulator started.
    pub nvm_writes: u64,
    /// DNS look-ups and ping sessions still running.
    pub pending_jobs: usize,
    /// An MQTT session is up (`+UUMQTTC: 1,1` sent, not ended since).
    pub mqtt_connected: bool,
    /// Open sockets, by id.
    pub sockets: Vec<SocketSnapshot>,
    /// Active, Idle, a sleep state (or Off/Booting).
    pub power_mode: PowerMode,
    /// Where the time on the module's clock (`+CCLK`) came from.
    pub clock_source: ClockSource,
    /// Every TLS handshake since the simulator started, in order: resumed
    /// or full, its bytes, or why it failed.
    pub tls_connections: Vec<TlsConnection>,
}
