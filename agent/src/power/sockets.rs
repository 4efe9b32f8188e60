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
//! [`SocketManager`] is the I/O side on the [`AtClient`]: it creates sockets
//! with report_AoN, reads and writes through the table, and closes what it
//! opened ([`SocketManager::close_owned`]) except the sockets it was told
//! to keep (the doorbell).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use tracing::{debug, warn};

use crate::modem::at::{AtClient, AtError, Urc};
use crate::modem::socket::{
    Close, ControlParam, CreateSocket, Created, Datagram, ListSockets, Protocol, Read, ReceiveFrom,
    SendTo, SetSocketOption, SocketControl, SocketId, SocketInfo, WriteBinary,
};

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

/// The socket table driven on the module: every socket command that changes
/// what blocks sleep goes through here, so the table stays true.
#[derive(Debug)]
pub struct SocketManager {
    at: AtClient,
    table: SocketTable,
}

impl SocketManager {
    pub fn new(at: AtClient) -> Self {
        SocketManager {
            at,
            table: SocketTable::new(),
        }
    }

    pub fn table(&self) -> &SocketTable {
        &self.table
    }

    /// Feed every URC here (`+UUSORD`, `+UUSOCL`); true if it was a socket's.
    pub fn on_urc(&mut self, urc: &Urc) -> bool {
        self.table.on_urc(urc)
    }

    pub fn deep_sleep_blockers(&self) -> Vec<Blocker> {
        self.table.deep_sleep_blockers()
    }

    /// Creates a socket with report_AoN, so the module says whether it is
    /// always-on (§5.10.1).
    pub async fn open(
        &mut self,
        protocol: Protocol,
        local_port: Option<u16>,
        role: Role,
    ) -> Result<SocketId, AtError> {
        let predicted = self.table.predict_aon(protocol);
        let created = self
            .at
            .send(&CreateSocket {
                protocol,
                local_port,
                report_aon: true,
            })
            .await?;
        self.table.created(protocol, &created, role);
        debug!(socket = created.id, %protocol, predicted, aon = ?created.aon, "socket created");
        Ok(created.id)
    }

    /// Connects a TCP socket. A refused connect closes the socket on the
    /// module (`ERROR` then `+UUSOCL`, §5.1), so the table forgets it too.
    pub async fn connect(&mut self, id: SocketId, ip: IpAddr, port: u16) -> Result<(), AtError> {
        let result = self
            .at
            .send(&crate::modem::socket::Connect {
                socket: id,
                ip,
                port,
            })
            .await;
        if let Err(e) = &result {
            if refused(e) {
                self.table.closed(id);
            }
        }
        result
    }

    /// A binary write on a connected socket; returns the bytes the module
    /// took (0: the peer has closed, §5.4).
    pub async fn write(&mut self, id: SocketId, data: &[u8]) -> Result<usize, AtError> {
        let sent = self
            .at
            .send(&WriteBinary {
                socket: id,
                data: data.to_vec(),
            })
            .await?;
        self.table.wrote(id, sent);
        Ok(sent)
    }

    /// One datagram to `ip:port` (§5.6).
    pub async fn send_to(
        &mut self,
        id: SocketId,
        ip: IpAddr,
        port: u16,
        data: &[u8],
    ) -> Result<usize, AtError> {
        let sent = self
            .at
            .send(&SendTo {
                socket: id,
                ip,
                port,
                data: data.to_vec(),
            })
            .await?;
        self.table.wrote(id, sent);
        Ok(sent)
    }

    /// Up to `max_len` bytes of a TCP socket (§5.4).
    pub async fn read(&mut self, id: SocketId, max_len: usize) -> Result<Vec<u8>, AtError> {
        let data = self
            .at
            .send(&Read {
                socket: id,
                max_len,
            })
            .await?;
        self.table.read(id, data.len());
        Ok(data)
    }

    /// Up to `max_len` bytes of the next datagram of a UDP socket (§5.7).
    pub async fn receive_from(
        &mut self,
        id: SocketId,
        max_len: usize,
    ) -> Result<Datagram, AtError> {
        let d = self
            .at
            .send(&ReceiveFrom {
                socket: id,
                max_len,
            })
            .await?;
        self.table.read(id, d.data.len());
        Ok(d)
    }

    /// Asks the module how many TCP bytes still wait for the peer's ACK
    /// (§5.8), so an AoN socket whose data has left stops blocking Sleep-2.
    pub async fn refresh_unsent(&mut self, id: SocketId) -> Result<usize, AtError> {
        let n = self
            .at
            .send(&SocketControl {
                socket: id,
                param: ControlParam::UnackedBytes,
            })
            .await?;
        let n = usize::try_from(n).unwrap_or(0);
        self.table.unsent_is(id, n);
        Ok(n)
    }

    /// Refreshes the unsent count of every TCP socket that has one, so the
    /// data that has left since stops blocking deep sleep. Call it before
    /// reading [`SocketManager::deep_sleep_blockers`] to decide on sleep.
    pub async fn refresh_pending(&mut self) -> Result<(), AtError> {
        let waiting: Vec<SocketId> = self
            .table
            .sockets()
            .filter(|s| s.protocol == Protocol::Tcp && s.unsent > 0)
            .map(|s| s.id)
            .collect();
        for id in waiting {
            self.refresh_unsent(id).await?;
        }
        Ok(())
    }

    /// Sets a socket option (`+USOSO`, §5.5).
    pub async fn set_option(&mut self, option: SetSocketOption) -> Result<(), AtError> {
        self.at.send(&option).await
    }

    /// Closes a socket. A module that answers `ERROR` no longer has it (it
    /// closed it itself, its `+UUSOCL` maybe still on the way): forgotten
    /// all the same.
    pub async fn close(&mut self, id: SocketId) -> Result<(), AtError> {
        match self.at.send(&Close { socket: id }).await {
            Ok(()) => {
                self.table.closed(id);
                Ok(())
            }
            Err(e) if refused(&e) => {
                debug!(socket = id, error = %e, "socket already gone on the module");
                self.table.closed(id);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Closes every socket opened as [`Role::Owned`], so no socket that
    /// blocks deep sleep outlives the window that opened it. Kept sockets
    /// (the doorbell) stay. Tries every socket; returns the ones closed, or
    /// the first error after trying the rest.
    pub async fn close_owned(&mut self) -> Result<Vec<SocketId>, AtError> {
        let mut closed = Vec::new();
        let mut first_error = None;
        for id in self.table.owned() {
            match self.close(id).await {
                Ok(()) => closed.push(id),
                Err(e) => {
                    warn!(socket = id, error = %e, "could not close a socket");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(closed),
        }
    }

    /// Makes the table agree with `AT+USOCR?` (after a restart of the agent,
    /// or when a warning suggests the two drifted apart).
    pub async fn reconcile(&mut self) -> Result<Vec<String>, AtError> {
        let listed = self.at.send(&ListSockets).await?;
        Ok(self.table.reconcile(&listed))
    }

    /// The module lost its volatile state (reboot): no socket is open.
    pub fn forget_all(&mut self) {
        self.table.forget_all();
    }
}

/// The module answered the command and said no (as opposed to a timeout or
/// a dead port, after which its state is unknown).
fn refused(e: &AtError) -> bool {
    matches!(e, AtError::Error { .. } | AtError::Cme { .. })
}

#[cfg(test)]
#[path = "sockets_tests.rs"]
mod tests;
