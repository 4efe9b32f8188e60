//! The embedded MQTT client against a real broker (rumqttd, in-process on a
//! free loopback port), driven with raw AT bytes over the duplex.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use super::common::{fast_config, registered, Host, PATIENCE};
use lexi_sim::{SimHandle, Simulator};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// A free loopback port (bound, then released for the broker).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rumqttd on its own thread (it has no shutdown and `start` blocks)
/// and waits until it accepts. Returns its port.
async fn broker() -> u16 {
    let port = free_port();
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 1024 * 1024,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "v4-test".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 100,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some([("v4-test".to_string(), server)].into_iter().collect()),
        ..Default::default()
    };
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(config);
        let _ = broker.start();
    });
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "broker never listened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    port
}

/// A test-side client subscribed to `filter`: received (topic, payload).
async fn subscriber(
    port: u16,
    filter: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut opts = MqttOptions::new(format!("test-sub-{port}"), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(1024 * 1024, 1024 * 1024);
    let (client, mut eventloop) = AsyncClient::new(opts, 16);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let (subscribed_tx, mut subscribed_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
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
    (client, rx)
}

async fn started(dir: &std::path::Path) -> (SimHandle, Host<DuplexStream>) {
    let mut cfg = fast_config(dir);
    // A generous login timeout even after the time scale: only a hang bound.
    cfg.mqtt_login_timeout = Duration::from_secs(10_000);
    let (sim, io) = Simulator::spawn_duplex(cfg).unwrap();
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    let mut host = Host::new(io);
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    registered(&sim).await;
    (sim, host)
}

/// Sends a command line; returns its answer up to the final `OK`.
async fn ok(host: &mut Host<DuplexStream>, line: &str) -> String {
    host.write(format!("{line}\r").as_bytes()).await;
    host.read_until("OK\r\n").await
}

async fn login(host: &mut Host<DuplexStream>, port: u16) {
    assert_eq!(
        ok(host, &format!("AT+UMQTT=2,\"127.0.0.1\",{port}")).await,
        "\r\nOK\r\n"
    );
    assert_eq!(ok(host, "AT+UMQTT=10,30").await, "\r\nOK\r\n");
    assert_eq!(ok(host, "AT+UMQTTC=1").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("\r\n+UUMQTTC: 1,").await,
        "\r\n+UUMQTTC: 1,"
    );
    assert_eq!(host.read_until("\r\n").await, "1\r\n");
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>)>) -> (String, Vec<u8>) {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("nothing received")
        .expect("subscriber died")
}

#[tokio::test]
async fn publish_subscribe_read_and_logout_through_a_real_broker() {
    let port = broker().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path()).await;
    let (test_client, mut received) = subscriber(port, "gw/#").await;
    login(&mut host, port).await;

    // Binary publish: every awkward byte arrives as sent.
    let payload: &[u8] = b"a\"b\r\nOK\r\n\0\xffz";
    host.write(format!("AT+UMQTTC=9,1,0,\"gw/bin\",{}\r", payload.len()).as_bytes())
        .await;
    assert_eq!(host.read_until_bytes(b">").await, b"\r\n>");
    host.write(payload).await;
    assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 2,1\r\n").await,
        "\r\n+UUMQTTC: 2,1\r\n"
    );
    assert_eq!(
        recv(&mut received).await,
        ("gw/bin".to_string(), payload.to_vec())
    );

    // Text publish in hex mode (§6.4).
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=2,1,0,1,\"gw/hex\",\"ABCD3031\"").await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        host.read_until("+UUMQTTC: 2,1\r\n").await,
        "\r\n+UUMQTTC: 2,1\r\n"
    );
    assert_eq!(
        recv(&mut received).await,
        ("gw/hex".to_string(), vec![0xAB, 0xCD, 0x30, 0x31])
    );

    // Subscribe; a message from the test is announced and read byte for byte.
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=4,1,\"cmd/gw\"").await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        host.read_until("\"cmd/gw\"\r\n").await,
        "\r\n+UUMQTTC: 4,1,1,\"cmd/gw\"\r\n"
    );
    let down: &[u8] = b"x\"\r\n\0\xffOK\r\n";
    test_client
        .publish("cmd/gw", QoS::AtLeastOnce, false, down.to_vec())
        .await
        .unwrap();
    assert_eq!(
        host.read_until("+UUMQTTC: 6,1\r\n").await,
        "\r\n+UUMQTTC: 6,1\r\n"
    );
    host.write(b"AT+UMQTTC=6,1\r").await;
    let mut want = format!(
        "\r\n+UMQTTC: 6,1,{},6,\"cmd/gw\",{},\"",
        6 + down.len(),
        down.len()
    )
    .into_bytes();
    want.extend_from_slice(down);
    want.extend_from_slice(b"\"\r\n\r\nOK\r\n");
    let got = host.read_until_bytes(&want[want.len() - 8..]).await;
    // The payload holds "OK\r\n" itself: read on until the whole answer is in.
    let mut got = got;
    while got.len() < want.len() {
        got.extend(host.read_until_bytes(b"OK\r\n").await);
    }
    assert_eq!(got, want);
    // Hex read of the same message sent again.
    test_client
        .publish("cmd/gw", QoS::AtLeastOnce, false, down.to_vec())
        .await
        .unwrap();
    assert_eq!(
        host.read_until("+UUMQTTC: 6,1\r\n").await,
        "\r\n+UUMQTTC: 6,1\r\n"
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=6,1,1").await,
        format!(
            "\r\n+UMQTTC: 6,1,{},6,\"cmd/gw\",{},\"78220D0A00FF4F4B0D0A\"\r\n\r\nOK\r\n",
            6 + down.len(),
            down.len()
        )
    );
    assert_eq!(ok(&mut host, "AT+UMQTTC=5,\"cmd/gw\"").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 5,1\r\n").await,
        "\r\n+UUMQTTC: 5,1\r\n"
    );

    // Logout.
    assert_eq!(ok(&mut host, "AT+UMQTTC=0").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 0,1\r\n").await,
        "\r\n+UUMQTTC: 0,1\r\n"
    );
    assert!(!sim.snapshot().await.unwrap().mqtt_connected);
    sim.shutdown();
}

