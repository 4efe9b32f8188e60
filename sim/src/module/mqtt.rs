//! The embedded MQTT client (§6): `+UMQTT` (profile), `+UMQTTNV` (profile
//! in NVM), `+UMQTTC` (session) and `+UMQTTER` (last error).
//!
//! The session itself is a job (`crate::jobs::mqtt`, a real rumqttc client);
//! this file is the module's side: profile, session state, the inbox of
//! received messages, and the URCs.
//!
//! Wire forms:
//! - `AT+UMQTT?` lists ops 0, 2, 3, 4, 6, 7, 8, 9, 10, 11 in the format of
//!   §6.1.3's second read (`+UMQTT: 2,"185.215.193.15",1883`, no spaces: the
//!   spaces of the first table are typesetting), then 12 and 20 `[model]`.
//!   Op 4 shows the username only (§6.1.1). `AT+UMQTT=<op>` alone reads one op
//!   `[model]` (op 1 is readable only this way).
//! - Session URCs: `+UUMQTTC: 1,<1|0>` login, `+UUMQTTC: 0,1` logout,
//!   `+UUMQTTC: 2,<1|0>` publish (text and binary: the note's §6.5 shows
//!   `2,1` after a `+UMQTTC=9` publish, so op 9 completes as 2),
//!   `+UUMQTTC: 4,1,<granted qos>,"<filter>"` (`[model]` `4,0` when refused),
//!   `+UUMQTTC: 5,<1|0>`, `+UUMQTTC: 6,<unread>` per message received,
//!   `+UUMQTTC: 8,0` ping failure with the ping loop on, and
//!   `+UUMQTTC: 0,<reason>` when the session ends on its own: 100 keep-alive
//!   (no PINGRESP), 101 connection lost (also radio loss, §6.7), 102 protocol
//!   violation [lib].
//! - `AT+UMQTTC=6,1[,<hex>]` -> `+UMQTTC: 6,<qos>,<topic len + msg len>,
//!   <topic len>,"<topic>",<msg len>,"<msg>"` (§6.3, §6.4): the message bytes
//!   raw (quotes, CR, NUL unescaped) or, hex mode, as upper-case hex text;
//!   `<msg len>` is the byte count either way.
//! - `AT+UMQTTC=9,<qos>,<retain>,"<topic>",<len>` -> `\r\n>` `[model]` ->
//!   exactly `len` bytes (any values, not echoed `[model]`) -> `OK`.
//!
//! `+UMQTTER: <class>,<code>` `[model]` except 13,50 (§6.8):
//! | class,code | meaning |
//! |---|---|
//! | 0,0 | no error since boot |
//! | 13,50 | PDP context not active (not registered, or mapped to a cid other than 1) (§6.8) |
//! | 33,1 | login timeout: no CONNACK in time (33 is worth a retry [lib]) |
//! | 34,1 | radio service lost during the session (34 is worth a retry [lib]) |
//! | 35,1 | TCP connect to the broker failed (refused, unreachable) |
//! | 35,2 | the server name did not resolve, or no server is set |
//! | 36,<rc> | the broker refused the login with CONNACK return code rc |
//! | 37,<reason> | the session ended: reason as in `+UUMQTTC: 0,<reason>` |
//! | 38,3 | operation not allowed now (not connected, login in progress) |
//! | 39,1 | secure MQTT (op 11,1) is not simulated yet |
//! | 40,1 | the client could not queue the request |

use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Instant;

use super::sleep::SleepLimit;
use super::{bad_param, unsupported, Effect, Module};
use crate::at::parse::{Form, Params};
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::{Job, JobId, MqttCommand, MqttEvent, MqttFailure, MqttLogin, MqttWill};
use crate::nvm::{DefaultPdp, MqttProfile};

/// `[model]` the longest binary publish (`+UMQTTC=9`) payload.
pub const MAX_BINARY: usize = 64 * 1024;
/// `[model]` received messages kept unread; newer ones are dropped.
pub const MAX_INBOX: usize = 64;
/// `[model]` security profiles op 11 accepts (as `+USECPRF`).
const SEC_PROFILES: std::ops::RangeInclusive<i64> = 0..=4;

