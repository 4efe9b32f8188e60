//! Sockets of the internal TCP/IP stack (§5): `+USOCR`, `+USOCO`, `+USOWR`,
//! `+USOST`, `+USORD`, `+USORF`, `+USOCTL`, `+USOSO`, `+USOSEC`, `+USOLI`,
//! `+USOER`, `+USOCL`, the URCs `+UUSORD` and `+UUSOCL`, and the always-on
//! (AoN) rules of §5.10 with the sleep limit they impose.
//!
//! The module keeps each socket's state and its RX buffer; the OS socket is a
//! job (`crate::jobs::socket`, real tokio sockets on loopback) that forwards
//! what arrives and writes what the module hands it.
//!
//! Wire formats (the note's, without its typesetting spaces):
//! - `+USOCR=<proto>[,<local port>[,<IP type>[,<report_AoN>[,<cid>]]]]`.
//!   §5.1 names the 4th parameter `<cid>`, but §5.10.1 writes
//!   `AT+USOCR=6,,,1` and gets `+USOCR: 0,6,1`: the 4th is `report_AoN`.
//!   `[model]` a cid, if any, is the 5th and only 1 is accepted; IP type
//!   omitted or 0 (IPv4). Answer `+USOCR: <id>,<proto>,<aon>` with
//!   report_AoN=1, else `+USOCR: <id>,<local port>` when a local port was
//!   given (§5.6 verbatim), else `+USOCR: <id>` (§5.1).
//! - `+USORD: <s>,<n>,"<n raw bytes>"`, `+USORF: <s>,"<ip>",<port>,<n>,"<n raw
//!   bytes>"`: the bytes go out as they are (quotes, CR LF, NUL); the host
//!   reads by length. `+USORD=<s>,0` answers `+USORD: <s>,<unread>` (§5.4).
//! - `+UUSORD: <s>,<n>` when data lands in an empty buffer (`<n>`: that
//!   packet's length), and after every read that leaves data (TCP: all
//!   unread bytes; UDP: the rest of a partly read datagram, else all unread
//!   bytes) (§5.4, §5.7). `+UUSOCL: <s>` when the peer closed and the buffer
//!   is empty (§5.9), never after `+USOCL`.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::sleep::SleepLimit;
use super::{bad_param, unsupported, Effect, Module};
use crate::at::parse::{Form, Params};
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::{Job, JobId, SocketCommand, SocketEvent, SocketJob};

/// At most 6 sockets, at most 2 of them secure (§5.11).
pub(super) const MAX_SOCKETS: usize = 6;
const MAX_SECURE: usize = 2;
/// `[model]` the largest `+USOWR`/`+USOST` length and `+USORD`/`+USORF` read
/// (the u-blox AT manual's binary limit for these commands).
const MAX_IO: usize = 1024;
/// The RX queue: "6 kB in reading download" (§5.3.3). `[model]` bytes that
/// do not fit are dropped (real TCP would push back on the sender).
const RX_CAPACITY: usize = 6 * 1024;
/// `[model]` errno-style codes for `+USOCTL=<s>,1` and `+USOER`.
const ERR_CONNECTION_REFUSED: u16 = 111;
const ERR_NOT_CONNECTED: u16 = 107;
/// `+USOCTL=<s>,10` TCP states (u-blox AT manual numbering; §5.8 shows 4
/// ESTABLISHED and 7 for a closing connection).
const TCP_CLOSED: u8 = 0;
const TCP_LISTEN: u8 = 1;
const TCP_SYN_SENT: u8 = 2;
const TCP_ESTABLISHED: u8 = 4;
const TCP_CLOSE_WAIT: u8 = 7;
/// `[model]` radio bytes of one packet besides its payload, for the energy
/// ledger: IPv4 (20) + UDP (8) headers; IPv4 + TCP (20) headers, also the
/// size of a bare segment (handshake, ACK, FIN).
const UDP_OVERHEAD: u64 = 28;
const TCP_SEGMENT: u64 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn overhead(self) -> u64 {
        match self {
            Proto::Tcp => TCP_SEGMENT,
            Proto::Udp => UDP_OVERHEAD,
        }
    }

    fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Created, not connected (TCP) or bound (UDP; bound in the background).
    Idle,
    /// `+USOCO` waits for the connect job.
    Connecting,
    Connected,
    /// The peer closed; unread data may still be buffered.
    PeerClosed,
}

/// One datagram (UDP) or one chunk of the stream (TCP) not yet read.
#[derive(Debug)]
struct Packet {
    from: SocketAddr,
    data: Vec<u8>,
    /// How much of `data` was read already.
    read: usize,
}

impl Packet {
    fn left(&self) -> usize {
        self.data.len() - self.read
    }
}

