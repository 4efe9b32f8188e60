//! POSTs against a scripted module: the direct link's and the file
//! method's command sequences (§7.2, §7.3), the completion URC awaited, a
//! failure explained by `+UHTTPER` (§7.4).

use super::*;
use crate::modem::test_peer::{start, Peer};

const CBOR: &str = "application/senml+cbor";

fn options(method: PostMethod) -> HttpOptions {
    HttpOptions {
        profile: 0,
        path: "/v1/telemetry/gw-7".into(),
        method,
        content_type: ContentType::UserDefined(CBOR.into()),
        request_timeout: Duration::from_secs(30),
    }
}

/// A body with what a scanner would trip on: `OK`, CR LF, quotes, NUL.
fn body() -> Vec<u8> {
    vec![0x81, 0xa2, b'"', b'O', b'K', 0x0d, 0x0a, 0x00, 0xff]
}

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nping\r\n";

#[tokio::test(start_paused = true)]
async fn a_direct_link_post_sends_the_body_after_connect_and_reads_the_response_stream() {
    let (at, mut peer) = start();
    let mut session = HttpSession::new(&at, options(PostMethod::Direct));
    let body = body();
    let module = async {
        assert_eq!(
            peer.command().await,
            format!("AT+UHTTPC=0,7,\"/v1/telemetry/gw-7\",6,\"{CBOR}\",9")
        );
        peer.say(b"\r\nCONNECT\r\n").await;
        assert_eq!(peer.exact(body.len()).await, body);
        peer.say(RESPONSE).await;
        peer.say(b"\r\nDISCONNECT\r\n\r\nOK\r\n").await;
        // The handshake's resumption report, then the verdict.
        peer.say(b"\r\n+UUSECPRF: 1,13,0,2\r\n\r\n+UUHTTPCR: 0,7,1\r\n")
            .await;
    };
    let (response, ()) = tokio::join!(session.post(&body), module);
    let response = response.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"ping\r\n");
    assert_eq!(session.resumption(), Some((1, 2)));
    assert_eq!(peer.log.len(), 1, "{:?}", peer.log);
}

