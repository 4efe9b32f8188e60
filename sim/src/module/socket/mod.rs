//! Sockets of the internal TCP/IP stack (§5): `+USOCR`, `+USOCO`, `+USOWR`,
//! `+USOST`, `+USORD`, `+USORF`, `+USOCTL`, `+USOSO`, `+USOSEC`, `+USOLI`,
//! `+USOER`, `+USOCL`, the URCs `+UUSORD` and `+UUSOCL`, and the always-on
//! (AoN) rules of §5.10 with the sleep limit they impose.
//!
//! The module keeps each socket's state and its RX buffer; the OS socket is a
//! job (`crate::jobs::socket`, real tokio sockets on loopback) that forwards
//! what arrives and writes what the module hands it.
//!
//! Wire formats (the note's, without its typesetting spaces):
//! - `+USOCR=<proto>[,<local port>[,<IP type>[,<report_AoN>[,<cid>]]]]`.
//!   §5.1 names the 4th parameter `<cid>`, but §5.10.1 writes
//!   `AT+USOCR=6,,,1` and gets `+USOCR: 0,6,1`: the 4th is `report_AoN`.
//!   `[model]` a cid, if any, is the 5th and only 1 is accepted; IP type
//!   omitted or 0 (IPv4). Answer `+USOCR: <id>,<proto>,<aon>` with
//!   report_AoN=1, else `+USOCR: <id>,<local port>` when a local port was
//!   given (§5.6 verbatim), else `+USOCR: <id>` (§5.1).
//! - `+USORD: <s>,<n>,"<n raw bytes>"`, `+USORF: <s>,"<ip>",<port>,<n>,"<n raw
//!   bytes>"`: the bytes go out as they are (quotes, CR LF, NUL); the host
//!   reads by length. `+USORD=<s>,0` answers `+USORD: <s>,<unread>` (§5.4).
//! - `+UUSORD: <s>,<n>` when data lands in an empty buffer (`<n>`: that
//!   packet's length), and after every read that leaves data (TCP: all
//!   unread bytes; UDP: the rest of a partly read datagram, else all unread
//!   bytes) (§5.4, §5.7). `+UUSOCL: <s>` when the peer closed and the buffer
//!   is empty (§5.9), never after `+USOCL`.
//!
//! One file per command family:
//! - `table`: the sockets' state (the table of six, each socket's link, RX
//!   buffer and counters), the snapshot, and the sleep limit of §5.10;
//! - `create`: `+USOCR`, `+USOCL`, `+USOSO`, `+USOSEC` (§5.1, §5.5, §5.9,
//!   §5.10.1, §5.11);
//! - `connect`: `+USOCO`, `+USOLI` and the deferred answer of a connect
//!   (§5.1, §5.2);
//! - `write`: `+USOWR`, `+USOST` and the `@` prompt (§5.3, §5.6, §5.12);
//! - `read`: `+USORD`, `+USORF`, `+UUSORD` and the close after the last
//!   read (§5.4, §5.7, §5.9);
//! - `status`: `+USOCTL`, `+USOER` (§5.8);
//! - `events`: what the socket jobs report;
//! - `params`: the parameters every command shares (socket id, address,
//!   length).

mod connect;
mod create;
mod events;
mod params;
mod read;
mod status;
mod table;
mod write;

pub(super) use table::Sockets;
pub use table::{Proto, SocketSnapshot};
