//! Unit tests of the pure state machine: a made-up clock, no I/O.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::nvm::NvmStore;

mod clock_tests;
mod security;
mod sleep_tests;

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

// ---- wire basics -------------------------------------------------------

#[test]
fn echo_is_on_after_boot_and_includes_the_cr() {
    let mut h = Harness::ready(config());
    assert_eq!(h.send("AT"), format!("AT\r{OK}"));
    assert_eq!(h.send("at"), format!("at\r{OK}"));
}

#[test]
fn ate0_turns_echo_off_after_its_own_line_and_ate1_or_ate_back_on() {
    let mut h = Harness::ready(config());
    assert_eq!(h.send("ATE0"), format!("ATE0\r{OK}"));
    assert_eq!(h.send("AT"), OK);
    assert_eq!(h.send("ATE1"), OK);
    assert_eq!(h.send("AT"), format!("AT\r{OK}"));
    h.send("ATE0");
    assert_eq!(h.send("ATE"), OK);
    assert!(h.m.session.echo);
    h.send("AT+CMEE=1");
    assert_eq!(h.answer("ATE2"), "\r\n+CME ERROR: 50\r\n");
}

#[test]
fn lf_is_echoed_but_ignored_and_a_blank_line_gets_no_answer() {
    let mut h = Harness::ready(config());
    assert_eq!(h.run(Input::Bytes(b"AT\r\n")), format!("AT\r{OK}\n"));
    assert_eq!(h.send(""), "\r");
    h.send("ATE0");
    assert_eq!(h.run(Input::Bytes(b"\r\n\r")), "");
}

#[test]
fn bytes_split_anywhere_make_the_same_line() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.run(Input::Bytes(b"AT+CG")), "");
    assert_eq!(h.run(Input::Bytes(b"MI")), "");
    assert_eq!(h.run(Input::Bytes(b"\r")), ok_with(&["u-blox"]));
}

#[test]
fn identification_commands() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+CGMI"), ok_with(&["u-blox"]));
    assert_eq!(h.send("AT+CGMM"), ok_with(&["LEXI-R10401D"]));
    assert_eq!(h.send("AT+CGMR"), ok_with(&["01.24"]));
    assert_eq!(h.send("AT+CGSN"), ok_with(&["357862090033897"]));
    assert_eq!(h.send("ATI9"), ok_with(&["01.24,A01.00"]));
    assert_eq!(
        h.send("ATI"),
        ok_with(&[
            "Manufacturer: u-blox",
            "Model: LEXI-R10401D",
            "Revision: 01.24",
            "SVN: 00",
            "IMEI: 357862090033897"
        ])
    );
    let mut cfg = config();
    cfg.imei = "490154203237518".into();
    let mut h = Harness::ready(cfg);
    assert_eq!(h.answer("AT+CGSN"), ok_with(&["490154203237518"]));
}

#[test]
fn cmee_selects_the_error_form() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+CMEE?"), ok_with(&["+CMEE: 0"]));
    assert_eq!(h.send("AT+CFUN=7"), ERROR);
    assert_eq!(h.send("AT+CMEE=1"), OK);
    assert_eq!(h.send("AT+CMEE?"), ok_with(&["+CMEE: 1"]));
    assert_eq!(h.send("AT+CFUN=7"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+CMEE=2"), OK);
    assert_eq!(
        h.send("AT+CFUN=7"),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    assert_eq!(
        h.send("AT+CMEE=3"),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    assert_eq!(
        h.send("AT+CMEE=\"2\""),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    assert_eq!(h.send("AT+CMEE=0"), OK);
    assert_eq!(h.send("AT+CMEE=9"), ERROR);
}

#[test]
fn unknown_and_misspelled_commands_answer_plain_error_whatever_cmee_says() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CMEE=2");
    for line in [
        "AT+UMQTTTC=1",
        "AT+UHTTTP=0,10,1",
        "AT+UHTTTPC=0,0,\"/\",\"head.ffs\"",
        "AT+UHTTPCR=0,4,\"/post\",\"result.txt\",\"postdata.txt\",1",
        "AT+NOPE?",
        "ATX",
        "AT&C1",
        "ATE0V1",
        "hello",
        "AT+",
        "AT+CMEE=2;;+CEREG=2",
    ] {
        assert_eq!(h.send(line), ERROR, "{line}");
    }
}

#[test]
fn malformed_parameters_of_a_known_command_are_cme_50_and_test_forms_cme_4() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CGDCONT=1,\"IP\"x"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+CMEE?x"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+CMEE=?"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.send("AT+CGMI?"), "\r\n+CME ERROR: 4\r\n");
}

#[test]
fn semicolon_concatenation_runs_in_order_with_one_final_result() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+CMEE=2;+CEREG=2"), OK);
    assert_eq!(h.m.session.cmee, CmeeMode::Verbose);
    assert_eq!(h.m.session.cereg_n, 2);
    assert_eq!(
        h.send("AT+CGMI;+CGMM;"),
        ok_with(&["u-blox", "LEXI-R10401D"])
    );
    // A failing command stops the line; what ran before it stays done.
    assert_eq!(h.send("AT+CMEE=1;+UMQTTTC=1;+CMEE=0"), ERROR);
    assert_eq!(h.m.session.cmee, CmeeMode::Numeric);
    assert_eq!(
        h.send("AT+CGMI;+CFUN=9"),
        "\r\nu-blox\r\n\r\n+CME ERROR: 50\r\n"
    );
}