#[tokio::test(start_paused = true)]
async fn a_failed_request_is_explained_by_uhttper() {
    let (at, mut peer) = start();
    let mut session = HttpSession::new(&at, options(PostMethod::Direct));
    let module = async {
        // Refused before the network: `OK` without `CONNECT`, then 0.
        assert!(peer.command().await.starts_with("AT+UHTTPC=0,7,"));
        peer.say(b"\r\nOK\r\n\r\n+UUHTTPCR: 0,7,0\r\n").await;
        assert_eq!(peer.command().await, "AT+UHTTPER=0");
        peer.say(b"\r\n+UHTTPER: 0,3,11\r\n\r\nOK\r\n").await;
    };
    let (response, ()) = tokio::join!(session.post(b"x"), module);
    let error = response.unwrap_err();
    assert_eq!(error.code(), Some(HttpErrorCode { class: 3, code: 11 }));
    assert!(error.to_string().contains("does not respond"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_request_without_its_urc_times_out() {
    let (at, mut peer) = start();
    let mut session = HttpSession::new(&at, options(PostMethod::File));
    let body = body();
    let module = async {
        take_body_write(&mut peer, &body).await;
        assert!(peer.command().await.starts_with("AT+UHTTPC=0,4,"));
        peer.say(b"\r\nOK\r\n").await;
        // No `+UUHTTPCR`; the body file is deleted all the same.
        take_delete(&mut peer, BODY_FILE, 2).await;
    };
    let (response, ()) = tokio::join!(session.post(&body), module);
    assert!(
        matches!(response, Err(PostError::Timeout(d)) if d == Duration::from_secs(70)),
        "{response:?}"
    );
}

/// The module's side of writing the body file (handle 1).
async fn take_body_write(peer: &mut Peer, body: &[u8]) {
    assert_eq!(peer.command().await, format!("AT+FOPEN=\"{BODY_FILE}\",0"));
    peer.say(b"\r\n+FOPEN: 1\r\n\r\nOK\r\n").await;
    assert_eq!(peer.command().await, format!("AT+FWRITE=1,{}", body.len()));
    peer.say(b"\r\nCONNECT\r\n").await;
    assert_eq!(peer.exact(body.len()).await, body);
    peer.say(format!("\r\n+FWRITE: {0},{0}\r\n\r\nOK\r\n", body.len()).as_bytes())
        .await;
    peer.ok("AT+FCLOSE=1").await;
}

/// The module's side of deleting `name`, opened as `handle`.
async fn take_delete(peer: &mut Peer, name: &str, handle: u8) {
    assert_eq!(peer.command().await, format!("AT+FOPEN=\"{name}\",0"));
    peer.say(format!("\r\n+FOPEN: {handle}\r\n\r\nOK\r\n").as_bytes())
        .await;
    peer.ok(&format!("AT+FDELETE={handle}")).await;
}

#[tokio::test(start_paused = true)]
async fn the_file_method_writes_the_body_posts_it_reads_the_response_and_deletes_both_files() {
    let (at, mut peer) = start();
    let mut session = HttpSession::new(&at, options(PostMethod::File));
    let body = body();
    let module = async {
        take_body_write(&mut peer, &body).await;
        assert_eq!(
            peer.command().await,
            format!(
                "AT+UHTTPC=0,4,\"/v1/telemetry/gw-7\",\"{RESPONSE_FILE}\",\"{BODY_FILE}\",6,\
                 \"{CBOR}\""
            )
        );
        peer.say(b"\r\nOK\r\n\r\n+UUHTTPCR: 0,4,1\r\n").await;
        take_delete(&mut peer, BODY_FILE, 1).await;
        assert_eq!(
            peer.command().await,
            format!("AT+FOPEN=\"{RESPONSE_FILE}\",0")
        );
        peer.say(b"\r\n+FOPEN: 2\r\n\r\nOK\r\n").await;
        assert_eq!(peer.command().await, "AT+FREAD=2,4096");
        let mut answer = format!("\r\nCONNECT {}\r\n", RESPONSE.len()).into_bytes();
        answer.extend_from_slice(RESPONSE);
        answer.extend_from_slice(b"\r\nOK\r\n");
        peer.say(&answer).await;
        peer.ok("AT+FDELETE=2").await;
    };
    let (response, ()) = tokio::join!(session.post(&body), module);
    let response = response.unwrap();
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"ping\r\n"[..])
    );
    assert_eq!(
        peer.log,
        [
            format!("AT+FOPEN=\"{BODY_FILE}\",0"),
            format!("AT+FWRITE=1,{}", body.len()),
            "AT+FCLOSE=1".to_owned(),
            format!(
                "AT+UHTTPC=0,4,\"/v1/telemetry/gw-7\",\"{RESPONSE_FILE}\",\"{BODY_FILE}\",6,\
                 \"{CBOR}\""
            ),
            format!("AT+FOPEN=\"{BODY_FILE}\",0"),
            "AT+FDELETE=1".to_owned(),
            format!("AT+FOPEN=\"{RESPONSE_FILE}\",0"),
            "AT+FREAD=2,4096".to_owned(),
            "AT+FDELETE=2".to_owned(),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_file_left_over_from_a_power_cut_is_deleted_and_written_afresh() {
    let (at, mut peer) = start();
    let mut session = HttpSession::new(&at, options(PostMethod::File));
    let body = body();
    let module = async {
        assert_eq!(peer.command().await, format!("AT+FOPEN=\"{BODY_FILE}\",0"));
        peer.say(b"\r\n+FOPEN: 1\r\n\r\nOK\r\n").await;
        assert!(peer.command().await.starts_with("AT+FWRITE=1,"));
        peer.say(b"\r\nCONNECT\r\n").await;
        peer.exact(body.len()).await;
        // The file was longer: an older body's tail is still in it.
        peer.say(format!("\r\n+FWRITE: {},100\r\n\r\nOK\r\n", body.len()).as_bytes())
            .await;
        peer.ok("AT+FDELETE=1").await;
        take_body_write(&mut peer, &body).await;
        assert!(peer.command().await.starts_with("AT+UHTTPC=0,4,"));
        peer.say(b"\r\nOK\r\n\r\n+UUHTTPCR: 0,4,0\r\n").await;
        assert_eq!(peer.command().await, "AT+UHTTPER=0");
        peer.say(b"\r\n+UHTTPER: 0,10,22\r\n\r\nOK\r\n").await;
        take_delete(&mut peer, BODY_FILE, 1).await;
    };
    let (response, ()) = tokio::join!(session.post(&body), module);
    // A failed request reads no response file.
    assert_eq!(
        response.unwrap_err().code(),
        Some(HttpErrorCode {
            class: 10,
            code: 22
        })
    );
    assert!(!peer.log.iter().any(|l| l.starts_with("AT+FREAD")));
}
