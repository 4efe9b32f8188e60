//! The `+UMQTT*` commands (application note chapter 6).
//!
//! One type per command, each doc naming the note's section:
//! - the profile: [`SetProfile`] (`AT+UMQTT=<op>,...`, one [`ProfileSetting`]
//!   per op), [`ReadProfile`] (`AT+UMQTT?`), [`ProfileNvm`] (`AT+UMQTTNV`);
//! - the session: [`Login`], [`Logout`], [`Subscribe`], [`Unsubscribe`],
//!   [`ReadMessage`], [`PingLoop`], [`PublishBinary`] (`AT+UMQTTC=<op>,...`);
//! - the diagnosis: [`ReadMqttError`] (`AT+UMQTTER`).
//!
//! Every `+UMQTTC` command's `OK` only says the module took the request: the
//! operation's result is the `+UUMQTTC: <op>,<result>` URC
//! ([`Urc::MqttResult`](crate::modem::at::Urc::MqttResult)), which the
//! session (`session.rs`) awaits with its own deadline.

use std::borrow::Cow;
use std::fmt;

use crate::modem::at::codec::{Counted, PayloadSpec};
use crate::modem::at::command::{ok_command, only_ok};
use crate::modem::at::{AtCommand, Fields, ParseError, Prompt, Response};

/// One setting of the MQTT profile, i.e. one `AT+UMQTT=<op>,...` (§6.1).
/// Op numbers as the note's §6.1.1 uses them (2 = IP address, 3 = name; u-blox's
/// host library swaps them, the note is the ground truth).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ProfileSetting {
    /// `0,"<client id>"`: default the IMEI (§6.1.1).
    ClientId(String),
    /// `2,"<IP address>",<port>` (§6.1.1).
    ServerIp { address: String, port: u16 },
    /// `3,"<name>",<port>` (§6.1.1).
    ServerName { name: String, port: u16 },
    /// `4,"<username>","<password>"`; the password is masked in the label.
    Credentials { username: String, password: String },
    /// `6,<qos>`: last will QoS (§6.1.2).
    WillQos(u8),
    /// `7,<0|1>`: last will retain (§6.1.2).
    WillRetain(bool),
    /// `8,"<topic>"`: last will topic (§6.1.2).
    WillTopic(String),
    /// `9,"<message>"`: last will message (§6.1.2).
    WillMessage(String),
    /// `10,<seconds>`: keep-alive / inactivity timeout (§6.6).
    KeepAlive(u16),
    /// Op 11 (§6.9): TLS with this security profile (`11,1,<p>`), or plain
    /// (`11,0`).
    Secure(Option<u8>),
    /// `12,<0|1>`: clean session.
    CleanSession(bool),
    /// `20,<cid>,<ip type>`: the PDP context the client uses (§6.1.5).
    PdpMapping { cid: u8, ip_type: u8 },
}

impl ProfileSetting {
    /// The op number.
    pub fn op(&self) -> u8 {
        match self {
            ProfileSetting::ClientId(_) => 0,
            ProfileSetting::ServerIp { .. } => 2,
            ProfileSetting::ServerName { .. } => 3,
            ProfileSetting::Credentials { .. } => 4,
            ProfileSetting::WillQos(_) => 6,
            ProfileSetting::WillRetain(_) => 7,
            ProfileSetting::WillTopic(_) => 8,
            ProfileSetting::WillMessage(_) => 9,
            ProfileSetting::KeepAlive(_) => 10,
            ProfileSetting::Secure(_) => 11,
            ProfileSetting::CleanSession(_) => 12,
            ProfileSetting::PdpMapping { .. } => 20,
        }
    }

    /// The parameters after `AT+UMQTT=`, the password written as `password`.
    fn params(&self, password: &str) -> String {
        match self {
            ProfileSetting::ClientId(id) => format!("0,\"{id}\""),
            ProfileSetting::ServerIp { address, port } => format!("2,\"{address}\",{port}"),
            ProfileSetting::ServerName { name, port } => format!("3,\"{name}\",{port}"),
            ProfileSetting::Credentials { username, .. } => {
                format!("4,\"{username}\",\"{password}\"")
            }
            ProfileSetting::WillQos(q) => format!("6,{q}"),
            ProfileSetting::WillRetain(r) => format!("7,{}", u8::from(*r)),
            ProfileSetting::WillTopic(t) => format!("8,\"{t}\""),
            ProfileSetting::WillMessage(m) => format!("9,\"{m}\""),
            ProfileSetting::KeepAlive(s) => format!("10,{s}"),
            ProfileSetting::Secure(None) => "11,0".to_owned(),
            ProfileSetting::Secure(Some(profile)) => format!("11,1,{profile}"),
            ProfileSetting::CleanSession(c) => format!("12,{}", u8::from(*c)),
            ProfileSetting::PdpMapping { cid, ip_type } => format!("20,{cid},{ip_type}"),
        }
    }
}

