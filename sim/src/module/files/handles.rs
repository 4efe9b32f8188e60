//! Open files (volatile): which handle names which file and where it is,
//! and a write collecting its bytes after `CONNECT`.

use std::collections::BTreeMap;

use crate::at::reply::{CmeError, Fail};

/// `[model]` files open at once; handles are 1..=MAX_OPEN.
pub(super) const MAX_OPEN: u8 = 4;
/// CME 22, "not found" (27.007).
pub(super) const NOT_FOUND: CmeError = CmeError(22);
/// CME 20, "memory full" (27.007).
pub(super) const MEMORY_FULL: CmeError = CmeError(20);

#[derive(Debug, Clone)]
pub(super) struct Open {
    pub(super) name: String,
    pub(super) pos: usize,
}

/// A `+FWRITE`/`+FWRITEHEX` reading its data after `CONNECT`.
#[derive(Debug, Clone)]
pub(in crate::module) struct RawWrite {
    pub(super) handle: u8,
    /// Bytes (or hex characters) still expected in total.
    pub(super) want: usize,
    pub(super) hex: bool,
    pub(super) buf: Vec<u8>,
}

/// The open files; a boot or deep sleep resets them.
#[derive(Debug, Default)]
pub(in crate::module) struct OpenFiles {
    pub(super) handles: BTreeMap<u8, Open>,
    pub(in crate::module) raw: Option<RawWrite>,
}

impl OpenFiles {
    pub(super) fn get(&self, handle: i64) -> Result<(u8, &Open), Fail> {
        u8::try_from(handle)
            .ok()
            .and_then(|h| self.handles.get(&h).map(|open| (h, open)))
            .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
    }

    pub(super) fn get_mut(&mut self, handle: u8) -> Option<&mut Open> {
        self.handles.get_mut(&handle)
    }

    pub(super) fn handle_of(&self, name: &str) -> Option<u8> {
        self.handles
            .iter()
            .find(|(_, open)| open.name == name)
            .map(|(h, _)| *h)
    }

    /// The lowest free handle, if fewer than [`MAX_OPEN`] are open.
    pub(super) fn free_handle(&self) -> Option<u8> {
        (1..=MAX_OPEN).find(|h| !self.handles.contains_key(h))
    }

    /// Closes every handle on `name` (it was deleted).
    pub(in crate::module) fn forget(&mut self, name: &str) {
        self.handles.retain(|_, open| open.name != name);
    }
}
