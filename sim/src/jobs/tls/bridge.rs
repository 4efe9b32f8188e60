//! The plain side of a TLS connection: the loopback listener the client
//! connects to, the copy between it and the TLS stream, and the byte
//! counts ([`Meter`]) a handshake report is made of.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use super::handshake::{classify, Stream};
use super::{HandshakeReport, OnEvent, Opened, TlsEvent, TlsFailure, TlsVersion};

/// Bytes on the wire of one TLS connection and what its handshake was.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    sent: AtomicU64,
    received: AtomicU64,
    /// The counts when the handshake ended (the client's Finished sent).
    handshake_sent: AtomicU64,
    handshake_received: AtomicU64,
    /// The received count at the last new session before any application
    /// data: TLS 1.3's tickets belong to the handshake's cost.
    ticket_received: AtomicU64,
    /// Set once the first application data came from the server.
    app_data: AtomicBool,
    version: AtomicU8,
    resumed: AtomicBool,
    /// A failed attempt before this one (the `[model]` fallback).
    earlier: Mutex<Option<(u64, u64)>>,
}

impl Meter {
    pub(super) fn handshake_done(&self, version: TlsVersion, resumed: bool) {
        self.handshake_sent
            .store(self.sent.load(Ordering::Relaxed), Ordering::Relaxed);
        self.handshake_received
            .store(self.received.load(Ordering::Relaxed), Ordering::Relaxed);
        self.version.store(version_code(version), Ordering::Relaxed);
        self.resumed.store(resumed, Ordering::Relaxed);
    }

