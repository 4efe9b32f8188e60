//! The socket chapter (§5) and its AoN rules (§5.10) on the pure module: the
//! note's tables as the expected answers, job events made up by hand.

use std::net::SocketAddr;

use super::*;
use crate::jobs::{SocketCommand, SocketEvent, SocketJob};
use crate::module::sleep::SleepLimit;

fn sock(h: &mut Harness, job: JobId, event: SocketEvent) -> String {
    h.job(job, JobEvent::Socket(event))
}

fn peer() -> SocketAddr {
    "195.34.89.241:7".parse().unwrap()
}

/// Socket commands handed to jobs since the last `take_effects`.
fn commands(h: &mut Harness) -> Vec<(JobId, SocketCommand)> {
    h.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::SocketCommand(id, c) => Some((id, c)),
            _ => None,
        })
        .collect()
}

/// Socket 0: TCP, connected to `peer()`; returns its job.
fn tcp_connected(h: &mut Harness) -> JobId {
    assert_eq!(h.answer("AT+USOCR=6"), ok_with(&["+USOCR: 0"]));
    assert_eq!(h.answer("AT+USOCO=0,\"195.34.89.241\",7"), "");
    let (job, started) = h.started_job();
    assert_eq!(started, Job::Socket(SocketJob::Tcp { remote: peer() }));
    assert_eq!(sock(h, job, SocketEvent::Connected), OK);
    job
}

/// Socket 0: UDP; returns its job.
fn udp_socket(h: &mut Harness) -> JobId {
    assert_eq!(h.answer("AT+USOCR=17"), ok_with(&["+USOCR: 0"]));
    let (job, started) = h.started_job();
    assert_eq!(started, Job::Socket(SocketJob::Udp { local_port: 0 }));
    job
}

fn limit(h: &Harness) -> SleepLimit {
    h.m.socket_sleep_limit()
}

// ---- creation and AoN (§5.10) -------------------------------------------

#[test]
fn the_notes_socket_creation_table_5_10_1() {
    let mut h = Harness::ready(config());
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 0,6,1"]));
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 1,6,0"]));
    assert_eq!(h.answer("AT+USOCR=17"), ok_with(&["+USOCR: 2"]));
    assert_eq!(h.answer("AT+USOCR=17,,,1"), ok_with(&["+USOCR: 3,17,0"]));
    assert_eq!(
        h.answer("AT+USOCR?"),
        ok_with(&[
            "+USOCR: 0,6,1",
            "+USOCR: 1,6,0",
            "+USOCR: 2,17,1",
            "+USOCR: 3,17,0"
        ])
    );
}

#[test]
fn a_local_port_is_echoed_and_bound_5_6() {
    let mut h = Harness::ready(config());
    assert_eq!(h.answer("AT+USOCR=17,12000"), ok_with(&["+USOCR: 0,12000"]));
    assert_eq!(
        h.started_job().1,
        Job::Socket(SocketJob::Udp { local_port: 12000 })
    );
    // report_AoN wins over the local-port form.
    assert_eq!(
        h.answer("AT+USOCR=17,12001,0,1"),
        ok_with(&["+USOCR: 1,17,0"])
    );
    assert_eq!(
        h.answer("AT+USOCR?"),
        ok_with(&["+USOCR: 0,17,1", "+USOCR: 1,17,0"])
    );
}

#[test]
fn bad_creations_are_refused() {
    let mut h = Harness::ready(config());
    let cme = |code: u16| format!("\r\n+CME ERROR: {code}\r\n");
    h.answer("AT+CMEE=1");
    assert_eq!(h.answer("AT+USOCR=7"), cme(50));
    assert_eq!(h.answer("AT+USOCR=6,,,2"), cme(50));
    assert_eq!(h.answer("AT+USOCR=6,70000"), cme(50));
    assert_eq!(h.answer("AT+USOCR=6,,1"), cme(4)); // IPv6
    for id in 0..6 {
        assert_eq!(h.answer("AT+USOCR=6"), ok_with(&[&format!("+USOCR: {id}")]));
    }
    // At most 6 sockets (§5.11).
    assert_eq!(h.answer("AT+USOCR=6"), cme(3));
    assert_eq!(h.answer("AT+USOCL=6"), cme(50));
}

