//! The embedded HTTP client (§7): profiles and their NVM rules across
//! deep sleep and reboot, requests in file system and direct-link mode,
//! the result URC and the error codes, sleep while a transfer runs.

use super::sleep::{idle, mode, wake, TIMEOUT};
use super::*;
use crate::jobs::{HttpEvent, HttpFailure, HttpMethod, HttpRequest};

fn http_ready() -> Harness {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h
}

/// Profile 0 pointed at `server.test` (the note's §7.1 set-up).
fn configured(h: &mut Harness, io_mode: u8) {
    for line in [
        "AT+UHTTP=0".to_string(),
        "AT+UHTTP=0,1,\"server.test\"".to_string(),
        "AT+UHTTP=0,5,8080".to_string(),
        format!("AT+UHTTP=0,10,{io_mode}"),
    ] {
        assert_eq!(h.send(&line), OK, "{line}");
    }
    h.take_effects();
}

/// The request job the last command started.
fn request(h: &mut Harness) -> (JobId, HttpRequest) {
    let (id, job) = h.started_job();
    let Job::Http(request) = job else {
        panic!("not an HTTP job: {job:?}");
    };
    (id, request)
}

fn http(h: &mut Harness, id: JobId, event: HttpEvent) -> String {
    h.job(id, JobEvent::Http(event))
}

const HEAD: &[u8] = b"HTTP/1.1 200 Ok\r\nContent-Length: 5\r\n\r\n";

#[test]
fn profile_ops_set_and_read_back_in_the_set_form() {
    let mut h = http_ready();
    for line in [
        "AT+UHTTP=0,0,\"10.1.2.3\"",
        "AT+UHTTP=0,2,\"test_user\"",
        "AT+UHTTP=0,3,\"P455w0rd\"",
        "AT+UHTTP=0,4,1",
        "AT+UHTTP=0,7,60",
        "AT+UHTTP=0,9,\"0:X-Device:gw-7\"",
        "AT+UHTTP=0,9,\"3:Authorization:Bearer a:b\"",
        "AT+UHTTP=0,20,2,1",
    ] {
        assert_eq!(h.send(line), OK, "{line}");
    }
    let read = |h: &mut Harness, op: u8| h.send(&format!("AT+UHTTP=0,{op}"));
    assert_eq!(read(&mut h, 0), ok_with(&["+UHTTP: 0,0,\"10.1.2.3\""]));
    assert_eq!(read(&mut h, 2), ok_with(&["+UHTTP: 0,2,\"test_user\""]));
    assert_eq!(read(&mut h, 4), ok_with(&["+UHTTP: 0,4,1"]));
    assert_eq!(read(&mut h, 5), ok_with(&["+UHTTP: 0,5,80"]));
    assert_eq!(read(&mut h, 6), ok_with(&["+UHTTP: 0,6,0"]));
    assert_eq!(read(&mut h, 7), ok_with(&["+UHTTP: 0,7,60"]));
    assert_eq!(
        read(&mut h, 9),
        ok_with(&[
            "+UHTTP: 0,9,\"0:X-Device:gw-7\"",
            "+UHTTP: 0,9,\"3:Authorization:Bearer a:b\""
        ])
    );
    assert_eq!(read(&mut h, 10), ok_with(&["+UHTTP: 0,10,0"]));
    assert_eq!(read(&mut h, 20), ok_with(&["+UHTTP: 0,20,2,1"]));
    assert!(!read(&mut h, 3).contains("P455w0rd"));
    // A name clears the address [model]; an empty slot clears a header.
    h.send("AT+UHTTP=0,1,\"httpbin.org\"");
    assert_eq!(read(&mut h, 0), ok_with(&["+UHTTP: 0,0,\"\""]));
    h.send("AT+UHTTP=0,9,\"0:\"");
    assert_eq!(
        read(&mut h, 9),
        ok_with(&["+UHTTP: 0,9,\"3:Authorization:Bearer a:b\""])
    );
    // Reset: factory again.
    assert_eq!(h.send("AT+UHTTP=0"), OK);
    assert_eq!(read(&mut h, 1), ok_with(&["+UHTTP: 0,1,\"\""]));
    assert_eq!(read(&mut h, 7), ok_with(&["+UHTTP: 0,7,180"]));
    // Profiles 0 to 3 are independent.
    h.send("AT+UHTTP=3,5,8443");
    assert_eq!(h.send("AT+UHTTP=3,5"), ok_with(&["+UHTTP: 3,5,8443"]));
    assert_eq!(read(&mut h, 5), ok_with(&["+UHTTP: 0,5,80"]));
}

