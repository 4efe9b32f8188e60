//! A pseudo-terminal whose slave side the host opens as a serial port.
//!
//! Two traps handled here (see shared/design/dependencies.md):
//! - the slave is put in raw mode (`cfmakeraw`) at creation, so no byte the
//!   module sends is mangled by the line discipline (echo, CR -> LF) before
//!   the host opens it (tokio-serial then sets raw mode again);
//! - the simulator keeps its own slave fd open for its whole life: without
//!   it, reads on the master fail with EIO whenever the host has the slave
//!   closed (before it opens it, between two opens).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The module's end of a pty: the master, driven by tokio's reactor.
#[derive(Debug)]
pub struct PtyPort {
    master: AsyncFd<OwnedFd>,
    /// Never read or written: held only so the master never sees EIO.
    _slave: OwnedFd,
}

impl PtyPort {
    /// Creates a raw pty; returns it and the slave's path (`/dev/pts/N`).
    /// Must run inside a tokio runtime (the reactor registers the master).
    pub fn open() -> io::Result<(PtyPort, PathBuf)> {
        let pty = openpty(None, None).map_err(io::Error::from)?;
        let mut termios = tcgetattr(&pty.slave).map_err(io::Error::from)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave).map_err(io::Error::from)?;
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&pty.master, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        // `AsyncFd::new` is deprecated in tokio 1.54 in favour of the unsafe
        // `register`, because it is unsound for a type whose `as_raw_fd` can
        // change. `OwnedFd` always returns the fd it owns, so `new` is sound
        // here, and it exists in the workspace's minimum tokio (1.47).
        #[allow(deprecated)]
        let master = AsyncFd::new(pty.master)?;
        Ok((
            PtyPort {
                master,
                _slave: pty.slave,
            },
            path,
        ))
    }
}

impl AsyncRead for PtyPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.master.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| {
                nix::unistd::read(fd.get_ref().as_fd(), unfilled).map_err(io::Error::from)
            }) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Spurious readiness: the guard was cleared, wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.master.poll_write_ready(cx))?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from))
            {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the kernel: nothing buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
