//! A command line -> commands and their parameters (module side).
//!
//! Deliberately written apart from the agent's AT codec (see the crate doc):
//! a shared parser would hide a shared bug.
//!
//! Grammar accepted (V.250 subset):
//! - the line starts with `AT` in any case; `[model]` bytes before the first
//!   `AT` (NUL, noise after a wake-up) are skipped; a line with no `AT` and
//!   nothing printable is ignored, one with printable text is answered `ERROR`;
//! - spaces outside quotes are ignored (V.250 §5.2.1), so the note's
//!   `AT+UDNSRN=0, "www.google.com"` parses like `AT+UDNSRN=0,"www.google.com"`;
//! - commands are separated by `;`, a trailing `;` is allowed, an empty command
//!   in the middle is not;
//! - a basic command is a letter (or `&` and a letter) and optional digits
//!   (`E0`, `I9`); `[model]` several basic commands run together (`ATE0V1`) are
//!   not supported and answer `ERROR`;
//! - an extended command is `+NAME` then nothing (action), `?` (read), `=?`
//!   (test) or `=` and comma-separated parameters; a parameter is omitted
//!   (empty), bare (`12`) or quoted (`"apn"`); `[model]` no escapes inside quotes.

/// One parameter as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// Nothing between the commas (`AT+USOCR=6,,,1`).
    Omitted,
    /// An unquoted token, normally a number.
    Bare(String),
    /// The text between double quotes.
    Quoted(String),
}

/// Why a parameter list could not be used; every kind maps to CME 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadParam;

/// The parameters of a set command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<Param>);

impl Params {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameter at `i`; `Omitted` past the end, like a trailing default.
    pub fn get(&self, i: usize) -> &Param {
        self.0.get(i).unwrap_or(&Param::Omitted)
    }

    /// A number, or `None` when omitted; a string or garbage is an error.
    pub fn int(&self, i: usize) -> Result<Option<i64>, BadParam> {
        match self.get(i) {
            Param::Omitted => Ok(None),
            Param::Bare(text) => text.parse::<i64>().map(Some).map_err(|_| BadParam),
            Param::Quoted(_) => Err(BadParam),
        }
    }

    /// A number that must be present.
    pub fn required_int(&self, i: usize) -> Result<i64, BadParam> {
        self.int(i)?.ok_or(BadParam)
    }

    /// A quoted string, or `None` when omitted; a bare token is an error
    /// (`[model]` strings must be quoted, so a host that forgets the quotes
    /// finds out here rather than on a real module that may be lenient).
    pub fn string(&self, i: usize) -> Result<Option<&str>, BadParam> {
        match self.get(i) {
            Param::Omitted => Ok(None),
            Param::Quoted(text) => Ok(Some(text)),
            Param::Bare(_) => Err(BadParam),
        }
    }

    /// A quoted string that must be present.
    pub fn required_string(&self, i: usize) -> Result<&str, BadParam> {
        self.string(i)?.ok_or(BadParam)
    }

    /// Fails when more than `n` parameters were given (trailing omitted ones
    /// do not count, `AT+CMEE=2,` is as good as `AT+CMEE=2`).
    pub fn at_most(&self, n: usize) -> Result<(), BadParam> {
        let used = self
            .0
            .iter()
            .rposition(|p| *p != Param::Omitted)
            .map_or(0, |i| i + 1);
        if used > n {
            Err(BadParam)
        } else {
            Ok(())
        }
    }
}

/// The form of an extended command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `AT+CGMI`
    Action,
    /// `AT+CMEE?`
    Read,
    /// `AT+CMEE=?`
    Test,
    /// `AT+CMEE=2`
    Set(Params),
}

/// One command of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `E0`, `I9`, `&C1`: the name upper-cased, the digits if any.
    Basic { name: String, value: Option<String> },
    /// `+CMEE=2`: the name upper-cased with its `+`; the form, or `Err` when
    /// the text after the name is malformed (a known command then answers
    /// CME 50, an unknown one plain `ERROR`).
    Extended {
        name: String,
        form: Result<Form, BadParam>,
    },
}

