//! What the module sends: framing of lines and final result codes, and the
//! `+CME ERROR` table.
//!
//! With ATV1 (verbose, the only mode modelled) every information line, final
//! result and URC goes out as `\r\n<text>\r\n`.

/// Frames one line of text as the module sends it.
pub fn frame(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 4);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// A `+CME ERROR` code (3GPP TS 27.007 §9.2). Any `u16` is representable so
/// fault injection can send codes this table does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmeError(pub u16);

impl CmeError {
    pub const OPERATION_NOT_ALLOWED: CmeError = CmeError(3);
    pub const OPERATION_NOT_SUPPORTED: CmeError = CmeError(4);
    pub const SIM_NOT_INSERTED: CmeError = CmeError(10);
    pub const SIM_PIN_REQUIRED: CmeError = CmeError(11);
    pub const INCORRECT_PASSWORD: CmeError = CmeError(16);
    pub const NO_NETWORK_SERVICE: CmeError = CmeError(30);
    pub const INCORRECT_PARAMETERS: CmeError = CmeError(50);
    pub const UNKNOWN: CmeError = CmeError(100);

    /// The verbose text (`AT+CMEE=2`), lower case as in 27.007.
    pub fn text(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "phone failure",
            1 => "no connection to phone",
            3 => "operation not allowed",
            4 => "operation not supported",
            10 => "SIM not inserted",
            11 => "SIM PIN required",
            12 => "SIM PUK required",
            13 => "SIM failure",
            14 => "SIM busy",
            15 => "SIM wrong",
            16 => "incorrect password",
            20 => "memory full",
            21 => "invalid index",
            22 => "not found",
            23 => "memory failure",
            30 => "no network service",
            31 => "network timeout",
            50 => "incorrect parameters",
            100 => "unknown",
            _ => return None,
        })
    }
}

/// How a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Plain `ERROR` whatever `+CMEE` says (unknown or misspelled command,
    /// malformed line).
    Error,
    /// A `+CME ERROR`, shown in the form `+CMEE` selects.
    Cme(CmeError),
}

impl From<CmeError> for Fail {
    fn from(e: CmeError) -> Self {
        Fail::Cme(e)
    }
}

/// The `+CMEE` setting: how a [`Fail::Cme`] is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CmeeMode {
    /// 0: plain `ERROR`.
    #[default]
    Off,
    /// 1: `+CME ERROR: <code>`.
    Numeric,
    /// 2: `+CME ERROR: <text>`.
    Verbose,
}

impl CmeeMode {
    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            0 => Some(Self::Off),
            1 => Some(Self::Numeric),
            2 => Some(Self::Verbose),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Numeric => 1,
            Self::Verbose => 2,
        }
    }
}

/// The text of the final result for `result` under `cmee`.
pub fn final_result(result: Result<(), Fail>, cmee: CmeeMode) -> String {
    match result {
        Ok(()) => "OK".to_string(),
        Err(Fail::Error) => "ERROR".to_string(),
        Err(Fail::Cme(code)) => match cmee {
            CmeeMode::Off => "ERROR".to_string(),
            CmeeMode::Numeric => format!("+CME ERROR: {}", code.0),
            // [model] a code with no known text is shown by number even in
            // verbose mode, so an injected odd code stays recognisable.
            CmeeMode::Verbose => match code.text() {
                Some(text) => format!("+CME ERROR: {text}"),
                None => format!("+CME ERROR: {}", code.0),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_crlf_on_both_sides() {
        assert_eq!(frame("OK"), b"\r\nOK\r\n");
    }

    #[test]
    fn cme_forms() {
        let e = Err(Fail::Cme(CmeError::INCORRECT_PARAMETERS));
        assert_eq!(final_result(e, CmeeMode::Off), "ERROR");
        assert_eq!(final_result(e, CmeeMode::Numeric), "+CME ERROR: 50");
        assert_eq!(
            final_result(e, CmeeMode::Verbose),
            "+CME ERROR: incorrect parameters"
        );
        assert_eq!(
            final_result(Err(Fail::Cme(CmeError(999))), CmeeMode::Verbose),
            "+CME ERROR: 999"
        );
    }

    #[test]
    fn plain_error_ignores_cmee() {
        for mode in [CmeeMode::Off, CmeeMode::Numeric, CmeeMode::Verbose] {
            assert_eq!(final_result(Err(Fail::Error), mode), "ERROR");
        }
        assert_eq!(final_result(Ok(()), CmeeMode::Verbose), "OK");
    }

    #[test]
    fn the_table_in_the_brief() {
        let want = [
            (3, "operation not allowed"),
            (4, "operation not supported"),
            (10, "SIM not inserted"),
            (11, "SIM PIN required"),
            (16, "incorrect password"),
            (30, "no network service"),
            (50, "incorrect parameters"),
            (100, "unknown"),
        ];
        for (code, text) in want {
            assert_eq!(CmeError(code).text(), Some(text));
        }
    }
}