/// Never prints the password.
impl fmt::Debug for ProfileSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UMQTT={}", self.params(crate::values::MASK))
    }
}

/// `AT+UMQTT=<op>,...`: sets one parameter of the MQTT profile (§6.1.1,
/// §6.1.2, §6.1.5). Takes effect for the next login; kept across deep sleep
/// only once stored with [`ProfileNvm::Save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetProfile(pub ProfileSetting);

ok_command!(
    SetProfile,
    |c| {
        let password = match &c.0 {
            ProfileSetting::Credentials { password, .. } => password.as_str(),
            _ => "",
        };
        format!("AT+UMQTT={}", c.0.params(password))
    },
    prefix = "+UMQTT",
    label = |c| format!("AT+UMQTT={}", c.0.params(crate::values::MASK))
);

/// The profile as `AT+UMQTT?` reports it (§6.1.1). Fields the module did not
/// report are `None`; ops this code does not know are kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleProfile {
    pub client_id: Option<String>,
    /// Op 2: `(address, port)`; the address is empty when unset.
    pub server_ip: Option<(String, u16)>,
    /// Op 3: `(name, port)`.
    pub server_name: Option<(String, u16)>,
    /// Op 4: the user name (the module never reports the password).
    pub username: Option<String>,
    pub will_qos: Option<u8>,
    pub will_retain: Option<bool>,
    pub will_topic: Option<String>,
    /// Op 9: the will message. The note's read shows `9,0,""`: a number
    /// (hex mode, `[model]`) before the message.
    pub will_message: Option<String>,
    pub keepalive: Option<u16>,
    /// Op 11: secure MQTT on (`11,1,<profile>`) or off (`11,0`).
    pub secure: Option<bool>,
    pub clean_session: Option<bool>,
    /// Lines of ops not listed above, as sent.
    pub other: Vec<String>,
}

/// `AT+UMQTT?` -> `+UMQTT: 0,"357862090033897"` ... `+UMQTT: 11,0` (§6.1.1).
#[derive(Debug, Clone, Copy)]
pub struct ReadProfile;

impl AtCommand for ReadProfile {
    type Response = ModuleProfile;
    fn text(&self) -> String {
        "AT+UMQTT?".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UMQTT")
    }
    fn parse(&self, r: &Response) -> Result<ModuleProfile, ParseError> {
        let mut p = ModuleProfile::default();
        for line in r.lines_with("+UMQTT") {
            let f = Fields::parse(line, "+UMQTT")?;
            let flag = |i: usize| -> Result<bool, ParseError> { Ok(f.int(i)? != 0) };
            match f.int(0)? {
                0 => p.client_id = Some(f.str(1)?.to_string()),
                2 => p.server_ip = Some((f.str(1)?.to_string(), f.int_as(2)?)),
                3 => p.server_name = Some((f.str(1)?.to_string(), f.int_as(2)?)),
                4 => p.username = Some(f.str(1)?.to_string()),
                6 => p.will_qos = Some(f.int_as(1)?),
                7 => p.will_retain = Some(flag(1)?),
                8 => p.will_topic = Some(f.str(1)?.to_string()),
                9 => {
                    let i = if f.len() > 2 { 2 } else { 1 };
                    p.will_message = Some(f.str(i)?.to_string());
                }
                10 => p.keepalive = Some(f.int_as(1)?),
                11 => p.secure = Some(flag(1)?),
                12 => p.clean_session = Some(flag(1)?),
                _ => p.other.push(line.display().into_owned()),
            }
        }
        if p == ModuleProfile::default() {
            return Err(ParseError::missing("`+UMQTT:` line"));
        }
        Ok(p)
    }
}

