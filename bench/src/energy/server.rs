//! The HTTP run's server: on 127.0.0.1:0, one request per connection (as
//! the module's client makes them), each answered `204 No Content` as soon
//! as its body is in. It runs as a task of the benchmark's paused runtime,
//! beside the simulator whose HTTP client (reqwest) reaches it on loopback.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The running server.
pub(super) struct Server {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Server {
    pub fn stop(self) {
        self.task.abort();
    }
}

pub(super) async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the HTTP server");
    let port = listener.local_addr().expect("its address").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream));
        }
    });
    Server { port, task }
}

/// Reads the head and the announced body, then answers `204`.
async fn answer(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let wanted = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break end + 4 + length;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    while buf.len() < wanted {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = stream
        .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    let _ = stream.shutdown().await;
}
