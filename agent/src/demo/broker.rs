//! An MQTT broker inside the process (rumqttd) on a free loopback port: what
//! `edge-agent demo` and the end-to-end tests publish to, so nothing needs
//! installing to see a reading arrive.
//!
//! rumqttd 0.20 has no shutdown and its `start` blocks, so the broker runs
//! on a thread of its own for the rest of the process; it listens on
//! 127.0.0.1 only.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// A running local broker.
#[derive(Debug, Clone, Copy)]
pub struct LocalBroker {
    pub addr: SocketAddr,
}

/// Why the broker did not come up.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("no free loopback port for the demo broker: {0}")]
    NoPort(std::io::Error),
    #[error("cannot start the demo broker thread: {0}")]
    Thread(std::io::Error),
    #[error("the demo broker did not accept connections on {addr} within {within:?}")]
    NotListening { addr: SocketAddr, within: Duration },
}

/// The largest publish the broker takes: far above the module's 1 KiB
/// binary publish, so the broker never is the limit in a test.
const MAX_PAYLOAD: usize = 256 * 1024;

impl LocalBroker {
    /// Starts a broker on a free port of 127.0.0.1 and waits until it
    /// accepts connections.
    pub fn start() -> Result<LocalBroker, BrokerError> {
        // rumqttd cannot report the port it bound, so ask the OS for a free
        // one and hand it over; the port is reused at once, on loopback only.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(BrokerError::NoPort)?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let config = config(addr);
        std::thread::Builder::new()
            .name("demo-broker".into())
            .spawn(move || {
                let mut broker = Broker::new(config);
                if let Err(e) = broker.start() {
                    tracing::error!(error = %e, "the demo broker stopped");
                }
            })
            .map_err(BrokerError::Thread)?;
        let within = Duration::from_secs(10);
        let deadline = Instant::now() + within;
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err(BrokerError::NotListening { addr, within });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info!(%addr, "demo MQTT broker listening");
        Ok(LocalBroker { addr })
    }
}

fn config(listen: SocketAddr) -> Config {
    let server = ServerSettings {
        name: "demo".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PAYLOAD,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 64,
            max_outgoing_packet_count: 200,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("demo".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}