#[test]
fn closing_the_aon_socket_makes_the_next_one_of_its_protocol_aon() {
    let mut h = Harness::ready(config());
    h.answer("AT+USOCR=6,,,1"); // 0 AoN
    h.answer("AT+USOCR=6,,,1"); // 1 not
    h.answer("AT+USOCR=17,,,1"); // 2 AoN
    assert_eq!(h.answer("AT+USOCL=0"), OK);
    // The one left open does not become AoN...
    assert_eq!(
        h.answer("AT+USOCR?"),
        ok_with(&["+USOCR: 1,6,0", "+USOCR: 2,17,1"])
    );
    // ...the next created TCP socket does; UDP still has its AoN socket.
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 0,6,1"]));
    assert_eq!(h.answer("AT+USOCR=17,,,1"), ok_with(&["+USOCR: 3,17,0"]));
    // Closing a non-AoN one changes nothing.
    assert_eq!(h.answer("AT+USOCL=1"), OK);
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 1,6,0"]));
}

#[test]
fn secure_and_listening_sockets_lose_aon() {
    let mut h = Harness::ready(config());
    h.answer("AT+USOCR=6,,,1");
    h.answer("AT+USOCR=17,,,1");
    h.take_effects();
    assert_eq!(limit(&h), SleepLimit::Deep);
    assert_eq!(h.answer("AT+USOSEC=0,1,0"), OK);
    assert_eq!(h.answer("AT+USOLI=1,1099"), OK);
    assert_eq!(
        h.answer("AT+USOCR?"),
        ok_with(&["+USOCR: 0,6,0", "+USOCR: 1,17,0"])
    );
    assert_eq!(limit(&h), SleepLimit::Sleep1);
    // [model] they keep their protocol's AoN slot until closed.
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 2,6,0"]));
    assert_eq!(h.answer("AT+USOCL=0"), OK);
    assert_eq!(h.answer("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 0,6,1"]));
    // At most 2 secure sockets (§5.11).
    h.answer("AT+CMEE=1");
    assert_eq!(h.answer("AT+USOSEC=0,1"), OK);
    assert_eq!(h.answer("AT+USOSEC=2,1"), OK);
    assert_eq!(h.answer("AT+USOSEC=1,1"), "\r\n+CME ERROR: 3\r\n");
}

#[test]
fn sleep_limits_of_the_sockets() {
    let mut h = Harness::ready(config());
    assert_eq!(limit(&h), SleepLimit::Deep, "no socket");
    let udp = udp_socket(&mut h);
    assert_eq!(limit(&h), SleepLimit::Deep, "an idle AoN socket");
    sock(
        &mut h,
        udp,
        SocketEvent::Received {
            from: peer(),
            data: b"ab".to_vec(),
        },
    );
    assert_eq!(
        limit(&h),
        SleepLimit::Sleep1,
        "unread data on the AoN socket"
    );
    h.answer("AT+USORF=0,2");
    assert_eq!(limit(&h), SleepLimit::Deep, "read");
    h.answer("AT+USOST=0,\"195.34.89.241\",7,2,\"hi\"");
    assert_eq!(limit(&h), SleepLimit::Awake, "a write in progress");
    sock(&mut h, udp, SocketEvent::Sent(2));
    assert_eq!(limit(&h), SleepLimit::Deep, "written");
    h.answer("AT+USOST=0,\"195.34.89.241\",7,3");
    assert_eq!(
        limit(&h),
        SleepLimit::Awake,
        "a binary write reading its bytes"
    );
    h.run(Input::Bytes(b"xyz"));
    sock(&mut h, udp, SocketEvent::Sent(3));
    assert_eq!(limit(&h), SleepLimit::Deep);

    assert_eq!(h.answer("AT+USOCR=17"), ok_with(&["+USOCR: 1"]));
    assert_eq!(limit(&h), SleepLimit::Sleep1, "a non-AoN socket");
    h.answer("AT+USOCL=1");
    h.take_effects();
    assert_eq!(limit(&h), SleepLimit::Deep);

    h.answer("AT+USOCR=6");
    h.answer("AT+USOCO=1,\"195.34.89.241\",7");
    assert_eq!(limit(&h), SleepLimit::Awake, "a connect in progress");
    let (tcp, _) = h.started_job();
    sock(&mut h, tcp, SocketEvent::Connected);
    assert_eq!(
        limit(&h),
        SleepLimit::Deep,
        "connected AoN TCP, nothing pending"
    );
}

