//! The [`Plugin`] trait a Rust plugin implements, and the [`Error`] its
//! functions return.
//!
//! `export_plugin!` turns an implementation into the C ABI of
//! [`abi`](crate::abi); nothing here touches raw pointers.

use std::fmt;

use crate::abi::{Status, STATUS_ERROR, STATUS_INVALID_CONFIG, STATUS_UNSUPPORTED};
use crate::host::Host;

/// A sensor plugin: one value of the implementing type per configured
/// instance.
///
/// The host calls one instance's methods from one thread, one at a time, so
/// `&mut self` needs no locking; the value is moved to that thread, hence
/// `Send`. A push-style sensor implements [`start`](Plugin::start) and
/// [`stop`](Plugin::stop) and emits from its own threads through a copy of
/// the [`Host`]; a poll-style one implements [`poll`](Plugin::poll). The
/// defaults return [`Error::unsupported`], which the host reads as "this
/// plugin does not do that", never as a failure.
///
/// A panic in any method is caught at the boundary and reported to the host
/// as `STATUS_PANICKED` with its message; the instance stays usable as far
/// as the SDK is concerned (the host decides what to do with it).
///
/// When the host destroys a started instance without stopping it, the SDK
/// calls [`stop`](Plugin::stop) first, then drops the value.
pub trait Plugin: Sized + Send + 'static {
    /// A new instance. `config` is the instance's `[plugins.config]` table
    /// as a JSON object. Return [`Error::config`] for a configuration that
    /// can never work (the host does not retry it).
    fn create(host: Host, config: &str) -> Result<Self, Error>;

    /// Samples once, emitting through the [`Host`] given to `create`.
    fn poll(&mut self) -> Result<(), Error> {
        Err(Error::unsupported())
    }

    /// Starts the sensor's own activity (a thread, a subscription): from now
    /// on it may emit at any time.
    fn start(&mut self) -> Result<(), Error> {
        Err(Error::unsupported())
    }

    /// Stops what `start` started. Once this returns the plugin must not
    /// emit any more (the host refuses it with `Stopped` anyway): join the
    /// threads that emit.
    fn stop(&mut self) -> Result<(), Error> {
        Err(Error::unsupported())
    }

    /// A downlink command addressed to this instance (opaque bytes, usually
    /// JSON).
    fn command(&mut self, command: &[u8]) -> Result<(), Error> {
        let _ = command;
        Err(Error::unsupported())
    }
}

/// Why a plugin call did not succeed: the status code the host sees and a
/// message for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    /// The call failed (`STATUS_ERROR`); the host logs `message` and backs
    /// off before it calls again.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            status: STATUS_ERROR,
            message: message.into(),
        }
    }

    /// `create` only: the configuration is wrong (`STATUS_INVALID_CONFIG`);
    /// the host reports it and does not retry. Elsewhere it counts as
    /// [`Error::new`].
    pub fn config(message: impl Into<String>) -> Self {
        Error {
            status: STATUS_INVALID_CONFIG,
            message: message.into(),
        }
    }

    /// The plugin does not do this (`STATUS_UNSUPPORTED`): not a failure.
    pub fn unsupported() -> Self {
        Error {
            status: STATUS_UNSUPPORTED,
            message: String::new(),
        }
    }

    /// The status code the host receives.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message the host receives.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            STATUS_UNSUPPORTED if self.message.is_empty() => f.write_str("unsupported"),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}
