//! Connecting and listening: `+USOCO` (§5.1), whose final result waits for
//! the connect job while the AT interface is blocked, and `+USOLI` (§5.2).

use std::time::Instant;

use super::params::{address, socket_id};
use super::table::{Link, Proto, ERR_NOT_CONNECTED};
use crate::at::parse::Form;
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::{Job, JobId, SocketJob};
use crate::module::{bad_param, unsupported, Effect, Module};

impl Module {
    /// `+USOCO=<s>,"<ip>",<port>`: TCP connect. The final result waits for
    /// the connect (`[model]` as long as the real loopback connect takes);
    /// a failure answers `ERROR` then `+UUSOCL: <s>` and frees the socket
    /// (§5.1).
    pub(in crate::module) fn usoco(
        &mut self,
        form: &Form,
        now: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(4).map_err(bad_param)?; // [model] a timeout is ignored
        let id = socket_id(params)?;
        let remote = address(params, 1)?;
        let socket = self.socket_mut(id)?;
        if socket.proto != Proto::Tcp || socket.link != Link::Idle || socket.listening.is_some() {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        if !self.radio.stat.is_registered() {
            self.socket_failed(id, ERR_NOT_CONNECTED);
            return Err(Fail::Error);
        }
        self.traffic(now);
        let job = self.new_job_id();
        if let Some(socket) = self.sockets.slots[id].as_mut() {
            socket.link = Link::Connecting;
            socket.job = Some(job);
        }
        self.sockets.connecting = Some((id, job));
        self.out.push(Effect::StartJob(
            job,
            Job::Socket(SocketJob::Tcp { remote }),
        ));
        Ok(())
    }

    /// `+USOLI=<s>,<port>` (§5.2). `[model]` nothing listens for real: the
    /// flag exists so that a listening socket loses AoN (§5.10).
    pub(in crate::module) fn usoli(
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
        let port = params.required_int(1).map_err(bad_param)?;
        let port = u16::try_from(port).map_err(bad_param)?;
        let socket = self.socket_mut(id)?;
        if socket.link != Link::Idle {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        socket.listening = Some(port);
        socket.aon = false;
        Ok(())
    }

    /// True while `+USOCO` waits for its connect: no final result yet, no
    /// URCs, and `[model]` bytes from the host are dropped (the real
    /// interface is blocked).
    pub(in crate::module) fn socket_answer_pending(&self) -> bool {
        self.sockets.connecting.is_some()
    }

    /// Called by `run_line`: true when a `+USOCO` waits for its connect, so
    /// the final result is not sent now. A line that failed after starting
    /// a connect (`AT+USOCO=...;+BAD`) [model] answers now; the connect goes
    /// on silently.
    pub(in crate::module) fn socket_defer_answer(&mut self, ok: bool) -> bool {
        if self.sockets.connecting.is_none() {
            return false;
        }
        if !ok {
            self.sockets.connecting = None;
        }
        ok
    }

    pub(super) fn finish_connect(&mut self, job: JobId, result: Result<(), Fail>) {
        if self.sockets.connecting.map(|(_, j)| j) != Some(job) {
            return;
        }
        self.sockets.connecting = None;
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    /// A connect failed: the socket is closed and `+UUSOCL` follows (§5.1).
    pub(super) fn socket_failed(&mut self, id: usize, error: u16) {
        self.sockets.last_error = error;
        self.free_socket(id);
        self.urc(format!("+UUSOCL: {id}"));
    }
}
