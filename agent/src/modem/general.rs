//! General commands: identification, echo, error format, functionality, SIM,
//! MNO profile. One struct per command; each doc names where the application
//! note (UBXDOC-686885345-2004) uses it, or the standard it follows where the
//! note only refers to the AT commands manual.

use std::time::Duration;

use super::at::{AtCommand, Fields, ParseError, Response};
use crate::modem::at::command::ok_command;

/// `AT`: is anybody there? The sacrificial command of wake-up and resync.
#[derive(Debug, Clone, Copy)]
pub struct Attention;

ok_command!(Attention, |_| "AT".into());

/// `ATE0` / `ATE1`: command echo. On after every boot; the agent turns it off
/// so answers are shorter (less UART time awake) and unambiguous.
#[derive(Debug, Clone, Copy)]
pub struct SetEcho(pub bool);

ok_command!(SetEcho, |c| format!("ATE{}", u8::from(c.0)));

/// How the module reports errors: `AT+CMEE=<n>` (§6.1.1, §7.1 start with
/// `AT+CMEE=2`, verbose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// Plain `ERROR`.
    Plain = 0,
    /// `+CME ERROR: <n>`.
    Numeric = 1,
    /// `+CME ERROR: <text>`.
    Verbose = 2,
}

/// `AT+CMEE=<n>`.
#[derive(Debug, Clone, Copy)]
pub struct SetErrorFormat(pub ErrorFormat);

ok_command!(SetErrorFormat, |c| format!("AT+CMEE={}", c.0 as u8));

/// `AT+CGMI`: manufacturer, one bare line (`u-blox`).
#[derive(Debug, Clone, Copy)]
pub struct ReadManufacturer;

impl AtCommand for ReadManufacturer {
    type Response = String;
    fn text(&self) -> String {
        "AT+CGMI".into()
    }
    fn parse(&self, r: &Response) -> Result<String, ParseError> {
        r.single_text()
    }
}

/// `AT+CGMM`: model, one bare line (`LEXI-R10401D`).
#[derive(Debug, Clone, Copy)]
pub struct ReadModel;

impl AtCommand for ReadModel {
    type Response = String;
    fn text(&self) -> String {
        "AT+CGMM".into()
    }
    fn parse(&self, r: &Response) -> Result<String, ParseError> {
        r.single_text()
    }
}

/// `AT+CGMR`: firmware revision, one bare line.
#[derive(Debug, Clone, Copy)]
pub struct ReadFirmware;

impl AtCommand for ReadFirmware {
    type Response = String;
    fn text(&self) -> String {
        "AT+CGMR".into()
    }
    fn parse(&self, r: &Response) -> Result<String, ParseError> {
        r.single_text()
    }
}

/// `AT+CGSN`: the IMEI, 15 digits on a bare line. It is the module's default
/// MQTT client id (§6.1.1), so a wrong read would be costly: it is checked.
#[derive(Debug, Clone, Copy)]
pub struct ReadImei;

impl AtCommand for ReadImei {
    type Response = String;
    fn text(&self) -> String {
        "AT+CGSN".into()
    }
    fn parse(&self, r: &Response) -> Result<String, ParseError> {
        let imei = r.single_text()?;
        if imei.len() == 15 && imei.bytes().all(|b| b.is_ascii_digit()) {
            Ok(imei)
        } else {
            Err(ParseError {
                line: imei,
                reason: "an IMEI has 15 digits".into(),
            })
        }
    }
}

/// Module functionality, `<fun>` of `+CFUN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Functionality {
    /// `0`: minimum functionality, radio off: required while the MNO profile
    /// or the APN changes (§2.3).
    Minimum,
    /// `1`: full functionality, radio on.
    Full,
    /// `4`: airplane mode, radio off (§6.7 uses it to drop the network).
    Airplane,
    /// `16`: reboot without resetting the SIM (§2.3, §2.3.1).
    Reboot,
    Other(i64),
}

impl Functionality {
    fn code(self) -> i64 {
        match self {
            Functionality::Minimum => 0,
            Functionality::Full => 1,
            Functionality::Airplane => 4,
            Functionality::Reboot => 16,
            Functionality::Other(n) => n,
        }
    }

    fn from_code(code: i64) -> Self {
        match code {
            0 => Functionality::Minimum,
            1 => Functionality::Full,
            4 => Functionality::Airplane,
            16 => Functionality::Reboot,
            n => Functionality::Other(n),
        }
    }
}

