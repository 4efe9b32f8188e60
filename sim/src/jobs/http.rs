//! One request of the module's embedded HTTP client (§7) as a job: a real
//! `reqwest` client, HTTP/1.1, one connection per request.
//!
//! The job resolves the server through the simulator's [`DnsTable`] (never
//! the host's resolver: the name is pinned to that address in the client),
//! sends the request the module built, and reports the response as it comes:
//! the head (status line and headers, as the module writes them to a file or
//! the UART), then the body in chunks, then the end, or a failure at any
//! point. A connection the server cuts mid-body is a failure after some
//! body chunks.
//!
//! What goes on the wire `[model]`: `User-Agent: UBLOX-HttpClient V3.0`
//! (§7.3), header names title-cased as the module writes them, no proxy
//! (whatever the host's environment says), no redirects followed, no retry,
//! no compression asked for, a new connection per request.
//!
//! TLS seam: a secure profile (`+UHTTP=<p>,6,1,<sec profile>`) never reaches
//! this job today (the module refuses it, see `module/http/mod.rs`). When
//! the security profile's TLS layer lands, [`HttpRequest::secure`] carries
//! the profile and [`client`] is where its connector (CA, validation,
//! session resumption) is plugged into the builder, with `https` URLs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{JobEvent, JobId};
use crate::dns::DnsTable;

/// `[model]` what the module says it is (the note's §7.3 echo shows it).
pub const USER_AGENT: &str = "UBLOX-HttpClient V3.0";

/// The methods of `+UHTTPC` (§7.1): HEAD, GET, DELETE, PUT, POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Head,
    Get,
    Delete,
    Put,
    Post,
}

/// Everything one request needs, built by the module from its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// A literal address (op 0) or a name for the DNS table (op 1).
    pub host: String,
    pub port: u16,
    pub method: HttpMethod,
    /// As given to `+UHTTPC`, starting with `/`.
    pub path: String,
    /// Sent in this order after the client's own (Host, User-Agent, ...).
    pub headers: Vec<(String, String)>,
    /// Basic authentication (op 4 = 1) with op 2 and op 3.
    pub basic_auth: Option<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// No connection, or no byte from the server, for this long: the
    /// request fails (op 7, already scaled).
    pub timeout: Duration,
    /// The security profile of a secure request: the TLS seam (see the
    /// module doc). Always `None` until the TLS layer lands.
    pub secure: Option<u8>,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFailure {
    /// The server name is not in the DNS table.
    Unresolved,
    /// The TCP connection was refused or could not be made.
    ConnectFailed,
    /// No connection, or no data from the server, within the timeout.
    Timeout,
    /// The server closed the connection before the whole response came.
    Cut,
    /// The request could not be built (a path that is no URL, ...).
    Invalid,
}

/// What a request job reports, in this order: `Head`, `Body`s, `Done`; or
/// `Failed` at any point (after `Head` and some `Body`s for a cut body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpEvent {
    /// The status line and headers, ending with the empty line:
    /// `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n`.
    Head(Vec<u8>),
    /// The next piece of the body (decoded from chunked transfer coding).
    Body(Vec<u8>),
    Done,
    Failed(HttpFailure),
}

/// Runs one request to its end.
pub(super) async fn run(
    id: JobId,
    request: HttpRequest,
    dns: Arc<DnsTable>,
    events: mpsc::UnboundedSender<(JobId, JobEvent)>,
) {
    let report = |event: HttpEvent| events.send((id, JobEvent::Http(event))).is_ok();
    let Some(addr) = dns.resolve(&request.host) else {
        report(HttpEvent::Failed(HttpFailure::Unresolved));
        return;
    };
    let Some((client, url)) = client(&request, addr) else {
        report(HttpEvent::Failed(HttpFailure::Invalid));
        return;
    };
    let mut builder = client.request(method(request.method), url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some((user, password)) = &request.basic_auth {
        builder = builder.basic_auth(user, Some(password));
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(error = %e, "HTTP request failed");
            report(HttpEvent::Failed(classify(&e)));
            return;
        }
    };
    if !report(HttpEvent::Head(head(&response))) {
        return;
    }
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if !report(HttpEvent::Body(chunk.to_vec())) {
                    return;
                }
            }
            Ok(None) => {
                report(HttpEvent::Done);
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "HTTP response body failed");
                let failure = if e.is_timeout() {
                    HttpFailure::Timeout
                } else {
                    HttpFailure::Cut
                };
                report(HttpEvent::Failed(failure));
                return;
            }
        }
    }
}

/// The client for one request, and the URL to ask. A name is pinned to the
/// address the DNS table gave, so reqwest never asks the host's resolver.
fn client(request: &HttpRequest, addr: IpAddr) -> Option<(reqwest::Client, reqwest::Url)> {
    // TLS seam: a secure request would get the security profile's connector
    // here and an `https` URL. Until then nothing secure reaches this point.
    if request.secure.is_some() {
        return None;
    }
    let host = match request.host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => request.host.clone(),
    };
    let url =
        reqwest::Url::parse(&format!("http://{host}:{}{}", request.port, request.path)).ok()?;
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .http1_only()
        .http1_title_case_headers()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .pool_max_idle_per_host(0)
        .connect_timeout(request.timeout)
        .read_timeout(request.timeout);
    if request.host.parse::<IpAddr>().is_err() {
        builder = builder.resolve(&request.host, SocketAddr::new(addr, request.port));
    }
    let client = builder.build().ok()?;
    Some((client, url))
}

fn method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Delete => reqwest::Method::DELETE,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Post => reqwest::Method::POST,
    }
}

fn classify(error: &reqwest::Error) -> HttpFailure {
    if error.is_timeout() {
        HttpFailure::Timeout
    } else if error.is_connect() {
        HttpFailure::ConnectFailed
    } else if error.is_builder() {
        HttpFailure::Invalid
    } else {
        // The connection broke while the request went out or before a
        // complete head came back.
        HttpFailure::Cut
    }
}

/// `HTTP/1.1 200 OK\r\n` and the headers, `\r\n` after the last.
/// `[model]` the reason phrase is the status's standard one and header
/// names are title-cased: the client keeps neither as the server sent them.
fn head(response: &reqwest::Response) -> Vec<u8> {
    let version = match response.version() {
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let status = response.status();
    let mut out = format!(
        "{version} {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in response.headers() {
        out.extend_from_slice(title_case(name.as_str()).as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// `content-type` -> `Content-Type`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("x-amzn-trace-id"), "X-Amzn-Trace-Id");
        assert_eq!(title_case("etag"), "Etag");
    }

    #[test]
    fn a_secure_request_gets_no_client_until_the_tls_layer_lands() {
        let request = HttpRequest {
            host: "127.0.0.1".into(),
            port: 443,
            method: HttpMethod::Get,
            path: "/".into(),
            headers: Vec::new(),
            basic_auth: None,
            body: None,
            timeout: Duration::from_secs(1),
            secure: Some(0),
        };
        assert!(client(&request, "127.0.0.1".parse().unwrap()).is_none());
        let plain = HttpRequest {
            secure: None,
            ..request
        };
        let (_, url) = client(&plain, "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:443/");
    }
}
