//! The simulated UART: the byte stream between the module and the host.
//!
//! Two kinds: a pseudo-terminal ([`pty`]) for the agent's real serial code,
//! and an in-process `tokio::io::duplex` pipe for tests that need no device.
//! The I/O task sees either as one boxed [`Port`].

pub mod pty;

use tokio::io::{AsyncRead, AsyncWrite};

/// Anything the I/O task can read from and write to.
pub trait PortIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> PortIo for T {}

/// The module's end of the UART.
pub type Port = Box<dyn PortIo>;

/// `[model]` bytes the duplex pipe buffers in each direction, like a UART FIFO
/// plus driver buffer: generous, so only a host that stops reading blocks us.
pub const DUPLEX_BUFFER: usize = 64 * 1024;
