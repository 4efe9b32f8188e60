//! Sockets (§5) end to end: the module's UDP/TCP sockets are real loopback
//! sockets, the peers are the test's own.

use std::time::Duration;

use super::common::{fast_config, registered, Host, PtyHost, PATIENCE};
use lexi_sim::{SimHandle, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, UdpSocket};

async fn started() -> (SimHandle, Host<DuplexStream>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, io) = Simulator::spawn_duplex(fast_config(dir.path())).unwrap();
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    let mut host = Host::new(io);
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    registered(&sim).await;
    (sim, host, dir)
}

/// Payloads with what breaks naive parsers: quotes, CR LF, `OK`, NUL.
const NASTY: &[u8] = b"q\"\r\nOK\r\n\0z";

#[tokio::test]
async fn udp_echo_through_usost_uusord_usorf() {
    let (sim, mut host, _dir) = started().await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = peer.local_addr().unwrap().port();

    host.write(b"AT+USOCR=17\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCR: 0\r\n\r\nOK\r\n"
    );
    host.write(b"AT+USOCR=6,,,1\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCR: 1,6,1\r\n\r\nOK\r\n"
    );
    host.write(b"AT+USOCR?\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCR: 0,17,1\r\n\r\n+USOCR: 1,6,1\r\n\r\nOK\r\n"
    );

    host.write(format!("AT+USOST=0,\"127.0.0.1\",{port},{}\r", NASTY.len()).as_bytes())
        .await;
    assert_eq!(host.read_until("@").await, "\r\n@");
    tokio::time::sleep(Duration::from_millis(50)).await; // §5.3.1
    host.write(NASTY).await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        format!("\r\n+USOST: 0,{}\r\n\r\nOK\r\n", NASTY.len())
    );

    let mut buf = [0u8; 64];
    let (n, module) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], NASTY);
    let reply: &[u8] = b"\0\"back\"\r\n";
    peer.send_to(reply, module).await.unwrap();

    assert_eq!(
        host.read_until("\r\n+UUSORD: 0,9\r\n").await,
        "\r\n+UUSORD: 0,9\r\n"
    );
    host.write(b"AT+USORF=0,9\r").await;
    let mut want = format!("\r\n+USORF: 0,\"127.0.0.1\",{port},9,\"").into_bytes();
    want.extend_from_slice(reply);
    want.extend_from_slice(b"\"\r\n\r\nOK\r\n");
    assert_eq!(host.read_until_bytes(b"\r\nOK\r\n").await, want);

    let snap = sim.snapshot().await.unwrap();
    assert_eq!(snap.sockets[0].bytes_sent, NASTY.len() as u64);
    assert_eq!(snap.sockets[0].bytes_received, reply.len() as u64);
    assert_eq!(snap.sockets[0].unread, 0);
    sim.shutdown();
}

#[tokio::test]
async fn tcp_connect_write_read_and_peer_close() {
    let (sim, mut host, _dir) = started().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    host.write(b"AT+USOCR=6\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCR: 0\r\n\r\nOK\r\n"
    );
    host.write(format!("AT+USOCO=0,\"127.0.0.1\",{port}\r").as_bytes())
        .await;
    let (mut stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n");
    host.write(b"AT+USOCTL=0,10\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCTL: 0,10,4\r\n\r\nOK\r\n"
    );

    host.write(format!("AT+USOWR=0,{}\r", NASTY.len()).as_bytes())
        .await;
    assert_eq!(host.read_until("@").await, "\r\n@");
    host.write(NASTY).await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        format!("\r\n+USOWR: 0,{}\r\n\r\nOK\r\n", NASTY.len())
    );
    let mut got = vec![0u8; NASTY.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, NASTY);

    stream.write_all(NASTY).await.unwrap();
    let urc = format!("\r\n+UUSORD: 0,{}\r\n", NASTY.len());
    assert_eq!(host.read_until(&urc).await, urc);
    host.write(format!("AT+USORD=0,{}\r", NASTY.len()).as_bytes())
        .await;
    let mut want = format!("\r\n+USORD: 0,{},\"", NASTY.len()).into_bytes();
    want.extend_from_slice(NASTY);
    want.extend_from_slice(b"\"\r\n\r\nOK\r\n");
    // `OK\r\n` is inside the payload too: wait for the one after the quote.
    assert_eq!(host.read_until_bytes(b"\"\r\n\r\nOK\r\n").await, want);

    drop(stream);
    assert_eq!(
        host.read_until("\r\n+UUSOCL: 0\r\n").await,
        "\r\n+UUSOCL: 0\r\n"
    );
    let snap = sim.snapshot().await.unwrap();
    assert!(snap.sockets.is_empty(), "{:?}", snap.sockets);
    sim.shutdown();
}

#[tokio::test]
async fn a_refused_connect_answers_error_then_uusocl() {
    let (sim, mut host, _dir) = started().await;
    // A port nobody listens on: bound, then released.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    host.write(b"AT+USOCR=6\r").await;
    host.read_until("OK\r\n").await;
    host.write(format!("AT+USOCO=0,\"127.0.0.1\",{port}\r").as_bytes())
        .await;
    assert_eq!(
        host.read_until("\r\n+UUSOCL: 0\r\n").await,
        "\r\nERROR\r\n\r\n+UUSOCL: 0\r\n"
    );
    host.write(b"AT+USOCR?\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n");
    sim.shutdown();
}

#[tokio::test]
async fn a_datagram_to_the_aon_socket_wakes_a_hibernating_module() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, path) = Simulator::spawn_pty(fast_config(dir.path())).unwrap();
    let mut host = Host::new(PtyHost::open(&path).unwrap());
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    registered(&sim).await;
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    host.write(b"AT+USOCR=17,,,1\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+USOCR: 0,17,1\r\n\r\nOK\r\n"
    );
    // The UDP socket binds in the background: wait for its port.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let port = loop {
        let snap = sim.snapshot().await.unwrap();
        if let Some(port) = snap.sockets[0].local_port {
            break port;
        }
        assert!(tokio::time::Instant::now() < deadline, "never bound");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // 1000 s of module time is 1 s here.
    host.write(b"AT+USLPURC=\"HIBNATE\",1;+UPSV=1,1000000,4\r")
        .await;
    host.read_until("OK\r\n").await;
    assert_eq!(
        host.read_until("+UUSLPURC: HIB 1\r\n").await,
        "\r\n+UUSLPURC: HIB 1\r\n"
    );

    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    server.send_to(b"ring", ("127.0.0.1", port)).await.unwrap();
    assert_eq!(
        host.read_until("+UUSORD: 0,4\r\n").await,
        "\r\n+UUSLPURC: HIB 0\r\n\r\n+UUSORD: 0,4\r\n"
    );
    // Echo is back on: Hibernate lost it; the AoN socket and its data stayed.
    host.write(b"AT+USORF=0,4\r").await;
    let server_port = server.local_addr().unwrap().port();
    assert_eq!(
        host.read_until("\r\nOK\r\n").await,
        format!("AT+USORF=0,4\r\r\n+USORF: 0,\"127.0.0.1\",{server_port},4,\"ring\"\r\n\r\nOK\r\n")
    );
    sim.shutdown();
}
