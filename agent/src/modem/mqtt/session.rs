//! An MQTT session through the module's embedded client (§6.2-6.8).
//!
//! Split as in rumqttc: [`SessionState`] is pure (a URC in, an [`Event`]
//! out, given what the session waits for); [`MqttSession`] is the thin async
//! driver that sends the commands of `commands.rs` on an [`AtClient`] and awaits
//! their completion URCs on a [`UrcSubscription`] opened *before* the first
//! command, so no URC can slip past.
//!
//! Rules this file keeps:
//! - a command's `OK` is not the operation's completion: login, publish,
//!   subscribe and logout each wait for their `+UUMQTTC` with a deadline;
//! - a payload counts as delivered only after its confirmation URC
//!   (`+UUMQTTC: 2,1` as §6.5 shows for a binary publish, or `9,1`); on any
//!   failure the payload is handed back to the caller (rumqttc style), who
//!   leaves its readings in the queue;
//! - `+UUMQTTC: 0,<reason>` outside a logout means the session is gone;
//! - a failed login or completion is explained with `AT+UMQTTER` and
//!   classified retryable or not; [`backoff`] spaces the retries.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::modem::at::{AtClient, AtError, Urc, UrcSubscription};

use super::commands::{
    Login, Logout, Message, MqttErrorCode, PublishBinary, ReadMessage, ReadMqttError, Subscribe,
};

/// What the session is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    Nothing,
    Login,
    Subscribe,
    Publish,
    Logout,
}

/// What a URC means for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    LoggedIn,
    LoginFailed,
    Subscribed {
        granted_qos: Option<u8>,
    },
    SubscribeFailed,
    Published,
    PublishFailed,
    LoggedOut,
    /// `+UUMQTTC: 0,<reason>` outside a logout: 100 keep-alive, 101
    /// connection lost, 102 protocol violation `[lib]`.
    Dropped {
        reason: i64,
    },
    /// `+UUMQTTC: 6,<n>`: n messages wait to be read.
    Unread(u32),
    /// `+UUMQTTC: 8,0`: the ping loop got no answer.
    PingFailed,
    /// `+UUSECPRF: <p>,13,0,<status>` (§3.4.1): a secure connection's
    /// session resumption state; 2 means the handshake left session data.
    SessionResumption {
        profile: u8,
        status: u8,
    },
}

/// The pure part of the session: URCs in, events out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub waiting: Waiting,
    pub connected: bool,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            waiting: Waiting::Nothing,
            connected: false,
        }
    }
}

impl SessionState {
    /// Starts waiting for `what`.
    pub fn awaiting(&mut self, what: Waiting) {
        self.waiting = what;
    }

    /// Types `urc` for the session; `None` for URCs that are not MQTT's or
    /// answer nothing the session waits for (a late confirmation).
    pub fn handle(&mut self, urc: &Urc) -> Option<Event> {
        if let Urc::SessionResumption { profile, status } = urc {
            return Some(Event::SessionResumption {
                profile: *profile,
                status: *status,
            });
        }
        let Urc::MqttResult { op, result, rest } = urc else {
            return None;
        };
        let ok = *result == 1;
        let event = match (*op, self.waiting) {
            (1, Waiting::Login) => {
                self.connected = ok;
                if ok {
                    Event::LoggedIn
                } else {
                    Event::LoginFailed
                }
            }
            (4, Waiting::Subscribe) if ok => Event::Subscribed {
                granted_qos: rest.first().and_then(|q| q.parse().ok()),
            },
            (4, Waiting::Subscribe) => Event::SubscribeFailed,
            (2 | 9, Waiting::Publish) if ok => Event::Published,
            (2 | 9, Waiting::Publish) => Event::PublishFailed,
            (0, Waiting::Logout) if ok => {
                self.connected = false;
                Event::LoggedOut
            }
            (0, _) => {
                self.connected = false;
                Event::Dropped { reason: *result }
            }
            (6, _) => Event::Unread(u32::try_from(*result).unwrap_or(0)),
            (8, _) if !ok => Event::PingFailed,
            _ => return None,
        };
        if !matches!(event, Event::Unread(_) | Event::PingFailed) {
            self.waiting = Waiting::Nothing;
        }
        Some(event)
    }
}

