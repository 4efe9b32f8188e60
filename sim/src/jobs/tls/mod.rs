//! The module's TLS layer, under its embedded clients: a real OpenSSL
//! client handshake with what a security profile holds (§3), and a bridge
//! that carries the client's plain bytes over it.
//!
//! Why OpenSSL: the session data the module hands out (`AT+USECPRF=<p>,13,3`)
//! must be all that a freshly started simulator needs to resume the session
//! with the real server, so it is `SslSession::to_der`, and taking it back is
//! `SslSession::from_der` + `set_session` before the handshake. rustls cannot
//! export a client session (shared/design/dependencies.md).
//!
//! How it sits under the MQTT client (rumqttc, which speaks plain TCP here):
//! [`open`] connects to the broker and runs the whole handshake first, so a
//! failure is known and classified before any MQTT byte ([`TlsFailure`]);
//! then it listens on `127.0.0.1:0` and returns that port and the
//! [`bridge`] future. rumqttc connects to the port; the bridge accepts that
//! one connection and copies both ways between it and the TLS stream. The
//! session job runs the bridge as a task it aborts when it ends itself, so
//! cancelling the job (a reboot) closes the TLS connection with it; at a
//! logout the job first lets the bridge pass the DISCONNECT on and close
//! the TLS connection with close_notify.
//!
//! What it reports, through the caller's `on_event` ([`TlsEvent`]):
//! - `Session(der)`: each new session OpenSSL's new-session callback hands
//!   over. With TLS 1.2 that happens during the handshake; with TLS 1.3 the
//!   server's NewSessionTicket messages come after it, and the callback fires
//!   while the bridge reads them, which is before the first application data
//!   (the server writes its tickets before it can answer CONNECT), so the
//!   data is held by the time the broker's CONNACK reaches the client.
//! - `Handshake(report)`: once per connection, when the first application
//!   data arrives from the server (or when the handshake fails): TLS
//!   version, whether the session was resumed (`session_reused()`), and the
//!   bytes on the wire both ways, counted on the TCP stream under OpenSSL
//!   from the connect to the end of the handshake, TLS 1.3's tickets
//!   included (OpenSSL reads one record at a time, so the count at the last
//!   ticket is exact). With TLS 1.3 a server can still refuse our
//!   certificate after our Finished: its alert, read by the bridge before
//!   any data, is the handshake's failure; a connection that breaks before
//!   the server sent anything is `[model]` a failed handshake (13,74)
//!   unless the alert that explains it is found behind it. Either is
//!   reported before the client sees its connection close, so the module
//!   knows why the login failed.
//!
//! The virtual broker (no network) has a TLS server of its own,
//! [`virtual_broker_ca_pem`]'s: the same client handshake runs over an
//! in-memory connection (`virtual_server.rs`).
//!
//! `[model]` a handshake that fails while session data was set is tried once
//! more, on a new connection, without it (a full handshake); both attempts'
//! bytes are reported. A server that refuses a ticket inside one handshake
//! is OpenSSL's own fallback (the handshake completes, not resumed).

mod bridge;
mod handshake;
mod virtual_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use bridge::bridge;
use bridge::Plain;
pub use virtual_server::ca_pem as virtual_broker_ca_pem;
pub(crate) use virtual_server::handshake_with as virtual_handshake;

/// What a TLS connection is made with: the security profile's settings and
/// the credentials it names, resolved by the module when the login starts.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSetup {
    /// The security profile (0-4), for reports.
    pub profile: u8,
    /// Op 0: 0 none, 1 the chain, 2 the chain and `expected_host`, 3 also
    /// the certificates' dates.
    pub validation: u8,
    /// Trusted roots, DER (op 3's one, or every imported CA).
    pub roots: Vec<Vec<u8>>,
    /// The name (or address) the server's certificate must carry (levels 2
    /// and 3).
    pub expected_host: Option<String>,
    /// `Some(UTC seconds)`: the certificates must be valid then (level 3,
    /// the module's clock); `None`: their dates are not checked.
    pub validity_at: Option<i64>,
    /// Op 1: 0 any, 1 TLS 1.0, 2 TLS 1.1, 3 TLS 1.2, 4 TLS 1.3.
    pub min_version: u8,
    /// Op 10.
    pub sni: Option<String>,
    /// Ops 5 and 6.
    pub client: Option<ClientPair>,
    /// Op 13: the session to resume (OpenSSL's DER of it).
    pub session: Option<Vec<u8>>,
    /// Op `13,0,1`: report new sessions.
    pub resumption: bool,
}

/// The client certificate of mutual TLS and its key, both DER.
pub type ClientPair = (Vec<u8>, Vec<u8>);

