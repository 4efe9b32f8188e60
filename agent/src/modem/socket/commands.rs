//! The module's own TCP/UDP sockets (application note chapter 5).
//!
//! One type per command, each doc naming the note's section:
//! - lifetime: [`CreateSocket`] (`+USOCR`, with report_AoN §5.10.1),
//!   [`ListSockets`] (`+USOCR?`), [`Connect`] (`+USOCO`), [`Close`] (`+USOCL`);
//! - data: [`WriteBinary`] (`+USOWR` with the `@` prompt), [`SendTo`]
//!   (`+USOST`), [`Read`] and [`UnreadCount`] (`+USORD`), [`ReceiveFrom`]
//!   (`+USORF`);
//! - state and options: [`SocketControl`] (`+USOCTL`), [`SetSocketOption`]
//!   (`+USOSO`).
//!
//! Incoming data is announced by `+UUSORD: <s>,<n>` and a socket the module
//! closed by `+UUSOCL: <s>` ([`Urc::SocketData`], [`Urc::SocketClosed`]).
//! Read payloads are quoted binary of an announced length: the codec reads
//! them by that length (never up to the next quote), so they may hold quotes,
//! CR, LF, `OK` or NUL.
//!
//! [`Urc::SocketData`]: crate::modem::at::Urc::SocketData
//! [`Urc::SocketClosed`]: crate::modem::at::Urc::SocketClosed

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::modem::at::codec::{Counted, PayloadSpec};
use crate::modem::at::command::ok_command;
use crate::modem::at::{AtCommand, Fields, Line, ParseError, Prompt, Response};

/// A socket identifier as the module numbers them (0..=6 on the LEXI-R10).
pub type SocketId = u8;

/// The transport protocol of a socket, `<protocol>` of `+USOCR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// 6
    Tcp,
    /// 17
    Udp,
}

impl Protocol {
    pub const fn code(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    pub fn from_code(code: i64) -> Option<Protocol> {
        match code {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

/// What `+USOCR` answered about a socket it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub id: SocketId,
    /// Whether the module made it always-on; `None` when the answer did not
    /// say (created without report_AoN, §5.10.1's `+USOCR: 2`).
    pub aon: Option<bool>,
    /// The local port the answer echoed (§5.6's `+USOCR: 0,12000`).
    pub local_port: Option<u16>,
}

/// `AT+USOCR=<protocol>[,<local_port>[,,<report_AoN>]]`: creates a socket
/// (§5.1, §5.6, §5.10.1).
///
/// §5.1 gives the syntax as `<protocol>[,<local_port>[,<IP_type>[,<cid>]]]`,
/// yet §5.10.1 writes report_AoN as `AT+USOCR=6,,,1`, the fourth position.
/// The note's command table is the ground truth for the wire, so report_AoN
/// goes fourth and IP type / cid are never sent (context 1, the default
/// mapping). Answers: `+USOCR: <id>` (§5.1), `+USOCR: <id>,<local port>`
/// (§5.6), `+USOCR: <id>,<protocol>,<aon>` with report_AoN (§5.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateSocket {
    pub protocol: Protocol,
    pub local_port: Option<u16>,
    pub report_aon: bool,
}

impl AtCommand for CreateSocket {
    type Response = Created;
    fn text(&self) -> String {
        let mut text = format!("AT+USOCR={}", self.protocol.code());
        if self.local_port.is_some() || self.report_aon {
            text.push(',');
            if let Some(port) = self.local_port {
                text.push_str(&port.to_string());
            }
        }
        if self.report_aon {
            text.push_str(",,1");
        }
        text
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOCR")
    }
    fn parse(&self, r: &Response) -> Result<Created, ParseError> {
        let line = r.line("+USOCR")?;
        let f = Fields::parse(line, "+USOCR")?;
        let id = f.int_as(0)?;
        match f.len() {
            1 => Ok(Created {
                id,
                aon: None,
                local_port: None,
            }),
            2 => Ok(Created {
                id,
                aon: None,
                local_port: Some(f.int_as(1)?),
            }),
            3 => {
                let (protocol, aon) = protocol_and_aon(&f, line, 1)?;
                if protocol != self.protocol {
                    return Err(ParseError::new(
                        line,
                        format!("a {protocol} socket, but {} was asked for", self.protocol),
                    ));
                }
                Ok(Created {
                    id,
                    aon: Some(aon),
                    local_port: None,
                })
            }
            n => Err(ParseError::new(
                line,
                format!("{n} fields, expected 1 to 3"),
            )),
        }
    }
}

fn protocol_and_aon(
    f: &Fields<'_>,
    line: &Line,
    at: usize,
) -> Result<(Protocol, bool), ParseError> {
    let code = f.int(at)?;
    let protocol = Protocol::from_code(code)
        .ok_or_else(|| ParseError::new(line, format!("unknown protocol {code}")))?;
    let aon = match f.int(at + 1)? {
        0 => false,
        1 => true,
        v => {
            return Err(ParseError::new(
                line,
                format!("AoN flag {v}, expected 0 or 1"),
            ))
        }
    };
    Ok((protocol, aon))
}

/// One open socket as `AT+USOCR?` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    pub id: SocketId,
    pub protocol: Protocol,
    pub aon: bool,
}

/// `AT+USOCR?`: every open socket with its protocol and AoN state (§5.10,
/// §5.10.1): one `+USOCR: <id>,<protocol>,<aon>` line each, none when no
/// socket is open.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListSockets;

impl AtCommand for ListSockets {
    type Response = Vec<SocketInfo>;
    fn text(&self) -> String {
        "AT+USOCR?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOCR")
    }
    fn parse(&self, r: &Response) -> Result<Vec<SocketInfo>, ParseError> {
        r.lines_with("+USOCR")
            .map(|line| {
                let f = Fields::parse(line, "+USOCR")?;
                let (protocol, aon) = protocol_and_aon(&f, line, 1)?;
                Ok(SocketInfo {
                    id: f.int_as(0)?,
                    protocol,
                    aon,
                })
            })
            .collect()
    }
}

