//! The §5.10 rules as a table of sequences, and the manager against a
//! scripted module.

use super::*;
use crate::modem::at::Urc;
use crate::modem::test_peer::start;
use Protocol::{Tcp, Udp};

/// One step of a sequence. Ids are assigned like the module does: the
/// lowest free one.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Create; the table's prediction must be `expect`.
    Create(Protocol, bool),
    Close(SocketId),
    MakeSecure(SocketId),
    Listen(SocketId),
    /// `+UUSORD: <s>,<n>`.
    Data(SocketId, usize),
    Read(SocketId, usize),
    /// A TCP write of n bytes / the module's unacked count.
    Wrote(SocketId, usize),
    Unsent(SocketId, usize),
    /// `+UUSOCL: <s>`.
    ClosedByModule(SocketId),
}

fn run(ops: &[Op]) -> SocketTable {
    let mut t = SocketTable::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Create(protocol, expect) => {
                assert_eq!(t.predict_aon(protocol), expect, "step {step}: {op:?}");
                let id = (0..=6).find(|id| t.get(*id).is_none()).unwrap();
                let created = Created {
                    id,
                    aon: Some(expect),
                    local_port: None,
                };
                assert_eq!(t.created(protocol, &created, Role::Owned), None);
            }
            Op::Close(id) => {
                assert!(t.closed(id).is_some(), "step {step}");
            }
            Op::MakeSecure(id) => t.made_secure(id),
            Op::Listen(id) => t.made_listening(id),
            Op::Data(socket, pending) => {
                assert!(t.on_urc(&Urc::SocketData { socket, pending }));
            }
            Op::Read(id, n) => t.read(id, n),
            Op::Wrote(id, n) => t.wrote(id, n),
            Op::Unsent(id, n) => t.unsent_is(id, n),
            Op::ClosedByModule(socket) => {
                assert!(t.on_urc(&Urc::SocketClosed { socket }));
            }
        }
    }
    t
}

#[test]
fn the_aon_rules_as_sequences() {
    use Blocker::*;
    use Op::*;
    let cases: Vec<(&str, Vec<Op>, Vec<Blocker>)> = vec![
        ("nothing open, nothing blocks", vec![], vec![]),
        (
            "§5.10.1: first of each protocol AoN, second not",
            vec![
                Create(Tcp, true),
                Create(Tcp, false),
                Create(Udp, true),
                Create(Udp, false),
            ],
            vec![
                NotAon {
                    socket: 1,
                    protocol: Tcp,
                },
                NotAon {
                    socket: 3,
                    protocol: Udp,
                },
            ],
        ),
        (
            "closing the AoN one frees the slot for the next of its protocol",
            vec![
                Create(Udp, true),
                Create(Udp, false),
                Close(0),
                Create(Udp, true),
                Close(1),
            ],
            vec![],
        ),
        (
            "the module closing the AoN one frees the slot too",
            vec![Create(Tcp, true), ClosedByModule(0), Create(Tcp, true)],
            vec![],
        ),
        (
            "closing a non-AoN one does not make the next one AoN",
            vec![
                Create(Tcp, true),
                Create(Tcp, false),
                Close(1),
                Create(Tcp, false),
            ],
            vec![NotAon {
                socket: 1,
                protocol: Tcp,
            }],
        ),
        (
            "a secure socket loses AoN and keeps the slot until closed",
            vec![
                Create(Tcp, true),
                MakeSecure(0),
                Create(Tcp, false),
                Close(0),
            ],
            vec![NotAon {
                socket: 1,
                protocol: Tcp,
            }],
        ),
        (
            "secure and listening sockets are named as such",
            vec![
                Create(Tcp, true),
                MakeSecure(0),
                Create(Udp, true),
                Listen(1),
            ],
            vec![Secure { socket: 0 }, Listening { socket: 1 }],
        ),
        (
            "unread data on the AoN socket allows Sleep-1 only, until read",
            vec![Create(Udp, true), Data(0, 30), Read(0, 10)],
            vec![PendingData {
                socket: 0,
                unread: 20,
                unsent: 0,
            }],
        ),
        (
            "all read: nothing blocks",
            vec![Create(Udp, true), Data(0, 30), Read(0, 30)],
            vec![],
        ),
        (
            "a TCP write is pending until the module says it left",
            vec![Create(Tcp, true), Wrote(0, 5)],
            vec![PendingData {
                socket: 0,
                unread: 0,
                unsent: 5,
            }],
        ),
        (
            "acknowledged: nothing blocks",
            vec![Create(Tcp, true), Wrote(0, 5), Unsent(0, 0)],
            vec![],
        ),
        (
            "a UDP datagram leaves at once",
            vec![Create(Udp, true), Wrote(0, 5)],
            vec![],
        ),
    ];
    for (name, ops, blockers) in cases {
        let t = run(&ops);
        assert_eq!(t.deep_sleep_blockers(), blockers, "case: {name}");
    }
}

