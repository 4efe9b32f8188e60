//! IP services answered by URC: `+UDNSRN` (§2.4.2) and `+UPING` (§2.4.1).
//!
//! Both answer `OK` at once and report later through a job (see
//! [`crate::jobs`]). The URC forms:
//! - `+UUDNSRN: "<address or name>"` on success, the field layout of the
//!   note's `+UDNSRN: "216.239.59.147"`; `[model]` `+UUDNSRN: ""` on failure
//!   (unknown name, not registered).
//! - `+UUPING: <i>,<size>,"<host>","<ip>",<ttl>,<rtt>` per reply, without the
//!   spaces the note's table shows (they are the note's typesetting: a module
//!   sends none, like every other answer in the note);
//!   `+UUPINGER: 8` `[lib: cannot resolve host]`,
//!   `+UUPINGER: 17` `[lib: PSD or CSD connection not established]`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{bad_param, unsupported, Module, PendingJob};
use crate::at::parse::Form;
use crate::at::reply::{CmeError, Fail};
use crate::jobs::{Job, JobEvent, JobId};

/// `[lib]` `+UUPINGER` code: the host name could not be resolved.
const PING_ERR_UNRESOLVED: u8 = 8;
/// `[lib]` `+UUPINGER` code: no PSD/CSD connection.
const PING_ERR_NO_PDP: u8 = 17;

/// `[model]` `+UPING` parameter defaults and ranges (u-blox AT manual family).
const PING_COUNT_DEFAULT: i64 = 4;
const PING_COUNT: std::ops::RangeInclusive<i64> = 1..=64;
const PING_SIZE_DEFAULT: i64 = 32;
const PING_SIZE: std::ops::RangeInclusive<i64> = 4..=1460;
const PING_TIMEOUT_DEFAULT: i64 = 5_000;
const PING_TIMEOUT: std::ops::RangeInclusive<i64> = 10..=60_000;
const PING_TTL_DEFAULT: i64 = 64;
const PING_TTL: std::ops::RangeInclusive<i64> = 1..=255;

impl Module {
    /// `+UDNSRN=<0|1>,"<name or address>"[,...]`.
    pub(super) fn udnsrn(
        &mut self,
        form: &Form,
        now: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let kind = params.required_int(0).map_err(bad_param)?;
        let target = params
            .required_string(1)
            .map_err(bad_param)?
            .trim()
            .to_string();
        // Extra parameters (ubxlib may send a cid) are ignored.
        if target.is_empty() {
            return Err(CmeError::INCORRECT_PARAMETERS.into());
        }
        let job = match kind {
            0 => Job::Resolve {
                name: target,
                delay: self.timing.dns,
            },
            1 => {
                if target.parse::<IpAddr>().is_err() {
                    return Err(CmeError::INCORRECT_PARAMETERS.into());
                }
                Job::Reverse {
                    addr: target,
                    delay: self.timing.dns,
                }
            }
            _ => return Err(CmeError::INCORRECT_PARAMETERS.into()),
        };
        if !self.radio.stat.is_registered() {
            // [model] the failure is reported right after the OK.
            self.urc("+UUDNSRN: \"\"".to_string());
            return Ok(());
        }
        self.traffic(now);
        let id = self.new_job_id();
        self.jobs.insert(id, PendingJob::Dns);
        self.out.push(super::Effect::StartJob(id, job));
        Ok(())
    }