/// `AT+CFUN=<fun>` (§2.3 "Network settings verification").
#[derive(Debug, Clone, Copy)]
pub struct SetFunctionality(pub Functionality);

ok_command!(
    SetFunctionality,
    |c| format!("AT+CFUN={}", c.0.code()),
    timeout = |_| Some(Duration::from_secs(30))
);

/// `AT+CFUN?` -> `+CFUN: <fun>`.
#[derive(Debug, Clone, Copy)]
pub struct ReadFunctionality;

impl AtCommand for ReadFunctionality {
    type Response = Functionality;
    fn text(&self) -> String {
        "AT+CFUN?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CFUN")
    }
    fn parse(&self, r: &Response) -> Result<Functionality, ParseError> {
        let f = Fields::parse(r.line("+CFUN")?, "+CFUN")?;
        Ok(Functionality::from_code(f.int(0)?))
    }
}

/// `AT+UMNOPROF=<n>`: the operator profile (bands, MTU, ...). Stored in NVM;
/// only with the radio off and effective after a reboot (§2.3).
#[derive(Debug, Clone, Copy)]
pub struct SetMnoProfile(pub u8);

ok_command!(SetMnoProfile, |c| format!("AT+UMNOPROF={}", c.0));

/// `AT+UMNOPROF?` -> `+UMNOPROF: <n>` (§2.3).
#[derive(Debug, Clone, Copy)]
pub struct ReadMnoProfile;

impl AtCommand for ReadMnoProfile {
    type Response = u8;
    fn text(&self) -> String {
        "AT+UMNOPROF?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UMNOPROF")
    }
    fn parse(&self, r: &Response) -> Result<u8, ParseError> {
        Fields::parse(r.line("+UMNOPROF")?, "+UMNOPROF")?.int_as(0)
    }
}

/// The SIM's lock state, `<code>` of `+CPIN` (3GPP TS 27.007 §8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinStatus {
    Ready,
    /// `SIM PIN`: the PIN must be entered before the module can register.
    PinRequired,
    /// `SIM PUK`: too many wrong PINs; needs a person.
    PukRequired,
    Other(String),
}

/// `AT+CPIN?`.
#[derive(Debug, Clone, Copy)]
pub struct ReadPinStatus;

impl AtCommand for ReadPinStatus {
    type Response = PinStatus;
    fn text(&self) -> String {
        "AT+CPIN?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+CPIN")
    }
    fn parse(&self, r: &Response) -> Result<PinStatus, ParseError> {
        let status = Fields::parse(r.line("+CPIN")?, "+CPIN")?.str(0)?;
        Ok(match status {
            "READY" => PinStatus::Ready,
            "SIM PIN" => PinStatus::PinRequired,
            "SIM PUK" => PinStatus::PukRequired,
            other => PinStatus::Other(other.to_string()),
        })
    }
}

/// `AT+CPIN="<pin>"`. The PIN never appears in logs or errors.
#[derive(Clone)]
pub struct EnterPin(pub String);

impl std::fmt::Debug for EnterPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnterPin(***)")
    }
}

ok_command!(
    EnterPin,
    |c| format!("AT+CPIN=\"{}\"", c.0),
    label = |_| "AT+CPIN=\"***\"".into()
);

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(lines: &[&str]) -> Response {
        Response::from_lines(lines)
    }

    #[test]
    fn imei_must_have_fifteen_digits() {
        assert_eq!(
            ReadImei.parse(&answer(&["357862090033897"])).unwrap(),
            "357862090033897"
        );
        assert!(ReadImei.parse(&answer(&["35786209003389"])).is_err());
        assert!(ReadImei.parse(&answer(&["+CEREG: 1"])).is_err());
        assert!(ReadImei.parse(&answer(&[])).is_err());
    }

    #[test]
    fn pin_is_masked_in_the_label() {
        let cmd = EnterPin("1234".into());
        assert_eq!(cmd.text(), "AT+CPIN=\"1234\"");
        assert!(!cmd.label().contains("1234"));
        assert!(!format!("{cmd:?}").contains("1234"));
    }

    #[test]
    fn cfun_and_profile_reads_are_typed() {
        assert_eq!(
            ReadFunctionality.parse(&answer(&["+CFUN: 4"])).unwrap(),
            Functionality::Airplane
        );
        assert_eq!(
            ReadMnoProfile.parse(&answer(&["+UMNOPROF: 100"])).unwrap(),
            100
        );
        assert_eq!(
            ReadPinStatus.parse(&answer(&["+CPIN: SIM PIN"])).unwrap(),
            PinStatus::PinRequired
        );
    }
}
