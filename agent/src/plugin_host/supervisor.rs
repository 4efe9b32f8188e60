//! The supervisor of one instance: a tokio task that decides which call its
//! thread makes when, and what each outcome means.
//!
//! Life of an instance: `create` (INVALID_CONFIG disables it; errors are
//! retried with backoff), then `start` if the plugin has one (UNSUPPORTED:
//! poll-only), then `poll` every interval if it has one (UNSUPPORTED:
//! push-only; errors back off), downlink commands in between, and at
//! shutdown `stop` (if started) and `destroy`. Every call is awaited with
//! the instance's deadline; a call past it wedges the instance for good.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use edge_agent_sdk::abi::{
    STATUS_ERROR, STATUS_INVALID_CONFIG, STATUS_OK, STATUS_PANICKED, STATUS_UNSUPPORTED,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, timeout, Instant};

use super::host_api::HostContext;
use super::instance::{InstanceThread, Outcome, Request};
use super::runtime::CommandError;
use super::status::{Counters, InstanceState, PluginCall};
use crate::backoff::Backoff;

/// What the [`super::PluginHost`] asks of a supervisor.
#[derive(Debug)]
pub(crate) enum Control {
    Command {
        command: Vec<u8>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// Stop and destroy the instance, then end.
    Shutdown,
}

/// What the host and the supervisor share about one instance.
#[derive(Debug)]
pub(crate) struct Shared {
    pub ctx: &'static HostContext,
    pub plugin: String,
    pub state: Mutex<InstanceState>,
    pub polling: AtomicBool,
    pub pushing: AtomicBool,
}

impl Shared {
    pub fn state(&self) -> InstanceState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_state(&self, state: InstanceState) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }
}

/// The instance can never be called again: it is wedged, or its thread is
/// gone. The supervisor ends.
struct Lost;

/// How a call that came back ended.
enum Reply {
    Ok,
    Unsupported,
    InvalidConfig(String),
    /// Logged and counted already.
    Failed {
        status: i32,
        message: String,
    },
}

/// One instance's supervisor; [`Supervisor::run`] is its task.
pub(crate) struct Supervisor {
    pub shared: Arc<Shared>,
    pub thread: InstanceThread,
    pub control: mpsc::Receiver<Control>,
    /// Set once the instance has had its first chance to produce readings
    /// (its first poll, or it is running without polling, or it failed).
    pub settled: watch::Sender<bool>,
    pub has_start: bool,
    pub has_poll: bool,
    pub takes_commands: bool,
    pub timeout: Duration,
    pub backoff: Backoff,
}

impl Supervisor {
    pub async fn run(mut self) {
        let ended = self.drive().await;
        // Whatever ended it (shutdown, disabled, wedged), nothing it emits
        // may reach the channel any more, and the channel may close.
        self.shared.ctx.retire();
        self.settled.send_replace(true);
        if ended.is_err() {
            tracing::debug!(instance = %self.name(), "supervisor ends: the instance cannot be called again");
        }
    }

    fn name(&self) -> &str {
        &self.shared.ctx.source
    }

    fn counters(&self) -> &Counters {
        &self.shared.ctx.counters
    }

