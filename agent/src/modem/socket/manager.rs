//! [`SocketManager`]: the socket table (`table.rs`) driven on the module's
//! [`AtClient`]. It creates sockets with report_AoN, reads and writes
//! through the table, and closes what it opened
//! ([`SocketManager::close_owned`]) except the sockets it was told to keep
//! (the doorbell).

use std::net::IpAddr;

use tracing::{debug, warn};

use super::commands::{
    Close, Connect, ControlParam, CreateSocket, Datagram, ListSockets, Protocol, Read, ReceiveFrom,
    SendTo, SetSocketOption, SocketControl, SocketId, WriteBinary,
};
use super::table::{Blocker, Role, SocketTable};
use crate::modem::at::{AtClient, AtError, Urc};

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
            .send(&Connect {
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