#[test]
fn a_too_long_line_answers_error() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    let long = format!(
        "AT+CGDCONT=2,\"IP\",\"{}\"",
        "a".repeat(crate::at::line::MAX_LINE)
    );
    assert_eq!(h.send(&long), ERROR);
    assert_eq!(h.send("AT"), OK);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut h = Harness::ready(config());
    // A small linear congruential generator: reproducible, no dependency.
    let mut x: u32 = 12345;
    let alphabet = b"AT+=?,;\"\r\n\x08\x00\xffCMEFUNGDOPSI0123456789";
    for _ in 0..20_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let len = (x >> 24) as usize % 24;
        let bytes: Vec<u8> = (0..len)
            .map(|i| {
                let r = x.rotate_left(i as u32 * 5);
                if r % 7 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 3) as usize % alphabet.len()]
                }
            })
            .collect();
        h.run(Input::Bytes(&bytes));
        h.advance(Duration::from_millis(u64::from(x % 700)));
    }
}

// ---- SIM ----------------------------------------------------------------

#[test]
fn a_sim_pin_blocks_registration_until_entered() {
    let mut cfg = config();
    cfg.sim_pin = Some("1234".into());
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    assert_eq!(h.send("AT+CPIN?"), ok_with(&["+CPIN: SIM PIN"]));
    assert_eq!(h.send("AT+CEREG?"), ok_with(&["+CEREG: 0,0"]));
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CPIN=\"0000\""), "\r\n+CME ERROR: 16\r\n");
    h.send("AT+CMEE=2");
    assert_eq!(
        h.send("AT+CPIN=\"0000\""),
        "\r\n+CME ERROR: incorrect password\r\n"
    );
    assert_eq!(
        h.send("AT+CPIN=1234"),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    h.send("AT+CEREG=1");
    assert_eq!(
        h.send("AT+CPIN=\"1234\""),
        format!("{OK}{}", urcs(&["+CEREG: 2"]))
    );
    assert_eq!(h.send("AT+CPIN?"), ok_with(&["+CPIN: READY"]));
    let t = h.timing().registration;
    assert_eq!(h.advance(t), urcs(&["+CEREG: 1"]));
    assert_eq!(
        h.send("AT+CPIN=\"1234\""),
        "\r\n+CME ERROR: operation not allowed\r\n"
    );
    // After a reboot the SIM is locked again.
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    assert_eq!(h.answer("AT+CPIN?"), ok_with(&["+CPIN: SIM PIN"]));
}

#[test]
fn without_a_pin_the_sim_is_ready() {
    let mut h = Harness::ready(config());
    assert_eq!(h.answer("AT+CPIN?"), ok_with(&["+CPIN: READY"]));
}

// ---- radio and registration ------------------------------------------------

#[test]
fn registration_after_boot_and_cfun_cycles_with_urcs() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+CFUN?"), ok_with(&["+CFUN: 1"]));
    assert_eq!(h.send("AT+CEREG?"), ok_with(&["+CEREG: 0,1"]));
    h.send("AT+CEREG=1;+CSCON=1");
    assert_eq!(
        h.send("AT+CFUN=0"),
        format!("{OK}{}", urcs(&["+CEREG: 0", "+CSCON: 0"]))
    );
    assert_eq!(h.send("AT+CFUN?"), ok_with(&["+CFUN: 0"]));
    assert_eq!(h.send("AT+CFUN=1"), format!("{OK}{}", urcs(&["+CEREG: 2"])));
    let t = h.timing().registration;
    assert_eq!(h.advance(t), urcs(&["+CEREG: 1", "+CSCON: 1"]));
    // CFUN=1 again changes nothing.
    assert_eq!(h.send("AT+CFUN=1"), OK);
    assert_eq!(
        h.send("AT+CFUN=4"),
        format!("{OK}{}", urcs(&["+CEREG: 0", "+CSCON: 0"]))
    );
    assert_eq!(h.send("AT+CFUN?"), ok_with(&["+CFUN: 4"]));
    assert_eq!(h.send("AT+CFUN=4"), OK);
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CFUN=2"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+CFUN=1,1"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(
        h.send("AT+CFUN=1,0"),
        format!("{OK}{}", urcs(&["+CEREG: 2"]))
    );
}

#[test]
fn cereg_read_and_urc_forms() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CEREG=2");
    assert_eq!(
        h.send("AT+CEREG?"),
        ok_with(&["+CEREG: 2,1,\"2B67\",\"0A1B2C3D\",7"])
    );
    h.send("AT+CFUN=0");
    assert_eq!(h.send("AT+CEREG?"), ok_with(&["+CEREG: 2,0"]));
    assert_eq!(h.send("AT+CFUN=1"), format!("{OK}{}", urcs(&["+CEREG: 2"])));
    let t = h.timing().registration;
    assert_eq!(h.advance(t), urcs(&["+CEREG: 1,\"2B67\",\"0A1B2C3D\",7"]));
    h.send("AT+CEREG=1");
    assert_eq!(h.send("AT+CEREG?"), ok_with(&["+CEREG: 1,1"]));
    h.send("AT+CEREG=0");
    assert_eq!(h.send("AT+CFUN=0"), OK, "no URC with n=0");
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CEREG=6"), "\r\n+CME ERROR: 50\r\n");
}

#[test]
fn cscon_follows_traffic_and_inactivity() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+CSCON?"), ok_with(&["+CSCON: 0,1"]));
    h.send("AT+CSCON=1");
    let idle = h.timing().rrc_inactivity;
    assert_eq!(h.advance(idle), urcs(&["+CSCON: 0"]));
    assert_eq!(h.send("AT+CSCON?"), ok_with(&["+CSCON: 1,0"]));
    // DNS is traffic.
    assert_eq!(
        h.send("AT+UDNSRN=0,\"localhost\""),
        format!("{OK}{}", urcs(&["+CSCON: 1"]))
    );
    assert_eq!(h.advance(idle / 2), "");
    assert_eq!(h.advance(idle / 2), urcs(&["+CSCON: 0"]));
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CSCON=2"), "\r\n+CME ERROR: 50\r\n");
}

