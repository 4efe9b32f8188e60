//! How a complete line is recognised: the echo of the pending command
//! (even missing its first bytes after a wake-up), a final result, a
//! `CONNECT`, a URC or an answer (told apart by prefix and, for prefixes
//! both use, by arity), and noise before a data prompt.

use super::{ErrorValue, Final};

pub(super) enum NoisePrompt {
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
pub(super) fn noise_before_prompt(rest: &[u8], prompt: u8) -> NoisePrompt {
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
pub(super) fn is_echo_of(line: &[u8], sent: &[u8]) -> bool {
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

pub(super) fn parse_final(line: &[u8]) -> Option<Final> {
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

pub(super) fn error_value(arg: &[u8]) -> ErrorValue {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim().trim_matches('"');
    match text.parse::<u16>() {
        Ok(code) => ErrorValue::Code(code),
        Err(_) => ErrorValue::Text(text.to_string()),
    }
}

/// `CONNECT` or `CONNECT <n>`; `Some(None)` for the bare form.
pub(super) fn parse_connect(line: &[u8]) -> Option<Option<usize>> {
    if line == b"CONNECT" {
        return Some(None);
    }
    let arg = line.strip_prefix(b"CONNECT ")?;
    let text = std::str::from_utf8(arg).ok()?;
    text.trim().parse::<usize>().ok().map(Some)
}

/// The `+XYZ` of `+XYZ: ...` (also `+XYZ:` with nothing after the colon).
pub(super) fn prefix_of(bytes: &[u8]) -> Option<&[u8]> {
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
pub(super) fn is_urc_prefix(prefix: &[u8]) -> bool {
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
/// - `+USECPRF: <p>,13,0,<status>`: the session resumption status, which the
///   note prints three times with this prefix and once as `+UUSECPRF`
///   (§3.4); no command of the agent is answered in this shape (the read of
///   the session data is `<p>,13,3,...`). Also a URC when another command
///   is pending, see [`is_urc_line`].
pub(super) fn is_unsolicited_form(prefix: &[u8], line: &[u8]) -> bool {
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
        b"+USECPRF" => is_resumption_status(args),
        _ => false,
    }
}

/// `<p>,13,0,<status>`.
fn is_resumption_status(args: &[u8]) -> bool {
    let fields: Vec<&[u8]> = args.split(|&b| b == b',').map(|f| f.trim_ascii()).collect();
    matches!(&fields[..], [p, b"13", b"0", status]
        if !p.is_empty() && p.iter().all(u8::is_ascii_digit)
            && !status.is_empty() && status.iter().all(u8::is_ascii_digit))
}

/// A line that is a URC whatever command is pending: a `+UU...` or 3GPP URC
/// prefix, or a prefix shared with answers in its unsolicited shape.
pub(super) fn is_urc_line(prefix: &[u8], line: &[u8]) -> bool {
    is_urc_prefix(prefix)
        || prefix.eq_ignore_ascii_case(b"+USECPRF") && is_unsolicited_form(prefix, line)
}

/// Printable ASCII or valid UTF-8 without control characters (tab allowed).
pub(super) fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'))
}
