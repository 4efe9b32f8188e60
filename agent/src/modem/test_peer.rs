//! A scripted module on an in-memory duplex, the one peer of the modem's
//! unit tests (the AT client's own, and every feature's): the test reads
//! each command line the client sends and writes the module's bytes back,
//! on tokio's paused clock.

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::at::{AtClient, ClientOptions};

/// The module's side of the duplex.
pub(crate) struct Peer {
    io: DuplexStream,
    pending: Vec<u8>,
    /// Every command line received, in order.
    pub(crate) log: Vec<String>,
}

impl Peer {
    /// Reads up to and including the next CR: one command line.
    pub(crate) async fn command(&mut self) -> String {
        loop {
            if let Some(pos) = self.pending.iter().position(|&b| b == b'\r') {
                let line: Vec<u8> = self.pending.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                self.log.push(text.clone());
                return text;
            }
            let mut buf = [0u8; 1024];
            let n = self.io.read(&mut buf).await.unwrap();
            assert!(n > 0, "client closed the port");
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Exactly `n` bytes (prompt data).
    pub(crate) async fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            let mut buf = [0u8; 1024];
            let k = self.io.read(&mut buf).await.unwrap();
            assert!(k > 0, "client closed the port");
            self.pending.extend_from_slice(&buf[..k]);
        }
        self.pending.drain(..n).collect()
    }

    pub(crate) async fn say(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// Expects `cmd` and answers `OK`.
    pub(crate) async fn ok(&mut self, cmd: &str) {
        assert_eq!(self.command().await, cmd);
        self.say(b"\r\nOK\r\n").await;
    }

    /// Expects `cmd`, answers `OK`, then the URC `urc`.
    pub(crate) async fn ok_then(&mut self, cmd: &str, urc: &str) {
        self.ok(cmd).await;
        self.say(format!("\r\n{urc}\r\n").as_bytes()).await;
    }
}

/// A client with the default timings and its scripted module.
pub(crate) fn start() -> (AtClient, Peer) {
    start_with(ClientOptions::default())
}

/// A client with `options` and its scripted module.
pub(crate) fn start_with(options: ClientOptions) -> (AtClient, Peer) {
    let (host, module) = tokio::io::duplex(1 << 16);
    let (client, _task) = AtClient::spawn(host, options);
    (
        client,
        Peer {
            io: module,
            pending: Vec::new(),
            log: Vec::new(),
        },
    )
}
