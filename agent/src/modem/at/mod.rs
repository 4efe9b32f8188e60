//! The AT engine: a pure codec, a client that owns the port, typed URCs.
//!
//! Data flows `port bytes -> codec::Decoder -> client::Engine -> (answer to
//! the waiting command | URC to every subscriber)`. The typed commands that
//! use it live one level up, one file per chapter of the application note.

pub mod client;
pub mod codec;
pub mod command;
pub mod error;
pub mod params;
pub mod urc;

pub use client::{AtClient, ClientOptions, UrcSubscription};
pub use codec::{Line, Prompt};
pub use command::{AtCommand, Raw, Response};
pub use error::{AtError, CmeError, ParseError};
pub use params::{Field, Fields};
pub use urc::{RegStatus, Urc};
