//! One POST per message through the module's HTTP client, in either of the
//! two ways the note shows, and the server's response read back:
//!
//! - direct link (§7.3, the default): `AT+UHTTPC=<p>,7,"<path>",<content
//!   type>,<length>`, `CONNECT`, the body byte for byte, the response
//!   streamed back up to `DISCONNECT`, `OK`, then `+UUHTTPCR: <p>,7,<r>`;
//! - file (§7.2): the body written to a file of the module (`+FOPEN`,
//!   `+FWRITE`, `+FCLOSE`), `AT+UHTTPC=<p>,4,"<path>","<response
//!   file>","<body file>",<content type>`, `+UUHTTPCR: <p>,4,<r>`, the
//!   response file read (`+FOPEN`, `+FREAD`) and both files deleted.
//!
//! A request's `OK` only says the module took it: the URC says whether it
//! completed, and the URC subscription is opened before the command so it
//! cannot slip past. A request that completed (`+UUHTTPCR: ...,1`) has a
//! response: status line, headers and body as the server sent them, parsed
//! by `response.rs`. What the status means for the message is the uplink's
//! business (`uplink/http.rs`). A request that failed (`...,0`) is
//! explained by `AT+UHTTPER=<p>` (§7.4).
//!
//! Over TLS the handshake may report the session resumption state
//! (`+UUSECPRF: <p>,13,0,<status>`, §3.4): noted for the caller, who keeps
//! the session data.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::commands::{
    ContentType, HttpErrorCode, HttpMethod, HttpRequest, PostDirect, ReadHttpError,
};
use super::response::{HttpResponse, ResponseError};
use crate::modem::at::{AtClient, AtError, Urc, UrcSubscription};
use crate::modem::fs::{CloseFile, DeleteFile, OpenFile, ReadFile, WriteFile};

/// The file the body is written to in the file method `[model]` (any name
/// of at most 63 characters `[lib]`).
pub const BODY_FILE: &str = "edge-agent-body";
/// The file the module writes the response to in the file method.
pub const RESPONSE_FILE: &str = "edge-agent-response";
/// How much of a response file is read, in reads of [`READ_CHUNK`]: the
/// status, the headers and enough body for an error's excerpt and the
/// commands a server sends back.
pub const MAX_RESPONSE: usize = 16 * 1024;
const READ_CHUNK: usize = 4096;

/// `uplink.http.method`: how a body reaches the module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostMethod {
    /// Direct link (§7.3): the body over the UART, byte for byte.
    #[default]
    Direct,
    /// A file of the module (§7.2), for firmware where direct link
    /// misbehaves; costs flash writes.
    File,
}

/// What every request of the uplink needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// The HTTP profile (0 on LEXI-R10).
    pub profile: u8,
    /// Path and query, starting with `/`.
    pub path: String,
    pub method: PostMethod,
    /// The body's media type (the encoding's).
    pub content_type: ContentType,
    /// The profile's request timeout (op 7).
    pub request_timeout: Duration,
}

impl HttpOptions {
    /// How long a request may take from its command to its `+UUHTTPCR`:
    /// the module's timeout runs from its last network activity, so a slow
    /// request may take longer; twice it and a margin.
    pub fn deadline(&self) -> Duration {
        self.request_timeout * 2 + Duration::from_secs(10)
    }
}

