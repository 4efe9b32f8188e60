//! The SIM (PIN), the radio and registration (`+CFUN`, `+CEREG`, `+CSCON`,
//! `+COPS`, network conditions), and PDP: `+UMNOPROF`, `+CGDCONT`, `+UDCONF`.

use super::*;

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
