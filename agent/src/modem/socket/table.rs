//! The module's sockets as they bear on sleep (application note §5.10).
//!
//! [`SocketTable`] is the pure core: what was created, closed, made secure
//! or listening, what data waits, in; the predicted AoN state of the next
//! socket and what keeps the module out of Sleep-2/Hibernate, out. It knows
//! the note's rules:
//! - the first TCP and the first UDP socket are always-on (AoN); later ones
//!   are not, until the AoN one of that protocol closes;
//! - a secure socket (`+USOSEC`) or a listening one (`+USOLI`) loses AoN;
//! - an AoN socket with unread or unsent data allows Sleep-1 only;
//! - any socket that is not AoN keeps the module out of deep sleep.
//!
//! The module's own answer (`+USOCR: <id>,<proto>,<aon>`, `+USOCR?`) is the
//! truth: when it disagrees with the prediction the table logs a warning and
//! takes the module's word.
//!
//! `manager.rs` drives it on the module.

use std::collections::BTreeMap;
use std::fmt;

use tracing::{debug, warn};

use super::commands::{Created, Protocol, SocketId, SocketInfo};
use crate::modem::at::Urc;

/// Who a socket belongs to, for [`SocketManager::close_owned`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opened for one piece of work (an upload window): closed at its end.
    Owned,
    /// Kept open across windows and sleep (the doorbell): never closed by
    /// `close_owned`.
    Kept,
    /// Found open on the module, not opened by this table (after an agent
    /// restart): reported, not closed.
    Foreign,
}

/// One open socket as the table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketState {
    pub id: SocketId,
    pub protocol: Protocol,
    pub aon: bool,
    pub secure: bool,
    pub listening: bool,
    /// Bytes the module announced unread (`+UUSORD`), less what was read since.
    pub unread: usize,
    /// TCP bytes written and not known to have left (`+USOCTL=<s>,11`).
    pub unsent: usize,
    pub role: Role,
    /// Holds its protocol's one AoN slot: created AoN and not closed since,
    /// even if it lost AoN by becoming secure or listening (see
    /// [`SocketTable::predict_aon`]).
    pub holds_aon_slot: bool,
}

/// Why the module cannot go below Sleep-1 (or at all into deep sleep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// An open socket that is not AoN blocks Sleep-2 and Hibernate.
    NotAon {
        socket: SocketId,
        protocol: Protocol,
    },
    /// A secure socket is never AoN.
    Secure { socket: SocketId },
    /// A listening socket is never AoN.
    Listening { socket: SocketId },
    /// An AoN socket with data waiting: Sleep-1 at most.
    PendingData {
        socket: SocketId,
        unread: usize,
        unsent: usize,
    },
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::NotAon { socket, protocol } => {
                write!(f, "{protocol} socket {socket} is not always-on")
            }
            Blocker::Secure { socket } => write!(f, "socket {socket} is secure"),
            Blocker::Listening { socket } => write!(f, "socket {socket} is listening"),
            Blocker::PendingData {
                socket,
                unread,
                unsent,
            } => write!(
                f,
                "always-on socket {socket} has {unread} bytes unread, {unsent} unsent \
                 (Sleep-1 at most)"
            ),
        }
    }
}

/// The prediction and the module's answer about a new socket disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AonDisagreement {
    pub socket: SocketId,
    pub predicted: bool,
    pub reported: bool,
}

/// The pure socket bookkeeping. See the module docs for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketTable {
    sockets: BTreeMap<SocketId, SocketState>,
}

