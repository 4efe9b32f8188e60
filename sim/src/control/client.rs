//! The control socket's client: one command out, one reply back. What
//! `lexi-sim ctl` runs, so nobody needs socat; tests use it too. Blocking
//! (std), so it runs without a tokio runtime.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the client waits for the simulator's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The simulator's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `ok ...`: the text after `ok` (empty, or a short confirmation).
    Ok(String),
    /// `error: <why>`: the why.
    Error(String),
}

/// Why no reply came.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A command must be one line: a `\n` would send two.
    #[error("a command is one line; this one has a line break")]
    MultiLine,
    #[error("cannot connect to the control socket {path}: {source} (is lexi-sim running with --control {path}?)")]
    Connect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("talking to the control socket failed: {0}")]
    Io(#[from] io::Error),
    #[error("the simulator closed the connection without a reply")]
    NoReply,
    #[error("unexpected reply {0:?}")]
    Unexpected(String),
}

/// Sends `command` to the simulator listening on `path`; its reply.
pub fn send_command(path: &Path, command: &str) -> Result<Reply, ClientError> {
    if command.contains('\n') {
        return Err(ClientError::MultiLine);
    }
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_path_buf(),
        source,
    })?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut line = String::new();
    // A reply is short; the bound only protects against a wrong socket.
    BufReader::new(stream.take(64 * 1024)).read_line(&mut line)?;
    if line.is_empty() {
        return Err(ClientError::NoReply);
    }
    parse_reply(line.trim_end_matches(['\r', '\n']))
}

/// `ok[ text]` or `error: why`.
fn parse_reply(line: &str) -> Result<Reply, ClientError> {
    if let Some(why) = line.strip_prefix("error: ") {
        return Ok(Reply::Error(why.to_string()));
    }
    match line.strip_prefix("ok") {
        Some("") => Ok(Reply::Ok(String::new())),
        Some(rest) => match rest.strip_prefix(' ') {
            Some(text) => Ok(Reply::Ok(text.to_string())),
            None => Err(ClientError::Unexpected(line.to_string())),
        },
        None => Err(ClientError::Unexpected(line.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_told_apart() {
        let ok = |text: &str| Reply::Ok(text.to_string());
        assert_eq!(parse_reply("ok").ok(), Some(ok("")));
        assert_eq!(parse_reply("ok rebooting").ok(), Some(ok("rebooting")));
        assert_eq!(
            parse_reply("error: unknown command `x`").ok(),
            Some(Reply::Error("unknown command `x`".to_string()))
        );
        for odd in ["okay", "", "OK", "error:x", "+CME ERROR: 4"] {
            assert!(
                matches!(parse_reply(odd), Err(ClientError::Unexpected(_))),
                "{odd:?}"
            );
        }
    }

    #[test]
    fn a_command_with_a_line_break_is_not_sent() {
        let missing = Path::new("/nonexistent/lexi-sim.sock");
        assert!(matches!(
            send_command(missing, "reboot\nwake"),
            Err(ClientError::MultiLine)
        ));
        assert!(matches!(
            send_command(missing, "reboot"),
            Err(ClientError::Connect { .. })
        ));
    }
}
