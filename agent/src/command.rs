//! The commands a server sends the agent, in one grammar whatever carries
//! them: a message on the MQTT command topic (one command per message), or
//! the body of an HTTP uplink's response (one command per line).
//!
//! - `ping`: answered with `pong`;
//! - `flush`: upload everything pending now;
//! - `plugin <instance> <payload>`: handed to a plugin instance, whose
//!   outcome is the reply;
//! - anything else is unknown, and answered with an error.
//!
//! Where the replies go is the transport's: the MQTT reply topic at once,
//! or, over HTTP, readings queued for the next window (`daemon/downlink.rs`).
//! Pure, and a leaf: it imports nothing of the crate.

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Upload everything pending now.
    Flush,
    /// Answer `pong`.
    Ping,
    /// `plugin <instance> <payload>`: for a plugin instance, which answers
    /// (the daemon forwards it and sends the outcome as the reply).
    Plugin { instance: String, payload: Vec<u8> },
    /// Anything else, as received (lossy UTF-8, trimmed).
    Unknown(String),
}

impl Command {
    /// One command from a whole message.
    pub fn parse(payload: &[u8]) -> Command {
        // The payload of a plugin command is passed on byte for byte (it may
        // be JSON or binary), so it is split off before any lossy decoding.
        if let Some(rest) = payload.trim_ascii_start().strip_prefix(b"plugin ") {
            let rest = rest.trim_ascii_start();
            let end = rest
                .iter()
                .position(u8::is_ascii_whitespace)
                .unwrap_or(rest.len());
            let (instance, payload) = rest.split_at(end);
            if !instance.is_empty() {
                return Command::Plugin {
                    instance: String::from_utf8_lossy(instance).into_owned(),
                    payload: payload.get(1..).unwrap_or_default().to_vec(),
                };
            }
        }
        let text = String::from_utf8_lossy(payload);
        match text.trim() {
            "flush" => Command::Flush,
            "ping" => Command::Ping,
            other => Command::Unknown(other.to_owned()),
        }
    }

    /// One command per line of `text` (LF or CR LF; blank lines skipped),
    /// at most `max` of them: a server's response body. A plugin command's
    /// payload is the rest of its line.
    pub fn parse_lines(text: &[u8], max: usize) -> Vec<Command> {
        text.split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.trim_ascii().is_empty())
            .take(max)
            .map(Command::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_carries_one_command_per_line() {
        let body = b"ping\r\n\r\nplugin synthetic {\"rate\": 2}\r\nflush\nreboot now\n";
        assert_eq!(
            Command::parse_lines(body, 10),
            [
                Command::Ping,
                Command::Plugin {
                    instance: "synthetic".into(),
                    payload: b"{\"rate\": 2}".to_vec(),
                },
                Command::Flush,
                Command::Unknown("reboot now".into()),
            ]
        );
        assert_eq!(Command::parse_lines(b"ping\nping\nping", 2).len(), 2);
        assert!(Command::parse_lines(b"\r\n  \n", 10).is_empty());
    }
}