#[derive(Debug)]
struct Socket {
    proto: Proto,
    aon: bool,
    /// This socket took its protocol's AoN slot when created: the next
    /// socket of that protocol is AoN only once this one is closed.
    /// `[model]` a socket that lost AoN (secure, listening) keeps the slot.
    holds_aon_slot: bool,
    secure: bool,
    /// `+USOLI` port. `[model]` stored only: nothing listens for real.
    listening: Option<u16>,
    local_port: Option<u16>,
    link: Link,
    /// The OS socket (UDP from creation, TCP from `+USOCO`).
    job: Option<JobId>,
    rx: VecDeque<Packet>,
    /// Lengths of the writes handed to the job and not yet reported.
    in_flight: VecDeque<usize>,
    last_error: u16,
    /// `+USOSO` (level, option) -> value. `[model]` stored, no effect.
    options: BTreeMap<(i64, i64), i64>,
    sent: u64,
    received: u64,
}

impl Socket {
    fn unread(&self) -> usize {
        self.rx.iter().map(Packet::left).sum()
    }

    /// `[model]` unacknowledged bytes (`+USOCTL=<s>,11`): written by the
    /// host, not yet taken by the OS socket.
    fn unacked(&self) -> usize {
        self.in_flight.iter().sum()
    }
}

/// A binary `+USOWR`/`+USOST` reading its bytes after the `@` prompt.
#[derive(Debug)]
struct RawWrite {
    socket: usize,
    /// UDP destination (`+USOST`); `None` for `+USOWR`.
    to: Option<SocketAddr>,
    want: usize,
    buf: Vec<u8>,
}

/// One socket as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSnapshot {
    pub id: u8,
    pub proto: Proto,
    pub aon: bool,
    pub secure: bool,
    pub listening: bool,
    /// The local port (UDP: once bound, the port the OS gave).
    pub local_port: Option<u16>,
    /// Bytes written to the network / received from it (for the energy
    /// ledger until it counts radio bytes itself).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Bytes in the RX buffer.
    pub unread: usize,
}

/// The socket chapter's volatile state.
#[derive(Debug, Default)]
pub(super) struct Sockets {
    slots: [Option<Socket>; MAX_SOCKETS],
    raw: Option<RawWrite>,
    /// `+USOCO` whose final result waits for its job (the AT interface is
    /// blocked meanwhile).
    connecting: Option<(usize, JobId)>,
    /// `+USOER`.
    last_error: u16,
}

impl Module {
    /// How deep the open sockets let the module sleep (§5.10): a connect or
    /// a write still in progress keeps it awake; any non-AoN socket (secure
    /// and listening ones included) or an AoN socket with unread data allows
    /// Sleep-1 at most.
    pub(super) fn socket_sleep_limit(&self) -> SleepLimit {
        let s = &self.sockets;
        let open = || s.slots.iter().flatten();
        if s.connecting.is_some() || s.raw.is_some() || open().any(|k| !k.in_flight.is_empty()) {
            return SleepLimit::Awake;
        }
        if open().any(|k| !k.aon || !k.rx.is_empty()) {
            return SleepLimit::Sleep1;
        }
        SleepLimit::Deep
    }

    pub(super) fn socket_snapshot(&self) -> Vec<SocketSnapshot> {
        let mut out = Vec::new();
        for (id, socket) in self.sockets.slots.iter().enumerate() {
            if let Some(k) = socket {
                out.push(SocketSnapshot {
                    id: id as u8,
                    proto: k.proto,
                    aon: k.aon,
                    secure: k.secure,
                    listening: k.listening.is_some(),
                    local_port: k.local_port,
                    bytes_sent: k.sent,
                    bytes_received: k.received,
                    unread: k.unread(),
                });
            }
        }
        out
    }

    /// True while a binary socket write reads its bytes.
    pub(super) fn socket_raw_input(&self) -> bool {
        self.sockets.raw.is_some()
    }

    /// True while `+USOCO` waits for its connect: no final result yet, no
    /// URCs, and `[model]` bytes from the host are dropped (the real
    /// interface is blocked).
    pub(super) fn socket_answer_pending(&self) -> bool {
        self.sockets.connecting.is_some()
    }