#[tokio::test]
async fn login_to_a_port_nobody_listens_on_fails_and_umqtter_says_why() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path()).await;
    assert_eq!(
        ok(&mut host, &format!("AT+UMQTT=3,\"localhost\",{port}")).await,
        "\r\nOK\r\n"
    );
    assert_eq!(ok(&mut host, "AT+UMQTTC=1").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 1,0\r\n").await,
        "\r\n+UUMQTTC: 1,0\r\n"
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTER").await,
        "\r\n+UMQTTER: 35,1\r\n\r\nOK\r\n"
    );
    // An unknown name fails the same way, with its own code.
    assert_eq!(
        ok(&mut host, "AT+UMQTT=3,\"nowhere.test\",1883").await,
        "\r\nOK\r\n"
    );
    assert_eq!(ok(&mut host, "AT+UMQTTC=1").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 1,0\r\n").await,
        "\r\n+UUMQTTC: 1,0\r\n"
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTER").await,
        "\r\n+UMQTTER: 35,2\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn never_confirmed_publish_then_the_session_drops() {
    let port = broker().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path()).await;
    let (_test_client, mut received) = subscriber(port, "gw/#").await;
    login(&mut host, port).await;
    sim.mqtt_never_confirm_next(1);
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=2,1,0,0,\"gw/a\",\"first\"").await,
        "\r\nOK\r\n"
    );
    // Written to the broker all the same.
    assert_eq!(
        recv(&mut received).await,
        ("gw/a".to_string(), b"first".to_vec())
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=2,1,0,0,\"gw/a\",\"second\"").await,
        "\r\nOK\r\n"
    );
    // The first URC to come is the second publish's: the first never confirms.
    assert_eq!(host.read_until("\r\n").await, "\r\n");
    assert_eq!(host.read_until("\r\n").await, "+UUMQTTC: 2,1\r\n");
    assert_eq!(
        recv(&mut received).await,
        ("gw/a".to_string(), b"second".to_vec())
    );
    // Mid-publish drop: the session ends with 0,101.
    sim.mqtt_never_confirm_next(1);
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=2,1,0,0,\"gw/a\",\"third\"").await,
        "\r\nOK\r\n"
    );
    sim.mqtt_drop_session();
    assert_eq!(host.read_until("\r\n").await, "\r\n");
    assert_eq!(host.read_until("\r\n").await, "+UUMQTTC: 0,101\r\n");
    assert_eq!(
        ok(&mut host, "AT+UMQTTER").await,
        "\r\n+UMQTTER: 37,101\r\n\r\nOK\r\n"
    );
    host.write(b"AT+CMEE=1\r").await;
    host.read_until("OK\r\n").await;
    host.write(b"AT+UMQTTC=2,0,0,0,\"gw/a\",\"x\"\r").await;
    assert_eq!(
        host.read_until("\r\n+CME ERROR: 3\r\n").await,
        "\r\n+CME ERROR: 3\r\n"
    );
    // A new login works.
    login(&mut host, port).await;
    sim.shutdown();
}

#[tokio::test]
async fn the_broker_going_away_ends_the_session_with_0_101() {
    let port = broker().await;
    // A proxy the test can cut: the broker "goes away" for the module.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    // One connection (the module's), relayed until the task is aborted;
    // aborting it drops both sockets.
    let proxy = tokio::spawn(async move {
        if let Ok((mut inbound, _)) = listener.accept().await {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path()).await;
    login(&mut host, proxy_port).await;
    proxy.abort();
    assert_eq!(
        host.read_until("+UUMQTTC: 0,101\r\n").await,
        "\r\n+UUMQTTC: 0,101\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_stored_profile_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (sim, mut host) = started(dir.path()).await;
        for line in [
            "AT+UMQTT=0,\"gw-7\"",
            "AT+UMQTT=3,\"broker.test\",8883",
            "AT+UMQTT=10,45",
            "AT+UMQTTNV=2",
        ] {
            assert_eq!(ok(&mut host, line).await, "\r\nOK\r\n", "{line}");
        }
        assert_eq!(sim.snapshot().await.unwrap().nvm_writes, 1);
        sim.shutdown();
    }
    let (sim, mut host) = started(dir.path()).await;
    // Not loaded until asked (§6.1.4).
    assert!(ok(&mut host, "AT+UMQTT?")
        .await
        .starts_with("\r\n+UMQTT: 0,\"357862090033897\"\r\n"));
    assert_eq!(ok(&mut host, "AT+UMQTTNV=1").await, "\r\nOK\r\n");
    assert_eq!(
        ok(&mut host, "AT+UMQTT?").await,
        "\r\n+UMQTT: 0,\"gw-7\"\r\n\r\n+UMQTT: 2,\"\",8883\r\n\r\n+UMQTT: 3,\"broker.test\",8883\r\n\
         \r\n+UMQTT: 4,\"\"\r\n\r\n+UMQTT: 6,0\r\n\r\n+UMQTT: 7,0\r\n\r\n+UMQTT: 8,\"\"\r\n\
         \r\n+UMQTT: 9,0,\"\"\r\n\r\n+UMQTT: 10,45\r\n\r\n+UMQTT: 11,0\r\n\r\n+UMQTT: 12,1\r\n\
         \r\n+UMQTT: 20,1,0\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}
