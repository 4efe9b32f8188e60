//! The `+UHTTP*` commands' text and their answers' parsing, from the note's
//! §7 tables (with its misspellings corrected).

use super::*;

fn answer(lines: &[&str]) -> Response {
    Response::from_lines(lines)
}

#[test]
fn profile_settings_follow_the_note_and_mask_the_password() {
    let set = |setting| SetHttpProfile {
        profile: 0,
        setting,
    };
    let cases = [
        (
            set(HttpSetting::ServerIp("10.1.2.3".into())),
            "AT+UHTTP=0,0,\"10.1.2.3\"",
        ),
        (
            set(HttpSetting::ServerName("httpbin.org".into())),
            "AT+UHTTP=0,1,\"httpbin.org\"",
        ),
        (
            set(HttpSetting::Username("test_user".into())),
            "AT+UHTTP=0,2,\"test_user\"",
        ),
        (set(HttpSetting::Auth(HttpAuth::Basic)), "AT+UHTTP=0,4,1"),
        (set(HttpSetting::Port(80)), "AT+UHTTP=0,5,80"),
        (set(HttpSetting::Secure(Some(2))), "AT+UHTTP=0,6,1,2"),
        (set(HttpSetting::Secure(None)), "AT+UHTTP=0,6,0"),
        (set(HttpSetting::Timeout(60)), "AT+UHTTP=0,7,60"),
        (
            set(HttpSetting::IoMode(IoMode::DirectLink)),
            "AT+UHTTP=0,10,1",
        ),
        (
            set(HttpSetting::PdpMapping { cid: 2, ip_type: 1 }),
            "AT+UHTTP=0,20,2,1",
        ),
    ];
    for (cmd, text) in cases {
        assert_eq!(cmd.text(), text);
        assert_eq!(cmd.label(), text);
    }
    let password = set(HttpSetting::Password("P455w0rd".into()));
    assert_eq!(password.text(), "AT+UHTTP=0,3,\"P455w0rd\"");
    assert!(!password.label().contains("P455w0rd"));
    assert!(!format!("{password:?}").contains("P455w0rd"));
    // A header's value is a secret too (an `Authorization` token).
    let header = set(HttpSetting::CustomHeader {
        index: 0,
        name: "X-Device".into(),
        value: "gw-7".into(),
    });
    assert_eq!(header.text(), "AT+UHTTP=0,9,\"0:X-Device:gw-7\"");
    assert_eq!(header.label(), "AT+UHTTP=0,9,\"0:X-Device:***\"");
    assert!(!format!("{header:?}").contains("gw-7"));
    assert_eq!(ResetHttpProfile(0).text(), "AT+UHTTP=0");
}

#[test]
fn nvm_and_requests_follow_the_note() {
    assert_eq!(
        HttpNvm {
            profile: 0,
            op: HttpNvmOp::Save
        }
        .text(),
        "AT+UHTTPNV=0,2"
    );
    assert_eq!(
        HttpNvm {
            profile: 0,
            op: HttpNvmOp::Load
        }
        .text(),
        "AT+UHTTPNV=0,1"
    );
    let get = HttpRequest {
        profile: 0,
        method: HttpMethod::Get,
        path: "/".into(),
        response_file: "get.ffs".into(),
        body: None,
    };
    assert_eq!(get.text(), "AT+UHTTPC=0,1,\"/\",\"get.ffs\"");
    // §7.2, spelled `+UHTTPC` (the note's `+UHTTPCR` is a typo).
    let post = HttpRequest {
        profile: 0,
        method: HttpMethod::PostFile,
        path: "/post".into(),
        response_file: "result.txt".into(),
        body: Some(("postdata.txt".into(), ContentType::TextPlain)),
    };
    assert_eq!(
        post.text(),
        "AT+UHTTPC=0,4,\"/post\",\"result.txt\",\"postdata.txt\",1"
    );
    let cbor = HttpRequest {
        body: Some((
            "body.cbor".into(),
            ContentType::UserDefined("application/senml+cbor".into()),
        )),
        ..post
    };
    assert_eq!(
        cbor.text(),
        "AT+UHTTPC=0,4,\"/post\",\"result.txt\",\"body.cbor\",6,\"application/senml+cbor\""
    );
}

