//! The control socket's commands: one line of text to a [`ControlCommand`],
//! pure, so every command and every way to get one wrong is unit-tested.
//!
//! A line is a command name and its arguments separated by spaces. `garbage`
//! and `urc` take the rest of the line after one space as their text, spaces
//! included; `garbage` decodes `\r`, `\n`, `\t`, `\\` and `\xNN` in it.

use std::time::Duration;

use crate::config::NetworkCondition;

/// One command a person or a test sends to a running simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// Pulse the PWR_ON line ([`crate::SimHandle::pulse_wake_line`]).
    Wake,
    /// Unannounced reboot ([`crate::SimHandle::reboot`]).
    Reboot,
    /// Cut the power ([`crate::SimHandle::power_off`]).
    PowerOff,
    /// Power on ([`crate::SimHandle::power_on`]).
    PowerOn,
    /// Change the radio environment ([`crate::SimHandle::set_network`]).
    Network(NetworkCondition),
    /// The broker connection drops ([`crate::SimHandle::mqtt_drop_session`]).
    MqttDrop,
    /// The next n publishes are never confirmed
    /// ([`crate::SimHandle::mqtt_never_confirm_next`]).
    MqttNeverConfirm(usize),
    /// Bytes on the UART as they are ([`crate::SimHandle::inject_raw`]).
    Garbage(Vec<u8>),
    /// A URC line ([`crate::SimHandle::inject_urc`]).
    Urc(String),
    /// The next command lines fail ([`crate::SimHandle::fail_next`]).
    FailNext { commands: usize, cme_code: u16 },
    /// The next answer waits ([`crate::SimHandle::delay_next_answer`]).
    DelayNext(Duration),
    /// A one-line picture of the module's state.
    Status,
    /// The list of commands.
    Help,
}

/// Every command with its arguments and what it does: the `help` reply and
/// `lexi-sim --help` are made from (or checked against) this table.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "wake",
        "pulse the PWR_ON line (wakes Sleep-2/Hibernate, boots a module that is off)",
    ),
    (
        "reboot",
        "unannounced reboot: an answer in progress is cut off",
    ),
    ("power-off", "cut the power: silent until power-on"),
    ("power-on", "power on a module that is off"),
    (
        "network coverage|none|denied|roaming",
        "change the radio environment (+CEREG follows)",
    ),
    (
        "mqtt-drop",
        "the MQTT broker connection drops (+UUMQTTC: 0,101)",
    ),
    (
        "mqtt-never-confirm <n>",
        "the next n MQTT publishes are never confirmed (0 disarms)",
    ),
    (
        "garbage <text>",
        "bytes on the UART as they are; \\r \\n \\t \\\\ \\xNN escapes",
    ),
    ("urc <text>", "send the line <text> as a URC"),
    (
        "fail-next <n> <cme code>",
        "the next n command lines answer +CME ERROR: <code> (0 disarms)",
    ),
    (
        "delay-next <ms>",
        "the next answer (after the echo) waits <ms> milliseconds",
    ),
    (
        "status",
        "power state, power mode, registration, MQTT session, clock; after \
         a TLS handshake also tls=<full>,<resumed>,<failed> handshakes and \
         tls_bytes=<sent>,<received>",
    ),
    ("help", "this list"),
];