#[test]
fn security_moves_the_port_as_section_7_5_says() {
    let mut h = http_ready();
    let port = |h: &mut Harness| h.send("AT+UHTTP=0,5");
    assert_eq!(h.send("AT+UHTTP=0,6,1"), OK);
    assert_eq!(port(&mut h), ok_with(&["+UHTTP: 0,5,443"]));
    assert_eq!(h.send("AT+UHTTP=0,6"), ok_with(&["+UHTTP: 0,6,1,0"]));
    assert_eq!(h.send("AT+UHTTP=0,6,0"), OK);
    assert_eq!(port(&mut h), ok_with(&["+UHTTP: 0,5,80"]));
    // A port set by hand stays.
    h.send("AT+UHTTP=0,5,9000");
    assert_eq!(h.send("AT+UHTTP=0,6,1,2"), OK);
    assert_eq!(port(&mut h), ok_with(&["+UHTTP: 0,5,9000"]));
    assert_eq!(h.send("AT+UHTTP=0,6"), ok_with(&["+UHTTP: 0,6,1,2"]));
    h.send("AT+UHTTP=0,6,0");
    assert_eq!(port(&mut h), ok_with(&["+UHTTP: 0,5,9000"]));
}

#[test]
fn bad_values_and_the_notes_misspellings_are_refused() {
    let mut h = http_ready();
    h.send("AT+CMEE=1");
    for line in [
        "AT+UHTTP=4,1,\"x\"",
        "AT+UHTTP=0,0,\"not-an-ip\"",
        "AT+UHTTP=0,4,2",
        "AT+UHTTP=0,5,0",
        "AT+UHTTP=0,6,1,5",
        "AT+UHTTP=0,7,29",
        "AT+UHTTP=0,7,181",
        "AT+UHTTP=0,9,\"5:X:y\"",
        "AT+UHTTP=0,9,\"0:Bad Name:y\"",
        "AT+UHTTP=0,9,\"0-X-y\"",
        "AT+UHTTP=0,10,2",
        "AT+UHTTP=0,20,0,0",
        "AT+UHTTP=0,8,1",
        "AT+UHTTPNV=0,3",
        "AT+UHTTPER=4",
        "AT+UHTTPC=0,6,\"/\",\"f\"",
        "AT+UHTTPC=0,1,\"no-slash\",\"f\"",
        "AT+UHTTPC=0,5,\"/\",\"f\",\"data\",6",
    ] {
        assert_eq!(h.send(line), "\r\n+CME ERROR: 50\r\n", "{line}");
    }
    assert_eq!(h.send("AT+UHTTP=0,3"), "\r\n+CME ERROR: 3\r\n");
    // §7.1-7.4's typos are unknown commands: plain ERROR whatever CMEE says.
    for line in [
        "AT+UHTTTP=0,10,1",
        "AT+UHTTTPC=0,0,\"/\",\"head.ffs\"",
        "AT+UHTTPCR=0,4,\"/post\",\"result.txt\",\"postdata.txt\",1",
        "AT+UFTPER=1",
    ] {
        assert_eq!(h.send(line), ERROR, "{line}");
    }
    // §7.4 verbatim (profile 1, never used): no error.
    assert_eq!(h.send("AT+UHTTPER=1"), ok_with(&["+UHTTPER: 1,0,0"]));
}