/// `AT+USOCO=<s>,"<ip>",<port>`: connects a socket to a remote host (§5.1).
///
/// `OK` completes the operation here: the note's §5.1 table says the socket
/// "is now ready for read/write operations" at `OK`, and a failed connect
/// answers `ERROR` followed by `+UUSOCL: <s>` (the module closed the socket).
/// UDP sockets should not be connected: `+USOST`/`+USORF` need no connect
/// (§5 introduction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect {
    pub socket: SocketId,
    pub ip: IpAddr,
    pub port: u16,
}

/// A TCP connect waits for the SYN's answer, which over a congested or
/// waking LTE link takes several retransmissions. Our choice: past two
/// minutes the server is not there.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

ok_command!(
    Connect,
    |c| format!("AT+USOCO={},\"{}\",{}", c.socket, c.ip, c.port),
    prefix = "+USOCO",
    timeout = |_| Some(CONNECT_TIMEOUT)
);

/// `AT+USOWR=<s>,<len>`, `@`, then exactly `len` bytes: binary write on a
/// connected socket (§5.3.1). Answers `+USOWR: <s>,<sent>`; `sent` 0 means
/// the peer closed the connection (§5.4 scenario 4). `OK` only says the bytes
/// reached the module's stack, not the peer. A full TX queue (7 kB, secure
/// 1 kB) answers `ERROR` (§5.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBinary {
    pub socket: SocketId,
    pub data: Vec<u8>,
}

impl AtCommand for WriteBinary {
    type Response = usize;
    fn text(&self) -> String {
        format!("AT+USOWR={},{}", self.socket, self.data.len())
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOWR")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::At, &self.data))
    }
    fn parse(&self, r: &Response) -> Result<usize, ParseError> {
        sent_count(r, "+USOWR", self.socket)
    }
}

/// `AT+USOST=<s>,"<ip>",<port>,<len>`, `@`, then exactly `len` bytes: one
/// UDP datagram to a remote host (§5.6). Answers `+USOST: <s>,<sent>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTo {
    pub socket: SocketId,
    pub ip: IpAddr,
    pub port: u16,
    pub data: Vec<u8>,
}

impl AtCommand for SendTo {
    type Response = usize;
    fn text(&self) -> String {
        format!(
            "AT+USOST={},\"{}\",{},{}",
            self.socket,
            self.ip,
            self.port,
            self.data.len()
        )
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOST")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::At, &self.data))
    }
    fn parse(&self, r: &Response) -> Result<usize, ParseError> {
        sent_count(r, "+USOST", self.socket)
    }
}