/// Timing and topics of a session.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// How long `+UUMQTTC: 1,<r>` may take after `AT+UMQTTC=1`.
    pub login_timeout: Duration,
    /// How long a publish's confirmation may take.
    pub publish_timeout: Duration,
    /// How long subscribe and logout confirmations may take.
    pub confirm_timeout: Duration,
    /// QoS of published payloads (0 or 1).
    pub qos: u8,
    /// Where payloads go (`{device_id}` already substituted).
    pub topic: String,
    /// Subscribed at login, if set.
    pub command_topic: Option<String>,
    /// Where answers to commands go.
    pub reply_topic: String,
}

impl SessionOptions {
    /// Options with the deadlines [`SessionOptions::default_timeouts`] uses.
    pub fn new(qos: u8, topic: String, command_topic: Option<String>) -> SessionOptions {
        let reply_topic = match &command_topic {
            Some(t) => format!("{t}/reply"),
            None => format!("{topic}/reply"),
        };
        SessionOptions {
            login_timeout: Duration::from_secs(60),
            publish_timeout: Duration::from_secs(60),
            confirm_timeout: Duration::from_secs(30),
            qos,
            topic,
            command_topic,
            reply_topic,
        }
    }
}

/// Why a session could not be started, or ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("MQTT login refused: {error}")]
    LoginRefused { error: MqttErrorCode },
    #[error("no MQTT login result within {0:?}")]
    LoginTimeout(Duration),
    #[error("subscribing to {topic:?} failed")]
    SubscribeFailed { topic: String },
    #[error("the MQTT session dropped (+UUMQTTC: 0,{reason})")]
    Dropped { reason: i64 },
    #[error("no MQTT logout confirmation within {0:?}")]
    LogoutTimeout(Duration),
    #[error(transparent)]
    Modem(#[from] AtError),
}

impl SessionError {
    /// A refused login's TLS failure, in words (`None` for any other
    /// failure).
    pub fn tls_failure(&self) -> Option<&'static str> {
        match self {
            SessionError::LoginRefused { error } if error.is_tls() => Some(error.describe()),
            _ => None,
        }
    }

    /// Worth reconnecting after a backoff; false when the same attempt will
    /// fail the same way (e.g. refused credentials).
    pub fn is_retryable(&self) -> bool {
        match self {
            SessionError::LoginRefused { error } => error.is_retryable(),
            SessionError::SubscribeFailed { .. } => false,
            SessionError::Modem(AtError::Parse { .. }) => false,
            _ => true,
        }
    }
}

/// Why a publish was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    #[error("the module reported the publish failed ({0})")]
    Refused(MqttErrorCode),
    #[error("no publish confirmation within {0:?}")]
    Timeout(Duration),
    #[error("the session dropped while publishing (+UUMQTTC: 0,{0})")]
    Dropped(i64),
    #[error(transparent)]
    Modem(#[from] AtError),
}

/// A publish that was not delivered, with its payload handed back.
#[derive(Debug, thiserror::Error)]
#[error("publish of {} bytes not delivered: {reason}", payload.len())]
pub struct PublishError {
    pub payload: Vec<u8>,
    pub reason: PublishFailure,
}

impl PublishError {
    /// The session is gone: reconnect before the next publish.
    pub fn session_lost(&self) -> bool {
        !matches!(self.reason, PublishFailure::Refused(_))
    }
}

/// The commands the command topic carries: the agent's one grammar, shared
/// with the HTTP uplink's responses (`crate::command`).
pub use crate::command::Command;

/// Receives the commands read from the command topic. Replies to `ping`
/// and to unknown commands are the session's business.
pub trait DownlinkHandler {
    fn on_command(&mut self, command: &Command, message: &Message);
}

/// A live session. Dropping it does not log out; call [`MqttSession::logout`].
#[derive(Debug)]
pub struct MqttSession {
    at: AtClient,
    urcs: UrcSubscription,
    state: SessionState,
    options: SessionOptions,
    /// Messages the module announced and that were not read yet.
    unread: u32,
    /// The last session resumption state the module reported (profile,
    /// status), from the secure login's handshake.
    resumption: Option<(u8, u8)>,
}

