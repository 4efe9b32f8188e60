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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, trace, warn};

use super::codec::{Decoder, Final, Item, Prompt};
use super::command::{AtCommand, Raw, Request, Response};
use super::error::{AtError, CmeError};
use super::urc::Urc;

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

/// A URC as typed, with the line the module sent (for consoles and logs).
type Published = (Urc, Arc<str>);

/// URCs for one subscriber, in the order the module sent them.
#[derive(Debug)]
pub struct UrcSubscription {
    rx: mpsc::UnboundedReceiver<Published>,
}

impl UrcSubscription {
    /// The next URC; `None` once the port has closed.
    pub async fn recv(&mut self) -> Option<Urc> {
        self.rx.recv().await.map(|(urc, _)| urc)
    }

    /// The next URC with the line exactly as the module sent it.
    pub async fn recv_line(&mut self) -> Option<(Urc, Arc<str>)> {
        self.rx.recv().await
    }

    /// Waits up to `within` for a URC that `pick` maps to a value; other URCs
    /// are skipped. `None` on deadline or closed port.
    pub async fn wait_for<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&Urc) -> Option<T>,
    ) -> Option<T> {
        let search = async {
            while let Some((urc, _)) = self.rx.recv().await {
                if let Some(v) = pick(&urc) {
                    return Some(v);
                }
            }
            None
        };
        timeout(within, search).await.ok().flatten()
    }

    /// A URC already received, without waiting.
    pub fn try_recv(&mut self) -> Option<Urc> {
        self.rx.try_recv().ok().map(|(urc, _)| urc)
    }
}

#[derive(Debug)]
struct UrcHub {
    /// `None` once the port has closed: subscriptions then end at once.
    subscribers: Mutex<Option<Vec<mpsc::UnboundedSender<Published>>>>,
}

impl UrcHub {
    fn new() -> Self {
        UrcHub {
            subscribers: Mutex::new(Some(Vec::new())),
        }
    }

    fn add(&self, tx: mpsc::UnboundedSender<Published>) {
        if let Ok(mut guard) = self.subscribers.lock() {
            if let Some(subscribers) = guard.as_mut() {
                subscribers.push(tx);
            }
        }
    }

    fn publish(&self, urc: Urc, line: &str) {
        let line: Arc<str> = Arc::from(line);
        if let Ok(mut guard) = self.subscribers.lock() {
            if let Some(subscribers) = guard.as_mut() {
                subscribers.retain(|tx| tx.send((urc.clone(), Arc::clone(&line))).is_ok());
            }
        }
    }

    /// Drops every sender so each subscription's `recv` returns `None`.
    fn close(&self) {
        if let Ok(mut guard) = self.subscribers.lock() {
            *guard = None;
        }
    }
}

/// What the engine asks the I/O loop to do after an item.
#[derive(Debug)]
pub(crate) enum Output {
    /// A URC, typed, and its line as received.
    Urc(Urc, String),
    /// The command finished; its answer or error.
    Complete(Result<Response, AtError>),
    /// The module prompted: write the pending data after the prompt delay.
    SendData,
}

/// The command being executed and what it has gathered so far.
#[derive(Debug)]
struct InFlight {
    text: String,
    lines: Vec<super::codec::Line>,
    stream: Option<Vec<u8>>,
    /// The prompt it waits for before its data may be written.
    prompt: Option<Prompt>,
    /// Its data is answered by a stream without a `CONNECT` of its own.
    streams_response: bool,
}

/// The client's pure state machine: decoded items in, outputs out.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    decoder: Decoder,
    inflight: Option<InFlight>,
}

impl Engine {
    /// The command has been written to the port.
    pub(crate) fn start(&mut self, request: &Request) {
        self.decoder.set_expect(Some(request.expect.clone()));
        self.inflight = Some(InFlight {
            text: request.label.clone(),
            lines: Vec::new(),
            stream: None,
            prompt: request.data.as_ref().and(request.expect.prompt),
            streams_response: request.streams_response,
        });
    }

    /// The command's prompt data has been written. For a command whose
    /// data is answered by a bare stream (HTTP POST in direct link, §7.3),
    /// what the module sends next is that stream, up to `DISCONNECT`.
    pub(crate) fn data_sent(&mut self) {
        if let Some(f) = self.inflight.as_mut().filter(|f| f.streams_response) {
            f.stream = Some(Vec::new());
            self.decoder.begin_stream(None);
        }
    }

