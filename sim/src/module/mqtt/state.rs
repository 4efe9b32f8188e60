//! The embedded MQTT client's volatile state: the profile being edited,
//! where the session is, the inbox of received messages, a binary publish
//! collecting its bytes, the last error (`+UMQTTER`, the table in `mod.rs`)
//! and what keeps the module awake or out of deep sleep.

use std::collections::{BTreeSet, VecDeque};

use super::params::not_allowed;
use crate::at::reply::Fail;
use crate::jobs::JobId;
use crate::module::sleep::SleepLimit;
use crate::module::Module;
use crate::nvm::MqttProfile;

/// `+UMQTTER: <class>,<code>` (the table in `mod.rs`).
pub const ER_NONE: (u16, u16) = (0, 0);
pub const ER_NO_PDP: (u16, u16) = (13, 50);
pub const ER_TIMEOUT: (u16, u16) = (33, 1);
pub const ER_NO_RADIO: (u16, u16) = (34, 1);
pub const ER_CONNECT: (u16, u16) = (35, 1);
pub const ER_UNRESOLVED: (u16, u16) = (35, 2);
pub const ER_REFUSED_CLASS: u16 = 36;
pub const ER_ENDED_CLASS: u16 = 37;
pub const ER_NOT_ALLOWED: (u16, u16) = (38, 3);
pub const ER_NOT_QUEUED: (u16, u16) = (40, 1);

/// `+UUMQTTC: 0,<reason>` [lib].
pub(super) const REASON_KEEP_ALIVE: u16 = 100;
pub(super) const REASON_LOST: u16 = 101;
pub(super) const REASON_PROTOCOL: u16 = 102;

/// `[model]` radio bytes of one MQTT packet besides its topic and payload,
/// for the energy ledger: IPv4 (20) + TCP (20) headers and MQTT's fixed
/// header, topic length and packet id (~6).
pub(super) const PACKET_OVERHEAD: u64 = 46;
/// `[model]` a small control packet (CONNACK, PUBACK, SUBACK, ...) with its
/// IP/TCP headers; also the TCP handshake's segments.
pub(super) const CONTROL_PACKET: u64 = 44;
/// `[model]` what a TLS record adds around each MQTT packet of a secure
/// session: its header (5), the AEAD tag (16) and TLS 1.3's inner content
/// type (1). The handshake's own bytes are measured (`module/security`).
pub(super) const TLS_RECORD_OVERHEAD: u64 = 22;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::module) enum State {
    Idle,
    LoggingIn(JobId),
    Connected { job: JobId, ping_loop: bool },
    LoggingOut(JobId),
}

/// One received message, waiting for `+UMQTTC=6`.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub(super) topic: String,
    pub(super) qos: u8,
    pub(super) payload: Vec<u8>,
}

/// A binary publish collecting its bytes after the `>` prompt.
#[derive(Debug, Clone)]
pub(in crate::module) struct RawPublish {
    pub(super) want: usize,
    pub(super) buf: Vec<u8>,
    pub(super) qos: u8,
    pub(super) retain: bool,
    pub(super) topic: String,
}

/// The client's volatile state (a boot resets it; faults live in `Faults`).
#[derive(Debug)]
pub(in crate::module) struct Client {
    pub(super) profile: MqttProfile,
    pub(in crate::module) state: State,
    pub(super) last_error: (u16, u16),
    pub(super) inbox: VecDeque<Received>,
    pub(super) next_tag: u64,
    /// Publishes whose completion URC the `never confirm` fault swallows.
    pub(super) silent: BTreeSet<u64>,
    /// Set while a binary publish reads its payload.
    pub(in crate::module) raw: Option<RawPublish>,
    /// Publishes, subscribes and unsubscribes sent and not yet reported:
    /// the module stays awake for them (see `sleep.rs`).
    pub(super) in_flight: usize,
    /// The session (logging in or up) runs over TLS.
    pub(super) secure: bool,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            profile: MqttProfile::default(),
            state: State::Idle,
            last_error: ER_NONE,
            inbox: VecDeque::new(),
            next_tag: 0,
            silent: BTreeSet::new(),
            raw: None,
            in_flight: 0,
            secure: false,
        }
    }
}

impl Module {
    /// One MQTT packet of `sent` bytes out (0: none), or `received` in, on
    /// the radio: inside a TLS record in a secure session.
    pub(super) fn mqtt_packet_bytes(&mut self, sent: u64, received: u64) {
        let record = if self.mqtt.secure {
            TLS_RECORD_OVERHEAD
        } else {
            0
        };
        let wrap = |n: u64| if n == 0 { 0 } else { n + record };
        self.energy.radio_bytes(wrap(sent), wrap(received));
    }

    /// The running session's job, or CME 3 (and `+UMQTTER` 38,3).
    pub(super) fn connected_job(&mut self) -> Result<JobId, Fail> {
        match self.mqtt.state {
            State::Connected { job, .. } => Ok(job),
            _ => {
                self.mqtt.last_error = ER_NOT_ALLOWED;
                Err(not_allowed())
            }
        }
    }

    /// True while a binary publish is reading its payload.
    pub(in crate::module) fn raw_input(&self) -> bool {
        self.mqtt.raw.is_some()
    }

    /// A login or logout is running, or an operation awaits its report:
    /// the module stays awake (see `sleep.rs`).
    pub(in crate::module) fn mqtt_busy(&self) -> bool {
        matches!(self.mqtt.state, State::LoggingIn(_) | State::LoggingOut(_))
            || self.mqtt.in_flight > 0
    }

    /// `[model]` a session that is up keeps the module out of deep sleep,
    /// which would lose it (see `sleep.rs`).
    pub(in crate::module) fn mqtt_sleep_limit(&self) -> SleepLimit {
        match self.mqtt.state {
            State::Idle => SleepLimit::Deep,
            State::Connected { .. } => SleepLimit::Sleep1,
            State::LoggingIn(_) | State::LoggingOut(_) => SleepLimit::Awake,
        }
    }
}
