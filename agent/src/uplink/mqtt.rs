//! The MQTT session through the module as a [`Transport`] for
//! [`drain`](super::drain): a message is delivered when the module reported
//! the publish confirmed (`+UUMQTTC: 2,1` / `9,1`), and anything else leaves
//! the readings queued.
//!
//! MQTT has no "rejected for good": a publish that fails may succeed on the
//! next session, so every failure is transient here. Whether the session is
//! still usable is the session's to say ([`MqttSession::is_connected`]); the
//! run loop reconnects with backoff when it is not.

use super::drain::{SendError, Transport};
use crate::modem::mqtt::session::MqttSession;

impl Transport for MqttSession {
    async fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.publish(payload.to_vec())
            .await
            .map_err(|e| SendError::Transient(e.to_string()))
    }
}