    /// The command missed its deadline: forget it.
    pub(crate) fn abandon(&mut self) {
        self.decoder.set_expect(None);
        self.inflight = None;
    }

    /// Decodes the next item from `buf`; `None` if more bytes are needed.
    pub(crate) fn decode(&mut self, buf: &[u8]) -> Option<(Item, usize)> {
        self.decoder.decode(buf)
    }

    pub(crate) fn handle(&mut self, item: Item) -> Option<Output> {
        match item {
            Item::Urc(line) => {
                let urc = Urc::parse(&line);
                trace!(?urc, "URC");
                Some(Output::Urc(urc, line.display().into_owned()))
            }
            Item::Garbage(bytes) => {
                warn!(bytes = ?String::from_utf8_lossy(&bytes), "ignoring noise from the module");
                None
            }
            Item::Echo(_) => None,
            Item::Prompt(prompt) => match self.inflight.as_mut() {
                Some(f) if f.prompt == Some(prompt) => {
                    f.prompt = None;
                    Some(Output::SendData)
                }
                _ => {
                    warn!(?prompt, "unexpected data prompt");
                    None
                }
            },
            Item::Info(line) => {
                match self.inflight.as_mut() {
                    Some(f) => f.lines.push(line),
                    None => debug!(line = %line.display(), "answer line with no command waiting"),
                }
                None
            }
            Item::StreamStart(_) => {
                if let Some(f) = self.inflight.as_mut() {
                    f.stream = Some(Vec::new());
                }
                None
            }
            Item::StreamData(bytes) => {
                if let Some(stream) = self.inflight.as_mut().and_then(|f| f.stream.as_mut()) {
                    stream.extend_from_slice(&bytes);
                }
                None
            }
            Item::StreamEnd => None,
            Item::Final(fin) => {
                let Some(f) = self.inflight.take() else {
                    debug!(
                        ?fin,
                        "final result with no command waiting (a late answer?)"
                    );
                    return None;
                };
                self.decoder.set_expect(None);
                Some(Output::Complete(complete(f, fin)))
            }
        }
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.inflight.is_some()
    }
}

fn complete(f: InFlight, fin: Final) -> Result<Response, AtError> {
    let command = f.text;
    match fin {
        Final::Ok => Ok(Response {
            lines: f.lines,
            stream: f.stream,
        }),
        Final::Error => Err(AtError::Error { command }),
        Final::CmeError(v) => Err(AtError::Cme {
            command,
            error: CmeError::from_value(v),
        }),
        Final::CmsError(v) => Err(AtError::Cms {
            command,
            error: match v {
                super::codec::ErrorValue::Code(c) => c.to_string(),
                super::codec::ErrorValue::Text(t) => t,
            },
        }),
        other => Err(AtError::Ended {
            command,
            result: format!("{other:?}"),
        }),
    }
}

/// The job being served by the I/O loop, with its timers.
struct Serving {
    job: Job,
    /// When the command may be written (the 20 ms gap); `None` once written.
    write_at: Option<Instant>,
    /// When the prompt data may be written; set when the prompt arrived.
    data_at: Option<Instant>,
    /// The deadline, from the moment the command was written.
    deadline: Option<Instant>,
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The I/O loop: selects between the port, the job queue and the timers.
async fn run_port<P>(
    port: P,
    mut jobs: mpsc::Receiver<Job>,
    hub: Arc<UrcHub>,
    needs_sync: Arc<AtomicBool>,
    echoes: Arc<AtomicU64>,
    options: ClientOptions,
) where
    P: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(port);
    let mut engine = Engine::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let mut serving: Option<Serving> = None;
    // When the last final result or URC arrived: the next command waits
    // `command_gap` after it.
    let mut last_quiet = Instant::now();