#[test]
fn cops_read_deregister_and_automatic() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 0,0,\"sim-net\",7"]));
    h.send("AT+CEREG=1");
    assert_eq!(h.send("AT+COPS=2"), format!("{OK}{}", urcs(&["+CEREG: 0"])));
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 2"]));
    // Radio cycles do not undo COPS=2.
    h.send("AT+CFUN=0");
    assert_eq!(h.send("AT+CFUN=1"), OK);
    assert_eq!(h.send("AT+COPS=0"), format!("{OK}{}", urcs(&["+CEREG: 2"])));
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 0"]));
    let t = h.timing().registration;
    assert_eq!(h.advance(t), urcs(&["+CEREG: 1"]));
    // COPS=0 while registered: nothing happens.
    assert_eq!(h.send("AT+COPS=0"), OK);
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+COPS=1,2,\"22201\""), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+COPS=1"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.send("AT+COPS=9"), "\r\n+CME ERROR: 50\r\n");
    let mut cfg = config();
    cfg.operator = "I TIM".into();
    let mut h = Harness::ready(cfg);
    assert_eq!(h.answer("AT+COPS?"), ok_with(&["+COPS: 0,0,\"I TIM\",7"]));
}

#[test]
fn network_conditions_drive_cereg() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CEREG=1");
    let t = h.timing().registration;
    assert_eq!(
        h.control(Control::SetNetwork(NetworkCondition::NoCoverage)),
        urcs(&["+CEREG: 2"])
    );
    assert_eq!(h.advance(t), "", "keeps searching");
    assert_eq!(h.advance(t * 10), "");
    assert_eq!(
        h.control(Control::SetNetwork(NetworkCondition::Roaming)),
        ""
    );
    assert_eq!(h.advance(t), urcs(&["+CEREG: 5"]));
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 0,0,\"sim-net\",7"]));
    assert_eq!(
        h.control(Control::SetNetwork(NetworkCondition::Denied)),
        urcs(&["+CEREG: 2"])
    );
    assert_eq!(h.advance(t), urcs(&["+CEREG: 3"]));
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 0"]));
    assert_eq!(
        h.control(Control::SetNetwork(NetworkCondition::Coverage)),
        urcs(&["+CEREG: 2"])
    );
    assert_eq!(h.advance(t), urcs(&["+CEREG: 1"]));
    // With the radio off a change is remembered, not acted on.
    h.send("AT+CFUN=0");
    assert_eq!(
        h.control(Control::SetNetwork(NetworkCondition::Roaming)),
        ""
    );
    h.send("AT+CFUN=1");
    assert_eq!(h.advance(t), urcs(&["+CEREG: 5"]));
}

// ---- PDP, MNO profile, UDCONF -------------------------------------------------

#[test]
fn umnoprof_is_refused_with_the_radio_on_and_validates_the_profile() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CMEE=2");
    assert_eq!(
        h.send("AT+UMNOPROF=100"),
        "\r\n+CME ERROR: operation not allowed\r\n"
    );
    h.send("AT+CFUN=0");
    assert_eq!(
        h.send("AT+UMNOPROF=7"),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    assert_eq!(
        h.send("AT+UMNOPROF=-1"),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    h.take_effects();
    assert_eq!(h.send("AT+UMNOPROF=90"), OK);
    assert!(h.saves().is_empty(), "same as stored: no NVM write");
    h.send("AT+CFUN=4");
    assert_eq!(h.send("AT+UMNOPROF=201"), OK);
    assert_eq!(h.saves().len(), 1);
}

#[test]
fn the_network_settings_sequence_of_section_2_3() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    let boot = h.timing().boot;
    let registration = h.timing().registration;
    assert_eq!(h.send("AT+UMNOPROF?"), ok_with(&["+UMNOPROF: 90"]));
    assert_eq!(h.send("AT+CFUN=0"), OK);
    assert_eq!(h.send("AT+UMNOPROF=100"), OK);
    // Stored, not yet in effect.
    assert_eq!(h.send("AT+UMNOPROF?"), ok_with(&["+UMNOPROF: 90"]));
    assert_eq!(h.send("AT+CFUN=16"), OK);
    assert!(!h.m.is_ready());
    // Booting: input is dropped, nothing is sent.
    assert_eq!(h.send("AT"), "");
    h.advance(boot);
    // Echo is back on after the reboot.
    assert_eq!(
        h.send("AT+UMNOPROF?"),
        format!("AT+UMNOPROF?\r{}", ok_with(&["+UMNOPROF: 100"]))
    );
    h.send("ATE0");
    assert_eq!(h.send("AT+CFUN=0"), OK);
    assert_eq!(h.send("AT+CGDCONT=1,\"IPV4V6\",\"apn_name\""), OK);
    assert_eq!(h.send("AT+CFUN=1"), OK);
    h.advance(registration);
    assert_eq!(h.send("AT+COPS?"), ok_with(&["+COPS: 0,0,\"sim-net\",7"]));
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&["+CGDCONT: 1,\"IP\",\"apn_name\",\"10.40.50.5\",0,0,0,0,0"])
    );
    assert_eq!(h.send("AT+CSCON=1"), OK);
}

#[test]
fn cgdcont_read_before_and_after_attach() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CFUN=0");
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&["+CGDCONT: 1,\"IPV4V6\",\"\",\"0.0.0.0\",0,0,0,0,0"])
    );
    h.send("AT+CGDCONT=1,\"IP\",\"iot.example\"");
    h.send("AT+CGDCONT=3,\"IPV6\",\"v6.example\"");
    let before = [
        "+CGDCONT: 1,\"IP\",\"iot.example\",\"0.0.0.0\",0,0,0,0,0",
        "+CGDCONT: 3,\"IPV6\",\"v6.example\",\"0.0.0.0\",0,0,0,0,0",
    ];
    assert_eq!(h.send("AT+CGDCONT?"), ok_with(&before));
    h.send("AT+CFUN=1");
    // Searching: still no address.
    assert_eq!(h.send("AT+CGDCONT?"), ok_with(&before));
    let t = h.timing().registration;
    h.advance(t);
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&[
            "+CGDCONT: 1,\"IP\",\"iot.example\",\"10.40.50.5\",0,0,0,0,0",
            "+CGDCONT: 3,\"IPV6\",\"v6.example\",\"0.0.0.0\",0,0,0,0,0",
        ])
    );
    let mut cfg = config();
    cfg.assigned_address = "10.1.2.3".parse().unwrap();
    let mut h = Harness::ready(cfg);
    assert_eq!(
        h.answer("AT+CGDCONT?"),
        ok_with(&["+CGDCONT: 1,\"IP\",\"\",\"10.1.2.3\",0,0,0,0,0"])
    );
}

