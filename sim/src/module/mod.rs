//! The simulated LEXI-R10 as a pure state machine:
//! `handle(input, now) -> effects`, plus [`Module::next_deadline`] for timers.
//!
//! No I/O and no clock here: the I/O task (`runner.rs`) passes in the
//! bytes from the host, timer ticks, job events and control messages with the
//! current time, and carries out the returned [`Effect`]s in order (send bytes,
//! start jobs, save NVM). That makes every behaviour unit-testable with a
//! made-up clock.
//!
//! The commands live in one file per chapter: `general` (identification,
//! echo, errors), `simcard` (PIN), `network` (radio, registration, RRC),
//! `pdp` (contexts, MNO profile, default PDP), `ip` (DNS, ping), `mqtt`
//! (the embedded MQTT client), `socket` (the internal TCP/IP stack's sockets
//! and their always-on rules), `power` (boot, reboot, power cut),
//! `sleep` (power saving, the wake line, the power log), `clock` (the
//! module's clock and network time, `+CTZU`, `+CCLK`), `http` (the embedded
//! HTTP client) and `files` (the file system its requests and responses
//! use).

mod clock;
mod files;
mod general;
mod http;
mod ip;
mod mqtt;
mod network;
mod pdp;
mod power;
mod simcard;
mod sleep;
mod snapshot;
mod socket;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::at::line::{Line, LineAssembler};
use crate::at::parse::{parse_line, Command, Form, ParsedLine};
use crate::at::reply::{final_result, frame, CmeError, CmeeMode, Fail};
use crate::config::{NetworkCondition, SimConfig, Timing};
use crate::jobs::{Job, JobEvent, JobId, MqttCommand, SocketCommand};
use crate::nvm::{DefaultPdp, NvmImage};

pub use clock::{ClockSource, TZ_QUARTERS};
pub use files::FileStore;
pub use http::{CustomHeader, HttpProfile, PROFILES as HTTP_PROFILES};
pub use mqtt::decode_hex;
pub use network::RegStat;
pub use power::PowerState;
pub use sleep::{PowerLogEntry, PowerMode};
pub use snapshot::SimSnapshot;
pub use socket::{Proto as SocketProto, SocketSnapshot};
use timers::{TimerKind, Timers};

/// Something that happened to the module.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes from the host's UART.
    Bytes(&'a [u8]),
    /// A deadline from [`Module::next_deadline`] may have passed.
    Tick,
    /// A job reported back.
    Job(JobId, JobEvent),
    /// The test's control handle.
    Control(Control),
}

/// Control-handle requests that act on the module itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// The next `commands` command lines answer `+CME ERROR: <cme_code>`.
    FailNext { commands: usize, cme_code: u16 },
    /// The answer (after the echo) to the next command line waits this long.
    DelayNextAnswer(Duration),
    /// Unannounced reset: queued output is lost, the module boots.
    Reboot,
    /// Power cut: silent until [`Control::PowerOn`].
    PowerOff,
    /// PWR_ON: boots a module that is off.
    PowerOn,
    /// Changes the radio environment.
    SetNetwork(NetworkCondition),
    /// The next `n` MQTT publishes are sent but never confirmed by URC.
    MqttNeverConfirmNext(usize),
    /// The MQTT session drops now: `+UUMQTTC: 0,101`.
    MqttDropSession,
    /// PWR_ON pulse: wakes a sleeping module (boots one that is off).
    WakeLine,
}

/// What the I/O task must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Bytes to the host (one echo run, one framed line, or raw bytes).
    Send(Vec<u8>),
    /// Output after this waits until the instant (real time).
    PauseUntil(Instant),
    /// Output still queued never goes out (unannounced reset, power cut).
    DropPendingOutput,
    StartJob(JobId, Job),
    CancelJob(JobId),
    CancelAllJobs,
    /// Hand a command to a running MQTT session job.
    MqttCommand(JobId, MqttCommand),
    /// Hand a write or a close to an open socket's job.
    SocketCommand(JobId, SocketCommand),
    /// Write this image to the NVM file (only emitted when it changed).
    SaveNvm(NvmImage),
    /// A command line as received, for the transcript.
    CommandLine(String),
}

/// State that every boot resets (the brief's "volatile" settings).
#[derive(Debug)]
struct Session {
    /// ATE: echo every received byte back.
    echo: bool,
    cmee: CmeeMode,
    /// `+CEREG=<n>`.
    cereg_n: u8,
    /// `+CSCON=<n>`.
    cscon_n: u8,
    /// The PIN was entered (or the SIM has none).
    sim_ready: bool,
    line: LineAssembler,
}

