//! One socket of the module's internal TCP/IP stack (§5) as a job: a real
//! tokio `UdpSocket` bound on 127.0.0.1 or a real `TcpStream`.
//!
//! The task owns the OS socket for its whole life. It reports what the
//! network does ([`SocketEvent`]) and takes the module's writes
//! ([`SocketCommand`]) through the runner, like an MQTT session does. The
//! module keeps the RX buffer (what `+USORD`/`+USORF` read); this side only
//! forwards bytes as they come.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::{JobEvent, JobId};

/// `[model]` the largest datagram or TCP read forwarded in one event.
const READ_CHUNK: usize = 65_536;
/// `[model]` a connect that has not completed by then fails (real time,
/// not scaled: an address that drops SYNs would otherwise block the
/// simulated AT interface for the OS's minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What kind of OS socket to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketJob {
    /// A UDP socket on 127.0.0.1:`local_port` (0: any free port).
    /// `[model]` loopback only: the simulated network is this host.
    Udp { local_port: u16 },
    /// A TCP connection to `remote` (`+USOCO`).
    Tcp { remote: SocketAddr },
}

/// What the module asks of an open socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketCommand {
    /// TCP: write these bytes.
    Send(Vec<u8>),
    /// UDP: one datagram to this address.
    SendTo(SocketAddr, Vec<u8>),
    /// Close and end the job (`+USOCL`).
    Close,
}

/// What a socket job reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// UDP bound (the port actually used).
    Bound(u16),
    /// TCP connected.
    Connected,
    /// The bind or the connect failed; the job is over.
    Failed,
    /// Bytes from the network (one datagram for UDP).
    Received { from: SocketAddr, data: Vec<u8> },
    /// This many bytes of one command went to the OS (`0`: it could not).
    Sent(usize),
    /// TCP: the peer closed (or reset) the connection; the job is over.
    PeerClosed,
}

/// Runs one socket until `Close`, failure, peer close or cancellation.
pub async fn run(
    id: JobId,
    job: SocketJob,
    events: mpsc::UnboundedSender<(JobId, JobEvent)>,
    commands: mpsc::UnboundedReceiver<SocketCommand>,
) {
    let report = |event: SocketEvent| events.send((id, JobEvent::Socket(event))).is_ok();
    match job {
        SocketJob::Udp { local_port } => udp(local_port, report, commands).await,
        SocketJob::Tcp { remote } => tcp(remote, report, commands).await,
    }
}

async fn udp(
    local_port: u16,
    report: impl Fn(SocketEvent) -> bool,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
) {
    let socket = match UdpSocket::bind((Ipv4Addr::LOCALHOST, local_port)).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::debug!(error = %e, local_port, "UDP bind failed");
            report(SocketEvent::Failed);
            return;
        }
    };
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(local_port);
    if !report(SocketEvent::Bound(port)) {
        return;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) => {
                    let data = buf[..n].to_vec();
                    if !report(SocketEvent::Received { from, data }) {
                        return;
                    }
                }
                // ICMP port unreachable from an earlier send shows up here on
                // Linux; a UDP socket lives on regardless.
                Err(e) => tracing::debug!(error = %e, "UDP receive error"),
            },
            command = commands.recv() => match command {
                Some(SocketCommand::SendTo(to, data)) => {
                    let sent = socket.send_to(&data, to).await.unwrap_or(0);
                    if !report(SocketEvent::Sent(sent)) {
                        return;
                    }
                }
                // [model] a TCP-style write on UDP sends nothing.
                Some(SocketCommand::Send(_)) => {
                    if !report(SocketEvent::Sent(0)) {
                        return;
                    }
                }
                Some(SocketCommand::Close) | None => return,
            },
        }
    }
}

async fn tcp(
    remote: SocketAddr,
    report: impl Fn(SocketEvent) -> bool,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
) {
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(remote)).await;
    let mut stream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, %remote, "TCP connect failed");
            report(SocketEvent::Failed);
            return;
        }
        Err(_) => {
            tracing::debug!(%remote, "TCP connect timed out");
            report(SocketEvent::Failed);
            return;
        }
    };
    if !report(SocketEvent::Connected) {
        return;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    report(SocketEvent::PeerClosed);
                    return;
                }
                Ok(n) => {
                    let data = buf[..n].to_vec();
                    if !report(SocketEvent::Received { from: remote, data }) {
                        return;
                    }
                }
            },
            command = commands.recv() => match command {
                Some(SocketCommand::Send(data)) => {
                    let sent = match stream.write_all(&data).await {
                        Ok(()) => data.len(),
                        Err(_) => 0,
                    };
                    if !report(SocketEvent::Sent(sent)) {
                        return;
                    }
                }
                Some(SocketCommand::SendTo(_, _)) => {
                    if !report(SocketEvent::Sent(0)) {
                        return;
                    }
                }
                Some(SocketCommand::Close) | None => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
        }
    }
}
