//! What a reboot, a power cut and injected faults do, and what NVM keeps
//! across restarts of the simulator.

use super::*;
use crate::nvm::NvmStore;

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
