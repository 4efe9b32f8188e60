//! One TLS client handshake with OpenSSL: the context built from a
//! [`TlsSetup`], the connect, and a failure told apart the way a module's
//! error code would tell it ([`TlsFailure`]).

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{
    self, Ssl, SslContext, SslContextBuilder, SslMethod, SslSession, SslSessionCacheMode,
    SslVerifyMode, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509CheckFlags, X509VerifyFlags};
use openssl::x509::X509;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::bridge::{Counted, Meter};
use super::{OnEvent, TlsEvent, TlsFailure, TlsSetup, TlsVersion};

/// Why one attempt failed.
pub(super) enum Failed {
    Connect,
    /// With what the attempt put on the wire.
    Tls(TlsFailure, Arc<Meter>),
}

/// The TLS stream over the counted TCP connection.
pub(super) type Stream = SslStream<Counted<TcpStream>>;

/// TCP connect to `server`, then the handshake, resuming `session` if given.
pub(super) async fn connect(
    setup: &TlsSetup,
    server: SocketAddr,
    session: Option<&[u8]>,
    on_event: &OnEvent,
) -> Result<(Stream, Arc<Meter>), Failed> {
    let tcp = TcpStream::connect(server)
        .await
        .map_err(|_| Failed::Connect)?;
    let _ = tcp.set_nodelay(true);
    handshake(setup, tcp, session, on_event).await
}

/// The client handshake over `io` (a TCP connection, or the virtual
/// broker's in-memory one), resuming `session` if given.
pub(super) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    setup: &TlsSetup,
    io: S,
    session: Option<&[u8]>,
    on_event: &OnEvent,
) -> Result<(SslStream<Counted<S>>, Arc<Meter>), Failed> {
    let meter = Arc::new(Meter::default());
    let fail = |failure| Failed::Tls(failure, Arc::clone(&meter));
    let ctx = context(setup, &meter, on_event).map_err(|_| fail(TlsFailure::Handshake))?;
    let ssl = client(&ctx, setup, session).map_err(|_| fail(TlsFailure::Handshake))?;
    let mut stream = SslStream::new(ssl, Counted::new(io, Arc::clone(&meter)))
        .map_err(|_| fail(TlsFailure::Handshake))?;
    if let Err(error) = Pin::new(&mut stream).connect().await {
        let failure = classify(stream.ssl(), &error, setup.client.is_some());
        tracing::debug!(%error, ?failure, "TLS handshake failed");
        meter.handshake_done(version(stream.ssl()), false);
        return Err(fail(failure));
    }
    meter.handshake_done(version(stream.ssl()), stream.ssl().session_reused());
    Ok((stream, meter))
}

/// The client context: versions, trust, client certificate, and the
/// new-session callback that hands sessions out.
fn context(
    setup: &TlsSetup,
    meter: &Arc<Meter>,
    on_event: &OnEvent,
) -> Result<SslContext, ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
    b.set_min_proto_version(match setup.min_version {
        0 => None,
        1 => Some(SslVersion::TLS1),
        2 => Some(SslVersion::TLS1_1),
        3 => Some(SslVersion::TLS1_2),
        _ => Some(SslVersion::TLS1_3),
    })?;
    if setup.validation == 0 {
        b.set_verify(SslVerifyMode::NONE);
    } else {
        let mut store = X509StoreBuilder::new()?;
        for der in &setup.roots {
            store.add_cert(X509::from_der(der)?)?;
        }
        b.set_cert_store(store.build());
        b.set_verify(SslVerifyMode::PEER);
    }
    if let Some((cert, key)) = &setup.client {
        let cert = X509::from_der(cert)?;
        let key = PKey::private_key_from_der(key)?;
        b.set_certificate(&cert)?;
        b.set_private_key(&key)?;
        b.check_private_key()?;
    }
    // Sessions go to the callback only, never into a cache of the context:
    // each connection has its own context, and a session taken back with
    // `from_der` is then tied to no cache (see `client`).
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
    let meter = Arc::clone(meter);
    let on_event = Arc::clone(on_event);
    let keep = setup.resumption;
    b.set_new_session_callback(move |_, session| {
        meter.ticket_seen();
        if keep {
            match session.to_der() {
                Ok(der) => on_event(TlsEvent::Session(der)),
                Err(error) => tracing::debug!(%error, "new TLS session not serializable"),
            }
        }
    });
    Ok(b.build())
}

