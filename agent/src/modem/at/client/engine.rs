//! The client's pure state machine ([`Engine`]): decoded items in, outputs
//! out (a URC to publish, a command completed, prompt data to write). No
//! I/O and no clock, so the client's decisions are tested item by item.

use tracing::{debug, trace, warn};

use crate::modem::at::codec::{Decoder, ErrorValue, Final, Item, Line, Prompt};
use crate::modem::at::command::{Request, Response};
use crate::modem::at::error::{AtError, CmeError};
use crate::modem::at::urc::Urc;

/// What the engine asks the I/O loop to do after an item.
#[derive(Debug)]
pub(crate) enum Output {
    /// A URC, typed, and its line as received.
    Urc(Urc, String),
    /// The command finished; its answer or error.
    Complete(Result<Response, AtError>),
    /// The module prompted: write the pending data after the prompt delay.
    SendData,
}

/// The command being executed and what it has gathered so far.
#[derive(Debug)]
struct InFlight {
    text: String,
    lines: Vec<Line>,
    stream: Option<Vec<u8>>,
    /// The prompt it waits for before its data may be written.
    prompt: Option<Prompt>,
    /// Its data is answered by a stream without a `CONNECT` of its own.
    streams_response: bool,
}

/// The client's pure state machine: decoded items in, outputs out.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    decoder: Decoder,
    inflight: Option<InFlight>,
}

impl Engine {
    /// The command has been written to the port.
    pub(crate) fn start(&mut self, request: &Request) {
        self.decoder.set_expect(Some(request.expect.clone()));
        self.inflight = Some(InFlight {
            text: request.label.clone(),
            lines: Vec::new(),
            stream: None,
            prompt: request.data.as_ref().and(request.expect.prompt),
            streams_response: request.streams_response,
        });
    }

    /// The command's prompt data has been written. For a command whose
    /// data is answered by a bare stream (HTTP POST in direct link, §7.3),
    /// what the module sends next is that stream, up to `DISCONNECT`.
    pub(crate) fn data_sent(&mut self) {
        if let Some(f) = self.inflight.as_mut().filter(|f| f.streams_response) {
            f.stream = Some(Vec::new());
            self.decoder.begin_stream(None);
        }
    }

    /// The command missed its deadline: forget it.
    pub(crate) fn abandon(&mut self) {
        self.decoder.set_expect(None);
        self.inflight = None;
    }

    /// Decodes the next item from `buf`; `None` if more bytes are needed.
    pub(crate) fn decode(&mut self, buf: &[u8]) -> Option<(Item, usize)> {
        self.decoder.decode(buf)
    }

    pub(crate) fn handle(&mut self, item: Item) -> Option<Output> {
        match item {
            Item::Urc(line) => {
                let urc = Urc::parse(&line);
                trace!(?urc, "URC");
                Some(Output::Urc(urc, line.display().into_owned()))
            }
            Item::Garbage(bytes) => {
                warn!(bytes = ?String::from_utf8_lossy(&bytes), "ignoring noise from the module");
                None
            }
            Item::Echo(_) => None,
            Item::Prompt(prompt) => match self.inflight.as_mut() {
                Some(f) if f.prompt == Some(prompt) => {
                    f.prompt = None;
                    Some(Output::SendData)
                }
                _ => {
                    warn!(?prompt, "unexpected data prompt");
                    None
                }
            },
            Item::Info(line) => {
                match self.inflight.as_mut() {
                    Some(f) => f.lines.push(line),
                    None => debug!(line = %line.display(), "answer line with no command waiting"),
                }
                None
            }
            Item::StreamStart(_) => {
                if let Some(f) = self.inflight.as_mut() {
                    f.stream = Some(Vec::new());
                }
                None
            }
            Item::StreamData(bytes) => {
                if let Some(stream) = self.inflight.as_mut().and_then(|f| f.stream.as_mut()) {
                    stream.extend_from_slice(&bytes);
                }
                None
            }
            Item::StreamEnd => None,
            Item::Final(fin) => {
                let Some(f) = self.inflight.take() else {
                    debug!(
                        ?fin,
                        "final result with no command waiting (a late answer?)"
                    );
                    return None;
                };
                self.decoder.set_expect(None);
                Some(Output::Complete(complete(f, fin)))
            }
        }
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.inflight.is_some()
    }
}

fn complete(f: InFlight, fin: Final) -> Result<Response, AtError> {
    let command = f.text;
    match fin {
        Final::Ok => Ok(Response {
            lines: f.lines,
            stream: f.stream,
        }),
        Final::Error => Err(AtError::Error { command }),
        Final::CmeError(v) => Err(AtError::Cme {
            command,
            error: CmeError::from_value(v),
        }),
        Final::CmsError(v) => Err(AtError::Cms {
            command,
            error: match v {
                ErrorValue::Code(c) => c.to_string(),
                ErrorValue::Text(t) => t,
            },
        }),
        other => Err(AtError::Ended {
            command,
            result: format!("{other:?}"),
        }),
    }
}
