//! Reading and writing file contents: `+FREAD` (`CONNECT <k>` and the
//! bytes), `+FWRITE` and `+FWRITEHEX` (`CONNECT`, then the host's bytes in
//! data mode until the announced count is in). Forms in `mod.rs`.

use std::time::Instant;

use super::handles::{RawWrite, MEMORY_FULL};
use crate::at::parse::Form;
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::module::{bad_param, decode_hex, unsupported, Effect, Module};

/// `[model]` the most bytes one write takes.
const MAX_WRITE: usize = 64 * 1024;

impl Module {
    /// `+FREAD=<h>[,<n>]` -> `CONNECT <k>`, k raw bytes, then `OK`.
    pub(in crate::module) fn fread(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?;
        let (handle, open) = self.files.get(params.required_int(0).map_err(bad_param)?)?;
        let limit = match params.int(1).map_err(bad_param)? {
            None => usize::MAX,
            Some(n) => usize::try_from(n).map_err(bad_param)?,
        };
        let data = self.nvm.files.get(&open.name).unwrap_or_default();
        let from = open.pos.min(data.len());
        let to = from + (data.len() - from).min(limit);
        let mut out = format!("\r\nCONNECT {}\r\n", to - from).into_bytes();
        out.extend_from_slice(&data[from..to]);
        self.out.push(Effect::Send(out));
        if let Some(open) = self.files.get_mut(handle) {
            open.pos = to;
        }
        Ok(())
    }

    /// `+FWRITE=<h>,<n>`: n raw bytes follow `CONNECT`.
    pub(in crate::module) fn fwrite(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        self.begin_write(form, false)
    }

    /// `+FWRITEHEX=<h>,<n>`: n hex characters follow `CONNECT` `[lib]`.
    pub(in crate::module) fn fwritehex(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        self.begin_write(form, true)
    }

    fn begin_write(&mut self, form: &Form, hex: bool) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(2).map_err(bad_param)?;
        let (handle, _) = self.files.get(params.required_int(0).map_err(bad_param)?)?;
        let n = params.required_int(1).map_err(bad_param)?;
        let max = if hex { 2 * MAX_WRITE } else { MAX_WRITE };
        let want = usize::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n) && (!hex || n % 2 == 0))
            .ok_or(CmeError::INCORRECT_PARAMETERS)?;
        self.files.raw = Some(RawWrite {
            handle,
            want,
            hex,
            buf: Vec::with_capacity(want),
        });
        Ok(())
    }

    /// True while a write reads its data after `CONNECT`.
    pub(in crate::module) fn file_raw_input(&self) -> bool {
        self.files.raw.is_some()
    }

    /// Called by `run_line` after a command: a write that was accepted
    /// answers `CONNECT` instead of its final result.
    pub(in crate::module) fn file_prompt(&mut self, ok: bool) -> bool {
        if !self.file_raw_input() {
            return false;
        }
        if ok {
            self.out.push(Effect::Send(frame("CONNECT")));
            return true;
        }
        self.files.raw = None;
        false
    }

    /// One byte of a write's data; with the last one the write happens and
    /// the answer goes out.
    pub(in crate::module) fn file_raw_byte(&mut self, byte: u8) {
        let Some(raw) = self.files.raw.as_mut() else {
            return;
        };
        raw.buf.push(byte);
        if raw.buf.len() < raw.want {
            return;
        }
        let Some(raw) = self.files.raw.take() else {
            return;
        };
        let result = self.finish_write(raw);
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    fn finish_write(&mut self, raw: RawWrite) -> Result<(), Fail> {
        let data = if raw.hex {
            let text = String::from_utf8_lossy(&raw.buf);
            decode_hex(&text).ok_or(CmeError::INCORRECT_PARAMETERS)?
        } else {
            raw.buf
        };
        // The handle cannot close while the data comes, but a boot could
        // have reset the table: check again.
        let Some(open) = self.files.handles.get(&raw.handle).cloned() else {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        };
        let mut files = self.nvm.files.clone();
        let size = files
            .write_at(&open.name, open.pos, &data)
            .map_err(|_| MEMORY_FULL)?;
        self.update_nvm(|nvm| nvm.files = files);
        if let Some(open) = self.files.get_mut(raw.handle) {
            open.pos = open.pos.min(size) + data.len();
        }
        self.out.push(Effect::Send(frame(&format!(
            "+FWRITE: {},{size}",
            data.len()
        ))));
        Ok(())
    }
}