    let end = loop {
        let write_at = serving.as_ref().and_then(|s| s.write_at);
        let data_at = serving.as_ref().and_then(|s| s.data_at);
        let deadline = serving.as_ref().and_then(|s| s.deadline);
        tokio::select! {
            biased;
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => break AtError::PortClosed,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => break AtError::Io(e),
                };
                trace!(bytes = ?String::from_utf8_lossy(&chunk[..n]), "rx");
                buf.extend_from_slice(&chunk[..n]);
                let mut used = 0;
                while let Some((item, n)) = engine.decode(&buf[used..]) {
                    used += n;
                    if matches!(item, Item::Final(_) | Item::Urc(_)) {
                        last_quiet = Instant::now();
                    }
                    if matches!(item, Item::Echo(_)) {
                        echoes.fetch_add(1, Ordering::Relaxed);
                    }
                    match engine.handle(item) {
                        Some(Output::Urc(urc, line)) => hub.publish(urc, &line),
                        Some(Output::Complete(result)) => {
                            if let Some(s) = serving.take() {
                                let _ = s.job.reply.send(result);
                            }
                        }
                        Some(Output::SendData) => {
                            if let Some(s) = serving.as_mut() {
                                s.data_at = Some(Instant::now() + options.prompt_delay);
                            }
                        }
                        None => {}
                    }
                }
                buf.drain(..used);
                if let Some(s) = serving.as_mut() {
                    // A URC in the gap pushes the command back: 20 ms after
                    // the last thing the module said.
                    if let Some(at) = s.write_at.as_mut() {
                        *at = (*at).max(last_quiet + options.command_gap);
                    }
                }
            }
            job = jobs.recv(), if serving.is_none() => {
                let Some(job) = job else {
                    hub.close();
                    return;
                };
                let earliest = last_quiet + options.command_gap;
                serving = Some(Serving {
                    job,
                    write_at: Some(earliest.max(Instant::now())),
                    data_at: None,
                    deadline: None,
                });
            }
            () = sleep_until_opt(write_at) => {
                let Some(s) = serving.as_mut() else { continue };
                let request = &s.job.request;
                let after = request.timeout.unwrap_or(options.default_timeout);
                let mut line = request.text.clone().into_bytes();
                line.push(b'\r');
                debug!(command = %request.label, "tx");
                engine.start(request);
                s.write_at = None;
                s.deadline = Some(Instant::now() + after);
                if let Err(e) = write_bounded(&mut writer, &line, after).await {
                    engine.abandon();
                    if let Some(s) = serving.take() {
                        let _ = s.job.reply.send(Err(e));
                    }
                }
            }
            () = sleep_until_opt(data_at) => {
                let Some(s) = serving.as_mut() else { continue };
                s.data_at = None;
                let data = s.job.request.data.clone().unwrap_or_default();
                debug!(len = data.len(), "tx data after prompt");
                let after = s.job.request.timeout.unwrap_or(options.default_timeout);
                if let Err(e) = write_bounded(&mut writer, &data, after).await {
                    engine.abandon();
                    if let Some(s) = serving.take() {
                        let _ = s.job.reply.send(Err(e));
                    }
                } else {
                    engine.data_sent();
                }
            }
            () = sleep_until_opt(deadline) => {
                engine.abandon();
                needs_sync.store(true, Ordering::Release);
                if let Some(s) = serving.take() {
                    let after = s.job.request.timeout.unwrap_or(options.default_timeout);
                    if s.job.request.probe {
                        debug!(?after, "no answer to AT yet");
                    } else {
                        warn!(command = %s.job.request.label, ?after, "no final result before the deadline");
                    }
                    let _ = s.job.reply.send(Err(AtError::Timeout {
                        command: s.job.request.label.clone(),
                        after,
                    }));
                }
            }
        }
    };

    // The port is gone: fail the command in flight and every queued one, so
    // no caller waits forever.
    warn!(reason = %end, "AT engine stopped");
    hub.close();
    if let Some(s) = serving.take() {
        let _ = s.job.reply.send(Err(clone_end(&end)));
    }
    jobs.close();
    while let Ok(job) = jobs.try_recv() {
        let _ = job.reply.send(Err(clone_end(&end)));
    }
    debug_assert!(!engine.is_busy() || matches!(end, AtError::PortClosed | AtError::Io(_)));
}

fn clone_end(end: &AtError) -> AtError {
    match end {
        AtError::Io(e) => AtError::Io(std::io::Error::new(e.kind(), e.to_string())),
        _ => AtError::PortClosed,
    }
}

async fn write_bounded<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    within: Duration,
) -> Result<(), AtError> {
    let write = async {
        writer.write_all(bytes).await?;
        writer.flush().await
    };
    match timeout(within, write).await {
        Ok(result) => result.map_err(AtError::Io),
        Err(_) => Err(AtError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the port did not accept the command (flow control?)",
        ))),
    }
}