#[test]
fn a_file_mode_get_stores_the_whole_response_in_the_named_file() {
    let mut h = http_ready();
    configured(&mut h, 0);
    h.send("AT+UHTTP=0,2,\"user\"");
    h.send("AT+UHTTP=0,3,\"secret\"");
    h.send("AT+UHTTP=0,4,1");
    h.send("AT+UHTTP=0,9,\"1:X-Device:gw-7\"");
    h.take_effects();
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/data?x=1\",\"get.ffs\""), OK);
    let (id, req) = request(&mut h);
    assert_eq!(
        req,
        HttpRequest {
            host: "server.test".into(),
            port: 8080,
            method: HttpMethod::Get,
            path: "/data?x=1".into(),
            headers: vec![("X-Device".into(), "gw-7".into())],
            basic_auth: Some(("user".into(), "secret".into())),
            body: None,
            timeout: Duration::from_secs(180),
            secure: None,
        }
    );
    // One request at a time.
    h.send("AT+CMEE=1");
    assert_eq!(
        h.send("AT+UHTTPC=0,1,\"/\",\"other\""),
        "\r\n+CME ERROR: 3\r\n"
    );
    assert_eq!(http(&mut h, id, HttpEvent::Head(HEAD.to_vec())), "");
    assert_eq!(http(&mut h, id, HttpEvent::Body(b"he".to_vec())), "");
    assert_eq!(http(&mut h, id, HttpEvent::Body(b"llo".to_vec())), "");
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        urcs(&["+UUHTTPCR: 0,1,1"])
    );
    let mut file = HEAD.to_vec();
    file.extend_from_slice(b"hello");
    assert_eq!(h.m.nvm.files.get("get.ffs"), Some(&file[..]));
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,0,0"]));
    // Readable as §7.2 reads `result.txt`.
    assert_eq!(h.send("AT+FOPEN=\"get.ffs\""), ok_with(&["+FOPEN: 1"]));
    let mut want = format!("\r\nCONNECT {}\r\n", file.len());
    want.push_str(&String::from_utf8_lossy(&file));
    want.push_str(OK);
    assert_eq!(h.send("AT+FREAD=1"), want);
}

#[test]
fn a_file_mode_post_sends_a_file_written_with_fwrite() {
    let mut h = http_ready();
    configured(&mut h, 0);
    h.send("AT+FOPEN=\"postdata.txt\"");
    h.send("AT+FWRITE=1,11");
    h.run(Input::Bytes(b"hello world"));
    h.send("AT+FCLOSE=1");
    h.take_effects();
    assert_eq!(
        h.send("AT+UHTTPC=0,4,\"/post\",\"result.txt\",\"postdata.txt\",1"),
        OK
    );
    let (_, req) = request(&mut h);
    assert_eq!(req.method, HttpMethod::Post);
    assert_eq!(req.body.as_deref(), Some(&b"hello world"[..]));
    assert_eq!(
        req.headers,
        vec![("Content-Type".to_string(), "text/plain".to_string())]
    );
    // A user-defined type, and PUT takes its body the same way.
    let mut h = http_ready();
    configured(&mut h, 0);
    h.m.nvm.files.replace("b.cbor", vec![0x81, 0xa2]).unwrap();
    h.send("AT+UHTTPC=0,3,\"/put\",\"r\",\"b.cbor\",6,\"application/senml+cbor\"");
    let (_, req) = request(&mut h);
    assert_eq!(req.method, HttpMethod::Put);
    assert_eq!(req.body, Some(vec![0x81, 0xa2]));
    assert_eq!(req.headers[0].1, "application/senml+cbor");
    // A body file that does not exist.
    let mut h = http_ready();
    configured(&mut h, 0);
    h.send("AT+CMEE=2");
    assert_eq!(
        h.send("AT+UHTTPC=0,4,\"/post\",\"r\",\"missing\",1"),
        "\r\n+CME ERROR: not found\r\n"
    );
}

#[test]
fn post_data_and_head_and_delete_follow_the_note() {
    let mut h = http_ready();
    configured(&mut h, 0);
    assert_eq!(
        h.send("AT+UHTTPC=0,5,\"/post\",\"post.ffs\",\"name_post=MyName&age_post=30\",0"),
        OK
    );
    let (id, req) = request(&mut h);
    assert_eq!(
        req.body.as_deref(),
        Some(&b"name_post=MyName&age_post=30"[..])
    );
    assert_eq!(req.headers[0].1, "application/x-www-form-urlencoded");
    http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        urcs(&["+UUHTTPCR: 0,5,1"])
    );
    h.send("AT+UHTTPC=0,0,\"/\",\"head.ffs\"");
    let (id, req) = request(&mut h);
    assert_eq!(req.method, HttpMethod::Head);
    http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        urcs(&["+UUHTTPCR: 0,0,1"])
    );
    assert_eq!(h.m.nvm.files.get("head.ffs"), Some(HEAD));
    h.send("AT+UHTTPC=0,2,\"/item/7\",\"del.ffs\"");
    assert_eq!(request(&mut h).1.method, HttpMethod::Delete);
    let mut h = http_ready();
    configured(&mut h, 0);
    h.send("AT+CMEE=1");
    let long = "x".repeat(129);
    assert_eq!(
        h.send(&format!("AT+UHTTPC=0,5,\"/p\",\"f\",\"{long}\",1")),
        "\r\n+CME ERROR: 50\r\n",
        "at most 128 characters"
    );
}

