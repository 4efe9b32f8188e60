//! Packet-switched data: PDP contexts, registration, operator, DNS and ping
//! (application note chapter 2). Registration itself is a precondition the
//! note delegates to the application development guide; its commands follow
//! 3GPP TS 27.007.

use std::fmt;
use std::time::Duration;

use super::at::urc::CellLocation;
use super::at::{AtCommand, Fields, ParseError, RegStatus, Response};
use crate::modem::at::command::ok_command;

/// `<PDP_type>` of `+CGDCONT`, and of `modem.pdp_type` in the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PdpType {
    /// IPv4 only.
    #[serde(rename = "IP")]
    Ip,
    /// IPv6 only.
    #[serde(rename = "IPV6")]
    Ipv6,
    /// Dual stack: the network picks; works on both kinds of networks.
    #[default]
    #[serde(rename = "IPV4V6")]
    Ipv4v6,
}

impl PdpType {
    /// The spelling of the config and of `AT+CGDCONT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PdpType::Ip => "IP",
            PdpType::Ipv6 => "IPV6",
            PdpType::Ipv4v6 => "IPV4V6",
        }
    }

    /// Whether a context defined with `self` may read back as `reported`.
    /// After attach the module reports the type the network granted: a
    /// context defined `IPV4V6` reads `"IP"` when only IPv4 was assigned
    /// (§2.3), so that is no reason to write the context again.
    pub fn may_read_as(self, reported: &str) -> bool {
        match (self, PdpType::parse(reported)) {
            (PdpType::Ipv4v6, Some(_)) => true,
            (wanted, Some(found)) => wanted == found,
            (_, None) => false,
        }
    }

    pub fn parse(text: &str) -> Option<PdpType> {
        match text.to_ascii_uppercase().as_str() {
            "IP" => Some(PdpType::Ip),
            "IPV6" => Some(PdpType::Ipv6),
            "IPV4V6" => Some(PdpType::Ipv4v6),
            _ => None,
        }
    }
}

impl fmt::Display for PdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `AT+CGDCONT=<cid>,"<type>","<apn>"`: defines a PDP context (§2.3). The APN
/// of context 1 is the initial default EPS bearer's, so it is set with the
/// radio off.
#[derive(Debug, Clone)]
pub struct DefinePdpContext {
    pub cid: u8,
    pub pdp_type: PdpType,
    pub apn: String,
}

ok_command!(DefinePdpContext, |c| {
    format!("AT+CGDCONT={},\"{}\",\"{}\"", c.cid, c.pdp_type, c.apn)
});

/// One line of `AT+CGDCONT?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdpContext {
    pub cid: u8,
    /// As the module reports it; a type this code does not know is kept.
    pub pdp_type: String,
    pub apn: String,
    /// The address the network assigned, empty or `0.0.0.0` before attach
    /// (§2.3: "After PDN activation ... return the one assigned by the network").
    pub address: String,
}

impl PdpContext {
    /// The assigned address, if the network assigned one.
    pub fn assigned_address(&self) -> Option<&str> {
        let a = self.address.trim();
        (!a.is_empty() && a != "0.0.0.0" && a != "::" && !a.split(' ').all(|p| p == "0.0.0.0"))
            .then_some(a)
    }
}

/// `AT+CGDCONT?` -> `+CGDCONT: 1,"IP","apn_name","10.40.50.5",0,0,0,0,0` (§2.3).
#[derive(Debug, Clone, Copy)]
pub struct ReadPdpContexts;

impl AtCommand for ReadPdpContexts {
    type Response = Vec<PdpContext>;
    fn text(&self) -> String {
        "AT+CGDCONT?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CGDCONT")
    }
    fn parse(&self, r: &Response) -> Result<Vec<PdpContext>, ParseError> {
        r.lines_with("+CGDCONT")
            .map(|line| {
                let f = Fields::parse(line, "+CGDCONT")?;
                Ok(PdpContext {
                    cid: f.int_as(0)?,
                    pdp_type: f.str(1)?.to_string(),
                    apn: f.str(2)?.to_string(),
                    address: if f.len() > 3 {
                        f.str(3)?.to_string()
                    } else {
                        String::new()
                    },
                })
            })
            .collect()
    }
}

