//! Direct link (op 10 = 1, §7.1, §7.3): `CONNECT` instead of the final
//! result, the body of a POST (op 7) read from the UART, the response
//! relayed to it, then `DISCONNECT`, `OK` and `+UUHTTPCR`.

use std::time::Instant;

use super::state::{Connect, Sink, ER_NO_PDP};
use crate::at::reply::frame;
use crate::module::{Effect, Module};

/// What ends the relayed response (§7.1): the stream's bytes stop where
/// this begins.
pub(super) const DISCONNECT: &[u8] = b"\r\nDISCONNECT\r\n";

impl Module {
    /// Called by `run_line` after a command: a direct-link `+UHTTPC` that
    /// was accepted answers `CONNECT` and starts (ops 0 to 5) or waits for
    /// its body (op 7). A line that failed after it (`;`) starts nothing.
    pub(in crate::module) fn http_prompt(&mut self, ok: bool, now: Instant) -> bool {
        let Some(connect) = self.http.connect.take() else {
            return false;
        };
        if !ok {
            return false;
        }
        self.out.push(Effect::Send(frame("CONNECT")));
        match connect {
            Connect::Start {
                profile,
                command,
                request,
            } => self.start_request(profile, command, request, Sink::Uart, now),
            Connect::Body(body) => {
                let want = body.want;
                self.http.body = Some((body, Vec::with_capacity(want)));
            }
        }
        true
    }

    /// One byte from the host in direct link: the next byte of op 7's body,
    /// or `[model]` dropped while the response is relayed. With the body's
    /// last byte the request starts.
    pub(in crate::module) fn http_raw_byte(&mut self, byte: u8, now: Instant) {
        let Some((body, buf)) = self.http.body.as_mut() else {
            return;
        };
        buf.push(byte);
        if buf.len() < body.want {
            return;
        }
        let Some((body, buf)) = self.http.body.take() else {
            return;
        };
        if !self.radio.stat.is_registered() {
            // The radio went while the body came.
            self.http.last_error[usize::from(body.profile)] = ER_NO_PDP;
            self.end_direct_link(body.profile, 7, false);
            return;
        }
        let mut request = body.request;
        request.body = Some(buf);
        self.start_request(body.profile, 7, request, Sink::Uart, now);
    }

    /// Ends a direct-link transfer: `DISCONNECT`, the deferred `OK`, then
    /// the result URC (which `handle` sends once data mode is over).
    pub(super) fn end_direct_link(&mut self, profile: u8, command: u8, ok: bool) {
        self.out.push(Effect::Send(DISCONNECT.to_vec()));
        self.out.push(Effect::Send(frame("OK")));
        self.urc(format!("+UUHTTPCR: {profile},{command},{}", u8::from(ok)));
    }
}