/// Why a line is not a command. The text is what the client sees after
/// `error: `, so it says what would have been right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("empty line; `help` lists the commands")]
    Empty,
    /// Shown escaped: a reply is one line, whatever the client sent.
    #[error("unknown command `{}`; `help` lists the commands", .0.escape_debug())]
    Unknown(String),
    #[error("`{command}` takes no arguments")]
    UnexpectedArguments { command: &'static str },
    #[error("usage: {usage}")]
    Usage { usage: &'static str },
    #[error("`{command}`: {value:?} is not {expected}")]
    BadValue {
        command: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("`garbage`: {0}")]
    BadEscape(String),
}

/// Parses one line (a trailing `\r` or `\n` is not part of it).
pub fn parse_command(line: &str) -> Result<ControlCommand, CommandError> {
    let line = line.trim_end_matches(['\r', '\n']).trim_start();
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    let args: Vec<&str> = rest.split_whitespace().collect();
    let command = match name {
        "" => return Err(CommandError::Empty),
        "wake" => no_args("wake", &args, ControlCommand::Wake)?,
        "reboot" => no_args("reboot", &args, ControlCommand::Reboot)?,
        "power-off" => no_args("power-off", &args, ControlCommand::PowerOff)?,
        "power-on" => no_args("power-on", &args, ControlCommand::PowerOn)?,
        "mqtt-drop" => no_args("mqtt-drop", &args, ControlCommand::MqttDrop)?,
        "status" => no_args("status", &args, ControlCommand::Status)?,
        "help" => no_args("help", &args, ControlCommand::Help)?,
        "network" => {
            let [condition] = exactly(&args, "network coverage|none|denied|roaming")?;
            ControlCommand::Network(match condition {
                "coverage" => NetworkCondition::Coverage,
                "none" => NetworkCondition::NoCoverage,
                "denied" => NetworkCondition::Denied,
                "roaming" => NetworkCondition::Roaming,
                other => {
                    return Err(CommandError::BadValue {
                        command: "network",
                        value: other.to_string(),
                        expected: "coverage, none, denied or roaming",
                    })
                }
            })
        }
        "mqtt-never-confirm" => {
            let [n] = exactly(&args, "mqtt-never-confirm <n>")?;
            ControlCommand::MqttNeverConfirm(number("mqtt-never-confirm", n)?)
        }
        "fail-next" => {
            let [n, code] = exactly(&args, "fail-next <n> <cme code>")?;
            ControlCommand::FailNext {
                commands: number("fail-next", n)?,
                cme_code: number("fail-next", code)?,
            }
        }
        "delay-next" => {
            let [ms] = exactly(&args, "delay-next <ms>")?;
            ControlCommand::DelayNext(Duration::from_millis(number("delay-next", ms)?))
        }
        "garbage" => {
            if rest.is_empty() {
                return Err(CommandError::Usage {
                    usage: "garbage <text>",
                });
            }
            ControlCommand::Garbage(decode_escapes(rest)?)
        }
        "urc" => {
            if rest.trim().is_empty() {
                return Err(CommandError::Usage {
                    usage: "urc <text>",
                });
            }
            ControlCommand::Urc(rest.to_string())
        }
        other => return Err(CommandError::Unknown(other.to_string())),
    };
    Ok(command)
}

/// The `help` reply's text: every command, one line.
pub fn help_text() -> String {
    let names: Vec<&str> = COMMANDS.iter().map(|(usage, _)| *usage).collect();
    format!("commands: {}", names.join("; "))
}

/// `text` with `\r`, `\n`, `\t`, `\\` and `\xNN` replaced by their bytes;
/// any other character is its UTF-8 bytes.
pub fn decode_escapes(text: &str) -> Result<Vec<u8>, CommandError> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        let bad = |why: &str| CommandError::BadEscape(format!("{why} at character {at}"));
        match chars.next().map(|(_, c)| c) {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                let byte = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| bad("`\\x` needs two hex digits"))?;
                out.push(byte);
            }
            Some(other) => {
                return Err(bad(&format!(
                    "unknown escape `\\{other}` (known: \\r \\n \\t \\\\ \\xNN)"
                )))
            }
            None => return Err(bad("a lone `\\` at the end")),
        }
    }
    Ok(out)
}

fn no_args(
    command: &'static str,
    args: &[&str],
    parsed: ControlCommand,
) -> Result<ControlCommand, CommandError> {
    if args.is_empty() {
        Ok(parsed)
    } else {
        Err(CommandError::UnexpectedArguments { command })
    }
}

/// The arguments when there are exactly `N`.
fn exactly<'a, const N: usize>(
    args: &[&'a str],
    usage: &'static str,
) -> Result<[&'a str; N], CommandError> {
    <[&str; N]>::try_from(args).map_err(|_| CommandError::Usage { usage })
}

