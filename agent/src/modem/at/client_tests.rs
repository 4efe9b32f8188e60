//! Client tests against a scripted peer on an in-memory duplex, on tokio's
//! paused clock: the protocol's minimum gaps are checked in virtual time,
//! exactly and without depending on how loaded the machine is.

use std::time::Duration;

use tokio::time::Instant;

use crate::modem::at::client::ClientOptions;
use crate::modem::at::codec::Prompt;
use crate::modem::at::command::{AtCommand, Raw, Response};
use crate::modem::at::error::{AtError, ParseError};
use crate::modem::at::urc::{RegStatus, Urc};
use crate::modem::general::ReadImei;
use crate::modem::psd::ReadRegistration;
use crate::modem::test_peer::{start, start_with};

/// A socket write as the note's §5.3.1 shows it, to exercise the prompt.
struct WriteTwoBytes;

impl AtCommand for WriteTwoBytes {
    type Response = ();
    fn text(&self) -> String {
        "AT+USOWR=0,2".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+USOWR")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::At, b"12"))
    }
    fn parse(&self, _: &Response) -> Result<(), ParseError> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_urc_with_the_answer_prefix_reaches_subscribers_and_not_the_answer() {
    let (client, mut peer) = start();
    let mut urcs = client.subscribe();
    let module = async {
        assert_eq!(peer.command().await, "AT+CEREG?");
        peer.say(
            b"AT+CEREG?\r\r\n+CEREG: 5\r\n\r\n+CEREG: 2,1,\"00C3\",\"0001A2B3\",7\r\n\r\nOK\r\n",
        )
        .await;
    };
    let (answer, ()) = tokio::join!(client.send(&ReadRegistration), module);
    let answer = answer.unwrap();
    assert_eq!(answer.status, RegStatus::Home);
    assert_eq!(answer.reporting, 2);
    match urcs.try_recv() {
        Some(Urc::Registration { status, .. }) => assert_eq!(status, RegStatus::Roaming),
        other => panic!("expected the +CEREG URC, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_next_command_waits_20ms_after_the_last_final_result_or_urc() {
    let (client, mut peer) = start();
    let module = async {
        assert_eq!(peer.command().await, "AT");
        peer.say(b"\r\nOK\r\n").await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        peer.say(b"\r\n+CSCON: 1\r\n").await;
        let urc_sent = Instant::now();
        assert_eq!(peer.command().await, "AT+CGSN");
        let gap = urc_sent.elapsed();
        peer.say(b"\r\n357862090033897\r\n\r\nOK\r\n").await;
        gap
    };
    let client_side = async {
        client.send_raw(&Raw::new("AT")).await.unwrap();
        client.send(&ReadImei).await.unwrap()
    };
    let (imei, gap) = tokio::join!(client_side, module);
    assert_eq!(imei, "357862090033897");
    assert!(gap >= Duration::from_millis(20), "gap was {gap:?}");
}

#[tokio::test(start_paused = true)]
async fn prompt_data_goes_out_50ms_after_the_prompt_with_exactly_the_announced_bytes() {
    let (client, mut peer) = start();
    let module = async {
        assert_eq!(peer.command().await, "AT+USOWR=0,2");
        // The prompt arrives behind a URC, as the note's hazards list warns.
        peer.say(b"\r\n+UUSORD: 1,4\r\n@").await;
        let prompted = Instant::now();
        let data = peer.exact(2).await;
        let waited = prompted.elapsed();
        peer.say(b"\r\n+USOWR: 0,2\r\n\r\nOK\r\n").await;
        (data, waited)
    };
    let (result, (data, waited)) = tokio::join!(client.send(&WriteTwoBytes), module);
    result.unwrap();
    assert_eq!(data, b"12");
    assert!(waited >= Duration::from_millis(50), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_missed_deadline_is_a_timeout_and_the_next_command_resyncs_first() {
    let options = ClientOptions {
        default_timeout: Duration::from_secs(2),
        ..ClientOptions::default()
    };
    let (client, mut peer) = start_with(options);
    let module = async {
        assert_eq!(peer.command().await, "AT+CGSN");
        // The module reboots and says nothing; after the deadline the
        // client probes with AT until two OKs in a row.
        let mut probes = 0;
        loop {
            let cmd = peer.command().await;
            if cmd != "AT" {
                assert_eq!(cmd, "AT+CGMI");
                peer.say(b"\r\nu-blox\r\n\r\nOK\r\n").await;
                break probes;
            }
            probes += 1;
            if probes == 1 {
                peer.say(b"\x00\xff\r\n").await; // boot noise, no answer
            } else {
                peer.say(b"\r\nOK\r\n").await;
            }
        }
    };
    let client_side = async {
        let first = client.send(&ReadImei).await;
        let second = client.send_raw(&Raw::new("AT+CGMI")).await;
        (first, second)
    };
    let ((first, second), probes) = tokio::join!(client_side, module);
    match first {
        Err(AtError::Timeout { command, after }) => {
            assert_eq!(command, "AT+CGSN");
            assert_eq!(after, Duration::from_secs(2));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(second.unwrap().single_text().unwrap(), "u-blox");
    assert_eq!(probes, 3, "one unanswered probe, then two OKs in a row");
}

#[tokio::test(start_paused = true)]
async fn a_closed_port_fails_the_waiting_command_and_every_later_one() {
    let (client, mut peer) = start();
    let mut urcs = client.subscribe();
    let module = async move {
        assert_eq!(peer.command().await, "AT+CGMI");
        peer.say(b"\r\nu-bl").await;
        drop(peer);
    };
    let cgmi = Raw::new("AT+CGMI");
    let (first, ()) = tokio::join!(client.send_raw(&cgmi), module);
    assert!(matches!(first, Err(AtError::PortClosed)), "{first:?}");
    let later = client.send_raw(&Raw::new("AT")).await;
    assert!(matches!(later, Err(AtError::PortClosed)), "{later:?}");
    assert_eq!(urcs.recv().await, None, "subscriptions end with the port");
}

#[tokio::test(start_paused = true)]
async fn cme_errors_come_back_typed_in_both_forms() {
    let (client, mut peer) = start();
    let module = async {
        assert_eq!(peer.command().await, "AT+UMNOPROF=100");
        peer.say(b"\r\n+CME ERROR: operation not allowed\r\n").await;
        assert_eq!(peer.command().await, "AT+UMNOPROF=100");
        peer.say(b"\r\n+CME ERROR: 3\r\n").await;
        assert_eq!(peer.command().await, "AT+UMQTTTC=1");
        peer.say(b"\r\nERROR\r\n").await;
    };
    let client_side = async {
        let verbose = client.send_raw(&Raw::new("AT+UMNOPROF=100")).await;
        let numeric = client.send_raw(&Raw::new("AT+UMNOPROF=100")).await;
        let typo = client.send_raw(&Raw::new("AT+UMQTTTC=1")).await;
        (verbose, numeric, typo)
    };
    let ((verbose, numeric, typo), ()) = tokio::join!(client_side, module);
    let verbose = verbose.unwrap_err();
    let numeric = numeric.unwrap_err();
    assert_eq!(verbose.cme(), numeric.cme());
    assert_eq!(verbose.cme().and_then(|e| e.code), Some(3));
    assert!(matches!(typo, Err(AtError::Error { .. })), "{typo:?}");
}

#[tokio::test(start_paused = true)]
async fn noise_and_a_late_answer_between_commands_do_not_leak_into_the_next_answer() {
    let (client, mut peer) = start();
    let mut urcs = client.subscribe();
    let module = async {
        assert_eq!(peer.command().await, "AT+CGMI");
        peer.say(b"\r\nu-blox\r\n\r\nOK\r\n").await;
        // Between commands: noise, a cut line, a stray OK.
        peer.say(b"\xfe\xfe\r\n+CER\r\n\r\nOK\r\n").await;
        assert_eq!(peer.command().await, "AT+CGMM");
        peer.say(b"\r\nLEXI-R10401D\r\n\r\nOK\r\n").await;
    };
    let client_side = async {
        let a = client.send_raw(&Raw::new("AT+CGMI")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = client.send_raw(&Raw::new("AT+CGMM")).await.unwrap();
        (a, b)
    };
    let ((a, b), ()) = tokio::join!(client_side, module);
    assert_eq!(a.single_text().unwrap(), "u-blox");
    assert_eq!(b.lines.len(), 1);
    assert_eq!(b.single_text().unwrap(), "LEXI-R10401D");
    // The cut line was passed on as an unknown URC, not swallowed silently.
    assert_eq!(
        urcs.try_recv(),
        Some(Urc::Other {
            line: "+CER".into()
        })
    );
}