// ---- TCP (§5.1, §5.3, §5.4, §5.8, §5.9) ---------------------------------

#[test]
fn connect_answers_when_the_connection_is_up() {
    let mut h = Harness::ready(config());
    tcp_connected(&mut h);
    assert_eq!(h.answer("AT+USOCTL=0,10"), ok_with(&["+USOCTL: 0,10,4"]));
    assert_eq!(h.answer("AT+USOCTL=0,0"), ok_with(&["+USOCTL: 0,0,6"]));
    assert_eq!(h.answer("AT+USOCTL=0,1"), ok_with(&["+USOCTL: 0,1,0"]));
    assert_eq!(h.answer("AT+USOCTL=0,11"), ok_with(&["+USOCTL: 0,11,0"]));
}

#[test]
fn the_interface_waits_for_the_connect_and_urcs_wait_with_it() {
    let mut h = Harness::ready(config());
    h.answer("AT+USOCR=17");
    let (udp, _) = h.started_job();
    h.answer("AT+USOCR=6");
    assert_eq!(h.answer("AT+USOCO=1,\"195.34.89.241\",7"), "");
    let (tcp, _) = h.started_job();
    // Data for the UDP socket meanwhile: its URC follows the answer.
    assert_eq!(
        sock(
            &mut h,
            udp,
            SocketEvent::Received {
                from: peer(),
                data: b"x".to_vec()
            }
        ),
        ""
    );
    // [model] a command sent meanwhile is lost.
    assert_eq!(h.send("AT"), "");
    assert_eq!(
        sock(&mut h, tcp, SocketEvent::Connected),
        format!("{OK}{}", urcs(&["+UUSORD: 0,1"]))
    );
    assert_eq!(h.answer("AT"), OK);
}

#[test]
fn a_failed_connect_answers_error_and_closes_the_socket() {
    let mut h = Harness::ready(config());
    h.answer("AT+USOCR=6");
    h.answer("AT+USOCO=0,\"195.34.89.241\",7");
    let (job, _) = h.started_job();
    assert_eq!(
        sock(&mut h, job, SocketEvent::Failed),
        format!("{ERROR}{}", urcs(&["+UUSOCL: 0"]))
    );
    assert_eq!(h.answer("AT+USOCR?"), OK);
    assert_eq!(h.answer("AT+USOER"), ok_with(&["+USOER: 111"]));
}

#[test]
fn binary_write_takes_exactly_len_raw_bytes_5_3_1() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    assert_eq!(h.answer("AT+USOWR=0,6"), "\r\n@");
    // A URC raised meanwhile waits for the answer.
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: b"r".to_vec()
            }
        ),
        ""
    );
    assert_eq!(h.run(Input::Bytes(b"a\"\r\n\0")), "");
    assert_eq!(
        h.run(Input::Bytes(b"zAT\r")),
        format!(
            "{}{}{}",
            ok_with(&["+USOWR: 0,6"]),
            urcs(&["+UUSORD: 0,1"]),
            format_args!("AT\r{OK}")
        )
    );
    assert_eq!(
        commands(&mut h),
        vec![(job, SocketCommand::Send(b"a\"\r\n\0z".to_vec()))]
    );
    assert_eq!(h.answer("AT+USOCTL=0,11"), ok_with(&["+USOCTL: 0,11,6"]));
    sock(&mut h, job, SocketEvent::Sent(6));
    assert_eq!(h.answer("AT+USOCTL=0,11"), ok_with(&["+USOCTL: 0,11,0"]));
    assert_eq!(h.m.snapshot().sockets[0].bytes_sent, 6);
}

