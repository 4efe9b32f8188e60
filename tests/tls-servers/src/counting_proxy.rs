//! A TLS server that counts what the *server* saw of every handshake, full
//! or resumed (OpenSSL's `SSL_session_reused` on the accepting side), then
//! carries the connection's plain bytes to a broker's plain listener. The
//! agent's resumption tests count on it rather than on the simulator, so a
//! client that only believed it resumed is caught.
//!
//! Session tickets are on (OpenSSL's default) and their key belongs to the
//! one acceptor this server keeps for its life, as a real server keeps its
//! ticket key across connections.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod};
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;

use crate::pki::Pki;

/// Handshakes as the server counted them.
#[derive(Debug, Default)]
struct Counts {
    full: AtomicU64,
    resumed: AtomicU64,
    failed: AtomicU64,
}

/// The server, on a loopback port; stops with the test's runtime.
#[derive(Debug)]
pub struct CountingTlsProxy {
    pub port: u16,
    counts: Arc<Counts>,
}

impl CountingTlsProxy {
    /// Serves TLS with the PKI's `server` certificate (for `localhost` and
    /// 127.0.0.1) and forwards to `127.0.0.1:<upstream>`.
    pub async fn start(pki: &Pki, upstream: u16) -> CountingTlsProxy {
        let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        builder
            .set_private_key_file(pki.path("server.key"), SslFiletype::PEM)
            .unwrap();
        builder
            .set_certificate_chain_file(pki.path("server.pem"))
            .unwrap();
        builder.check_private_key().unwrap();
        let acceptor = Arc::new(builder.build());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = Arc::new(Counts::default());
        let served = Arc::clone(&counts);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = Arc::clone(&acceptor);
                let counts = Arc::clone(&served);
                tokio::spawn(async move {
                    serve(client, &acceptor, upstream, &counts).await;
                });
            }
        });
        CountingTlsProxy { port, counts }
    }

    /// Connections that completed a full handshake.
    pub fn full(&self) -> u64 {
        self.counts.full.load(Ordering::SeqCst)
    }

    /// Connections that resumed a session.
    pub fn resumed(&self) -> u64 {
        self.counts.resumed.load(Ordering::SeqCst)
    }

    /// Handshakes that failed.
    pub fn failed(&self) -> u64 {
        self.counts.failed.load(Ordering::SeqCst)
    }
}

async fn serve(client: TcpStream, acceptor: &SslAcceptor, upstream: u16, counts: &Counts) {
    let Ok(ssl) = Ssl::new(acceptor.context()) else {
        return;
    };
    let Ok(mut tls) = SslStream::new(ssl, client) else {
        return;
    };
    if Pin::new(&mut tls).accept().await.is_err() {
        counts.failed.fetch_add(1, Ordering::SeqCst);
        return;
    }
    if tls.ssl().session_reused() {
        counts.resumed.fetch_add(1, Ordering::SeqCst);
    } else {
        counts.full.fetch_add(1, Ordering::SeqCst);
    }
    let Ok(mut broker) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], upstream))).await
    else {
        return;
    };
    // Ends when either side closes; the test only counts.
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut broker).await;
}
