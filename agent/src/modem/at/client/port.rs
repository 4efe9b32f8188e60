//! The I/O loop: selects between the port, the job queue and the timers,
//! reads and writes, and keeps the timing rules (the gap after a final
//! result, the delay after a prompt, deadlines, resync after a missed one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, trace, warn};

use super::{ClientOptions, Engine, Job, Output, UrcHub};
use crate::modem::at::codec::Item;
use crate::modem::at::error::AtError;

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
pub(super) async fn run_port<P>(
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