fn number<T: std::str::FromStr>(command: &'static str, text: &str) -> Result<T, CommandError> {
    text.parse().map_err(|_| CommandError::BadValue {
        command,
        value: text.to_string(),
        expected: "a whole number in range",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses() {
        let cases = [
            ("wake", ControlCommand::Wake),
            ("reboot", ControlCommand::Reboot),
            ("power-off", ControlCommand::PowerOff),
            ("power-on", ControlCommand::PowerOn),
            (
                "network coverage",
                ControlCommand::Network(NetworkCondition::Coverage),
            ),
            (
                "network none",
                ControlCommand::Network(NetworkCondition::NoCoverage),
            ),
            (
                "network denied",
                ControlCommand::Network(NetworkCondition::Denied),
            ),
            (
                "network roaming",
                ControlCommand::Network(NetworkCondition::Roaming),
            ),
            ("mqtt-drop", ControlCommand::MqttDrop),
            ("mqtt-never-confirm 3", ControlCommand::MqttNeverConfirm(3)),
            ("mqtt-never-confirm 0", ControlCommand::MqttNeverConfirm(0)),
            (
                "garbage \\x00\\xffAT\\r\\n",
                ControlCommand::Garbage(b"\x00\xffAT\r\n".to_vec()),
            ),
            (
                "urc +UUMQTTC: 6,1",
                ControlCommand::Urc("+UUMQTTC: 6,1".to_string()),
            ),
            (
                "fail-next 2 10",
                ControlCommand::FailNext {
                    commands: 2,
                    cme_code: 10,
                },
            ),
            (
                "delay-next 1500",
                ControlCommand::DelayNext(Duration::from_millis(1500)),
            ),
            ("status", ControlCommand::Status),
            ("help", ControlCommand::Help),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_command(line), Ok(expected.clone()), "{line}");
            // The line terminator and extra spaces between words do not matter.
            let spaced = format!("  {}\r\n", line.replacen(' ', "   ", 1));
            if !matches!(
                expected,
                ControlCommand::Garbage(_) | ControlCommand::Urc(_)
            ) {
                assert_eq!(parse_command(&spaced), Ok(expected), "{spaced:?}");
            }
        }
    }

    #[test]
    fn every_command_in_the_table_is_one_the_parser_knows() {
        for (usage, what) in COMMANDS {
            let name = usage.split(' ').next().unwrap_or_default();
            assert!(!what.is_empty());
            assert_ne!(
                parse_command(name),
                Err(CommandError::Unknown(name.to_string())),
                "{usage}"
            );
            assert!(help_text().contains(usage), "{usage}");
        }
    }

    #[test]
    fn text_arguments_keep_their_spaces() {
        assert_eq!(
            parse_command("garbage  a  b "),
            Ok(ControlCommand::Garbage(b" a  b ".to_vec()))
        );
        assert_eq!(
            parse_command("urc +CEREG: 1"),
            Ok(ControlCommand::Urc("+CEREG: 1".to_string()))
        );
        assert_eq!(
            parse_command("garbage é\\\\"),
            Ok(ControlCommand::Garbage("é\\".as_bytes().to_vec()))
        );
        assert_eq!(
            parse_command("garbage \\t\\X"),
            Err(CommandError::BadEscape(
                "unknown escape `\\X` (known: \\r \\n \\t \\\\ \\xNN) at character 2".to_string()
            ))
        );
    }

    #[test]
    fn bad_lines_give_an_error_that_says_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "empty line; `help` lists the commands"),
            ("   \r\n", "empty line; `help` lists the commands"),
            (
                "reset",
                "unknown command `reset`; `help` lists the commands",
            ),
            (
                "REBOOT",
                "unknown command `REBOOT`; `help` lists the commands",
            ),
            (
                "re\rboot",
                "unknown command `re\\rboot`; `help` lists the commands",
            ),
            ("reboot now", "`reboot` takes no arguments"),
            ("wake 1", "`wake` takes no arguments"),
            ("network", "usage: network coverage|none|denied|roaming"),
            (
                "network none denied",
                "usage: network coverage|none|denied|roaming",
            ),
            (
                "network lte",
                "`network`: \"lte\" is not coverage, none, denied or roaming",
            ),
            ("mqtt-never-confirm", "usage: mqtt-never-confirm <n>"),
            (
                "mqtt-never-confirm -1",
                "`mqtt-never-confirm`: \"-1\" is not a whole number in range",
            ),
            ("fail-next 1", "usage: fail-next <n> <cme code>"),
            (
                "fail-next 1 70000",
                "`fail-next`: \"70000\" is not a whole number in range",
            ),
            (
                "fail-next x 10",
                "`fail-next`: \"x\" is not a whole number in range",
            ),
            ("delay-next", "usage: delay-next <ms>"),
            (
                "delay-next 1.5",
                "`delay-next`: \"1.5\" is not a whole number in range",
            ),
            ("garbage", "usage: garbage <text>"),
            ("urc", "usage: urc <text>"),
            ("urc   ", "usage: urc <text>"),
            (
                "garbage \\x4",
                "`garbage`: `\\x` needs two hex digits at character 0",
            ),
            (
                "garbage ab\\xZZ",
                "`garbage`: `\\x` needs two hex digits at character 2",
            ),
            (
                "garbage x\\",
                "`garbage`: a lone `\\` at the end at character 1",
            ),
        ];
        for (line, message) in cases {
            match parse_command(line) {
                Ok(parsed) => panic!("{line:?} parsed as {parsed:?}"),
                Err(e) => assert_eq!(e.to_string(), *message, "{line:?}"),
            }
        }
    }
}
