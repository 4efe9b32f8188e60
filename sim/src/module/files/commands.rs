//! Opening, closing, seeking, deleting and listing files: `+FOPEN`,
//! `+FCLOSE`, `+FSEEK`, `+FDELETE`, `+ULSTFILE` (§7.2; forms in `mod.rs`).

use std::time::Instant;

use super::handles::{Open, MEMORY_FULL, NOT_FOUND};
use super::FileStore;
use crate::at::parse::{Form, Param, Params};
use crate::at::reply::{CmeError, Fail};
use crate::module::{bad_param, unsupported, Module};

impl Module {
    /// `+FOPEN="<name>"[,0]` -> `+FOPEN: <h>`; `+FOPEN?` lists open files.
    pub(in crate::module) fn fopen(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                for (handle, open) in &self.files.handles {
                    info.push(format!("+FOPEN: \"{}\",{handle}", open.name));
                }
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(2).map_err(bad_param)?;
                let name = file_name(params, 0)?;
                if !matches!(params.int(1).map_err(bad_param)?, None | Some(0)) {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                if self.files.handle_of(&name).is_some() {
                    return Err(CmeError::OPERATION_NOT_ALLOWED.into());
                }
                let handle = self
                    .files
                    .free_handle()
                    .ok_or(CmeError::OPERATION_NOT_ALLOWED)?;
                if !self.nvm.files.contains(&name) {
                    let mut files = self.nvm.files.clone();
                    files.create(&name).map_err(|_| MEMORY_FULL)?;
                    self.update_nvm(|nvm| nvm.files = files);
                }
                self.files.handles.insert(handle, Open { name, pos: 0 });
                info.push(format!("+FOPEN: {handle}"));
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+FCLOSE=<h>`.
    pub(in crate::module) fn fclose(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(1).map_err(bad_param)?;
        let (handle, _) = self.files.get(params.required_int(0).map_err(bad_param)?)?;
        self.files.handles.remove(&handle);
        Ok(())
    }

    /// `+FSEEK=<h>,<offset>`.
    pub(in crate::module) fn fseek(
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
        let size = self.nvm.files.get(&open.name).map_or(0, <[u8]>::len);
        let offset = params.required_int(1).map_err(bad_param)?;
        let offset = usize::try_from(offset)
            .ok()
            .filter(|o| *o <= size)
            .ok_or(CmeError::INCORRECT_PARAMETERS)?;
        if let Some(open) = self.files.get_mut(handle) {
            open.pos = offset;
        }
        Ok(())
    }

    /// `+FDELETE=<h>` (the open file, handle closed) or `+FDELETE="<name>"`.
    pub(in crate::module) fn fdelete(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(1).map_err(bad_param)?;
        let name = match params.get(0) {
            Param::Quoted(_) => file_name(params, 0)?,
            _ => {
                let (_, open) = self.files.get(params.required_int(0).map_err(bad_param)?)?;
                open.name.clone()
            }
        };
        if !self.nvm.files.contains(&name) {
            return Err(NOT_FOUND.into());
        }
        self.files.forget(&name);
        self.update_nvm(|nvm| {
            nvm.files.remove(&name);
        });
        Ok(())
    }

    /// `+ULSTFILE[=0]` names, `=1` free bytes, `=2,"<name>"` a file's size.
    pub(in crate::module) fn ulstfile(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let op = match form {
            Form::Action => 0,
            Form::Set(params) => params.required_int(0).map_err(bad_param)?,
            _ => return unsupported(),
        };
        let params = match form {
            Form::Set(params) => params.clone(),
            _ => Params::default(),
        };
        match op {
            0 => {
                params.at_most(1).map_err(bad_param)?;
                let names: Vec<String> =
                    self.nvm.files.names().map(|n| format!("\"{n}\"")).collect();
                if !names.is_empty() {
                    info.push(format!("+ULSTFILE: {}", names.join(",")));
                }
            }
            1 => {
                params.at_most(1).map_err(bad_param)?;
                info.push(format!("+ULSTFILE: {}", self.nvm.files.free()));
            }
            2 => {
                params.at_most(2).map_err(bad_param)?;
                let name = file_name(&params, 1)?;
                let size = self.nvm.files.get(&name).ok_or(NOT_FOUND)?.len();
                info.push(format!("+ULSTFILE: {size}"));
            }
            _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        }
        Ok(())
    }
}

/// Parameter `i`: a file name the file system accepts.
pub(in crate::module) fn file_name(params: &Params, i: usize) -> Result<String, Fail> {
    let name = params.required_string(i).map_err(bad_param)?;
    if !FileStore::valid_name(name) {
        return Err(CmeError::INCORRECT_PARAMETERS.into());
    }
    Ok(name.to_string())
}