impl Session {
    fn after_boot(sim_has_pin: bool) -> Self {
        Session {
            echo: true,
            cmee: CmeeMode::Off,
            cereg_n: 0,
            cscon_n: 0,
            sim_ready: !sim_has_pin,
            line: LineAssembler::default(),
        }
    }
}

/// Settings read from NVM at boot ("takes effect at the next reboot").
#[derive(Debug, Clone, Copy)]
struct InEffect {
    mno_profile: u16,
    default_pdp: DefaultPdp,
}

/// Fault injection armed by the control handle; survives reboots because it
/// is about the next commands, whenever they come.
#[derive(Debug, Default)]
struct Faults {
    fail_next: Option<(usize, CmeError)>,
    delay_next: Option<Duration>,
    /// Publishes still to leave unconfirmed (`mqtt_never_confirm_next`).
    mqtt_never_confirm: usize,
}

/// A job the module is waiting on, and what to say when it reports.
#[derive(Debug, Clone)]
enum PendingJob {
    /// `+UDNSRN`.
    Dns,
    /// `+UPING`: what the `+UUPING` URCs repeat.
    Ping {
        host: String,
        count: u32,
        size: u32,
        ttl: u32,
        /// The resolved address, once known.
        addr: Option<String>,
    },
}

/// Upper bound of timers handled in one tick (see `on_tick`).
const MAX_TIMERS_PER_TICK: usize = 64;

/// A simulated LEXI-R10.
#[derive(Debug)]
pub struct Module {
    cfg: SimConfig,
    timing: Timing,
    power: PowerState,
    session: Session,
    radio: network::Radio,
    /// The test's radio environment: not module state, survives reboots.
    network: NetworkCondition,
    /// NVM as the module holds it; written through on every change.
    nvm: NvmImage,
    in_effect: InEffect,
    timers: Timers,
    jobs: BTreeMap<JobId, PendingJob>,
    /// Job ids only grow, so an event from before a reboot never matches.
    next_job: u64,
    faults: Faults,
    /// How many times NVM was written (for tests of "write only on change").
    nvm_writes: u64,
    /// Set by `AT+CFUN=16`: boot once the final result is out.
    reboot_after_answer: bool,
    /// The embedded MQTT client (volatile).
    mqtt: mqtt::Client,
    /// The internal TCP/IP stack's sockets (volatile).
    sockets: socket::Sockets,
    /// The embedded HTTP client (volatile; see `http/state.rs`).
    http: http::Client,
    /// Open files (volatile; the files are in NVM).
    files: files::OpenFiles,
    /// Effects of the current `handle` call.
    out: Vec<Effect>,
    /// URCs raised while a command runs go out after its final result.
    urcs: Vec<String>,
    /// Power saving (`+UPSV`, votes, sleep URCs) and the current depth.
    sleep: sleep::Sleep,
    /// When the simulator started (real time): module time counts from here.
    started: Instant,
    /// Every change of [`PowerMode`], in order.
    power_log: Vec<PowerLogEntry>,
    energy: crate::energy::Ledger,
    /// The module's clock (`+CCLK`); every boot restarts it.
    clock: clock::Rtc,
    /// What the network sends as its time (fixed by the config).
    network_clock: clock::NetworkClock,
}

/// One command implementation: the form as parsed, the time, and the
/// information lines to fill.
type Handler = fn(&mut Module, &Form, Instant, &mut Vec<String>) -> Result<(), Fail>;