/// `AT+UMQTTNV=<op>`: the profile and the module's NVM (§6.1.3). Before a
/// session after deep sleep the profile is reloaded with `Load` (§6.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileNvm {
    /// `0`: restore the factory-programmed profile.
    RestoreFactory = 0,
    /// `1`: set the profile to what NVM holds.
    Load = 1,
    /// `2`: store the current profile in NVM (a flash write: done only when
    /// the declared profile changed).
    Save = 2,
}

ok_command!(ProfileNvm, |c| format!("AT+UMQTTNV={}", *c as u8));

/// `AT+UMQTTC=1`: log in (§6.2). Completes with `+UUMQTTC: 1,<1|0>`; older
/// firmware also answers `+UMQTTC: 1,1` before `OK`, which means nothing more.
#[derive(Debug, Clone, Copy)]
pub struct Login;

ok_command!(Login, |_| "AT+UMQTTC=1".into(), prefix = "+UMQTTC");

/// `AT+UMQTTC=0`: log out (§6.2). Completes with `+UUMQTTC: 0,1`.
#[derive(Debug, Clone, Copy)]
pub struct Logout;

ok_command!(Logout, |_| "AT+UMQTTC=0".into(), prefix = "+UMQTTC");

/// `AT+UMQTTC=4,<qos>,"<topic>"`: subscribe (§6.3). Completes with
/// `+UUMQTTC: 4,1,<granted qos>,"<topic>"`.
#[derive(Debug, Clone)]
pub struct Subscribe {
    pub qos: u8,
    pub topic: String,
}

ok_command!(
    Subscribe,
    |c| format!("AT+UMQTTC=4,{},\"{}\"", c.qos, c.topic),
    prefix = "+UMQTTC"
);

/// `AT+UMQTTC=5,"<topic>"`: unsubscribe (§6.3). Completes with `+UUMQTTC: 5,1`.
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    pub topic: String,
}

ok_command!(
    Unsubscribe,
    |c| format!("AT+UMQTTC=5,\"{}\"", c.topic),
    prefix = "+UMQTTC"
);

/// A message read with [`ReadMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub qos: u8,
    pub topic: String,
    /// The payload, byte for byte (decoded from hex in hex mode).
    pub payload: Vec<u8>,
}

/// `AT+UMQTTC=6,1[,1]`: read one received message (§6.3, §6.4, §6.5):
/// `+UMQTTC: 6,<qos>,<total len>,<topic len>,"<topic>",<msg len>,"<msg>"`.
/// Topic and message are read by their announced lengths, so the message may
/// hold quotes, CR, LF, `OK` or any byte. In hex mode (`hex = true`) the
/// message is hex text, two characters per announced byte (§6.4).
/// `None` when the module answered no message line.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadMessage {
    pub hex: bool,
}

impl AtCommand for ReadMessage {
    type Response = Option<Message>;
    fn text(&self) -> String {
        if self.hex {
            "AT+UMQTTC=6,1,1".into()
        } else {
            "AT+UMQTTC=6,1".into()
        }
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UMQTTC")
    }
    fn payload(&self) -> Option<PayloadSpec> {
        Some(PayloadSpec {
            prefix: Cow::Borrowed(b"+UMQTTC:"),
            counted: vec![
                Counted {
                    length_field: 3,
                    hex: false,
                },
                Counted {
                    length_field: 5,
                    hex: self.hex,
                },
            ],
        })
    }
    fn parse(&self, r: &Response) -> Result<Option<Message>, ParseError> {
        let Some(line) = r.lines_with("+UMQTTC").next() else {
            return Ok(None);
        };
        let f = Fields::parse(line, "+UMQTTC")?;
        if f.int(0)? != 6 {
            return Err(ParseError::new(line, "not the answer of op 6"));
        }
        let topic = f.str(4)?.to_string();
        let raw = f.bytes(6)?;
        let payload = if self.hex {
            crate::values::hex::decode(raw)
                .ok_or_else(|| ParseError::new(line, "message is not hex"))?
        } else {
            raw.to_vec()
        };
        let announced: usize = f.int_as(5)?;
        if payload.len() != announced {
            return Err(ParseError::new(
                line,
                format!("message is {} bytes, {announced} announced", payload.len()),
            ));
        }
        Ok(Some(Message {
            qos: f.int_as(1)?,
            topic,
            payload,
        }))
    }
}

