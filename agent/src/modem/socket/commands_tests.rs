//! The socket commands: their text, their answers from the note's tables,
//! and exchanges with a scripted module (§5.4, §5.6, §5.7, §5.10.1).

use super::*;
use crate::modem::at::{AtError, Urc};
use crate::modem::test_peer::start;

fn answer(lines: &[&str]) -> Response {
    Response::from_lines(lines)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn commands_are_written_as_the_note_writes_them() {
    let create = |protocol, local_port, report_aon| {
        CreateSocket {
            protocol,
            local_port,
            report_aon,
        }
        .text()
    };
    assert_eq!(create(Protocol::Tcp, None, false), "AT+USOCR=6");
    assert_eq!(create(Protocol::Udp, None, false), "AT+USOCR=17");
    assert_eq!(
        create(Protocol::Udp, Some(12000), false),
        "AT+USOCR=17,12000"
    );
    assert_eq!(create(Protocol::Tcp, None, true), "AT+USOCR=6,,,1");
    assert_eq!(create(Protocol::Udp, None, true), "AT+USOCR=17,,,1");
    assert_eq!(
        create(Protocol::Udp, Some(5683), true),
        "AT+USOCR=17,5683,,1"
    );
    assert_eq!(ListSockets.text(), "AT+USOCR?");
    let connect = Connect {
        socket: 0,
        ip: ip("195.34.89.241"),
        port: 7,
    };
    assert_eq!(connect.text(), "AT+USOCO=0,\"195.34.89.241\",7");
    assert_eq!(connect.timeout(), Some(CONNECT_TIMEOUT));
    let write = WriteBinary {
        socket: 0,
        data: b"12".to_vec(),
    };
    assert_eq!(write.text(), "AT+USOWR=0,2");
    assert_eq!(write.data(), Some((Prompt::At, &b"12"[..])));
    let send = SendTo {
        socket: 0,
        ip: ip("195.34.89.241"),
        port: 7,
        data: b"12".to_vec(),
    };
    assert_eq!(send.text(), "AT+USOST=0,\"195.34.89.241\",7,2");
    assert_eq!(send.data(), Some((Prompt::At, &b"12"[..])));
    let v6 = SendTo {
        ip: ip("2001:db8::1"),
        ..send
    };
    assert_eq!(v6.text(), "AT+USOST=0,\"2001:db8::1\",7,2");
    assert_eq!(
        Read {
            socket: 0,
            max_len: 10
        }
        .text(),
        "AT+USORD=0,10"
    );
    assert_eq!(UnreadCount { socket: 0 }.text(), "AT+USORD=0,0");
    assert_eq!(
        ReceiveFrom {
            socket: 0,
            max_len: 2
        }
        .text(),
        "AT+USORF=0,2"
    );
    let ctl = |param| SocketControl { socket: 0, param }.text();
    assert_eq!(ctl(ControlParam::Type), "AT+USOCTL=0,0");
    assert_eq!(ctl(ControlParam::LastError), "AT+USOCTL=0,1");
    assert_eq!(ctl(ControlParam::TcpState), "AT+USOCTL=0,10");
    assert_eq!(ctl(ControlParam::UnackedBytes), "AT+USOCTL=0,11");
    assert_eq!(
        SetSocketOption::keepalive(0, true).text(),
        "AT+USOSO=0,65535,8,1"
    );
    assert_eq!(
        SetSocketOption::keepalive_idle(0, Duration::from_secs(30)).text(),
        "AT+USOSO=0,6,2,30000"
    );
    assert_eq!(Close { socket: 1 }.text(), "AT+USOCL=1");
}

#[test]
fn every_create_answer_of_the_note_is_typed() {
    let tcp_aon = CreateSocket {
        protocol: Protocol::Tcp,
        local_port: None,
        report_aon: true,
    };
    let udp = CreateSocket {
        protocol: Protocol::Udp,
        local_port: None,
        report_aon: false,
    };
    // §5.10.1
    assert_eq!(
        tcp_aon.parse(&answer(&["+USOCR: 0,6,1"])).unwrap(),
        Created {
            id: 0,
            aon: Some(true),
            local_port: None
        }
    );
    assert_eq!(
        tcp_aon.parse(&answer(&["+USOCR: 1,6,0"])).unwrap().aon,
        Some(false)
    );
    // §5.1, §5.10.1 without report_AoN: nothing said about AoN.
    assert_eq!(
        udp.parse(&answer(&["+USOCR: 2"])).unwrap(),
        Created {
            id: 2,
            aon: None,
            local_port: None
        }
    );
    // §5.6 with a local port.
    assert_eq!(
        udp.parse(&answer(&["+USOCR: 0,12000"])).unwrap(),
        Created {
            id: 0,
            aon: None,
            local_port: Some(12000)
        }
    );
    // The module answering for another protocol than asked is not believed.
    assert!(tcp_aon.parse(&answer(&["+USOCR: 0,17,1"])).is_err());
    assert!(tcp_aon.parse(&answer(&["+USOCR: 0,6,2"])).is_err());
    assert!(tcp_aon.parse(&answer(&["+USOCR: 0,6,1,9"])).is_err());
    assert!(tcp_aon.parse(&answer(&[])).is_err());
}

#[test]
fn the_socket_list_of_the_note_is_typed() {
    let list = ListSockets
        .parse(&answer(&[
            "+USOCR: 0,6,1",
            "+USOCR: 1,6,0",
            "+USOCR: 2,17,1",
            "+USOCR: 3,17,0",
        ]))
        .unwrap();
    let info = |id, protocol, aon| SocketInfo { id, protocol, aon };
    assert_eq!(
        list,
        vec![
            info(0, Protocol::Tcp, true),
            info(1, Protocol::Tcp, false),
            info(2, Protocol::Udp, true),
            info(3, Protocol::Udp, false),
        ]
    );
    assert_eq!(ListSockets.parse(&answer(&[])).unwrap(), vec![]);
    assert!(ListSockets.parse(&answer(&["+USOCR: 0,99,1"])).is_err());
}

#[test]
fn write_state_and_count_answers_are_typed() {
    let write = WriteBinary {
        socket: 0,
        data: b"12".to_vec(),
    };
    // §5.3.1 writes a blank after the comma.
    assert_eq!(write.parse(&answer(&["+USOWR: 0, 2"])).unwrap(), 2);
    // §5.4 scenario 4: the peer has closed.
    assert_eq!(write.parse(&answer(&["+USOWR: 0,0"])).unwrap(), 0);
    assert!(write.parse(&answer(&["+USOWR: 1,2"])).is_err());
    let ctl = SocketControl {
        socket: 0,
        param: ControlParam::TcpState,
    };
    assert_eq!(
        ctl.parse(&answer(&["+USOCTL: 0,10,4"])).unwrap(),
        TCP_ESTABLISHED
    );
    assert_eq!(ctl.parse(&answer(&["+USOCTL: 0,10,7"])).unwrap(), 7);
    assert!(ctl.parse(&answer(&["+USOCTL: 0,11,0"])).is_err());
    let unread = UnreadCount { socket: 0 };
    assert_eq!(unread.parse(&answer(&["+USORD: 0,0"])).unwrap(), 0);
    assert_eq!(unread.parse(&answer(&["+USORD: 0,25"])).unwrap(), 25);
}

#[test]
fn a_read_without_its_counted_payload_is_refused() {
    let read = Read {
        socket: 0,
        max_len: 10,
    };
    // A plain line (the codec found no payload of the announced length).
    let err = read.parse(&answer(&["+USORD: 0,10,\"abc\""])).unwrap_err();
    assert!(err.reason.contains("10 bytes"), "{err}");
    // The note's §5.7 typo: 2 announced, 10 quoted.
    let rf = ReceiveFrom {
        socket: 0,
        max_len: 10,
    };
    assert!(rf
        .parse(&answer(&[
            "+USORF: 0,\"195.34.89.241\" ,7,2,\"1234567890\""
        ]))
        .is_err());
    assert!(rf
        .parse(&answer(&["+USORF: 0,\"not an address\",7,0,\"\""]))
        .is_err());
}

/// §5.10.1 verbatim, the module side scripted: two TCP and two UDP sockets,
/// only the first of each protocol AoN; the list agrees.
#[tokio::test(start_paused = true)]
async fn the_socket_creation_table_of_5_10_1() {
    let (at, mut peer) = start();
    let module = async {
        let rows = [
            ("AT+USOCR=6,,,1", "+USOCR: 0,6,1"),
            ("AT+USOCR=6,,,1", "+USOCR: 1,6,0"),
            ("AT+USOCR=17", "+USOCR: 2"),
            ("AT+USOCR=17,,,1", "+USOCR: 3,17,0"),
        ];
        for (cmd, ans) in rows {
            assert_eq!(peer.command().await, cmd);
            peer.say(format!("\r\n{ans}\r\n\r\nOK\r\n").as_bytes())
                .await;
        }
        assert_eq!(peer.command().await, "AT+USOCR?");
        peer.say(
            b"\r\n+USOCR: 0,6,1\r\n+USOCR: 1,6,0\r\n+USOCR: 2,17,1\r\n+USOCR: 3,17,0\r\n\r\nOK\r\n",
        )
        .await;
    };
    let client = async {
        let create = |protocol, report_aon| CreateSocket {
            protocol,
            local_port: None,
            report_aon,
        };
        let a = at.send(&create(Protocol::Tcp, true)).await.unwrap();
        let b = at.send(&create(Protocol::Tcp, true)).await.unwrap();
        let c = at.send(&create(Protocol::Udp, false)).await.unwrap();
        let d = at.send(&create(Protocol::Udp, true)).await.unwrap();
        assert_eq!((a.id, a.aon), (0, Some(true)));
        assert_eq!((b.id, b.aon), (1, Some(false)));
        assert_eq!((c.id, c.aon), (2, None));
        assert_eq!((d.id, d.aon), (3, Some(false)));
        let list = at.send(&ListSockets).await.unwrap();
        assert_eq!(
            list.iter().map(|s| s.aon).collect::<Vec<_>>(),
            [true, false, true, false]
        );
    };
    tokio::join!(client, module);
}

/// §5.6 and §5.7: a datagram out through the `@` prompt, byte for byte, and
/// one in read in two parts, the second after the module's `+UUSORD` for
/// what is left. The payload holds every byte a line scanner trips on.
#[tokio::test(start_paused = true)]
async fn send_to_and_partial_receive_from() {
    let tricky: &[u8] = b"a\"b\r\nOK\r\n\0\xff@";
    let (at, mut peer) = start();
    let mut urcs = at.subscribe();
    let module = async {
        assert_eq!(
            peer.command().await,
            format!("AT+USOST=0,\"195.34.89.241\",7,{}", tricky.len())
        );
        peer.say(b"\r\n@").await;
        assert_eq!(peer.exact(tricky.len()).await, tricky);
        peer.say(format!("\r\n+USOST: 0,{}\r\n\r\nOK\r\n", tricky.len()).as_bytes())
            .await;
        // 20 bytes arrive; the host reads 10, 10 stay.
        peer.say(b"\r\n+UUSORD: 0,20\r\n").await;
        assert_eq!(peer.command().await, "AT+USORF=0,10");
        peer.say(b"\r\n+USORF: 0,\"195.34.89.241\" ,7,10,\"a\"b\r\nOK\r\n\"\"\r\n\r\nOK\r\n")
            .await;
        peer.say(b"\r\n+UUSORD: 0,10\r\n").await;
        assert_eq!(peer.command().await, "AT+USORF=0,10");
        peer.say(b"\r\n+USORF: 0,\"195.34.89.241\",7,10,\"\0\xff\"OK\"\r\n,,\"\r\n\r\nOK\r\n")
            .await;
    };
    let client = async {
        let sent = at
            .send(&SendTo {
                socket: 0,
                ip: ip("195.34.89.241"),
                port: 7,
                data: tricky.to_vec(),
            })
            .await
            .unwrap();
        assert_eq!(sent, tricky.len());
        let mut got = Vec::new();
        for _ in 0..2 {
            let pending = urcs
                .wait_for(Duration::from_secs(5), |u| match u {
                    Urc::SocketData { socket: 0, pending } => Some(*pending),
                    _ => None,
                })
                .await
                .unwrap();
            assert!(pending >= 10);
            let d = at
                .send(&ReceiveFrom {
                    socket: 0,
                    max_len: 10,
                })
                .await
                .unwrap();
            assert_eq!(d.remote_ip, ip("195.34.89.241"));
            assert_eq!(d.remote_port, 7);
            got.extend(d.data);
        }
        assert_eq!(got, b"a\"b\r\nOK\r\n\"\0\xff\"OK\"\r\n,,");
    };
    tokio::join!(client, module);
}

/// §5.4 scenario 4: partial reads of a TCP socket, a write after the peer
/// closed (`+USOWR: 0,0`), the rest read, then `+UUSOCL`.
#[tokio::test(start_paused = true)]
async fn partial_reads_then_the_peer_closes() {
    let (at, mut peer) = start();
    let mut urcs = at.subscribe();
    let module = async {
        peer.say(b"\r\n+UUSORD: 0,30\r\n").await;
        assert_eq!(peer.command().await, "AT+USORD=0,10");
        peer.say(b"\r\n+USORD: 0,10,\"hfgyrhgfty\"\r\n\r\nOK\r\n")
            .await;
        peer.say(b"\r\n+UUSORD: 0,25\r\n").await;
        assert_eq!(peer.command().await, "AT+USOWR=0,3");
        peer.say(b"\r\n@").await;
        assert_eq!(peer.exact(3).await, b"123");
        peer.say(b"\r\n+USOWR: 0,0\r\n\r\nOK\r\n").await;
        assert_eq!(peer.command().await, "AT+USORD=0,25");
        peer.say(b"\r\n+USORD: 0,25,\"23dfgt5uhj89ikdftevlpazwe\"\r\n\r\nOK\r\n")
            .await;
        peer.say(b"\r\n+UUSOCL: 0\r\n").await;
        assert_eq!(peer.command().await, "AT+USORD=0,5");
        peer.say(b"\r\nERROR\r\n").await;
    };
    let client = async {
        let first = urcs.recv().await.unwrap();
        assert_eq!(
            first,
            Urc::SocketData {
                socket: 0,
                pending: 30
            }
        );
        let part = at
            .send(&Read {
                socket: 0,
                max_len: 10,
            })
            .await
            .unwrap();
        assert_eq!(part, b"hfgyrhgfty");
        let left = urcs.recv().await.unwrap();
        assert_eq!(
            left,
            Urc::SocketData {
                socket: 0,
                pending: 25
            }
        );
        let sent = at
            .send(&WriteBinary {
                socket: 0,
                data: b"123".to_vec(),
            })
            .await
            .unwrap();
        assert_eq!(sent, 0, "the peer has closed");
        let rest = at
            .send(&Read {
                socket: 0,
                max_len: 25,
            })
            .await
            .unwrap();
        assert_eq!(rest, b"23dfgt5uhj89ikdftevlpazwe");
        assert_eq!(urcs.recv().await.unwrap(), Urc::SocketClosed { socket: 0 });
        let gone = at
            .send(&Read {
                socket: 0,
                max_len: 5,
            })
            .await;
        assert!(matches!(gone, Err(AtError::Error { .. })), "{gone:?}");
    };
    tokio::join!(client, module);
}