/// Every extended command the module knows. Anything else (including the
/// note's typos `+UMQTTTC`, `+UHTTTP`, `+UHTTTPC`, `+UHTTPCR`) answers
/// plain `ERROR`.
const EXTENDED: &[(&str, Handler)] = &[
    ("+CGMI", Module::cgmi),
    ("+CGMM", Module::cgmm),
    ("+CGMR", Module::cgmr),
    ("+CGSN", Module::cgsn),
    ("+CMEE", Module::cmee),
    ("+CPIN", Module::cpin),
    ("+CFUN", Module::cfun),
    ("+COPS", Module::cops),
    ("+CEREG", Module::cereg),
    ("+CSCON", Module::cscon),
    ("+UMNOPROF", Module::umnoprof),
    ("+CGDCONT", Module::cgdcont),
    ("+UDCONF", Module::udconf),
    ("+UDNSRN", Module::udnsrn),
    ("+UPING", Module::uping),
    ("+UMQTT", Module::umqtt),
    ("+UMQTTNV", Module::umqttnv),
    ("+UMQTTC", Module::umqttc),
    ("+UMQTTER", Module::umqtter),
    ("+USOCR", Module::usocr),
    ("+USOCO", Module::usoco),
    ("+USOWR", Module::usowr),
    ("+USOST", Module::usost),
    ("+USORD", Module::usord),
    ("+USORF", Module::usorf),
    ("+USOCTL", Module::usoctl),
    ("+USOSO", Module::usoso),
    ("+USOSEC", Module::usosec),
    ("+USOLI", Module::usoli),
    ("+USOER", Module::usoer),
    ("+USOCL", Module::usocl),
    ("+UPSV", Module::upsv),
    ("+USLPVOTE", Module::uslpvote),
    ("+USLPURC", Module::uslpurc),
    ("+UUSBCONF", Module::uusbconf),
    ("+CTZU", Module::ctzu),
    ("+CCLK", Module::cclk),
    ("+UHTTP", Module::uhttp),
    ("+UHTTPNV", Module::uhttpnv),
    ("+UHTTPC", Module::uhttpc),
    ("+UHTTPER", Module::uhttper),
    ("+FOPEN", Module::fopen),
    ("+FCLOSE", Module::fclose),
    ("+FSEEK", Module::fseek),
    ("+FREAD", Module::fread),
    ("+FWRITE", Module::fwrite),
    ("+FWRITEHEX", Module::fwritehex),
    ("+FDELETE", Module::fdelete),
    ("+ULSTFILE", Module::ulstfile),
];

impl Module {
    /// A module that was just powered on: it boots from `now`. `host_utc`
    /// is the host's UTC (since the Unix epoch) at `now`, the network's time
    /// with [`crate::NetworkTime::Host`]: passed in, so the module reads no
    /// clock of its own.
    pub fn new(cfg: SimConfig, nvm: NvmImage, now: Instant, host_utc: Duration) -> Self {
        let timing = cfg.timing();
        let network_clock = clock::NetworkClock::new(&cfg, host_utc, now);
        let in_effect = InEffect {
            mno_profile: nvm.mno_profile,
            default_pdp: nvm.default_pdp,
        };
        let session = Session::after_boot(cfg.sim_pin.is_some());
        let energy = crate::energy::Ledger::new(cfg.currents.clone());
        let mut module = Module {
            cfg,
            timing,
            power: PowerState::Off,
            session,
            radio: network::Radio::default(),
            network: NetworkCondition::default(),
            nvm,
            in_effect,
            timers: Timers::default(),
            jobs: BTreeMap::new(),
            next_job: 0,
            faults: Faults::default(),
            nvm_writes: 0,
            reboot_after_answer: false,
            mqtt: mqtt::Client::default(),
            sockets: socket::Sockets::default(),
            http: http::Client::default(),
            files: files::OpenFiles::default(),
            out: Vec::new(),
            urcs: Vec::new(),
            sleep: sleep::Sleep::default(),
            started: now,
            power_log: Vec::new(),
            energy,
            clock: clock::Rtc::after_boot(now),
            network_clock,
        };
        module.begin_boot(now);
        module.out.clear();
        module.log_power_mode(now);
        module
    }

