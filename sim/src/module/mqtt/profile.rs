//! The MQTT profile: `+UMQTT` sets and reads its ops (§6.1), `+UMQTTNV`
//! resets it, loads it from NVM or stores it there (§6.2).

use std::net::IpAddr;
use std::time::Instant;

use super::params::{decode_hex, flag, int_in, port, printable, quoted};
use crate::at::parse::{Form, Params};
use crate::at::reply::{CmeError, Fail};
use crate::module::{bad_param, unsupported, Module};
use crate::nvm::{DefaultPdp, MqttProfile};

/// `[model]` security profiles op 11 accepts (as `+USECPRF`).
const SEC_PROFILES: std::ops::RangeInclusive<i64> = 0..=4;

impl Module {
    /// `+UMQTT=<op>,...` sets, `+UMQTT=<op>` reads one op, `+UMQTT?` reads all.
    pub(in crate::module) fn umqtt(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                for op in [0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 20] {
                    if let Some(line) = self.umqtt_line(op) {
                        info.push(line);
                    }
                }
                Ok(())
            }
            Form::Set(params) => {
                let op = params.required_int(0).map_err(bad_param)?;
                if params.at_most(1).is_ok() {
                    let line = self.umqtt_line(op).ok_or(CmeError::INCORRECT_PARAMETERS)?;
                    info.push(line);
                    return Ok(());
                }
                let mut profile = self.mqtt.profile.clone();
                set_op(&mut profile, op, params)?;
                self.mqtt.profile = profile;
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// One line of the `+UMQTT?` answer; `None` for an op that does not exist.
    fn umqtt_line(&self, op: i64) -> Option<String> {
        let p = &self.mqtt.profile;
        Some(match op {
            0 => format!("+UMQTT: 0,\"{}\"", self.client_id()),
            1 => format!("+UMQTT: 1,{}", p.local_port),
            2 => format!("+UMQTT: 2,\"{}\",{}", p.server_ip, p.port),
            3 => format!("+UMQTT: 3,\"{}\",{}", p.server_name, p.port),
            4 => format!("+UMQTT: 4,\"{}\"", p.username),
            6 => format!("+UMQTT: 6,{}", p.will_qos),
            7 => format!("+UMQTT: 7,{}", u8::from(p.will_retain)),
            8 => format!("+UMQTT: 8,\"{}\"", p.will_topic),
            9 => format!("+UMQTT: 9,{},\"{}\"", u8::from(p.will_hex), p.will_message),
            10 => format!("+UMQTT: 10,{}", p.keep_alive),
            11 => match p.secure {
                None => "+UMQTT: 11,0".to_string(),
                Some(profile) => format!("+UMQTT: 11,1,{profile}"),
            },
            12 => format!("+UMQTT: 12,{}", u8::from(p.clean_session)),
            20 => format!("+UMQTT: 20,{},{}", p.pdp_cid, p.pdp_ip_type),
            _ => return None,
        })
    }

    pub(super) fn client_id(&self) -> String {
        self.mqtt
            .profile
            .client_id
            .clone()
            .unwrap_or_else(|| self.cfg.imei.clone())
    }

    /// `+UMQTTNV=0` factory profile, `=1` load from NVM, `=2` store to NVM.
    pub(in crate::module) fn umqttnv(
        &mut self,
        form: &Form,
        _: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(1).map_err(bad_param)?;
        match int_in(params, 0, 0..=2)? {
            0 => self.mqtt.profile = MqttProfile::default(),
            // [model] nothing stored yet: the factory profile.
            1 => self.mqtt.profile = self.nvm.mqtt.clone().unwrap_or_default(),
            _ => {
                let profile = self.mqtt.profile.clone();
                self.update_nvm(|nvm| nvm.mqtt = Some(profile));
            }
        }
        Ok(())
    }
}

/// Applies one `+UMQTT` set to `p` (the caller keeps it only on success).
fn set_op(p: &mut MqttProfile, op: i64, params: &Params) -> Result<(), Fail> {
    let bad = || Fail::from(CmeError::INCORRECT_PARAMETERS);
    match op {
        0 => {
            params.at_most(2).map_err(bad_param)?;
            p.client_id = Some(quoted(params, 1)?);
        }
        1 => {
            params.at_most(2).map_err(bad_param)?;
            p.local_port = int_in(params, 1, 0..=65535)? as u16;
        }
        2 => {
            params.at_most(3).map_err(bad_param)?;
            let ip = quoted(params, 1)?;
            if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
                return Err(bad());
            }
            p.server_ip = ip;
            p.server_name.clear();
            if let Some(port) = port(params, 2)? {
                p.port = port;
            }
        }
        3 => {
            params.at_most(3).map_err(bad_param)?;
            p.server_name = quoted(params, 1)?;
            p.server_ip.clear();
            if let Some(port) = port(params, 2)? {
                p.port = port;
            }
        }
        4 => {
            params.at_most(3).map_err(bad_param)?;
            p.username = quoted(params, 1)?;
            p.password = match params.string(2).map_err(bad_param)? {
                Some(pass) if printable(pass) => pass.to_string(),
                Some(_) => return Err(bad()),
                None => String::new(),
            };
        }
        6 => {
            params.at_most(2).map_err(bad_param)?;
            p.will_qos = int_in(params, 1, 0..=2)? as u8;
        }
        7 => {
            params.at_most(2).map_err(bad_param)?;
            p.will_retain = flag(params, 1)?;
        }
        8 => {
            params.at_most(2).map_err(bad_param)?;
            p.will_topic = quoted(params, 1)?;
        }
        9 => {
            // `9,"<msg>"[,<hex mode>]` (§6.1.2 sets it without the mode).
            params.at_most(3).map_err(bad_param)?;
            let message = quoted(params, 1)?;
            let hex = match params.int(2).map_err(bad_param)? {
                None | Some(0) => false,
                Some(1) => true,
                Some(_) => return Err(bad()),
            };
            if hex && decode_hex(&message).is_none() {
                return Err(bad());
            }
            p.will_message = message;
            p.will_hex = hex;
        }
        10 => {
            params.at_most(2).map_err(bad_param)?;
            p.keep_alive = int_in(params, 1, 0..=65535)? as u16;
        }
        11 => {
            params.at_most(3).map_err(bad_param)?;
            p.secure = if flag(params, 1)? {
                // [model] the profile is required with 11,1.
                Some(int_in(params, 2, SEC_PROFILES)? as u8)
            } else {
                params.at_most(2).map_err(bad_param)?;
                None
            };
        }
        12 => {
            params.at_most(2).map_err(bad_param)?;
            p.clean_session = flag(params, 1)?;
        }
        20 => {
            params.at_most(3).map_err(bad_param)?;
            let cid = int_in(params, 1, 0..=255)? as u8;
            let ip_type = int_in(params, 2, 0..=255)? as u8;
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
