//! General commands: identification (`ATI`, `+CGMI`, `+CGMM`, `+CGMR`,
//! `+CGSN`), echo (`ATE`) and error reporting (`+CMEE`).

use std::time::Instant;

use super::{bad_param, unsupported, Module};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, CmeeMode, Fail};

/// `[model]` the product name the module reports.
pub const MODEL: &str = "LEXI-R10401D";
/// `[model]` the firmware revision the module reports.
pub const REVISION: &str = "01.24";
/// `[lib]` ubxlib reads the firmware version from `ATI9`, e.g. `01.24,A01.00`.
pub const ATI9: &str = "01.24,A01.00";

impl Module {
    /// `ATE`/`ATE1` echo on, `ATE0` off (volatile).
    pub(super) fn ate(&mut self, value: Option<&str>) -> Result<(), Fail> {
        self.session.echo = match value {
            None | Some("1") => true,
            Some("0") => false,
            Some(_) => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        Ok(())
    }

    /// `ATI` `[model]` identification lines; `ATI9` `[lib]` firmware version.
    pub(super) fn ati(&mut self, value: Option<&str>, info: &mut Vec<String>) -> Result<(), Fail> {
        match value {
            None | Some("0") => {
                info.push("Manufacturer: u-blox".to_string());
                info.push(format!("Model: {MODEL}"));
                info.push(format!("Revision: {REVISION}"));
                info.push("SVN: 00".to_string());
                info.push(format!("IMEI: {}", self.cfg.imei));
            }
            Some("9") => info.push(ATI9.to_string()),
            Some(_) => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        }
        Ok(())
    }

    pub(super) fn cgmi(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        identification(form, info, "u-blox")
    }

    pub(super) fn cgmm(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        identification(form, info, MODEL)
    }

    pub(super) fn cgmr(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        identification(form, info, REVISION)
    }

    /// `[lib]` the IMEI alone, no `+CGSN:` prefix.
    pub(super) fn cgsn(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let imei = self.cfg.imei.clone();
        identification(form, info, &imei)
    }

    /// `+CMEE=<0|1|2>` (volatile), `+CMEE?` -> `+CMEE: <n>`.
    pub(super) fn cmee(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let n = params.required_int(0).map_err(bad_param)?;
                self.session.cmee =
                    CmeeMode::from_number(n).ok_or(CmeError::INCORRECT_PARAMETERS)?;
                Ok(())
            }
            Form::Read => {
                info.push(format!("+CMEE: {}", self.session.cmee.number()));
                Ok(())
            }
            _ => unsupported(),
        }
    }
}

/// An action command whose answer is one fixed line.
fn identification(form: &Form, info: &mut Vec<String>, text: &str) -> Result<(), Fail> {
    match form {
        Form::Action => {
            info.push(text.to_string());
            Ok(())
        }
        _ => unsupported(),
    }
}
