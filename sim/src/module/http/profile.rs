//! The profiles: `+UHTTP` resets, sets and reads them (§7.1, §7.5);
//! `+UHTTPNV` restores, loads and stores them and arms their use after a
//! deep sleep (§7.1.1, §7.1.2).

use std::net::IpAddr;
use std::time::Instant;

use super::settings::{
    quotable, valid_header_name, valid_header_value, CustomHeader, HttpProfile, HEADER_SLOTS,
    MAX_CREDENTIAL, MAX_HEADER_TEXT, MAX_SERVER_NAME, PROFILES, TIMEOUT_S,
};
use super::state::stored;
use crate::at::parse::{Form, Params};
use crate::at::reply::{CmeError, Fail};
use crate::module::{bad_param, unsupported, Module};
use crate::nvm::DefaultPdp;

/// `[model]` security profiles op 6 accepts (as `+USECPRF`'s 0-4).
const SEC_PROFILES: std::ops::RangeInclusive<i64> = 0..=4;

impl Module {
    /// `+UHTTP=<p>` resets, `+UHTTP=<p>,<op>` reads one op, `+UHTTP=<p>,<op>,...`
    /// sets it.
    pub(in crate::module) fn uhttp(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let p = profile_id(params)?;
        if params.at_most(1).is_ok() {
            self.http.profiles[usize::from(p)] = HttpProfile::default();
            return Ok(());
        }
        let op = params.required_int(1).map_err(bad_param)?;
        if params.at_most(2).is_ok() {
            let lines = read_op(&self.http.profiles[usize::from(p)], p, op)?;
            info.extend(lines);
            return Ok(());
        }
        let mut profile = self.http.profiles[usize::from(p)].clone();
        set_op(&mut profile, op, params)?;
        self.http.profiles[usize::from(p)] = profile;
        Ok(())
    }

    /// `+UHTTPNV=<p>,0` factory and no NVM after a wake, `=<p>,1` load NVM
    /// and use it after a wake, `=<p>,2` store to NVM and use it after a
    /// wake; `+UHTTPNV?` -> `+UHTTPNV: <p>,<0|1>` per profile.
    pub(in crate::module) fn uhttpnv(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                for p in 0..PROFILES {
                    let armed = self.http.armed[usize::from(p)];
                    info.push(format!("+UHTTPNV: {p},{}", u8::from(armed)));
                }
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(2).map_err(bad_param)?;
                let p = profile_id(params)?;
                let i = usize::from(p);
                match params.required_int(1).map_err(bad_param)? {
                    0 => {
                        self.http.profiles[i] = HttpProfile::default();
                        self.http.armed[i] = false;
                    }
                    1 => {
                        self.http.profiles[i] = stored(&self.nvm, p);
                        self.http.armed[i] = true;
                    }
                    2 => {
                        let profile = self.http.profiles[i].clone();
                        // A flash write only when something changed.
                        self.update_nvm(|nvm| {
                            nvm.http.insert(p, profile);
                        });
                        self.http.armed[i] = true;
                    }
                    _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                }
                Ok(())
            }
            _ => unsupported(),
        }
    }
}

/// Parameter 0: a profile id 0..=3.
pub(super) fn profile_id(params: &Params) -> Result<u8, Fail> {
    let p = params.required_int(0).map_err(bad_param)?;
    u8::try_from(p)
        .ok()
        .filter(|p| *p < PROFILES)
        .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into())
}

/// The answer lines of `+UHTTP=<p>,<op>`: `+UHTTP: <p>,<op>,<value>`.
fn read_op(profile: &HttpProfile, p: u8, op: i64) -> Result<Vec<String>, Fail> {
    let value = match op {
        0 => format!("\"{}\"", profile.server_ip),
        1 => format!("\"{}\"", profile.server_name),
        2 => format!("\"{}\"", profile.username),
        // [model] the module does not show a stored password.
        3 => return Err(CmeError::OPERATION_NOT_ALLOWED.into()),
        4 => profile.auth.to_string(),
        5 => profile.port.to_string(),
        6 => match profile.secure {
            None => "0".to_string(),
            Some(sec) => format!("1,{sec}"),
        },
        7 => profile.timeout_s.to_string(),
        9 => {
            return Ok(profile
                .headers
                .iter()
                .map(|(i, h)| format!("+UHTTP: {p},9,\"{i}:{}:{}\"", h.name, h.value))
                .collect())
        }
        10 => profile.io_mode.to_string(),
        20 => format!("{},{}", profile.pdp_cid, profile.pdp_ip_type),
        _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
    };
    Ok(vec![format!("+UHTTP: {p},{op},{value}")])
}

