//! What reaches the agent from outside: the server's commands
//! (`crate::command`), whichever transport carried them, and the
//! doorbell's ring, read while the module is kept awake and turned into a
//! window.
//!
//! - MQTT: messages on the command topic, read when the module announces
//!   them; plugin commands are forwarded, and every reply is published on
//!   the reply topic at once (the session itself answers `ping` and unknown
//!   commands).
//! - HTTP: a 2xx response with a `text/plain` body carries commands, one
//!   per line (`uplink/http.rs`), served at the end of the window that
//!   received them. An HTTP-only gateway has no channel back but its next
//!   requests, so every reply (`pong`, a plugin's `ok: plugin <name>` or
//!   `error: ...`, `error: unknown command ...`) is queued as a reading of
//!   source `agent`, name `reply`, its text the value, tagged with the
//!   command (`command = "ping"`, `"plugin"` with `plugin = "<name>"`,
//!   `"unknown"`): it goes out with the next window, in the uplink's
//!   encoding, like any reading.

use std::collections::BTreeMap;

use tracing::{info, warn};

use crate::command::Command;
use crate::modem::mqtt::session::{DownlinkHandler, MqttSession, SessionOptions};
use crate::modem::mqtt::Message;
use crate::plugin_host::PluginHost;
use crate::queue::QueueError;
use crate::reading::{Reading, Value};

use super::session::UplinkSession;
use super::Agent;

/// The source of the replies queued as readings (the heartbeat's).
const REPLY_SOURCE: &str = "agent";
/// Their name.
const REPLY_NAME: &str = "reply";

impl Agent<'_> {
    /// The module woke on the server's datagram: keep it awake, read the
    /// ring, and remember what it asked for.
    pub(super) async fn answer_ring(&mut self) {
        let Some(request) = self.windows.take_ring() else {
            return;
        };
        if self.doorbell.is_none() {
            return;
        }
        let guard = match self.wake_for_window().await {
            Ok(guard) => guard,
            Err(e) => {
                warn!(error = %e, "the doorbell rang but the module is not ready");
                return;
            }
        };
        // Waking may have found the doorbell lost (a reboot).
        let Some(bell) = self.doorbell.as_mut() else {
            return;
        };
        match bell.read(&mut self.sockets, request).await {
            Ok(commands) => {
                info!(?commands, "the doorbell rang");
                self.windows.doorbell_read(&commands);
            }
            Err(e) => warn!(error = %e, "could not read the doorbell"),
        }
        self.awake = self.windows.rung().then_some(guard);
    }

    /// Serves the commands that came on `session` (see the module docs).
    /// `plugins` is `None` once they were stopped (`run --once`): their
    /// commands are then answered with an error.
    pub(super) async fn serve_downlink(
        &mut self,
        session: &mut UplinkSession,
        plugins: Option<&PluginHost>,
    ) {
        match session {
            UplinkSession::Mqtt(s) => {
                if let (Some(options), Some(plugins)) = (self.uplink.mqtt_options(), plugins) {
                    serve_mqtt(s, plugins, options).await;
                }
            }
            UplinkSession::Http(t) => {
                let commands = t.take_commands();
                if commands.is_empty() {
                    return;
                }
                let mut replies = Vec::new();
                for command in commands {
                    info!(?command, "command received in an HTTP response");
                    if let Some(reply) = answer(&command, plugins).await {
                        replies.push(reply);
                    }
                }
                if let Err(e) = self.queue_replies(&replies) {
                    warn!(error = %e, "the replies could not be queued");
                }
            }
        }
    }

    /// Queues `replies` as readings for the next window, stamped like the
    /// heartbeat (corrected if the correction is known).
    fn queue_replies(&self, replies: &[Reply]) -> Result<(), QueueError> {
        if replies.is_empty() {
            return Ok(());
        }
        let host_now = self.time.host_now_ns();
        let appended = self.time.with_correction(|fix| {
            let at = fix(host_now);
            let readings: Vec<Reading> = replies.iter().map(|r| r.reading(at)).collect();
            self.queue.append(&readings)
        })?;
        if !appended.durable {
            self.queue.flush()?;
        }
        info!(
            replies = replies.len(),
            "replies queued for the next window"
        );
        Ok(())
    }
}

/// A reply to a command, to go out as a reading.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    tags: BTreeMap<String, String>,
    text: String,
}

impl Reply {
    fn new(command: &str, text: String) -> Reply {
        Reply {
            tags: BTreeMap::from([("command".to_owned(), command.to_owned())]),
            text,
        }
    }

