//! [`PluginHost`]: the running plugin instances, each on its own thread
//! under its own supervisor task, and the one bounded channel their
//! readings arrive on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::descriptor::PluginApi;
use super::host_api::HostContext;
use super::instance::InstanceThread;
use super::status::{InstanceState, InstanceStatus};
use super::supervisor::{Control, Shared, Supervisor};
use super::validate::PluginReading;
use crate::backoff::Backoff;

/// The channel's capacity when the configuration says nothing.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 1024;

/// One instance to run: a loaded plugin and its settings.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    /// The instance's configured name: unique, the `source` of its readings.
    pub name: String,
    pub api: PluginApi,
    /// The instance's `[plugins.config]` as a JSON object.
    pub config_json: String,
    /// Between polls.
    pub interval: Duration,
    /// Deadline of every call into the plugin.
    pub timeout: Duration,
    /// The longest delay backoff grows to after consecutive errors.
    pub max_backoff: Duration,
}

/// Why a downlink command did not get through.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("no plugin instance is named {0:?}")]
    UnknownInstance(String),
    #[error("plugin instance {name:?} is not running ({state:?})")]
    NotRunning { name: String, state: InstanceState },
    #[error("the plugin takes no commands")]
    Unsupported,
    #[error("the plugin failed the command (status {status}): {message}")]
    Failed { status: i32, message: String },
    #[error("the plugin did not return within {after:?}: the instance is wedged")]
    DeadlineMissed { after: Duration },
}

/// The running instances. Made by [`PluginHost::start`], ended by
/// [`PluginHost::shutdown`]; dropping it shuts the instances down too, only
/// without waiting.
#[derive(Debug)]
pub struct PluginHost {
    instances: Vec<Handle>,
}

#[derive(Debug)]
struct Handle {
    name: String,
    shared: Arc<Shared>,
    control: mpsc::Sender<Control>,
    settled: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl PluginHost {
    /// Starts every instance (each creates, starts and first polls at once)
    /// and returns the receiver of everything they emit, at most `capacity`
    /// readings (at least 1) waiting in it. The receiver ends when every
    /// instance is done (shut down, disabled or wedged).
    ///
    /// Must be called inside a tokio runtime (it spawns the supervisors).
    /// Instance names are expected unique (the configuration checks);
    /// [`PluginHost::command`] addresses the first of a name.
    pub fn start(
        instances: Vec<InstanceSpec>,
        capacity: usize,
    ) -> (PluginHost, mpsc::Receiver<PluginReading>) {
        // tokio's channel panics on 0.
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let instances = instances
            .into_iter()
            .map(|spec| Handle::start(spec, sender.clone()))
            .collect();
        (PluginHost { instances }, receiver)
    }

    /// The state and counters of every instance, in configuration order.
    pub fn status(&self) -> Vec<InstanceStatus> {
        self.instances
            .iter()
            .map(|handle| InstanceStatus {
                name: handle.name.clone(),
                plugin: handle.shared.plugin.clone(),
                state: handle.shared.state(),
                polling: handle.shared.polling.load(Ordering::Relaxed),
                pushing: handle.shared.pushing.load(Ordering::Relaxed),
                counters: handle.shared.ctx.counters.snapshot(),
            })
            .collect()
    }

    /// Forwards a downlink command to the instance `name`, with its deadline.
    pub async fn command(&self, name: &str, command: &[u8]) -> Result<(), CommandError> {
        let handle = self
            .instances
            .iter()
            .find(|handle| handle.name == name)
            .ok_or_else(|| CommandError::UnknownInstance(name.to_owned()))?;
        let not_running = || CommandError::NotRunning {
            name: name.to_owned(),
            state: handle.shared.state(),
        };
        let (reply, result) = oneshot::channel();
        handle
            .control
            .send(Control::Command {
                command: command.to_vec(),
                reply,
            })
            .await
            .map_err(|_| not_running())?;
        result.await.map_err(|_| not_running())?
    }

    /// Returns once every instance has had its first chance to produce
    /// readings: its first poll returned (or missed its deadline), or it
    /// runs without polling, or it failed to start. For `run --once`:
    /// start, wait for this, shut down, and drain the receiver.
    pub async fn first_polls_done(&self) {
        for handle in &self.instances {
            let mut settled = handle.settled.clone();
            // An error means the supervisor has ended: settled as well.
            let _ = settled.wait_for(|settled| *settled).await;
        }
    }

    /// The leaked context of instance `name`, for tests that watch its
    /// counters after the host is gone.
    #[cfg(test)]
    pub(crate) fn context(&self, name: &str) -> Option<&'static HostContext> {
        self.instances
            .iter()
            .find(|handle| handle.name == name)
            .map(|handle| handle.shared.ctx)
    }

    /// Stops (if started) and destroys every instance, each call with its
    /// deadline, all instances at once; wedged ones are left alone. When it
    /// returns, nothing more reaches the receiver, which ends once drained.
    /// Returns the final status of every instance (for the agent's report).
    pub async fn shutdown(mut self) -> Vec<InstanceStatus> {
        for handle in &self.instances {
            // Fails only when the supervisor has ended already.
            let _ = handle.control.send(Control::Shutdown).await;
        }
        for handle in &mut self.instances {
            if let Err(error) = (&mut handle.task).await {
                tracing::error!(instance = %handle.name, "the plugin supervisor failed: {error}");
            }
        }
        self.status()
    }
}

impl Handle {
    fn start(spec: InstanceSpec, sender: mpsc::Sender<PluginReading>) -> Handle {
        let (ctx, host_api) = HostContext::leak(spec.name.clone(), sender);
        let shared = Arc::new(Shared {
            ctx,
            plugin: spec.api.name.clone(),
            state: Mutex::new(InstanceState::Starting),
            polling: AtomicBool::new(false),
            pushing: AtomicBool::new(false),
        });
        let (control, inbox) = mpsc::channel(8);
        let (settled_tx, settled) = watch::channel(false);
        let supervisor = InstanceThread::spawn(spec.api.clone(), ctx, host_api, spec.config_json)
            .map(|thread| Supervisor {
                shared: shared.clone(),
                thread,
                control: inbox,
                settled: settled_tx,
                has_start: spec.api.start.is_some(),
                has_poll: spec.api.can_poll(),
                takes_commands: spec.api.takes_commands(),
                timeout: spec.timeout,
                backoff: Backoff::new(spec.interval, spec.max_backoff),
            });
        let task = match supervisor {
            Ok(supervisor) => tokio::spawn(supervisor.run()),
            Err(error) => {
                tracing::error!(instance = %spec.name, "cannot start the instance's thread: {error}");
                ctx.retire();
                *shared
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = InstanceState::Disabled {
                    reason: format!("cannot start its thread: {error}"),
                };
                tokio::spawn(async {})
            }
        };
        Handle {
            name: spec.name,
            shared,
            control,
            settled,
            task,
        }
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