fn sent_count(r: &Response, prefix: &str, socket: SocketId) -> Result<usize, ParseError> {
    let line = r.line(prefix)?;
    let f = Fields::parse(line, prefix)?;
    check_socket(&f, line, socket)?;
    f.int_as(1)
}

fn check_socket(f: &Fields<'_>, line: &Line, socket: SocketId) -> Result<(), ParseError> {
    let id: SocketId = f.int_as(0)?;
    if id != socket {
        return Err(ParseError::new(
            line,
            format!("answer for socket {id}, asked about {socket}"),
        ));
    }
    Ok(())
}

/// `AT+USORD=<s>,<len>` with `len` >= 1: reads up to `len` bytes of a
/// connected socket (§5.4): `+USORD: <s>,<n>,"<n bytes>"`. The module then
/// announces what is left with a new `+UUSORD` (§5.4 scenario 2). Use
/// [`UnreadCount`] for `len` 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub socket: SocketId,
    pub max_len: usize,
}

impl AtCommand for Read {
    type Response = Vec<u8>;
    fn text(&self) -> String {
        format!("AT+USORD={},{}", self.socket, self.max_len)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USORD")
    }
    fn payload(&self) -> Option<PayloadSpec> {
        Some(PayloadSpec {
            prefix: Cow::Borrowed(b"+USORD:"),
            counted: vec![Counted {
                length_field: 1,
                hex: false,
            }],
        })
    }
    fn parse(&self, r: &Response) -> Result<Vec<u8>, ParseError> {
        let line = r.line("+USORD")?;
        let f = Fields::parse(line, "+USORD")?;
        check_socket(&f, line, self.socket)?;
        let announced: usize = f.int_as(1)?;
        if announced == 0 && f.len() == 2 {
            return Ok(Vec::new());
        }
        let data = counted_payload(&f, line, 2, announced)?;
        if data.len() > self.max_len {
            return Err(ParseError::new(
                line,
                format!("{} bytes, at most {} asked for", data.len(), self.max_len),
            ));
        }
        Ok(data)
    }
}

/// A counted payload that the codec measured; a line whose payload was not
/// where its length said (the codec then hands a plain line) is refused
/// rather than guessed at.
fn counted_payload(
    f: &Fields<'_>,
    line: &Line,
    index: usize,
    announced: usize,
) -> Result<Vec<u8>, ParseError> {
    let data = f.bytes(index)?;
    if data.len() != announced || f.len() != index + 1 {
        return Err(ParseError::new(
            line,
            format!("payload is not the {announced} bytes announced"),
        ));
    }
    Ok(data.to_vec())
}

/// `AT+USORD=<s>,0`: how many bytes wait unread on a socket (§5.4 scenario
/// 3, last row): `+USORD: <s>,<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadCount {
    pub socket: SocketId,
}

impl AtCommand for UnreadCount {
    type Response = usize;
    fn text(&self) -> String {
        format!("AT+USORD={},0", self.socket)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USORD")
    }
    fn parse(&self, r: &Response) -> Result<usize, ParseError> {
        let line = r.line("+USORD")?;
        let f = Fields::parse(line, "+USORD")?;
        check_socket(&f, line, self.socket)?;
        f.int_as(1)
    }
}

/// A UDP datagram (or the part of one) read with [`ReceiveFrom`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub remote_ip: IpAddr,
    pub remote_port: u16,
    pub data: Vec<u8>,
}

/// `AT+USORF=<s>,<len>`: reads up to `len` bytes of the next UDP datagram
/// (§5.7): `+USORF: <s>,"<ip>",<port>,<n>,"<n bytes>"`. A datagram longer
/// than `len` is read in parts; `+UUSORD` then tells what is left of it.
///
/// The note's §5.7 rows `+USORF: 0,"195.34.89.241",7,2,"1234567890"` announce
/// 2 bytes and quote 10: a typo of the table (the text says 10 bytes were
/// read). The announced length is what the module's framing is built on, so
/// such a line is refused, never re-read up to a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveFrom {
    pub socket: SocketId,
    pub max_len: usize,
}

