//! Fault injection from outside a running simulator: a control socket.
//!
//! `lexi-sim --control PATH` listens on a Unix stream socket at PATH. A
//! client sends one command per line (`reboot`, `network none`,
//! `garbage AT\r\n`, ... see [`command::COMMANDS`]) and reads one reply line
//! per command: `ok ...` or `error: <why>`. Clients may come one after
//! another or at once; a bad command is only an `error:` reply. So a person
//! can rehearse a field failure by hand (`lexi-sim ctl --control PATH
//! reboot`, or socat) while the agent runs against the simulator, and tests
//! can drive the standalone binary.
//!
//! - [`command`]: a line to a [`ControlCommand`] (pure);
//! - [`server`]: [`ControlSocket`], the listener carrying commands out on a
//!   [`crate::SimHandle`];
//! - [`client`]: [`send_command`], one command and its [`Reply`].

pub mod client;
pub mod command;
pub mod server;

pub use client::{send_command, ClientError, Reply};
pub use command::{parse_command, CommandError, ControlCommand, COMMANDS};
pub use server::ControlSocket;
