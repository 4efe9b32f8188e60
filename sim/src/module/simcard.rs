//! The SIM: `+CPIN`.
//!
//! `[model]` no retry counter, no PUK: a wrong PIN answers CME 16 as often as
//! the host likes. A locked SIM keeps the module from registering.

use std::time::Instant;

use super::{bad_param, unsupported, Module};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};

impl Module {
    /// `+CPIN?` -> `+CPIN: READY` / `+CPIN: SIM PIN`; `+CPIN="<pin>"`.
    pub(super) fn cpin(
        &mut self,
        form: &Form,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                let state = if self.session.sim_ready {
                    "READY"
                } else {
                    "SIM PIN"
                };
                info.push(format!("+CPIN: {state}"));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let pin = params.required_string(0).map_err(bad_param)?;
                if self.session.sim_ready {
                    // [model] nothing to unlock.
                    return Err(CmeError::OPERATION_NOT_ALLOWED.into());
                }
                if self.cfg.sim_pin.as_deref() != Some(pin) {
                    return Err(CmeError::INCORRECT_PASSWORD.into());
                }
                self.session.sim_ready = true;
                self.start_registration(now);
                Ok(())
            }
            _ => unsupported(),
        }
    }
}
