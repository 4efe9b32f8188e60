//! The module's HTTP client as a [`Transport`] for [`drain`](super::drain):
//! one POST per message, judged by the status the server answered.
//!
//! A message is delivered only when the module reported the request
//! completed (`+UUHTTPCR: <p>,<cmd>,1`, checked by the session) and the
//! server's status is 2xx. Otherwise ([`verdict`]):
//!
//! - 5xx, 429, 408, a network failure, a response that cannot be read, and
//!   statuses that say nothing about the content (1xx, 3xx): transient.
//!   The readings stay queued and the window ends; the caller backs off,
//!   at least as long as `Retry-After` (in seconds) says ([`Backpressure`]);
//! - 401 and 403: transient too (rotated credentials come back), with a
//!   loud error naming `uplink.http.headers`;
//! - any other 4xx: the server refuses this content for good: rejected,
//!   with the status and an excerpt of the body, so the drain dead-letters
//!   exactly that message's readings and goes on.
//!
//! After every failure `AT+UHTTPER` is read and said in words.
//!
//! Downlink: a 2xx response whose body is `text/plain` may carry commands,
//! one per line (`crate::command`); they are kept for the window to serve.

use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::drain::{SendError, Transport};
use crate::command::Command;
use crate::modem::http::{HttpErrorCode, HttpResponse, HttpSession, PostError};

/// The most commands one response body is read for.
pub const MAX_COMMANDS_PER_RESPONSE: usize = 16;
/// How much of a refusing server's body goes into the log and the dead
/// letters' reason.
const EXCERPT_BYTES: usize = 200;
/// The longest `Retry-After` honoured: a server's (or a proxy's) absurd
/// value must not silence a gateway for months.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What a response's status means for the message it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// Try later, not before `retry_after` if the server said so.
    Retry { retry_after: Option<Duration> },
    /// 401, 403: the gateway's credentials (headers) are not accepted.
    Credentials,
    /// Another 4xx: this content is refused for good.
    Rejected,
}

/// The verdict on `response` (see the module docs).
pub fn verdict(response: &HttpResponse) -> Verdict {
    let retry_after = response
        .retry_after_secs()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
    match response.status {
        200..=299 => Verdict::Delivered,
        401 | 403 => Verdict::Credentials,
        408 | 429 => Verdict::Retry { retry_after },
        400..=499 => Verdict::Rejected,
        _ => Verdict::Retry { retry_after },
    }
}

/// The far end asked the uplink to wait (or could not be reached): the
/// next attempt waits at least `retry_after` when it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure {
    pub retry_after: Option<Duration>,
}

/// How the last request went, for TLS's bookkeeping around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// The server answered: any TLS handshake succeeded; the resumption
    /// state it reported, as `(security profile, status)`.
    Answered { resumption: Option<(u8, u8)> },
    /// No answer; the module's error, if it gave one.
    Failed { code: Option<HttpErrorCode> },
}

/// The HTTP uplink of one window: the session, the commands the responses
/// carried, and what the last failure asks of the caller.
#[derive(Debug)]
pub struct HttpTransport {
    session: HttpSession,
    commands: Vec<Command>,
    backpressure: Option<Backpressure>,
    exchange: Option<Exchange>,
}

impl HttpTransport {
    pub fn new(session: HttpSession) -> HttpTransport {
        HttpTransport {
            session,
            commands: Vec::new(),
            backpressure: None,
            exchange: None,
        }
    }

    /// The commands the responses carried since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// What the last failed send asks of the caller, once.
    pub fn take_backpressure(&mut self) -> Option<Backpressure> {
        self.backpressure.take()
    }

    /// How the last request went (`None` before the first).
    pub fn last_exchange(&self) -> Option<Exchange> {
        self.exchange
    }

    /// The status said no: back off, with the module's word on it.
    async fn refused(&mut self, response: &HttpResponse, retry_after: Option<Duration>) {
        let module = self.session.last_error().await;
        self.backpressure = Some(Backpressure { retry_after });
        warn!(
            status = response.status,
            reason = %response.reason,
            ?retry_after,
            module = %describe(module),
            "the server cannot take the message now; the readings stay queued"
        );
    }

    fn keep_commands(&mut self, response: &HttpResponse) {
        let text = response.header("Content-Type").is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/plain")
        });
        if text && !response.body.is_empty() {
            let commands = Command::parse_lines(&response.body, MAX_COMMANDS_PER_RESPONSE);
            debug!(count = commands.len(), "commands in the response");
            self.commands.extend(commands);
        }
    }
}

/// `+UHTTPER` in words for a log line.
fn describe(code: Option<HttpErrorCode>) -> String {
    code.map_or_else(|| "+UHTTPER unreadable".to_owned(), |c| c.to_string())
}

impl Transport for HttpTransport {
    async fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.backpressure = None;
        let response = match self.session.post(payload).await {
            Ok(response) => response,
            Err(e) => {
                let code = match &e {
                    PostError::Failed { error } => *error,
                    _ => self.session.last_error().await,
                };
                self.exchange = Some(Exchange::Failed { code });
                self.backpressure = Some(Backpressure { retry_after: None });
                warn!(error = %e, module = %describe(code), "HTTP request failed");
                return Err(SendError::Transient(e.to_string()));
            }
        };
        self.exchange = Some(Exchange::Answered {
            resumption: self.session.resumption(),
        });
        let status = format!("HTTP {} {}", response.status, response.reason);
        match verdict(&response) {
            Verdict::Delivered => {
                self.keep_commands(&response);
                Ok(())
            }
            Verdict::Retry { retry_after } => {
                self.refused(&response, retry_after).await;
                Err(SendError::Transient(status))
            }
            Verdict::Credentials => {
                self.refused(&response, None).await;
                error!(
                    status = response.status,
                    body = %response.body_excerpt(EXCERPT_BYTES),
                    "the server refuses the gateway's credentials: check the headers of \
                     uplink.http.headers (e.g. Authorization) and the server's access rules; \
                     the readings stay queued and the uplink keeps trying"
                );
                Err(SendError::Transient(status))
            }
            Verdict::Rejected => {
                let module = self.session.last_error().await;
                info!(module = %describe(module), "the server refused the message");
                Err(SendError::Rejected(format!(
                    "{status}: {}",
                    response.body_excerpt(EXCERPT_BYTES)
                )))
            }
        }
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
