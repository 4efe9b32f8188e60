//! Writing: `+USOWR` (TCP, §5.3) and `+USOST` (UDP, §5.6), binary after the
//! `@` prompt or with the data inline (§5.3.2, §5.12), handed to the
//! socket's job.

use std::net::SocketAddr;
use std::time::Instant;

use super::params::{address, io_len, socket_id};
use super::table::{Link, Proto, RawWrite, ERR_NOT_CONNECTED};
use crate::at::parse::Form;
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::SocketCommand;
use crate::module::{bad_param, unsupported, Effect, Module};

impl Module {
    /// `+USOWR=<s>,<len>` (binary, §5.3.1) or `+USOWR=<s>,<len>,"<data>"`
    /// (base syntax, §5.3.2) -> `+USOWR: <s>,<sent>`; `<sent>` 0 once the
    /// peer has closed (§5.4 scenario 4).
    pub(in crate::module) fn usowr(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(3).map_err(bad_param)?;
        let id = socket_id(params)?;
        let len = io_len(params, 1, 1)?;
        let socket = self.socket_mut(id)?;
        // [model] UDP writes go through +USOST only (the note recommends it).
        if socket.proto != Proto::Tcp || !matches!(socket.link, Link::Connected | Link::PeerClosed)
        {
            socket.last_error = ERR_NOT_CONNECTED;
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        match params.string(2).map_err(bad_param)? {
            None => {
                self.sockets.raw = Some(RawWrite {
                    socket: id,
                    to: None,
                    want: len,
                    buf: Vec::with_capacity(len),
                });
                Ok(())
            }
            Some(data) => {
                // [model] the length must match the data given.
                if data.len() != len {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                let sent = self.socket_send(id, None, data.as_bytes().to_vec(), now);
                info.push(format!("+USOWR: {id},{sent}"));
                Ok(())
            }
        }
    }

    /// `+USOST=<s>,"<ip>",<port>,<len>[,"<data>"]` -> `+USOST: <s>,<sent>`
    /// (§5.6 binary, §5.12 with the data inline).
    pub(in crate::module) fn usost(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(5).map_err(bad_param)?;
        let id = socket_id(params)?;
        let to = address(params, 1)?;
        let len = io_len(params, 3, 1)?;
        let socket = self.socket_mut(id)?;
        if socket.proto != Proto::Udp {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        match params.string(4).map_err(bad_param)? {
            None => {
                self.sockets.raw = Some(RawWrite {
                    socket: id,
                    to: Some(to),
                    want: len,
                    buf: Vec::with_capacity(len),
                });
                Ok(())
            }
            Some(data) => {
                if data.len() != len {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                let sent = self.socket_send(id, Some(to), data.as_bytes().to_vec(), now);
                info.push(format!("+USOST: {id},{sent}"));
                Ok(())
            }
        }
    }

    /// True while a binary socket write reads its bytes.
    pub(in crate::module) fn socket_raw_input(&self) -> bool {
        self.sockets.raw.is_some()
    }

    /// Called by `run_line` after a command that opened the `@` prompt.
    pub(in crate::module) fn socket_prompt(&mut self, ok: bool) -> bool {
        if !self.socket_raw_input() {
            return false;
        }
        if ok {
            // [model] the prompt is framed like the MQTT `>` one: CR LF `@`.
            self.out.push(Effect::Send(b"\r\n@".to_vec()));
            return true;
        }
        self.sockets.raw = None;
        false
    }

    /// One byte after the `@` prompt; with the last one the write happens and
    /// the answer goes out.
    pub(in crate::module) fn socket_raw_byte(&mut self, byte: u8, now: Instant) {
        let Some(raw) = self.sockets.raw.as_mut() else {
            return;
        };
        raw.buf.push(byte);
        if raw.buf.len() < raw.want {
            return;
        }
        let Some(raw) = self.sockets.raw.take() else {
            return;
        };
        let (id, to) = (raw.socket, raw.to);
        let result = if self.sockets.slots[id].is_some() {
            let sent = self.socket_send(id, to, raw.buf, now);
            let name = if to.is_some() { "+USOST" } else { "+USOWR" };
            self.out
                .push(Effect::Send(frame(&format!("{name}: {id},{sent}"))));
            Ok(())
        } else {
            Err(CmeError::OPERATION_NOT_ALLOWED.into())
        };
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    /// Hands `data` to the socket's job; returns what `+USOWR`/`+USOST`
    /// report as sent.
    pub(super) fn socket_send(
        &mut self,
        id: usize,
        to: Option<SocketAddr>,
        data: Vec<u8>,
        now: Instant,
    ) -> usize {
        let registered = self.radio.stat.is_registered();
        let Some(socket) = self.sockets.slots[id].as_mut() else {
            return 0;
        };
        let Some(job) = socket.job else {
            return 0; // peer closed: nothing goes out
        };
        if socket.link == Link::PeerClosed || !registered {
            return 0;
        }
        let len = data.len();
        socket.in_flight.push_back(len);
        socket.sent += len as u64;
        let overhead = socket.proto.overhead();
        self.energy.radio_bytes(len as u64 + overhead, 0);
        let command = match to {
            Some(to) => SocketCommand::SendTo(to, data),
            None => SocketCommand::Send(data),
        };
        self.out.push(Effect::SocketCommand(job, command));
        self.traffic(now);
        len
    }
}