pub const ER_NONE: (u16, u16) = (0, 0);
pub const ER_NO_PDP: (u16, u16) = (13, 50);
pub const ER_TIMEOUT: (u16, u16) = (33, 1);
pub const ER_NO_RADIO: (u16, u16) = (34, 1);
pub const ER_CONNECT: (u16, u16) = (35, 1);
pub const ER_UNRESOLVED: (u16, u16) = (35, 2);
pub const ER_REFUSED_CLASS: u16 = 36;
pub const ER_ENDED_CLASS: u16 = 37;
pub const ER_NOT_ALLOWED: (u16, u16) = (38, 3);
pub const ER_NO_TLS: (u16, u16) = (39, 1);
pub const ER_NOT_QUEUED: (u16, u16) = (40, 1);

/// `+UUMQTTC: 0,<reason>` [lib].
const REASON_KEEP_ALIVE: u16 = 100;
const REASON_LOST: u16 = 101;
const REASON_PROTOCOL: u16 = 102;

/// `[model]` radio bytes of one MQTT packet besides its topic and payload,
/// for the energy ledger: IPv4 (20) + TCP (20) headers and MQTT's fixed
/// header, topic length and packet id (~6).
const PACKET_OVERHEAD: u64 = 46;
/// `[model]` a small control packet (CONNACK, PUBACK, SUBACK, ...) with its
/// IP/TCP headers; also the TCP handshake's segments.
const CONTROL_PACKET: u64 = 44;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Idle,
    LoggingIn(JobId),
    Connected { job: JobId, ping_loop: bool },
    LoggingOut(JobId),
}

/// One received message, waiting for `+UMQTTC=6`.
#[derive(Debug, Clone)]
struct Received {
    topic: String,
    qos: u8,
    payload: Vec<u8>,
}

/// A binary publish collecting its bytes after the `>` prompt.
#[derive(Debug, Clone)]
pub(super) struct RawPublish {
    want: usize,
    buf: Vec<u8>,
    qos: u8,
    retain: bool,
    topic: String,
}

/// The client's volatile state (a boot resets it; faults live in `Faults`).
#[derive(Debug)]
pub(super) struct Client {
    profile: MqttProfile,
    pub(super) state: State,
    last_error: (u16, u16),
    inbox: VecDeque<Received>,
    next_tag: u64,
    /// Publishes whose completion URC the `never confirm` fault swallows.
    silent: BTreeSet<u64>,
    /// Set while a binary publish reads its payload.
    pub(super) raw: Option<RawPublish>,
    /// Publishes, subscribes and unsubscribes sent and not yet reported:
    /// the module stays awake for them (see `sleep.rs`).
    in_flight: usize,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            profile: MqttProfile::default(),
            state: State::Idle,
            last_error: ER_NONE,
            inbox: VecDeque::new(),
            next_tag: 0,
            silent: BTreeSet::new(),
            raw: None,
            in_flight: 0,
        }
    }
}

/// Hex text -> bytes (`"ABCD3031"` -> AB CD 30 31); `None` if odd or not hex.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

fn encode_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// Printable ASCII: what a quoted parameter of a profile may hold `[model]`.
fn printable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7F).contains(&b))
}

fn quoted(params: &Params, i: usize) -> Result<String, Fail> {
    let text = params.required_string(i).map_err(bad_param)?;
    if !printable(text) {
        return Err(CmeError::INCORRECT_PARAMETERS.into());
    }
    Ok(text.to_string())
}

fn int_in(params: &Params, i: usize, range: std::ops::RangeInclusive<i64>) -> Result<i64, Fail> {
    let n = params.required_int(i).map_err(bad_param)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(CmeError::INCORRECT_PARAMETERS.into())
    }
}

fn flag(params: &Params, i: usize) -> Result<bool, Fail> {
    Ok(int_in(params, i, 0..=1)? == 1)
}

/// An optional port parameter (ops 2 and 3).
fn port(params: &Params, i: usize) -> Result<Option<u16>, Fail> {
    match params.int(i).map_err(bad_param)? {
        None => Ok(None),
        Some(n) => u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .map(Some)
            .ok_or_else(|| CmeError::INCORRECT_PARAMETERS.into()),
    }
}

