//! The clock (`clock.rs`): the default date, `+CTZU`, `+CCLK`, network time,
//! on a made-up clock.

use super::*;
use crate::config::NetworkTime;

/// 2026-12-04 20:15:30 UTC.
const NETWORK_UTC_S: i64 = 1_796_415_330;

/// A network that sends 2026-12-04 20:15:30 UTC at the simulator's start.
fn fixed_time() -> SimConfig {
    let mut cfg = config();
    cfg.network_time = NetworkTime::Fixed {
        utc_at_start_unix_s: NETWORK_UTC_S,
    };
    cfg
}

/// NVM in which the host once turned `+CTZU` on.
fn ctzu_on() -> NvmImage {
    NvmImage {
        ctzu: true,
        ..NvmImage::default()
    }
}

/// A booted, registered module with echo off.
fn ready_with(cfg: SimConfig, nvm: NvmImage) -> Harness {
    let mut h = Harness::ready_with_nvm(cfg, nvm);
    assert_eq!(h.send("ATE0"), format!("ATE0\r{OK}"));
    h
}

/// The quoted time of `AT+CCLK?`.
fn cclk(h: &mut Harness) -> String {
    let answer = h.send("AT+CCLK?");
    answer
        .strip_prefix("\r\n+CCLK: \"")
        .and_then(|rest| rest.strip_suffix(&format!("\"\r\n{OK}")))
        .unwrap_or_else(|| panic!("not a +CCLK answer: {answer:?}"))
        .to_string()
}

/// Boot plus registration: how long after power-on `Harness::ready` returns.
fn boot_and_registration(h: &Harness) -> Duration {
    h.timing().boot + h.timing().registration
}

#[test]
fn the_default_date_counts_up_from_the_boot() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    // 6 s boot + 2 s registration since power-on, CTZU off.
    assert_eq!(boot_and_registration(&h), Duration::from_secs(8));
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
    h.advance(Duration::from_secs(3600 + 61));
    assert_eq!(cclk(&mut h), "15/01/01,01:01:09+00");
    assert_eq!(h.m.snapshot().clock_source, ClockSource::Default);
}

#[test]
fn ctzu_is_off_from_the_factory_and_then_keeps_the_default_date_when_registered() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    assert!(h.m.snapshot().reg_stat.is_registered());
    assert_eq!(h.send("AT+CTZU?"), ok_with(&["+CTZU: 0"]));
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
    // Deregistering and registering again with CTZU 0 changes nothing.
    assert_eq!(h.send("AT+COPS=2"), OK);
    assert_eq!(h.send("AT+COPS=0"), OK);
    h.advance(h.timing().registration);
    assert!(h.m.snapshot().reg_stat.is_registered());
    assert_eq!(cclk(&mut h), "15/01/01,00:00:10+00");
}

#[test]
fn with_ctzu_on_registration_sets_network_time_in_the_networks_zone() {
    let mut h = ready_with(fixed_time(), ctzu_on());
    // Registered 8 s after the start: 20:15:38 UTC, shown as UTC+1.
    assert_eq!(cclk(&mut h), "26/12/04,21:15:38+04");
    assert_eq!(h.m.snapshot().clock_source, ClockSource::Network);
    h.advance(Duration::from_secs(3 * 3600));
    assert_eq!(cclk(&mut h), "26/12/05,00:15:38+04");
}

#[test]
fn a_negative_zone_is_shown_with_its_sign() {
    let mut cfg = fixed_time();
    cfg.network_tz_quarters = -20; // UTC-5
    let mut h = ready_with(cfg, ctzu_on());
    assert_eq!(cclk(&mut h), "26/12/04,15:15:38-20");
}

#[test]
fn the_host_clock_is_the_network_time_by_default() {
    let mut h = ready_with(config(), ctzu_on());
    assert_eq!(config().network_time, NetworkTime::Host);
    // HOST_UTC is the same instant as NETWORK_UTC_S.
    assert_eq!(cclk(&mut h), "26/12/04,21:15:38+04");
}

#[test]
fn turning_ctzu_on_while_registered_takes_the_network_time_at_once() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
    assert_eq!(h.send("AT+CTZU=1"), OK);
    assert_eq!(h.send("AT+CTZU?"), ok_with(&["+CTZU: 1"]));
    assert_eq!(cclk(&mut h), "26/12/04,21:15:38+04");
    // Off again: the clock keeps the time it has.
    assert_eq!(h.send("AT+CTZU=0"), OK);
    h.advance(Duration::from_secs(2));
    assert_eq!(cclk(&mut h), "26/12/04,21:15:40+04");
}

#[test]
fn ctzu_on_before_registration_waits_for_it() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    h.control(Control::SetNetwork(NetworkCondition::NoCoverage));
    h.advance(h.timing().registration);
    assert!(!h.m.snapshot().reg_stat.is_registered());
    assert_eq!(h.send("AT+CTZU=1"), OK);
    assert_eq!(cclk(&mut h), "15/01/01,00:00:10+00");
    h.control(Control::SetNetwork(NetworkCondition::Roaming));
    h.advance(h.timing().registration);
    assert!(h.m.snapshot().reg_stat.is_registered());
    // Registered (roaming) 12 s after the start.
    assert_eq!(cclk(&mut h), "26/12/04,21:15:42+04");
}