#[test]
fn cgdcont_rules() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CMEE=1");
    h.take_effects();
    // Context 1 cannot change while registered; others can.
    assert_eq!(h.send("AT+CGDCONT=1,\"IP\",\"x\""), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.send("AT+CGDCONT=1"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.send("AT+CGDCONT=2,\"ip\",\"two\""), OK);
    assert_eq!(h.saves().len(), 1);
    assert_eq!(h.send("AT+CGDCONT=2,\"IP\",\"two\""), OK);
    assert!(h.saves().is_empty(), "unchanged: no NVM write");
    assert_eq!(h.send("AT+CGDCONT=2"), OK);
    assert_eq!(
        h.saves()[0].contexts.keys().copied().collect::<Vec<_>>(),
        vec![1]
    );
    for bad in [
        "AT+CGDCONT=0,\"IP\",\"a\"",
        "AT+CGDCONT=16,\"IP\",\"a\"",
        "AT+CGDCONT=2,\"PPP\",\"a\"",
        "AT+CGDCONT=2,IP,\"a\"",
        "AT+CGDCONT=2,\"IP\",a",
        "AT+CGDCONT=\"2\"",
        "AT+CGDCONT=",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
    // Extra parameters are accepted.
    assert_eq!(h.send("AT+CGDCONT=4,\"IPV4V6\",\"four\",\"\",0,0"), OK);
    // With the radio off, context 1 can change (and be undefined).
    h.send("AT+CFUN=0");
    assert_eq!(h.send("AT+CGDCONT=1"), OK);
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&["+CGDCONT: 4,\"IPV4V6\",\"four\",\"0.0.0.0\",0,0,0,0,0"])
    );
}

#[test]
fn udconf_19_is_stored_and_takes_effect_after_reboot() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+UDCONF=19"), ok_with(&["+UDCONF: 19,1,0"]));
    assert_eq!(h.send("AT+UDCONF=19,2,0"), OK);
    assert_eq!(h.send("AT+UDCONF=19"), ok_with(&["+UDCONF: 19,2,0"]));
    assert_eq!(
        h.m.snapshot().default_pdp,
        DefaultPdp { cid: 1, ip_type: 0 }
    );
    assert_eq!(h.send("AT+UDCONF=19,16,0"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+UDCONF=19,2,7"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+UDCONF=19,2"), "\r\n+CME ERROR: 50\r\n");
    assert_eq!(h.send("AT+UDCONF=20,1"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.send("AT+UDCONF?"), "\r\n+CME ERROR: 4\r\n");
    h.send("AT+CFUN=16");
    let boot = h.timing().boot;
    h.advance(boot);
    assert_eq!(
        h.m.snapshot().default_pdp,
        DefaultPdp { cid: 2, ip_type: 0 }
    );
}

// ---- DNS and ping ----------------------------------------------------------

#[test]
fn dns_answers_ok_then_a_urc() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+UDNSRN=0,\"broker.test\""), OK);
    let (id, job) = h.started_job();
    assert_eq!(
        job,
        Job::Resolve {
            name: "broker.test".into(),
            delay: h.timing().dns
        }
    );
    let addr: IpAddr = "192.0.2.7".parse().unwrap();
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some(addr))),
        urcs(&["+UUDNSRN: \"192.0.2.7\""])
    );
    // A second event for the same job is stale.
    assert_eq!(h.job(id, JobEvent::Resolved(Some(addr))), "");

    // Failure form.
    h.send("AT+UDNSRN=0, \"nowhere.test\"");
    let (id, _) = h.started_job();
    assert_eq!(
        h.job(id, JobEvent::Resolved(None)),
        urcs(&["+UUDNSRN: \"\""])
    );

    // Reverse look-up, extra parameters ignored.
    assert_eq!(h.send("AT+UDNSRN=1,\"127.0.0.1\",1"), OK);
    let (id, job) = h.started_job();
    assert!(matches!(job, Job::Reverse { .. }));
    assert_eq!(
        h.job(id, JobEvent::Reversed(Some("localhost".into()))),
        urcs(&["+UUDNSRN: \"localhost\""])
    );

    h.send("AT+CMEE=1");
    for bad in [
        "AT+UDNSRN=2,\"x\"",
        "AT+UDNSRN=1,\"not-an-ip\"",
        "AT+UDNSRN=0",
        "AT+UDNSRN=0,\"\"",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
}

#[test]
fn dns_fails_by_urc_when_not_registered() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CFUN=0");
    assert_eq!(
        h.send("AT+UDNSRN=0,\"localhost\""),
        format!("{OK}{}", urcs(&["+UUDNSRN: \"\""]))
    );
    // Registration lost while the look-up runs: failure too.
    h.send("AT+CFUN=1");
    let t = h.timing().registration;
    h.advance(t);
    h.send("AT+UDNSRN=0,\"localhost\"");
    let (id, _) = h.started_job();
    h.send("AT+CFUN=0");
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap()))),
        urcs(&["+UUDNSRN: \"\""])
    );
}