/// Why a POST got no response.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// `+UUHTTPCR: <p>,<cmd>,0`; `error` is `+UHTTPER`'s, when it could be
    /// read.
    #[error("the module's HTTP request failed ({})", .error.map_or_else(|| "+UHTTPER unreadable".to_owned(), |e| e.to_string()))]
    Failed { error: Option<HttpErrorCode> },
    #[error("no +UUHTTPCR within {0:?}")]
    Timeout(Duration),
    /// The body file kept more than the body, even written afresh.
    #[error("the module's body file does not hold the body alone")]
    BodyFile,
    /// The request completed but what came back is no HTTP response.
    #[error("the response could not be read: {0}")]
    Response(#[from] ResponseError),
    #[error(transparent)]
    Modem(#[from] AtError),
}

impl PostError {
    /// The module's error code, if it reported one.
    pub fn code(&self) -> Option<HttpErrorCode> {
        match self {
            PostError::Failed { error } => *error,
            _ => None,
        }
    }
}

/// The HTTP uplink's requests on one module. Holds no module state of its
/// own: each POST is complete in itself.
#[derive(Debug)]
pub struct HttpSession {
    at: AtClient,
    options: HttpOptions,
    /// The resumption state the last request's handshake reported, as
    /// `(security profile, status)`.
    resumption: Option<(u8, u8)>,
}

impl HttpSession {
    /// Requests on `at` with `options`; the profile must be provisioned
    /// (`http::profile::provision`) before.
    pub fn new(at: &AtClient, options: HttpOptions) -> HttpSession {
        HttpSession {
            at: at.clone(),
            options,
            resumption: None,
        }
    }

    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The session resumption state the last request's TLS handshake
    /// reported (`+UUSECPRF`), as `(security profile, status)`.
    pub fn resumption(&self) -> Option<(u8, u8)> {
        self.resumption
    }

    /// POSTs `body` and returns the server's response, whatever its status.
    pub async fn post(&mut self, body: &[u8]) -> Result<HttpResponse, PostError> {
        self.resumption = None;
        let raw = match self.options.method {
            PostMethod::Direct => self.post_direct(body).await?,
            PostMethod::File => self.post_file(body).await?,
        };
        Ok(HttpResponse::parse(&raw)?)
    }

    /// §7.3: the body after `CONNECT`, the response as a stream.
    async fn post_direct(&mut self, body: &[u8]) -> Result<Vec<u8>, PostError> {
        let mut urcs = self.at.subscribe();
        let post = PostDirect {
            profile: self.options.profile,
            path: self.options.path.clone(),
            content_type: self.options.content_type.clone(),
            body: body.to_vec(),
            timeout: self.options.deadline(),
        };
        let stream = match self.at.send(&post).await {
            Ok(stream) => stream,
            Err(e) => return Err(self.refused(e).await),
        };
        self.completed(&mut urcs, HttpMethod::PostDirect).await?;
        Ok(stream)
    }

    /// §7.2: body file, request, response file; both files deleted after.
    async fn post_file(&mut self, body: &[u8]) -> Result<Vec<u8>, PostError> {
        self.write_body(body).await?;
        let mut urcs = self.at.subscribe();
        let request = HttpRequest {
            profile: self.options.profile,
            method: HttpMethod::PostFile,
            path: self.options.path.clone(),
            response_file: RESPONSE_FILE.to_owned(),
            body: Some((BODY_FILE.to_owned(), self.options.content_type.clone())),
        };
        let sent = match self.at.send(&request).await {
            Ok(()) => self.completed(&mut urcs, HttpMethod::PostFile).await,
            Err(e) => Err(self.refused(e).await),
        };
        // The body is sent or refused either way: it does not stay in flash.
        if let Err(e) = self.delete(BODY_FILE).await {
            debug!(error = %e, "the body file could not be deleted; the next write replaces it");
        }
        sent?;
        self.read_response().await
    }

    /// The body into [`BODY_FILE`], alone: a file left over (a power cut
    /// between a write and its delete) is deleted and written again.
    async fn write_body(&self, body: &[u8]) -> Result<(), PostError> {
        for _ in 0..2 {
            let handle = self.open(BODY_FILE).await?;
            let written = self
                .at
                .send(&WriteFile {
                    handle,
                    data: body.to_vec(),
                })
                .await?;
            if written.file_size == body.len() {
                return Ok(self.at.send(&CloseFile(handle)).await?);
            }
            debug!(
                size = written.file_size,
                "the body file held an older body; writing it afresh"
            );
            self.at.send(&DeleteFile(handle)).await?;
        }
        Err(PostError::BodyFile)
    }

    /// The response file, up to [`MAX_RESPONSE`] bytes; then deleted.
    async fn read_response(&self) -> Result<Vec<u8>, PostError> {
        let handle = self.open(RESPONSE_FILE).await?;
        let mut response = Vec::new();
        while response.len() < MAX_RESPONSE {
            let chunk = self
                .at
                .send(&ReadFile {
                    handle,
                    max: READ_CHUNK,
                })
                .await?;
            response.extend_from_slice(&chunk);
            if chunk.len() < READ_CHUNK {
                break;
            }
        }
        self.at.send(&DeleteFile(handle)).await?;
        Ok(response)
    }

    async fn open(&self, name: &str) -> Result<u8, AtError> {
        self.at
            .send(&OpenFile {
                name: name.to_owned(),
            })
            .await
    }

    async fn delete(&self, name: &str) -> Result<(), AtError> {
        let handle = self.open(name).await?;
        self.at.send(&DeleteFile(handle)).await
    }

    /// The command itself was refused (`ERROR`): the module's error says
    /// why when it has one.
    async fn refused(&self, e: AtError) -> PostError {
        match self.last_error().await {
            Some(error) if error != HttpErrorCode::NONE => PostError::Failed { error: Some(error) },
            _ => PostError::Modem(e),
        }
    }

    /// Waits for the request's `+UUHTTPCR`; a failure is explained.
    async fn completed(
        &mut self,
        urcs: &mut UrcSubscription,
        method: HttpMethod,
    ) -> Result<(), PostError> {
        let within = self.options.deadline();
        let deadline = Instant::now() + within;
        let profile = self.options.profile;
        loop {
            let urc = tokio::time::timeout_at(deadline, urcs.recv())
                .await
                .map_err(|_| PostError::Timeout(within))?
                .ok_or(PostError::Modem(AtError::PortClosed))?;
            match urc {
                Urc::HttpResult {
                    profile: p,
                    command,
                    ok,
                } if p == profile && command == method as u8 => {
                    if ok {
                        return Ok(());
                    }
                    let error = self.last_error().await;
                    return Err(PostError::Failed { error });
                }
                Urc::SessionResumption { profile, status } => {
                    self.resumption = Some((profile, status));
                }
                _ => {}
            }
        }
    }

    /// `AT+UHTTPER=<p>`, or `None` if even that failed.
    pub async fn last_error(&self) -> Option<HttpErrorCode> {
        match self.at.send(&ReadHttpError(self.options.profile)).await {
            Ok(e) => Some(e),
            Err(e) => {
                warn!(error = %e, "AT+UHTTPER failed");
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