    /// The earliest instant at which [`Input::Tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn is_ready(&self) -> bool {
        self.power == PowerState::Ready
    }

    /// Feeds one input; returns what to do, in order.
    pub fn handle(&mut self, input: Input<'_>, now: Instant) -> Vec<Effect> {
        // What restarts the `+UPSV` timer; a job event (network activity)
        // also ends Sleep-1.
        let activity = match &input {
            Input::Bytes(bytes) => !bytes.is_empty(),
            Input::Job(..) => {
                self.wake_from_sleep1();
                true
            }
            Input::Control(control) => *control == Control::WakeLine,
            Input::Tick => false,
        };
        match input {
            Input::Bytes(bytes) => self.on_bytes(bytes, now),
            Input::Tick => self.on_tick(now),
            Input::Job(id, event) => self.on_job(id, event, now),
            Input::Control(control) => self.on_control(control, now),
        }
        self.sleep_review(now, activity);
        // URCs wait while a binary publish or socket write reads its payload
        // and while `+USOCO` waits for its connect [model].
        if !self.raw_input()
            && !self.socket_raw_input()
            && !self.socket_answer_pending()
            && !self.file_raw_input()
            && !self.http_data_mode()
        {
            self.flush_urcs();
        }
        self.log_power_mode(now);
        std::mem::take(&mut self.out)
    }

    fn on_bytes(&mut self, mut bytes: &[u8], now: Instant) {
        if self.uart_asleep() {
            return; // deep sleep: UART bytes do not wake it (see sleep.rs)
        }
        if self.in_sleep1() && !bytes.is_empty() {
            // [model] the byte that wakes Sleep-1 is lost (see sleep.rs).
            self.wake_from_sleep1();
            bytes = &bytes[1..];
        }
        let mut echo = Vec::new();
        for &byte in bytes {
            // Booting or off: everything the host sends is lost (checked per
            // byte: `AT+CFUN=16` in the middle of a chunk starts a boot).
            if !self.is_ready() {
                break;
            }
            if self.socket_answer_pending() {
                continue; // [model] lost: the interface waits for +USOCO
            }
            if self.socket_raw_input() {
                // [model] bytes after the `@` prompt are not echoed.
                self.socket_raw_byte(byte, now);
                continue;
            }
            if self.raw_input() {
                // [model] payload bytes after the `>` prompt are not echoed.
                self.raw_byte(byte, now);
                continue;
            }
            if self.file_raw_input() {
                // [model] data after `+FWRITE`'s `CONNECT` is not echoed.
                self.file_raw_byte(byte);
                continue;
            }
            if self.http_data_mode() {
                // Direct link: a body not echoed, or bytes dropped.
                self.http_raw_byte(byte, now);
                continue;
            }
            if self.session.echo {
                echo.push(byte);
            }
            if let Some(line) = self.session.line.push(byte) {
                if !echo.is_empty() {
                    self.out.push(Effect::Send(std::mem::take(&mut echo)));
                }
                self.run_line(line, now);
            }
        }
        if !echo.is_empty() {
            self.out.push(Effect::Send(echo));
        }
    }

    fn on_tick(&mut self, now: Instant) {
        // Bounded: no handler re-arms its own kind at `now`, but a zero
        // time scale must not be able to turn a slip into a busy loop.
        for _ in 0..MAX_TIMERS_PER_TICK {
            let Some(kind) = self.timers.pop_due(now) else {
                break;
            };
            match kind {
                TimerKind::Boot => self.boot_complete(now),
                TimerKind::Registration => self.registration_attempt_ends(now),
                TimerKind::RrcIdle => self.rrc_idle(),
                TimerKind::SleepEntry => self.sleep_entry(now),
                TimerKind::WakeComplete => self.wake_complete(now),
            }
        }
    }

    fn on_control(&mut self, control: Control, now: Instant) {
        match control {
            Control::FailNext { commands, cme_code } => {
                self.faults.fail_next = (commands > 0).then_some((commands, CmeError(cme_code)));
            }
            Control::DelayNextAnswer(delay) => self.faults.delay_next = Some(delay),
            Control::Reboot => self.reset(now),
            Control::PowerOff => self.power_off(),
            Control::PowerOn => self.power_on(now),
            Control::SetNetwork(condition) => self.set_network(condition, now),
            Control::MqttNeverConfirmNext(n) => self.faults.mqtt_never_confirm = n,
            Control::MqttDropSession => self.mqtt_drop_session(),
            Control::WakeLine => self.wake_line(now),
        }
    }

    /// Runs one command line and sends its answer.
    fn run_line(&mut self, line: Line, now: Instant) {
        let parsed = parse_line(&line.bytes);
        if parsed == ParsedLine::Blank && !line.overflowed {
            return; // [model] an empty line (or only noise) gets no answer
        }
        self.out.push(Effect::CommandLine(
            String::from_utf8_lossy(&line.bytes).into_owned(),
        ));
        if let Some(delay) = self.faults.delay_next.take() {
            let until = now.checked_add(delay).unwrap_or(now);
            self.out.push(Effect::PauseUntil(until));
        }
        let mut info = Vec::new();
        let result = if let Some(code) = self.take_injected_failure() {
            Err(Fail::Cme(code))
        } else if line.overflowed {
            Err(Fail::Error)
        } else {
            match parsed {
                ParsedLine::Commands(commands) => commands
                    .iter()
                    .try_for_each(|command| self.execute(command, now, &mut info)),
                ParsedLine::Blank | ParsedLine::Malformed => Err(Fail::Error),
            }
        };
        for text in &info {
            self.out.push(Effect::Send(frame(text)));
        }
        if self.socket_prompt(result.is_ok())
            || self.file_prompt(result.is_ok())
            || self.http_prompt(result.is_ok(), now)
        {
            return;
        }
        if self.socket_defer_answer(result.is_ok()) {
            return; // `+USOCO`: the final result comes with the connect
        }
        if self.raw_input() {
            if result.is_ok() {
                // `+UMQTTC=9`: the prompt instead of the final result, which
                // comes once the payload is in (`raw_byte`, `mqtt/session.rs`).
                self.out.push(Effect::Send(b"\r\n>".to_vec()));
                return;
            }
            self.mqtt.raw = None;
        }
        let result_text = final_result(result, self.session.cmee);
        self.out.push(Effect::Send(frame(&result_text)));
        self.flush_urcs();
        if std::mem::take(&mut self.reboot_after_answer) {
            self.begin_boot(now);
        }
    }

    fn take_injected_failure(&mut self) -> Option<CmeError> {
        let (left, code) = self.faults.fail_next?;
        self.faults.fail_next = (left > 1).then_some((left - 1, code));
        Some(code)
    }

    fn execute(
        &mut self,
        command: &Command,
        now: Instant,
        info: &mut Vec<String>,
    ) -> Result<(), Fail> {
        match command {
            Command::Basic { name, value } => match name.as_str() {
                "E" => self.ate(value.as_deref()),
                "I" => self.ati(value.as_deref(), info),
                _ => Err(Fail::Error),
            },
            Command::Extended { name, form } => {
                let Some((_, handler)) = EXTENDED.iter().find(|(n, _)| n == name) else {
                    return Err(Fail::Error);
                };
                let form = form.as_ref().map_err(|_| CmeError::INCORRECT_PARAMETERS)?;
                handler(self, form, now, info)
            }
        }
    }

    /// Queues a URC; it goes out after the current answer (or at once when no
    /// command is running).
    fn urc(&mut self, text: String) {
        self.urcs.push(text);
    }

    fn flush_urcs(&mut self) {
        // [model] held while the UART sleeps; they follow the wake URC.
        if self.uart_asleep() {
            return;
        }
        for text in std::mem::take(&mut self.urcs) {
            self.out.push(Effect::Send(frame(&text)));
        }
    }

    /// Applies `change` to NVM and saves it if anything changed.
    fn update_nvm(&mut self, change: impl FnOnce(&mut NvmImage)) {
        let before = self.nvm.clone();
        change(&mut self.nvm);
        if self.nvm != before {
            self.nvm_writes += 1;
            self.out.push(Effect::SaveNvm(self.nvm.clone()));
        }
    }

    fn new_job_id(&mut self) -> JobId {
        self.next_job += 1;
        JobId(self.next_job)
    }

    pub fn snapshot(&self) -> SimSnapshot {
        SimSnapshot {
            power: self.power,
            echo: self.session.echo,
            cmee: self.session.cmee.number(),
            sim_ready: self.session.sim_ready,
            cfun: self.radio.cfun,
            cops_mode: self.radio.cops_mode(),
            reg_stat: self.radio.stat,
            cereg_n: self.session.cereg_n,
            cscon_n: self.session.cscon_n,
            rrc_connected: self.radio.rrc_connected,
            network: self.network,
            mno_profile: self.in_effect.mno_profile,
            default_pdp: self.in_effect.default_pdp,
            nvm: self.nvm.clone(),
            nvm_writes: self.nvm_writes,
            pending_jobs: self.jobs.len(),
            mqtt_connected: matches!(self.mqtt.state, mqtt::State::Connected { .. }),
            sockets: self.socket_snapshot(),
            power_mode: self.power_mode(),
            clock_source: self.clock.source(),
        }
    }

    /// Module time at real instant `now`.
    pub fn module_time(&self, now: Instant) -> Duration {
        self.cfg
            .unscaled(now.saturating_duration_since(self.started))
    }

    /// Appends to the power log (and the ledger) when the mode changed.
    fn log_power_mode(&mut self, now: Instant) {
        let state = self.power_mode();
        if self.power_log.last().map(|e| e.state) == Some(state) {
            return;
        }
        let entry = PowerLogEntry {
            at: self.module_time(now),
            state,
        };
        self.power_log.push(entry);
        self.energy.enter(entry);
    }

    /// Every change of power mode since the simulator started.
    pub fn power_log(&self) -> &[PowerLogEntry] {
        &self.power_log
    }

    /// The energy drawn up to real instant `now`.
    pub fn energy_report(&self, now: Instant) -> crate::energy::EnergyReport {
        self.energy.report(self.module_time(now))
    }
}

/// The standard reply for a form a command does not have.
/// `[model]` `+CME ERROR: operation not supported` (test forms `=?` included).
fn unsupported() -> Result<(), Fail> {
    Err(CmeError::OPERATION_NOT_SUPPORTED.into())
}

/// CME 50, for `?` on parameter helpers.
fn bad_param<T>(_: T) -> Fail {
    CmeError::INCORRECT_PARAMETERS.into()
}
