//! The module's file system, as the HTTP client's file method uses it
//! (application note §7.2; the LEXI-R10 forms as u-blox's host library
//! drives them `[lib]`, see `lexi-r10-notes.md`). One struct per command:
//!
//! - [`OpenFile`]: `AT+FOPEN="<name>",0` -> `+FOPEN: <handle>` (creates an
//!   empty file if there is none);
//! - [`WriteFile`]: `AT+FWRITE=<h>,<n>` -> `CONNECT` -> exactly n bytes ->
//!   `+FWRITE: <written>,<file size>` (§7.2). A write goes at the handle's
//!   position: into an existing file it overwrites and extends, so a file
//!   whose size after the write is more than was written held something
//!   before;
//! - [`ReadFile`]: `AT+FREAD=<h>,<n>` -> `CONNECT <k>`, exactly k bytes,
//!   `OK` (§7.2), k at most n;
//! - [`CloseFile`], `AT+FCLOSE=<h>`;
//! - [`DeleteFile`]: `AT+FDELETE=<h>`, the open file deleted and its handle
//!   closed `[lib]`.
//!
//! The files live in the module's flash: every write and delete wears it.

use crate::modem::at::command::ok_command;
use crate::modem::at::{AtCommand, Fields, ParseError, Prompt, Response};

/// `AT+FOPEN="<name>",0`: opens `name` (§7.2), creating it empty if it does
/// not exist; answers the handle. Names are at most 63 characters `[lib]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    pub name: String,
}

impl AtCommand for OpenFile {
    type Response = u8;
    fn text(&self) -> String {
        format!("AT+FOPEN=\"{}\",0", self.name)
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+FOPEN")
    }
    fn parse(&self, r: &Response) -> Result<u8, ParseError> {
        Fields::parse(r.line("+FOPEN")?, "+FOPEN")?.int_as(0)
    }
}

/// What a write answered: `+FWRITE: <written>,<file size>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub bytes: usize,
    pub file_size: usize,
}

/// `AT+FWRITE=<h>,<n>`, then `CONNECT`, then exactly the n bytes of `data`
/// (any values: they are counted, not scanned) (§7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFile {
    pub handle: u8,
    pub data: Vec<u8>,
}

impl AtCommand for WriteFile {
    type Response = Written;
    fn text(&self) -> String {
        format!("AT+FWRITE={},{}", self.handle, self.data.len())
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+FWRITE")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::Connect, &self.data))
    }
    fn parse(&self, r: &Response) -> Result<Written, ParseError> {
        let f = Fields::parse(r.line("+FWRITE")?, "+FWRITE")?;
        Ok(Written {
            bytes: f.int_as(0)?,
            file_size: f.int_as(1)?,
        })
    }
}

/// `AT+FREAD=<h>,<n>`: at most `max` bytes from the handle's position,
/// which moves on; answered as `CONNECT <k>` and exactly k bytes (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFile {
    pub handle: u8,
    pub max: usize,
}

impl AtCommand for ReadFile {
    /// The bytes read; fewer than `max` at the end of the file.
    type Response = Vec<u8>;
    fn text(&self) -> String {
        format!("AT+FREAD={},{}", self.handle, self.max)
    }
    fn parse(&self, r: &Response) -> Result<Vec<u8>, ParseError> {
        r.stream
            .clone()
            .ok_or_else(|| ParseError::missing("`CONNECT <n>` and the file's bytes"))
    }
}

/// `AT+FCLOSE=<h>` (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFile(pub u8);

ok_command!(CloseFile, |c| format!("AT+FCLOSE={}", c.0));

/// `AT+FDELETE=<h>`: deletes the file open under the handle and closes it
/// `[lib]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteFile(pub u8);

ok_command!(DeleteFile, |c| format!("AT+FDELETE={}", c.0));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::test_peer::start;

    #[test]
    fn the_commands_follow_the_note_and_the_host_library() {
        let open = OpenFile {
            name: "postdata.txt".into(),
        };
        assert_eq!(open.text(), "AT+FOPEN=\"postdata.txt\",0");
        // The note prints `+FOPEN:1`, without the blank.
        assert_eq!(open.parse(&Response::from_lines(&["+FOPEN:1"])).unwrap(), 1);
        let write = WriteFile {
            handle: 1,
            data: b"hello world".to_vec(),
        };
        assert_eq!(write.text(), "AT+FWRITE=1,11");
        assert_eq!(write.data(), Some((Prompt::Connect, &b"hello world"[..])));
        assert_eq!(
            write
                .parse(&Response::from_lines(&["+FWRITE: 11, 11"]))
                .unwrap(),
            Written {
                bytes: 11,
                file_size: 11
            }
        );
        assert_eq!(
            ReadFile {
                handle: 2,
                max: 512
            }
            .text(),
            "AT+FREAD=2,512"
        );
        assert_eq!(CloseFile(1).text(), "AT+FCLOSE=1");
        assert_eq!(DeleteFile(1).text(), "AT+FDELETE=1");
    }

    /// Binary bytes out after `CONNECT`, binary bytes back after
    /// `CONNECT <n>`, with `OK` and CR LF inside them.
    #[tokio::test(start_paused = true)]
    async fn binary_contents_round_trip_through_the_client() {
        let (at, mut peer) = start();
        let data = vec![0xa1, b'O', b'K', 0x0d, 0x0a, 0x00, 0xff];
        let write = WriteFile {
            handle: 3,
            data: data.clone(),
        };
        let module = async {
            assert_eq!(peer.command().await, "AT+FWRITE=3,7");
            peer.say(b"\r\nCONNECT\r\n").await;
            assert_eq!(peer.exact(7).await, data);
            peer.say(b"\r\n+FWRITE: 7,7\r\n\r\nOK\r\n").await;
        };
        let (written, ()) = tokio::join!(at.send(&write), module);
        assert_eq!(written.unwrap().file_size, 7);

        let read = ReadFile { handle: 3, max: 64 };
        let module = async {
            assert_eq!(peer.command().await, "AT+FREAD=3,64");
            let mut answer = b"\r\nCONNECT 7\r\n".to_vec();
            answer.extend_from_slice(&data);
            answer.extend_from_slice(b"\r\nOK\r\n");
            peer.say(&answer).await;
        };
        let (read, ()) = tokio::join!(at.send(&read), module);
        assert_eq!(read.unwrap(), data);
    }
}