    /// OpenSSL handed over a new session (during the handshake, or with
    /// TLS 1.3 just after it).
    pub(super) fn ticket_seen(&self) {
        if !self.app_data.load(Ordering::Relaxed) {
            self.ticket_received
                .store(self.received.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    pub(super) fn add_earlier_attempt(&self, earlier: &Meter) {
        let bytes = (
            earlier.sent.load(Ordering::Relaxed),
            earlier.received.load(Ordering::Relaxed),
        );
        *self.earlier.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes);
    }

    /// The first application data came from the server: the handshake,
    /// TLS 1.3's tickets included, is over.
    pub(super) fn app_data_seen(&self) {
        self.app_data.store(true, Ordering::Relaxed);
    }

    pub(super) fn report(&self, failure: Option<TlsFailure>) -> HandshakeReport {
        let earlier = *self.earlier.lock().unwrap_or_else(|p| p.into_inner());
        let (earlier_sent, earlier_received) = earlier.unwrap_or((0, 0));
        let (sent, received) = match failure {
            // A failure's whole exchange is the attempt's cost.
            Some(_) => (
                self.sent.load(Ordering::Relaxed),
                self.received.load(Ordering::Relaxed),
            ),
            None => (
                self.handshake_sent.load(Ordering::Relaxed),
                self.handshake_received
                    .load(Ordering::Relaxed)
                    .max(self.ticket_received.load(Ordering::Relaxed)),
            ),
        };
        HandshakeReport {
            version: version_from(self.version.load(Ordering::Relaxed)),
            resumed: failure.is_none() && self.resumed.load(Ordering::Relaxed),
            sent: sent + earlier_sent,
            received: received + earlier_received,
            attempts: 1 + u8::from(earlier.is_some()),
            failure,
        }
    }

    pub(super) fn failed_report(&self, failure: TlsFailure) -> HandshakeReport {
        self.report(Some(failure))
    }
}

fn version_code(v: TlsVersion) -> u8 {
    match v {
        TlsVersion::Unknown => 0,
        TlsVersion::Tls10 => 1,
        TlsVersion::Tls11 => 2,
        TlsVersion::Tls12 => 3,
        TlsVersion::Tls13 => 4,
    }
}

fn version_from(code: u8) -> TlsVersion {
    match code {
        1 => TlsVersion::Tls10,
        2 => TlsVersion::Tls11,
        3 => TlsVersion::Tls12,
        4 => TlsVersion::Tls13,
        _ => TlsVersion::Unknown,
    }
}

/// A stream that counts what passes through it into a [`Meter`].
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S> Counted<S> {
    pub(super) fn new(inner: S, meter: Arc<Meter>) -> Self {
        Counted { inner, meter }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before) as u64;
        self.meter.received.fetch_add(n, Ordering::Relaxed);
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            self.meter.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A TLS connection whose handshake is done, waiting for the client.
pub(crate) struct Plain {
    listener: TcpListener,
    port: u16,
    tls: Watched,
}

impl Plain {
    pub(super) async fn listen(
        stream: Stream,
        meter: Arc<Meter>,
        had_client_cert: bool,
        on_event: OnEvent,
    ) -> io::Result<Plain> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Plain {
            listener,
            port,
            tls: Watched {
                stream,
                meter,
                had_client_cert,
                on_event,
                reported: false,
                client_closed: false,
            },
        })
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }
}

/// Carries the client's connection over the TLS stream until both sides
/// closed (a close on one side is passed on: the client's as TLS
/// close_notify, the server's as end of stream), or either failed.
/// `[model]` the first connection to the port is taken as the client's: it
/// is on loopback and lives for one login.
pub async fn bridge(opened: Opened) {
    let Plain {
        listener, mut tls, ..
    } = opened.plain;
    if let Ok((mut plain, _)) = listener.accept().await {
        drop(listener);
        let _ = plain.set_nodelay(true);
        let copied = tokio::io::copy_bidirectional(&mut plain, &mut tls).await;
        if let Err(error) = &copied {
            tracing::debug!(%error, "TLS bridge closed");
        }
        if !tls.reported {
            if copied.is_err() {
                // A write that failed because the server had closed: the
                // alert that says why may be waiting behind it (TLS 1.3's
                // refusal of our certificate races our first write).
                let mut byte = [0u8; 1];
                let _ = tokio::time::timeout(ALERT_GRACE, tls.read(&mut byte)).await;
            }
            if !tls.reported {
                // Both sides closed cleanly before the server sent data: the
                // handshake itself was fine; a broken connection was not.
                tls.report(copied.is_err().then_some(TlsFailure::Handshake));
            }
        }
        // Only now the client hears of the end: after the report, so the
        // module knows a TLS failure before the client's own.
        drop(plain);
    }
}

/// How long a bridge whose connection broke waits for the alert that says
/// why (real time; the alert is already in the receive buffer if any).
const ALERT_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// The TLS stream as the bridge reads it: the first application data from
/// the server sends the handshake report; an error before it (TLS 1.3's
/// late alerts: the server refusing our certificate after our Finished) is
/// the handshake's failure.
struct Watched {
    stream: Stream,
    meter: Arc<Meter>,
    had_client_cert: bool,
    on_event: OnEvent,
    reported: bool,
    /// The client closed its side (the bridge shut the TLS side down).
    client_closed: bool,
}

impl Watched {
    fn report(&mut self, failure: Option<TlsFailure>) {
        self.reported = true;
        let report = self.meter.report(failure);
        (self.on_event)(TlsEvent::Handshake(report));
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if !self.reported {
            match &result {
                Poll::Ready(Ok(())) if buf.filled().len() > before => {
                    self.meter.app_data_seen();
                    self.report(None);
                }
                Poll::Ready(Ok(())) => {
                    // The end of the stream before any data: an answer to
                    // the client's close, or `[model]` a server that hung
                    // up on a handshake it did not accept.
                    let failure = (!self.client_closed).then_some(TlsFailure::Handshake);
                    self.report(failure);
                }
                Poll::Ready(Err(error)) => {
                    let failure = error
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<openssl::ssl::Error>())
                        .map_or(TlsFailure::Handshake, |e| {
                            classify(self.stream.ssl(), e, self.had_client_cert)
                        });
                    self.report(Some(failure));
                }
                _ => {}
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.client_closed = true;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
