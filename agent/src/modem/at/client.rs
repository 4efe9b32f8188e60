//! The AT client: owns the serial port, runs one command at a time, and fans
//! URCs out to subscribers.
//!
//! The split follows rumqttc: [`Engine`] is a pure state machine that turns
//! decoded items into completions and URCs; [`run_port`] is the I/O loop that
//! only selects between the port, the job queue and timers, reads and writes.
//!
//! Timing rules from u-blox's host library (`lexi-r10-notes.md`):
//! - at least 20 ms between a final result or URC and the next command;
//! - after a `>`/`@` prompt, wait at least 50 ms, then write exactly the
//!   announced bytes (§5.3.1);
//! - every command has a deadline; after a missed one the client sends
//!   sacrificial `AT`s until the module answers `OK` before the next command,
//!   because a module that rebooted or woke up may have lost the first bytes.
//!
//! Invariant: no URC is lost while a command waits. URCs are recognised by the
//! codec (even with the awaited answer's prefix) and go to every subscriber
//! through an unbounded channel each; they never become part of an answer.
//!
//! The files: this one the [`AtClient`] handle; `client/engine.rs` the
//! [`Engine`]; `client/port.rs` the I/O loop and its timers;
//! `client/urcs.rs` the fan-out to [`UrcSubscription`]s.

mod engine;
mod port;
mod urcs;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tracing::debug;

use super::command::{AtCommand, Raw, Request, Response};
use super::error::AtError;
pub(crate) use engine::{Engine, Output};
use port::run_port;
use urcs::UrcHub;
pub use urcs::UrcSubscription;

/// Timing of the client. The defaults are the module's documented minimums.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Deadline of a command that names none of its own.
    pub default_timeout: Duration,
    /// Quiet time after a final result or URC before the next command.
    pub command_gap: Duration,
    /// Wait after a data prompt before writing the data.
    pub prompt_delay: Duration,
    /// How long one sacrificial `AT` may wait for its `OK`.
    pub sync_attempt: Duration,
    /// How long resynchronising may take in all.
    pub sync_window: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            default_timeout: Duration::from_secs(10),
            command_gap: Duration::from_millis(20),
            prompt_delay: Duration::from_millis(50),
            sync_attempt: Duration::from_millis(333),
            sync_window: Duration::from_secs(10),
        }
    }
}

/// A handle to the AT engine. Cheap to clone; commands from all clones run
/// one at a time in the order they were sent.
#[derive(Debug, Clone)]
pub struct AtClient {
    jobs: mpsc::Sender<Job>,
    hub: Arc<UrcHub>,
    /// Set by the I/O task when a command missed its deadline: the module's
    /// state is unknown until it answers `AT` again.
    needs_sync: Arc<AtomicBool>,
    /// Echoed command lines seen. The agent turns echo off (`ATE0`) at boot
    /// and after every restore, so a new echo means the module lost its
    /// volatile settings: an unannounced reboot, or a deep sleep.
    echoes: Arc<AtomicU64>,
    options: ClientOptions,
}

#[derive(Debug)]
struct Job {
    request: Request,
    reply: oneshot::Sender<Result<Response, AtError>>,
}

impl AtClient {
    /// Starts the engine on `port` (a serial port, a pty, or one end of an
    /// in-memory duplex). Must be called inside a tokio runtime; the task ends
    /// when the port closes or every handle is dropped.
    pub fn spawn<P>(port: P, options: ClientOptions) -> (AtClient, tokio::task::JoinHandle<()>)
    where
        P: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (jobs, rx) = mpsc::channel(16);
        let hub = Arc::new(UrcHub::new());
        let needs_sync = Arc::new(AtomicBool::new(false));
        let echoes = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run_port(
            port,
            rx,
            Arc::clone(&hub),
            Arc::clone(&needs_sync),
            Arc::clone(&echoes),
            options.clone(),
        ));
        let client = AtClient {
            jobs,
            hub,
            needs_sync,
            echoes,
            options,
        };
        (client, task)
    }

    /// Sends a typed command and parses its answer.
    pub async fn send<C: AtCommand + ?Sized>(&self, cmd: &C) -> Result<C::Response, AtError> {
        let request = Request::from_command(cmd);
        let command = request.label.clone();
        let response = self.execute(request).await?;
        cmd.parse(&response)
            .map_err(|source| AtError::Parse { command, source })
    }

    /// Sends a command typed by a person; the answer comes back unparsed.
    pub async fn send_raw(&self, raw: &Raw) -> Result<Response, AtError> {
        self.execute(raw.request()).await
    }

    /// Receives every URC from now on, until the port closes.
    pub fn subscribe(&self) -> UrcSubscription {
        let (tx, rx) = mpsc::unbounded_channel();
        self.hub.add(tx);
        UrcSubscription { rx }
    }

    /// How many echoed command lines the module has sent so far. With echo
    /// off (`ATE0`), a count that grows means the module forgot that setting,
    /// and with it everything else volatile (see the field's comment).
    pub fn echoes_seen(&self) -> u64 {
        self.echoes.load(Ordering::Relaxed)
    }

    /// Sends sacrificial `AT`s until the module answers `OK` twice in a row
    /// (the second one proves that a late answer to an earlier command did
    /// not stand in for the first).
    pub async fn sync(&self) -> Result<(), AtError> {
        self.sync_within(self.options.sync_window).await
    }

    /// [`AtClient::sync`] with its own window, e.g. for a module that is
    /// rebooting and stays silent for seconds.
    pub async fn sync_within(&self, window: Duration) -> Result<(), AtError> {
        let probe = Raw::new("AT").with_timeout(self.options.sync_attempt);
        let attempt = async {
            let mut in_a_row = 0;
            let mut request = probe.request();
            request.probe = true;
            loop {
                match self.submit(request.clone()).await {
                    Ok(_) => {
                        in_a_row += 1;
                        if in_a_row == 2 {
                            return Ok(());
                        }
                    }
                    Err(AtError::PortClosed) => return Err(AtError::PortClosed),
                    Err(e) => {
                        in_a_row = 0;
                        debug!(error = %e, "module not answering AT yet");
                        // Do not spin on a module that answers ERROR at once.
                        tokio::time::sleep(self.options.sync_attempt / 3).await;
                    }
                }
            }
        };
        match timeout(window, attempt).await {
            Ok(result) => {
                if result.is_ok() {
                    self.needs_sync.store(false, Ordering::Release);
                }
                result
            }
            Err(_) => Err(AtError::NoResponse(window)),
        }
    }

    async fn execute(&self, request: Request) -> Result<Response, AtError> {
        if self.needs_sync.load(Ordering::Acquire) {
            debug!("resynchronising with the module before {:?}", request.label);
            self.sync().await?;
        }
        self.submit(request).await
    }

    async fn submit(&self, request: Request) -> Result<Response, AtError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { request, reply })
            .await
            .map_err(|_| AtError::PortClosed)?;
        answer.await.map_err(|_| AtError::PortClosed)?
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
