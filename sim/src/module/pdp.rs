//! Packet data settings kept in NVM: `+CGDCONT` (contexts), `+UMNOPROF`
//! (MNO profile) and `+UDCONF=19` (default PDP context and IP type).

use std::time::Instant;

use super::{bad_param, unsupported, Module};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::nvm::{DefaultPdp, PdpContext, PdpType, CIDS, MNO_PROFILES};

/// The `+UDCONF` operation this module implements.
const UDCONF_DEFAULT_PDP: i64 = 19;

impl Module {
    /// `+UMNOPROF=<n>` (radio off only, effective after reboot, §2.3),
    /// `+UMNOPROF?` (the profile in effect).
    pub(super) fn umnoprof(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                info.push(format!("+UMNOPROF: {}", self.in_effect.mno_profile));
                Ok(())
            }
            Form::Set(params) => {
                params.at_most(1).map_err(bad_param)?;
                let profile = params.required_int(0).map_err(bad_param)?;
                let profile = u16::try_from(profile)
                    .ok()
                    .filter(|p| MNO_PROFILES.contains(p))
                    .ok_or(CmeError::INCORRECT_PARAMETERS)?;
                // §2.3: "the radio functionality must be turned off".
                if self.radio.cfun == 1 {
                    return Err(CmeError::OPERATION_NOT_ALLOWED.into());
                }
                self.update_nvm(|nvm| nvm.mno_profile = profile);
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+CGDCONT=<cid>,"<type>","<apn>"` defines, `+CGDCONT=<cid>` undefines,
    /// `+CGDCONT?` lists (§2.3 format).
    pub(super) fn cgdcont(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match form {
            Form::Read => {
                let lines: Vec<String> = self
                    .nvm
                    .contexts
                    .iter()
                    .map(|(cid, ctx)| self.cgdcont_line(*cid, ctx))
                    .collect();
                info.extend(lines);
                Ok(())
            }
            Form::Set(params) => {
                let cid = params.required_int(0).map_err(bad_param)?;
                let cid = u8::try_from(cid)
                    .ok()
                    .filter(|c| CIDS.contains(c))
                    .ok_or(CmeError::INCORRECT_PARAMETERS)?;
                let definition = if params.at_most(1).is_ok() {
                    None
                } else {
                    let pdp_type = params.required_string(1).map_err(bad_param)?;
                    let pdp_type =
                        PdpType::parse(pdp_type).ok_or(CmeError::INCORRECT_PARAMETERS)?;
                    let apn = params.string(2).map_err(bad_param)?.unwrap_or("");
                    if !apn.bytes().all(|b| (0x20..0x7F).contains(&b)) {
                        return Err(CmeError::INCORRECT_PARAMETERS.into());
                    }
                    // [model] further parameters (address, compression, ...)
                    // are accepted and ignored.
                    Some(PdpContext {
                        pdp_type,
                        apn: apn.to_string(),
                    })
                };
                // Context 1 is the default EPS bearer: it cannot change while
                // it is up (the note's §2.3 sequence turns the radio off first).
                if cid == 1 && self.radio.stat.is_registered() {
                    return Err(CmeError::OPERATION_NOT_ALLOWED.into());
                }
                self.update_nvm(|nvm| match definition {
                    Some(ctx) => {
                        nvm.contexts.insert(cid, ctx);
                    }
                    None => {
                        nvm.contexts.remove(&cid);
                    }
                });
                Ok(())
            }
            _ => unsupported(),
        }
    }

    /// `+CGDCONT: 1,"IP","apn_name","10.40.50.5",0,0,0,0,0` (§2.3). Before
    /// attach the address is `0.0.0.0`. `[model]` only cid 1 (the default EPS
    /// bearer) is activated, and the network assigns only IPv4: an `IPV4V6`
    /// context then reads as `"IP"` (as in §2.3), an `IPV6` one gets nothing.
    fn cgdcont_line(&self, cid: u8, ctx: &PdpContext) -> String {
        let up = cid == 1 && self.radio.stat.is_registered() && ctx.pdp_type != PdpType::Ipv6;
        let (pdp_type, addr) = if up {
            ("IP", self.cfg.assigned_address.to_string())
        } else {
            (ctx.pdp_type.as_str(), "0.0.0.0".to_string())
        };
        format!(
            "+CGDCONT: {cid},\"{pdp_type}\",\"{}\",\"{addr}\",0,0,0,0,0",
            ctx.apn
        )
    }

    /// `+UDCONF=19,<cid>,<ip type>` stores (effective after reboot, §2.3.1);
    /// `+UDCONF=19` reads the stored values. Other operations: CME 4.
    pub(super) fn udconf(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let op = params.required_int(0).map_err(bad_param)?;
        if op != UDCONF_DEFAULT_PDP {
            return Err(CmeError::OPERATION_NOT_SUPPORTED.into());
        }
        if params.at_most(1).is_ok() {
            let stored = self.nvm.default_pdp;
            info.push(format!("+UDCONF: 19,{},{}", stored.cid, stored.ip_type));
            return Ok(());
        }
        params.at_most(3).map_err(bad_param)?;
        let cid = params.required_int(1).map_err(bad_param)?;
        let ip_type = params.required_int(2).map_err(bad_param)?;
        let (Ok(cid), Ok(ip_type)) = (u8::try_from(cid), u8::try_from(ip_type)) else {
            return Err(CmeError::INCORRECT_PARAMETERS.into());
        };
        if !DefaultPdp::valid(cid, ip_type) {
            return Err(CmeError::INCORRECT_PARAMETERS.into());
        }
        self.update_nvm(|nvm| nvm.default_pdp = DefaultPdp { cid, ip_type });
        Ok(())
    }
}