impl MqttSession {
    /// Logs in (`AT+UMQTTC=1`, §6.2), waits for `+UUMQTTC: 1,<r>`, and
    /// subscribes to the command topic (§6.3). The profile must be
    /// provisioned (`mqtt::profile::provision`) before.
    pub async fn connect(at: &AtClient, options: SessionOptions) -> Result<Self, SessionError> {
        let mut session = MqttSession {
            urcs: at.subscribe(),
            at: at.clone(),
            state: SessionState::default(),
            options,
            unread: 0,
            resumption: None,
        };
        session.state.awaiting(Waiting::Login);
        if let Err(e) = session.at.send(&Login).await {
            // ERROR to the command itself (e.g. no PDP context): ask why.
            let error = session.last_error().await;
            warn!(%e, ?error, "MQTT login command failed");
            return Err(match error {
                Some(error) => SessionError::LoginRefused { error },
                None => SessionError::Modem(e),
            });
        }
        let within = session.options.login_timeout;
        match session.wait(within).await {
            Some(Event::LoggedIn) => info!("MQTT session up"),
            Some(Event::LoginFailed) => {
                let error = session.last_error().await.unwrap_or(MqttErrorCode::NONE);
                warn!(%error, "MQTT login failed");
                return Err(SessionError::LoginRefused { error });
            }
            _ => return Err(SessionError::LoginTimeout(within)),
        }
        if let Some(topic) = session.options.command_topic.clone() {
            session.state.awaiting(Waiting::Subscribe);
            session
                .at
                .send(&Subscribe {
                    qos: 1,
                    topic: topic.clone(),
                })
                .await?;
            match session.wait(session.options.confirm_timeout).await {
                Some(Event::Subscribed { granted_qos }) => {
                    debug!(%topic, ?granted_qos, "subscribed to the command topic")
                }
                Some(Event::Dropped { reason }) => return Err(SessionError::Dropped { reason }),
                _ => return Err(SessionError::SubscribeFailed { topic }),
            }
        }
        Ok(session)
    }

    /// Publishes `payload` to the telemetry topic with a binary publish
    /// (§6.5). `Ok` only after the confirmation URC; otherwise the payload
    /// comes back in the error.
    pub async fn publish(&mut self, payload: Vec<u8>) -> Result<(), PublishError> {
        let topic = self.options.topic.clone();
        self.publish_to(topic, payload).await
    }

    /// [`MqttSession::publish`] to another topic (replies).
    pub async fn publish_to(
        &mut self,
        topic: String,
        payload: Vec<u8>,
    ) -> Result<(), PublishError> {
        self.state.awaiting(Waiting::Publish);
        let cmd = PublishBinary {
            qos: self.options.qos,
            retain: false,
            topic,
            payload,
        };
        let fail = |payload: Vec<u8>, reason| Err(PublishError { payload, reason });
        if let Err(e) = self.at.send(&cmd).await {
            return fail(cmd.payload, PublishFailure::Modem(e));
        }
        let within = self.options.publish_timeout;
        match self.wait(within).await {
            Some(Event::Published) => Ok(()),
            Some(Event::PublishFailed) => {
                let error = self.last_error().await.unwrap_or(MqttErrorCode::NONE);
                fail(cmd.payload, PublishFailure::Refused(error))
            }
            Some(Event::Dropped { reason }) => fail(cmd.payload, PublishFailure::Dropped(reason)),
            _ => fail(cmd.payload, PublishFailure::Timeout(within)),
        }
    }

    /// Reads every message the module announced (`+UUMQTTC: 6,<n>`) with
    /// `AT+UMQTTC=6,1` and hands each command to `handler`; answers `ping`
    /// with `pong` and unknown commands with an error on the reply topic.
    /// Returns how many messages were read.
    pub async fn service_downlink(
        &mut self,
        handler: &mut dyn DownlinkHandler,
    ) -> Result<usize, SessionError> {
        while let Some(urc) = self.urcs.try_recv() {
            self.note(&urc)?;
        }
        let mut read = 0;
        while self.unread > 0 {
            let Some(message) = self.at.send(&ReadMessage::default()).await? else {
                self.unread = 0;
                break;
            };
            self.unread -= 1;
            read += 1;
            let command = Command::parse(&message.payload);
            handler.on_command(&command, &message);
            let reply = match &command {
                Command::Flush | Command::Plugin { .. } => None,
                Command::Ping => Some(b"pong".to_vec()),
                Command::Unknown(text) => {
                    warn!(command = %text, topic = %message.topic, "unknown command");
                    Some(format!("error: unknown command {text:?}").into_bytes())
                }
            };
            if let Some(reply) = reply {
                let topic = self.options.reply_topic.clone();
                if let Err(e) = self.publish_to(topic, reply).await {
                    warn!(error = %e, "reply not delivered");
                    if e.session_lost() {
                        return Err(match e.reason {
                            PublishFailure::Dropped(reason) => SessionError::Dropped { reason },
                            PublishFailure::Modem(m) => SessionError::Modem(m),
                            _ => SessionError::Dropped { reason: -1 },
                        });
                    }
                }
            }
        }
        Ok(read)
    }