#[test]
fn failures_answer_zero_and_their_code_and_leave_no_stale_file() {
    let mut h = http_ready();
    configured(&mut h, 0);
    for (failure, code) in [
        (HttpFailure::ConnectFailed, "3,11"),
        (HttpFailure::Timeout, "3,11"),
        (HttpFailure::Cut, "3,11"),
        (HttpFailure::Unresolved, "3,4"),
    ] {
        h.m.nvm.files.replace("get.ffs", b"old".to_vec()).unwrap();
        h.send("AT+UHTTPC=0,1,\"/\",\"get.ffs\"");
        let (id, _) = request(&mut h);
        if failure == HttpFailure::Cut {
            http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
            http(&mut h, id, HttpEvent::Body(b"he".to_vec()));
        }
        assert_eq!(
            http(&mut h, id, HttpEvent::Failed(failure)),
            urcs(&["+UUHTTPCR: 0,1,0"]),
            "{failure:?}"
        );
        assert_eq!(
            h.send("AT+UHTTPER=0"),
            ok_with(&[&format!("+UHTTPER: 0,{code}")])
        );
        assert!(!h.m.nvm.files.contains("get.ffs"), "{failure:?}");
    }
    // A 500 is an answer: success, the status is in the file.
    h.send("AT+UHTTPC=0,1,\"/\",\"get.ffs\"");
    let (id, _) = request(&mut h);
    http(
        &mut h,
        id,
        HttpEvent::Head(b"HTTP/1.1 500 Internal Server Error\r\n\r\n".to_vec()),
    );
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        urcs(&["+UUHTTPCR: 0,1,1"])
    );
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,0,0"]));
}

#[test]
fn what_fails_before_the_network_answers_ok_then_zero() {
    // Not registered: PDP context not active (10,22).
    let mut cfg = config();
    cfg.sim_pin = Some("1234".into());
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    configured(&mut h, 0);
    let mut want = OK.to_string();
    want.push_str(&urcs(&["+UUHTTPCR: 0,1,0"]));
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/\",\"f\""), want);
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,10,22"]));
    // Mapped to another context.
    let mut h = http_ready();
    configured(&mut h, 0);
    h.send("AT+UHTTP=0,20,2,0");
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/\",\"f\""), want);
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,10,22"]));
    // Secure: accepted and stored, a request fails until TLS is wired.
    let mut h = http_ready();
    configured(&mut h, 1);
    assert_eq!(h.send("AT+UHTTP=0,6,1,2"), OK);
    let mut direct = OK.to_string();
    direct.push_str(&urcs(&["+UUHTTPCR: 0,7,0"]));
    assert_eq!(
        h.send("AT+UHTTPC=0,7,\"/post\",1,,11"),
        direct,
        "no CONNECT"
    );
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,3,99"]));
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
    // No server.
    let mut h = http_ready();
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/\",\"f\""), want);
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,3,7"]));
    // Requests run on profile 0 only [model]; op 7 needs direct link.
    h.send("AT+CMEE=1");
    h.send("AT+UHTTP=1,1,\"server.test\"");
    assert_eq!(h.send("AT+UHTTPC=1,1,\"/\",\"f\""), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(
        h.send("AT+UHTTPC=0,7,\"/post\",1,,11"),
        "\r\n+CME ERROR: 3\r\n"
    );
}

#[test]
fn a_direct_link_get_streams_the_response_between_connect_and_disconnect() {
    let mut h = http_ready();
    configured(&mut h, 1);
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/\",\"get.ffs\""), "\r\nCONNECT\r\n");
    let (id, _) = request(&mut h);
    assert_eq!(
        http(&mut h, id, HttpEvent::Head(HEAD.to_vec())),
        String::from_utf8_lossy(HEAD)
    );
    // Host bytes while the response is relayed are dropped, not echoed.
    h.send("ATE1");
    assert_eq!(h.send("AT"), "");
    assert_eq!(
        http(&mut h, id, HttpEvent::Body(b"OK\r\n!".to_vec())),
        "OK\r\n!"
    );
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        "\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,1,1\r\n"
    );
    assert!(!h.m.nvm.files.contains("get.ffs"), "the file is ignored");
    assert_eq!(h.send("AT"), OK, "commands again, echo still off");
}