#[test]
fn a_network_without_time_leaves_the_default_date() {
    let mut cfg = config();
    cfg.network_time = NetworkTime::None;
    let mut h = ready_with(cfg, ctzu_on());
    assert!(h.m.snapshot().reg_stat.is_registered());
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
    assert_eq!(h.send("AT+CTZU=0"), OK);
    assert_eq!(h.send("AT+CTZU=1"), OK);
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
}

#[test]
fn cclk_sets_the_clock_by_hand_and_it_runs_on() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    assert_eq!(h.send("AT+CCLK=\"99/12/31,23:59:58-38\""), OK);
    assert_eq!(cclk(&mut h), "99/12/31,23:59:58-38");
    h.advance(Duration::from_secs(3));
    assert_eq!(cclk(&mut h), "00/01/01,00:00:01-38");
    assert_eq!(h.m.snapshot().clock_source, ClockSource::Host);
    // The network's time came at registration, not since: the clock set by
    // hand stays even with CTZU on...
    let mut h = ready_with(fixed_time(), ctzu_on());
    assert_eq!(h.send("AT+CCLK=\"24/02/29,12:00:00+00\""), OK);
    assert_eq!(cclk(&mut h), "24/02/29,12:00:00+00");
    // ... until the network sends it again, at the next registration.
    h.send("AT+COPS=2");
    h.send("AT+COPS=0");
    h.advance(h.timing().registration);
    assert_eq!(cclk(&mut h), "26/12/04,21:15:40+04");
}

#[test]
fn bad_cclk_and_ctzu_values_are_refused_and_change_nothing() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    assert_eq!(h.send("AT+CMEE=1"), OK);
    let cme50 = "\r\n+CME ERROR: 50\r\n";
    for line in [
        "AT+CCLK=\"26/02/29,00:00:00+00\"",
        "AT+CCLK=\"26/12/04,21:15:30\"",
        "AT+CCLK=\"26/12/04,21:15:30+60\"",
        "AT+CCLK=26",
        "AT+CCLK=",
        "AT+CCLK=\"26/12/04,21:15:30+04\",1",
        "AT+CTZU=2",
        "AT+CTZU=\"1\"",
        "AT+CTZU=",
    ] {
        assert_eq!(h.send(line), cme50, "{line}");
    }
    assert_eq!(h.send("AT+CCLK=?"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.send("AT+CCLK"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(cclk(&mut h), "15/01/01,00:00:08+00");
    assert_eq!(h.send("AT+CTZU?"), ok_with(&["+CTZU: 0"]));
    assert!(h.saves().is_empty());
}

#[test]
fn ctzu_is_kept_in_nvm_written_only_on_change() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    assert_eq!(h.send("AT+CTZU=1"), OK);
    let saves = h.saves();
    assert_eq!(saves.len(), 1);
    assert!(saves[0].ctzu);
    assert_eq!(h.send("AT+CTZU=1"), OK);
    assert!(h.saves().is_empty());
    // A reboot keeps it: the next registration sets the clock again.
    h.control(Control::Reboot);
    h.advance(h.timing().boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+CTZU?"), ok_with(&["+CTZU: 1"]));
    h.advance(h.timing().registration);
    assert_eq!(h.m.snapshot().clock_source, ClockSource::Network);
}

#[test]
fn a_reboot_or_power_cut_loses_the_clock_and_hibernate_keeps_it() {
    let mut h = ready_with(fixed_time(), NvmImage::default());
    h.send("AT+CCLK=\"26/01/02,03:04:05+08\"");
    // Hibernate and back: the clock ran on through it.
    let rrc = h.timing().rrc_inactivity;
    h.advance(rrc);
    h.send("AT+UPSV=1,5000,4");
    h.advance(Duration::from_millis(5000));
    assert_eq!(h.m.power_mode(), PowerMode::Hibernate);
    h.control(Control::WakeLine);
    let wake = h.timing().wake;
    h.advance(wake);
    assert_eq!(h.m.power_mode(), PowerMode::Idle);
    h.send("ATE0");
    // 10 s to RRC idle, the 5 s timeout, 0.5 s to wake: 15.5 s later.
    assert_eq!(rrc + wake, Duration::from_millis(10_500));
    assert_eq!(cclk(&mut h), "26/01/02,03:04:20+08");
    // A power cut: the default date again, counted from the new boot.
    h.control(Control::PowerOff);
    h.control(Control::PowerOn);
    h.advance(h.timing().boot);
    h.send("ATE0");
    assert_eq!(cclk(&mut h), "15/01/01,00:00:06+00");
    assert_eq!(h.m.snapshot().clock_source, ClockSource::Default);
    // A reboot too.
    h.send("AT+CCLK=\"26/01/02,03:04:05+08\"");
    h.control(Control::Reboot);
    h.advance(h.timing().boot);
    h.send("ATE0");
    assert_eq!(cclk(&mut h), "15/01/01,00:00:06+00");
}
