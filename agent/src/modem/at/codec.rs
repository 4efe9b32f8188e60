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

use std::borrow::Cow;
use std::ops::Range;

/// A line longer than this without a terminator is noise, not an answer: it is
/// dropped as [`Item::Garbage`] so a babbling port cannot grow memory without
/// bound. Counted payloads are bounded separately by [`MAX_COUNTED_PAYLOAD`].
pub const MAX_LINE: usize = 4096;

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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Lines,
    /// In a `CONNECT` stream; `remaining` is `Some` when the length was announced.
    Stream {
        remaining: Option<usize>,
    },
}

/// The stream terminator of HTTP direct link (§7.1): the stream's data ends
/// where `\r\nDISCONNECT\r\n` begins.
const DISCONNECT: &[u8] = b"\r\nDISCONNECT\r\n";

/// The stateful part of the codec: what the pending command expects and
/// whether a `CONNECT` stream is open.
#[derive(Debug, Clone)]
pub struct Decoder {
    expect: Option<Expect>,
    /// Whether the pending command's echo has been seen: only one echo is
    /// expected per command, a second identical line is an answer line.
    echo_seen: bool,
    mode: Mode,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Decoder {
            expect: None,
            echo_seen: false,
            mode: Mode::Lines,
        }
    }

    /// Announces the command just sent (or `None` when idle).
    pub fn set_expect(&mut self, expect: Option<Expect>) {
        self.expect = expect;
        self.echo_seen = false;
    }

    pub fn expect(&self) -> Option<&Expect> {
        self.expect.as_ref()
    }

    /// Puts the decoder into stream mode without a `CONNECT` line: HTTP POST
    /// in direct-link mode answers the host's upload with a stream that has no
    /// opening marker of its own (§7.3).
    pub fn begin_stream(&mut self, announced: Option<usize>) {
        self.mode = Mode::Stream {
            remaining: announced,
        };
    }

    /// Returns the first complete item at the start of `buf` and how many
    /// bytes it used, or `None` if `buf` holds no complete item yet.
    pub fn decode(&mut self, buf: &[u8]) -> Option<(Item, usize)> {
        match self.mode {
            Mode::Stream { remaining } => self.decode_stream(buf, remaining),
            Mode::Lines => self.decode_line(buf),
        }
    }

    fn decode_stream(&mut self, buf: &[u8], remaining: Option<usize>) -> Option<(Item, usize)> {
        match remaining {
            Some(0) => {
                self.mode = Mode::Lines;
                Some((Item::StreamEnd, 0))
            }
            Some(n) => {
                if buf.is_empty() {
                    return None;
                }
                let take = n.min(buf.len());
                self.mode = Mode::Stream {
                    remaining: Some(n - take),
                };
                Some((Item::StreamData(buf[..take].to_vec()), take))
            }
            None => {
                // An empty stream: DISCONNECT right after CONNECT's line end.
                let bare = &DISCONNECT[2..];
                if buf.starts_with(bare) {
                    self.mode = Mode::Lines;
                    return Some((Item::StreamEnd, bare.len()));
                }
                if bare.starts_with(buf) {
                    return None;
                }
                if let Some(at) = find(buf, DISCONNECT) {
                    if at == 0 {
                        self.mode = Mode::Lines;
                        return Some((Item::StreamEnd, DISCONNECT.len()));
                    }
                    return Some((Item::StreamData(buf[..at].to_vec()), at));
                }
                // Hold back a tail that could be the start of the terminator.
                let keep = longest_suffix_prefix(buf, DISCONNECT);
                let safe = buf.len() - keep;
                if safe == 0 {
                    return None;
                }
                Some((Item::StreamData(buf[..safe].to_vec()), safe))
            }
        }
    }

    fn decode_line(&mut self, buf: &[u8]) -> Option<(Item, usize)> {
        // Skip line terminators and the blanks a terminal may leave between
        // them; they separate items and carry nothing.
        let start = buf
            .iter()
            .position(|&b| !matches!(b, b'\r' | b'\n' | b' '))
            .unwrap_or(buf.len());
        let rest = &buf[start..];
        if rest.is_empty() {
            return None;
        }

        if let Some(prompt) = self.expect.as_ref().and_then(|e| e.prompt) {
            if let Some(b) = prompt.byte() {
                if rest[0] == b {
                    return Some((Item::Prompt(prompt), start + 1));
                }
                // Noise before the prompt (a wake-up glitch): the module is
                // silent after a prompt, so the noise would never end a line.
                match noise_before_prompt(rest, b) {
                    NoisePrompt::At(pos) => {
                        return Some((Item::Garbage(rest[..pos].to_vec()), start + pos))
                    }
                    NoisePrompt::Undecided => return None,
                    NoisePrompt::No => {}
                }
            }
        }

        if let Some(spec) = self.expect.as_ref().and_then(|e| e.payload.as_ref()) {
            if rest.starts_with(&spec.prefix) {
                match scan_counted_line(rest, spec) {
                    Counting::NeedMore => return None,
                    Counting::Line { end, next, counted } => {
                        let line = Line {
                            bytes: rest[..end].to_vec(),
                            counted,
                        };
                        return Some((Item::Info(line), start + next));
                    }
                    // The fields did not have the announced shape: an error
                    // text or a variant answer. Read it as a plain line.
                    Counting::NotCounted => {}
                }
            }
        }

        // Look for the terminator only within MAX_LINE bytes, so a runaway
        // line is cut at the same place however the input was chunked.
        let window = &rest[..rest.len().min(MAX_LINE)];
        let Some(end) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
            if rest.len() >= MAX_LINE {
                return Some((Item::Garbage(rest[..MAX_LINE].to_vec()), start + MAX_LINE));
            }
            return None;
        };
        let bytes = &rest[..end];
        let mut used = start + end + 1;

        if !is_text(bytes) {
            return Some((Item::Garbage(bytes.to_vec()), used));
        }

        if let Some(fin) = parse_final(bytes) {
            return Some((Item::Final(fin), used));
        }

        if let Some(announced) = parse_connect(bytes) {
            // CONNECT's own CR LF must not become stream data: wait for the
            // LF after the CR before committing to the stream.
            if rest[end] == b'\r' {
                match rest.get(end + 1) {
                    None => return None,
                    Some(b'\n') => used += 1,
                    Some(_) => {}
                }
            }
            let as_prompt = self
                .expect
                .as_ref()
                .is_some_and(|e| e.prompt == Some(Prompt::Connect));
            if as_prompt && announced.is_none() {
                return Some((Item::Prompt(Prompt::Connect), used));
            }
            self.mode = Mode::Stream {
                remaining: announced,
            };
            return Some((Item::StreamStart(announced), used));
        }

        let item = self.classify(bytes);
        Some((item, used))
    }

    /// Echo, answer line or URC, for a complete non-final text line.
    fn classify(&mut self, bytes: &[u8]) -> Item {
        let Some(expect) = self.expect.as_ref() else {
            return Item::Urc(Line::text(bytes));
        };
        if !self.echo_seen && is_echo_of(bytes, &expect.echo) {
            self.echo_seen = true;
            return Item::Echo(bytes.to_vec());
        }
        let line = Line::text(bytes);
        match prefix_of(bytes) {
            None => Item::Info(line),
            Some(prefix) => {
                let is_answer_prefix = expect
                    .response_prefix
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
                if is_answer_prefix {
                    if is_unsolicited_form(prefix, bytes) {
                        Item::Urc(line)
                    } else {
                        Item::Info(line)
                    }
                } else if is_urc_prefix(prefix) {
                    Item::Urc(line)
                } else {
                    Item::Info(line)
                }
            }
        }
    }
}

