//! Host-side helpers for the simulator's own integration tests: a raw byte
//! reader/writer over a duplex or a pty. Independent of the agent's code.

#![allow(dead_code)] // each test binary uses a different part

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Generous upper bound for anything to arrive: only there so a broken
/// simulator fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A small time scale: a 6 s boot takes 6 ms.
pub const FAST: f64 = 0.001;

/// Waits (bounded by [`PATIENCE`]) until the module has registered.
pub async fn registered(sim: &lexi_sim::SimHandle) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while sim.snapshot().await.map(|s| s.reg_stat) != Some(lexi_sim::RegStat::Home) {
        assert!(tokio::time::Instant::now() < deadline, "did not register");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn fast_config(dir: &Path) -> lexi_sim::SimConfig {
    let mut cfg = lexi_sim::SimConfig::new(dir);
    cfg.time_scale = FAST;
    cfg
}

/// Reads and writes raw bytes on the host's side.
pub struct Host<S> {
    io: S,
    /// Bytes read but not yet returned.
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Host<S> {
    pub fn new(io: S) -> Self {
        Host {
            io,
            pending: Vec::new(),
        }
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        match tokio::time::timeout(PATIENCE, self.io.write_all(bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("write failed: {e}"),
            Err(_) => panic!("write hung"),
        }
    }

    /// Everything up to and including the first `needle`; panics (showing
    /// what came) if it does not come within [`PATIENCE`].
    pub async fn read_until(&mut self, needle: &str) -> String {
        let got = self.read_until_bytes(needle.as_bytes()).await;
        String::from_utf8_lossy(&got).into_owned()
    }

    /// [`Host::read_until`] for binary data: the bytes as they came.
    pub async fn read_until_bytes(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(at) = find(&self.pending, needle) {
                let rest = self.pending.split_off(at + needle.len());
                return std::mem::replace(&mut self.pending, rest);
            }
            let mut buf = [0u8; 1024];
            match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Ok(Ok(0)) => panic!(
                    "EOF before {:?}; got {:?}",
                    show(needle),
                    show(&self.pending)
                ),
                Ok(Ok(n)) => self.pending.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => panic!(
                    "read failed ({e}) before {:?}; got {:?}",
                    show(needle),
                    show(&self.pending)
                ),
                Err(_) => panic!(
                    "timed out waiting for {:?}; got {:?}",
                    show(needle),
                    show(&self.pending)
                ),
            }
        }
    }

    /// True if nothing at all arrives for `quiet` (a module that must stay
    /// silent); false, showing nothing, if any byte comes.
    pub async fn silent_for(&mut self, quiet: Duration) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(quiet, self.io.read(&mut buf)).await {
            Err(_) => true,
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&buf[..n]);
                false
            }
            Ok(Err(_)) => false,
        }
    }

    /// True once a read returns 0 (EOF) or an error; false if data keeps
    /// coming or nothing happens within [`PATIENCE`].
    pub async fn reads_eof(&mut self) -> bool {
        let mut buf = [0u8; 256];
        matches!(
            tokio::time::timeout(PATIENCE, self.io.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The host's end of a pty, opened like a serial port (non-blocking, no
/// controlling tty) and driven by tokio.
pub struct PtyHost {
    fd: AsyncFd<File>,
}

impl PtyHost {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_NONBLOCK).bits())
            .open(path)?;
        #[allow(deprecated)] // File's fd never changes: `new` is sound here
        let fd = AsyncFd::new(file)?;
        Ok(PtyHost { fd })
    }
}

impl AsyncRead for PtyHost {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        loop {
            let mut guard = std::task::ready!(self.fd.poll_read_ready(cx))?;
            match guard.try_io(|f| f.get_ref().read(buf.initialize_unfilled())) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return std::task::Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return std::task::Poll::Ready(Err(e)),
                Err(_) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyHost {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        loop {
            let mut guard = std::task::ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|f| f.get_ref().write(buf)) {
                Ok(result) => return std::task::Poll::Ready(result),
                Err(_) => continue,
            }
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A `lexi-sim` process started by a test; killed when dropped, so a test
/// that fails does not leave it running.
pub struct SimProcess {
    pub child: std::process::Child,
    /// The pty path, the first line of its stdout.
    pub pty: std::path::PathBuf,
}

impl SimProcess {
    /// Starts the binary with `args` (stderr to the test's output only with
    /// `--nocapture`: dropped) and waits for the pty path.
    pub async fn start<I, A>(args: I) -> SimProcess
    where
        I: IntoIterator<Item = A>,
        A: AsRef<std::ffi::OsStr>,
    {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lexi-sim"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let first_line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        });
        let mut process = SimProcess {
            child,
            pty: std::path::PathBuf::new(),
        };
        let line = tokio::time::timeout(PATIENCE, first_line)
            .await
            .expect("no pty path on stdout")
            .unwrap()
            .unwrap();
        process.pty = std::path::PathBuf::from(line.trim_end());
        assert!(process.pty.starts_with("/dev/"), "{line:?}");
        process
    }

    /// Sends `signal` (e.g. `"-USR1"`) with kill(1), as a user would.
    pub fn signal(&self, signal: &str, pid: u32) {
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}: {status:?}");
    }

    /// SIGTERM, then the exit status (bounded by [`PATIENCE`]).
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM", self.child.id());
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "did not exit");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Host<S> {
    /// Sends `command` + CR until an answer ending in `OK` comes (the module
    /// may be booting or waking, when it drops what it gets); that answer.
    pub async fn until_answered(&mut self, command: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.write(format!("{command}\r").as_bytes()).await;
            let got =
                tokio::time::timeout(Duration::from_millis(200), self.read_until("OK\r\n")).await;
            if let Ok(got) = got {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{command:?} was never answered"
            );
        }
    }

    /// Sends `command` + CR until its answer contains `wanted`; that answer.
    pub async fn until_answer_contains(&mut self, command: &str, wanted: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let got = self.until_answered(command).await;
            if got.contains(wanted) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{command:?} never answered {wanted:?}; last {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