#[test]
fn a_direct_link_post_streams_its_body_after_connect_and_reads_the_response_stream() {
    let post = PostDirect {
        profile: 0,
        path: "/post".into(),
        content_type: ContentType::TextPlain,
        body: b"hello world".to_vec(),
        timeout: Duration::from_secs(90),
    };
    // §7.3: `AT+UHTTPC=0,7,"/post",1,,11`.
    assert_eq!(post.text(), "AT+UHTTPC=0,7,\"/post\",1,,11");
    assert_eq!(post.data(), Some((Prompt::Connect, &b"hello world"[..])));
    assert!(post.streams_response());
    let cbor = PostDirect {
        content_type: ContentType::UserDefined("application/senml+cbor".into()),
        body: vec![0x81, 0xa2],
        ..post.clone()
    };
    assert_eq!(
        cbor.text(),
        "AT+UHTTPC=0,7,\"/post\",6,\"application/senml+cbor\",2"
    );
    let mut r = answer(&[]);
    r.stream = Some(b"HTTP/1.1 200 OK\r\n\r\n".to_vec());
    assert_eq!(post.parse(&r).unwrap(), b"HTTP/1.1 200 OK\r\n\r\n");
}

#[test]
fn which_profiles_are_armed_after_a_wake_is_read() {
    let read = ReadHttpNvm;
    assert_eq!(read.text(), "AT+UHTTPNV?");
    let armed = read
        .parse(&answer(&[
            "+UHTTPNV: 0,1",
            "+UHTTPNV: 1,0",
            "+UHTTPNV: 2,0",
            "+UHTTPNV: 3,0",
        ]))
        .unwrap();
    assert_eq!(armed, [(0, true), (1, false), (2, false), (3, false)]);
}

#[test]
fn the_last_error_is_read_and_explained() {
    let read = ReadHttpError(1);
    assert_eq!(read.text(), "AT+UHTTPER=1");
    let e = read.parse(&answer(&["+UHTTPER: 1,3,11"])).unwrap();
    assert_eq!(e, HttpErrorCode { class: 3, code: 11 });
    assert!(e.is_retryable());
    assert!(e.to_string().contains("does not respond"), "{e}");
    assert!(read
        .parse(&answer(&["+UHTTPER: 1,0,0"]))
        .unwrap()
        .is_retryable());
    let tls = HttpErrorCode { class: 3, code: 70 };
    assert!(tls.is_tls() && !e.is_tls());
    assert!(tls.to_string().contains("uplink.http.tls.ca_file"), "{tls}");
}

/// Through the AT client against a scripted module: the body after
/// `CONNECT`, then the response stream with `OK` inside it, up to
/// `DISCONNECT` (§7.3), then the final `OK` and the result URC.
#[tokio::test(start_paused = true)]
async fn a_direct_link_post_round_trips_through_the_client() {
    use crate::modem::at::Urc;
    use crate::modem::test_peer::start;

    let (at, mut peer) = start();
    let mut urcs = at.subscribe();
    let body = vec![0x81, 0xa2, b'O', b'K', 0x0d, 0x0a];
    let post = PostDirect {
        profile: 0,
        path: "/ingest".into(),
        content_type: ContentType::UserDefined("application/senml+cbor".into()),
        body: body.clone(),
        timeout: Duration::from_secs(90),
    };
    let module = async {
        assert_eq!(
            peer.command().await,
            "AT+UHTTPC=0,7,\"/ingest\",6,\"application/senml+cbor\",6"
        );
        peer.say(b"\r\nCONNECT\r\n").await;
        assert_eq!(peer.exact(body.len()).await, body);
        peer.say(b"HTTP/1.1 204 No Content\r\nServer: test\r\n\r\nOK\r\n")
            .await;
        peer.say(b"\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,7,1\r\n")
            .await;
    };
    let (answer, ()) = tokio::join!(at.send(&post), module);
    let response = crate::modem::http::HttpResponse::parse(&answer.unwrap()).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.body, b"OK\r\n");
    assert_eq!(
        urcs.recv().await,
        Some(Urc::HttpResult {
            profile: 0,
            command: 7,
            ok: true
        })
    );
}
