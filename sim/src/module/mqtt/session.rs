//! The session's commands: `+UMQTTC` (§6.3 to §6.7: logout, login, text
//! and binary publish, subscribe, unsubscribe, read a message, the ping
//! loop) and `+UMQTTER` (§6.8).

use std::time::Instant;

use super::params::{decode_hex, encode_hex, flag, int_in, not_allowed, quoted};
use super::state::{
    RawPublish, Received, State, CONTROL_PACKET, ER_NOT_ALLOWED, ER_NO_PDP, ER_UNRESOLVED,
    PACKET_OVERHEAD,
};
use crate::at::parse::Form;
use crate::at::reply::{final_result, frame, CmeError, Fail};
use crate::jobs::{Job, JobId, MqttCommand, MqttLogin, MqttWill};
use crate::module::{bad_param, unsupported, Effect, Module};

/// `[model]` the longest binary publish (`+UMQTTC=9`) payload.
pub const MAX_BINARY: usize = 64 * 1024;

impl Module {
    /// `+UMQTTER` -> `+UMQTTER: <class>,<code>` (see the table above).
    pub(in crate::module) fn umqtter(
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
    pub(in crate::module) fn umqttc(
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
                self.mqtt_packet_bytes(CONTROL_PACKET, 0);
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
                self.mqtt_packet_bytes(PACKET_OVERHEAD + filter.len() as u64, 0);
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
                self.mqtt_packet_bytes(PACKET_OVERHEAD + filter.len() as u64, 0);
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
        let host = if p.server_ip.is_empty() {
            p.server_name.clone()
        } else {
            p.server_ip.clone()
        };
        if host.is_empty() {
            return refuse(self, ER_UNRESOLVED);
        }
        // §6.9: only the security profile changes; a profile that cannot
        // make a connection fails the login as its handshake would.
        let tls = match p.secure {
            None => None,
            Some(profile) => match self.tls_setup(profile, &host, now) {
                Ok(setup) => Some(setup),
                Err(error) => return refuse(self, error),
            },
        };
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
            tls,
        };
        self.traffic(now);
        // TCP handshake (SYN out, SYN-ACK in, ACK out) and CONNECT.
        self.energy.radio_bytes(2 * CONTROL_PACKET, CONTROL_PACKET);
        self.mqtt.secure = login.tls.is_some();
        self.mqtt_packet_bytes(PACKET_OVERHEAD + login.client_id.len() as u64 + 10, 0);
        let id = self.new_job_id();
        self.mqtt.state = State::LoggingIn(id);
        if let Some(profile) = p.secure {
            self.tls_opened(id, profile);
        }
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
        self.mqtt_packet_bytes(
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
    pub(in crate::module) fn raw_byte(&mut self, byte: u8, now: Instant) {
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