#[test]
fn a_direct_link_post_takes_exactly_the_announced_bytes_and_holds_urcs() {
    let mut h = http_ready();
    configured(&mut h, 1);
    let body: Vec<u8> = b"\x81\xa2OK\r\nAT\r\n\0\"\xff".to_vec();
    assert_eq!(
        h.send(&format!(
            "AT+UHTTPC=0,7,\"/ingest\",6,\"application/senml+cbor\",{}",
            body.len()
        )),
        "\r\nCONNECT\r\n"
    );
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
    h.m.urc("+TEST: 1".into());
    let (first, last) = body.split_at(4);
    assert_eq!(h.run(Input::Bytes(first)), "", "not echoed, URC held");
    assert_eq!(h.run(Input::Bytes(last)), "");
    let (id, req) = request(&mut h);
    assert_eq!(req.body.as_deref(), Some(&body[..]));
    assert_eq!(req.method, HttpMethod::Post);
    assert_eq!(
        req.headers,
        vec![(
            "Content-Type".to_string(),
            "application/senml+cbor".to_string()
        )]
    );
    assert_eq!(
        http(
            &mut h,
            id,
            HttpEvent::Head(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())
        ),
        "HTTP/1.1 204 No Content\r\n\r\n"
    );
    assert_eq!(
        http(&mut h, id, HttpEvent::Done),
        "\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+TEST: 1\r\n\r\n+UUHTTPCR: 0,7,1\r\n"
    );
    // §7.3's own form: text/plain, no user type.
    assert_eq!(h.send("AT+UHTTPC=0,7,\"/post\",1,,11"), "\r\nCONNECT\r\n");
    h.run(Input::Bytes(b"hello world"));
    let (id, req) = request(&mut h);
    assert_eq!(req.headers[0].1, "text/plain");
    // A failure: an empty stream, then 0.
    assert_eq!(
        http(&mut h, id, HttpEvent::Failed(HttpFailure::ConnectFailed)),
        "\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,7,0\r\n"
    );
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,3,11"]));
}

#[test]
fn a_failed_line_after_a_direct_link_command_starts_nothing() {
    let mut h = http_ready();
    configured(&mut h, 1);
    assert_eq!(h.send("AT+UHTTPC=0,1,\"/\",\"f\";+NOPE"), ERROR);
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
    assert_eq!(h.send("AT"), OK);
}

#[test]
fn the_radio_lost_during_a_request_fails_it() {
    let mut h = http_ready();
    configured(&mut h, 1);
    h.send("AT+UHTTPC=0,1,\"/\",\"f\"");
    let (id, _) = request(&mut h);
    http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
    let out = h.control(Control::SetNetwork(NetworkCondition::Denied));
    assert!(
        out.ends_with("\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,1,0\r\n"),
        "{out:?}"
    );
    assert_eq!(h.send("AT+UHTTPER=0"), ok_with(&["+UHTTPER: 0,10,22"]));
    assert!(
        h.take_effects().contains(&Effect::CancelJob(id)),
        "the job is stopped"
    );
    // A late event of that job changes nothing.
    assert_eq!(http(&mut h, id, HttpEvent::Done), "");
}

