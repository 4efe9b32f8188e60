//! The [`Decoder`]: the stateful part of the codec. It knows what the
//! pending command expects and whether a `CONNECT` stream is open, and turns
//! the start of a byte slice into one item: a line (classified by
//! `lines.rs`, read by length by `counted.rs` where the command says so), a
//! data prompt, or a stream's bytes.

use super::counted::{scan_counted_line, Counting};
use super::lines::{
    is_echo_of, is_text, is_unsolicited_form, is_urc_line, noise_before_prompt, parse_connect,
    parse_final, prefix_of, NoisePrompt,
};
use super::{Expect, Item, Line, Prompt, MAX_LINE};

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
                } else if is_urc_line(prefix, bytes) {
                    Item::Urc(line)
                } else {
                    Item::Info(line)
                }
            }
        }
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