/// What a whole line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedLine {
    /// Nothing printable: no answer at all.
    Blank,
    /// `AT` and its commands (none for a bare `AT`).
    Commands(Vec<Command>),
    /// Not a command line the module understands: plain `ERROR`.
    Malformed,
}

/// Parses one command line (without its CR).
pub fn parse_line(line: &[u8]) -> ParsedLine {
    let Some(start) = find_at(line) else {
        return if line.iter().any(u8::is_ascii_graphic) {
            ParsedLine::Malformed
        } else {
            ParsedLine::Blank
        };
    };
    let Some(body) = strip_spaces(&line[start + 2..]) else {
        return ParsedLine::Malformed;
    };
    let mut pieces = split_outside_quotes(&body, b';');
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    let mut commands = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match parse_command(piece) {
            Some(cmd) => commands.push(cmd),
            None => return ParsedLine::Malformed,
        }
    }
    ParsedLine::Commands(commands)
}

/// Index of the first `AT` in any letter case.
fn find_at(line: &[u8]) -> Option<usize> {
    line.windows(2)
        .position(|w| w[0].eq_ignore_ascii_case(&b'A') && w[1].eq_ignore_ascii_case(&b'T'))
}

/// Removes spaces outside double quotes; `None` if a quote is left open.
fn strip_spaces(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut quoted = false;
    for &b in body {
        if b == b'"' {
            quoted = !quoted;
        }
        if b != b' ' || quoted {
            out.push(b);
        }
    }
    (!quoted).then_some(out)
}

/// Splits at `sep` where it is not inside double quotes.
fn split_outside_quotes(text: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut from = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(&text[from..i]);
            from = i + 1;
        }
    }
    if !text.is_empty() {
        parts.push(&text[from..]);
    }
    parts
}

