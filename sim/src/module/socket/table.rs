//! The sockets' state (§5): the table of at most six sockets, each one's
//! protocol, link, RX buffer, writes in flight and counters; the snapshot
//! tests and the energy ledger read; and how deep the open sockets let the
//! module sleep (the always-on rules of §5.10).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::at::reply::{CmeError, Fail};
use crate::jobs::{JobId, SocketCommand};
use crate::module::sleep::SleepLimit;
use crate::module::{Effect, Module};

/// At most 6 sockets (§5.11).
pub(super) const MAX_SOCKETS: usize = 6;
/// `[model]` the errno-style code of `+USOCTL=<s>,1` and `+USOER` for a
/// socket that is not connected (or not open).
pub(super) const ERR_NOT_CONNECTED: u16 = 107;

/// `[model]` radio bytes of one packet besides its payload, for the energy
/// ledger: IPv4 (20) + UDP (8) headers; IPv4 + TCP (20) headers, also the
/// size of a bare segment (handshake, ACK, FIN).
const UDP_OVERHEAD: u64 = 28;
pub(super) const TCP_SEGMENT: u64 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub(super) fn overhead(self) -> u64 {
        match self {
            Proto::Tcp => TCP_SEGMENT,
            Proto::Udp => UDP_OVERHEAD,
        }
    }

    pub(super) fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// Created, not connected (TCP) or bound (UDP; bound in the background).
    Idle,
    /// `+USOCO` waits for the connect job.
    Connecting,
    Connected,
    /// The peer closed; unread data may still be buffered.
    PeerClosed,
}

/// One datagram (UDP) or one chunk of the stream (TCP) not yet read.
#[derive(Debug)]
pub(super) struct Packet {
    pub(super) from: SocketAddr,
    pub(super) data: Vec<u8>,
    /// How much of `data` was read already.
    pub(super) read: usize,
}

impl Packet {
    pub(super) fn left(&self) -> usize {
        self.data.len() - self.read
    }
}

#[derive(Debug)]
pub(super) struct Socket {
    pub(super) proto: Proto,
    pub(super) aon: bool,
    /// This socket took its protocol's AoN slot when created: the next
    /// socket of that protocol is AoN only once this one is closed.
    /// `[model]` a socket that lost AoN (secure, listening) keeps the slot.
    pub(super) holds_aon_slot: bool,
    pub(super) secure: bool,
    /// `+USOLI` port. `[model]` stored only: nothing listens for real.
    pub(super) listening: Option<u16>,
    pub(super) local_port: Option<u16>,
    pub(super) link: Link,
    /// The OS socket (UDP from creation, TCP from `+USOCO`).
    pub(super) job: Option<JobId>,
    pub(super) rx: VecDeque<Packet>,
    /// Lengths of the writes handed to the job and not yet reported.
    pub(super) in_flight: VecDeque<usize>,
    pub(super) last_error: u16,
    /// `+USOSO` (level, option) -> value. `[model]` stored, no effect.
    pub(super) options: BTreeMap<(i64, i64), i64>,
    pub(super) sent: u64,
    pub(super) received: u64,
}

impl Socket {
    pub(super) fn unread(&self) -> usize {
        self.rx.iter().map(Packet::left).sum()
    }

    /// `[model]` unacknowledged bytes (`+USOCTL=<s>,11`): written by the
    /// host, not yet taken by the OS socket.
    pub(super) fn unacked(&self) -> usize {
        self.in_flight.iter().sum()
    }
}

/// A binary `+USOWR`/`+USOST` reading its bytes after the `@` prompt.
#[derive(Debug)]
pub(super) struct RawWrite {
    pub(super) socket: usize,
    /// UDP destination (`+USOST`); `None` for `+USOWR`.
    pub(super) to: Option<SocketAddr>,
    pub(super) want: usize,
    pub(super) buf: Vec<u8>,
}

/// One socket as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSnapshot {
    pub id: u8,
    pub proto: Proto,
    pub aon: bool,
    pub secure: bool,
    pub listening: bool,
    /// The local port (UDP: once bound, the port the OS gave).
    pub local_port: Option<u16>,
    /// Bytes written to the network / received from it (for the energy
    /// ledger until it counts radio bytes itself).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Bytes in the RX buffer.
    pub unread: usize,
}

/// The socket chapter's volatile state.
#[derive(Debug, Default)]
pub(in crate::module) struct Sockets {
    pub(super) slots: [Option<Socket>; MAX_SOCKETS],
    pub(super) raw: Option<RawWrite>,
    /// `+USOCO` whose final result waits for its job (the AT interface is
    /// blocked meanwhile).
    pub(super) connecting: Option<(usize, JobId)>,
    /// `+USOER`.
    pub(super) last_error: u16,
}

impl Module {
    /// How deep the open sockets let the module sleep (§5.10): a connect or
    /// a write still in progress keeps it awake; any non-AoN socket (secure
    /// and listening ones included) or an AoN socket with unread data allows
    /// Sleep-1 at most.
    pub(in crate::module) fn socket_sleep_limit(&self) -> SleepLimit {
        let s = &self.sockets;
        let open = || s.slots.iter().flatten();
        if s.connecting.is_some() || s.raw.is_some() || open().any(|k| !k.in_flight.is_empty()) {
            return SleepLimit::Awake;
        }
        if open().any(|k| !k.aon || !k.rx.is_empty()) {
            return SleepLimit::Sleep1;
        }
        SleepLimit::Deep
    }

    pub(in crate::module) fn socket_snapshot(&self) -> Vec<SocketSnapshot> {
        let mut out = Vec::new();
        for (id, socket) in self.sockets.slots.iter().enumerate() {
            if let Some(k) = socket {
                out.push(SocketSnapshot {
                    id: id as u8,
                    proto: k.proto,
                    aon: k.aon,
                    secure: k.secure,
                    listening: k.listening.is_some(),
                    local_port: k.local_port,
                    bytes_sent: k.sent,
                    bytes_received: k.received,
                    unread: k.unread(),
                });
            }
        }
        out
    }

    pub(super) fn free_socket(&mut self, id: usize) {
        if let Some(socket) = self.sockets.slots[id].take() {
            if let Some(job) = socket.job {
                self.out
                    .push(Effect::SocketCommand(job, SocketCommand::Close));
            }
        }
        if self.sockets.raw.as_ref().is_some_and(|r| r.socket == id) {
            self.sockets.raw = None;
        }
    }

    /// The socket `id`, or CME 3 when it is not open (also recorded for
    /// `+USOER`).
    pub(super) fn socket_mut(&mut self, id: usize) -> Result<&mut Socket, Fail> {
        match self.sockets.slots[id].as_mut() {
            Some(socket) => Ok(socket),
            None => {
                self.sockets.last_error = ERR_NOT_CONNECTED;
                Err(CmeError::OPERATION_NOT_ALLOWED.into())
            }
        }
    }
}
