//! Sockets (§5): `+USOCR` ... `+USOCL`, always-on (AoN) rules (§5.10).
//! Issue 6; the seam the sleep machine uses is fixed here first.

use super::sleep::SleepLimit;
use super::Module;

impl Module {
    /// How deep the open sockets let the module sleep (§5.10): any non-AoN
    /// socket keeps it out of deep sleep; an AoN socket with data waiting
    /// allows Sleep-1 only.
    #[allow(dead_code)] // the sleep machine lands with issue 6
    pub(super) fn socket_sleep_limit(&self) -> SleepLimit {
        SleepLimit::Deep
    }
}