#[test]
fn the_module_is_believed_when_it_disagrees() {
    let mut t = SocketTable::new();
    let tcp = |id, aon| Created {
        id,
        aon,
        local_port: None,
    };
    // Predicted AoN, the module says not.
    let d = t.created(Tcp, &tcp(0, Some(false)), Role::Owned);
    assert_eq!(
        d,
        Some(AonDisagreement {
            socket: 0,
            predicted: true,
            reported: false
        })
    );
    assert!(!t.get(0).unwrap().aon);
    // With nothing said (no report_AoN), the prediction stands.
    assert_eq!(t.created(Udp, &tcp(1, None), Role::Owned), None);
    assert!(t.get(1).unwrap().aon);
    // The list wins over the table: 0 is AoN after all, 1 is gone, 2 is new.
    let listed = [
        SocketInfo {
            id: 0,
            protocol: Tcp,
            aon: true,
        },
        SocketInfo {
            id: 2,
            protocol: Udp,
            aon: false,
        },
    ];
    let differences = t.reconcile(&listed);
    assert_eq!(differences.len(), 3, "{differences:#?}");
    assert!(t.get(0).unwrap().aon);
    assert!(t.get(1).is_none());
    assert_eq!(t.get(2).unwrap().role, Role::Foreign);
    assert!(!t.predict_aon(Tcp));
    assert!(t.predict_aon(Udp));
    assert!(t.reconcile(&listed).is_empty());
}

/// The manager creates with report_AoN, keeps the doorbell and closes the
/// rest; a socket the module already dropped is forgotten, not an error.
#[tokio::test(start_paused = true)]
async fn close_owned_closes_what_the_window_opened_and_keeps_the_doorbell() {
    let (at, mut peer) = start();
    let module = async {
        let rows = [
            ("AT+USOCR=17,,,1", "+USOCR: 0,17,1"),
            ("AT+USOCR=6,,,1", "+USOCR: 1,6,1"),
            ("AT+USOCR=6,,,1", "+USOCR: 2,6,0"),
        ];
        for (cmd, ans) in rows {
            assert_eq!(peer.command().await, cmd);
            peer.say(format!("\r\n{ans}\r\n\r\nOK\r\n").as_bytes())
                .await;
        }
        peer.ok("AT+USOCL=1").await;
        assert_eq!(peer.command().await, "AT+USOCL=2");
        peer.say(b"\r\nERROR\r\n").await;
    };
    let client = async {
        let mut m = SocketManager::new(at.clone());
        let bell = m.open(Udp, None, Role::Kept).await.unwrap();
        let a = m.open(Tcp, None, Role::Owned).await.unwrap();
        let b = m.open(Tcp, None, Role::Owned).await.unwrap();
        assert_eq!((bell, a, b), (0, 1, 2));
        assert_eq!(
            m.deep_sleep_blockers(),
            vec![Blocker::NotAon {
                socket: 2,
                protocol: Tcp
            }]
        );
        assert_eq!(m.close_owned().await.unwrap(), vec![1, 2]);
        assert_eq!(
            m.table().sockets().map(|s| s.id).collect::<Vec<_>>(),
            vec![0]
        );
        assert!(m.deep_sleep_blockers().is_empty());
        m
    };
    let (m, ()) = tokio::join!(client, module);
    assert_eq!(
        peer.log,
        [
            "AT+USOCR=17,,,1",
            "AT+USOCR=6,,,1",
            "AT+USOCR=6,,,1",
            "AT+USOCL=1",
            "AT+USOCL=2"
        ]
    );
    drop(m);
}

/// §5.1: a refused connect closes the socket on the module; the table
/// forgets it, so it neither blocks sleep nor gets closed again.
#[tokio::test(start_paused = true)]
async fn a_refused_connect_forgets_the_socket() {
    let (at, mut peer) = start();
    let module = async {
        assert_eq!(peer.command().await, "AT+USOCR=6,,,1");
        peer.say(b"\r\n+USOCR: 0,6,1\r\n\r\nOK\r\n").await;
        assert_eq!(peer.command().await, "AT+USOCO=0,\"195.34.89.241\",7");
        peer.say(b"\r\nERROR\r\n\r\n+UUSOCL: 0\r\n").await;
    };
    let client = async {
        let mut m = SocketManager::new(at.clone());
        let id = m.open(Tcp, None, Role::Owned).await.unwrap();
        let r = m.connect(id, "195.34.89.241".parse().unwrap(), 7).await;
        assert!(r.is_err());
        assert!(m.table().get(id).is_none());
        assert_eq!(m.close_owned().await.unwrap(), Vec::<SocketId>::new());
    };
    tokio::join!(client, module);
}
