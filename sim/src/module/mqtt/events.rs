//! What the session job (`crate::jobs::mqtt`, a real rumqttc client)
//! reports, turned into `+UUMQTTC` URCs and `+UMQTTER` codes; and a session
//! that ends without a logout (connection dropped, radio lost).

use std::time::Instant;

use super::state::{
    Received, State, CONTROL_PACKET, ER_CONNECT, ER_ENDED_CLASS, ER_NOT_QUEUED, ER_NO_RADIO,
    ER_REFUSED_CLASS, ER_TIMEOUT, ER_UNRESOLVED, PACKET_OVERHEAD, REASON_KEEP_ALIVE, REASON_LOST,
    REASON_PROTOCOL,
};
use crate::jobs::tls::TlsFailure;
use crate::jobs::{JobId, MqttEvent, MqttFailure};
use crate::module::security::tls_error;
use crate::module::{Effect, Module};

/// `[model]` received messages kept unread; newer ones are dropped.
pub const MAX_INBOX: usize = 64;

impl Module {
    /// A session job reported.
    pub(in crate::module) fn on_mqtt(&mut self, id: JobId, event: MqttEvent, now: Instant) {
        let (job, ping_loop) = match self.mqtt.state {
            State::Idle => return,
            State::LoggingIn(job) | State::LoggingOut(job) => (job, false),
            State::Connected { job, ping_loop } => (job, ping_loop),
        };
        if job != id {
            return; // a session that is over
        }
        match event {
            MqttEvent::Connected => {
                if let State::LoggingIn(job) = self.mqtt.state {
                    self.mqtt.state = State::Connected {
                        job,
                        ping_loop: false,
                    };
                    self.traffic(now);
                    self.mqtt_packet_bytes(0, CONTROL_PACKET);
                    self.urc("+UUMQTTC: 1,1".to_string());
                }
            }
            MqttEvent::LoginFailed(failure) => {
                self.end_session(id);
                self.mqtt.last_error = match failure {
                    MqttFailure::Unresolved => ER_UNRESOLVED,
                    MqttFailure::ConnectFailed => ER_CONNECT,
                    MqttFailure::Timeout => ER_TIMEOUT,
                    MqttFailure::BrokerRefused(rc) => (ER_REFUSED_CLASS, u16::from(rc)),
                    MqttFailure::Lost | MqttFailure::PingTimeout => (ER_ENDED_CLASS, REASON_LOST),
                    MqttFailure::Protocol => (ER_ENDED_CLASS, REASON_PROTOCOL),
                    MqttFailure::Tls(failure) => tls_error(failure),
                };
                self.urc("+UUMQTTC: 1,0".to_string());
            }
            MqttEvent::Published { tag, ok } => {
                self.mqtt.in_flight = self.mqtt.in_flight.saturating_sub(1);
                // [model] every publish is answered (PUBACK, or the TCP ACK at QoS 0).
                self.mqtt_packet_bytes(0, CONTROL_PACKET);
                if self.mqtt.silent.remove(&tag) {
                    return;
                }
                if !ok {
                    self.mqtt.last_error = ER_NOT_QUEUED;
                }
                self.traffic(now);
                self.urc(format!("+UUMQTTC: 2,{}", u8::from(ok)));
            }
            MqttEvent::Subscribed { filter, granted } => {
                self.mqtt_reply_in();
                match granted {
                    Some(qos) => self.urc(format!("+UUMQTTC: 4,1,{qos},\"{filter}\"")),
                    None => {
                        self.mqtt.last_error = ER_NOT_QUEUED;
                        self.urc("+UUMQTTC: 4,0".to_string());
                    }
                }
            }
            MqttEvent::Unsubscribed { ok, .. } => {
                self.mqtt_reply_in();
                if !ok {
                    self.mqtt.last_error = ER_NOT_QUEUED;
                }
                self.urc(format!("+UUMQTTC: 5,{}", u8::from(ok)));
            }
            MqttEvent::Message {
                topic,
                qos,
                payload,
            } => {
                if self.mqtt.inbox.len() >= MAX_INBOX {
                    tracing::warn!(%topic, "MQTT inbox full; message dropped");
                    return;
                }
                self.traffic(now);
                self.mqtt_packet_bytes(
                    0,
                    PACKET_OVERHEAD + topic.len() as u64 + payload.len() as u64,
                );
                self.mqtt.inbox.push_back(Received {
                    topic,
                    qos,
                    payload,
                });
                self.urc(format!("+UUMQTTC: 6,{}", self.mqtt.inbox.len()));
            }
            MqttEvent::LoggedOut => {
                self.end_session(id);
                self.urc("+UUMQTTC: 0,1".to_string());
            }
            MqttEvent::Lost(failure) => {
                let reason = match failure {
                    MqttFailure::PingTimeout => REASON_KEEP_ALIVE,
                    MqttFailure::Protocol => REASON_PROTOCOL,
                    _ => REASON_LOST,
                };
                if failure == MqttFailure::PingTimeout && ping_loop {
                    self.urc("+UUMQTTC: 8,0".to_string());
                }
                self.session_lost(reason, (ER_ENDED_CLASS, reason));
            }
        }
    }

    /// A SUBACK/UNSUBACK came in.
    fn mqtt_reply_in(&mut self) {
        self.mqtt.in_flight = self.mqtt.in_flight.saturating_sub(1);
        self.mqtt_packet_bytes(0, CONTROL_PACKET);
    }

    /// The TLS handshake under session `id` failed, maybe after the
    /// client thought it done (TLS 1.3: the server refuses the client
    /// certificate after our Finished): a login still running fails with
    /// the handshake's code, whatever the client reports later.
    pub(in crate::module) fn mqtt_tls_failed(&mut self, id: JobId, failure: TlsFailure) {
        if self.mqtt.state == State::LoggingIn(id) {
            self.end_session(id);
            self.mqtt.last_error = tls_error(failure);
            self.urc("+UUMQTTC: 1,0".to_string());
        }
    }

    /// The session is over: forget it and stop its job (and its TLS).
    pub(super) fn end_session(&mut self, job: JobId) {
        self.mqtt.state = State::Idle;
        self.mqtt.raw = None;
        self.mqtt.in_flight = 0;
        self.mqtt.secure = false;
        self.tls_closed(job);
        self.out.push(Effect::CancelJob(job));
    }

    /// The session ended without a logout: `+UUMQTTC: 0,<reason>`.
    pub(super) fn session_lost(&mut self, reason: u16, error: (u16, u16)) {
        let job = match self.mqtt.state {
            State::Idle => return,
            State::LoggingIn(job) => {
                // Not connected yet: the login fails instead.
                self.end_session(job);
                self.mqtt.last_error = error;
                self.urc("+UUMQTTC: 1,0".to_string());
                return;
            }
            State::Connected { job, .. } | State::LoggingOut(job) => job,
        };
        self.end_session(job);
        self.mqtt.last_error = error;
        self.urc(format!("+UUMQTTC: 0,{reason}"));
    }

    /// Control handle: the connection drops now (the TCP connection closes
    /// without DISCONNECT, so the broker sends the will). Publishes in flight
    /// are never confirmed.
    pub(in crate::module) fn mqtt_drop_session(&mut self) {
        self.session_lost(REASON_LOST, (ER_ENDED_CLASS, REASON_LOST));
    }

    /// Registration lost: a session cannot survive it (§6.7: `+CFUN=4` ->
    /// `+UUMQTTC: 0,101`).
    pub(in crate::module) fn mqtt_radio_lost(&mut self) {
        self.session_lost(REASON_LOST, ER_NO_RADIO);
    }
}
