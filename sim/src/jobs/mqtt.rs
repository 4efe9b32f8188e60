//! The module's embedded MQTT client as a job: a real `rumqttc`
//! [`AsyncClient`] whose event loop runs in the job's task.
//!
//! The event loop is polled by its own future that is never cancelled (a
//! cancelled `poll` can lose a half-written packet); it forwards what it sees
//! through a channel to the session loop, which also takes the module's
//! [`MqttCommand`]s and turns both into [`MqttEvent`]s for the module.
//!
//! Requests go to the client with `try_*` (the event loop runs in this same
//! task, so an awaiting send could never be served). Packet ids are matched to
//! the module's requests by order: rumqttc writes requests in the order it
//! receives them and reports each write as `Outgoing::Publish(pkid)` (etc.).
//!
//! A secure login (`AT+UMQTT=11,1,<profile>`, §6.9) first opens the TLS
//! connection ([`super::tls::open`]: the handshake with what the security
//! profile holds), then points rumqttc at the loopback port of its plain
//! side and polls the bridge in this same task, so the TLS connection lives
//! and dies with the session. The TLS layer's reports go to the module as
//! [`JobEvent::Tls`], before the session's own (the handshake report comes
//! with the first bytes from the broker, ahead of CONNACK).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, Outgoing, QoS,
    StateError, SubscribeReasonCode,
};
use tokio::sync::mpsc;

use super::tls::{self, BridgeTask, OnEvent, OpenError, TlsFailure, TlsSetup};
use super::{JobEvent, JobId};
use crate::dns::DnsTable;

/// `[model]` keep-alive on the wire when the profile says 0 (rumqttd, like
/// many brokers, refuses 0): rumqttc's default.
pub const DEFAULT_KEEP_ALIVE_S: u64 = 60;
/// `[model]` the largest packet the client sends or accepts.
pub const MAX_PACKET: usize = 256 * 1024;
/// Requests the client queues before `try_*` fails.
const REQUEST_CAPACITY: usize = 64;

/// Everything a login needs, taken from the profile when `+UMQTTC=1` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttLogin {
    pub client_id: String,
    /// A literal address (op 2) or a name for the DNS table (op 3).
    pub host: String,
    pub port: u16,
    /// `None`: no credentials in CONNECT.
    pub credentials: Option<(String, String)>,
    /// Seconds; 0 means [`DEFAULT_KEEP_ALIVE_S`].
    pub keep_alive: u16,
    pub clean_session: bool,
    pub will: Option<MqttWill>,
    /// Give up when CONNACK has not come by then (already scaled); with
    /// TLS also the bound of each handshake attempt.
    pub login_timeout: Duration,
    /// `Some`: a secure session (op 11), over TLS made with this (boxed:
    /// most logins are plain).
    pub tls: Option<Box<TlsSetup>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttWill {
    pub topic: String,
    pub message: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

/// What the module asks of a connected session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttCommand {
    Publish {
        tag: u64,
        topic: String,
        qos: u8,
        retain: bool,
        payload: Vec<u8>,
    },
    Subscribe {
        filter: String,
        qos: u8,
    },
    Unsubscribe {
        filter: String,
    },
    /// Send DISCONNECT and end the session.
    Logout,
}

/// Why a login failed or a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttFailure {
    /// The server name is not in the DNS table.
    Unresolved,
    /// TCP connect failed (refused, unreachable).
    ConnectFailed,
    /// No CONNACK in time.
    Timeout,
    /// CONNACK with this return code (1..=5).
    BrokerRefused(u8),
    /// The connection broke.
    Lost,
    /// PINGRESP did not come.
    PingTimeout,
    /// The broker sent something that breaks the protocol.
    Protocol,
    /// The TLS handshake failed (the module also heard it as a
    /// [`JobEvent::Tls`] report).
    Tls(TlsFailure),
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttEvent {
    /// CONNACK accepted.
    Connected,
    LoginFailed(MqttFailure),
    /// A publish completed (`ok`: written for QoS 0, PUBACK for QoS 1) or
    /// could not be queued.
    Published {
        tag: u64,
        ok: bool,
    },
    /// SUBACK: `Some(granted qos)` or `None` (refused / not queued).
    Subscribed {
        filter: String,
        granted: Option<u8>,
    },
    Unsubscribed {
        filter: String,
        ok: bool,
    },
    /// A message arrived on a subscription.
    Message {
        topic: String,
        qos: u8,
        payload: Vec<u8>,
    },
    /// DISCONNECT sent (or the connection closed while logging out).
    LoggedOut,
    /// The session ended on its own.
    Lost(MqttFailure),
}

