//! Errors of the AT engine.

use std::fmt;
use std::time::Duration;

use super::codec::{ErrorValue, Line};

/// Why an AT command did not give the answer its caller wanted.
#[derive(Debug, thiserror::Error)]
pub enum AtError {
    /// No final result within the command's deadline: the module is busy,
    /// asleep, rebooting or gone. The client resynchronises before the next
    /// command.
    #[error("`{command}` got no final result within {after:?}")]
    Timeout { command: String, after: Duration },
    /// Plain `ERROR`: with `AT+CMEE=2` set this means a syntax error or an
    /// unknown command.
    #[error("`{command}` answered ERROR")]
    Error { command: String },
    #[error("`{command}` failed: {error}")]
    Cme { command: String, error: CmeError },
    #[error("`{command}` failed: +CMS ERROR: {error}")]
    Cms { command: String, error: String },
    /// `ABORTED`, `NO CARRIER`, `BUSY`, ...: the command ended without success.
    #[error("`{command}` ended with {result}")]
    Ended { command: String, result: String },
    /// The answer arrived but did not have the documented shape.
    #[error("`{command}`: {source}")]
    Parse {
        command: String,
        #[source]
        source: ParseError,
    },
    /// The serial port reported end of file: the device went away (USB
    /// unplugged, pty closed). Nothing more can be sent on this client.
    #[error("the modem port was closed")]
    PortClosed,
    #[error("modem port I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The module never answered `AT` with `OK` while resynchronising.
    #[error("the module did not answer AT within {0:?}")]
    NoResponse(Duration),
}

impl AtError {
    /// The CME error, if the module reported one.
    pub fn cme(&self) -> Option<&CmeError> {
        match self {
            AtError::Cme { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// An answer line that did not parse as its command documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {line:?}: {reason}")]
pub struct ParseError {
    pub line: String,
    pub reason: String,
}

impl ParseError {
    pub fn new(line: &Line, reason: impl Into<String>) -> Self {
        ParseError {
            line: line.display().into_owned(),
            reason: reason.into(),
        }
    }

    /// An answer that lacks a line it must have.
    pub fn missing(what: &str) -> Self {
        ParseError {
            line: String::new(),
            reason: format!("the answer has no {what}"),
        }
    }
}

/// A `+CME ERROR`, numeric (`AT+CMEE=1`) or verbose (`AT+CMEE=2`), with both
/// forms filled in where the code is known (3GPP TS 27.007 §9.2 and u-blox's
/// extensions as their AT manuals list them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmeError {
    pub code: Option<u16>,
    pub text: Option<String>,
}

impl CmeError {
    pub fn from_value(value: ErrorValue) -> Self {
        match value {
            ErrorValue::Code(code) => CmeError {
                code: Some(code),
                text: cme_text(code).map(str::to_string),
            },
            ErrorValue::Text(text) => CmeError {
                code: cme_code(&text),
                text: Some(text),
            },
        }
    }
}

impl fmt::Display for CmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.text) {
            (Some(code), Some(text)) => write!(f, "+CME ERROR: {text} ({code})"),
            (Some(code), None) => write!(f, "+CME ERROR: {code}"),
            (None, Some(text)) => write!(f, "+CME ERROR: {text}"),
            (None, None) => write!(f, "+CME ERROR"),
        }
    }
}

/// Known CME error codes and their verbose texts.
const CME_ERRORS: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (50, "incorrect parameters"),
    (100, "unknown"),
    (148, "unspecified GPRS error"),
    (149, "PDP authentication failure"),
];

fn cme_text(code: u16) -> Option<&'static str> {
    CME_ERRORS.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

fn cme_code(text: &str) -> Option<u16> {
    CME_ERRORS
        .iter()
        .find(|(_, t)| t.eq_ignore_ascii_case(text))
        .map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_and_numeric_cme_errors_meet_in_one_value() {
        let verbose = CmeError::from_value(ErrorValue::Text("operation not allowed".into()));
        let numeric = CmeError::from_value(ErrorValue::Code(3));
        assert_eq!(verbose, numeric);
        assert_eq!(verbose.to_string(), "+CME ERROR: operation not allowed (3)");
    }

    #[test]
    fn unknown_cme_text_is_kept_as_text() {
        let e = CmeError::from_value(ErrorValue::Text("fancy new failure".into()));
        assert_eq!(e.code, None);
        assert_eq!(e.to_string(), "+CME ERROR: fancy new failure");
    }
}
