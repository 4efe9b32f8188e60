//! What the socket jobs (`crate::jobs::socket`, real OS sockets) report:
//! bound, connected or refused, a write taken, data received, the peer
//! closed.

use std::time::Instant;

use super::table::{Link, TCP_SEGMENT};
use crate::at::reply::Fail;
use crate::jobs::{JobId, SocketEvent};
use crate::module::Module;

/// `[model]` the errno-style code of `+USOCTL=<s>,1` and `+USOER` after a
/// refused connect.
const ERR_CONNECTION_REFUSED: u16 = 111;

impl Module {
    /// A socket job reported.
    pub(in crate::module) fn on_socket(&mut self, job: JobId, event: SocketEvent, now: Instant) {
        let Some(id) = self
            .sockets
            .slots
            .iter()
            .position(|k| k.as_ref().is_some_and(|k| k.job == Some(job)))
        else {
            return; // closed meanwhile, or from before a boot
        };
        match event {
            SocketEvent::Bound(port) => {
                if let Some(socket) = self.sockets.slots[id].as_mut() {
                    socket.local_port = Some(port);
                }
            }
            SocketEvent::Connected => {
                if let Some(socket) = self.sockets.slots[id].as_mut() {
                    socket.link = Link::Connected;
                }
                // SYN, SYN-ACK, ACK.
                self.energy.radio_bytes(2 * TCP_SEGMENT, TCP_SEGMENT);
                self.finish_connect(job, Ok(()));
            }
            SocketEvent::Failed => {
                let answered = self.sockets.connecting == Some((id, job));
                self.socket_failed(id, ERR_CONNECTION_REFUSED);
                if answered {
                    self.finish_connect(job, Err(Fail::Error));
                }
            }
            // One report per write, in order. [model] a failed write is
            // not retried: its bytes are lost like on a reset connection.
            SocketEvent::Sent(_) => {
                if let Some(socket) = self.sockets.slots[id].as_mut() {
                    socket.in_flight.pop_front();
                }
            }
            SocketEvent::Received { from, data } => self.socket_received(id, from, data, now),
            SocketEvent::PeerClosed => {
                if let Some(socket) = self.sockets.slots[id].as_mut() {
                    socket.link = Link::PeerClosed;
                    socket.job = None;
                    socket.in_flight.clear();
                }
                self.socket_close_if_drained(id);
            }
        }
    }
}
