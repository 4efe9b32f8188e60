//! A small HTTP/1.1 server for the HTTP client's tests, on 127.0.0.1:0,
//! written on tokio alone so it shares nothing with the client under test.
//! It records every request (method, path, headers, body bytes) and answers
//! what the test scripted, in order: a status with headers and a body, a
//! head that announces more body than it sends before closing, or nothing
//! at all for a while. Unscripted requests get `204 No Content`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::common::PATIENCE;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Names as sent, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer to the next request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status {
        status: u16,
        reason: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// A head announcing `announced` body bytes, then only `sent`, then
    /// the connection closes.
    CutBody { announced: usize, sent: Vec<u8> },
    /// Read the request, answer nothing for this long, then close.
    Silence(Duration),
}

impl Reply {
    pub fn status(status: u16, reason: &'static str, body: &[u8]) -> Reply {
        Reply::Status {
            status,
            reason,
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }
}

/// The server; stops when dropped.
pub struct TestServer {
    pub port: u16,
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: mpsc::UnboundedReceiver<Recorded>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(serve(listener, Arc::clone(&script), tx));
        TestServer {
            port,
            script,
            received,
            task,
        }
    }

    /// Answers the next request with `reply` (after those already scripted).
    pub fn then(&self, reply: Reply) {
        self.script.lock().unwrap().push_back(reply);
    }

    /// The next request that arrives (within [`PATIENCE`]).
    pub async fn request(&mut self) -> Recorded {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .expect("no request reached the server")
            .expect("server gone")
    }

    /// True if no request arrives for `quiet`.
    pub async fn none_within(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.received.recv())
            .await
            .is_err()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: mpsc::UnboundedSender<Recorded>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let script = Arc::clone(&script);
        let received = received.clone();
        tokio::spawn(async move {
            let _ = connection(stream, script, received).await;
        });
    }
}

/// One request per connection, as the module's client makes them.
async fn connection(
    mut stream: TcpStream,
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: mpsc::UnboundedSender<Recorded>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let _ = received.send(Recorded {
        method,
        path,
        headers,
        body,
    });
    let reply = script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Reply::status(204, "No Content", b""));
    match reply {
        Reply::Status {
            status,
            reason,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            let mut out = out.into_bytes();
            out.extend_from_slice(&body);
            stream.write_all(&out).await?;
        }
        Reply::CutBody { announced, sent } => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(&sent);
            stream.write_all(&out).await?;
            stream.flush().await?;
        }
        Reply::Silence(quiet) => tokio::time::sleep(quiet).await,
    }
    stream.shutdown().await
}
