//! Reading: what arrives fills the RX buffer and is announced by
//! `+UUSORD`; `+USORD` (TCP, §5.4) and `+USORF` (UDP, §5.7) read it by
//! length; a socket whose peer closed goes once it is drained (§5.9).

use std::net::SocketAddr;
use std::time::Instant;

use super::params::{framed, io_len, socket_id};
use super::table::{Link, Packet, Proto};
use crate::at::parse::Form;
use crate::at::reply::{frame, CmeError, Fail};
use crate::module::{bad_param, unsupported, Effect, Module};

/// The RX queue: "6 kB in reading download" (§5.3.3). `[model]` bytes that
/// do not fit are dropped (real TCP would push back on the sender).
const RX_CAPACITY: usize = 6 * 1024;

impl Module {
    /// `+USORD=<s>,<len>` (§5.4).
    pub(in crate::module) fn usord(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?;
        let id = socket_id(params)?;
        let want = io_len(params, 1, 0)?;
        let socket = self.socket_mut(id)?;
        if socket.proto != Proto::Tcp {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        if want == 0 {
            let unread = socket.unread();
            self.out
                .push(Effect::Send(frame(&format!("+USORD: {id},{unread}"))));
            return Ok(());
        }
        // [model] nothing buffered answers `+USORD: <s>,0,""`.
        let mut data = Vec::new();
        while data.len() < want {
            let Some(packet) = socket.rx.front_mut() else {
                break;
            };
            let take = packet.left().min(want - data.len());
            data.extend_from_slice(&packet.data[packet.read..packet.read + take]);
            packet.read += take;
            if packet.left() == 0 {
                socket.rx.pop_front();
            }
        }
        let unread = socket.unread();
        let mut line = format!("+USORD: {id},{},\"", data.len()).into_bytes();
        line.extend_from_slice(&data);
        line.push(b'"');
        self.out.push(Effect::Send(framed(&line)));
        if unread > 0 {
            self.urc(format!("+UUSORD: {id},{unread}"));
        }
        self.socket_close_if_drained(id);
        Ok(())
    }

    /// `+USORF=<s>,<len>` (§5.7): at most `len` bytes of the oldest datagram.
    pub(in crate::module) fn usorf(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?;
        let id = socket_id(params)?;
        let want = io_len(params, 1, 0)?;
        let socket = self.socket_mut(id)?;
        if socket.proto != Proto::Udp {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        let Some(packet) = socket.rx.front_mut().filter(|_| want > 0) else {
            // `,0` asks how much is unread; [model] so does a read of an
            // empty buffer.
            let unread = socket.unread();
            self.out
                .push(Effect::Send(frame(&format!("+USORF: {id},{unread}"))));
            return Ok(());
        };
        let take = packet.left().min(want);
        let data = packet.data[packet.read..packet.read + take].to_vec();
        packet.read += take;
        let from = packet.from;
        let rest_of_packet = packet.left();
        if rest_of_packet == 0 {
            socket.rx.pop_front();
        }
        let unread = socket.unread();
        let mut line =
            format!("+USORF: {id},\"{}\",{},{take},\"", from.ip(), from.port()).into_bytes();
        line.extend_from_slice(&data);
        line.push(b'"');
        self.out.push(Effect::Send(framed(&line)));
        if rest_of_packet > 0 {
            self.urc(format!("+UUSORD: {id},{rest_of_packet}"));
        } else if unread > 0 {
            self.urc(format!("+UUSORD: {id},{unread}"));
        }
        Ok(())
    }

    pub(super) fn socket_received(
        &mut self,
        id: usize,
        from: SocketAddr,
        data: Vec<u8>,
        now: Instant,
    ) {
        let Some(socket) = self.sockets.slots[id].as_mut() else {
            return;
        };
        let unread = socket.unread();
        if data.is_empty() || unread + data.len() > RX_CAPACITY {
            return;
        }
        let len = data.len();
        let aon = socket.aon;
        socket.received += len as u64;
        self.energy
            .radio_bytes(0, len as u64 + socket.proto.overhead());
        socket.rx.push_back(Packet {
            from,
            data,
            read: 0,
        });
        if aon {
            // §5.10.2: the data wakes a deep-sleeping module (`+UUSLPURC`
            // before the `+UUSORD`).
            self.wake_for_network_data(now);
        }
        self.traffic(now);
        if unread == 0 {
            self.urc(format!("+UUSORD: {id},{len}"));
        }
    }

    /// After the peer closed: once the buffer is empty the socket is gone
    /// and the host hears `+UUSOCL` (§5.4 scenario 4, §5.9).
    pub(super) fn socket_close_if_drained(&mut self, id: usize) {
        let drained = self.sockets.slots[id]
            .as_ref()
            .is_some_and(|k| k.link == Link::PeerClosed && k.rx.is_empty());
        if drained {
            self.sockets.slots[id] = None;
            self.urc(format!("+UUSOCL: {id}"));
        }
    }
}