#[test]
fn ping_reports_each_reply() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+UPING=\"www.google.com\""), OK);
    let (id, job) = h.started_job();
    assert_eq!(
        job,
        Job::Ping {
            host: "www.google.com".into(),
            resolve_delay: h.timing().dns,
            count: 4,
            rtt: h.timing().ping_rtt
        }
    );
    assert_eq!(
        h.job(
            id,
            JobEvent::Resolved(Some("216.58.206.68".parse().unwrap()))
        ),
        ""
    );
    for seq in 1..=4 {
        assert_eq!(
            h.job(id, JobEvent::PingReply { seq }),
            urcs(&[&format!(
                "+UUPING: {seq},32,\"www.google.com\",\"216.58.206.68\",64,50"
            )])
        );
    }
    assert_eq!(h.m.snapshot().pending_jobs, 0);

    // Parameters: count, size, timeout, ttl; a literal needs no DNS time.
    assert_eq!(h.send("AT+UPING=\"192.0.2.1\",2,100,1000,10"), OK);
    let (id, job) = h.started_job();
    assert!(
        matches!(job, Job::Ping { count: 2, resolve_delay, .. } if resolve_delay == Duration::ZERO)
    );
    h.job(id, JobEvent::Resolved(Some("192.0.2.1".parse().unwrap())));
    assert_eq!(
        h.job(id, JobEvent::PingReply { seq: 1 }),
        urcs(&["+UUPING: 1,100,\"192.0.2.1\",\"192.0.2.1\",10,50"])
    );
    // Still running: a second ping is refused.
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+UPING=\"192.0.2.1\""), "\r\n+CME ERROR: 3\r\n");
    h.job(id, JobEvent::PingReply { seq: 2 });
    for bad in [
        "AT+UPING=\"x\",0",
        "AT+UPING=\"x\",65",
        "AT+UPING=\"x\",4,3",
        "AT+UPING=\"x\",4,32,5",
        "AT+UPING=\"x\",4,32,1000,0",
        "AT+UPING=x",
        "AT+UPING=\"\"",
        "AT+UPING=\"x\",4,32,1000,64,1",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
}

#[test]
fn ping_errors() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+UPING=\"nowhere.test\"");
    let (id, _) = h.started_job();
    assert_eq!(h.job(id, JobEvent::Resolved(None)), urcs(&["+UUPINGER: 8"]));
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));

    // Registration lost mid-ping: error 17 and the job is cancelled.
    h.send("AT+UPING=\"localhost\"");
    let (id, _) = h.started_job();
    h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap())));
    h.job(id, JobEvent::PingReply { seq: 1 });
    h.send("AT+CFUN=0");
    assert_eq!(
        h.job(id, JobEvent::PingReply { seq: 2 }),
        urcs(&["+UUPINGER: 17"])
    );
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));

    // Not registered at all: OK, then error 17.
    assert_eq!(
        h.send("AT+UPING=\"localhost\""),
        format!("{OK}{}", urcs(&["+UUPINGER: 17"]))
    );
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
}

#[test]
fn jobs_from_before_a_reboot_are_ignored() {
    let mut h = Harness::ready(config());
    h.send("AT+UDNSRN=0,\"localhost\"");
    let (id, _) = h.started_job();
    h.control(Control::Reboot);
    assert!(h.take_effects().contains(&Effect::CancelAllJobs));
    let boot = h.timing().boot;
    h.advance(boot);
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap()))),
        ""
    );
}

// ---- power ------------------------------------------------------------------

#[test]
fn reboot_drops_pending_output_and_resets_volatile_state() {
    let mut cfg = config();
    cfg.boot_greeting = Some(vec![0]);
    let mut h = Harness::ready(cfg);
    h.send("ATE0;+CMEE=2;+CEREG=2;+CSCON=1");
    h.send("AT+CFUN=0");
    h.send("AT+UMNOPROF=100");
    h.take_effects();
    assert_eq!(h.control(Control::Reboot), "");
    assert_eq!(h.take_effects()[0], Effect::DropPendingOutput);
    assert_eq!(h.m.snapshot().power, PowerState::Booting);
    assert_eq!(h.send("AT"), "", "input during boot is dropped");
    let boot = h.timing().boot;
    assert_eq!(h.advance(boot - Duration::from_millis(1)), "");
    assert_eq!(h.advance(Duration::from_millis(1)), "\0", "the greeting");
    let s = h.m.snapshot();
    assert_eq!(
        (s.echo, s.cmee, s.cereg_n, s.cscon_n, s.cfun, s.mno_profile),
        (true, 0, 0, 0, 1, 100)
    );
    assert_eq!(s.reg_stat, RegStat::Searching);
    let t = h.timing().registration;
    assert_eq!(h.advance(t), "", "URCs are off after boot");
    assert_eq!(h.m.snapshot().reg_stat, RegStat::Home);
}

#[test]
fn cfun_16_sends_ok_then_drops_the_rest_of_the_input() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.run(Input::Bytes(b"AT+CFUN=16\rAT\r")), OK);
    assert!(!h.take_effects().contains(&Effect::DropPendingOutput));
    assert_eq!(h.m.snapshot().power, PowerState::Booting);
}

#[test]
fn power_off_is_silent_until_power_on() {
    let mut h = Harness::ready(config());
    assert_eq!(h.control(Control::PowerOff), "");
    assert_eq!(h.m.snapshot().power, PowerState::Off);
    assert_eq!(h.send("AT"), "");
    assert_eq!(h.advance(Duration::from_secs(3600)), "");
    assert_eq!(h.control(Control::Reboot), "", "no power, no reboot");
    assert_eq!(h.m.snapshot().power, PowerState::Off);
    h.control(Control::PowerOn);
    assert_eq!(h.m.snapshot().power, PowerState::Booting);
    let boot = h.timing().boot;
    h.advance(boot);
    assert_eq!(h.send("AT"), format!("AT\r{OK}"));
}

