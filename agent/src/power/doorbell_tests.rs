//! The doorbell's parser and line buffer, and the doorbell against a
//! scripted module: the §5.10.2 read scenario on a UDP and a TCP socket.

use std::time::Duration;

use super::*;
use crate::modem::socket::Blocker;
use crate::modem::test_peer::{start, Peer};
use DoorbellCommand::{Session, Upload};

#[test]
fn messages_parse_into_commands_and_nothing_else() {
    let long_line = [b'u'; MAX_MESSAGE + 1];
    let many = "upload\n".repeat(MAX_LINES) + "session\n";
    let cases: Vec<(&str, &[u8], Vec<DoorbellCommand>)> = vec![
        ("bare", b"upload", vec![Upload]),
        ("CR LF, case and blanks", b"  UPLOAD\r\n", vec![Upload]),
        ("session", b"session", vec![Session]),
        (
            "several, each once, in order",
            b"session\nupload\r\nsession\n",
            vec![Session, Upload],
        ),
        ("unknown", b"reboot", vec![]),
        ("unknown among known", b"rm -rf /\nupload", vec![Upload]),
        ("empty", b"", vec![]),
        ("blank lines", b"\n\r\n  \n", vec![]),
        ("not UTF-8, NUL", b"\xff\xfe\0upload", vec![]),
        ("command with NUL appended", b"upload\0", vec![]),
        ("a too long line", &long_line, vec![]),
        ("only the first lines count", many.as_bytes(), vec![Upload]),
        ("no prefix match", b"uploadx\nsessions", vec![]),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(parse_message(bytes), want, "case: {name}");
    }
}

#[test]
fn the_line_buffer_joins_pieces_and_drops_overlong_lines() {
    let mut b = LineBuffer::default();
    assert_eq!(b.push(b"sess"), b"");
    assert_eq!(b.push(b"ion\nup"), b"session\n");
    assert_eq!(b.push(b"load\n"), b"upload\n");
    // A runaway line is dropped whole, even its tail that reads "upload".
    let mut runaway = vec![b'x'; MAX_MESSAGE];
    runaway.extend_from_slice(b"upload\nsession\n");
    assert_eq!(b.push(&runaway), b"session\n");
    assert_eq!(b, LineBuffer::default());
}

/// `[doorbell]` with `enabled = true`, `server = "203.0.113.7"`, `port =
/// 5683`, for device `gw-7` (the config's tests check that it is so).
fn udp_config() -> DoorbellSettings {
    DoorbellSettings {
        protocol: Protocol::Udp,
        server: "203.0.113.7".parse().unwrap(),
        port: 5683,
        keepalive: None,
        hello: b"gw-7".to_vec(),
    }
}

async fn answer(peer: &mut Peer, cmd: &str, lines: &[u8]) {
    assert_eq!(peer.command().await, cmd);
    peer.say(lines).await;
}

/// Waits for the URC that makes the doorbell ask for a read.
async fn next_ring(
    urcs: &mut crate::modem::at::UrcSubscription,
    bell: &mut Doorbell,
    sockets: &mut SocketManager,
) -> Option<ReadRequest> {
    loop {
        let urc = tokio::time::timeout(Duration::from_secs(5), urcs.recv())
            .await
            .ok()??;
        sockets.on_urc(&urc);
        if let Some(r) = bell.on_urc(&urc) {
            return Some(r);
        }
        if !bell.is_open() {
            return None;
        }
    }
}

/// Open with a hello, then the module wakes from Hibernate for a datagram
/// (§5.10.2), which is read with `+USORF`; a datagram from someone else is
/// ignored; the module closing the socket asks for a reopen.
#[tokio::test(start_paused = true)]
async fn udp_doorbell_rings_from_hibernate() {
    let (at, mut peer) = start();
    let mut urcs = at.subscribe();
    let module = async {
        answer(
            &mut peer,
            "AT+USOCR=17,,,1",
            b"\r\n+USOCR: 0,17,1\r\n\r\nOK\r\n",
        )
        .await;
        answer(&mut peer, "AT+USOST=0,\"203.0.113.7\",5683,4", b"\r\n@").await;
        assert_eq!(peer.exact(4).await, b"gw-7");
        peer.say(b"\r\n+USOST: 0,4\r\n\r\nOK\r\n").await;
        peer.say(b"\r\n+UUSLPURC: HIB 1\r\n").await;
        peer.say(b"\r\n+UUSLPURC: HIB 0\r\n\r\n+UUSORD: 0,8\r\n")
            .await;
        answer(
            &mut peer,
            "AT+USORF=0,1024",
            b"\r\n+USORF: 0,\"203.0.113.7\",5683,8,\"upload\r\n\"\r\n\r\nOK\r\n",
        )
        .await;
        peer.say(b"\r\n+UUSORD: 0,7\r\n").await;
        answer(
            &mut peer,
            "AT+USORF=0,1024",
            b"\r\n+USORF: 0,\"198.51.100.9\",5683,7,\"session\"\r\n\r\nOK\r\n",
        )
        .await;
        peer.say(b"\r\n+UUSOCL: 0\r\n").await;
    };
    let client = async {
        let mut sockets = SocketManager::new(at.clone());
        let mut bell = Doorbell::open(&mut sockets, &udp_config()).await.unwrap();
        assert_eq!(bell.socket(), 0);
        assert!(sockets.deep_sleep_blockers().is_empty());
        let ring = next_ring(&mut urcs, &mut bell, &mut sockets).await.unwrap();
        assert_eq!(
            ring,
            ReadRequest {
                socket: 0,
                pending: 8
            }
        );
        // Unread data on the AoN socket: Sleep-1 only until it is read.
        assert_eq!(sockets.deep_sleep_blockers().len(), 1);
        assert_eq!(bell.read(&mut sockets, ring).await.unwrap(), vec![Upload]);
        assert!(sockets.deep_sleep_blockers().is_empty());
        let ring = next_ring(&mut urcs, &mut bell, &mut sockets).await.unwrap();
        assert_eq!(bell.read(&mut sockets, ring).await.unwrap(), vec![]);
        assert_eq!(next_ring(&mut urcs, &mut bell, &mut sockets).await, None);
        assert!(!bell.is_open());
        // `close_owned` never touched the doorbell; the module closed it.
        assert!(sockets.table().get(0).is_none());
    };
    tokio::join!(client, module);
}

