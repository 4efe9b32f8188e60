//! What a typed AT command tells the engine, and what the engine hands back.

use std::borrow::Cow;
use std::time::Duration;

use super::codec::{Expect, Line, PayloadSpec, Prompt};
use super::error::ParseError;

/// One AT command with its typed answer. Each implementation is one struct
/// whose doc comment names the application-note section it follows.
pub trait AtCommand {
    type Response;

    /// The command line without the terminating CR, e.g. `AT+CEREG?`.
    fn text(&self) -> String;

    /// The command as logs and error messages show it. Commands that carry a
    /// secret (a SIM PIN, a password) override this to mask it.
    fn label(&self) -> String {
        self.text()
    }

    /// The prefix of its information lines (`+CEREG`), so that a URC with
    /// the same prefix can be told from the answer.
    fn response_prefix(&self) -> Option<&'static str> {
        None
    }

    /// Information lines that carry counted payloads.
    fn payload(&self) -> Option<PayloadSpec> {
        None
    }

    /// The bytes to send after the module's data prompt.
    fn data(&self) -> Option<(Prompt, &[u8])> {
        None
    }

    /// After its prompt data the module answers with a stream that has no
    /// `CONNECT` of its own, up to `DISCONNECT` (HTTP POST in direct link,
    /// §7.3): the bytes end up in [`Response::stream`].
    fn streams_response(&self) -> bool {
        false
    }

    /// The command's own deadline; `None` uses the client's default.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    fn parse(&self, response: &Response) -> Result<Self::Response, ParseError>;
}

/// Everything a command produced before its `OK`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub lines: Vec<Line>,
    /// The bytes of a `CONNECT` stream, if the command opened one.
    pub stream: Option<Vec<u8>>,
}

/// The parser of commands whose whole answer is `OK`.
pub fn only_ok(_: &Response) -> Result<(), ParseError> {
    Ok(())
}

/// Declares a command whose whole answer is `OK` (most setters): its text,
/// and, where it has them, the prefix of its information lines (to tell its
/// own `+UMQTTC` from a URC's), its own deadline and a masked label.
/// The struct is declared beside it, with the doc naming the note's section.
///
/// ```ignore
/// /// `ATE0` / `ATE1`: command echo (...).
/// pub struct SetEcho(pub bool);
/// ok_command!(SetEcho, |c| format!("ATE{}", u8::from(c.0)));
/// ok_command!(Login, |_| "AT+UMQTTC=1".into(), prefix = "+UMQTTC");
/// ok_command!(SetFunctionality, |c| ..., timeout = |_| Some(Duration::from_secs(30)));
/// ```
macro_rules! ok_command {
    (
        $name:ty, |$c:pat_param| $text:expr
        $(, prefix = $prefix:expr)?
        $(, timeout = |$tc:pat_param| $timeout:expr)?
        $(, label = |$lc:pat_param| $label:expr)?
        $(,)?
    ) => {
        impl $crate::modem::at::AtCommand for $name {
            type Response = ();
            fn text(&self) -> String {
                let $c = self;
                $text
            }
            $(
                fn response_prefix(&self) -> Option<&'static str> {
                    Some($prefix)
                }
            )?
            $(
                fn timeout(&self) -> Option<std::time::Duration> {
                    let $tc = self;
                    $timeout
                }
            )?
            $(
                fn label(&self) -> String {
                    let $lc = self;
                    $label
                }
            )?
            fn parse(
                &self,
                r: &$crate::modem::at::Response,
            ) -> Result<(), $crate::modem::at::ParseError> {
                $crate::modem::at::command::only_ok(r)
            }
        }
    };
}
pub(crate) use ok_command;

impl Response {
    /// An answer made of these text lines, as the codec hands them over:
    /// for testing a command's parser without a module.
    pub fn from_lines(lines: &[&str]) -> Response {
        Response {
            lines: lines.iter().map(|l| Line::text(l.as_bytes())).collect(),
            stream: None,
        }
    }

    /// The first line with `prefix`.
    pub fn line<'a>(&'a self, prefix: &'a str) -> Result<&'a Line, ParseError> {
        self.lines_with(prefix)
            .next()
            .ok_or_else(|| ParseError::missing(&format!("`{prefix}:` line")))
    }

    pub fn lines_with<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Line> + 'a {
        self.lines.iter().filter(move |l| {
            l.prefix()
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
        })
    }

    /// The first line as trimmed text, for commands that answer one bare line
    /// (`AT+CGMI` -> `u-blox`).
    pub fn single_text(&self) -> Result<String, ParseError> {
        let line = self
            .lines
            .first()
            .ok_or_else(|| ParseError::missing("information line"))?;
        Ok(line.display().trim().to_string())
    }
}

/// The engine-facing description of a command to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub text: String,
    /// What logs and errors show instead of `text` (secrets masked).
    pub label: String,
    pub expect: Expect,
    pub data: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// A sacrificial `AT` of a resync: expected to go unanswered while the
    /// module boots or sleeps, so its timeout is not worth a warning.
    pub probe: bool,
    /// See [`AtCommand::streams_response`].
    pub streams_response: bool,
}

impl Request {
    pub fn from_command<C: AtCommand + ?Sized>(cmd: &C) -> Request {
        let text = cmd.text();
        let (prompt, data) = match cmd.data() {
            Some((p, d)) => (Some(p), Some(d.to_vec())),
            None => (None, None),
        };
        Request {
            expect: Expect {
                echo: text.as_bytes().to_vec(),
                response_prefix: cmd.response_prefix().map(|p| Cow::Borrowed(p.as_bytes())),
                payload: cmd.payload(),
                prompt,
            },
            label: cmd.label(),
            text,
            data,
            timeout: cmd.timeout(),
            probe: false,
            streams_response: cmd.streams_response(),
        }
    }
}

/// A command typed by a person (the `edge-agent at` console) or sent before
/// a typed struct exists for it. Its answer prefix is guessed from the text:
/// `AT+CEREG?` expects `+CEREG` lines.
#[derive(Debug, Clone)]
pub struct Raw {
    pub text: String,
    pub timeout: Option<Duration>,
}

impl Raw {
    pub fn new(text: impl Into<String>) -> Raw {
        Raw {
            text: text.into(),
            timeout: None,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Raw {
        self.timeout = Some(timeout);
        self
    }

    fn guessed_prefix(&self) -> Option<String> {
        let upper = self.text.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix("AT")?;
        if !rest.starts_with('+') {
            return None;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '_'))
            .unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }

    /// The request for this raw command, with the guessed answer prefix.
    pub fn request(&self) -> Request {
        let text = self.text.trim().to_string();
        Request {
            expect: Expect {
                echo: text.as_bytes().to_vec(),
                response_prefix: self.guessed_prefix().map(|p| Cow::Owned(p.into_bytes())),
                payload: None,
                prompt: None,
            },
            label: text.clone(),
            text,
            data: None,
            timeout: self.timeout,
            probe: false,
            streams_response: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_command_guesses_its_answer_prefix() {
        let r = Raw::new("at+cereg?").request();
        assert_eq!(r.expect.response_prefix.as_deref(), Some(&b"+CEREG"[..]));
        let r = Raw::new("ATI").request();
        assert_eq!(r.expect.response_prefix, None);
        let r = Raw::new("AT+UMQTTC=1").request();
        assert_eq!(r.expect.response_prefix.as_deref(), Some(&b"+UMQTTC"[..]));
    }
}
