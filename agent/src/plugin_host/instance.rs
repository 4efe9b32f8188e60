//! The thread that owns one plugin instance and makes the C calls into it.
//!
//! abi.rs promises a plugin that one instance is only ever called from one
//! thread, one call at a time; this thread is that thread. It executes the
//! calls it is sent, in order, and answers each on a oneshot channel; it
//! decides nothing (the supervisor does). It also opens and closes the
//! instance's emit gate right around the calls that start and end
//! "running", so no reading slips in after `stop` has returned.

use std::ffi::c_void;
use std::ptr;
use std::sync::mpsc as std_mpsc;

use edge_agent_sdk::abi::{ErrorBuf, HostApi, Status, STATUS_OK, STATUS_UNSUPPORTED};
use tokio::sync::oneshot;

use super::descriptor::PluginApi;
use super::host_api::HostContext;
use super::status::PluginCall;

/// Room for a plugin's error message.
const ERROR_CAPACITY: usize = 1024;

/// What a call returned: its status and the plugin's message (empty when
/// it wrote none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub status: Status,
    pub message: String,
}

/// One call for the thread to make.
#[derive(Debug)]
pub(crate) enum Request {
    Create,
    Start,
    Poll,
    Command(Vec<u8>),
    Stop,
    Destroy,
}

impl Request {
    pub fn call(&self) -> PluginCall {
        match self {
            Request::Create => PluginCall::Create,
            Request::Start => PluginCall::Start,
            Request::Poll => PluginCall::Poll,
            Request::Command(_) => PluginCall::Command,
            Request::Stop => PluginCall::Stop,
            Request::Destroy => PluginCall::Destroy,
        }
    }
}

type Envelope = (Request, oneshot::Sender<Outcome>);

/// The handle of an instance's thread. Dropping it ends the thread once the
/// call in progress (if any) returns; `destroy` is only called when asked.
#[derive(Debug)]
pub(crate) struct InstanceThread {
    requests: std_mpsc::Sender<Envelope>,
}

/// The thread is gone (it can only end when its handle is dropped, so this
/// means a bug, or a plugin that killed the thread).
#[derive(Debug, thiserror::Error)]
#[error("the instance's thread is gone")]
pub(crate) struct ThreadGone;

impl InstanceThread {
    /// Starts the thread `plugin-<name>` for an instance of `api` configured
    /// by `config_json`, which will call the plugin with `host`.
    pub fn spawn(
        api: PluginApi,
        ctx: &'static HostContext,
        host: &'static HostApi,
        config_json: String,
    ) -> std::io::Result<InstanceThread> {
        let (requests, inbox) = std_mpsc::channel::<Envelope>();
        std::thread::Builder::new()
            // A NUL would make `spawn` panic; the name is only for humans.
            .name(format!("plugin-{}", ctx.source.replace('\0', "")))
            .spawn(move || {
                let mut instance = Instance {
                    api,
                    ctx,
                    host,
                    config: nul_terminated(config_json),
                    handle: ptr::null_mut(),
                };
                // A reply nobody waits for any more (a missed deadline) is
                // simply dropped.
                while let Ok((request, reply)) = inbox.recv() {
                    let _ = reply.send(instance.call(request));
                }
            })?;
        Ok(InstanceThread { requests })
    }

    /// Sends `request`; the outcome arrives on the returned receiver.
    pub fn send(&self, request: Request) -> Result<oneshot::Receiver<Outcome>, ThreadGone> {
        let (reply, outcome) = oneshot::channel();
        self.requests
            .send((request, reply))
            .map_err(|_| ThreadGone)?;
        Ok(outcome)
    }
}

/// The instance as its own thread sees it.
struct Instance {
    api: PluginApi,
    ctx: &'static HostContext,
    host: &'static HostApi,
    /// The config JSON with the NUL the ABI promises after it.
    config: Vec<u8>,
    /// What `create` stored in `*instance`.
    handle: *mut c_void,
}

impl Instance {
    fn call(&mut self, request: Request) -> Outcome {
        let mut message = vec![0u8; ERROR_CAPACITY];
        let mut err = ErrorBuf {
            buf: message.as_mut_ptr(),
            capacity: message.len(),
            len: 0,
        };
        let status = self.raw_call(request, &mut err);
        // A plugin that claims more than the capacity is not believed.
        message.truncate(err.len.min(ERROR_CAPACITY));
        Outcome {
            status,
            message: String::from_utf8_lossy(&message).into_owned(),
        }
    }

    fn raw_call(&mut self, request: Request, err: &mut ErrorBuf) -> Status {
        let unsupported = STATUS_UNSUPPORTED;
        // SAFETY (every call below): the function pointers come from a
        // checked descriptor of a library that is never unloaded; the
        // arguments are what the ABI says: `host` lives forever, the config
        // is followed by a NUL, `handle` is what `create` returned, and
        // `err` points at `ERROR_CAPACITY` writable bytes.
        match request {
            Request::Create => {
                // A plugin without push mode runs from `create` on.
                if self.api.start.is_none() {
                    self.ctx.open();
                }
                let status = unsafe {
                    (self.api.create)(
                        self.host,
                        self.config.as_ptr(),
                        self.config.len() - 1,
                        &mut self.handle,
                        err,
                    )
                };
                if status != STATUS_OK {
                    self.ctx.close();
                }
                status
            }
            Request::Start => match self.api.start {
                Some(start) => {
                    self.ctx.open();
                    unsafe { start(self.handle, err) }
                }
                None => unsupported,
            },
            Request::Poll => match self.api.poll {
                Some(poll) => unsafe { poll(self.handle, err) },
                None => unsupported,
            },
            Request::Command(command) => match self.api.command {
                Some(call) => unsafe { call(self.handle, command.as_ptr(), command.len(), err) },
                None => unsupported,
            },
            Request::Stop => match self.api.stop {
                Some(stop) => {
                    let status = unsafe { stop(self.handle, err) };
                    // Right after it returns: what the plugin emits from
                    // here on is refused (abi.rs: nothing after `stop`).
                    self.ctx.close();
                    status
                }
                None => unsupported,
            },
            Request::Destroy => {
                self.ctx.retire();
                unsafe { (self.api.destroy)(self.handle) };
                self.handle = ptr::null_mut();
                STATUS_OK
            }
        }
    }
}

fn nul_terminated(text: String) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    bytes.push(0);
    bytes
}
