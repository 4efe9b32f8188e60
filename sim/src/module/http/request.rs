//! Requests: `+UHTTPC` (§7.1 to §7.3) parsed, checked and turned into a
//! job, and `+UHTTPER` (§7.4), the last error of a profile.

use std::time::{Duration, Instant};

use super::profile::{int_in, profile_id};
use super::settings::{quotable, HttpProfile};
use super::state::{Connect, DirectBody, InFlight, Sink, ER_NO_PDP, ER_NO_SERVER, ER_NO_TLS};
use crate::at::parse::{Form, Params};
use crate::at::reply::{CmeError, Fail};
use crate::jobs::{HttpMethod, HttpRequest, Job};
use crate::module::files::FileStore;
use crate::module::{bad_param, unsupported, Effect, Module};

/// `[model]` after the LEXI-R10 AT commands manual ("the only profile
/// allowed is number 0 for HTTP operations"): profiles 1 to 3 can be
/// configured, stored and asked for errors, but requests run on 0 only.
pub const REQUEST_PROFILE: u8 = 0;
/// `[lib]` POST data (`+UHTTPC=<p>,5,...`) carries at most 128 characters.
pub const MAX_POST_DATA: usize = 128;
/// `[lib]` a user-defined content type has at most 64 characters.
pub const MAX_USER_CONTENT_TYPE: usize = 64;
/// `[model]` the largest body a direct-link POST (op 7) announces.
pub const MAX_DIRECT_BODY: usize = 1024 * 1024;
/// `[model]` the boundary of a multipart file POST, as u-blox's AT manuals
/// of other modules give it.
const BOUNDARY: &str = "U1Blox2Http3Unique4Boundary5";

/// `[model]` radio bytes for the energy ledger: a TCP segment's IPv4 and
/// TCP headers (also a bare SYN, ACK or FIN), and the payload one carries.
pub(super) const TCP_SEGMENT: u64 = 40;
pub(super) const MSS: u64 = 1460;

/// Radio bytes of `payload` bytes sent or received in full segments.
pub(super) fn on_air(payload: u64) -> u64 {
    payload + payload.div_ceil(MSS) * TCP_SEGMENT
}

/// Where a request's body comes from.
enum BodySource {
    None,
    File(String),
    Data(Vec<u8>),
    /// Op 7: this many bytes after `CONNECT`.
    Direct(usize),
}

/// One `+UHTTPC` as parsed.
struct Command {
    profile: u8,
    command: u8,
    path: String,
    /// Ops 0 to 5: the response file (ignored in direct link, §7.1).
    response_file: Option<String>,
    body: BodySource,
    content_type: Option<String>,
}

impl Module {
    /// `+UHTTPER=<p>` -> `+UHTTPER: <p>,<class>,<code>`.
    pub(in crate::module) fn uhttper(
        &mut self,
        form: &Form,
        _: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        params.at_most(1).map_err(bad_param)?;
        let p = profile_id(params)?;
        let (class, code) = self.http.last_error[usize::from(p)];
        info.push(format!("+UHTTPER: {p},{class},{code}"));
        Ok(())
    }