    async fn drive(&mut self) -> Result<(), Lost> {
        if !self.create().await? {
            return Ok(());
        }
        if self.has_start && !self.start().await? {
            return self.destroy().await;
        }
        self.shared.polling.store(self.has_poll, Ordering::Relaxed);
        self.shared.set_state(InstanceState::Running);
        let mut polling = self.has_poll;
        let pushing = self.shared.pushing.load(Ordering::Relaxed);
        if !polling && !pushing {
            self.idle();
        }
        let mut next_poll = Instant::now();
        loop {
            if !polling {
                self.settled.send_replace(true);
            }
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Command { command, reply }) => {
                        let result = self.command(command).await;
                        let lost = matches!(result, Err(CommandError::DeadlineMissed { .. }));
                        let _ = reply.send(result);
                        if lost {
                            return Err(Lost);
                        }
                    }
                    // A dropped host shuts its instances down too.
                    Some(Control::Shutdown) | None => return self.shutdown(pushing).await,
                },
                () = sleep_until(next_poll), if polling => {
                    let delay = match self.poll().await? {
                        Reply::Ok => Some(self.backoff.succeeded()),
                        Reply::Unsupported => None,
                        Reply::InvalidConfig(_) | Reply::Failed { .. } => Some(self.backoff.failed()),
                    };
                    self.settled.send_replace(true);
                    match delay {
                        Some(delay) => {
                            next_poll = Instant::now() + delay;
                            self.shared.set_state(if self.backoff.failures() == 0 {
                                InstanceState::Running
                            } else {
                                InstanceState::BackingOff {
                                    until: next_poll.into_std(),
                                    failures: self.backoff.failures(),
                                }
                            });
                        }
                        None => {
                            polling = false;
                            self.shared.polling.store(false, Ordering::Relaxed);
                            if pushing {
                                tracing::debug!(instance = %self.name(), "poll is unsupported: push-only");
                            } else {
                                self.idle();
                            }
                        }
                    }
                },
            }
        }
    }

    fn idle(&self) {
        tracing::warn!(instance = %self.name(), plugin = %self.shared.plugin, "the plugin neither polls nor pushes (poll and start are unsupported): it stays idle");
        self.shared.set_state(InstanceState::Idle);
    }

    /// Calls `create` until it succeeds (true) or refuses its configuration
    /// (false: disabled), backing off between errors.
    async fn create(&mut self) -> Result<bool, Lost> {
        loop {
            Counters::bump(&self.counters().creates);
            match self.call(Request::Create).await? {
                Reply::Ok => return Ok(true),
                Reply::InvalidConfig(reason) => {
                    tracing::error!(instance = %self.name(), plugin = %self.shared.plugin, "the plugin refused its configuration: {reason}; the instance is disabled");
                    self.shared.set_state(InstanceState::Disabled {
                        reason: format!("invalid configuration: {reason}"),
                    });
                    return Ok(false);
                }
                Reply::Unsupported => {
                    // An instance is all `create` is for: treated as an error.
                    Counters::bump(&self.counters().errors);
                    tracing::warn!(instance = %self.name(), plugin = %self.shared.plugin, "create answered UNSUPPORTED, which the ABI does not allow; retried as an error");
                    if !self.wait_backing_off().await {
                        return Ok(false);
                    }
                }
                Reply::Failed { .. } => {
                    if !self.wait_backing_off().await {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Calls `start` until it answers OK (true: pushing) or UNSUPPORTED
    /// (true: poll-only), backing off between errors; false on a shutdown
    /// while backing off.
    async fn start(&mut self) -> Result<bool, Lost> {
        loop {
            match self.call(Request::Start).await? {
                Reply::Ok => {
                    self.backoff.succeeded();
                    self.shared.pushing.store(true, Ordering::Relaxed);
                    return Ok(true);
                }
                Reply::Unsupported => {
                    self.backoff.succeeded();
                    return Ok(true);
                }
                Reply::InvalidConfig(_) | Reply::Failed { .. } => {
                    if !self.wait_backing_off().await {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Waits out the next backoff delay, answering commands with "not
    /// running"; false when a shutdown came instead.
    async fn wait_backing_off(&mut self) -> bool {
        let until = Instant::now() + self.backoff.failed();
        self.shared.set_state(InstanceState::BackingOff {
            until: until.into_std(),
            failures: self.backoff.failures(),
        });
        self.settled.send_replace(true);
        loop {
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Command { reply, .. }) => {
                        let _ = reply.send(Err(CommandError::NotRunning {
                            name: self.name().to_owned(),
                            state: self.shared.state(),
                        }));
                    }
                    Some(Control::Shutdown) | None => {
                        self.shared.set_state(InstanceState::Stopped);
                        return false;
                    }
                },
                () = sleep_until(until) => {
                    self.shared.set_state(InstanceState::Starting);
                    return true;
                }
            }
        }
    }

    async fn poll(&mut self) -> Result<Reply, Lost> {
        Counters::bump(&self.counters().polls);
        self.call(Request::Poll).await
    }

    async fn command(&mut self, command: Vec<u8>) -> Result<(), CommandError> {
        if !self.takes_commands {
            return Err(CommandError::Unsupported);
        }
        let timeout = self.timeout;
        match self.call(Request::Command(command)).await {
            Err(Lost) => Err(CommandError::DeadlineMissed { after: timeout }),
            Ok(Reply::Ok) => Ok(()),
            Ok(Reply::Unsupported) => Err(CommandError::Unsupported),
            Ok(Reply::Failed { status, message }) => Err(CommandError::Failed { status, message }),
            // Only `create` answers that.
            Ok(Reply::InvalidConfig(message)) => Err(CommandError::Failed {
                status: STATUS_INVALID_CONFIG,
                message,
            }),
        }
    }

    async fn shutdown(&mut self, pushing: bool) -> Result<(), Lost> {
        if pushing {
            self.call(Request::Stop).await?;
        }
        self.destroy().await
    }

    async fn destroy(&mut self) -> Result<(), Lost> {
        self.call_outcome(Request::Destroy).await?;
        self.shared.set_state(InstanceState::Stopped);
        Ok(())
    }

    /// Makes `request`, logging and counting a failure.
    async fn call(&mut self, request: Request) -> Result<Reply, Lost> {
        let call = request.call();
        let outcome = self.call_outcome(request).await?;
        Ok(match outcome.status {
            STATUS_OK => Reply::Ok,
            STATUS_UNSUPPORTED => Reply::Unsupported,
            STATUS_INVALID_CONFIG if call == PluginCall::Create => {
                Reply::InvalidConfig(outcome.message)
            }
            status => {
                let counter = if status == STATUS_PANICKED {
                    &self.counters().panics
                } else {
                    &self.counters().errors
                };
                Counters::bump(counter);
                let what = match status {
                    STATUS_ERROR => "failed",
                    STATUS_PANICKED => "panicked",
                    _ => "returned a status the ABI does not define",
                };
                tracing::warn!(instance = %self.name(), plugin = %self.shared.plugin, %call, status, "the plugin {what}: {}", outcome.message);
                Reply::Failed {
                    status,
                    message: outcome.message,
                }
            }
        })
    }

    /// Makes `request` and waits for it until the deadline. Past it (or
    /// with the thread gone) the instance is wedged: logged once, counted,
    /// reported, and never called again.
    async fn call_outcome(&mut self, request: Request) -> Result<Outcome, Lost> {
        let call = request.call();
        let started = Instant::now();
        let pending = match self.thread.send(request) {
            Ok(pending) => pending,
            Err(gone) => return Err(self.wedged(call, started, &gone)),
        };
        match timeout(self.timeout, pending).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(gone)) => Err(self.wedged(call, started, &gone)),
            Err(elapsed) => Err(self.wedged(call, started, &elapsed)),
        }
    }

    fn wedged(&self, call: PluginCall, started: Instant, why: &dyn std::fmt::Display) -> Lost {
        let after = started.elapsed();
        Counters::bump(&self.counters().deadlines_missed);
        // A thread cannot be killed safely: it may hold locks (malloc's, the
        // plugin's) that the rest of the process needs, and no portable way
        // exists to unwind it out of foreign code. So it is abandoned, still
        // inside the plugin, and the instance is never touched again (not
        // even `destroy`, which would race with the call still running).
        tracing::error!(instance = %self.name(), plugin = %self.shared.plugin, %call, ?after, "the plugin did not return in time ({why}): the instance is wedged and will never be called again");
        self.shared.ctx.retire();
        self.shared.set_state(InstanceState::Wedged { call, after });
        Lost
    }
}