#[test]
fn nvm_arming_is_kept_across_deep_sleep_but_not_across_a_boot() {
    let mut h = idle();
    h.send("AT+USLPVOTE=1,2");
    h.send("AT+USLPVOTE=0,0");
    assert_eq!(
        h.send("AT+UHTTPNV?"),
        ok_with(&[
            "+UHTTPNV: 0,0",
            "+UHTTPNV: 1,0",
            "+UHTTPNV: 2,0",
            "+UHTTPNV: 3,0"
        ])
    );
    h.send("AT+UHTTP=0,1,\"server.test\"");
    h.send("AT+UHTTP=0,10,1");
    h.take_effects();
    assert_eq!(h.send("AT+UHTTPNV=0,2"), OK);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert_eq!(saves[0].http[&0].server_name, "server.test");
    assert_eq!(h.send("AT+UHTTPNV=0,2"), OK);
    assert!(h.saves().is_empty(), "unchanged: no flash write");
    // Not stored: lost in a deep sleep (§7.1.2).
    h.send("AT+UHTTP=0,5,8080");
    h.send("AT+UHTTP=1,1,\"unstored.test\"");
    h.send("AT+USLPVOTE=0,1");
    h.send("AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    wake(&mut h);
    h.send("ATE0");
    assert_eq!(
        h.send("AT+UHTTP=0,1"),
        ok_with(&["+UHTTP: 0,1,\"server.test\""])
    );
    assert_eq!(h.send("AT+UHTTP=0,10"), ok_with(&["+UHTTP: 0,10,1"]));
    assert_eq!(h.send("AT+UHTTP=0,5"), ok_with(&["+UHTTP: 0,5,80"]));
    assert_eq!(h.send("AT+UHTTP=1,1"), ok_with(&["+UHTTP: 1,1,\"\""]));
    assert_eq!(
        h.send("AT+UHTTPNV?"),
        ok_with(&[
            "+UHTTPNV: 0,1",
            "+UHTTPNV: 1,0",
            "+UHTTPNV: 2,0",
            "+UHTTPNV: 3,0"
        ])
    );
    // A boot disarms: after it a deep sleep gives the factory profile,
    // until `+UHTTPNV=0,1` arms it again (§7.1.2.2).
    h.control(Control::Reboot);
    let (boot, reg) = (h.timing().boot, h.timing().registration);
    h.advance(boot);
    h.advance(reg);
    h.send("ATE0");
    assert!(h.send("AT+UHTTPNV?").contains("+UHTTPNV: 0,0"));
    assert_eq!(h.send("AT+UHTTP=0,1"), ok_with(&["+UHTTP: 0,1,\"\""]));
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.send("AT+UPSV=1,5000,4");
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    wake(&mut h);
    h.send("ATE0");
    assert_eq!(h.send("AT+UHTTP=0,1"), ok_with(&["+UHTTP: 0,1,\"\""]));
    assert_eq!(h.send("AT+UHTTPNV=0,1"), OK);
    assert_eq!(
        h.send("AT+UHTTP=0,1"),
        ok_with(&["+UHTTP: 0,1,\"server.test\""])
    );
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
    wake(&mut h);
    h.send("ATE0");
    assert_eq!(
        h.send("AT+UHTTP=0,1"),
        ok_with(&["+UHTTP: 0,1,\"server.test\""])
    );
    // `,0`: factory, and no NVM after a wake; NVM itself keeps its copy.
    assert_eq!(h.send("AT+UHTTPNV=0,0"), OK);
    assert_eq!(h.send("AT+UHTTP=0,1"), ok_with(&["+UHTTP: 0,1,\"\""]));
    assert!(h.send("AT+UHTTPNV?").contains("+UHTTPNV: 0,0"));
    assert_eq!(h.m.nvm.http[&0].server_name, "server.test");
}

#[test]
fn a_transfer_keeps_the_module_awake_and_direct_link_out_of_deep_sleep() {
    let mut h = idle();
    configured(&mut h, 1);
    h.send("AT+UPSV=1,5000,4");
    h.send("AT+UHTTPC=0,1,\"/\",\"f\"");
    let (id, _) = request(&mut h);
    assert_eq!(
        h.m.http_sleep_limit(),
        crate::module::sleep::SleepLimit::Sleep1
    );
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.advance(TIMEOUT);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Idle, "a request in flight: awake");
    http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
    http(&mut h, id, HttpEvent::Done);
    assert_eq!(
        h.m.http_sleep_limit(),
        crate::module::sleep::SleepLimit::Deep
    );
    h.advance(rrc);
    h.advance(TIMEOUT);
    assert_eq!(mode(&h), PowerMode::Hibernate);
}

#[test]
fn request_and_response_bytes_are_counted_in_the_energy_ledger() {
    let mut h = http_ready();
    configured(&mut h, 1);
    let before = h.m.energy_report(h.now);
    let body = vec![7u8; 3000];
    h.send(&format!("AT+UHTTPC=0,7,\"/p\",2,,{}", body.len()));
    h.run(Input::Bytes(&body));
    let (id, _) = request(&mut h);
    http(&mut h, id, HttpEvent::Head(HEAD.to_vec()));
    http(&mut h, id, HttpEvent::Body(vec![1; 2000]));
    http(&mut h, id, HttpEvent::Done);
    let after = h.m.energy_report(h.now);
    let sent = after.radio_bytes_sent - before.radio_bytes_sent;
    let received = after.radio_bytes_received - before.radio_bytes_received;
    assert!(sent > 3000 + 3 * 40 && sent < 3000 + 600, "{sent}");
    let answer = (HEAD.len() + 2000) as u64;
    assert!(received > answer && received < answer + 300, "{received}");
}
