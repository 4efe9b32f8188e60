//! The doorbell: an always-on socket a server rings to wake the agent.
//!
//! With `[doorbell]` enabled the agent opens one AoN socket (UDP by default)
//! to the configured server after boot and sends a hello (the device id), so
//! the server learns the address and port the network gave the gateway. The
//! module keeps an AoN socket through Sleep-2 and Hibernate (§5.10); a
//! datagram from the server wakes it (`+UUSLPURC: HIB 0`, then
//! `+UUSORD: <s>,<n>`, §5.10.2), and the agent reads it (`+USORF` for UDP,
//! `+USORD` for TCP) and acts on it:
//! - `upload`: open an upload window now;
//! - `session`: open an MQTT session to take downlink commands.
//!
//! The bytes come from the network, so nothing in them is trusted: one
//! command per line, at most [`MAX_LINES`] lines of at most [`MAX_MESSAGE`]
//! bytes, UTF-8 read lossily, datagrams from any other sender ignored, and
//! anything unknown logged and dropped.
//!
//! The parts: [`parse_message`] (pure), [`LineBuffer`] (pure, TCP's byte
//! stream into lines), and [`Doorbell`], the small task API the daemon
//! drives: [`Doorbell::open`], [`Doorbell::on_urc`], [`Doorbell::read`].

use std::net::IpAddr;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::modem::at::{AtError, Urc};
use crate::modem::socket::{Protocol, SetSocketOption, SocketId};
use crate::modem::socket::{Role, SocketManager};

/// The longest line (command) looked at; a longer one is not a command.
pub const MAX_MESSAGE: usize = 128;
/// The most lines of one message acted on; the rest are dropped.
pub const MAX_LINES: usize = 8;
/// The most bytes asked for in one read. u-blox's host library reads
/// sockets in segments of at most 1024 bytes `[lib]`.
pub const READ_CHUNK: usize = 1024;

/// What a ring asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorbellCommand {
    /// Open an upload window now.
    Upload,
    /// Open an MQTT session to take downlink commands.
    Session,
}

/// The commands in one message (a datagram, or complete lines of the TCP
/// stream): one per line, blanks and CR around it ignored, case-insensitive,
/// each at most once, in order of first appearance.
pub fn parse_message(bytes: &[u8]) -> Vec<DoorbellCommand> {
    let mut commands = Vec::new();
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty());
    for (i, line) in lines.enumerate() {
        if i == MAX_LINES {
            warn!("doorbell message has more than {MAX_LINES} lines; the rest is ignored");
            break;
        }
        let line = line.trim_ascii();
        let command = if line.len() > MAX_MESSAGE {
            None
        } else if line.eq_ignore_ascii_case(b"upload") {
            Some(DoorbellCommand::Upload)
        } else if line.eq_ignore_ascii_case(b"session") {
            Some(DoorbellCommand::Session)
        } else {
            None
        };
        match command {
            Some(c) if !commands.contains(&c) => commands.push(c),
            Some(_) => {}
            None => {
                let shown: String = String::from_utf8_lossy(&line[..line.len().min(32)]).into();
                warn!(line = ?shown, bytes = line.len(), "ignoring an unknown doorbell command");
            }
        }
    }
    commands
}

/// TCP delivers a byte stream: this cuts it into lines, keeping at most
/// [`MAX_MESSAGE`] bytes of an unfinished one. A line that grows past that
/// is dropped up to its end, so a server (or an attacker) cannot make the
/// agent hold unbounded bytes or read a command out of the tail of garbage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineBuffer {
    partial: Vec<u8>,
    overflowed: bool,
}

impl LineBuffer {
    /// Adds bytes; returns the complete lines, each with its `\n`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut complete = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                if self.overflowed {
                    warn!("dropping a doorbell line longer than {MAX_MESSAGE} bytes");
                } else {
                    complete.extend_from_slice(&self.partial);
                    complete.push(b'\n');
                }
                self.partial.clear();
                self.overflowed = false;
            } else if self.partial.len() < MAX_MESSAGE {
                self.partial.push(b);
            } else {
                self.overflowed = true;
            }
        }
        complete
    }
}

/// A read the doorbell wants, from a `+UUSORD` on its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    pub socket: SocketId,
    pub pending: usize,
}

/// Why the doorbell could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DoorbellError {
    #[error("the doorbell is not enabled, or has no server or port ([doorbell] in the config)")]
    NotConfigured,
    /// Another socket of the protocol already holds the AoN slot (§5.10): a
    /// doorbell that is not AoN cannot wake the agent and would keep the
    /// module out of deep sleep, so it was closed again. Open the doorbell
    /// before any other socket of its protocol.
    #[error("the module did not make doorbell socket {socket} always-on; closed it")]
    NotAlwaysOn { socket: SocketId },
    #[error("the server took {sent} of the {len} hello bytes")]
    ShortHello { sent: usize, len: usize },
    #[error(transparent)]
    At(#[from] AtError),
}

/// The open doorbell. Feed it every URC ([`Doorbell::on_urc`]); when it asks
/// for a read, call [`Doorbell::read`].
#[derive(Debug)]
pub struct Doorbell {
    socket: SocketId,
    protocol: Protocol,
    server: IpAddr,
    port: u16,
    open: bool,
    /// UDP: the last read filled the whole chunk, so what follows is the
    /// rest of an oversized datagram, to be dropped, not parsed.
    draining: bool,
    lines: LineBuffer,
}