impl AtCommand for ReceiveFrom {
    type Response = Datagram;
    fn text(&self) -> String {
        format!("AT+USORF={},{}", self.socket, self.max_len)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USORF")
    }
    fn payload(&self) -> Option<PayloadSpec> {
        Some(PayloadSpec {
            prefix: Cow::Borrowed(b"+USORF:"),
            counted: vec![Counted {
                length_field: 3,
                hex: false,
            }],
        })
    }
    fn parse(&self, r: &Response) -> Result<Datagram, ParseError> {
        let line = r.line("+USORF")?;
        let f = Fields::parse(line, "+USORF")?;
        check_socket(&f, line, self.socket)?;
        let remote_ip = f
            .str(1)?
            .parse()
            .map_err(|_| ParseError::new(line, "field 1 is not an IP address"))?;
        let announced: usize = f.int_as(3)?;
        let data = counted_payload(&f, line, 4, announced)?;
        if data.len() > self.max_len {
            return Err(ParseError::new(
                line,
                format!("{} bytes, at most {} asked for", data.len(), self.max_len),
            ));
        }
        Ok(Datagram {
            remote_ip,
            remote_port: f.int_as(2)?,
            data,
        })
    }
}

/// `<param_id>` of `+USOCTL` (§5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlParam {
    /// 0: the socket's protocol (6 TCP, 17 UDP).
    Type,
    /// 1: the last socket error, 0 for none.
    LastError,
    /// 10: the TCP state (4 established, 7 closing; §5.3.3, §5.8).
    TcpState,
    /// 11: TCP bytes sent but not yet acknowledged by the peer.
    UnackedBytes,
}

impl ControlParam {
    pub const fn code(self) -> u8 {
        match self {
            ControlParam::Type => 0,
            ControlParam::LastError => 1,
            ControlParam::TcpState => 10,
            ControlParam::UnackedBytes => 11,
        }
    }
}

/// `<state>` value of `AT+USOCTL=<s>,10` for an established connection (§5.8).
pub const TCP_ESTABLISHED: i64 = 4;

/// `AT+USOCTL=<s>,<param>`: queries a socket (§5.8): `+USOCTL: <s>,<param>,<value>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketControl {
    pub socket: SocketId,
    pub param: ControlParam,
}

impl AtCommand for SocketControl {
    type Response = i64;
    fn text(&self) -> String {
        format!("AT+USOCTL={},{}", self.socket, self.param.code())
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOCTL")
    }
    fn parse(&self, r: &Response) -> Result<i64, ParseError> {
        let line = r.line("+USOCTL")?;
        let f = Fields::parse(line, "+USOCTL")?;
        check_socket(&f, line, self.socket)?;
        let param = f.int(1)?;
        if param != i64::from(self.param.code()) {
            return Err(ParseError::new(
                line,
                format!("answer for parameter {param}, asked {}", self.param.code()),
            ));
        }
        f.int(2)
    }
}

/// `AT+USOSO=<s>,<level>,<option>,<value>`: sets a socket option (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetSocketOption {
    pub socket: SocketId,
    pub level: u16,
    pub option: u16,
    pub value: u32,
}

impl SetSocketOption {
    /// `<s>,65535,8,<0|1>`: the socket-level keep-alive option (§5.5).
    pub fn keepalive(socket: SocketId, on: bool) -> SetSocketOption {
        SetSocketOption {
            socket,
            level: 65535,
            option: 8,
            value: u32::from(on),
        }
    }

    /// `<s>,6,2,<ms>`: TCP keep-idle, the inactivity after which the module
    /// sends keep-alive packets (§5.5).
    pub fn keepalive_idle(socket: SocketId, idle: Duration) -> SetSocketOption {
        SetSocketOption {
            socket,
            level: 6,
            option: 2,
            value: u32::try_from(idle.as_millis()).unwrap_or(u32::MAX),
        }
    }
}

ok_command!(SetSocketOption, |c| {
    format!("AT+USOSO={},{},{},{}", c.socket, c.level, c.option, c.value)
});

/// `AT+USOCL=<s>`: closes a socket and clears its buffer (§5.9 "By the
/// module"). No `+UUSOCL` follows a close the host asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub socket: SocketId,
}

ok_command!(Close, |c| format!("AT+USOCL={}", c.socket));

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
