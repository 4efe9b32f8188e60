//! The I/O task: reads the port, writes the port, selects. Everything it
//! learns goes into the [`Module`]; everything the module wants done comes
//! back as [`Effect`]s, which this task carries out in order.
//!
//! Output is a queue of frames (one echo run, one line, or a pause); injected
//! URCs and raw bytes jump the queue, so they land between two lines of an
//! answer but never inside one.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};

use crate::at::reply::frame;
use crate::energy::EnergyReport;
use crate::jobs::{JobEvent, JobId, JobRunner, PublishedRecord};
use crate::module::{Control, Effect, Input, Module, PowerLogEntry, SimSnapshot};
use crate::nvm::NvmStore;
use crate::transport::Port;

/// A message from a `SimHandle` to the I/O task.
#[derive(Debug)]
pub(crate) enum Request {
    /// Acts on the module (reboot, faults, network, ...).
    Module(Control),
    InjectUrc(String),
    InjectRaw(Vec<u8>),
    ClosePort,
    /// Answered once the module is ready (at once if it is).
    WaitReady(oneshot::Sender<()>),
    Snapshot(oneshot::Sender<SimSnapshot>),
    PowerLog(oneshot::Sender<Vec<PowerLogEntry>>),
    Energy(oneshot::Sender<EnergyReport>),
    Shutdown,
}

/// What the handles read without a round trip.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Every command line, with the module time it arrived at (the same
    /// clock as the power log, so the two can be read together).
    pub transcript: Mutex<Vec<(Duration, String)>>,
    /// What the virtual broker accepted (empty with the real one).
    pub published: Arc<Mutex<Vec<PublishedRecord>>>,
    /// Bytes the module read from / wrote to its UART (the host's cost).
    pub serial_in: AtomicU64,
    pub serial_out: AtomicU64,
}

/// One queued piece of output.
#[derive(Debug)]
enum Out {
    Bytes(Vec<u8>),
    /// Hold what follows until then (`delay_next_answer`).
    Pause(Instant),
}

pub(crate) struct Runner {
    module: Module,
    nvm: NvmStore,
    jobs: JobRunner,
    job_events: mpsc::UnboundedReceiver<(JobId, JobEvent)>,
    requests: mpsc::UnboundedReceiver<Request>,
    shared: Arc<Shared>,
    /// `None` once closed (by `close_port`, or when the host end is gone).
    port: Option<(ReadHalf<Port>, WriteHalf<Port>)>,
    queue: VecDeque<Out>,
    /// Injected URCs and raw bytes: written before the queue.
    urgent: VecDeque<Vec<u8>>,
    /// The frame being written and how much of it is out.
    writing: Option<(Vec<u8>, usize)>,
    ready_waiters: Vec<oneshot::Sender<()>>,
}

