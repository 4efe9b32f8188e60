//! `[model]` A broker that is not there: the MQTT job of
//! [`MqttBackend::Virtual`](crate::config::MqttBackend::Virtual). It answers
//! every request after a fixed latency on tokio's clock and never touches the
//! network, so a whole simulated day can run under a paused clock (tokio
//! auto-advances time only when every task waits on a timer; real socket I/O
//! would let it jump past the timeouts that guard it). Every publish is
//! recorded for the benchmarks to count.
//!
//! It reports the same [`MqttEvent`]s as the real session, so the module (and
//! the AT side) cannot tell the two apart. Nothing ever arrives on a
//! subscription: there is no other client. A secure login (op 11) makes a
//! real TLS handshake with the broker's in-memory TLS server
//! (`tls/virtual_server.rs`; its CA is [`tls::virtual_broker_ca_pem`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::mqtt::{MqttCommand, MqttEvent, MqttFailure, MqttLogin};
use super::{tls, JobEvent, JobId};
use crate::dns::DnsTable;

/// One message the virtual broker accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRecord {
    /// Module time it was accepted at (the clock of the power log).
    pub at: Duration,
    pub topic: String,
    pub qos: u8,
    pub payload_len: usize,
}

/// What a virtual session needs besides its login: how slow the broker is
/// and where to record.
#[derive(Debug, Clone)]
pub struct VirtualBroker {
    /// Real (tokio) time per request, already scaled.
    pub latency: Duration,
    /// The module's start, on tokio's clock, and its time scale: to stamp
    /// records in module time.
    pub started: Instant,
    pub time_scale: f64,
    pub published: Arc<Mutex<Vec<PublishedRecord>>>,
}

impl VirtualBroker {
    fn module_time(&self) -> Duration {
        let real = tokio::time::Instant::now()
            .into_std()
            .saturating_duration_since(self.started);
        if self.time_scale > 0.0 {
            Duration::try_from_secs_f64(real.as_secs_f64() / self.time_scale)
                .unwrap_or(Duration::MAX)
        } else {
            real
        }
    }
}

/// Runs one session from login to its end.
pub(super) async fn run(
    id: JobId,
    login: MqttLogin,
    broker: VirtualBroker,
    dns: Arc<DnsTable>,
    events: mpsc::UnboundedSender<(JobId, JobEvent)>,
    mut commands: mpsc::UnboundedReceiver<MqttCommand>,
) {
    let report = |event: MqttEvent| events.send((id, JobEvent::Mqtt(event))).is_ok();
    // The name must still resolve: a misconfigured host fails as it would
    // against a real broker.
    if dns.resolve(&login.host).is_none() {
        report(MqttEvent::LoginFailed(MqttFailure::Unresolved));
        return;
    }
    // Same rule as the real client: no persistent session without an id.
    if login.client_id.is_empty() && !login.clean_session {
        report(MqttEvent::LoginFailed(MqttFailure::BrokerRefused(2)));
        return;
    }
    // A secure login: a real handshake with the broker's own TLS server,
    // in memory. It takes no time here: the energy ledger charges its
    // round trips, as it does for a real server on loopback.
    if let Some(setup) = &login.tls {
        let tls_events = events.clone();
        let on_event: tls::OnEvent = Arc::new(move |event| {
            let _ = tls_events.send((id, JobEvent::Tls(event)));
        });
        if let Err(failure) = tls::virtual_handshake(setup, &login.host, on_event).await {
            report(MqttEvent::LoginFailed(MqttFailure::Tls(failure)));
            return;
        }
    }
    // A broker slower than the login timeout is one that never answers.
    if broker.latency > login.login_timeout {
        tokio::time::sleep(login.login_timeout).await;
        report(MqttEvent::LoginFailed(MqttFailure::Timeout));
        return;
    }
    tokio::time::sleep(broker.latency).await;
    if !report(MqttEvent::Connected) {
        return;
    }
    // One request at a time, in order, each after the latency: the module
    // sees completions in the order it asked, as with the real client.
    while let Some(command) = commands.recv().await {
        tokio::time::sleep(broker.latency).await;
        let event = match command {
            MqttCommand::Publish {
                tag,
                topic,
                qos,
                payload,
                ..
            } => {
                let record = PublishedRecord {
                    at: broker.module_time(),
                    topic,
                    qos,
                    payload_len: payload.len(),
                };
                broker
                    .published
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(record);
                MqttEvent::Published { tag, ok: true }
            }
            MqttCommand::Subscribe { filter, qos } => MqttEvent::Subscribed {
                filter,
                granted: Some(qos.min(2)),
            },
            MqttCommand::Unsubscribe { filter } => MqttEvent::Unsubscribed { filter, ok: true },
            MqttCommand::Logout => {
                report(MqttEvent::LoggedOut);
                return;
            }
        };
        if !report(event) {
            return;
        }
    }
}