#[test]
fn base_syntax_write_5_3_2() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    assert_eq!(h.answer("AT+USOWR=0,2,\"12\""), ok_with(&["+USOWR: 0,2"]));
    assert_eq!(
        commands(&mut h),
        vec![(job, SocketCommand::Send(b"12".to_vec()))]
    );
    h.answer("AT+CMEE=1");
    assert_eq!(h.answer("AT+USOWR=0,3,\"12\""), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.answer("AT+USOWR=0,1025"), "\r\n+CME ERROR: 50\r\n");
    // Not connected: no write.
    h.answer("AT+USOCR=6");
    assert_eq!(h.answer("AT+USOWR=1,2,\"12\""), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.answer("AT+USOWR=5,2,\"12\""), "\r\n+CME ERROR: 3\r\n");
}

#[test]
fn tcp_read_scenarios_2_and_3_of_5_4() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    let data: Vec<u8> = b"hfgyrhgftyhfgbchs7[o0123456789".to_vec();
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: data.clone()
            }
        ),
        urcs(&["+UUSORD: 0,30"])
    );
    assert_eq!(
        h.answer("AT+USORD=0,10"),
        format!(
            "{}{}",
            ok_with(&["+USORD: 0,10,\"hfgyrhgfty\""]),
            urcs(&["+UUSORD: 0,20"])
        )
    );
    // More arrives while the buffer holds data: no URC now...
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: b"abcde".to_vec()
            }
        ),
        ""
    );
    // ...the next read reports everything left.
    assert_eq!(
        h.answer("AT+USORD=0,10"),
        format!(
            "{}{}",
            ok_with(&["+USORD: 0,10,\"hfgbchs7[o\""]),
            urcs(&["+UUSORD: 0,15"])
        )
    );
    assert_eq!(h.answer("AT+USORD=0,0"), ok_with(&["+USORD: 0,15"]));
    assert_eq!(
        h.answer("AT+USORD=0,100"),
        ok_with(&["+USORD: 0,15,\"0123456789abcde\""])
    );
    assert_eq!(h.answer("AT+USORD=0,0"), ok_with(&["+USORD: 0,0"]));
    assert_eq!(h.m.snapshot().sockets[0].bytes_received, 35);
    // Empty again: the next data is announced by its own length.
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: b"xy".to_vec()
            }
        ),
        urcs(&["+UUSORD: 0,2"])
    );
}

#[test]
fn read_answers_carry_raw_bytes_by_length() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    sock(
        &mut h,
        job,
        SocketEvent::Received {
            from: peer(),
            data: b"a\"\r\nOK\r\n\0".to_vec(),
        },
    );
    let answer = h.answer("AT+USORD=0,9");
    assert_eq!(answer, "\r\n+USORD: 0,9,\"a\"\r\nOK\r\n\0\"\r\n\r\nOK\r\n");
}

#[test]
fn peer_close_with_unread_data_scenario_4_of_5_4() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    sock(
        &mut h,
        job,
        SocketEvent::Received {
            from: peer(),
            data: vec![b'x'; 35],
        },
    );
    h.answer("AT+USORD=0,10");
    // The peer closes: the data stays readable, no URC yet.
    assert_eq!(sock(&mut h, job, SocketEvent::PeerClosed), "");
    assert_eq!(h.answer("AT+USOCTL=0,10"), ok_with(&["+USOCTL: 0,10,7"]));
    assert_eq!(h.answer("AT+USOWR=0,3"), "\r\n@");
    assert_eq!(h.run(Input::Bytes(b"123")), ok_with(&["+USOWR: 0,0"]));
    assert_eq!(commands(&mut h), vec![]);
    let rest = "x".repeat(25);
    assert_eq!(
        h.answer("AT+USORD=0,25"),
        format!(
            "{}{}",
            ok_with(&[&format!("+USORD: 0,25,\"{rest}\"")]),
            urcs(&["+UUSOCL: 0"])
        )
    );
    assert_eq!(h.answer("AT+USOCR?"), OK);
}