/// A doorbell the module does not make AoN is closed again and refused.
#[tokio::test(start_paused = true)]
async fn a_doorbell_that_is_not_always_on_is_closed() {
    let (at, mut peer) = start();
    let module = async {
        answer(
            &mut peer,
            "AT+USOCR=17,,,1",
            b"\r\n+USOCR: 1,17,0\r\n\r\nOK\r\n",
        )
        .await;
        peer.ok("AT+USOCL=1").await;
    };
    let client = async {
        let mut sockets = SocketManager::new(at.clone());
        let r = Doorbell::open(&mut sockets, &udp_config()).await;
        assert!(
            matches!(r, Err(DoorbellError::NotAlwaysOn { socket: 1 })),
            "{r:?}"
        );
        assert!(sockets.table().sockets().next().is_none());
    };
    tokio::join!(client, module);
}

/// TCP: connect, keep-alive (§5.5), hello by `+USOWR`; a command split
/// across two `+USORD` reads (§5.4 partial reads) is acted on once whole.
#[tokio::test(start_paused = true)]
async fn tcp_doorbell_reads_commands_across_partial_reads() {
    let (at, mut peer) = start();
    let mut urcs = at.subscribe();
    let config = DoorbellSettings {
        protocol: Protocol::Tcp,
        keepalive: Some(std::time::Duration::from_secs(60)),
        hello: b"hello gw".to_vec(),
        ..udp_config()
    };
    let module = async {
        answer(
            &mut peer,
            "AT+USOCR=6,,,1",
            b"\r\n+USOCR: 0,6,1\r\n\r\nOK\r\n",
        )
        .await;
        peer.ok("AT+USOCO=0,\"203.0.113.7\",5683").await;
        peer.ok("AT+USOSO=0,65535,8,1").await;
        peer.ok("AT+USOSO=0,6,2,60000").await;
        answer(&mut peer, "AT+USOWR=0,8", b"\r\n@").await;
        assert_eq!(peer.exact(8).await, b"hello gw");
        peer.say(b"\r\n+USOWR: 0,8\r\n\r\nOK\r\n").await;
        answer(
            &mut peer,
            "AT+USOCTL=0,11",
            b"\r\n+USOCTL: 0,11,3\r\n\r\nOK\r\n",
        )
        .await;
        answer(
            &mut peer,
            "AT+USOCTL=0,11",
            b"\r\n+USOCTL: 0,11,0\r\n\r\nOK\r\n",
        )
        .await;
        peer.say(b"\r\n+UUSORD: 0,4\r\n").await;
        answer(
            &mut peer,
            "AT+USORD=0,4",
            b"\r\n+USORD: 0,4,\"sess\"\r\n\r\nOK\r\n",
        )
        .await;
        peer.say(b"\r\n+UUSORD: 0,6\r\n").await;
        answer(
            &mut peer,
            "AT+USORD=0,6",
            b"\r\n+USORD: 0,6,\"ion\nup\"\r\n\r\nOK\r\n",
        )
        .await;
    };
    let client = async {
        let mut sockets = SocketManager::new(at.clone());
        let mut bell = Doorbell::open(&mut sockets, &config).await.unwrap();
        // The hello is in the TX queue until the module says it left.
        let pending = |s: &SocketManager| s.deep_sleep_blockers();
        assert_eq!(
            pending(&sockets),
            vec![Blocker::PendingData {
                socket: 0,
                unread: 0,
                unsent: 8
            }]
        );
        sockets.refresh_pending().await.unwrap();
        assert_eq!(pending(&sockets).len(), 1);
        sockets.refresh_pending().await.unwrap();
        assert!(pending(&sockets).is_empty());
        let ring = next_ring(&mut urcs, &mut bell, &mut sockets).await.unwrap();
        assert_eq!(bell.read(&mut sockets, ring).await.unwrap(), vec![]);
        let ring = next_ring(&mut urcs, &mut bell, &mut sockets).await.unwrap();
        assert_eq!(bell.read(&mut sockets, ring).await.unwrap(), vec![Session]);
    };
    tokio::join!(client, module);
}
