//! The wire: echo, line assembly, identification, error forms, `;`
//! concatenation, overlong and arbitrary input, the transcript.

use super::*;

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