enum NoisePrompt {
    /// The prompt byte is at this offset, after noise.
    At(usize),
    /// Too few bytes to tell (`A` could start an echo `AT...`).
    Undecided,
    No,
}

/// Finds a prompt byte inside the current line when that line is noise. A
/// line that is an echo (`AT...`) or an answer/URC (`+...`) may contain the
/// byte legitimately (a topic `a>b`, an address `user@host`) and is left
/// alone. The decision looks only at bytes before the line's end, so it is
/// the same however the input was chunked.
fn noise_before_prompt(rest: &[u8], prompt: u8) -> NoisePrompt {
    let line_end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let line = &rest[..line_end];
    if line.first() == Some(&b'+') || line.len() >= 2 && line[..2].eq_ignore_ascii_case(b"AT") {
        return NoisePrompt::No;
    }
    if line.len() == 1 && line[0].eq_ignore_ascii_case(&b'A') && line_end == rest.len() {
        return NoisePrompt::Undecided;
    }
    match line.iter().position(|&b| b == prompt) {
        Some(pos) => NoisePrompt::At(pos),
        None => NoisePrompt::No,
    }
}

/// Whether `line` is the echo of `sent`. After a wake-up the module may lose
/// the first bytes of what it receives (and echoes), so a long enough tail of
/// the command counts as its echo too.
fn is_echo_of(line: &[u8], sent: &[u8]) -> bool {
    if sent.is_empty() {
        return false;
    }
    if line.eq_ignore_ascii_case(sent) {
        return true;
    }
    line.len() >= 4
        && line.len() < sent.len()
        && sent[sent.len() - line.len()..].eq_ignore_ascii_case(line)
}