/// The connection's own settings: SNI, the host name and date checks, the
/// session.
fn client(ctx: &SslContext, setup: &TlsSetup, session: Option<&[u8]>) -> Result<Ssl, ErrorStack> {
    let mut ssl = Ssl::new(ctx)?;
    if let Some(sni) = &setup.sni {
        ssl.set_hostname(sni)?;
    }
    let param = ssl.param_mut();
    if setup.validation >= 2 {
        if let Some(host) = &setup.expected_host {
            param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            match host.parse::<IpAddr>() {
                Ok(ip) => param.set_ip(ip)?,
                Err(_) => param.set_host(host)?,
            }
        }
    }
    match setup.validity_at {
        Some(utc) => param.set_time(utc),
        // [model] below level 3 a module does not check dates: its clock
        // may not be set yet.
        None => param.set_flags(X509VerifyFlags::NO_CHECK_TIME)?,
    }
    if let Some(der) = session {
        // The module checked the data when it was set; data OpenSSL cannot
        // read now is left out (a full handshake), never fatal.
        if let Ok(session) = SslSession::from_der(der) {
            // SAFETY: `set_session` asks that the session belong to this
            // `Ssl`'s context. A session read with `from_der` belongs to no
            // context's cache, and this context keeps no internal cache
            // (`NO_INTERNAL` above), so there is no cache link to break;
            // OpenSSL takes its own reference to the session.
            unsafe { ssl.set_session(&session)? };
        }
    }
    Ok(ssl)
}

fn version(ssl: &ssl::SslRef) -> TlsVersion {
    match ssl.version2() {
        Some(v) if v == SslVersion::TLS1_3 => TlsVersion::Tls13,
        Some(v) if v == SslVersion::TLS1_2 => TlsVersion::Tls12,
        Some(v) if v == SslVersion::TLS1_1 => TlsVersion::Tls11,
        Some(v) if v == SslVersion::TLS1 => TlsVersion::Tls10,
        _ => TlsVersion::Unknown,
    }
}

/// X509 verification results (OpenSSL's `X509_V_ERR_*`).
const HOSTNAME_MISMATCH: i32 = 62;
const IP_ADDRESS_MISMATCH: i32 = 64;
/// `SSL_R_*` reasons: local refusals of the version or the ciphers.
const LOCAL_VERSION_REFUSALS: &[i32] = &[
    166, // VERSION_TOO_HIGH
    181, // NO_CIPHERS_AVAILABLE
    191, // NO_PROTOCOLS_AVAILABLE
    193, // NO_SHARED_CIPHER
    258, // UNSUPPORTED_PROTOCOL
    267, // WRONG_VERSION_NUMBER
    396, // VERSION_TOO_LOW
];
/// A received alert's reason is 1000 + the alert (`SSL_AD_REASON_OFFSET`).
const ALERT: i32 = 1000;

/// What a module would say went wrong. The verification result says it for
/// our side's checks; the server's alert for its side's (RFC 8446 §6.2).
pub(super) fn classify(ssl: &ssl::SslRef, error: &ssl::Error, had_client_cert: bool) -> TlsFailure {
    let verify = ssl.verify_result().as_raw();
    if verify == HOSTNAME_MISMATCH || verify == IP_ADDRESS_MISMATCH {
        return TlsFailure::HostMismatch;
    }
    if verify != 0 {
        return TlsFailure::Untrusted;
    }
    let reasons: Vec<i32> = error
        .ssl_error()
        .map(|stack| stack.errors().iter().map(|e| e.reason_code()).collect())
        .unwrap_or_default();
    classify_reasons(&reasons, had_client_cert, ssl.current_cipher().is_some())
}

/// [`classify`] on the error stack's reasons alone. `negotiated`: the
/// server's hello had been taken (a cipher chosen), so a later failure is
/// not about versions or ciphers.
pub(super) fn classify_reasons(
    reasons: &[i32],
    had_client_cert: bool,
    negotiated: bool,
) -> TlsFailure {
    for &reason in reasons {
        if LOCAL_VERSION_REFUSALS.contains(&reason) {
            return TlsFailure::Version;
        }
        match reason - ALERT {
            // protocol_version, insufficient_security.
            70 | 71 => return TlsFailure::Version,
            // bad_certificate .. certificate_unknown, unknown_ca,
            // access_denied, certificate_required: about our certificate,
            // since the server sent them.
            42..=46 | 48 | 49 | 116 => return TlsFailure::ClientCertificate,
            // handshake_failure: a TLS 1.2 server that required a
            // certificate we did not have says only this.
            40 if negotiated && !had_client_cert => return TlsFailure::ClientCertificate,
            40 => return TlsFailure::Version,
            _ => {}
        }
    }
    TlsFailure::Handshake
}