    /// `+UHTTPC=<p>,<cmd>,...` (forms in `mod.rs`).
    pub(in crate::module) fn uhttpc(
        &mut self,
        form: &Form,
        now: Instant,
        _: &mut Vec<String>,
    ) -> Result<(), Fail> {
        let Form::Set(params) = form else {
            return unsupported();
        };
        let profile = self.http.profiles[usize::from(profile_id(params)?)].clone();
        let direct = profile.io_mode == 1;
        let c = parse(params, direct)?;
        if c.profile != REQUEST_PROFILE || self.http_busy() {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        if c.command == 7 && !direct {
            return Err(CmeError::OPERATION_NOT_ALLOWED.into());
        }
        let body = match &c.body {
            BodySource::None | BodySource::Direct(_) => None,
            BodySource::Data(data) => Some(data.clone()),
            BodySource::File(name) => {
                let data = self.nvm.files.get(name).ok_or(CmeError(22))?;
                let data = data.to_vec();
                Some(match (c.command, c.content_type.as_deref()) {
                    (4, Some("multipart/form-data")) => multipart(name, &data),
                    _ => data,
                })
            }
        };
        // `OK` now, the verdict by URC, for what fails before the network.
        if let Some(error) = self.refusal(&profile) {
            self.http.last_error[usize::from(c.profile)] = error;
            self.urc(format!("+UUHTTPCR: {},{},0", c.profile, c.command));
            return Ok(());
        }
        let mut request = build(&profile, &c, body, self.cfg.http_timeout_scale);
        match (direct, c.body) {
            (true, BodySource::Direct(want)) => {
                request.body = Some(Vec::new());
                self.http.connect = Some(Connect::Body(DirectBody {
                    profile: c.profile,
                    want,
                    request,
                }));
            }
            (true, _) => {
                self.http.connect = Some(Connect::Start {
                    profile: c.profile,
                    command: c.command,
                    request,
                });
            }
            (false, _) => {
                let name = c.response_file.unwrap_or_default();
                let sink = Sink::File {
                    name,
                    response: Vec::new(),
                };
                self.start_request(c.profile, c.command, request, sink, now);
            }
        }
        Ok(())
    }

    /// Why a request on `profile` fails before anything is sent.
    fn refusal(&self, profile: &HttpProfile) -> Option<(u16, u16)> {
        // [model] only cid 1 is ever active (see pdp.rs).
        if !self.radio.stat.is_registered() || profile.pdp_cid != 1 {
            Some(ER_NO_PDP)
        } else if profile.secure.is_some() {
            // TLS seam: the security profile's TLS layer is not wired yet.
            Some(ER_NO_TLS)
        } else if profile.server().is_none() {
            Some(ER_NO_SERVER)
        } else {
            None
        }
    }

    /// Starts the job; the response goes to `sink`.
    pub(super) fn start_request(
        &mut self,
        profile: u8,
        command: u8,
        request: HttpRequest,
        sink: Sink,
        now: Instant,
    ) {
        // The handshake (SYN and ACK out, SYN-ACK in), then the request.
        let sent =
            on_air(head_size(&request) + request.body.as_ref().map_or(0, |b| b.len()) as u64);
        self.energy.radio_bytes(2 * TCP_SEGMENT + sent, TCP_SEGMENT);
        self.traffic(now);
        let job = self.new_job_id();
        self.out.push(Effect::StartJob(job, Job::Http(request)));
        self.http.request = Some(InFlight {
            profile,
            command,
            job,
            sink,
        });
    }
}

/// Parses `+UHTTPC`'s parameters for `<cmd>` (forms in `mod.rs`).
fn parse(params: &Params, direct: bool) -> Result<Command, Fail> {
    let bad = || Fail::from(CmeError::INCORRECT_PARAMETERS);
    let profile = profile_id(params)?;
    let command = int_in(params, 1, 0..=7)? as u8;
    let path = params.required_string(2).map_err(bad_param)?;
    if !path.starts_with('/') || !quotable(path) {
        return Err(bad());
    }
    let mut c = Command {
        profile,
        command,
        path: path.to_string(),
        response_file: None,
        body: BodySource::None,
        content_type: None,
    };
    if command == 7 {
        params.at_most(6).map_err(bad_param)?;
        c.content_type = Some(content_type(params, 3)?);
        let len = int_in(params, 5, 1..=MAX_DIRECT_BODY as i64)?;
        c.body = BodySource::Direct(len as usize);
        return Ok(c);
    }
    let response_file = params.required_string(3).map_err(bad_param)?;
    // In direct link the response file is ignored (§7.1).
    if !direct && !FileStore::valid_name(response_file) {
        return Err(bad());
    }
    c.response_file = Some(response_file.to_string());
    match command {
        0..=2 => params.at_most(4).map_err(bad_param)?,
        3 | 4 => {
            params.at_most(7).map_err(bad_param)?;
            let file = params.required_string(4).map_err(bad_param)?;
            if !FileStore::valid_name(file) {
                return Err(bad());
            }
            c.body = BodySource::File(file.to_string());
            c.content_type = Some(content_type(params, 5)?);
        }
        5 => {
            params.at_most(7).map_err(bad_param)?;
            let data = params.required_string(4).map_err(bad_param)?;
            if data.len() > MAX_POST_DATA || !quotable(data) {
                return Err(bad());
            }
            c.body = BodySource::Data(data.as_bytes().to_vec());
            c.content_type = Some(content_type(params, 5)?);
        }
        // 6 is FOTA on other modules: not here [model].
        _ => return Err(bad()),
    }
    Ok(c)
}

/// `<content type>[,"<user type>"]` at `i` `[lib]`: 0 to 5 named, 6 the
/// user's (required then, at most 64 characters; ignored otherwise).
fn content_type(params: &Params, i: usize) -> Result<String, Fail> {
    let named = match int_in(params, i, 0..=6)? {
        0 => "application/x-www-form-urlencoded",
        1 => "text/plain",
        2 => "application/octet-stream",
        3 => "multipart/form-data",
        4 => "application/json",
        5 => "application/xml",
        _ => {
            let user = params.required_string(i + 1).map_err(bad_param)?;
            if user.is_empty() || user.len() > MAX_USER_CONTENT_TYPE || !quotable(user) {
                return Err(CmeError::INCORRECT_PARAMETERS.into());
            }
            return Ok(user.to_string());
        }
    };
    Ok(named.to_string())
}

/// The job for command `c` on `profile`.
fn build(profile: &HttpProfile, c: &Command, body: Option<Vec<u8>>, scale: f64) -> HttpRequest {
    let method = match c.command {
        0 => HttpMethod::Head,
        1 => HttpMethod::Get,
        2 => HttpMethod::Delete,
        3 => HttpMethod::Put,
        _ => HttpMethod::Post,
    };
    let mut headers = Vec::new();
    if let Some(content_type) = &c.content_type {
        let value = if content_type == "multipart/form-data" && c.command == 4 {
            format!("{content_type}; boundary={BOUNDARY}")
        } else {
            content_type.clone()
        };
        headers.push(("Content-Type".to_string(), value));
    }
    for header in profile.headers.values() {
        headers.push((header.name.clone(), header.value.clone()));
    }
    let timeout = Duration::from_secs(u64::from(profile.timeout_s)).mul_f64(scale);
    HttpRequest {
        host: profile.server().unwrap_or_default().to_string(),
        port: profile.port,
        method,
        path: c.path.clone(),
        headers,
        basic_auth: (profile.auth == 1)
            .then(|| (profile.username.clone(), profile.password.clone())),
        body,
        timeout,
        secure: profile.secure,
    }
}

/// A file wrapped for `multipart/form-data` (op 4 with content type 3).
fn multipart(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file_post\"; \
         filename=\"{name}\"\r\nContent-Length: {}\r\nContent-Type: \
         application/octet-stream\r\n\r\n",
        data.len()
    )
    .into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n\r\n").as_bytes());
    out
}

/// `[model]` the size of the request line and headers the client writes.
fn head_size(request: &HttpRequest) -> u64 {
    let fixed = "GET  HTTP/1.1\r\nHost: :65535\r\nUser-Agent: UBLOX-HttpClient V3.0\r\n\
                 Accept: */*\r\nContent-Length: 65535\r\n\r\n"
        .len();
    let headers: usize = request
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum();
    let auth = if request.basic_auth.is_some() { 60 } else { 0 };
    (fixed + request.path.len() + request.host.len() + headers + auth) as u64
}