fn parse_final(line: &[u8]) -> Option<Final> {
    Some(match line {
        b"OK" => Final::Ok,
        b"ERROR" => Final::Error,
        b"ABORTED" => Final::Aborted,
        b"NO CARRIER" => Final::NoCarrier,
        b"BUSY" => Final::Busy,
        b"NO ANSWER" => Final::NoAnswer,
        b"NO DIALTONE" => Final::NoDialtone,
        _ => {
            if let Some(arg) = line.strip_prefix(b"+CME ERROR:") {
                Final::CmeError(error_value(arg))
            } else if let Some(arg) = line.strip_prefix(b"+CMS ERROR:") {
                Final::CmsError(error_value(arg))
            } else {
                return None;
            }
        }
    })
}

fn error_value(arg: &[u8]) -> ErrorValue {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim().trim_matches('"');
    match text.parse::<u16>() {
        Ok(code) => ErrorValue::Code(code),
        Err(_) => ErrorValue::Text(text.to_string()),
    }
}

/// `CONNECT` or `CONNECT <n>`; `Some(None)` for the bare form.
fn parse_connect(line: &[u8]) -> Option<Option<usize>> {
    if line == b"CONNECT" {
        return Some(None);
    }
    let arg = line.strip_prefix(b"CONNECT ")?;
    let text = std::str::from_utf8(arg).ok()?;
    text.trim().parse::<usize>().ok().map(Some)
}

/// The `+XYZ` of `+XYZ: ...` (also `+XYZ:` with nothing after the colon).
fn prefix_of(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&b'+') {
        return None;
    }
    let colon = bytes.iter().position(|&b| b == b':')?;
    let prefix = &bytes[..colon];
    prefix[1..]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .then_some(prefix)
}

/// Prefixes the module uses for unsolicited result codes. Every `+UU...` is
/// unsolicited by u-blox convention; the 3GPP ones are listed.
fn is_urc_prefix(prefix: &[u8]) -> bool {
    const THREE_GPP: &[&[u8]] = &[
        b"+CEREG", b"+CREG", b"+CGREG", b"+CSCON", b"+CGEV", b"+CIEV", b"+CMTI", b"+CRING",
        b"+CTZV", b"+CTZE",
    ];
    prefix.len() > 3 && prefix[..3].eq_ignore_ascii_case(b"+UU")
        || THREE_GPP.iter().any(|p| p.eq_ignore_ascii_case(prefix))
}

