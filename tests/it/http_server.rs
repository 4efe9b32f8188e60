//! A small HTTP/1.1 server for the HTTP uplink's tests, on 127.0.0.1:0,
//! written on tokio alone so it shares no code with the client under test
//! (the simulator's reqwest) or the agent. It records every request (method,
//! path, headers, body bytes, when it came) and answers what the test
//! scripted, in order; unscripted requests get `204 No Content`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
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

/// An answer: status line, extra headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn status(status: &'static str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn body(mut self, body: &[u8]) -> Answer {
        self.body = body.to_vec();
        self
    }
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    received: Vec<Recorded>,
}

/// The server; it stops with the test's runtime.
pub struct TestServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        tokio::spawn(serve(listener, Arc::clone(&shared)));
        TestServer { port, shared }
    }

    /// Answers the next unanswered request with `answer`.
    pub fn then(&self, answer: Answer) {
        self.shared.lock().unwrap().script.push_back(answer);
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().received.clone()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _ = connection(stream, shared).await;
        });
    }
}

/// One request per connection, as the module's client makes them.
async fn connection(mut stream: TcpStream, shared: Arc<Mutex<Shared>>) -> std::io::Result<()> {
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
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
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
    let answer = {
        let mut shared = shared.lock().unwrap();
        shared.received.push(Recorded {
            method,
            path,
            headers,
            body,
            at: Instant::now(),
        });
        shared
            .script
            .pop_front()
            .unwrap_or_else(|| Answer::status("204 No Content"))
    };
    let mut out = format!("HTTP/1.1 {}\r\n", answer.status);
    for (name, value) in &answer.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        answer.body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&answer.body);
    stream.write_all(&out).await?;
    stream.shutdown().await
}