fn qos(n: u8) -> QoS {
    match n {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The client's options; it connects to `host:port` (the broker, or the
/// plain side of the TLS bridge).
fn options(login: &MqttLogin, host: &str, port: u16) -> Result<MqttOptions, MqttFailure> {
    // rumqttc asserts a non-empty client id for a persistent session; the
    // broker would refuse it anyway (CONNACK 2, identifier rejected).
    if login.client_id.is_empty() && !login.clean_session {
        return Err(MqttFailure::BrokerRefused(2));
    }
    let mut opts = MqttOptions::new(login.client_id.clone(), host, port);
    let keep_alive = match login.keep_alive {
        0 => DEFAULT_KEEP_ALIVE_S,
        n => u64::from(n),
    };
    opts.set_keep_alive(Duration::from_secs(keep_alive));
    opts.set_clean_session(login.clean_session);
    opts.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    if let Some((user, pass)) = &login.credentials {
        opts.set_credentials(user.clone(), pass.clone());
    }
    if let Some(will) = &login.will {
        opts.set_last_will(LastWill::new(
            will.topic.clone(),
            will.message.clone(),
            qos(will.qos),
            will.retain,
        ));
    }
    Ok(opts)
}

fn classify(error: &ConnectionError) -> MqttFailure {
    match error {
        ConnectionError::MqttState(StateError::AwaitPingResp) => MqttFailure::PingTimeout,
        ConnectionError::MqttState(StateError::Deserialization(_))
        | ConnectionError::MqttState(StateError::WrongPacket)
        | ConnectionError::MqttState(StateError::Unsolicited(_))
        | ConnectionError::NotConnAck(_) => MqttFailure::Protocol,
        ConnectionError::ConnectionRefused(code) => MqttFailure::BrokerRefused(*code as u8),
        _ => MqttFailure::Lost,
    }
}

/// Runs one session from login to its end.
pub(super) async fn run(
    id: JobId,
    login: MqttLogin,
    dns: Arc<DnsTable>,
    events: mpsc::UnboundedSender<(JobId, JobEvent)>,
    commands: mpsc::UnboundedReceiver<MqttCommand>,
) {
    let report = |event: MqttEvent| events.send((id, JobEvent::Mqtt(event))).is_ok();
    let Some(addr) = dns.resolve(&login.host) else {
        report(MqttEvent::LoginFailed(MqttFailure::Unresolved));
        return;
    };
    let (host, port, bridge) = match &login.tls {
        None => (addr.to_string(), login.port, None),
        Some(setup) => {
            let tls_events = events.clone();
            let on_event: OnEvent = Arc::new(move |event| {
                let _ = tls_events.send((id, JobEvent::Tls(event)));
            });
            let server = SocketAddr::new(addr, login.port);
            match tls::open(setup, server, login.login_timeout, on_event).await {
                Ok(opened) => ("127.0.0.1".to_string(), opened.port, Some(opened)),
                Err(error) => {
                    report(MqttEvent::LoginFailed(match error {
                        OpenError::Connect => MqttFailure::ConnectFailed,
                        OpenError::Timeout => MqttFailure::Timeout,
                        OpenError::Tls(failure) => MqttFailure::Tls(failure),
                    }));
                    return;
                }
            }
        }
    };
    let opts = match options(&login, &host, port) {
        Ok(opts) => opts,
        Err(failure) => {
            report(MqttEvent::LoginFailed(failure));
            return;
        }
    };
    let (client, mut eventloop) = AsyncClient::new(opts, REQUEST_CAPACITY);
    let connect_secs = login.login_timeout.as_secs().clamp(1, 3600);
    eventloop
        .network_options
        .set_connection_timeout(connect_secs);
    let (seen_tx, seen_rx) = mpsc::unbounded_channel();
    // Its own task, so that it can outlive the client at a logout; aborted
    // with this one (a cancelled job, a reboot) when the guard drops.
    let mut bridge = bridge.map(|opened| BridgeTask(tokio::spawn(tls::bridge(opened))));
    let end = tokio::select! {
        () = pump(eventloop, seen_tx) => End::Other,
        end = session(&login, client, seen_rx, commands, &report) => end,
    };
    if let End::LoggedOut = end {
        // The client is gone (its socket closed): the bridge forwards what
        // it still holds, DISCONNECT included, and closes the TLS
        // connection cleanly before the module hears of the logout.
        if let Some(BridgeTask(task)) = bridge.as_mut() {
            let _ = tokio::time::timeout(LOGOUT_LINGER, task).await;
        }
        report(MqttEvent::LoggedOut);
    }
}

/// `[model]` how long a logout waits for the TLS connection to pass on the
/// DISCONNECT and close (real time): loopback or a cellular round trip.
const LOGOUT_LINGER: Duration = Duration::from_secs(2);

/// Polls the event loop until its first error, forwarding everything.
async fn pump(
    mut eventloop: EventLoop,
    seen: mpsc::UnboundedSender<Result<Event, ConnectionError>>,
) {
    loop {
        let event = eventloop.poll().await;
        let failed = event.is_err();
        if seen.send(event).is_err() || failed {
            break;
        }
    }
    // Keep the connection (and this future) alive until the session loop
    // is done with it: it ends the task.
    std::future::pending::<()>().await;
}

/// How [`session`] ended.
enum End {
    /// DISCONNECT written (or the connection closed while logging out):
    /// the caller reports [`MqttEvent::LoggedOut`].
    LoggedOut,
    /// Reported already, or nobody to report to.
    Other,
}

async fn session(
    login: &MqttLogin,
    client: AsyncClient,
    mut seen: mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
    mut commands: mpsc::UnboundedReceiver<MqttCommand>,
    report: &impl Fn(MqttEvent) -> bool,
) -> End {
    // Login: until CONNACK, an error, or the deadline.
    let connack = tokio::time::timeout(login.login_timeout, async {
        loop {
            match seen.recv().await {
                Some(Ok(Event::Incoming(Incoming::ConnAck(_)))) => return Ok(()),
                Some(Ok(_)) => continue,
                Some(Err(ConnectionError::ConnectionRefused(code))) => {
                    return Err(MqttFailure::BrokerRefused(code as u8))
                }
                Some(Err(ConnectionError::Io(_))) => return Err(MqttFailure::ConnectFailed),
                Some(Err(ConnectionError::NetworkTimeout)) => return Err(MqttFailure::Timeout),
                Some(Err(e)) => return Err(classify(&e)),
                None => return Err(MqttFailure::Lost),
            }
        }
    })
    .await;
    match connack {
        Ok(Ok(())) => {
            if !report(MqttEvent::Connected) {
                return End::Other;
            }
        }
        Ok(Err(failure)) => {
            report(MqttEvent::LoginFailed(failure));
            return End::Other;
        }
        Err(_) => {
            report(MqttEvent::LoginFailed(MqttFailure::Timeout));
            return End::Other;
        }
    }

    // Requests written in order; (tag, qos) waiting for their Outgoing event.
    let mut publishes: VecDeque<(u64, u8)> = VecDeque::new();
    let mut unacked: HashMap<u16, u64> = HashMap::new();
    let mut subscribes: VecDeque<String> = VecDeque::new();
    let mut suback: HashMap<u16, String> = HashMap::new();
    let mut unsubscribes: VecDeque<String> = VecDeque::new();
    let mut unsuback: HashMap<u16, String> = HashMap::new();
    let mut logging_out = false;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return End::Other, // the module forgot the session
                Some(MqttCommand::Publish { tag, topic, qos: q, retain, payload }) => {
                    match client.try_publish(topic, qos(q), retain, payload) {
                        Ok(()) => publishes.push_back((tag, q)),
                        Err(_) => {
                            report(MqttEvent::Published { tag, ok: false });
                        }
                    }
                }
                Some(MqttCommand::Subscribe { filter, qos: q }) => {
                    match client.try_subscribe(filter.clone(), qos(q)) {
                        Ok(()) => subscribes.push_back(filter),
                        Err(_) => {
                            report(MqttEvent::Subscribed { filter, granted: None });
                        }
                    }
                }
                Some(MqttCommand::Unsubscribe { filter }) => {
                    match client.try_unsubscribe(filter.clone()) {
                        Ok(()) => unsubscribes.push_back(filter),
                        Err(_) => {
                            report(MqttEvent::Unsubscribed { filter, ok: false });
                        }
                    }
                }
                Some(MqttCommand::Logout) => {
                    logging_out = true;
                    if client.try_disconnect().is_err() {
                        return End::LoggedOut;
                    }
                }
            },
            event = seen.recv() => {
                let event = match event {
                    Some(Ok(event)) => event,
                    Some(Err(e)) => {
                        if logging_out {
                            return End::LoggedOut;
                        }
                        tracing::debug!(error = %e, "MQTT session lost");
                        report(MqttEvent::Lost(classify(&e)));
                        return End::Other;
                    }
                    None => {
                        if logging_out {
                            return End::LoggedOut;
                        }
                        report(MqttEvent::Lost(MqttFailure::Lost));
                        return End::Other;
                    }
                };
                match event {
                    Event::Outgoing(Outgoing::Publish(pkid)) => {
                        if let Some((tag, q)) = publishes.pop_front() {
                            if q == 0 {
                                // [model] QoS 0 is confirmed once written.
                                report(MqttEvent::Published { tag, ok: true });
                            } else {
                                unacked.insert(pkid, tag);
                            }
                        }
                    }
                    Event::Incoming(Incoming::PubAck(ack)) => {
                        if let Some(tag) = unacked.remove(&ack.pkid) {
                            report(MqttEvent::Published { tag, ok: true });
                        }
                    }
                    Event::Incoming(Incoming::PubComp(comp)) => {
                        if let Some(tag) = unacked.remove(&comp.pkid) {
                            report(MqttEvent::Published { tag, ok: true });
                        }
                    }
                    Event::Outgoing(Outgoing::Subscribe(pkid)) => {
                        if let Some(filter) = subscribes.pop_front() {
                            suback.insert(pkid, filter);
                        }
                    }
                    Event::Incoming(Incoming::SubAck(ack)) => {
                        if let Some(filter) = suback.remove(&ack.pkid) {
                            let granted = match ack.return_codes.first() {
                                Some(SubscribeReasonCode::Success(q)) => Some(*q as u8),
                                _ => None,
                            };
                            report(MqttEvent::Subscribed { filter, granted });
                        }
                    }
                    Event::Outgoing(Outgoing::Unsubscribe(pkid)) => {
                        if let Some(filter) = unsubscribes.pop_front() {
                            unsuback.insert(pkid, filter);
                        }
                    }
                    Event::Incoming(Incoming::UnsubAck(ack)) => {
                        if let Some(filter) = unsuback.remove(&ack.pkid) {
                            report(MqttEvent::Unsubscribed { filter, ok: true });
                        }
                    }
                    Event::Incoming(Incoming::Publish(publish)) => {
                        report(MqttEvent::Message {
                            topic: publish.topic,
                            qos: publish.qos as u8,
                            payload: publish.payload.to_vec(),
                        });
                    }
                    Event::Outgoing(Outgoing::Disconnect) => return End::LoggedOut,
                    _ => {}
                }
            }
        }
    }
}
