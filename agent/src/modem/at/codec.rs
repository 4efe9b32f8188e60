//! The pure AT codec: bytes from the module in, [`Item`]s out.
//!
//! [`Decoder::decode`] looks at the start of a byte slice and returns the
//! first complete item with the number of bytes it used, or `None` when it
//! needs more bytes. It does no I/O and reads no clock, so every hazard a real
//! module produces can be replayed byte for byte in a unit test, and cutting a
//! stream into arbitrary chunks cannot change what comes out.
//!
//! Invariant: `decode` changes the decoder's state only when it returns an
//! item; `None` leaves it as it was, so the caller may retry with more bytes.
//!
//! What the module sends, and how it is recognised (application note tables,
//! `lexi-r10-notes.md` "Hazards"):
//! - lines end in CR, LF or both; empty lines are skipped;
//! - the echo of the pending command (`ATE1`, the default after boot) is the
//!   command text itself, possibly missing its first bytes after a wake-up;
//! - final results: `OK`, `ERROR`, `+CME ERROR: <n|text>`, `+CMS ERROR: <n|text>`,
//!   `ABORTED`, and the dial-up ones (`NO CARRIER`, `BUSY`, ...);
//! - the `>` / `@` data prompts, which end no line and may be preceded by
//!   other lines or by noise;
//! - `CONNECT` ... `DISCONNECT` streams (HTTP direct link, §7.1), or
//!   `CONNECT <n>` followed by exactly n bytes;
//! - information lines whose quoted payload has an announced length and may
//!   hold quotes, CR, LF, `OK` or any byte (`+USORD`, `+USORF`, `+UMQTTC: 6`,
//!   §5.4, §5.7, §6.5): read by length, never by scanning for the quote;
//! - URCs, which may arrive anywhere between the echo and the final result,
//!   even with the same prefix as the awaited answer (`+CEREG: 1` while
//!   `AT+CEREG?` waits for `+CEREG: 2,1`): told apart by their arity.
//!
//! The files: this one the items and what a command expects; `codec/decoder.rs`
//! the [`Decoder`] (lines, prompts, streams); `codec/lines.rs` how a line is
//! recognised (echo, final result, URC or answer, noise before a prompt);
//! `codec/counted.rs` lines whose payloads are read by their announced length.

mod counted;
mod decoder;
mod lines;

use std::borrow::Cow;
use std::ops::Range;

pub use decoder::Decoder;
use lines::prefix_of;

/// A line longer than this without a terminator is noise, not an answer: it is
/// dropped as [`Item::Garbage`] so a babbling port cannot grow memory without
/// bound. Counted payloads are bounded separately by [`MAX_COUNTED_PAYLOAD`].
/// 8 KiB: the longest real answer is the TLS session data
/// (`+USECPRF: <p>,13,3,<base64>,<size>`, §3.4), which holds the server's
/// certificate and so runs to 2-3 kB of base64 with a large RSA one.
pub const MAX_LINE: usize = 8 * 1024;

/// The largest counted payload the decoder accepts in one line. The module's
/// socket RX buffer is 6 kB (§5.3.3) and hex mode doubles it; anything larger
/// is a corrupted length field.
pub const MAX_COUNTED_PAYLOAD: usize = 16 * 1024;

/// A data prompt the module sends when it waits for the host's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `>`: MQTT binary publish (`+UMQTTC=9`, §6.5), certificate import (§3.3).
    Greater,
    /// `@`: socket writes `+USOWR`, `+USOST` in binary mode (§5.3.1, §5.6).
    At,
    /// `CONNECT`: file writes and HTTP direct-link uploads (§7.2, §7.3).
    Connect,
}

impl Prompt {
    fn byte(self) -> Option<u8> {
        match self {
            Prompt::Greater => Some(b'>'),
            Prompt::At => Some(b'@'),
            Prompt::Connect => None,
        }
    }
}

/// A final result code: the module will say nothing more about the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    /// `+CME ERROR: <n>` (`AT+CMEE=1`) or `+CME ERROR: <text>` (`AT+CMEE=2`).
    CmeError(ErrorValue),
    /// `+CMS ERROR: <n|text>` (SMS commands).
    CmsError(ErrorValue),
    /// The command was aborted by a character sent while it ran.
    Aborted,
    NoCarrier,
    Busy,
    NoAnswer,
    NoDialtone,
}

/// The argument of `+CME ERROR:` / `+CMS ERROR:`: numeric or verbose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorValue {
    Code(u16),
    Text(String),
}

/// One line of text from the module, with the byte ranges of any counted
/// payloads inside it (so a field splitter never looks into them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line without its terminator.
    pub bytes: Vec<u8>,
    /// Ranges of `bytes` (inside the quotes) read by announced length.
    pub counted: Vec<Range<usize>>,
}

impl Line {
    pub fn text(bytes: &[u8]) -> Line {
        Line {
            bytes: bytes.to_vec(),
            counted: Vec::new(),
        }
    }

    /// The line as text for logs and error messages (lossy).
    pub fn display(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }

    /// The `+XYZ` prefix (without the colon), if the line has one.
    pub fn prefix(&self) -> Option<&[u8]> {
        prefix_of(&self.bytes)
    }
}

/// What the decoder found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The module echoing the pending command.
    Echo(Vec<u8>),
    /// An information response line belonging to the pending command.
    Info(Line),
    Final(Final),
    /// An unsolicited result code (or, with no command pending, any other line).
    Urc(Line),
    Prompt(Prompt),
    /// `CONNECT` opened a data stream; `Some(n)` when the module announced n bytes.
    StreamStart(Option<usize>),
    /// A piece of the stream. Pieces follow the input's chunking: only their
    /// concatenation is meaningful.
    StreamData(Vec<u8>),
    /// `DISCONNECT`, or the announced length was read.
    StreamEnd,
    /// Bytes that are neither: noise after a reset, a cut line, a runaway line.
    Garbage(Vec<u8>),
}

/// A quoted field whose length is announced by the field before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// Index (0-based, after the `prefix: `) of the numeric length field. The
    /// quoted payload is the field right after it.
    pub length_field: usize,
    /// The payload is hex text: two characters per announced byte (§6.4).
    pub hex: bool,
}

/// Which information lines carry counted payloads, for the pending command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadSpec {
    /// The line prefix including the colon, e.g. `+USORD:`.
    pub prefix: Cow<'static, [u8]>,
    pub counted: Vec<Counted>,
}

/// What the pending command's answer looks like. Set by the client when it
/// sends a command and cleared when the command completes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The command as sent, without the CR: recognises the echo.
    pub echo: Vec<u8>,
    /// The prefix of the answer's information lines, without the colon
    /// (`+CEREG`). Lines with a URC prefix but this prefix are the answer
    /// unless their arity says they are URCs.
    pub response_prefix: Option<Cow<'static, [u8]>>,
    pub payload: Option<PayloadSpec>,
    pub prompt: Option<Prompt>,
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
