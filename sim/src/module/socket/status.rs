//! A socket's status and the last error: `+USOCTL` and `+USOER` (§5.8).

use std::time::Instant;

use super::params::socket_id;
use super::table::{Link, Proto};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::module::{bad_param, unsupported, Module};

/// `+USOCTL=<s>,10` TCP states (u-blox AT manual numbering; §5.8 shows 4
/// ESTABLISHED and 7 for a closing connection).
const TCP_CLOSED: u8 = 0;
const TCP_LISTEN: u8 = 1;
const TCP_SYN_SENT: u8 = 2;
const TCP_ESTABLISHED: u8 = 4;
const TCP_CLOSE_WAIT: u8 = 7;

impl Module {
    /// `+USOCTL=<s>,<param>` (§5.8).
    pub(in crate::module) fn usoctl(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?;
        let id = socket_id(params)?;
        let param = params.required_int(1).map_err(bad_param)?;
        let socket = self.socket_mut(id)?;
        let value = match param {
            0 => u64::from(socket.proto.number()),
            1 => u64::from(socket.last_error),
            10 | 11 if socket.proto != Proto::Tcp => {
                return Err(CmeError::OPERATION_NOT_ALLOWED.into())
            }
            10 => u64::from(match (socket.listening, socket.link) {
                (Some(_), _) => TCP_LISTEN,
                (None, Link::Idle) => TCP_CLOSED,
                (None, Link::Connecting) => TCP_SYN_SENT,
                (None, Link::Connected) => TCP_ESTABLISHED,
                (None, Link::PeerClosed) => TCP_CLOSE_WAIT,
            }),
            11 => socket.unacked() as u64,
            _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        info.push(format!("+USOCTL: {id},{param},{value}"));
        Ok(())
    }

    /// `+USOER` -> `+USOER: <last socket error>` (§5.8).
    pub(in crate::module) fn usoer(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        if *form != Form::Action {
            return unsupported();
        }
        info.push(format!("+USOER: {}", self.sockets.last_error));
        Ok(())
    }
}