/// The answer of `AT+COPS?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// 0 automatic, 1 manual, 2 deregistered.
    pub mode: i64,
    /// The operator name, when registered.
    pub name: Option<String>,
    /// Access technology (7 = LTE).
    pub access_technology: Option<i64>,
}

/// `AT+COPS?` -> `+COPS: 0,0,"I TIM",7` (§2.3 "Check network registration").
#[derive(Debug, Clone, Copy)]
pub struct ReadOperator;

impl AtCommand for ReadOperator {
    type Response = Operator;
    fn text(&self) -> String {
        "AT+COPS?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+COPS")
    }
    /// The network may take a while to answer an operator query.
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(30))
    }
    fn parse(&self, r: &Response) -> Result<Operator, ParseError> {
        let f = Fields::parse(r.line("+COPS")?, "+COPS")?;
        Ok(Operator {
            mode: f.int(0)?,
            name: match f.get(2) {
                Some(_) => Some(f.str(2)?.to_string()).filter(|s| !s.is_empty()),
                None => None,
            },
            access_technology: f.opt_int(3)?,
        })
    }
}

/// `AT+COPS=0`: automatic operator selection; §2.3 says to issue it when the
/// read command returns `+COPS: 2`.
#[derive(Debug, Clone, Copy)]
pub struct SelectOperatorAutomatically;

ok_command!(
    SelectOperatorAutomatically,
    |_| "AT+COPS=0".into(),
    timeout = |_| Some(Duration::from_secs(180))
);

/// `AT+CEREG=<n>`: which registration URCs the module sends. The agent uses
/// 2 (status with cell location) so a field log shows where a gateway was.
#[derive(Debug, Clone, Copy)]
pub struct SetRegistrationReporting(pub u8);

ok_command!(SetRegistrationReporting, |c| format!("AT+CEREG={}", c.0));

/// The answer of `AT+CEREG?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub reporting: u8,
    pub status: RegStatus,
    pub location: CellLocation,
}

/// `AT+CEREG?` -> `+CEREG: <n>,<stat>[,"<tac>","<ci>",<AcT>]`. A URC with the
/// same prefix may arrive meanwhile; the codec tells them apart by arity.
#[derive(Debug, Clone, Copy)]
pub struct ReadRegistration;

impl AtCommand for ReadRegistration {
    type Response = Registration;
    fn text(&self) -> String {
        "AT+CEREG?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CEREG")
    }
    fn parse(&self, r: &Response) -> Result<Registration, ParseError> {
        let f = Fields::parse(r.line("+CEREG")?, "+CEREG")?;
        let text = |i: usize| -> Result<Option<String>, ParseError> {
            match f.get(i) {
                None => Ok(None),
                Some(_) => Ok(Some(f.str(i)?.to_string()).filter(|s| !s.is_empty())),
            }
        };
        Ok(Registration {
            reporting: f.int_as(0)?,
            status: RegStatus::from_code(f.int(1)?),
            location: CellLocation {
                tac: text(2)?,
                cell_id: text(3)?,
                access_technology: f.opt_int(4)?,
            },
        })
    }
}

/// `AT+CSCON=<n>`: radio connection URCs (§2.3 enables them with `1`). The
/// agent watches them to know how long the radio stays connected.
#[derive(Debug, Clone, Copy)]
pub struct SetSignallingReporting(pub bool);

ok_command!(SetSignallingReporting, |c| format!(
    "AT+CSCON={}",
    u8::from(c.0)
));

/// `AT+UDCONF=19,<cid>,<ip type>`: the default PDP context and preferred IP
/// type of the internal clients (MQTT, HTTP). Stored in NVM, effective after
/// a reboot (§2.3.1).
#[derive(Debug, Clone, Copy)]
pub struct SetDefaultPdp {
    pub cid: u8,
    /// 0 IPv4, 1 IPv6.
    pub ip_type: u8,
}

ok_command!(SetDefaultPdp, |c| format!(
    "AT+UDCONF=19,{},{}",
    c.cid, c.ip_type
));

/// `AT+UDCONF=19` -> `+UDCONF: 19,<cid>,<ip type>` (§2.3.1).
#[derive(Debug, Clone, Copy)]
pub struct ReadDefaultPdp;