impl SocketTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: SocketId) -> Option<&SocketState> {
        self.sockets.get(&id)
    }

    pub fn sockets(&self) -> impl Iterator<Item = &SocketState> {
        self.sockets.values()
    }

    /// Whether the next socket of `protocol` will be AoN: no open socket of
    /// that protocol holds the AoN slot. A socket that lost AoN (secure,
    /// listening) is taken to keep the slot until it closes: the note frees
    /// the slot only on close (§5.10: "if a AoN socket is closed, the next
    /// socket ... will be created as AoN"). The module's answer corrects this
    /// if the firmware decides otherwise.
    pub fn predict_aon(&self, protocol: Protocol) -> bool {
        !self
            .sockets
            .values()
            .any(|s| s.protocol == protocol && s.holds_aon_slot)
    }

    /// Records a socket the module created. `created.aon`, when the module
    /// said it, wins over the prediction; a disagreement is returned (and
    /// logged) so tests and logs can see it.
    pub fn created(
        &mut self,
        protocol: Protocol,
        created: &Created,
        role: Role,
    ) -> Option<AonDisagreement> {
        let predicted = self.predict_aon(protocol);
        let aon = created.aon.unwrap_or(predicted);
        let disagreement = (aon != predicted).then_some(AonDisagreement {
            socket: created.id,
            predicted,
            reported: aon,
        });
        if let Some(d) = disagreement {
            warn!(
                socket = d.socket,
                %protocol,
                predicted = d.predicted,
                reported = d.reported,
                "the module's always-on state differs from the §5.10 rules; believing the module"
            );
        }
        if let Some(old) = self.sockets.get(&created.id) {
            warn!(
                socket = created.id,
                ?old,
                "the module reused an id the agent thought open"
            );
        }
        self.sockets.insert(
            created.id,
            SocketState {
                id: created.id,
                protocol,
                aon,
                secure: false,
                listening: false,
                unread: 0,
                unsent: 0,
                role,
                holds_aon_slot: aon,
            },
        );
        disagreement
    }

    /// `+USOSEC=<s>,1` succeeded: the socket is no longer AoN (§5.10, §5.11).
    pub fn made_secure(&mut self, id: SocketId) {
        if let Some(s) = self.sockets.get_mut(&id) {
            s.secure = true;
            s.aon = false;
        }
    }

    /// `+USOLI` succeeded: the socket is no longer AoN (§5.10).
    pub fn made_listening(&mut self, id: SocketId) {
        if let Some(s) = self.sockets.get_mut(&id) {
            s.listening = true;
            s.aon = false;
        }
    }

    /// The host closed the socket (`+USOCL`), or the module did (`+UUSOCL`).
    pub fn closed(&mut self, id: SocketId) -> Option<SocketState> {
        self.sockets.remove(&id)
    }

    /// `n` bytes were read from the socket.
    pub fn read(&mut self, id: SocketId, n: usize) {
        if let Some(s) = self.sockets.get_mut(&id) {
            s.unread = s.unread.saturating_sub(n);
        }
    }

    /// `n` bytes went into a TCP socket's TX queue. UDP datagrams leave at
    /// once and are not counted.
    pub fn wrote(&mut self, id: SocketId, n: usize) {
        if let Some(s) = self.sockets.get_mut(&id) {
            if s.protocol == Protocol::Tcp {
                s.unsent = s.unsent.saturating_add(n);
            }
        }
    }

    /// The module's count of unacknowledged TCP bytes (`+USOCTL=<s>,11`).
    pub fn unsent_is(&mut self, id: SocketId, n: usize) {
        if let Some(s) = self.sockets.get_mut(&id) {
            s.unsent = n;
        }
    }

    /// Applies a URC; returns true if it concerned a socket.
    pub fn on_urc(&mut self, urc: &Urc) -> bool {
        match *urc {
            Urc::SocketData { socket, pending } => {
                match self.sockets.get_mut(&socket) {
                    Some(s) => s.unread = pending,
                    None => debug!(
                        socket,
                        pending, "data announced on a socket the agent does not know"
                    ),
                }
                true
            }
            Urc::SocketClosed { socket } => {
                self.closed(socket);
                true
            }
            _ => false,
        }
    }

    /// Makes the table agree with `AT+USOCR?`: sockets the module no longer
    /// has are forgotten, unknown ones are added as [`Role::Foreign`], and
    /// AoN states are taken from the module. Returns what differed.
    pub fn reconcile(&mut self, listed: &[SocketInfo]) -> Vec<String> {
        let mut differences = Vec::new();
        let gone: Vec<SocketId> = self
            .sockets
            .keys()
            .filter(|id| !listed.iter().any(|l| l.id == **id))
            .copied()
            .collect();
        for id in gone {
            differences.push(format!("socket {id} is no longer open on the module"));
            self.sockets.remove(&id);
        }
        for l in listed {
            match self.sockets.get_mut(&l.id) {
                Some(s) => {
                    if s.protocol != l.protocol || s.aon != l.aon {
                        differences.push(format!(
                            "socket {}: the agent thought {} aon={}, the module says {} aon={}",
                            l.id, s.protocol, s.aon, l.protocol, l.aon
                        ));
                        s.protocol = l.protocol;
                        s.aon = l.aon;
                        s.holds_aon_slot = l.aon || s.holds_aon_slot && (s.secure || s.listening);
                    }
                }
                None => {
                    differences.push(format!(
                        "socket {} ({}, aon={}) is open on the module but unknown to the agent",
                        l.id, l.protocol, l.aon
                    ));
                    self.sockets.insert(
                        l.id,
                        SocketState {
                            id: l.id,
                            protocol: l.protocol,
                            aon: l.aon,
                            secure: false,
                            listening: false,
                            unread: 0,
                            unsent: 0,
                            role: Role::Foreign,
                            holds_aon_slot: l.aon,
                        },
                    );
                }
            }
        }
        for d in &differences {
            warn!("{d}; believing the module");
        }
        differences
    }

    /// After a reboot (or the loss of the module's volatile state) no socket
    /// is open.
    pub fn forget_all(&mut self) {
        self.sockets.clear();
    }

    /// What keeps the module out of Sleep-2/Hibernate, one entry per socket,
    /// the most specific reason first.
    pub fn deep_sleep_blockers(&self) -> Vec<Blocker> {
        self.sockets
            .values()
            .filter_map(|s| {
                if s.secure {
                    Some(Blocker::Secure { socket: s.id })
                } else if s.listening {
                    Some(Blocker::Listening { socket: s.id })
                } else if !s.aon {
                    Some(Blocker::NotAon {
                        socket: s.id,
                        protocol: s.protocol,
                    })
                } else if s.unread > 0 || s.unsent > 0 {
                    Some(Blocker::PendingData {
                        socket: s.id,
                        unread: s.unread,
                        unsent: s.unsent,
                    })
                } else {
                    None
                }
            })
            .collect()
    }

    /// The sockets [`SocketManager::close_owned`] closes.
    pub fn owned(&self) -> Vec<SocketId> {
        self.sockets
            .values()
            .filter(|s| s.role == Role::Owned)
            .map(|s| s.id)
            .collect()
    }
}
