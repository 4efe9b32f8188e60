//! Telling the service manager how the agent is: systemd's notification
//! protocol (`sd_notify(3)`), spoken directly (one datagram per message on
//! the socket `$NOTIFY_SOCKET` names), so no libsystemd is needed.
//!
//! - `READY=1` once the agent has opened its queue and booted the module
//!   (`Type=notify`: systemd then counts the service as started);
//! - `STATUS=<one line>` whenever the agent's state changes (shown by
//!   `systemctl status`);
//! - `WATCHDOG=1` at half the interval systemd asks for (`$WATCHDOG_USEC`,
//!   from `WatchdogSec=`), sent by the daemon's loop itself, so a loop that
//!   hangs stops sending and systemd restarts the agent;
//! - `STOPPING=1` when the agent begins to shut down.
//!
//! Without `$NOTIFY_SOCKET` (not run by systemd, or `Type=simple`) every
//! call does nothing. A notification that cannot be sent is logged once and
//! never fails the agent: the service manager is an observer.

use std::ffi::OsString;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The service manager's end, if there is one.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
    /// How often to send `WATCHDOG=1`: half what systemd asked for.
    watchdog: Option<Duration>,
    /// The last `STATUS=` sent, so an unchanged state is not sent again.
    status: Mutex<String>,
    /// A send failed and was logged; later failures are not.
    failure_logged: AtomicBool,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// From the process environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
    /// `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        Notifier::from_vars(
            std::env::var_os("NOTIFY_SOCKET"),
            std::env::var_os("WATCHDOG_USEC"),
            std::env::var_os("WATCHDOG_PID"),
            std::process::id(),
        )
    }

    /// From the given values of those variables, for the process `pid`.
    /// A socket path starting with `@` is in the abstract namespace.
    /// `WATCHDOG_PID`, when set, must be `pid`: the watchdog is meant for
    /// another process otherwise (systemd sets it for the main process).
    pub fn from_vars(
        notify_socket: Option<OsString>,
        watchdog_usec: Option<OsString>,
        watchdog_pid: Option<OsString>,
        pid: u32,
    ) -> Notifier {
        let target = notify_socket
            .filter(|path| !path.is_empty())
            .and_then(|path| match connect(&path) {
                Ok(target) => Some(target),
                Err(e) => {
                    tracing::warn!(
                        socket = %path.to_string_lossy(),
                        error = %e,
                        "NOTIFY_SOCKET is set but unusable: the service manager will not hear \
                         from the agent"
                    );
                    None
                }
            });
        let for_us = watchdog_pid
            .and_then(|p| p.to_str().and_then(|p| p.trim().parse::<u32>().ok()))
            .is_none_or(|p| p == pid);
        let watchdog = watchdog_usec
            .and_then(|usec| usec.to_str().and_then(|u| u.trim().parse::<u64>().ok()))
            .filter(|&usec| usec > 0 && for_us && target.is_some())
            .map(|usec| Duration::from_micros(usec / 2));
        Notifier {
            target,
            watchdog,
            status: Mutex::new(String::new()),
            failure_logged: AtomicBool::new(false),
        }
    }

    /// A notifier that tells nobody.
    pub fn none() -> Notifier {
        Notifier::from_vars(None, None, None, 0)
    }

    /// Whether a service manager listens.
    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// How often the loop must send [`Notifier::watchdog`]; `None` when
    /// systemd watches nothing.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    /// `READY=1` with the current status.
    pub fn ready(&self, status: &str) {
        self.remember(status);
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STATUS=`, if it changed.
    pub fn status(&self, status: &str) {
        if self.remember(status) {
            self.send(&format!("STATUS={}", one_line(status)));
        }
    }

    /// `WATCHDOG=1`: the loop is alive.
    pub fn watchdog(&self) {
        if self.watchdog.is_some() {
            self.send("WATCHDOG=1");
        }
    }

    /// `STOPPING=1` with a status saying why.
    pub fn stopping(&self, status: &str) {
        self.remember(status);
        self.send(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
    }

    /// Stores `status`; returns whether it differs from the last one.
    fn remember(&self, status: &str) -> bool {
        let mut last = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last == status {
            return false;
        }
        status.clone_into(&mut last);
        true
    }

    fn send(&self, message: &str) {
        let Some(target) = &self.target else {
            return;
        };
        if let Err(e) = target
            .socket
            .send_to_addr(message.as_bytes(), &target.address)
        {
            if !self.failure_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "cannot notify the service manager");
            }
        }
    }
}

/// A status on one line: the protocol separates assignments by newlines.
fn one_line(status: &str) -> String {
    status.replace(['\n', '\r'], " ")
}

fn connect(path: &OsString) -> std::io::Result<Target> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        None => SocketAddr::from_pathname(std::path::Path::new(path))?,
    };
    let socket = UnixDatagram::unbound()?;
    Ok(Target { socket, address })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram socket standing in for systemd's.
    fn manager() -> (tempfile::TempDir, UnixDatagram, OsString) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (dir, socket, path.into_os_string())
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn ready_status_watchdog_and_stopping_reach_the_manager_in_order() {
        let (_dir, socket, path) = manager();
        let n = Notifier::from_vars(Some(path), Some("4000000".into()), None, 7);
        assert!(n.is_active());
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(2)));
        n.ready("running: 3 readings queued");
        n.status("running: 3 readings queued");
        n.status("upload window\nnow");
        n.watchdog();
        n.stopping("stopping");
        assert_eq!(
            receive(&socket),
            "READY=1\nSTATUS=running: 3 readings queued"
        );
        // The unchanged status was not sent again.
        assert_eq!(receive(&socket), "STATUS=upload window now");
        assert_eq!(receive(&socket), "WATCHDOG=1");
        assert_eq!(receive(&socket), "STOPPING=1\nSTATUS=stopping");
    }

    #[test]
    fn an_abstract_socket_is_addressed_by_its_name() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("edge-agent-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let n = Notifier::from_vars(Some(format!("@{name}").into()), None, None, 1);
        n.ready("up");
        assert_eq!(receive(&socket), "READY=1\nSTATUS=up");
    }

    #[test]
    fn the_watchdog_is_only_for_the_process_systemd_names_and_only_with_a_socket() {
        let (_dir, _socket, path) = manager();
        let other = Notifier::from_vars(
            Some(path.clone()),
            Some("1000000".into()),
            Some("99".into()),
            7,
        );
        assert_eq!(other.watchdog_interval(), None);
        let ours = Notifier::from_vars(Some(path), Some("1000000".into()), Some("7".into()), 7);
        assert_eq!(ours.watchdog_interval(), Some(Duration::from_millis(500)));
        let no_socket = Notifier::from_vars(None, Some("1000000".into()), None, 7);
        assert_eq!(no_socket.watchdog_interval(), None);
        assert!(!no_socket.is_active());
        // Does nothing, and does not panic.
        no_socket.ready("up");
        no_socket.watchdog();
    }

    #[test]
    fn an_unusable_socket_is_not_an_error() {
        let n = Notifier::from_vars(Some("/nonexistent/dir/notify".into()), None, None, 1);
        // The path is valid but nobody listens: sends fail quietly.
        n.ready("up");
        n.status("still up");
        assert!(n.is_active());
    }
}
