//! Creating, closing and configuring sockets: `+USOCR` (§5.1, with
//! report_AoN as in §5.10.1), `+USOCL` (§5.9), `+USOSO` (§5.5) and
//! `+USOSEC` (§5.11).

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::params::socket_id;
use super::table::{Link, Proto, Socket};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::jobs::{Job, SocketJob};
use crate::module::{bad_param, unsupported, Effect, Module};

/// At most 2 of the 6 sockets secure (§5.11).
const MAX_SECURE: usize = 2;

impl Module {
    /// `+USOCR=...` and `+USOCR?`.
    pub(in crate::module) fn usocr(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let params = match form {
            Form::Read => {
                for (id, k) in self.sockets.slots.iter().enumerate() {
                    if let Some(k) = k {
                        info.push(format!(
                            "+USOCR: {id},{},{}",
                            k.proto.number(),
                            u8::from(k.aon)
                        ));
                    }
                }
                return Ok(());
            }
            Form::Set(params) => params,
            _ => return unsupported(),
        };
        params.at_most(5).map_err(bad_param)?;
        let proto = match params.required_int(0).map_err(bad_param)? {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        let local_port = match params.int(1).map_err(bad_param)? {
            None => None,
            Some(p) => Some(u16::try_from(p).map_err(bad_param)?),
        };
        if !matches!(params.int(2).map_err(bad_param)?, None | Some(0)) {
            return unsupported(); // [model] IPv4 only
        }
        let report_aon = match params.int(3).map_err(bad_param)? {
            None | Some(0) => false,
            Some(1) => true,
            Some(_) => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        if !matches!(params.int(4).map_err(bad_param)?, None | Some(1)) {
            return unsupported(); // [model] only the default context
        }
        let Some(id) = self.sockets.slots.iter().position(Option::is_none) else {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        };
        let aon = !self
            .sockets
            .slots
            .iter()
            .flatten()
            .any(|k| k.proto == proto && k.holds_aon_slot);
        let job = (proto == Proto::Udp).then(|| {
            let job = self.new_job_id();
            let local_port = local_port.unwrap_or(0);
            self.out.push(Effect::StartJob(
                job,
                Job::Socket(SocketJob::Udp { local_port }),
            ));
            job
        });
        self.sockets.slots[id] = Some(Socket {
            proto,
            aon,
            holds_aon_slot: aon,
            secure: false,
            listening: None,
            local_port,
            link: Link::Idle,
            job,
            rx: VecDeque::new(),
            in_flight: VecDeque::new(),
            last_error: 0,
            options: BTreeMap::new(),
            sent: 0,
            received: 0,
        });
        info.push(match (report_aon, local_port) {
            (true, _) => format!("+USOCR: {id},{},{}", proto.number(), u8::from(aon)),
            (false, Some(port)) => format!("+USOCR: {id},{port}"),
            (false, None) => format!("+USOCR: {id}"),
        });
        Ok(())
    }

    /// `+USOCL=<s>`: closed at once, buffer dropped, no URC (§5.9).
    pub(in crate::module) fn usocl(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?; // [model] async close flag ignored
        let id = socket_id(params)?;
        self.socket_mut(id)?;
        self.free_socket(id);
        Ok(())
    }

    /// `+USOSO=<s>,<level>,<option>,<value>` (§5.5). `[model]` stored only:
    /// keep-alive packets are not sent.
    pub(in crate::module) fn usoso(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(4).map_err(bad_param)?;
        let id = socket_id(params)?;
        let level = params.required_int(1).map_err(bad_param)?;
        let option = params.required_int(2).map_err(bad_param)?;
        let value = params.required_int(3).map_err(bad_param)?;
        self.socket_mut(id)?.options.insert((level, option), value);
        Ok(())
    }

    /// `+USOSEC=<s>,<0|1>[,<profile>]` (§5.11). `[model]` no TLS happens: the
    /// flag exists so that a secure socket loses AoN (§5.10).
    pub(in crate::module) fn usosec(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(3).map_err(bad_param)?;
        let id = socket_id(params)?;
        let on = match params.required_int(1).map_err(bad_param)? {
            0 => false,
            1 => true,
            _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        let secure_others = self
            .sockets
            .slots
            .iter()
            .enumerate()
            .filter(|(i, k)| *i != id && k.as_ref().is_some_and(|k| k.secure))
            .count();
        if on && secure_others >= MAX_SECURE {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        let socket = self.socket_mut(id)?;
        socket.secure = on;
        // [model] switching security off does not give AoN back.
        if on {
            socket.aon = false;
        }
        Ok(())
    }
}