/// Lines whose prefix is also the pending command's answer prefix, but whose
/// shape is that of the URC (3GPP TS 27.007):
/// - `+CEREG`/`+CREG`/`+CGREG`: the read answer is `<n>,<stat>[,...]`, so its
///   second field is a number; the URC is `<stat>[,"<tac>",...]`: one field,
///   or a quoted / empty second field.
/// - `+CSCON`: the read answer is `<n>,<mode>`; the URC with `<n>=1` (what the
///   agent configures) is `<mode>` alone.
fn is_unsolicited_form(prefix: &[u8], line: &[u8]) -> bool {
    let args = &line[prefix.len() + 1..];
    let mut fields = args.split(|&b| b == b',').map(|f| f.trim_ascii());
    let first = fields.next();
    let second = fields.next();
    match prefix.to_ascii_uppercase().as_slice() {
        b"+CEREG" | b"+CREG" | b"+CGREG" => match second {
            None => first.is_some(),
            Some(f) => f.is_empty() || f.starts_with(b"\""),
        },
        b"+CSCON" => second.is_none(),
        _ => false,
    }
}

/// Printable ASCII or valid UTF-8 without control characters (tab allowed).
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'))
}

enum Counting {
    NeedMore,
    NotCounted,
    /// `end`: end of the line's content; `next`: bytes used including the
    /// terminator; `counted`: payload ranges within the line.
    Line {
        end: usize,
        next: usize,
        counted: Vec<Range<usize>>,
    },
}

/// Scans a line that may hold counted payloads, field by field.
fn scan_counted_line(buf: &[u8], spec: &PayloadSpec) -> Counting {
    let mut pos = spec.prefix.len();
    let mut field = 0usize;
    let mut last_number: Option<usize> = None;
    let mut counted = Vec::new();
    loop {
        while buf.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let Some(&b) = buf.get(pos) else {
            return Counting::NeedMore;
        };
        let rule = spec.counted.iter().find(|c| c.length_field + 1 == field);
        if let Some(rule) = rule {
            let Some(n) = last_number else {
                return Counting::NotCounted;
            };
            if b != b'"' {
                return Counting::NotCounted;
            }
            let len = if rule.hex { n.saturating_mul(2) } else { n };
            if len > MAX_COUNTED_PAYLOAD {
                return Counting::NotCounted;
            }
            let body = pos + 1;
            let close = body + len;
            match buf.get(close) {
                None => return Counting::NeedMore,
                Some(b'"') => {}
                Some(_) => return Counting::NotCounted,
            }
            counted.push(body..close);
            pos = close + 1;
        } else if b == b'"' {
            // An ordinary quoted field: it cannot contain a quote.
            match buf[pos + 1..]
                .iter()
                .position(|&c| c == b'"' || c == b'\r' || c == b'\n')
            {
                None => return scan_limit(buf),
                Some(off) if buf[pos + 1 + off] == b'"' => pos = pos + 1 + off + 1,
                Some(_) => return Counting::NotCounted,
            }
            last_number = None;
        } else {
            let len = buf[pos..]
                .iter()
                .position(|&c| matches!(c, b',' | b'\r' | b'\n'))
                .unwrap_or(buf.len() - pos);
            let text = buf[pos..pos + len].trim_ascii_end();
            last_number = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok());
            pos += len;
        }
        while buf.get(pos) == Some(&b' ') {
            pos += 1;
        }
        match buf.get(pos) {
            None => return scan_limit(buf),
            Some(b',') => {
                pos += 1;
                field += 1;
            }
            Some(b'\r') | Some(b'\n') => {
                let end = pos;
                return Counting::Line {
                    end,
                    next: end + 1,
                    counted,
                };
            }
            Some(_) => return Counting::NotCounted,
        }
    }
}

/// An unfinished counted line that already exceeds any legal length is not
/// one: let the plain-line path turn it into garbage.
fn scan_limit(buf: &[u8]) -> Counting {
    if buf.len() > MAX_LINE + MAX_COUNTED_PAYLOAD {
        Counting::NotCounted
    } else {
        Counting::NeedMore
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest suffix of `buf` that is a proper prefix of `marker`.
fn longest_suffix_prefix(buf: &[u8], marker: &[u8]) -> usize {
    let max = (marker.len() - 1).min(buf.len());
    (1..=max)
        .rev()
        .find(|&k| buf[buf.len() - k..] == marker[..k])
        .unwrap_or(0)
}
