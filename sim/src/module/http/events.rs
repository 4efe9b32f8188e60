//! What a request job (`crate::jobs::http`, a real reqwest client) reports,
//! turned into the response file or the relayed stream, `+UUHTTPCR` and
//! `+UHTTPER`; and a request the radio loss ends.

use std::time::Instant;

use super::request::{on_air, TCP_SEGMENT};
use super::state::{InFlight, Sink, ER_INTERNAL, ER_NONE, ER_NO_PDP, ER_SERVER, ER_UNRESOLVED};
use crate::jobs::{HttpEvent, HttpFailure, JobId};
use crate::module::files::FileStore;
use crate::module::{Effect, Module};

impl Module {
    /// A request job reported.
    pub(in crate::module) fn on_http(&mut self, id: JobId, event: HttpEvent, now: Instant) {
        let Some(request) = self.http.request.as_mut() else {
            return;
        };
        if request.job != id {
            return; // a request from before a reboot
        }
        match event {
            HttpEvent::Head(bytes) | HttpEvent::Body(bytes) => {
                self.energy.radio_bytes(0, on_air(bytes.len() as u64));
                match &mut request.sink {
                    Sink::File { response, .. } => {
                        // Past what the file system can hold it fails at
                        // the end anyway: keep no more than that.
                        if response.len() <= crate::module::files::CAPACITY {
                            response.extend_from_slice(&bytes);
                        }
                    }
                    Sink::Uart => self.out.push(Effect::Send(bytes)),
                }
                self.traffic(now);
            }
            HttpEvent::Done => self.finish_request(Ok(())),
            HttpEvent::Failed(failure) => {
                let error = match failure {
                    HttpFailure::Unresolved => ER_UNRESOLVED,
                    HttpFailure::ConnectFailed | HttpFailure::Timeout | HttpFailure::Cut => {
                        ER_SERVER
                    }
                    HttpFailure::Invalid => ER_INTERNAL,
                };
                self.finish_request(Err(error));
            }
        }
    }

    /// The request is over: the response file written (file system mode)
    /// or the stream closed (direct link), the last error and the URC.
    fn finish_request(&mut self, outcome: Result<(), (u16, u16)>) {
        let Some(request) = self.http.request.take() else {
            return;
        };
        // The connection closes (FIN and ACK both ways).
        self.energy.radio_bytes(2 * TCP_SEGMENT, 2 * TCP_SEGMENT);
        self.out.push(Effect::CancelJob(request.job));
        let InFlight {
            profile,
            command,
            sink,
            ..
        } = &request;
        let outcome = match (sink, outcome) {
            (Sink::File { name, response }, Ok(())) => self.store_response(name, response),
            (Sink::File { name, .. }, Err(error)) => {
                // [model] no stale answer is left under this request's name.
                if self.nvm.files.contains(name) {
                    self.files.forget(name);
                    self.update_nvm(|nvm| {
                        nvm.files.remove(name);
                    });
                }
                Err(error)
            }
            (Sink::Uart, outcome) => outcome,
        };
        self.http.last_error[usize::from(*profile)] = outcome.err().unwrap_or(ER_NONE);
        match sink {
            Sink::Uart => self.end_direct_link(*profile, *command, outcome.is_ok()),
            Sink::File { .. } => self.urc(format!(
                "+UUHTTPCR: {profile},{command},{}",
                u8::from(outcome.is_ok())
            )),
        }
    }

    /// Writes the whole response to `name`, replacing what it held.
    fn store_response(&mut self, name: &str, response: &[u8]) -> Result<(), (u16, u16)> {
        let mut files: FileStore = self.nvm.files.clone();
        if files.replace(name, response.to_vec()).is_err() {
            tracing::warn!(name, "HTTP response does not fit the file system");
            return Err(ER_INTERNAL);
        }
        self.update_nvm(|nvm| nvm.files = files);
        Ok(())
    }

    /// Registration lost: a request in flight fails (`[model]` as an MQTT
    /// session does, §6.7).
    pub(in crate::module) fn http_radio_lost(&mut self) {
        if self.http.request.is_some() {
            self.finish_request(Err(ER_NO_PDP));
        }
    }
}
