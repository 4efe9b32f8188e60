//! The library's error type.

use std::path::PathBuf;

/// Everything that can stop the simulator from starting. Once running, the
/// simulator never fails: a bad byte from the host is answered like the
/// module would, a bad NVM file falls back to factory defaults.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A [`crate::SimConfig`] value the simulator cannot work with.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// The NVM directory could not be created.
    #[error("cannot use NVM directory {path}: {source}")]
    NvmDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Creating or configuring the pseudo-terminal failed.
    #[error("cannot set up the pty: {0}")]
    Pty(#[source] std::io::Error),
    /// The control socket could not listen (see [`crate::control`]).
    #[error("cannot listen on the control socket {path}: {source}")]
    ControlSocket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `spawn_*` was called outside a tokio runtime.
    #[error("the simulator needs a tokio runtime: {0}")]
    NoRuntime(#[source] tokio::runtime::TryCurrentError),
}