/// `AT+UMQTTC=8,<0|1>`: stop or start the ping loop (§6.6). A failed ping
/// is reported as `+UUMQTTC: 8,0`.
#[derive(Debug, Clone, Copy)]
pub struct PingLoop(pub bool);

ok_command!(
    PingLoop,
    |c| format!("AT+UMQTTC=8,{}", u8::from(c.0)),
    prefix = "+UMQTTC"
);

/// `AT+UMQTTC=9,<qos>,<retain>,"<topic>",<len>`, then `>`, then exactly
/// `len` bytes: a binary publish (§6.5), for payloads with any byte. `OK`
/// means the module took the bytes; the publish completes with
/// `+UUMQTTC: 2,1` (what §6.5 shows) or `9,1`.
#[derive(Debug, Clone)]
pub struct PublishBinary {
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub payload: Vec<u8>,
}

impl AtCommand for PublishBinary {
    type Response = ();
    fn text(&self) -> String {
        format!(
            "AT+UMQTTC=9,{},{},\"{}\",{}",
            self.qos,
            u8::from(self.retain),
            self.topic,
            self.payload.len()
        )
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UMQTTC")
    }
    fn data(&self) -> Option<(Prompt, &[u8])> {
        Some((Prompt::Greater, &self.payload))
    }
    fn parse(&self, r: &Response) -> Result<(), ParseError> {
        only_ok(r)
    }
}

/// The last MQTT error, `+UMQTTER: <class>,<code>` (§6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttErrorCode {
    pub class: i64,
    pub code: i64,
}

impl MqttErrorCode {
    /// A TLS handshake failure (`[model]` codes 70-74, see `describe`).
    pub fn is_tls(self) -> bool {
        (70..=74).contains(&self.code)
    }

    /// Worth another attempt later: a timeout (33), no radio service (34),
    /// no PDP context (50, §6.8), a refused or dropped connection. Anything
    /// else (bad credentials, bad parameters) will fail the same way again.
    /// Codes per u-blox's host library `[lib]` and §6.8.
    pub fn is_retryable(self) -> bool {
        matches!(self.code, 33 | 34 | 50) || self == MqttErrorCode::NONE
    }

    /// `+UMQTTER: 0,0`: no error recorded (e.g. the failure was ours).
    pub const NONE: MqttErrorCode = MqttErrorCode { class: 0, code: 0 };

    pub fn describe(self) -> &'static str {
        match self.code {
            0 => "no error",
            33 => "timeout",
            34 => "no radio service",
            50 => "PSD or CSD connection not established (PDP context not active)",
            // TLS failures of a secure login. The note gives no codes for
            // them; these are the simulator's `[model]` (lexi-sim's
            // `module/security` docs), other codes fall through below.
            70 => {
                "TLS: the server's certificate is not trusted by the CA (uplink.mqtt.tls.ca_file)"
            }
            71 => {
                "TLS: the server's certificate is not for this host name \
                 (uplink.mqtt.tls.server_name)"
            }
            72 => "TLS: the server refused the TLS version or cipher (uplink.mqtt.tls.min_version)",
            73 => {
                "TLS: the server refused or missed the client certificate \
                 (uplink.mqtt.tls.cert_file, key_file)"
            }
            74 => "TLS: the handshake failed",
            _ => "see the AT commands manual's error class and code tables",
        }
    }
}

impl fmt::Display for MqttErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "+UMQTTER: {},{} ({})",
            self.class,
            self.code,
            self.describe()
        )
    }
}

/// `AT+UMQTTER` -> `+UMQTTER: 13,50` (§6.8): why the last operation failed.
#[derive(Debug, Clone, Copy)]
pub struct ReadMqttError;

impl AtCommand for ReadMqttError {
    type Response = MqttErrorCode;
    fn text(&self) -> String {
        "AT+UMQTTER".into()
    }
    fn response_prefix(&self) -> Option<&'static str> {
        Some("+UMQTTER")
    }
    fn parse(&self, r: &Response) -> Result<MqttErrorCode, ParseError> {
        let f = Fields::parse(r.line("+UMQTTER")?, "+UMQTTER")?;
        Ok(MqttErrorCode {
            class: f.int(0)?,
            code: f.int(1)?,
        })
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
