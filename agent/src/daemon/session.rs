//! A window's session on either transport, in the one shape the window
//! logic drives: open (`Uplink::open`), send (a [`Transport`] for the
//! drain), downlink, close.
//!
//! | step | MQTT | HTTP |
//! |---|---|---|
//! | open | login, command topic subscribed | nothing |
//! | send | binary publish, `+UUMQTTC: 9,1` | POST, `+UUHTTPCR` and a 2xx |
//! | TLS | around the login | around every request (its own connection) |
//! | downlink | messages on the command topic | commands in response bodies |
//! | backpressure | none (a lost session is the next window's) | 5xx, 429, 408, network: back off, `Retry-After` |
//! | close | logout | nothing |

use tracing::warn;

use crate::modem::at::AtClient;
use crate::modem::mqtt::session::{MqttSession, SessionError};
use crate::store::Store;
use crate::uplink::http::{Backpressure, Exchange, HttpTransport};
use crate::uplink::{SendError, Transport};

use super::Tls;

/// A window's session.
#[derive(Debug)]
pub(super) enum UplinkSession {
    Mqtt(MqttSession),
    Http(HttpTransport),
}

impl UplinkSession {
    /// Whether messages can be sent: an MQTT session logged in; HTTP
    /// always (each request connects on its own).
    pub fn is_connected(&self) -> bool {
        match self {
            UplinkSession::Mqtt(s) => s.is_connected(),
            UplinkSession::Http(_) => true,
        }
    }

    /// Whether opening it proved the far end answers (an MQTT login): then
    /// a window's retries start afresh at the open; for HTTP only a
    /// delivered message says so.
    pub fn open_proves_link(&self) -> bool {
        matches!(self, UplinkSession::Mqtt(_))
    }

    /// Whether the server can push commands during the session (MQTT's
    /// command topic); HTTP's come only in responses.
    pub fn pushes_downlink(&self) -> bool {
        matches!(self, UplinkSession::Mqtt(_))
    }

    /// What the last failed send asks of the window (HTTP's `Retry-After`
    /// and backoff); MQTT asks nothing.
    pub fn take_backpressure(&mut self) -> Option<Backpressure> {
        match self {
            UplinkSession::Mqtt(_) => None,
            UplinkSession::Http(t) => t.take_backpressure(),
        }
    }

    /// Waits until downlink is ready to be read, or the session drops.
    /// HTTP has no pushed downlink (its commands come in responses): it
    /// waits for ever. Cancel-safe.
    pub async fn wait_downlink(&mut self) -> Result<(), SessionError> {
        match self {
            UplinkSession::Mqtt(s) if s.is_connected() => s.wait_downlink().await,
            _ => std::future::pending().await,
        }
    }

    /// Ends the session: the MQTT logout; nothing for HTTP.
    pub async fn close(self) -> Result<(), SessionError> {
        match self {
            UplinkSession::Mqtt(s) => s.logout().await,
            UplinkSession::Http(_) => Ok(()),
        }
    }

    /// The `MQTT session up` / `HTTP uplink ready` line of the status.
    pub fn status(&self) -> &'static str {
        match self {
            UplinkSession::Mqtt(_) => "MQTT session up",
            UplinkSession::Http(_) => "HTTP uplink ready",
        }
    }
}

/// The session as the drain's [`Transport`], with TLS's part around each
/// HTTPS request: the session data offered before, the handshake counted
/// and its data kept after, a TLS failure explained and its data dropped.
/// (MQTT's TLS happens around its login, not its publishes.)
pub(super) struct Sending<'a> {
    pub session: &'a mut UplinkSession,
    pub tls: Option<&'a mut Tls>,
    pub at: &'a AtClient,
    pub store: &'a Store,
    pub now_secs: Option<u64>,
}

impl Transport for Sending<'_> {
    async fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
        let transport = match &mut *self.session {
            UplinkSession::Mqtt(s) => return s.send(payload).await,
            UplinkSession::Http(t) => t,
        };
        let Some(tls) = self.tls.as_deref_mut() else {
            return transport.send(payload).await;
        };
        tls.before_login(self.at, self.store, self.now_secs).await;
        let sent = transport.send(payload).await;
        match transport.last_exchange() {
            Some(Exchange::Answered { resumption }) => {
                tls.logged_in(self.at, self.store, resumption, self.now_secs)
                    .await;
            }
            Some(Exchange::Failed { code }) => {
                let words = code.filter(|c| c.is_tls()).map(|c| c.describe());
                if let Err(e) = tls.login_failed(self.at, self.store, words).await {
                    warn!(error = %e, "cannot drop the TLS session data");
                }
            }
            None => {}
        }
        sent
    }
}

/// Waits for downlink on the session, or for ever without one.
pub(super) async fn wait_downlink(session: Option<&mut UplinkSession>) -> Result<(), SessionError> {
    match session {
        Some(s) => s.wait_downlink().await,
        None => std::future::pending().await,
    }
}