impl AtCommand for ReadDefaultPdp {
    type Response = SetDefaultPdp;
    fn text(&self) -> String {
        "AT+UDCONF=19".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UDCONF")
    }
    fn parse(&self, r: &Response) -> Result<SetDefaultPdp, ParseError> {
        let line = r.line("+UDCONF")?;
        let f = Fields::parse(line, "+UDCONF")?;
        if f.int(0)? != 19 {
            return Err(ParseError::new(line, "not the answer for op 19"));
        }
        Ok(SetDefaultPdp {
            cid: f.int_as(1)?,
            ip_type: f.int_as(2)?,
        })
    }
}

/// `AT+UDNSRN=0,"<name>"`: starts a DNS lookup. On LEXI-R10 only the
/// asynchronous mode exists: `OK` comes at once and the answer later as
/// `+UUDNSRN` (§2.4.2), so this command's `OK` is not the lookup's result.
#[derive(Debug, Clone)]
pub struct StartDnsLookup {
    pub name: String,
}

ok_command!(StartDnsLookup, |c| format!("AT+UDNSRN=0,\"{}\"", c.name));

/// `AT+UPING="<host>"`: starts a ping; results arrive as `+UUPING` /
/// `+UUPINGER` URCs (§2.4.1).
#[derive(Debug, Clone)]
pub struct StartPing {
    pub host: String,
}

ok_command!(StartPing, |c| format!("AT+UPING=\"{}\"", c.host));

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(lines: &[&str]) -> Response {
        Response::from_lines(lines)
    }

    #[test]
    fn cgdcont_read_from_the_note_gives_the_assigned_address() {
        let ctx = ReadPdpContexts
            .parse(&answer(&[
                r#"+CGDCONT: 1,"IP","apn_name", "10.40.50.5",0,0,0,0,0"#,
                r#"+CGDCONT: 2,"IPV4V6","APN2","0.0.0.0",0,0,0,0"#,
            ]))
            .unwrap();
        assert_eq!(ctx.len(), 2);
        assert_eq!(ctx[0].apn, "apn_name");
        assert_eq!(ctx[0].assigned_address(), Some("10.40.50.5"));
        assert_eq!(ctx[1].assigned_address(), None);
    }

    #[test]
    fn cops_read_registered_and_not() {
        let op = ReadOperator
            .parse(&answer(&[r#"+COPS: 0,0,"I TIM",7"#]))
            .unwrap();
        assert_eq!(op.name.as_deref(), Some("I TIM"));
        assert_eq!(op.access_technology, Some(7));
        let op = ReadOperator.parse(&answer(&["+COPS: 2"])).unwrap();
        assert_eq!((op.mode, op.name), (2, None));
    }

    #[test]
    fn cereg_read_with_location() {
        let reg = ReadRegistration
            .parse(&answer(&[r#"+CEREG: 2,5,"00C3","0001A2B3",7"#]))
            .unwrap();
        assert_eq!(reg.status, RegStatus::Roaming);
        assert_eq!(reg.location.tac.as_deref(), Some("00C3"));
        let reg = ReadRegistration.parse(&answer(&["+CEREG: 0,2"])).unwrap();
        assert_eq!(reg.status, RegStatus::Searching);
    }

    #[test]
    fn a_dual_stack_context_may_read_back_as_the_type_the_network_granted() {
        assert!(PdpType::Ipv4v6.may_read_as("IP"));
        assert!(PdpType::Ipv4v6.may_read_as("IPV4V6"));
        assert!(PdpType::Ip.may_read_as("IP"));
        assert!(!PdpType::Ip.may_read_as("IPV6"));
        assert!(!PdpType::Ipv6.may_read_as("IPV4V6"));
        assert!(!PdpType::Ipv4v6.may_read_as("PPP"));
    }

    #[test]
    fn apn_definition_is_quoted_as_the_note_shows() {
        let cmd = DefinePdpContext {
            cid: 1,
            pdp_type: PdpType::Ipv4v6,
            apn: "apn_name".into(),
        };
        assert_eq!(cmd.text(), r#"AT+CGDCONT=1,"IPV4V6","apn_name""#);
    }
}
