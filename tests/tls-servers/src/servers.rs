//! The TLS servers the tests run as child processes on loopback ports:
//! mosquitto with a plain listener (for the test's subscriber) and a TLS
//! one (for the module), and `openssl s_server`, which prints
//! `Reused session-id` for a connection that resumed a session.
//! Both are killed on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use tokio::sync::mpsc;

use crate::pki::Pki;
use crate::PATIENCE;

/// The TLS versions a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Where a tool is: on PATH, or where Debian puts it.
fn binary(name: &str, how: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([
            "/usr/sbin".into(),
            "/usr/local/sbin".into(),
            "/usr/bin".into(),
        ])
        .map(|dir: PathBuf| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: run scripts/test, or {how}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// mosquitto with a plain listener and a TLS listener, on free loopback
/// ports, with its config and log in the PKI's directory.
#[derive(Debug)]
pub struct Mosquitto {
    child: Child,
    pub plain_port: u16,
    pub tls_port: u16,
    log: PathBuf,
}

impl Mosquitto {
    /// `mutual`: the TLS listener requires a client certificate signed by
    /// the CA. TLS 1.3 is forced with mosquitto's `tls_version`; TLS 1.2
    /// (which mosquitto can only set as a minimum) with an OpenSSL config
    /// that caps the process at 1.2.
    pub fn start(pki: &Pki, versions: Versions, mutual: bool) -> Mosquitto {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (plain_port, tls_port) = (free_port(), free_port());
            if let Some(broker) = Self::try_start(pki, versions, mutual, plain_port, tls_port) {
                return broker;
            }
            assert!(Instant::now() < deadline, "mosquitto never came up");
        }
    }

    fn try_start(
        pki: &Pki,
        versions: Versions,
        mutual: bool,
        plain_port: u16,
        tls_port: u16,
    ) -> Option<Mosquitto> {
        let conf = pki.path(&format!("mosquitto-{tls_port}.conf"));
        let tls_version = match versions {
            Versions::Tls12 => "tlsv1.2",
            Versions::Tls13 => "tlsv1.3",
        };
        // max_queued_messages 0: no limit (shared/design/dependencies.md).
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\n\
                 allow_anonymous true\n\
                 persistence false\n\
                 max_queued_messages 0\n\
                 log_dest stderr\n\
                 log_type all\n\
                 connection_messages true\n\
                 listener {plain_port} 127.0.0.1\n\
                 listener {tls_port} 127.0.0.1\n\
                 cafile {ca}\n\
                 certfile {cert}\n\
                 keyfile {key}\n\
                 tls_version {tls_version}\n\
                 require_certificate {mutual}\n",
                ca = pki.path("ca.pem").display(),
                cert = pki.path("server.pem").display(),
                key = pki.path("server.key").display(),
            ),
        )
        .unwrap();
        let openssl_conf = pki.path("tls12-only.cnf");
        std::fs::write(
            &openssl_conf,
            "openssl_conf = default_conf\n\
             [default_conf]\nssl_conf = ssl_sect\n\
             [ssl_sect]\nsystem_default = system_default_sect\n\
             [system_default_sect]\nMaxProtocol = TLSv1.2\n",
        )
        .unwrap();
        let log = pki.path(&format!("mosquitto-{tls_port}.log"));
        let mut command = Command::new(binary(
            "mosquitto",
            "apt-get install --no-install-recommends mosquitto",
        ));
        command
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if versions == Versions::Tls12 {
            command.env("OPENSSL_CONF", &openssl_conf);
        }
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let up = |port| {
                TcpStream::connect_timeout(
                    &SocketAddr::from(([127, 0, 0, 1], port)),
                    Duration::from_millis(200),
                )
                .is_ok()
            };
            if up(plain_port) && up(tls_port) {
                return Some(Mosquitto {
                    child,
                    plain_port,
                    tls_port,
                    log,
                });
            }
            if child.try_wait().unwrap().is_some() || Instant::now() >= deadline {
                // A port taken in between: another pair.
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What mosquitto logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A subscriber on the plain listener: received (topic, payload).
    pub async fn subscriber(&self, filter: &str) -> mpsc::UnboundedReceiver<(String, Vec<u8>)> {
        let mut opts = MqttOptions::new("tls-test-subscriber", "127.0.0.1", self.plain_port);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (subscribed_tx, mut subscribed_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Keeps the client (and so the subscription) alive.
            let _client = client;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::SubAck(_))) => {
                        let _ = subscribed_tx.send(());
                    }
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        if tx.send((p.topic, p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("test subscriber: {e}");
                        return;
                    }
                }
            }
        });
        tokio::time::timeout(PATIENCE, subscribed_rx.recv())
            .await
            .expect("no SUBACK")
            .expect("subscriber died");
        rx
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_server` on a loopback port of its own choosing, one
/// connection at a time. What a client sends shows on its output; what the
/// test writes to its input goes to the client in the connection.
#[derive(Debug)]
pub struct SServer {
    child: Child,
    input: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    pub port: u16,
}

impl SServer {
    pub async fn start(pki: &Pki, versions: Versions) -> SServer {
        let version = match versions {
            Versions::Tls12 => "-tls1_2",
            Versions::Tls13 => "-tls1_3",
        };
        let mut child = Command::new(binary(
            "openssl",
            "apt-get install --no-install-recommends openssl",
        ))
        .args(["s_server", "-accept", "127.0.0.1:0", version])
        .arg("-cert")
        .arg(pki.path("server.pem"))
        .arg("-key")
        .arg(pki.path("server.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let input = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut server = SServer {
            child,
            input,
            output,
            port: 0,
        };
        let accept = server.wait_for(b"ACCEPT 127.0.0.1:", 0).await;
        server.wait_for(b"\n", accept).await;
        let text = server.text(accept, usize::MAX);
        let port = text["ACCEPT 127.0.0.1:".len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        server.port = port;
        server
    }

    /// How many bytes it printed so far.
    pub fn printed(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    /// What it printed from byte `from` to byte `to` (binary bytes shown
    /// lossily).
    pub fn text(&self, from: usize, to: usize) -> String {
        let output = self.output.lock().unwrap();
        String::from_utf8_lossy(&output[from.min(output.len())..to.min(output.len())]).into_owned()
    }

    /// The position of `needle` in its output at or after byte `from`, once
    /// it appeared (bounded by [`PATIENCE`]).
    pub async fn wait_for(&self, needle: &[u8], from: usize) -> usize {
        let deadline = Instant::now() + PATIENCE;
        loop {
            {
                let output = self.output.lock().unwrap();
                if let Some(at) = output
                    .get(from..)
                    .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
                {
                    return from + at;
                }
            }
            assert!(
                Instant::now() < deadline,
                "s_server never printed {:?}; it printed {:?}",
                String::from_utf8_lossy(needle),
                self.text(0, usize::MAX)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends `bytes` to the connected client.
    pub fn send(&mut self, bytes: &[u8]) {
        self.input.write_all(bytes).unwrap();
        self.input.flush().unwrap();
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