fn parse_command(piece: &[u8]) -> Option<Command> {
    match piece.first()? {
        b'+' => {
            let name_len = piece[1..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(piece.len() - 1);
            if name_len == 0 {
                return None;
            }
            let name = String::from_utf8_lossy(&piece[..=name_len]).to_ascii_uppercase();
            let form = parse_form(&piece[1 + name_len..]);
            Some(Command::Extended { name, form })
        }
        first if first.is_ascii_alphabetic() || *first == b'&' => {
            let letters = if *first == b'&' { 2 } else { 1 };
            if piece.len() < letters || !piece[letters - 1].is_ascii_alphabetic() {
                return None;
            }
            let rest = &piece[letters..];
            if !rest.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let name = String::from_utf8_lossy(&piece[..letters]).to_ascii_uppercase();
            let value = (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned());
            Some(Command::Basic { name, value })
        }
        _ => None,
    }
}

fn parse_form(rest: &[u8]) -> Result<Form, BadParam> {
    match rest {
        [] => Ok(Form::Action),
        [b'?'] => Ok(Form::Read),
        [b'=', b'?'] => Ok(Form::Test),
        [b'=', params @ ..] => parse_params(params).map(Form::Set),
        _ => Err(BadParam),
    }
}

fn parse_params(text: &[u8]) -> Result<Params, BadParam> {
    let mut params = Vec::new();
    for raw in split_outside_quotes(text, b',') {
        params.push(parse_param(raw)?);
    }
    if params.is_empty() {
        // `AT+CMEE=`: one parameter, omitted.
        params.push(Param::Omitted);
    }
    Ok(Params(params))
}

fn parse_param(raw: &[u8]) -> Result<Param, BadParam> {
    match raw {
        [] => Ok(Param::Omitted),
        [b'"', inner @ .., b'"'] if !inner.contains(&b'"') => {
            Ok(Param::Quoted(String::from_utf8_lossy(inner).into_owned()))
        }
        _ if raw.contains(&b'"') => Err(BadParam),
        _ => Ok(Param::Bare(String::from_utf8_lossy(raw).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, form: Form) -> Command {
        Command::Extended {
            name: name.to_string(),
            form: Ok(form),
        }
    }

    fn commands(line: &str) -> Vec<Command> {
        match parse_line(line.as_bytes()) {
            ParsedLine::Commands(c) => c,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn bare_at_has_no_commands() {
        assert_eq!(commands("AT"), vec![]);
        assert_eq!(commands("at"), vec![]);
    }

    #[test]
    fn extended_forms_and_case() {
        assert_eq!(commands("at+cgmi"), vec![ext("+CGMI", Form::Action)]);
        assert_eq!(commands("AT+CMEE?"), vec![ext("+CMEE", Form::Read)]);
        assert_eq!(commands("AT+CMEE=?"), vec![ext("+CMEE", Form::Test)]);
        assert_eq!(
            commands("AT+CMEE=2"),
            vec![ext(
                "+CMEE",
                Form::Set(Params(vec![Param::Bare("2".into())]))
            )]
        );
    }

    #[test]
    fn parameters_quoted_omitted_and_spaces() {
        let got = commands(r#"AT+CGDCONT=1, "IPV4V6" ,"my apn",,"#);
        let want = Params(vec![
            Param::Bare("1".into()),
            Param::Quoted("IPV4V6".into()),
            Param::Quoted("my apn".into()),
            Param::Omitted,
            Param::Omitted,
        ]);
        assert_eq!(got, vec![ext("+CGDCONT", Form::Set(want))]);
    }

    #[test]
    fn semicolons_concatenate_and_may_trail() {
        let got = commands("AT+CMEE=2;+CEREG=2;");
        assert_eq!(got.len(), 2);
        let got = commands(r#"AT+UPING="a;b";E0"#);
        assert_eq!(got.len(), 2);
        assert_eq!(parse_line(b"AT+CMEE=2;;+CEREG=2"), ParsedLine::Malformed);
    }

    #[test]
    fn basic_commands() {
        assert_eq!(
            commands("ATE0"),
            vec![Command::Basic {
                name: "E".into(),
                value: Some("0".into())
            }]
        );
        assert_eq!(
            commands("ati"),
            vec![Command::Basic {
                name: "I".into(),
                value: None
            }]
        );
        assert_eq!(
            commands("AT&C1"),
            vec![Command::Basic {
                name: "&C".into(),
                value: Some("1".into())
            }]
        );
        assert_eq!(parse_line(b"ATE0V1"), ParsedLine::Malformed);
    }

    #[test]
    fn noise_before_at_is_skipped_and_text_without_at_is_malformed() {
        assert_eq!(commands("\0\0AT"), vec![]);
        assert_eq!(parse_line(b"\0 \x01"), ParsedLine::Blank);
        assert_eq!(parse_line(b""), ParsedLine::Blank);
        assert_eq!(parse_line(b"hello"), ParsedLine::Malformed);
    }

    #[test]
    fn malformed_parameters_keep_the_name() {
        let got = commands(r#"AT+CGDCONT=1,"IP"x"#);
        assert_eq!(
            got,
            vec![Command::Extended {
                name: "+CGDCONT".into(),
                form: Err(BadParam)
            }]
        );
        let got = commands("AT+CMEE?x");
        assert!(matches!(&got[0], Command::Extended { form: Err(_), .. }));
        // An open quote spoils the whole line.
        assert_eq!(parse_line(br#"AT+UPING="abc"#), ParsedLine::Malformed);
    }

    #[test]
    fn params_helpers() {
        let p = Params(vec![
            Param::Bare("12".into()),
            Param::Quoted("x".into()),
            Param::Bare("zz".into()),
            Param::Omitted,
        ]);
        assert_eq!(p.int(0), Ok(Some(12)));
        assert_eq!(p.int(1), Err(BadParam));
        assert_eq!(p.int(2), Err(BadParam));
        assert_eq!(p.int(3), Ok(None));
        assert_eq!(p.int(9), Ok(None));
        assert_eq!(p.string(1), Ok(Some("x")));
        assert_eq!(p.string(0), Err(BadParam));
        assert_eq!(p.at_most(3), Ok(()));
        assert_eq!(p.at_most(2), Err(BadParam));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap exhaustive-ish sweep: every 1- and 2-byte line after "AT+".
        for a in 0..=255u8 {
            for b in [0u8, b'"', b'=', b'?', b',', b';', b'+', 0xFF, b'A'] {
                let _ = parse_line(&[b'A', b'T', b'+', a, b]);
                let _ = parse_line(&[b'A', b'T', a, b, b'"']);
                let _ = parse_line(&[a, b]);
            }
        }
    }
}
