//! Unit tests of the pure state machine: a made-up clock, no I/O.
//!
//! This file is the harness every group shares; the groups follow the
//! chapters: `wire` (echo, errors, concatenation, the transcript), `network`
//! (SIM, radio and registration, PDP and the MNO profile), `ip` (DNS and
//! ping), `power` (reboot, power cut, fault injection, NVM across restarts),
//! `mqtt` (§6), `sockets` (§5), `sleep` (power saving),
//! `clock` (the clock and network time), `http` (§7) and `files` (the file
//! system §7.2 uses).

use std::time::{Duration, Instant};

use super::*;

mod clock;
mod files;
mod http;
mod ip;
mod mqtt;
mod network;
mod power;
mod sleep;
mod sockets;
mod wire;

/// A module driven by hand.
struct Harness {
    m: Module,
    now: Instant,
    /// Every effect that was not a `Send`, in order, since the last `take_*`.
    effects: Vec<Effect>,
}

/// The host's clock as the harness's module sees it: 2026-12-04 20:15:30 UTC.
const HOST_UTC: Duration = Duration::from_secs(1_796_415_330);

fn config() -> SimConfig {
    SimConfig::new("/nonexistent/nvm-not-used-by-pure-tests")
}

impl Harness {
    /// A module that has booted (and, unless the SIM has a PIN, registered).
    fn ready(cfg: SimConfig) -> Self {
        Self::ready_with_nvm(cfg, NvmImage::default())
    }

    fn ready_with_nvm(cfg: SimConfig, nvm: NvmImage) -> Self {
        let now = Instant::now();
        let timing = cfg.timing();
        let mut h = Harness {
            m: Module::new(cfg, nvm, now, HOST_UTC),
            now,
            effects: Vec::new(),
        };
        assert!(!h.m.is_ready());
        h.advance(timing.boot);
        assert!(h.m.is_ready());
        h.advance(timing.registration);
        h.effects.clear();
        h
    }

    fn run(&mut self, input: Input<'_>) -> String {
        let mut sent = Vec::new();
        for effect in self.m.handle(input, self.now) {
            match effect {
                Effect::Send(bytes) => sent.extend(bytes),
                other => self.effects.push(other),
            }
        }
        String::from_utf8_lossy(&sent).into_owned()
    }

    /// Sends `line` + CR; returns everything the module sent (echo included).
    fn send(&mut self, line: &str) -> String {
        self.run(Input::Bytes(format!("{line}\r").as_bytes()))
    }

    /// Sends with echo stripped: just the answer.
    fn answer(&mut self, line: &str) -> String {
        let all = self.send(line);
        let echo = format!("{line}\r");
        all.strip_prefix(&echo).map(str::to_string).unwrap_or(all)
    }

    fn advance(&mut self, by: Duration) -> String {
        self.now += by;
        self.run(Input::Tick)
    }

    fn control(&mut self, control: Control) -> String {
        self.run(Input::Control(control))
    }

    fn job(&mut self, id: JobId, event: JobEvent) -> String {
        self.run(Input::Job(id, event))
    }

    fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The one job started since the last `take_effects`.
    fn started_job(&mut self) -> (JobId, Job) {
        let started: Vec<(JobId, Job)> = self
            .take_effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::StartJob(id, job) => Some((id, job)),
                _ => None,
            })
            .collect();
        assert_eq!(started.len(), 1, "{started:?}");
        started.into_iter().next().unwrap()
    }

    fn saves(&mut self) -> Vec<NvmImage> {
        self.take_effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::SaveNvm(image) => Some(image),
                _ => None,
            })
            .collect()
    }

    fn timing(&self) -> Timing {
        self.m.timing
    }
}

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

fn ok_with(lines: &[&str]) -> String {
    let mut s: String = lines.iter().map(|l| format!("\r\n{l}\r\n")).collect();
    s.push_str(OK);
    s
}

fn urcs(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("\r\n{l}\r\n")).collect()
}