// ---- fault injection ------------------------------------------------------------

#[test]
fn fail_next_answers_the_cme_error_in_the_current_form() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.control(Control::FailNext {
        commands: 2,
        cme_code: 30,
    });
    assert_eq!(h.send("AT"), ERROR, "CMEE 0: plain ERROR");
    h.send("AT+CMEE=2");
    // The AT+CMEE=2 line above was the second failure: CMEE is still 0.
    assert_eq!(h.m.session.cmee, CmeeMode::Off);
    assert_eq!(h.send("AT+CMEE=2"), OK);
    h.control(Control::FailNext {
        commands: 1,
        cme_code: 30,
    });
    assert_eq!(h.send("AT+CGMI"), "\r\n+CME ERROR: no network service\r\n");
    assert_eq!(h.send("AT+CGMI"), ok_with(&["u-blox"]));
    h.control(Control::FailNext {
        commands: 1,
        cme_code: 30,
    });
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+CMEE=1"), OK);
    h.control(Control::FailNext {
        commands: 1,
        cme_code: 30,
    });
    assert_eq!(h.send("AT"), "\r\n+CME ERROR: 30\r\n");
}

#[test]
fn delay_next_answer_pauses_after_the_echo() {
    let mut h = Harness::ready(config());
    h.control(Control::DelayNextAnswer(Duration::from_secs(2)));
    let effects = h.m.handle(Input::Bytes(b"AT+CGMI\r"), h.now);
    assert_eq!(effects[0], Effect::Send(b"AT+CGMI\r".to_vec()));
    assert_eq!(effects[1], Effect::CommandLine("AT+CGMI".into()));
    assert_eq!(
        effects[2],
        Effect::PauseUntil(h.now + Duration::from_secs(2))
    );
    assert_eq!(effects[3], Effect::Send(b"\r\nu-blox\r\n".to_vec()));
    // Only once.
    let effects = h.m.handle(Input::Bytes(b"AT\r"), h.now);
    assert!(!effects.iter().any(|e| matches!(e, Effect::PauseUntil(_))));
}

// ---- NVM across restarts ------------------------------------------------------

#[test]
fn nvm_survives_a_restart_of_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let store = NvmStore::open(dir.path()).unwrap();
    {
        let mut h = Harness::ready_with_nvm(config(), store.load());
        h.send("ATE0");
        h.send("AT+CFUN=0");
        h.send("AT+UMNOPROF=100");
        h.send("AT+CGDCONT=1,\"IPV4V6\",\"apn_name\"");
        h.send("AT+CGDCONT=2,\"IP\",\"second\"");
        h.send("AT+UDCONF=19,2,1");
        let saves = h.saves();
        assert_eq!(saves.len(), 4);
        for image in &saves {
            store.save(image).unwrap();
        }
    }
    let mut h = Harness::ready_with_nvm(config(), store.load());
    h.send("ATE0");
    assert_eq!(h.send("AT+UMNOPROF?"), ok_with(&["+UMNOPROF: 100"]));
    assert_eq!(h.send("AT+UDCONF=19"), ok_with(&["+UDCONF: 19,2,1"]));
    assert_eq!(
        h.m.snapshot().default_pdp,
        DefaultPdp { cid: 2, ip_type: 1 }
    );
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&[
            "+CGDCONT: 1,\"IP\",\"apn_name\",\"10.40.50.5\",0,0,0,0,0",
            "+CGDCONT: 2,\"IP\",\"second\",\"0.0.0.0\",0,0,0,0,0",
        ])
    );
}

#[test]
fn a_corrupt_nvm_file_starts_from_factory_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let store = NvmStore::open(dir.path()).unwrap();
    std::fs::write(store.path(), b"{\"version\":1,\"mno_profile\":").unwrap();
    let mut h = Harness::ready_with_nvm(config(), store.load());
    h.send("ATE0");
    assert_eq!(h.send("AT+UMNOPROF?"), ok_with(&["+UMNOPROF: 90"]));
    assert_eq!(
        h.send("AT+CGDCONT?"),
        ok_with(&["+CGDCONT: 1,\"IP\",\"\",\"10.40.50.5\",0,0,0,0,0"])
    );
}

#[test]
fn transcript_lines_are_reported() {
    let mut h = Harness::ready(config());
    h.send("AT+CGMI");
    h.send("");
    h.send("garbage");
    let lines: Vec<Effect> = h
        .take_effects()
        .into_iter()
        .filter(|e| matches!(e, Effect::CommandLine(_)))
        .collect();
    assert_eq!(
        lines,
        vec![
            Effect::CommandLine("AT+CGMI".into()),
            Effect::CommandLine("garbage".into())
        ]
    );
}

// ---- MQTT (§6) ----------------------------------------------------------

const FACTORY_UMQTT: &[&str] = &[
    "+UMQTT: 0,\"357862090033897\"",
    "+UMQTT: 2,\"\",1883",
    "+UMQTT: 3,\"\",1883",
    "+UMQTT: 4,\"\"",
    "+UMQTT: 6,0",
    "+UMQTT: 7,0",
    "+UMQTT: 8,\"\"",
    "+UMQTT: 9,0,\"\"",
    "+UMQTT: 10,0",
    "+UMQTT: 11,0",
    "+UMQTT: 12,1",
    "+UMQTT: 20,1,0",
];

fn mqtt_ready() -> Harness {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h
}