/// Where the doorbell rings and what it says (`[doorbell]`; `config`
/// builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorbellSettings {
    pub protocol: Protocol,
    /// The server the hello goes to (and, for UDP, whose answers ring).
    pub server: IpAddr,
    pub port: u16,
    /// TCP keep-alive idle time; `None` leaves the module's default.
    pub keepalive: Option<Duration>,
    /// The hello, with the device id filled in.
    pub hello: Vec<u8>,
}

impl Doorbell {
    /// Opens the doorbell socket (report_AoN), sends the hello (`+USOST` for
    /// UDP; `+USOCO`, keep-alive options, `+USOWR` for TCP). The socket is
    /// [`Role::Kept`]: `close_owned` leaves it open.
    pub async fn open(
        sockets: &mut SocketManager,
        settings: &DoorbellSettings,
    ) -> Result<Doorbell, DoorbellError> {
        let (protocol, server, port) = (settings.protocol, settings.server, settings.port);
        let socket = sockets.open(protocol, None, Role::Kept).await?;
        let aon = sockets.table().get(socket).is_some_and(|s| s.aon);
        if !aon {
            // Best effort: the error that matters is the one returned.
            if let Err(e) = sockets.close(socket).await {
                warn!(socket, error = %e, "could not close the doorbell socket that is not AoN");
            }
            return Err(DoorbellError::NotAlwaysOn { socket });
        }
        let hello = &settings.hello;
        let sent = match protocol {
            Protocol::Udp => sockets.send_to(socket, server, port, hello).await,
            Protocol::Tcp => {
                let setup = async {
                    sockets.connect(socket, server, port).await?;
                    if let Some(idle) = settings.keepalive {
                        sockets
                            .set_option(SetSocketOption::keepalive(socket, true))
                            .await?;
                        sockets
                            .set_option(SetSocketOption::keepalive_idle(socket, idle))
                            .await?;
                    }
                    sockets.write(socket, hello).await
                };
                setup.await
            }
        };
        let sent = match sent {
            Ok(n) => n,
            Err(e) => {
                if sockets.table().get(socket).is_some() {
                    if let Err(close) = sockets.close(socket).await {
                        warn!(socket, error = %close, "could not close the failed doorbell");
                    }
                }
                return Err(e.into());
            }
        };
        if sent != hello.len() {
            if let Err(close) = sockets.close(socket).await {
                warn!(socket, error = %close, "could not close the failed doorbell");
            }
            return Err(DoorbellError::ShortHello {
                sent,
                len: hello.len(),
            });
        }
        info!(socket, %protocol, %server, port, "doorbell open");
        Ok(Doorbell {
            socket,
            protocol,
            server,
            port,
            open: true,
            draining: false,
            lines: LineBuffer::default(),
        })
    }

    pub fn socket(&self) -> SocketId {
        self.socket
    }

    /// False once the module reported the socket closed: open it again
    /// (likewise after a reboot, see [`Doorbell::lost`]).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The module lost its volatile state (reboot): the socket is gone.
    pub fn lost(&mut self) {
        self.open = false;
    }

    /// Looks at a URC: data on the doorbell asks for a read; the doorbell
    /// closed by the module marks it for reopening.
    pub fn on_urc(&mut self, urc: &Urc) -> Option<ReadRequest> {
        match *urc {
            Urc::SocketData { socket, pending } if socket == self.socket && self.open => {
                (pending > 0).then_some(ReadRequest { socket, pending })
            }
            Urc::SocketClosed { socket } if socket == self.socket => {
                warn!(
                    socket,
                    "the module closed the doorbell; it must be opened again"
                );
                self.open = false;
                None
            }
            _ => None,
        }
    }

    /// Reads what the server sent and returns the commands in it.
    pub async fn read(
        &mut self,
        sockets: &mut SocketManager,
        request: ReadRequest,
    ) -> Result<Vec<DoorbellCommand>, AtError> {
        match self.protocol {
            Protocol::Udp => {
                let d = sockets.receive_from(self.socket, READ_CHUNK).await?;
                let was_draining = self.draining;
                self.draining = d.data.len() == READ_CHUNK;
                if was_draining {
                    debug!(
                        bytes = d.data.len(),
                        "dropping the rest of an oversized datagram"
                    );
                    return Ok(Vec::new());
                }
                if d.remote_ip != self.server || d.remote_port != self.port {
                    warn!(
                        from = %d.remote_ip,
                        port = d.remote_port,
                        "ignoring a datagram on the doorbell from another sender"
                    );
                    return Ok(Vec::new());
                }
                if d.data.len() > MAX_MESSAGE * MAX_LINES {
                    warn!(
                        bytes = d.data.len(),
                        "ignoring an oversized doorbell datagram"
                    );
                    return Ok(Vec::new());
                }
                Ok(parse_message(&d.data))
            }
            Protocol::Tcp => {
                let want = request.pending.clamp(1, READ_CHUNK);
                let data = sockets.read(self.socket, want).await?;
                Ok(parse_message(&self.lines.push(&data)))
            }
        }
    }
}

#[cfg(test)]
#[path = "doorbell_tests.rs"]
mod tests;