impl Runner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        module: Module,
        nvm: NvmStore,
        jobs: JobRunner,
        job_events: mpsc::UnboundedReceiver<(JobId, JobEvent)>,
        requests: mpsc::UnboundedReceiver<Request>,
        shared: Arc<Shared>,
        port: Port,
    ) -> Self {
        Runner {
            module,
            nvm,
            jobs,
            job_events,
            requests,
            shared,
            port: Some(tokio::io::split(port)),
            queue: VecDeque::new(),
            urgent: VecDeque::new(),
            writing: None,
            ready_waiters: Vec::new(),
        }
    }

    /// Runs until `shutdown()` or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 4096];
        loop {
            let pause = self.next_frame(now());
            let deadline = earliest(self.module.next_deadline(), pause);
            let (reader, writer) = match self.port.as_mut() {
                Some((r, w)) => (Some(r), Some(w)),
                None => (None, None),
            };
            let pending_write = self.writing.as_ref().map(|(bytes, off)| &bytes[*off..]);
            tokio::select! {
                biased;
                request = self.requests.recv() => match request {
                    Some(Request::Shutdown) | None => break,
                    Some(request) => self.on_request(request),
                },
                written = write_some(writer, pending_write) => self.on_written(written),
                () = sleep_until(deadline) => self.feed(Input::Tick),
                Some((id, event)) = self.job_events.recv() => self.feed(Input::Job(id, event)),
                read = read_some(reader, &mut buf) => match read {
                    Ok(0) => self.port_gone("the host closed its end"),
                    Ok(n) => {
                        self.shared.serial_in.fetch_add(n as u64, Ordering::Relaxed);
                        self.feed(Input::Bytes(&buf[..n]));
                    }
                    Err(e) => self.port_gone(&format!("read failed: {e}")),
                },
            }
        }
        tracing::debug!("simulator stopped");
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Module(control) => self.feed(Input::Control(control)),
            Request::InjectUrc(text) => self.send_urgent(frame(&text)),
            Request::InjectRaw(bytes) => self.send_urgent(bytes),
            Request::ClosePort => {
                self.port = None;
                self.drop_output();
                tracing::info!("port closed by the control handle");
            }
            Request::WaitReady(tx) => {
                if self.module.is_ready() {
                    let _ = tx.send(());
                } else {
                    self.ready_waiters.push(tx);
                }
            }
            Request::Snapshot(tx) => {
                let _ = tx.send(self.module.snapshot());
            }
            Request::PowerLog(tx) => {
                let _ = tx.send(self.module.power_log().to_vec());
            }
            Request::Energy(tx) => {
                let _ = tx.send(self.module.energy_report(now()));
            }
            Request::Shutdown => {}
        }
    }

    /// Gives `input` to the module and carries out what it says.
    fn feed(&mut self, input: Input<'_>) {
        let at = now();
        let effects = self.module.handle(input, at);
        for effect in effects {
            match effect {
                Effect::Send(bytes) => {
                    if self.port.is_some() {
                        self.queue.push_back(Out::Bytes(bytes));
                    }
                }
                Effect::PauseUntil(until) => {
                    if self.port.is_some() {
                        self.queue.push_back(Out::Pause(until));
                    }
                }
                Effect::DropPendingOutput => self.drop_output(),
                Effect::StartJob(id, job) => self.jobs.start(id, job),
                Effect::CancelJob(id) => self.jobs.cancel(id),
                Effect::MqttCommand(id, command) => self.jobs.command(id, command),
                Effect::SocketCommand(id, command) => self.jobs.socket_command(id, command),
                Effect::CancelAllJobs => self.jobs.cancel_all(),
                Effect::SaveNvm(image) => {
                    // Small file, written in place of the module's flash
                    // write; blocking this task for it keeps writes ordered.
                    if let Err(e) = self.nvm.save(&image) {
                        tracing::warn!(path = %self.nvm.path().display(), error = %e, "cannot write NVM");
                    }
                }
                Effect::CommandLine(line) => {
                    tracing::debug!(
                        line = %crate::module::without_secrets(&line).escape_debug(),
                        "command"
                    );
                    let at = self.module.module_time(at);
                    self.shared
                        .transcript
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push((at, line));
                }
            }
        }
        if self.module.is_ready() {
            for waiter in self.ready_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn send_urgent(&mut self, bytes: Vec<u8>) {
        if self.port.is_some() {
            self.urgent.push_back(bytes);
        }
    }

    /// Queued output never goes out; a frame half written stays half written.
    fn drop_output(&mut self) {
        self.queue.clear();
        self.urgent.clear();
        self.writing = None;
    }

    /// Picks the next frame to write if none is in progress. Returns the end
    /// of a pause that holds the queue, if any.
    fn next_frame(&mut self, now: Instant) -> Option<Instant> {
        if self.writing.is_some() {
            return None;
        }
        if let Some(bytes) = self.urgent.pop_front() {
            self.writing = Some((bytes, 0));
            return None;
        }
        loop {
            match self.queue.front() {
                Some(Out::Pause(until)) if *until > now => return Some(*until),
                Some(Out::Pause(_)) => {
                    self.queue.pop_front();
                }
                Some(Out::Bytes(_)) => {
                    if let Some(Out::Bytes(bytes)) = self.queue.pop_front() {
                        self.writing = Some((bytes, 0));
                    }
                    return None;
                }
                None => return None,
            }
        }
    }

    fn on_written(&mut self, written: io::Result<usize>) {
        match written {
            Ok(0) => self.port_gone("write returned 0"),
            Ok(n) => {
                self.shared
                    .serial_out
                    .fetch_add(n as u64, Ordering::Relaxed);
                if let Some((bytes, off)) = self.writing.as_mut() {
                    *off += n;
                    if *off >= bytes.len() {
                        self.writing = None;
                    }
                }
            }
            Err(e) => self.port_gone(&format!("write failed: {e}")),
        }
    }

    fn port_gone(&mut self, why: &str) {
        tracing::info!("port closed: {why}");
        self.port = None;
        self.drop_output();
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn read_some(reader: Option<&mut ReadHalf<Port>>, buf: &mut [u8]) -> io::Result<usize> {
    match reader {
        Some(reader) => reader.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn write_some(
    writer: Option<&mut WriteHalf<Port>>,
    bytes: Option<&[u8]>,
) -> io::Result<usize> {
    match (writer, bytes) {
        (Some(writer), Some(bytes)) => writer.write(bytes).await,
        _ => std::future::pending().await,
    }
}
