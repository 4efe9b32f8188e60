//! What can go wrong with the store ([`StoreError`]), and which failures
//! mean damaged files (moved aside by the agent) rather than a held lock, a
//! permission or a full disk.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The storage engine's own error, kept opaque.
#[derive(Debug)]
pub struct BackendError(sled::Error);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            sled::Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process has the store open: the agent is running.
    #[error(
        "the queue at {} is in use by another process: the agent is running; \
         stop it first (e.g. `systemctl stop edge-agent`), or run this again after it exits",
        dir.display()
    )]
    Locked {
        /// The store's directory.
        dir: PathBuf,
    },
    /// [`OpenMode::Inspect`] and there is no store.
    #[error("there is no queue at {}: the agent has not stored anything yet", dir.display())]
    NotFound {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// The files are damaged ([`OpenMode::Inspect`]; the agent moves such a
    /// store aside instead).
    #[error(
        "the queue at {} is damaged ({reason}); the agent will move it aside intact \
         and start a new one when it next starts",
        dir.display()
    )]
    Damaged {
        /// The store's directory.
        dir: PathBuf,
        /// What sled said.
        reason: String,
    },
    /// A damaged store could not be renamed out of the way.
    #[error("cannot move the damaged queue {} aside to {}", from.display(), to.display())]
    MoveAside {
        /// The store's directory.
        from: PathBuf,
        /// Where it was to go.
        to: PathBuf,
        /// Why not.
        source: io::Error,
    },
    /// The storage engine failed.
    #[error("storage error while {op}: {source}")]
    Backend {
        /// What was being done.
        op: &'static str,
        /// The engine's error.
        source: BackendError,
    },
    /// An fsync failed: what was written may not be on the disk. (Linux
    /// may drop the dirty pages of a failed writeback, so a retry could
    /// report success for data that is gone: the caller must treat the
    /// write as lost, not retry the sync.)
    #[error("cannot sync {} to the disk: {source}", path.display())]
    Sync {
        /// The file or directory.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// The caller's open-time check failed for a reason of its own.
    #[error("{0}")]
    Check(String),
}

impl StoreError {
    pub(super) fn backend(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
        move |e| StoreError::Backend {
            op,
            source: BackendError(e),
        }
    }

    /// True when the files themselves are damaged (as opposed to a held
    /// lock, a missing permission or a full disk, which moving the
    /// directory aside would not cure).
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Damaged { .. } => true,
            StoreError::Backend { source, .. } => match &source.0 {
                sled::Error::Corruption { .. }
                | sled::Error::ReportableBug(_)
                | sled::Error::Unsupported(_)
                | sled::Error::CollectionNotFound(_) => true,
                sled::Error::Io(e) => {
                    matches!(
                        e.kind(),
                        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                    )
                }
            },
            _ => false,
        }
    }

    pub(super) fn is_lock(&self) -> bool {
        match self {
            StoreError::Locked { .. } => true,
            // sled's own lock failure (if another process took the lock
            // between our check and sled's): an `Other` I/O error.
            StoreError::Backend { source, .. } => match &source.0 {
                sled::Error::Io(e) => e.to_string().contains("could not acquire lock"),
                _ => false,
            },
            _ => false,
        }
    }
}
