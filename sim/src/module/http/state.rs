//! The HTTP client's state: the four profiles as edited, which of them
//! come back from NVM after a deep sleep (`+UHTTPNV`), each one's last
//! error (`+UHTTPER`, codes in `mod.rs`), the one request in flight and the
//! direct link's data mode; what keeps the module awake or out of deep
//! sleep; what a deep sleep keeps.

use super::settings::{HttpProfile, PROFILES};
use crate::jobs::{HttpRequest, JobId};
use crate::module::sleep::SleepLimit;
use crate::module::Module;
use crate::nvm::NvmImage;

/// `+UHTTPER: <p>,<class>,<code>` (the table in `mod.rs`).
pub const ER_NONE: (u16, u16) = (0, 0);
pub const ER_UNRESOLVED: (u16, u16) = (3, 4);
pub const ER_NO_SERVER: (u16, u16) = (3, 7);
pub const ER_INTERNAL: (u16, u16) = (3, 10);
pub const ER_SERVER: (u16, u16) = (3, 11);
pub const ER_NO_TLS: (u16, u16) = (3, 99);
pub const ER_NO_PDP: (u16, u16) = (10, 22);

/// Where a response goes.
#[derive(Debug, Clone)]
pub(super) enum Sink {
    /// File system mode: collected, then written to the named file.
    File { name: String, response: Vec<u8> },
    /// Direct link: relayed to the UART as it comes.
    Uart,
}

/// The request in flight (at most one `[lib]`).
#[derive(Debug, Clone)]
pub(super) struct InFlight {
    pub(super) profile: u8,
    /// `+UHTTPC`'s `<http_command>`, repeated by `+UUHTTPCR`.
    pub(super) command: u8,
    pub(super) job: JobId,
    pub(super) sink: Sink,
}

/// What an accepted direct-link command does once its `CONNECT` is out.
#[derive(Debug, Clone)]
pub(super) enum Connect {
    /// Ops 0 to 5: the request starts at once.
    Start {
        profile: u8,
        command: u8,
        request: HttpRequest,
    },
    /// Op 7: the body comes first.
    Body(DirectBody),
}

/// A `+UHTTPC=<p>,7,...` reading its body after `CONNECT`.
#[derive(Debug, Clone)]
pub(super) struct DirectBody {
    pub(super) profile: u8,
    pub(super) want: usize,
    /// The request, its body still to come.
    pub(super) request: HttpRequest,
}

/// The client's volatile state (a boot resets it; a deep sleep keeps only
/// `armed`, see [`Client::after_deep_sleep`]).
#[derive(Debug)]
pub(in crate::module) struct Client {
    pub(super) profiles: [HttpProfile; PROFILES as usize],
    /// `+UHTTPNV=<p>,1|2` was given since boot: after a deep sleep profile
    /// p is what NVM holds (§7.1.1, §7.1.2).
    pub(super) armed: [bool; PROFILES as usize],
    pub(super) last_error: [(u16, u16); PROFILES as usize],
    pub(super) request: Option<InFlight>,
    /// Set by a direct-link `+UHTTPC` until `run_line` sends `CONNECT`.
    pub(super) connect: Option<Connect>,
    /// Op 7's body being read, and what it has so far.
    pub(super) body: Option<(DirectBody, Vec<u8>)>,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            profiles: Default::default(),
            armed: [false; PROFILES as usize],
            last_error: [ER_NONE; PROFILES as usize],
            request: None,
            connect: None,
            body: None,
        }
    }
}

impl Client {
    /// The client after a deep sleep (§7.1.2): a profile whose NVM use is
    /// armed is what NVM holds, the others are factory; the arming itself
    /// is kept. `[model]` the last errors are gone with the rest of RAM.
    pub(in crate::module) fn after_deep_sleep(&self, nvm: &NvmImage) -> Client {
        let mut client = Client {
            armed: self.armed,
            ..Client::default()
        };
        for (p, profile) in client.profiles.iter_mut().enumerate() {
            if client.armed[p] {
                *profile = stored(nvm, p as u8);
            }
        }
        client
    }
}

/// What NVM holds for profile `p` (factory if never stored).
pub(super) fn stored(nvm: &NvmImage, p: u8) -> HttpProfile {
    nvm.http.get(&p).cloned().unwrap_or_default()
}

impl Module {
    /// True while the UART belongs to a direct-link transfer: the body
    /// being read or the response being relayed. Host bytes are data (or
    /// dropped) and URCs wait.
    pub(in crate::module) fn http_data_mode(&self) -> bool {
        self.http.body.is_some()
            || matches!(
                self.http.request,
                Some(InFlight {
                    sink: Sink::Uart,
                    ..
                })
            )
    }

    /// A request runs or a transfer is being set up: the module stays
    /// awake for it, as for an MQTT operation awaiting its report.
    pub(in crate::module) fn http_busy(&self) -> bool {
        self.http.request.is_some() || self.http.body.is_some() || self.http.connect.is_some()
    }

    /// Direct link keeps the module out of Sleep-2/Hibernate while it
    /// runs (§4: "the use of direct link mode ... prevents entering Sleep-2
    /// and Hibernate").
    pub(in crate::module) fn http_sleep_limit(&self) -> SleepLimit {
        if self.http_data_mode() {
            SleepLimit::Sleep1
        } else {
            SleepLimit::Deep
        }
    }
}