    /// Waits until the module announces a downlink message (then call
    /// [`MqttSession::service_downlink`]) or the session drops (`Err`).
    /// Other URCs are noted on the way. Cancel-safe: it only awaits the URC
    /// channel, so a daemon can `select!` on it between uploads.
    pub async fn wait_downlink(&mut self) -> Result<(), SessionError> {
        while self.unread == 0 {
            match self.urcs.recv().await {
                Some(urc) => self.note(&urc)?,
                None => return Err(SessionError::Modem(AtError::PortClosed)),
            }
        }
        Ok(())
    }

    /// Messages announced and not read yet.
    pub fn unread(&self) -> u32 {
        self.unread
    }

    pub fn is_connected(&self) -> bool {
        self.state.connected
    }

    /// The session resumption state the secure login reported, as
    /// `(security profile, status)`: status 2 means session data waits to be
    /// read (`AT+USECPRF=<p>,13,3`). `None` for a plain session.
    pub fn resumption(&self) -> Option<(u8, u8)> {
        self.resumption
    }

    /// Logs out (`AT+UMQTTC=0`, §6.2) and waits for `+UUMQTTC: 0,1`.
    pub async fn logout(mut self) -> Result<(), SessionError> {
        if !self.state.connected {
            return Ok(());
        }
        self.state.awaiting(Waiting::Logout);
        self.at.send(&Logout).await?;
        let within = self.options.confirm_timeout;
        match self.wait(within).await {
            Some(Event::LoggedOut) => {
                info!("MQTT session closed");
                Ok(())
            }
            Some(Event::Dropped { .. }) => Ok(()),
            _ => Err(SessionError::LogoutTimeout(within)),
        }
    }

    /// Waits until the event the state waits for (or a drop) arrives;
    /// other MQTT events are noted on the way. `None` on deadline.
    async fn wait(&mut self, within: Duration) -> Option<Event> {
        let deadline = Instant::now() + within;
        loop {
            let urc = tokio::time::timeout_at(deadline, self.urcs.recv())
                .await
                .ok()??;
            match self.state.handle(&urc) {
                Some(Event::Unread(n)) => self.unread = n,
                Some(Event::PingFailed) => warn!("MQTT ping failed"),
                Some(Event::SessionResumption { profile, status }) => {
                    self.resumption = Some((profile, status));
                }
                Some(event) => return Some(event),
                None => {}
            }
        }
    }

    /// Notes a URC received between operations.
    fn note(&mut self, urc: &Urc) -> Result<(), SessionError> {
        match self.state.handle(urc) {
            Some(Event::Unread(n)) => self.unread = n,
            Some(Event::Dropped { reason }) => return Err(SessionError::Dropped { reason }),
            Some(Event::SessionResumption { profile, status }) => {
                self.resumption = Some((profile, status));
            }
            _ => {}
        }
        Ok(())
    }

    /// `AT+UMQTTER`, or `None` if even that failed.
    async fn last_error(&self) -> Option<MqttErrorCode> {
        match self.at.send(&ReadMqttError).await {
            Ok(e) => Some(e),
            Err(e) => {
                debug!(%e, "AT+UMQTTER failed");
                None
            }
        }
    }
}

/// The wait before reconnect attempt `attempt` (0-based): `base * 2^attempt`
/// capped at `max`, of which the upper half is scaled by `jitter` in
/// `[0, 1)` (supplied by the caller, so this stays pure and testable). The
/// jitter keeps a fleet of gateways that lost the same broker from
/// reconnecting in lockstep; the lower half keeps the wait from collapsing.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    let half = exp / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