fn not_allowed() -> Fail {
    CmeError::OPERATION_NOT_ALLOWED.into()
}

impl Module {
    /// `+UMQTT=<op>,...` sets, `+UMQTT=<op>` reads one op, `+UMQTT?` reads all.
    pub(super) fn umqtt(
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

    fn client_id(&self) -> String {
        self.mqtt
            .profile
            .client_id
            .clone()
            .unwrap_or_else(|| self.cfg.imei.clone())
    }

    /// `+UMQTTNV=0` factory profile, `=1` load from NVM, `=2` store to NVM.
    pub(super) fn umqttnv(
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

    /// `+UMQTTER` -> `+UMQTTER: <class>,<code>` (see the table above).
    pub(super) fn umqtter(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Action = form else {
            return unsupported();
        };
        let (class, code) = self.mqtt.last_error;
        info.push(format!("+UMQTTER: {class},{code}"));
        Ok(())
    }

    /// `+UMQTTC=<op>,...`.
    pub(super) fn umqttc(
        &mut self,
        form: &Form,
        now: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let op = params.required_int(0).map_err(bad_param)?;
        match op {
            0 => {
                params.at_most(1).map_err(bad_param)?;
                let job = self.connected_job()?;
                self.mqtt.state = State::LoggingOut(job);
                self.energy.radio_bytes(CONTROL_PACKET, 0);
                self.out.push(Effect::MqttCommand(job, MqttCommand::Logout));
                Ok(())
            }
            1 => {
                params.at_most(1).map_err(bad_param)?;
                self.login(now)
            }
            2 => {
                params.at_most(6).map_err(bad_param)?;
                let qos = int_in(params, 1, 0..=2)? as u8;
                let retain = flag(params, 2)?;
                let hex = flag(params, 3)?;
                let topic = quoted(params, 4)?;
                let message = params.required_string(5).map_err(bad_param)?;
                let payload = if hex {
                    decode_hex(message).ok_or(CmeError::INCORRECT_PARAMETERS)?
                } else {
                    message.as_bytes().to_vec()
                };
                if topic.is_empty() {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                let job = self.connected_job()?;
                self.publish(job, qos, retain, topic, payload, now);
                Ok(())
            }
            // [model] publish from a file: the module's file system is not simulated.
            3 => Err(CmeError::OPERATION_NOT_SUPPORTED.into()),
            4 => {
                params.at_most(3).map_err(bad_param)?;
                let qos = int_in(params, 1, 0..=2)? as u8;
                let filter = quoted(params, 2)?;
                if filter.is_empty() {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                let job = self.connected_job()?;
                self.traffic(now);
                self.mqtt.in_flight += 1;
                self.energy
                    .radio_bytes(PACKET_OVERHEAD + filter.len() as u64, 0);
                self.out.push(Effect::MqttCommand(
                    job,
                    MqttCommand::Subscribe { filter, qos },
                ));
                Ok(())
            }
            5 => {
                params.at_most(2).map_err(bad_param)?;
                let filter = quoted(params, 1)?;
                if filter.is_empty() {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                let job = self.connected_job()?;
                self.traffic(now);
                self.mqtt.in_flight += 1;
                self.energy
                    .radio_bytes(PACKET_OVERHEAD + filter.len() as u64, 0);
                self.out.push(Effect::MqttCommand(
                    job,
                    MqttCommand::Unsubscribe { filter },
                ));
                Ok(())
            }
            6 => {
                params.at_most(3).map_err(bad_param)?;
                // [model] only "read one message" (1) is implemented.
                int_in(params, 1, 1..=1)?;
                let hex = match params.int(2).map_err(bad_param)? {
                    None | Some(0) => false,
                    Some(1) => true,
                    Some(_) => return Err(CmeError::INCORRECT_PARAMETERS.into()),
                };
                // [model] an empty inbox answers a bare OK; messages stay
                // readable after the session ended.
                if let Some(message) = self.mqtt.inbox.pop_front() {
                    self.out.push(Effect::Send(read_line(&message, hex)));
                }
                Ok(())
            }
            8 => {
                params.at_most(2).map_err(bad_param)?;
                let on = flag(params, 1)?;
                let job = self.connected_job()?;
                // rumqttc pings on its own (keep-alive); the loop decides
                // whether a missing PINGRESP is told as `+UUMQTTC: 8,0`.
                self.mqtt.state = State::Connected { job, ping_loop: on };
                Ok(())
            }
            9 => {
                params.at_most(5).map_err(bad_param)?;
                let qos = int_in(params, 1, 0..=2)? as u8;
                let retain = flag(params, 2)?;
                let topic = quoted(params, 3)?;
                let want = int_in(params, 4, 1..=MAX_BINARY as i64)? as usize;
                if topic.is_empty() {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                self.connected_job()?;
                self.mqtt.raw = Some(RawPublish {
                    want,
                    buf: Vec::with_capacity(want),
                    qos,
                    retain,
                    topic,
                });
                Ok(())
            }
            _ => Err(CmeError::INCORRECT_PARAMETERS.into()),
        }
    }

    /// The running session's job, or CME 3 (and `+UMQTTER` 38,3).
    fn connected_job(&mut self) -> Result<JobId, Fail> {
        match self.mqtt.state {
            State::Connected { job, .. } => Ok(job),
            _ => {
                self.mqtt.last_error = ER_NOT_ALLOWED;
                Err(not_allowed())
            }
        }
    }

    fn login(&mut self, now: Instant) -> Result<(), Fail> {
        if self.mqtt.state != State::Idle {
            self.mqtt.last_error = ER_NOT_ALLOWED;
            return Err(not_allowed());
        }
        let p = self.mqtt.profile.clone();
        // `OK` now, the verdict by URC (§6.8: `OK` then `+UUMQTTC: 1,0`).
        let refuse = |m: &mut Module, error| {
            m.mqtt.last_error = error;
            m.urc("+UUMQTTC: 1,0".to_string());
            Ok(())
        };
        // [model] only cid 1 is ever active (see pdp.rs).
        if !self.radio.stat.is_registered() || p.pdp_cid != 1 {
            return refuse(self, ER_NO_PDP);
        }
        if p.secure.is_some() {
            return refuse(self, ER_NO_TLS);
        }
        let host = if p.server_ip.is_empty() {
            p.server_name.clone()
        } else {
            p.server_ip.clone()
        };
        if host.is_empty() {
            return refuse(self, ER_UNRESOLVED);
        }
        let will = (!p.will_topic.is_empty()).then(|| MqttWill {
            topic: p.will_topic.clone(),
            message: if p.will_hex {
                decode_hex(&p.will_message).unwrap_or_default()
            } else {
                p.will_message.clone().into_bytes()
            },
            qos: p.will_qos,
            retain: p.will_retain,
        });
        let login = MqttLogin {
            client_id: self.client_id(),
            host,
            port: p.port,
            credentials: (!p.username.is_empty()).then(|| (p.username.clone(), p.password.clone())),
            keep_alive: p.keep_alive,
            clean_session: p.clean_session,
            will,
            login_timeout: self.timing.mqtt_login,
        };
        self.traffic(now);
        // TCP handshake (SYN out, SYN-ACK in, ACK out) and CONNECT.
        let connect = PACKET_OVERHEAD + login.client_id.len() as u64 + 10;
        self.energy
            .radio_bytes(2 * CONTROL_PACKET + connect, CONTROL_PACKET);
        let id = self.new_job_id();
        self.mqtt.state = State::LoggingIn(id);
        self.out.push(Effect::StartJob(id, Job::Mqtt(login)));
        Ok(())
    }

    fn publish(
        &mut self,
        job: JobId,
        qos: u8,
        retain: bool,
        topic: String,
        payload: Vec<u8>,
        now: Instant,
    ) {
        self.mqtt.next_tag += 1;
        let tag = self.mqtt.next_tag;
        if self.faults.mqtt_never_confirm > 0 {
            self.faults.mqtt_never_confirm -= 1;
            self.mqtt.silent.insert(tag);
        }
        self.traffic(now);
        self.mqtt.in_flight += 1;
        self.energy.radio_bytes(
            PACKET_OVERHEAD + topic.len() as u64 + payload.len() as u64,
            0,
        );
        self.out.push(Effect::MqttCommand(
            job,
            MqttCommand::Publish {
                tag,
                topic,
                qos,
                retain,
                payload,
            },
        ));
    }

    /// One byte of a binary publish's payload. When the last one is in, the
    /// final result goes out and the publish starts.
    pub(super) fn raw_byte(&mut self, byte: u8, now: Instant) {
        let Some(raw) = self.mqtt.raw.as_mut() else {
            return;
        };
        raw.buf.push(byte);
        if raw.buf.len() < raw.want {
            return;
        }
        let Some(raw) = self.mqtt.raw.take() else {
            return;
        };
        let result = match self.connected_job() {
            Ok(job) => {
                self.publish(job, raw.qos, raw.retain, raw.topic, raw.buf, now);
                Ok(())
            }
            // The session ended while the bytes came.
            Err(fail) => Err(fail),
        };
        let text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&text)));
        self.flush_urcs();
    }

    /// A session job reported.
    pub(super) fn on_mqtt(&mut self, id: JobId, event: MqttEvent, now: Instant) {
        let (job, ping_loop) = match self.mqtt.state {
            State::Idle => return,
            State::LoggingIn(job) | State::LoggingOut(job) => (job, false),
            State::Connected { job, ping_loop } => (job, ping_loop),
        };
        if job != id {
            return; // a session that is over
        }
        match event {
            MqttEvent::Connected => {
                if let State::LoggingIn(job) = self.mqtt.state {
                    self.mqtt.state = State::Connected {
                        job,
                        ping_loop: false,
                    };
                    self.traffic(now);
                    self.energy.radio_bytes(0, CONTROL_PACKET);
                    self.urc("+UUMQTTC: 1,1".to_string());
                }
            }
            MqttEvent::LoginFailed(failure) => {
                self.end_session(id);
                self.mqtt.last_error = match failure {
                    MqttFailure::Unresolved => ER_UNRESOLVED,
                    MqttFailure::ConnectFailed => ER_CONNECT,
                    MqttFailure::Timeout => ER_TIMEOUT,
                    MqttFailure::BrokerRefused(rc) => (ER_REFUSED_CLASS, u16::from(rc)),
                    MqttFailure::Lost | MqttFailure::PingTimeout => (ER_ENDED_CLASS, REASON_LOST),
                    MqttFailure::Protocol => (ER_ENDED_CLASS, REASON_PROTOCOL),
                };
                self.urc("+UUMQTTC: 1,0".to_string());
            }
            MqttEvent::Published { tag, ok } => {
                self.mqtt.in_flight = self.mqtt.in_flight.saturating_sub(1);
                // [model] every publish is answered (PUBACK, or the TCP ACK at QoS 0).
                self.energy.radio_bytes(0, CONTROL_PACKET);
                if self.mqtt.silent.remove(&tag) {
                    return;
                }
                if !ok {
                    self.mqtt.last_error = ER_NOT_QUEUED;
                }
                self.traffic(now);
                self.urc(format!("+UUMQTTC: 2,{}", u8::from(ok)));
            }
            MqttEvent::Subscribed { filter, granted } => {
                self.mqtt_reply_in();
                match granted {
                    Some(qos) => self.urc(format!("+UUMQTTC: 4,1,{qos},\"{filter}\"")),
                    None => {
                        self.mqtt.last_error = ER_NOT_QUEUED;
                        self.urc("+UUMQTTC: 4,0".to_string());
                    }
                }
            }
            MqttEvent::Unsubscribed { ok, .. } => {
                self.mqtt_reply_in();
                if !ok {
                    self.mqtt.last_error = ER_NOT_QUEUED;
                }
                self.urc(format!("+UUMQTTC: 5,{}", u8::from(ok)));
            }
            MqttEvent::Message {
                topic,
                qos,
                payload,
            } => {
                if self.mqtt.inbox.len() >= MAX_INBOX {
                    tracing::warn!(%topic, "MQTT inbox full; message dropped");
                    return;
                }
                self.traffic(now);
                self.energy.radio_bytes(
                    0,
                    PACKET_OVERHEAD + topic.len() as u64 + payload.len() as u64,
                );
                self.mqtt.inbox.push_back(Received {
                    topic,
                    qos,
                    payload,
                });
                self.urc(format!("+UUMQTTC: 6,{}", self.mqtt.inbox.len()));
            }
            MqttEvent::LoggedOut => {
                self.end_session(id);
                self.urc("+UUMQTTC: 0,1".to_string());
            }
            MqttEvent::Lost(failure) => {
                let reason = match failure {
                    MqttFailure::PingTimeout => REASON_KEEP_ALIVE,
                    MqttFailure::Protocol => REASON_PROTOCOL,
                    _ => REASON_LOST,
                };
                if failure == MqttFailure::PingTimeout && ping_loop {
                    self.urc("+UUMQTTC: 8,0".to_string());
                }
                self.session_lost(reason, (ER_ENDED_CLASS, reason));
            }
        }
    }

    /// A SUBACK/UNSUBACK came in.
    fn mqtt_reply_in(&mut self) {
        self.mqtt.in_flight = self.mqtt.in_flight.saturating_sub(1);
        self.energy.radio_bytes(0, CONTROL_PACKET);
    }

    /// The session is over: forget it and stop its job.
    fn end_session(&mut self, job: JobId) {
        self.mqtt.state = State::Idle;
        self.mqtt.raw = None;
        self.mqtt.in_flight = 0;
        self.out.push(Effect::CancelJob(job));
    }

    /// The session ended without a logout: `+UUMQTTC: 0,<reason>`.
    fn session_lost(&mut self, reason: u16, error: (u16, u16)) {
        let job = match self.mqtt.state {
            State::Idle => return,
            State::LoggingIn(job) => {
                // Not connected yet: the login fails instead.
                self.end_session(job);
                self.mqtt.last_error = error;
                self.urc("+UUMQTTC: 1,0".to_string());
                return;
            }
            State::Connected { job, .. } | State::LoggingOut(job) => job,
        };
        self.end_session(job);
        self.mqtt.last_error = error;
        self.urc(format!("+UUMQTTC: 0,{reason}"));
    }

    /// Control handle: the connection drops now (the TCP connection closes
    /// without DISCONNECT, so the broker sends the will). Publishes in flight
    /// are never confirmed.
    pub(super) fn mqtt_drop_session(&mut self) {
        self.session_lost(REASON_LOST, (ER_ENDED_CLASS, REASON_LOST));
    }

    /// Registration lost: a session cannot survive it (§6.7: `+CFUN=4` ->
    /// `+UUMQTTC: 0,101`).
    pub(super) fn mqtt_radio_lost(&mut self) {
        self.session_lost(REASON_LOST, ER_NO_RADIO);
    }

    /// True while a binary publish is reading its payload.
    pub(super) fn raw_input(&self) -> bool {
        self.mqtt.raw.is_some()
    }

    /// A login or logout is running, or an operation awaits its report:
    /// the module stays awake (see `sleep.rs`).
    pub(super) fn mqtt_busy(&self) -> bool {
        matches!(self.mqtt.state, State::LoggingIn(_) | State::LoggingOut(_))
            || self.mqtt.in_flight > 0
    }

    /// `[model]` a session that is up keeps the module out of deep sleep,
    /// which would lose it (see `sleep.rs`).
    pub(super) fn mqtt_sleep_limit(&self) -> SleepLimit {
        match self.mqtt.state {
            State::Idle => SleepLimit::Deep,
            State::Connected { .. } => SleepLimit::Sleep1,
            State::LoggingIn(_) | State::LoggingOut(_) => SleepLimit::Awake,
        }
    }
}

/// `\r\n+UMQTTC: 6,...,"<msg>"\r\n` with the message bytes as they are.
fn read_line(message: &Received, hex: bool) -> Vec<u8> {
    let body = if hex {
        encode_hex(&message.payload).into_bytes()
    } else {
        message.payload.clone()
    };
    let topic_len = message.topic.len();
    let msg_len = message.payload.len();
    let mut out = format!(
        "\r\n+UMQTTC: 6,{},{},{topic_len},\"{}\",{msg_len},\"",
        message.qos,
        topic_len + msg_len,
        message.topic
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out.extend_from_slice(b"\"\r\n");
    out
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
