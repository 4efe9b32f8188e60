//! The parameters the socket commands share: the socket id, a literal
//! address with its port, a length within the binary limit; and the framing
//! of an answer that carries raw bytes.

use std::net::{IpAddr, SocketAddr};

use super::table::MAX_SOCKETS;
use crate::at::parse::Params;
use crate::at::reply::{CmeError, Fail};
use crate::module::bad_param;

/// `[model]` the largest `+USOWR`/`+USOST` length and `+USORD`/`+USORF` read
/// (the u-blox AT manual's binary limit for these commands).
const MAX_IO: usize = 1024;

/// Parameter 0: a socket id 0..=5.
pub(super) fn socket_id(params: &Params) -> Result<usize, Fail> {
    let id = params.required_int(0).map_err(bad_param)?;
    usize::try_from(id)
        .ok()
        .filter(|id| *id < MAX_SOCKETS)
        .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
}

/// Parameters `i` (`"<ip>"`) and `i + 1` (port). `[model]` literal IP
/// addresses only, no names.
pub(super) fn address(params: &Params, i: usize) -> Result<SocketAddr, Fail> {
    let ip: IpAddr = params
        .required_string(i)
        .map_err(bad_param)?
        .trim()
        .parse()
        .map_err(bad_param)?;
    let port = params.required_int(i + 1).map_err(bad_param)?;
    let port = u16::try_from(port).map_err(bad_param)?;
    if port == 0 {
        return Err(CmeError::INCORRECT_PARAMETERS.into());
    }
    Ok(SocketAddr::new(ip, port))
}

/// A length parameter in `min..=MAX_IO`.
pub(super) fn io_len(params: &Params, i: usize, min: usize) -> Result<usize, Fail> {
    let len = params.required_int(i).map_err(bad_param)?;
    usize::try_from(len)
        .ok()
        .filter(|len| (min..=MAX_IO).contains(len))
        .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
}

/// `\r\n<bytes>\r\n` for a line that carries raw data.
pub(super) fn framed(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 4);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
    out
}