/// Never shows the key or the session.
impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("profile", &self.profile)
            .field("validation", &self.validation)
            .field("roots", &self.roots.len())
            .field("expected_host", &self.expected_host)
            .field("validity_at", &self.validity_at)
            .field("min_version", &self.min_version)
            .field("sni", &self.sni)
            .field("client", &self.client.is_some())
            .field("session", &self.session.is_some())
            .field("resumption", &self.resumption)
            .finish()
    }
}

/// Why a TLS connection failed, as the module reports it (`+UMQTTER`
/// 13,70-74, see `module/security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server's chain does not lead to a trusted root.
    Untrusted,
    /// The server's certificate does not name the expected host.
    HostMismatch,
    /// No TLS version or cipher both sides accept.
    Version,
    /// The server wanted a client certificate and got none, or refused it.
    ClientCertificate,
    /// Anything else in the handshake.
    Handshake,
}

/// The negotiated version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
    /// Not negotiated (the handshake failed early).
    Unknown,
}

/// One TLS connection's handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeReport {
    pub version: TlsVersion,
    /// The server took the session set before the handshake.
    pub resumed: bool,
    /// Bytes on the wire, both ways, every attempt included.
    pub sent: u64,
    pub received: u64,
    /// Handshakes tried (2 after the `[model]` fallback).
    pub attempts: u8,
    /// `None`: the connection is up.
    pub failure: Option<TlsFailure>,
}

impl HandshakeReport {
    /// Round trips before the client may send data: TLS 1.3 one, TLS 1.2
    /// two for a full handshake and one for an abbreviated one. Failed
    /// attempts count one each.
    pub fn round_trips(&self) -> u32 {
        let one = match (self.failure, self.version, self.resumed) {
            (Some(_), _, _) => 1,
            (None, TlsVersion::Tls13, _) | (None, _, true) => 1,
            (None, _, false) => 2,
        };
        one + u32::from(self.attempts.saturating_sub(1))
    }
}

/// What a TLS connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsEvent {
    /// A new session from the server (OpenSSL's DER), to hand out as the
    /// profile's session data.
    Session(Vec<u8>),
    Handshake(HandshakeReport),
}

/// Why [`open`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// The TCP connect failed (refused, unreachable).
    Connect,
    /// No answer within the deadline.
    Timeout,
    Tls(TlsFailure),
}

/// Called from the TLS layer, also from inside OpenSSL's callbacks.
pub type OnEvent = Arc<dyn Fn(TlsEvent) + Send + Sync>;

/// A TLS connection to `server`, ready for the client: the loopback port
/// its plain side listens on and the bridge future to poll.
pub struct Opened {
    pub port: u16,
    pub(crate) plain: Plain,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").field("port", &self.port).finish()
    }
}

/// The TLS bridge's task, aborted when the client's job ends (a cancelled
/// job, a reboot, a request done).
pub(crate) struct BridgeTask(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for BridgeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects to `server`, runs the handshake (within `deadline`), and
/// listens for the client's plain connection.
pub async fn open(
    setup: &TlsSetup,
    server: SocketAddr,
    deadline: Duration,
    on_event: OnEvent,
) -> Result<Opened, OpenError> {
    let attempt = tokio::time::timeout(
        deadline,
        handshake::connect(setup, server, setup.session.as_deref(), &on_event),
    )
    .await
    .map_err(|_| OpenError::Timeout)?;
    let (stream, meter) = match attempt {
        Ok(done) => done,
        Err(handshake::Failed::Tls(_, first)) if setup.session.is_some() => {
            // [model] the data may be what broke it: once more, without.
            let retry =
                tokio::time::timeout(deadline, handshake::connect(setup, server, None, &on_event))
                    .await
                    .map_err(|_| OpenError::Timeout)?;
            match retry {
                Ok((stream, meter)) => {
                    meter.add_earlier_attempt(&first);
                    (stream, meter)
                }
                Err(handshake::Failed::Tls(failure, second)) => {
                    second.add_earlier_attempt(&first);
                    on_event(TlsEvent::Handshake(second.failed_report(failure)));
                    return Err(OpenError::Tls(failure));
                }
                Err(handshake::Failed::Connect) => return Err(OpenError::Connect),
            }
        }
        Err(handshake::Failed::Tls(failure, meter)) => {
            on_event(TlsEvent::Handshake(meter.failed_report(failure)));
            return Err(OpenError::Tls(failure));
        }
        Err(handshake::Failed::Connect) => return Err(OpenError::Connect),
    };
    let plain = Plain::listen(stream, meter, setup.client.is_some(), on_event)
        .await
        .map_err(|_| OpenError::Connect)?;
    Ok(Opened {
        port: plain.port(),
        plain,
    })
}