    fn reading(&self, timestamp_ns: i64) -> Reading {
        Reading {
            source: REPLY_SOURCE.to_owned(),
            name: REPLY_NAME.to_owned(),
            unit: None,
            value: Value::Str(self.text.clone()),
            timestamp_ns,
            tags: self.tags.clone(),
        }
    }
}

/// Acts on one command from an HTTP response; its reply, if it has one.
async fn answer(command: &Command, plugins: Option<&PluginHost>) -> Option<Reply> {
    match command {
        // The loop drains everything pending after every wake-up.
        Command::Flush => {
            info!("flush requested over HTTP");
            None
        }
        Command::Ping => Some(Reply::new("ping", "pong".to_owned())),
        Command::Plugin { instance, payload } => {
            let text = match plugins {
                Some(plugins) => plugin_reply(plugins, instance, payload).await,
                None => format!("error: plugin {instance}: the plugins are stopped (run --once)"),
            };
            let mut reply = Reply::new("plugin", text);
            reply.tags.insert("plugin".to_owned(), instance.clone());
            Some(reply)
        }
        Command::Unknown(text) => {
            warn!(command = %text, "unknown command in an HTTP response");
            Some(Reply::new(
                "unknown",
                format!("error: unknown command {text:?}"),
            ))
        }
    }
}

/// Forwards a plugin command; the reply says how it went.
async fn plugin_reply(plugins: &PluginHost, instance: &str, payload: &[u8]) -> String {
    match plugins.command(instance, payload).await {
        Ok(()) => format!("ok: plugin {instance}"),
        Err(e) => {
            warn!(plugin = %instance, error = %e, "plugin command failed");
            format!("error: plugin {instance}: {e}")
        }
    }
}

/// Reads the commands the module announced on an MQTT session and acts on
/// them: plugin commands are forwarded, each answered on the reply topic
/// (the session itself answers `ping` and unknown commands).
async fn serve_mqtt(session: &mut MqttSession, plugins: &PluginHost, options: &SessionOptions) {
    let mut commands = Commands::default();
    if let Err(e) = session.service_downlink(&mut commands).await {
        warn!(error = %e, "MQTT session lost while reading commands");
    }
    if commands.flush {
        info!("flush requested over MQTT");
    }
    for (instance, payload) in commands.for_plugins {
        let reply = plugin_reply(plugins, &instance, &payload).await;
        let topic = options.reply_topic.clone();
        if let Err(e) = session.publish_to(topic, reply.into_bytes()).await {
            warn!(error = %e, "reply not delivered");
        }
    }
}

/// Remembers what the downlink asked for. `flush` needs no action of its
/// own: the loop drains everything pending after every wake-up. Plugin
/// commands are forwarded after the read, since a plugin call is async.
#[derive(Debug, Default)]
struct Commands {
    flush: bool,
    for_plugins: Vec<(String, Vec<u8>)>,
}

impl DownlinkHandler for Commands {
    fn on_command(&mut self, command: &Command, message: &Message) {
        info!(?command, topic = %message.topic, "command received");
        match command {
            Command::Flush => self.flush = true,
            Command::Plugin { instance, payload } => {
                self.for_plugins.push((instance.clone(), payload.clone()));
            }
            Command::Ping | Command::Unknown(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_command_but_flush_gets_a_reply_reading() {
        assert_eq!(answer(&Command::Flush, None).await, None);
        let pong = answer(&Command::Ping, None).await.unwrap();
        let reading = pong.reading(1_800_000_000_000_000_000);
        assert_eq!(
            (reading.source.as_str(), reading.name.as_str()),
            ("agent", "reply")
        );
        assert_eq!(reading.value, Value::Str("pong".into()));
        assert_eq!(reading.tags["command"], "ping");
        let unknown = answer(&Command::Unknown("reboot".into()), None)
            .await
            .unwrap();
        assert_eq!(unknown.text, "error: unknown command \"reboot\"");
        let plugin = Command::Plugin {
            instance: "synthetic".into(),
            payload: b"rate=2".to_vec(),
        };
        let stopped = answer(&plugin, None).await.unwrap();
        assert_eq!(stopped.tags["plugin"], "synthetic");
        assert!(
            stopped.text.starts_with("error: plugin synthetic"),
            "{}",
            stopped.text
        );
        let (host, _readings) = PluginHost::start(Vec::new(), 4);
        let unknown_plugin = answer(&plugin, Some(&host)).await.unwrap();
        assert!(
            unknown_plugin.text.starts_with("error: plugin synthetic"),
            "{}",
            unknown_plugin.text
        );
        host.shutdown().await;
    }
}