#[test]
fn umqtt_read_is_the_notes_format_and_sets_show_up() {
    let mut h = mqtt_ready();
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
    for line in [
        "AT+UMQTT=0,\"gw-1\"",
        "AT+UMQTT=1,50000",
        "AT+UMQTT=2, \"192.168.105.30\", 1883",
        "AT+UMQTT=4,\"user\",\"secret\"",
        "AT+UMQTT=6,1",
        "AT+UMQTT=7,1",
        "AT+UMQTT=8,\"u-blox/publish\"",
        "AT+UMQTT=9,\"Unrequested disconnect.\"",
        "AT+UMQTT=10,30",
        "AT+UMQTT=11,1,2",
        "AT+UMQTT=12,0",
        "AT+UMQTT=20,2,1",
    ] {
        assert_eq!(h.send(line), OK, "{line}");
    }
    assert_eq!(
        h.send("AT+UMQTT?"),
        ok_with(&[
            "+UMQTT: 0,\"gw-1\"",
            "+UMQTT: 2,\"192.168.105.30\",1883",
            "+UMQTT: 3,\"\",1883",
            "+UMQTT: 4,\"user\"",
            "+UMQTT: 6,1",
            "+UMQTT: 7,1",
            "+UMQTT: 8,\"u-blox/publish\"",
            "+UMQTT: 9,0,\"Unrequested disconnect.\"",
            "+UMQTT: 10,30",
            "+UMQTT: 11,1,2",
            "+UMQTT: 12,0",
            "+UMQTT: 20,2,1",
        ])
    );
    assert_eq!(h.send("AT+UMQTT=1"), ok_with(&["+UMQTT: 1,50000"]));
    // A name clears the address [model]; the port is shared.
    assert_eq!(h.send("AT+UMQTT=3,\"broker.test\",8883"), OK);
    assert_eq!(
        h.send("AT+UMQTT=2;+UMQTT=3"),
        ok_with(&["+UMQTT: 2,\"\",8883", "+UMQTT: 3,\"broker.test\",8883"])
    );
    assert!(!h.send("AT+UMQTT?").contains("secret"));
}

#[test]
fn umqtt_refuses_bad_values_in_every_cmee_form() {
    let mut h = mqtt_ready();
    for bad in [
        "AT+UMQTT=2,\"not-an-ip\",1883",
        "AT+UMQTT=2,\"10.0.0.1\",0",
        "AT+UMQTT=6,3",
        "AT+UMQTT=7,2",
        "AT+UMQTT=9,\"XYZ\",1",
        "AT+UMQTT=20,0,0",
        "AT+UMQTT=5,1",
        "AT+UMQTT=0,17",
        "AT+UMQTT=11,1",
    ] {
        h.send("AT+CMEE=0");
        assert_eq!(h.send(bad), ERROR, "{bad}");
        h.send("AT+CMEE=1");
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
        h.send("AT+CMEE=2");
        assert_eq!(
            h.send(bad),
            "\r\n+CME ERROR: incorrect parameters\r\n",
            "{bad}"
        );
    }
    h.send("AT+CMEE=0");
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
}

#[test]
fn the_notes_typos_answer_error() {
    let mut h = mqtt_ready();
    h.send("AT+CMEE=2");
    assert_eq!(h.send("AT+UMQTTTC=1"), ERROR);
    assert_eq!(h.send("AT+UUMQTTTC: 2,1"), ERROR);
    assert_eq!(h.send("AT+UMQTTTC=6,1"), ERROR);
}

#[test]
fn umqttnv_stores_loads_and_resets_and_a_boot_forgets_the_volatile_profile() {
    let mut h = mqtt_ready();
    h.send("AT+UMQTT=2,\"185.215.193.15\",1883");
    h.take_effects();
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert_eq!(
        saves[0].mqtt.as_ref().map(|p| p.server_ip.as_str()),
        Some("185.215.193.15")
    );
    // Storing the same profile again writes nothing.
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    assert!(h.saves().is_empty());
    assert_eq!(h.m.snapshot().nvm_writes, 1);
    assert_eq!(h.send("AT+UMQTTNV=0"), OK);
    assert_eq!(h.send("AT+UMQTT=2"), ok_with(&["+UMQTT: 2,\"\",1883"]));
    assert_eq!(h.send("AT+UMQTTNV=1"), OK);
    assert_eq!(
        h.send("AT+UMQTT=2"),
        ok_with(&["+UMQTT: 2,\"185.215.193.15\",1883"])
    );
    // A reboot loses the volatile profile; NVM keeps it.
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+UMQTT=2"), ok_with(&["+UMQTT: 2,\"\",1883"]));
    h.send("AT+UMQTTNV=1");
    assert_eq!(
        h.send("AT+UMQTT=2"),
        ok_with(&["+UMQTT: 2,\"185.215.193.15\",1883"])
    );
    assert_eq!(h.send("AT+UMQTTNV=3"), ERROR);
}

#[test]
fn session_ops_need_a_session() {
    let mut h = mqtt_ready();
    h.send("AT+CMEE=1");
    for op in [
        "AT+UMQTTC=0",
        "AT+UMQTTC=2,0,0,0,\"t\",\"m\"",
        "AT+UMQTTC=4,0,\"t\"",
        "AT+UMQTTC=5,\"t\"",
        "AT+UMQTTC=8,1",
        "AT+UMQTTC=9,0,0,\"t\",3",
    ] {
        assert_eq!(h.send(op), "\r\n+CME ERROR: 3\r\n", "{op}");
    }
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 38,3"]));
    // Reading an empty inbox is fine [model].
    assert_eq!(h.send("AT+UMQTTC=6,1"), OK);
}

#[test]
fn login_without_pdp_fails_with_13_50() {
    let mut cfg = config();
    cfg.sim_pin = Some("1234".into()); // never entered: never registers
    let mut h = Harness::ready(cfg);
    h.send("ATE0");
    h.send("AT+UMQTT=2,\"127.0.0.1\",1883");
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,50"]));
}

