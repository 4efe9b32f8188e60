//! The control socket's server: a Unix stream socket on which each line is
//! a command ([`super::command`]) carried out on a [`SimHandle`], each
//! answered by one line, `ok ...` or `error: <why>`.
//!
//! Every connection is served in a task of its own, so one client that stays
//! connected does not shut out the next. Nothing a client sends can stop the
//! simulator: a bad line gets an `error:` reply, a line longer than
//! [`MAX_LINE`] is skipped with one, a client that goes away ends only its
//! own task.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::command::{help_text, parse_command, ControlCommand};
use crate::config::NetworkCondition;
use crate::energy::TlsEnergy;
use crate::error::SimError;
use crate::handle::SimHandle;

/// The longest command line taken (bytes, without its `\n`): far more than
/// any command needs, small enough that a runaway client costs nothing.
pub const MAX_LINE: usize = 4096;

/// A listening control socket. Dropping it stops listening and removes the
/// socket file; connections already open end when their client leaves or
/// the simulator stops.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    accept: JoinHandle<()>,
}

impl ControlSocket {
    /// Listens on `path` for commands to `sim`. A socket file left behind
    /// by a simulator that died is replaced; a live one (another simulator
    /// answers on it) or a file that is not a socket is an error, never
    /// removed. Needs a tokio runtime.
    pub fn bind(path: &Path, sim: SimHandle) -> Result<Self, SimError> {
        let error = |source: io::Error| SimError::ControlSocket {
            path: path.to_path_buf(),
            source,
        };
        remove_stale_socket(path).map_err(error)?;
        let listener = UnixListener::bind(path).map_err(error)?;
        tracing::info!(path = %path.display(), "control socket listening");
        let accept = tokio::spawn(accept_loop(listener, sim));
        Ok(ControlSocket {
            path: path.to_path_buf(),
            accept,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.accept.abort();
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(path = %self.path.display(), error = %e, "control socket not removed");
        }
    }
}

/// Makes way for a new socket at `path`: nothing there, or a socket nobody
/// listens on (removed). Anything else is refused.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket (left as it is)",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another process listens on it",
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

async fn accept_loop(listener: UnixListener, sim: SimHandle) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_client(stream, sim.clone()));
            }
            Err(e) => {
                // EMFILE and the like pass; back off instead of spinning.
                tracing::warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// One line read from a client.
enum Incoming {
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`], skipped.
    TooLong,
}

async fn serve_client(stream: UnixStream, sim: SimHandle) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let incoming = match read_line(&mut read).await {
            Ok(Some(incoming)) => incoming,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "control client: read failed");
                break;
            }
        };
        let reply = match incoming {
            Incoming::TooLong => format!("error: line longer than {MAX_LINE} bytes"),
            Incoming::Line(bytes) => match String::from_utf8(bytes) {
                Ok(line) => answer(&line, &sim).await,
                Err(_) => "error: not UTF-8 text (bytes go in `garbage` as \\xNN)".to_string(),
            },
        };
        if let Err(e) = write.write_all(format!("{reply}\n").as_bytes()).await {
            tracing::debug!(error = %e, "control client: write failed");
            break;
        }
    }
}

/// The next line without its `\n`; `None` at the end of the stream. A last
/// line without `\n` still counts.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    read: &mut R,
) -> io::Result<Option<Incoming>> {
    let mut line = Vec::new();
    let limit = MAX_LINE as u64 + 1;
    (&mut *read)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(Incoming::Line(line)));
    }
    if line.len() <= MAX_LINE {
        return Ok(Some(Incoming::Line(line))); // the stream ended mid-line
    }
    // Too long: skip to the end of the line, a bounded chunk at a time.
    loop {
        line.clear();
        (&mut *read)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await?;
        if line.is_empty() || line.last() == Some(&b'\n') {
            return Ok(Some(Incoming::TooLong));
        }
    }
}

/// Carries out one line; the reply, without its `\n`.
async fn answer(line: &str, sim: &SimHandle) -> String {
    let command = match parse_command(line) {
        Ok(command) => command,
        Err(e) => {
            tracing::info!(line = %line.escape_debug(), error = %e, "control: refused");
            return format!("error: {e}");
        }
    };
    tracing::info!(command = %line.trim_end().escape_debug(), "control");
    match command {
        ControlCommand::Wake => {
            sim.pulse_wake_line();
            "ok PWR_ON pulsed".to_string()
        }
        ControlCommand::Reboot => {
            sim.reboot();
            "ok rebooting".to_string()
        }
        ControlCommand::PowerOff => {
            sim.power_off();
            "ok power off".to_string()
        }
        ControlCommand::PowerOn => {
            sim.power_on();
            "ok power on".to_string()
        }
        ControlCommand::Network(condition) => {
            sim.set_network(condition);
            format!("ok network {}", network_name(condition))
        }
        ControlCommand::MqttDrop => {
            sim.mqtt_drop_session();
            "ok MQTT session dropped (if there was one)".to_string()
        }
        ControlCommand::MqttNeverConfirm(n) => {
            sim.mqtt_never_confirm_next(n);
            format!("ok the next {n} publishes are never confirmed")
        }
        ControlCommand::Garbage(bytes) => {
            sim.inject_raw(&bytes);
            format!("ok {} bytes sent", bytes.len())
        }
        ControlCommand::Urc(text) => {
            sim.inject_urc(&text);
            "ok URC sent".to_string()
        }
        ControlCommand::FailNext { commands, cme_code } => {
            sim.fail_next(commands, cme_code);
            format!("ok the next {commands} command lines fail with CME {cme_code}")
        }
        ControlCommand::DelayNext(delay) => {
            sim.delay_next_answer(delay);
            format!("ok the next answer waits {} ms", delay.as_millis())
        }
        ControlCommand::Status => match (sim.snapshot().await, sim.energy().await) {
            (Some(s), Some(energy)) => format!(
                "ok power={:?} mode={:?} reg_stat={} network={} mqtt={} clock={:?}{}",
                s.power,
                s.power_mode,
                s.reg_stat.number(),
                network_name(s.network),
                if s.mqtt_connected { "up" } else { "down" },
                s.clock_source,
                tls_status(&energy.tls),
            ),
            _ => "error: the simulator has stopped".to_string(),
        },
        ControlCommand::Help => format!("ok {}", help_text()),
    }
}

/// ` tls=<full>,<resumed>,<failed> tls_bytes=<sent>,<received>` once the
/// module made a TLS handshake (nothing before: the line stays what it was
/// for a simulator without TLS).
fn tls_status(tls: &TlsEnergy) -> String {
    let kinds = [tls.full, tls.resumed, tls.failed];
    if kinds.iter().all(|k| k.count == 0) {
        return String::new();
    }
    let sent: u64 = kinds.iter().map(|k| k.bytes_sent).sum();
    let received: u64 = kinds.iter().map(|k| k.bytes_received).sum();
    format!(
        " tls={},{},{} tls_bytes={sent},{received}",
        tls.full.count, tls.resumed.count, tls.failed.count
    )
}

/// The word the `network` command takes for `condition`.
fn network_name(condition: NetworkCondition) -> &'static str {
    match condition {
        NetworkCondition::Coverage => "coverage",
        NetworkCondition::NoCoverage => "none",
        NetworkCondition::Denied => "denied",
        NetworkCondition::Roaming => "roaming",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8]) -> Vec<Result<Vec<u8>, ()>> {
        let mut read = BufReader::new(input);
        let mut out = Vec::new();
        while let Some(incoming) = read_line(&mut read).await.unwrap() {
            out.push(match incoming {
                Incoming::Line(line) => Ok(line),
                Incoming::TooLong => Err(()),
            });
        }
        out
    }

    #[tokio::test]
    async fn lines_are_split_and_an_overlong_one_is_skipped_whole() {
        let long = vec![b'x'; MAX_LINE * 3];
        let mut input = b"reboot\nwake\r\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\nstatus");
        assert_eq!(
            lines(&input).await,
            vec![
                Ok(b"reboot".to_vec()),
                Ok(b"wake\r".to_vec()),
                Err(()),
                Ok(b"status".to_vec()),
            ]
        );
        // Exactly MAX_LINE is still a line.
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        assert_eq!(lines(&input).await, vec![Ok(vec![b'y'; MAX_LINE])]);
    }
}
