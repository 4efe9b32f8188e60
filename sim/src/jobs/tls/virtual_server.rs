//! `[model]` The TLS server of the virtual broker
//! ([`MqttBackend::Virtual`](crate::config::MqttBackend::Virtual)): a real
//! OpenSSL handshake with a secure login, over an in-memory connection, so
//! a benchmark under tokio's paused clock sees real handshake bytes, real
//! session data and real resumption, with no network.
//!
//! Like a public broker: the certificate chain is an RSA 2048 leaf for the
//! host the login names (its DNS name or address) and one intermediate,
//! under a root whose PEM is [`ca_pem`] (the host imports it as its CA).
//! TLS 1.2 and 1.3, session tickets on; a client certificate is asked for
//! and taken whatever it is. The authority, the key and each host's server
//! context (with its ticket keys) are made once per process and kept, so a
//! session handed out by one simulator resumes with a fresh one in the same
//! process, as with a real server that stays up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_openssl::SslStream;

use super::handshake::{handshake, Failed};
use super::{HandshakeReport, OnEvent, TlsEvent, TlsFailure, TlsSetup};

/// What the server sends once the handshake is done: a CONNACK, as the
/// broker answers CONNECT (its bytes end the handshake's count).
const FIRST_DATA: &[u8] = &[0x20, 0x02, 0x00, 0x00];

/// The root, the intermediate that signs the leaves, and the leaves' key.
struct Authority {
    root_pem: String,
    intermediate: X509,
    intermediate_key: PKey<Private>,
    leaf_key: PKey<Private>,
}

fn authority() -> Option<&'static Authority> {
    static AUTHORITY: OnceLock<Option<Authority>> = OnceLock::new();
    AUTHORITY
        .get_or_init(|| match make_authority() {
            Ok(authority) => Some(authority),
            Err(error) => {
                tracing::error!(%error, "the virtual broker's certificates could not be made");
                None
            }
        })
        .as_ref()
}

/// The PEM of the root the virtual broker's certificates chain to: the CA
/// a host imports (`AT+USECMNG=0,0,...`) to log in to it securely. Empty
/// if OpenSSL could not make it.
pub fn ca_pem() -> String {
    authority().map_or_else(String::new, |a| a.root_pem.clone())
}

fn rsa_key() -> Result<PKey<Private>, ErrorStack> {
    PKey::from_rsa(Rsa::generate(2048)?)
}

/// A certificate for `subject` with `key`, signed by `issuer` (itself when
/// `None`), valid from a day ago for ten years.
fn certificate(
    subject: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    host: Option<&str>,
) -> Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("O", "lexi-sim virtual broker")?;
    name.append_entry_by_text("CN", subject)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(63, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    b.set_serial_number(Asn1Integer::from_bn(&serial)?.as_ref())?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map_or(&*name, |(cert, _)| cert.subject_name()))?;
    b.set_pubkey(key)?;
    b.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    b.set_not_after(Asn1Time::days_from_now(3650)?.as_ref())?;
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    }
    if let Some(host) = host {
        let mut san = SubjectAlternativeName::new();
        match host.parse::<IpAddr>() {
            Ok(_) => san.ip(host),
            Err(_) => san.dns(host),
        };
        let san = san.build(&b.x509v3_context(issuer.map(|(cert, _)| &**cert), None))?;
        b.append_extension(san)?;
    }
    let signer = issuer.map_or(key, |(_, key)| key);
    b.sign(signer, MessageDigest::sha256())?;
    Ok(b.build())
}

fn make_authority() -> Result<Authority, ErrorStack> {
    let root_key = rsa_key()?;
    let root = certificate("Virtual Root CA", &root_key, None, true, None)?;
    let intermediate_key = rsa_key()?;
    let intermediate = certificate(
        "Virtual Issuing CA",
        &intermediate_key,
        Some((&root, &root_key)),
        true,
        None,
    )?;
    let root_pem = String::from_utf8_lossy(&root.to_pem()?).into_owned();
    Ok(Authority {
        root_pem,
        intermediate,
        intermediate_key,
        leaf_key: rsa_key()?,
    })
}

/// The server context for `host`, made at its first login and kept.
fn acceptor(host: &str) -> Result<SslAcceptor, ErrorStack> {
    static SERVERS: OnceLock<Mutex<HashMap<String, SslAcceptor>>> = OnceLock::new();
    let servers = SERVERS.get_or_init(Default::default);
    let mut servers = servers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(acceptor) = servers.get(host) {
        return Ok(acceptor.clone());
    }
    let Some(a) = authority() else {
        return Err(ErrorStack::get());
    };
    let leaf = certificate(
        host,
        &a.leaf_key,
        Some((&a.intermediate, &a.intermediate_key)),
        false,
        Some(host),
    )?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_private_key(&a.leaf_key)?;
    b.set_certificate(&leaf)?;
    b.add_extra_chain_cert(a.intermediate.clone())?;
    // A client certificate is asked for (its bytes count) and not checked.
    b.set_verify_callback(SslVerifyMode::PEER, |_, _| true);
    b.set_session_id_context(b"lexi-sim virtual broker")?;
    let acceptor = b.build();
    servers.insert(host.to_string(), acceptor.clone());
    Ok(acceptor)
}

/// A secure login's handshake with the virtual broker for `host`: the
/// report (also sent through `on_event`, with any new session), or why it
/// failed.
pub(crate) async fn handshake_with(
    setup: &TlsSetup,
    host: &str,
    on_event: OnEvent,
) -> Result<HandshakeReport, TlsFailure> {
    let acceptor = acceptor(host).map_err(|_| TlsFailure::Handshake)?;
    let ssl = Ssl::new(acceptor.context()).map_err(|_| TlsFailure::Handshake)?;
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let mut server = SslStream::new(ssl, server_io).map_err(|_| TlsFailure::Handshake)?;
    let server = tokio::spawn(async move {
        if Pin::new(&mut server).accept().await.is_ok() {
            let _ = server.write_all(FIRST_DATA).await;
            // Reads until the client goes (a close_notify or its end).
            let mut sink = [0u8; 256];
            while matches!(server.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    });
    let result = match handshake(setup, client_io, setup.session.as_deref(), &on_event).await {
        Ok((mut stream, meter)) => {
            let mut first = [0u8; FIRST_DATA.len()];
            match stream.read_exact(&mut first).await {
                Ok(_) => {
                    meter.app_data_seen();
                    let report = meter.report(None);
                    on_event(TlsEvent::Handshake(report));
                    let _ = stream.shutdown().await;
                    Ok(report)
                }
                Err(_) => {
                    let report = meter.failed_report(TlsFailure::Handshake);
                    on_event(TlsEvent::Handshake(report));
                    Err(TlsFailure::Handshake)
                }
            }
        }
        Err(Failed::Tls(failure, meter)) => {
            on_event(TlsEvent::Handshake(meter.failed_report(failure)));
            Err(failure)
        }
        Err(Failed::Connect) => Err(TlsFailure::Handshake),
    };
    server.abort();
    result
}