    /// Called by `run_line` after a command that opened the `@` prompt.
    pub(super) fn socket_prompt(&mut self, ok: bool) -> bool {
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

    /// Called by `run_line`: true when a `+USOCO` waits for its connect, so
    /// the final result is not sent now. A line that failed after starting
    /// a connect (`AT+USOCO=...;+BAD`) [model] answers now; the connect goes
    /// on silently.
    pub(super) fn socket_defer_answer(&mut self, ok: bool) -> bool {
        if self.sockets.connecting.is_none() {
            return false;
        }
        if !ok {
            self.sockets.connecting = None;
        }
        ok
    }

    /// `+USOCR=...` and `+USOCR?`.
    pub(super) fn usocr(
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

    /// `+USOCO=<s>,"<ip>",<port>`: TCP connect. The final result waits for
    /// the connect (`[model]` as long as the real loopback connect takes);
    /// a failure answers `ERROR` then `+UUSOCL: <s>` and frees the socket
    /// (§5.1).
    pub(super) fn usoco(
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

    /// `+USOWR=<s>,<len>` (binary, §5.3.1) or `+USOWR=<s>,<len>,"<data>"`
    /// (base syntax, §5.3.2) -> `+USOWR: <s>,<sent>`; `<sent>` 0 once the
    /// peer has closed (§5.4 scenario 4).
    pub(super) fn usowr(
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
    pub(super) fn usost(
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

    /// One byte after the `@` prompt; with the last one the write happens and
    /// the answer goes out.
    pub(super) fn socket_raw_byte(&mut self, byte: u8, now: Instant) {
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
    fn socket_send(
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

    /// `+USORD=<s>,<len>` (§5.4).
    pub(super) fn usord(
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
    pub(super) fn usorf(
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

    /// `+USOCTL=<s>,<param>` (§5.8).
    pub(super) fn usoctl(
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

    /// `+USOSO=<s>,<level>,<option>,<value>` (§5.5). `[model]` stored only:
    /// keep-alive packets are not sent.
    pub(super) fn usoso(
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
    pub(super) fn usosec(
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

    /// `+USOLI=<s>,<port>` (§5.2). `[model]` nothing listens for real: the
    /// flag exists so that a listening socket loses AoN (§5.10).
    pub(super) fn usoli(
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

    /// `+USOER` -> `+USOER: <last socket error>` (§5.8).
    pub(super) fn usoer(
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

    /// `+USOCL=<s>`: closed at once, buffer dropped, no URC (§5.9).
    pub(super) fn usocl(
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

    /// A socket job reported.
    pub(super) fn on_socket(&mut self, job: JobId, event: SocketEvent, now: Instant) {
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

    fn socket_received(&mut self, id: usize, from: SocketAddr, data: Vec<u8>, now: Instant) {
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
    fn socket_close_if_drained(&mut self, id: usize) {
        let drained = self.sockets.slots[id]
            .as_ref()
            .is_some_and(|k| k.link == Link::PeerClosed && k.rx.is_empty());
        if drained {
            self.sockets.slots[id] = None;
            self.urc(format!("+UUSOCL: {id}"));
        }
    }

    /// A connect failed: the socket is closed and `+UUSOCL` follows (§5.1).
    fn socket_failed(&mut self, id: usize, error: u16) {
        self.sockets.last_error = error;
        self.free_socket(id);
        self.urc(format!("+UUSOCL: {id}"));
    }

    fn finish_connect(&mut self, job: JobId, result: Result<(), Fail>) {
        if self.sockets.connecting.map(|(_, j)| j) != Some(job) {
            return;
        }
        self.sockets.connecting = None;
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    fn free_socket(&mut self, id: usize) {
        if let Some(socket) = self.sockets.slots[id].take() {
            if let Some(job) = socket.job {
                self.out
                    .push(Effect::SocketCommand(job, SocketCommand::Close));
            }
        }
        if self.sockets.raw.as_ref().is_some_and(|r| r.socket == id) {
            self.sockets.raw = None;
        }
    }

    /// The socket `id`, or CME 3 when it is not open (also recorded for
    /// `+USOER`).
    fn socket_mut(&mut self, id: usize) -> Result<&mut Socket, Fail> {
        match self.sockets.slots[id].as_mut() {
            Some(socket) => Ok(socket),
            None => {
                self.sockets.last_error = ERR_NOT_CONNECTED;
                Err(CmeError::OPERATION_NOT_ALLOWED.into())
            }
        }
    }
}

/// Parameter 0: a socket id 0..=5.
fn socket_id(params: &Params) -> Result<usize, Fail> {
    let id = params.required_int(0).map_err(bad_param)?;
    usize::try_from(id)
        .ok()
        .filter(|id| *id < MAX_SOCKETS)
        .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
}

/// Parameters `i` (`"<ip>"`) and `i + 1` (port). `[model]` literal IP
/// addresses only, no names.
fn address(params: &Params, i: usize) -> Result<SocketAddr, Fail> {
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
fn io_len(params: &Params, i: usize, min: usize) -> Result<usize, Fail> {
    let len = params.required_int(i).map_err(bad_param)?;
    usize::try_from(len)
        .ok()
        .filter(|len| (min..=MAX_IO).contains(len))
        .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
}

/// `\r\n<bytes>\r\n` for a line that carries raw data.
fn framed(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 4);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
    out
}