/// A module whose session job reported CONNACK; returns the job id.
fn logged_in(h: &mut Harness) -> JobId {
    h.send("AT+UMQTT=3,\"localhost\",1883");
    h.take_effects();
    assert_eq!(h.send("AT+UMQTTC=1"), OK);
    let (id, job) = h.started_job();
    let Job::Mqtt(login) = job else {
        panic!("not an MQTT job: {job:?}");
    };
    assert_eq!(login.client_id, "357862090033897");
    assert_eq!(login.host, "localhost");
    assert_eq!(
        h.job(id, JobEvent::Mqtt(MqttEvent::Connected)),
        urcs(&["+UUMQTTC: 1,1"])
    );
    assert!(h.m.snapshot().mqtt_connected);
    id
}

use crate::jobs::{MqttCommand, MqttEvent, MqttFailure};

fn commands(h: &mut Harness) -> Vec<MqttCommand> {
    h.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::MqttCommand(_, c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn binary_publish_takes_exactly_len_bytes_of_anything() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=9,1,0,\"t/bin\",9"), "\r\n>");
    // URCs wait while the payload comes.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Message {
                topic: "x".into(),
                qos: 0,
                payload: vec![1]
            })
        ),
        ""
    );
    let payload = b"\"\r\nOK\r\n\0\xff";
    assert_eq!(h.run(Input::Bytes(&payload[..4])), "");
    assert_eq!(
        h.run(Input::Bytes(&payload[4..])),
        format!("{OK}{}", urcs(&["+UUMQTTC: 6,1"]))
    );
    let cmds = commands(&mut h);
    let [MqttCommand::Publish {
        tag,
        topic,
        qos: 1,
        retain: false,
        payload: sent,
    }] = &cmds[..]
    else {
        panic!("{cmds:?}");
    };
    assert_eq!(topic, "t/bin");
    assert_eq!(sent, payload);
    // §6.5: a binary publish completes as 2,1.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: *tag,
                ok: true
            })
        ),
        urcs(&["+UUMQTTC: 2,1"])
    );
    // The line after the payload is a command again.
    assert_eq!(h.send("AT"), OK);
}

#[test]
fn text_publish_hex_mode_read_format_and_never_confirm() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=2,0,0,1,\"module/hex\",\"ABCD3031\""), OK);
    let cmds = commands(&mut h);
    assert!(
        matches!(&cmds[..], [MqttCommand::Publish { payload, .. }] if payload == &[0xAB, 0xCD, 0x30, 0x31]),
        "{cmds:?}"
    );
    assert_eq!(h.send("AT+UMQTTC=2,0,0,1,\"module/hex\",\"ABC\""), ERROR);
    // Messages: raw bytes, then hex.
    for _ in 0..2 {
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Message {
                topic: "module/special".into(),
                qos: 1,
                payload: b"\"this is\r\0\"".to_vec(),
            }),
        );
    }
    assert_eq!(
        h.send("AT+UMQTTC=6,1"),
        format!("\r\n+UMQTTC: 6,1,25,14,\"module/special\",11,\"\"this is\r\0\"\"\r\n{OK}")
    );
    assert_eq!(
        h.send("AT+UMQTTC=6,1,1"),
        format!("\r\n+UMQTTC: 6,1,25,14,\"module/special\",11,\"22746869732069730D0022\"\r\n{OK}")
    );
    // never confirm: the publish goes out, its URC never comes.
    h.control(Control::MqttNeverConfirmNext(1));
    h.send("AT+UMQTTC=2,1,0,0,\"t\",\"a\"");
    h.send("AT+UMQTTC=2,1,0,0,\"t\",\"b\"");
    let tags: Vec<u64> = commands(&mut h)
        .into_iter()
        .filter_map(|c| match c {
            MqttCommand::Publish { tag, .. } => Some(tag),
            _ => None,
        })
        .collect();
    assert_eq!(tags.len(), 2);
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: tags[0],
                ok: true
            })
        ),
        ""
    );
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published {
                tag: tags[1],
                ok: true
            })
        ),
        urcs(&["+UUMQTTC: 2,1"])
    );
}

#[test]
fn session_end_urcs() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    h.send("AT+UMQTTC=8,1");
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Lost(MqttFailure::PingTimeout))
        ),
        urcs(&["+UUMQTTC: 8,0", "+UUMQTTC: 0,100"])
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 37,100"]));
    let id = logged_in(&mut h);
    assert_eq!(
        h.control(Control::MqttDropSession),
        urcs(&["+UUMQTTC: 0,101"])
    );
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));
    // A late event of the dropped session is ignored.
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::Published { tag: 1, ok: true })
        ),
        ""
    );
    let id = logged_in(&mut h);
    assert_eq!(h.send("AT+UMQTTC=0"), OK);
    assert_eq!(
        h.job(id, JobEvent::Mqtt(MqttEvent::LoggedOut)),
        urcs(&["+UUMQTTC: 0,1"])
    );
    // Radio loss ends a session (§6.7).
    logged_in(&mut h);
    assert_eq!(
        h.send("AT+CFUN=4"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 0,101"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 34,1"]));
}

#[test]
fn a_failed_login_says_why() {
    let mut h = mqtt_ready();
    h.send("AT+UMQTT=2,\"127.0.0.1\",1");
    h.take_effects();
    h.send("AT+UMQTTC=1");
    let (id, _) = h.started_job();
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::LoginFailed(MqttFailure::ConnectFailed))
        ),
        urcs(&["+UUMQTTC: 1,0"])
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 35,1"]));
    h.send("AT+UMQTT=11,1,0");
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 39,1"]));
}

#[test]
fn a_reboot_ends_the_session_silently_and_late_events_are_ignored() {
    let mut h = mqtt_ready();
    let id = logged_in(&mut h);
    h.control(Control::Reboot);
    assert!(h.take_effects().contains(&Effect::CancelAllJobs));
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.job(id, JobEvent::Mqtt(MqttEvent::LoggedOut)), "");
    assert!(!h.m.snapshot().mqtt_connected);
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+UMQTTC=0"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.send("AT+UMQTT?"), ok_with(FACTORY_UMQTT));
}

mod sockets;