#[test]
fn peer_close_of_an_empty_socket_is_reported_at_once_5_9() {
    let mut h = Harness::ready(config());
    let job = tcp_connected(&mut h);
    assert_eq!(
        sock(&mut h, job, SocketEvent::PeerClosed),
        urcs(&["+UUSOCL: 0"])
    );
    // Our own close is silent and tells the job.
    let job = {
        h.answer("AT+USOCR=6");
        h.answer("AT+USOCO=0,\"195.34.89.241\",7");
        let (job, _) = h.started_job();
        sock(&mut h, job, SocketEvent::Connected);
        job
    };
    assert_eq!(h.answer("AT+USOCL=0"), OK);
    assert_eq!(commands(&mut h), vec![(job, SocketCommand::Close)]);
    // Events from the closed socket's job are ignored.
    assert_eq!(sock(&mut h, job, SocketEvent::PeerClosed), "");
}

#[test]
fn socket_options_and_errors() {
    let mut h = Harness::ready(config());
    h.answer("AT+USOCR=6");
    assert_eq!(h.answer("AT+USOSO=0,65535,8,1"), OK);
    assert_eq!(h.answer("AT+USOSO=0,6,2,30000"), OK);
    assert_eq!(h.answer("AT+USOCTL=0,10"), ok_with(&["+USOCTL: 0,10,0"]));
    h.answer("AT+CMEE=1");
    assert_eq!(h.answer("AT+USOSO=1,6,2,30000"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.answer("AT+USOER"), ok_with(&["+USOER: 107"]));
    assert_eq!(h.answer("AT+USOCTL=0,12"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(
        h.answer("AT+USOCO=0,\"not-an-ip\",7"),
        "\r\n+CME ERROR: 50\r\n"
    );
}

// ---- UDP (§5.6, §5.7, §5.12) ---------------------------------------------

#[test]
fn udp_read_sequence_of_5_7() {
    let mut h = Harness::ready(config());
    let job = udp_socket(&mut h);
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: b"12".to_vec()
            }
        ),
        urcs(&["+UUSORD: 0,2"])
    );
    assert_eq!(
        h.answer("AT+USORF=0,2"),
        ok_with(&["+USORF: 0,\"195.34.89.241\",7,2,\"12\""])
    );
    let packet = b"12345678901234567890".to_vec();
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: packet.clone()
            }
        ),
        urcs(&["+UUSORD: 0,20"])
    );
    // Partial read: the URC gives the rest of that packet.
    assert_eq!(
        h.answer("AT+USORF=0,10"),
        format!(
            "{}{}",
            ok_with(&["+USORF: 0,\"195.34.89.241\",7,10,\"1234567890\""]),
            urcs(&["+UUSORD: 0,10"])
        )
    );
    // Another 20-byte packet while data is unread: no URC.
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: packet
            }
        ),
        ""
    );
    // The rest of the first packet, never more than one datagram; then the
    // URC gives what the buffer holds.
    assert_eq!(
        h.answer("AT+USORF=0,30"),
        format!(
            "{}{}",
            ok_with(&["+USORF: 0,\"195.34.89.241\",7,10,\"1234567890\""]),
            urcs(&["+UUSORD: 0,20"])
        )
    );
    assert_eq!(h.answer("AT+USORF=0,0"), ok_with(&["+USORF: 0,20"]));
}