/// Applies one `+UHTTP=<p>,<op>,...` to `p` (kept only on success).
fn set_op(p: &mut HttpProfile, op: i64, params: &Params) -> Result<(), Fail> {
    let bad = || Fail::from(CmeError::INCORRECT_PARAMETERS);
    match op {
        0 => {
            params.at_most(3).map_err(bad_param)?;
            let ip = text(params, 2, MAX_SERVER_NAME)?;
            if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
                return Err(bad());
            }
            p.server_ip = ip;
            p.server_name.clear();
        }
        1 => {
            params.at_most(3).map_err(bad_param)?;
            p.server_name = text(params, 2, MAX_SERVER_NAME)?;
            p.server_ip.clear();
        }
        2 => {
            params.at_most(3).map_err(bad_param)?;
            p.username = text(params, 2, MAX_CREDENTIAL)?;
        }
        3 => {
            params.at_most(3).map_err(bad_param)?;
            p.password = text(params, 2, MAX_CREDENTIAL)?;
        }
        4 => {
            params.at_most(3).map_err(bad_param)?;
            p.auth = int_in(params, 2, 0..=1)? as u8;
        }
        5 => {
            params.at_most(3).map_err(bad_param)?;
            p.port = int_in(params, 2, 1..=65535)? as u16;
        }
        6 => {
            params.at_most(4).map_err(bad_param)?;
            let secure = if int_in(params, 2, 0..=1)? == 1 {
                // [model] `6,1` alone (§7.5) means security profile 0.
                let sec = match params.int(3).map_err(bad_param)? {
                    None => 0,
                    Some(sec) if SEC_PROFILES.contains(&sec) => sec,
                    Some(_) => return Err(bad()),
                };
                Some(sec as u8)
            } else {
                params.at_most(3).map_err(bad_param)?;
                None
            };
            p.set_secure(secure);
        }
        7 => {
            params.at_most(3).map_err(bad_param)?;
            let range = i64::from(*TIMEOUT_S.start())..=i64::from(*TIMEOUT_S.end());
            p.timeout_s = int_in(params, 2, range)? as u16;
        }
        9 => {
            params.at_most(3).map_err(bad_param)?;
            let spec = text(params, 2, MAX_HEADER_TEXT)?;
            let (index, header) = custom_header(&spec).ok_or_else(bad)?;
            match header {
                Some(header) => p.headers.insert(index, header),
                None => p.headers.remove(&index),
            };
        }
        10 => {
            params.at_most(3).map_err(bad_param)?;
            p.io_mode = int_in(params, 2, 0..=1)? as u8;
        }
        20 => {
            params.at_most(4).map_err(bad_param)?;
            let cid = int_in(params, 2, 0..=255)? as u8;
            // [model] the IP type may be left out: IPv4.
            let ip_type = match params.int(3).map_err(bad_param)? {
                None => 0,
                Some(t) => u8::try_from(t).map_err(bad_param)?,
            };
            if !DefaultPdp::valid(cid, ip_type) {
                return Err(bad());
            }
            p.pdp_cid = cid;
            p.pdp_ip_type = ip_type;
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// Op 9's `"<index>:<name>:<value>"` `[lib]`; `"<index>:"` clears the slot
/// `[model]`. `None` when malformed.
fn custom_header(spec: &str) -> Option<(u8, Option<CustomHeader>)> {
    let (index, rest) = spec.split_once(':')?;
    let index = index.parse::<u8>().ok().filter(|i| *i < HEADER_SLOTS)?;
    if rest.is_empty() {
        return Some((index, None));
    }
    let (name, value) = rest.split_once(':')?;
    let value = value.trim();
    if !valid_header_name(name) || !valid_header_value(value) {
        return None;
    }
    let header = CustomHeader {
        name: name.to_string(),
        value: value.to_string(),
    };
    Some((index, Some(header)))
}

/// A quoted, quotable parameter of at most `max` bytes.
fn text(params: &Params, i: usize, max: usize) -> Result<String, Fail> {
    let value = params.required_string(i).map_err(bad_param)?;
    if value.len() > max || !quotable(value) {
        return Err(CmeError::INCORRECT_PARAMETERS.into());
    }
    Ok(value.to_string())
}

pub(super) fn int_in(
    params: &Params,
    i: usize,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Fail> {
    let n = params.required_int(i).map_err(bad_param)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(CmeError::INCORRECT_PARAMETERS.into())
    }
}
