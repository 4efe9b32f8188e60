//! The HTTP transport's verdicts, through a scripted module in direct link:
//! what is delivered, what waits (and how long), what is refused for good,
//! and the commands a response carries.

use std::time::Duration;

use super::*;
use crate::modem::http::{ContentType, HttpOptions, PostMethod};
use crate::modem::test_peer::{start, Peer};

fn transport(at: &crate::modem::at::AtClient) -> HttpTransport {
    HttpTransport::new(HttpSession::new(
        at,
        HttpOptions {
            profile: 0,
            path: "/ingest".into(),
            method: PostMethod::Direct,
            content_type: ContentType::UserDefined("application/senml+json".into()),
            request_timeout: Duration::from_secs(30),
        },
    ))
}

fn response(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// The module's side of one direct-link POST that the server answers with
/// `answer`; then `+UHTTPER` if the transport asks.
async fn serve(peer: &mut Peer, body: &[u8], answer: &[u8], asks_error: bool) {
    assert_eq!(
        peer.command().await,
        format!(
            "AT+UHTTPC=0,7,\"/ingest\",6,\"application/senml+json\",{}",
            body.len()
        )
    );
    peer.say(b"\r\nCONNECT\r\n").await;
    assert_eq!(peer.exact(body.len()).await, body);
    peer.say(answer).await;
    peer.say(b"\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,7,1\r\n")
        .await;
    if asks_error {
        assert_eq!(peer.command().await, "AT+UHTTPER=0");
        peer.say(b"\r\n+UHTTPER: 0,0,0\r\n\r\nOK\r\n").await;
    }
}

async fn send(answer: Vec<u8>, asks_error: bool) -> (HttpTransport, Result<(), SendError>) {
    let (at, mut peer) = start();
    let mut t = transport(&at);
    let body = b"[{\"n\":\"t\",\"v\":1}]";
    let (sent, ()) = tokio::join!(t.send(body), serve(&mut peer, body, &answer, asks_error));
    (t, sent)
}

#[tokio::test(start_paused = true)]
async fn a_2xx_delivers_the_message() {
    for status in ["200 OK", "201 Created", "204 No Content"] {
        let (mut t, sent) = send(response(status, &[], ""), false).await;
        assert_eq!(sent, Ok(()), "{status}");
        assert_eq!(t.take_backpressure(), None);
        assert_eq!(
            t.last_exchange(),
            Some(Exchange::Answered { resumption: None })
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_400_rejects_the_message_for_good_with_status_and_body() {
    let (mut t, sent) = send(
        response("400 Bad Request", &[], "unknown field: temperature"),
        true,
    )
    .await;
    assert_eq!(
        sent,
        Err(SendError::Rejected(
            "HTTP 400 Bad Request: unknown field: temperature".into()
        ))
    );
    assert_eq!(
        t.take_backpressure(),
        None,
        "a refusal is no reason to wait"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_or_403_keeps_the_readings() {
    for status in ["401 Unauthorized", "403 Forbidden"] {
        let (mut t, sent) = send(response(status, &[], "bad token"), true).await;
        assert_eq!(sent, Err(SendError::Transient(format!("HTTP {status}"))));
        assert_eq!(
            t.take_backpressure(),
            Some(Backpressure { retry_after: None })
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_or_503_keeps_the_readings_and_says_how_long_to_wait() {
    let (mut t, sent) = send(
        response("429 Too Many Requests", &["Retry-After: 120"], ""),
        true,
    )
    .await;
    assert!(matches!(sent, Err(SendError::Transient(_))), "{sent:?}");
    assert_eq!(
        t.take_backpressure(),
        Some(Backpressure {
            retry_after: Some(Duration::from_secs(120))
        })
    );
    assert_eq!(t.take_backpressure(), None, "taken once");

    let (mut t, sent) = send(response("503 Service Unavailable", &[], ""), true).await;
    assert_eq!(
        sent,
        Err(SendError::Transient("HTTP 503 Service Unavailable".into()))
    );
    assert_eq!(
        t.take_backpressure(),
        Some(Backpressure { retry_after: None })
    );
    // An absurd Retry-After is capped.
    let (mut t, _) = send(
        response("503 Service Unavailable", &["Retry-After: 99999999"], ""),
        true,
    )
    .await;
    assert_eq!(
        t.take_backpressure(),
        Some(Backpressure {
            retry_after: Some(MAX_RETRY_AFTER)
        })
    );
}

#[test]
fn the_verdict_table() {
    let v = |status: u16| {
        verdict(&HttpResponse {
            status,
            reason: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        })
    };
    assert_eq!(v(200), Verdict::Delivered);
    assert_eq!(v(204), Verdict::Delivered);
    assert_eq!(v(400), Verdict::Rejected);
    assert_eq!(v(404), Verdict::Rejected);
    assert_eq!(v(413), Verdict::Rejected);
    assert_eq!(v(422), Verdict::Rejected);
    assert_eq!(v(401), Verdict::Credentials);
    assert_eq!(v(403), Verdict::Credentials);
    for status in [408, 429, 500, 502, 503, 504, 301, 100] {
        assert_eq!(v(status), Verdict::Retry { retry_after: None }, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_text_response_carries_commands_one_per_line() {
    let (mut t, sent) = send(
        response(
            "200 OK",
            &["Content-Type: text/plain; charset=utf-8"],
            "ping\r\nplugin synthetic rate=2\r\n",
        ),
        false,
    )
    .await;
    assert_eq!(sent, Ok(()));
    assert_eq!(
        t.take_commands(),
        [
            Command::Ping,
            Command::Plugin {
                instance: "synthetic".into(),
                payload: b"rate=2".to_vec()
            }
        ]
    );
    assert!(t.take_commands().is_empty());
    // A JSON acknowledgement is no command.
    let (mut t, _) = send(
        response(
            "200 OK",
            &["Content-Type: application/json"],
            "{\"ok\":true}",
        ),
        false,
    )
    .await;
    assert!(t.take_commands().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_request_is_transient_and_names_the_module_error() {
    let (at, mut peer) = start();
    let mut t = transport(&at);
    let module = async {
        assert!(peer.command().await.starts_with("AT+UHTTPC=0,7,"));
        peer.say(b"\r\nOK\r\n\r\n+UUHTTPCR: 0,7,0\r\n").await;
        assert_eq!(peer.command().await, "AT+UHTTPER=0");
        peer.say(b"\r\n+UHTTPER: 0,3,11\r\n\r\nOK\r\n").await;
    };
    let (sent, ()) = tokio::join!(t.send(b"x"), module);
    let Err(SendError::Transient(reason)) = sent else {
        panic!("{sent:?}");
    };
    assert!(reason.contains("does not respond"), "{reason}");
    assert_eq!(
        t.last_exchange(),
        Some(Exchange::Failed {
            code: Some(HttpErrorCode { class: 3, code: 11 })
        })
    );
    assert_eq!(
        t.take_backpressure(),
        Some(Backpressure { retry_after: None })
    );
}