    /// `+UPING="<host>"[,<retry_num>,<p_size>,<timeout>,<ttl>]`.
    pub(super) fn uping(
        &mut self,
        form: &Form,
        now: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(5).map_err(bad_param)?;
        let host = params
            .required_string(0)
            .map_err(bad_param)?
            .trim()
            .to_string();
        let in_range = |i: usize, default: i64, range: std::ops::RangeInclusive<i64>| {
            let v = params.int(i).map_err(bad_param)?.unwrap_or(default);
            if range.contains(&v) {
                Ok(v as u32)
            } else {
                Err(Fail::from(CmeError::INCORRECT_PARAMETERS))
            }
        };
        let count = in_range(1, PING_COUNT_DEFAULT, PING_COUNT)?;
        let size = in_range(2, PING_SIZE_DEFAULT, PING_SIZE)?;
        // [model] the timeout is checked but never reached: every reply comes.
        in_range(3, PING_TIMEOUT_DEFAULT, PING_TIMEOUT)?;
        let ttl = in_range(4, PING_TTL_DEFAULT, PING_TTL)?;
        if host.is_empty() {
            return Err(CmeError::INCORRECT_PARAMETERS.into());
        }
        // [model] one ping session at a time.
        if self
            .jobs
            .values()
            .any(|j| matches!(j, PendingJob::Ping { .. }))
        {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        if !self.radio.stat.is_registered() {
            self.urc(format!("+UUPINGER: {PING_ERR_NO_PDP}"));
            return Ok(());
        }
        self.traffic(now);
        // [model] a literal address needs no DNS round trip.
        let resolve_delay = if host.parse::<IpAddr>().is_ok() {
            Duration::ZERO
        } else {
            self.timing.dns
        };
        let id = self.new_job_id();
        let job = Job::Ping {
            host: host.clone(),
            resolve_delay,
            count,
            rtt: self.timing.ping_rtt,
        };
        self.jobs.insert(
            id,
            PendingJob::Ping {
                host,
                count,
                size,
                ttl,
                addr: None,
            },
        );
        self.out.push(super::Effect::StartJob(id, job));
        Ok(())
    }

    /// A job reported back; unknown ids are stale (cancelled by a boot).
    pub(super) fn on_job(&mut self, id: JobId, event: JobEvent, now: Instant) {
        let event = match event {
            JobEvent::Mqtt(event) => return self.on_mqtt(id, event, now),
            JobEvent::Socket(event) => return self.on_socket(id, event, now),
            JobEvent::Http(event) => return self.on_http(id, event, now),
            other => other,
        };
        let Some(job) = self.jobs.get(&id).cloned() else {
            return;
        };
        let registered = self.radio.stat.is_registered();
        match (job, event) {
            (PendingJob::Dns, JobEvent::Resolved(addr)) => {
                self.jobs.remove(&id);
                let answer = addr.filter(|_| registered).map(|a| a.to_string());
                self.dns_urc(answer, now);
            }
            (PendingJob::Dns, JobEvent::Reversed(name)) => {
                self.jobs.remove(&id);
                self.dns_urc(name.filter(|_| registered), now);
            }
            (PendingJob::Ping { .. }, _) if !registered => {
                self.end_ping(id);
                self.urc(format!("+UUPINGER: {PING_ERR_NO_PDP}"));
            }
            (PendingJob::Ping { .. }, JobEvent::Resolved(None)) => {
                self.end_ping(id);
                self.urc(format!("+UUPINGER: {PING_ERR_UNRESOLVED}"));
            }
            (PendingJob::Ping { .. }, JobEvent::Resolved(Some(addr))) => {
                if let Some(PendingJob::Ping { addr: slot, .. }) = self.jobs.get_mut(&id) {
                    *slot = Some(addr.to_string());
                }
            }
            (
                PendingJob::Ping {
                    host,
                    count,
                    size,
                    ttl,
                    addr,
                },
                JobEvent::PingReply { seq },
            ) => {
                self.traffic(now);
                let rtt_ms = self.cfg.ping_rtt.as_millis();
                let addr = addr.unwrap_or_default();
                self.urc(format!(
                    "+UUPING: {seq},{size},\"{host}\",\"{addr}\",{ttl},{rtt_ms}"
                ));
                if seq >= count {
                    self.jobs.remove(&id);
                }
            }
            // An event that does not fit the job: ignore it.
            (PendingJob::Dns, JobEvent::PingReply { .. })
            | (PendingJob::Ping { .. }, JobEvent::Reversed(_))
            | (_, JobEvent::Mqtt(_))
            | (_, JobEvent::Socket(_))
            | (_, JobEvent::Http(_)) => {}
        }
    }

    fn dns_urc(&mut self, answer: Option<String>, now: Instant) {
        if answer.is_some() {
            self.traffic(now);
        }
        self.urc(format!("+UUDNSRN: \"{}\"", answer.unwrap_or_default()));
    }

    fn end_ping(&mut self, id: JobId) {
        self.jobs.remove(&id);
        self.out.push(super::Effect::CancelJob(id));
    }
}
