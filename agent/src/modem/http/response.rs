//! An HTTP response as the module hands it over: in direct link the stream
//! between `CONNECT` and `DISCONNECT` (§7.3), in file mode the response
//! file (§7.2). Either holds the status line, the headers and the body, as
//! the server sent them (`HTTP/1.1 200 OK`, header lines, an empty line,
//! the body). Pure: bytes in, [`HttpResponse`] out; nothing here trusts a
//! length the server announced more than the bytes that arrived.

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub reason: String,
    /// Header names as sent, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why bytes are not a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the response is empty")]
    Empty,
    #[error("the status line {0:?} is not `HTTP/<version> <status> <reason>`")]
    StatusLine(String),
}

/// The longest status or header line read; longer ones are cut (a status
/// line or header is never this long from a real server).
const MAX_LINE: usize = 8 * 1024;

impl HttpResponse {
    pub fn parse(bytes: &[u8]) -> Result<HttpResponse, ResponseError> {
        let bytes = trim_leading_line_ends(bytes);
        if bytes.is_empty() {
            return Err(ResponseError::Empty);
        }
        let (status_line, mut rest) = split_line(bytes);
        let status_text = lossy(status_line);
        let mut parts = status_text.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().and_then(|c| c.trim().parse::<u16>().ok());
        let (true, Some(status)) = (version.starts_with("HTTP/"), code) else {
            return Err(ResponseError::StatusLine(status_text));
        };
        let reason = parts.next().unwrap_or_default().trim().to_owned();
        let mut headers = Vec::new();
        loop {
            if rest.is_empty() {
                break;
            }
            let (line, after) = split_line(rest);
            rest = after;
            if line.is_empty() {
                break;
            }
            let text = lossy(line);
            if let Some((name, value)) = text.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(HttpResponse {
            status,
            reason,
            headers,
            body: rest.to_vec(),
        })
    }

    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in seconds, when it is given as seconds (the HTTP-date
    /// form needs a clock the gateway may not have; it is ignored).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.header("Retry-After")?.trim().parse().ok()
    }

    /// The body as text for a log line: lossy UTF-8, at most `max` bytes.
    pub fn body_excerpt(&self, max: usize) -> String {
        let cut = &self.body[..self.body.len().min(max)];
        let mut text = lossy(cut);
        if self.body.len() > max {
            text.push('…');
        }
        text
    }
}

fn trim_leading_line_ends(mut bytes: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// One line (without its CR LF or bare LF) and what follows it.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let rest = bytes.get(end + 1..).unwrap_or_default();
    let mut line = &bytes[..end];
    if let [head @ .., b'\r'] = line {
        line = head;
    }
    (&line[..line.len().min(MAX_LINE)], rest)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_direct_link_answer_is_status_headers_and_body() {
        let stream = b"HTTP/1.1 200 OK\r\nDate: Tue, 07 May 2024 09:26:36 GMT\r\n\
Content-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n\
{\"data\": \"x\"}";
        let r = HttpResponse::parse(stream).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.reason, "OK");
        assert!(r.is_success());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body, b"{\"data\": \"x\"}");
    }

    #[test]
    fn a_binary_body_is_kept_byte_for_byte_and_retry_after_is_read() {
        let mut stream = b"\r\nHTTP/1.1 503 Service Unavailable\nRetry-After: 120\n\n".to_vec();
        stream.extend_from_slice(&[0, 13, 10, 255]);
        let r = HttpResponse::parse(&stream).unwrap();
        assert_eq!(r.status, 503);
        assert!(!r.is_success());
        assert_eq!(r.retry_after_secs(), Some(120));
        assert_eq!(r.body, [0, 13, 10, 255]);
    }

    #[test]
    fn what_is_not_a_response_is_an_error_not_a_panic() {
        assert_eq!(HttpResponse::parse(b""), Err(ResponseError::Empty));
        assert!(matches!(
            HttpResponse::parse(b"garbage\r\n\r\n"),
            Err(ResponseError::StatusLine(_))
        ));
        assert!(HttpResponse::parse(b"HTTP/1.1 abc OK\r\n").is_err());
        // Headers only, no body, no blank line: still a response.
        let r = HttpResponse::parse(b"HTTP/1.0 204 No Content\r\nX: y").unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
        assert_eq!(r.header("x"), Some("y"));
    }

    #[test]
    fn a_long_body_is_cut_in_a_log_excerpt() {
        let r = HttpResponse::parse(b"HTTP/1.1 400 Bad Request\r\n\r\nno such field: temperature")
            .unwrap();
        assert_eq!(r.body_excerpt(13), "no such field…");
        assert_eq!(r.body_excerpt(100), "no such field: temperature");
    }
}
