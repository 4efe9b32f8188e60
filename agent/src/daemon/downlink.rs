//! What reaches the agent from outside: commands on the MQTT command topic
//! (forwarded to plugins, each answered on the reply topic; the session
//! itself answers `ping` and unknown commands), and the doorbell's ring,
//! read while the module is kept awake and turned into a window.

use tracing::{info, warn};

use crate::modem::mqtt::session::{
    Command, DownlinkHandler, MqttSession, SessionError, SessionOptions,
};
use crate::modem::mqtt::Message;
use crate::plugin_host::PluginHost;

use super::Agent;

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
}

/// Reads the commands the module announced on `session` and acts on them:
/// plugin commands are forwarded, each answered on the reply topic (the
/// session itself answers `ping` and unknown commands).
pub(super) async fn serve_downlink(
    session: &mut MqttSession,
    plugins: &PluginHost,
    options: &SessionOptions,
) {
    let mut commands = Commands::default();
    if let Err(e) = session.service_downlink(&mut commands).await {
        warn!(error = %e, "MQTT session lost while reading commands");
    }
    if commands.flush {
        info!("flush requested over MQTT");
    }
    for (instance, payload) in commands.for_plugins {
        let reply = match plugins.command(&instance, &payload).await {
            Ok(()) => format!("ok: plugin {instance}"),
            Err(e) => {
                warn!(plugin = %instance, error = %e, "plugin command failed");
                format!("error: plugin {instance}: {e}")
            }
        };
        let topic = options.reply_topic.clone();
        if let Err(e) = session.publish_to(topic, reply.into_bytes()).await {
            warn!(error = %e, "reply not delivered");
        }
    }
}

/// Waits for downlink on the session, or forever without one.
pub(super) async fn wait_downlink(session: Option<&mut MqttSession>) -> Result<(), SessionError> {
    match session {
        Some(s) if s.is_connected() => s.wait_downlink().await,
        _ => std::future::pending().await,
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