#[test]
fn udp_send_binary_and_inline_5_6_5_12() {
    let mut h = Harness::ready(config());
    let job = udp_socket(&mut h);
    assert_eq!(h.answer("AT+USOST=0,\"195.34.89.241\",7,2"), "\r\n@");
    assert_eq!(h.run(Input::Bytes(b"12")), ok_with(&["+USOST: 0,2"]));
    assert_eq!(
        h.answer("AT+USOST=0,\"195.34.89.241\",7,5,\"Hello\""),
        ok_with(&["+USOST: 0,5"])
    );
    assert_eq!(
        commands(&mut h),
        vec![
            (job, SocketCommand::SendTo(peer(), b"12".to_vec())),
            (job, SocketCommand::SendTo(peer(), b"Hello".to_vec())),
        ]
    );
    h.answer("AT+CMEE=1");
    // TCP-only and UDP-only commands refuse the other kind.
    assert_eq!(h.answer("AT+USORD=0,1"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.answer("AT+USOCTL=0,10"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(
        h.answer("AT+USOCO=0,\"195.34.89.241\",7"),
        "\r\n+CME ERROR: 3\r\n"
    );
}

#[test]
fn a_reboot_forgets_sockets_and_their_late_events() {
    let mut h = Harness::ready(config());
    let job = udp_socket(&mut h);
    h.control(Control::Reboot);
    assert!(h.take_effects().contains(&Effect::CancelAllJobs));
    h.advance(h.timing().boot);
    assert_eq!(
        sock(
            &mut h,
            job,
            SocketEvent::Received {
                from: peer(),
                data: b"x".to_vec()
            }
        ),
        ""
    );
    assert_eq!(h.answer("AT+USOCR?"), OK);
}

// ---- with the sleep machine (§5.10, §5.10.2) -----------------------------

/// Echo off, one AoN UDP socket (its job returned), RRC idle, Hibernate
/// allowed after 5 s with its URCs on.
fn quiet_with_udp() -> (Harness, JobId) {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    let job = udp_socket(&mut h);
    h.send("AT+USLPURC=\"HIBNATE\",1");
    h.send("AT+UPSV=1,5000,4");
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    (h, job)
}

const UPSV_TIMEOUT: Duration = Duration::from_millis(5000);

#[test]
fn data_for_the_aon_socket_wakes_hibernate_and_uusord_follows_the_wake_urc() {
    let (mut h, job) = quiet_with_udp();
    assert_eq!(h.advance(UPSV_TIMEOUT), urcs(&["+UUSLPURC: HIB 1"]));
    assert_eq!(h.m.snapshot().power_mode, PowerMode::Hibernate);
    let from = peer();
    let mut sent = sock(
        &mut h,
        job,
        SocketEvent::Received {
            from,
            data: b"ring".to_vec(),
        },
    );
    let wake = h.timing().wake;
    sent += &h.advance(wake);
    assert_eq!(sent, urcs(&["+UUSLPURC: HIB 0", "+UUSORD: 0,4"]));
    // Hibernate lost the echo setting but kept the AoN socket and its data.
    assert_eq!(
        h.answer("AT+USORF=0,4"),
        ok_with(&["+USORF: 0,\"195.34.89.241\",7,4,\"ring\""])
    );
}

#[test]
fn a_non_aon_socket_or_unread_data_allow_sleep1_only() {
    let (mut h, job) = quiet_with_udp();
    sock(
        &mut h,
        job,
        SocketEvent::Received {
            from: peer(),
            data: b"x".to_vec(),
        },
    );
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.advance(UPSV_TIMEOUT);
    assert_eq!(h.m.snapshot().power_mode, PowerMode::Sleep1, "unread data");

    let (mut h, _) = quiet_with_udp();
    assert_eq!(h.send("AT+USOCR=6"), ok_with(&["+USOCR: 1"]));
    assert_eq!(h.send("AT+USOSEC=1,1"), OK);
    assert_eq!(h.send("AT+USOCL=1"), OK);
    assert_eq!(h.send("AT+USOCR=6,,,1"), ok_with(&["+USOCR: 1,6,1"]));
    assert_eq!(h.send("AT+USOCR=17"), ok_with(&["+USOCR: 2"]));
    h.advance(UPSV_TIMEOUT);
    assert_eq!(
        h.m.snapshot().power_mode,
        PowerMode::Sleep1,
        "socket 2 is not AoN"
    );
}

#[test]
fn socket_traffic_is_counted_in_radio_bytes() {
    let (mut h, job) = quiet_with_udp();
    let before = h.m.energy_report(h.now);
    assert_eq!(
        h.send("AT+USOST=0,\"195.34.89.241\",7,5,\"Hello\""),
        ok_with(&["+USOST: 0,5"])
    );
    sock(
        &mut h,
        job,
        SocketEvent::Received {
            from: peer(),
            data: b"Hello".to_vec(),
        },
    );
    let after = h.m.energy_report(h.now);
    assert_eq!(after.radio_bytes_sent - before.radio_bytes_sent, 5 + 28);
    assert_eq!(
        after.radio_bytes_received - before.radio_bytes_received,
        5 + 28
    );
}
