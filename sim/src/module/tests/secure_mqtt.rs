//! Secure MQTT (§6.9) as the module sees it, without a network: what a
//! secure login hands its job ([`TlsSetup`]), and what the TLS layer's
//! reports do (session data kept or dropped, `+UUSECPRF`, `+UMQTTER`
//! 13,70-74, the energy ledger, the handshake record). The real TLS is
//! tested against real servers in `sim/tests/it/tls`.

use super::security::{b64, import, quiet, real_session_der, CA_PEM, DEVICE_KEY_PEM, DEVICE_PEM};
use super::*;
use crate::jobs::tls::{HandshakeReport, TlsEvent, TlsFailure, TlsSetup, TlsVersion};
use crate::jobs::{MqttEvent, MqttFailure};

fn der_of(pem: &str) -> Vec<u8> {
    openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap()
}

/// A module with the CA imported, profile 1 set to check the chain and
/// host name with resumption on, and MQTT set to use it.
fn secure_ready() -> Harness {
    let mut h = quiet();
    import(&mut h, 0, "ca", CA_PEM);
    for line in [
        "AT+USECPRF=1,0,2",
        "AT+USECPRF=1,3,\"ca\"",
        "AT+USECPRF=1,10,\"broker.test\"",
        "AT+USECPRF=1,13,0,1",
        "AT+USECPRF=1,13,1,1",
        "AT+UMQTT=3,\"broker.test\",8883",
        "AT+UMQTT=11,1,1",
    ] {
        assert_eq!(h.send(line), OK, "{line}");
    }
    h.take_effects();
    h
}

/// `AT+UMQTTC=1`: the job and the TLS it was given.
fn login(h: &mut Harness) -> (JobId, TlsSetup) {
    assert_eq!(h.send("AT+UMQTTC=1"), OK);
    let (id, job) = h.started_job();
    let Job::Mqtt(login) = job else {
        panic!("not an MQTT job: {job:?}");
    };
    (id, *login.tls.expect("a secure login"))
}

fn report(version: TlsVersion, resumed: bool, bytes: (u64, u64)) -> HandshakeReport {
    HandshakeReport {
        version,
        resumed,
        sent: bytes.0,
        received: bytes.1,
        attempts: 1,
        failure: None,
    }
}

fn handshake(h: &mut Harness, id: JobId, report: HandshakeReport) -> String {
    h.job(id, JobEvent::Tls(TlsEvent::Handshake(report)))
}

fn session_read(h: &mut Harness, p: u8) -> String {
    h.send(&format!("AT+USECPRF={p},13,3"))
}

#[test]
fn a_secure_login_hands_its_job_the_profile_and_the_stored_credentials() {
    let mut h = secure_ready();
    let (_, setup) = login(&mut h);
    assert_eq!(setup.profile, 1);
    assert_eq!(setup.validation, 2);
    assert_eq!(setup.roots, vec![der_of(CA_PEM)]);
    // [model] without op 4 the host checked is the server as named (op 3).
    assert_eq!(setup.expected_host.as_deref(), Some("broker.test"));
    assert_eq!(setup.sni.as_deref(), Some("broker.test"));
    assert_eq!(setup.validity_at, None, "level 2 does not check dates");
    assert_eq!(setup.client, None);
    assert_eq!(setup.session, None, "nothing held yet");
    assert!(setup.resumption);
}

#[test]
fn op_4_names_the_host_mutual_tls_takes_the_pair_and_level_3_the_modules_clock() {
    let mut h = secure_ready();
    import(&mut h, 1, "dev", DEVICE_PEM);
    import(&mut h, 2, "dev-key", DEVICE_KEY_PEM);
    for line in [
        "AT+USECPRF=1,0,3",
        "AT+USECPRF=1,4,\"mqtt.example.com\"",
        "AT+USECPRF=1,5,\"dev\"",
        "AT+USECPRF=1,6,\"dev-key\"",
        // The clock says 2030-01-01 00:00:00 local, zone +1 h (4 quarters).
        "AT+CCLK=\"30/01/01,00:00:00+04\"",
    ] {
        assert_eq!(h.send(line), OK, "{line}");
    }
    h.take_effects();
    let (_, setup) = login(&mut h);
    assert_eq!(setup.expected_host.as_deref(), Some("mqtt.example.com"));
    let key = openssl::pkey::PKey::private_key_from_pem(DEVICE_KEY_PEM.as_bytes())
        .unwrap()
        .private_key_to_der()
        .unwrap();
    let (cert_der, key_der) = setup.client.expect("mutual TLS");
    assert_eq!(cert_der, der_of(DEVICE_PEM));
    assert_eq!(
        openssl::pkey::PKey::private_key_from_der(&key_der)
            .unwrap()
            .private_key_to_der()
            .unwrap(),
        key
    );
    // 2029-12-31 23:00:00 UTC.
    assert_eq!(setup.validity_at, Some(1_893_452_400));
}

#[test]
fn a_handshake_with_a_new_session_announces_status_2_before_the_login_and_hands_the_data_out() {
    let mut h = secure_ready();
    let (id, _) = login(&mut h);
    let der = real_session_der();
    assert_eq!(h.job(id, JobEvent::Tls(TlsEvent::Session(der.clone()))), "");
    assert_eq!(
        handshake(&mut h, id, report(TlsVersion::Tls13, false, (600, 2400))),
        urcs(&["+UUSECPRF: 1,13,0,2"])
    );
    assert_eq!(
        h.job(id, JobEvent::Mqtt(MqttEvent::Connected)),
        urcs(&["+UUMQTTC: 1,1"])
    );
    let data = b64(&der);
    assert_eq!(
        session_read(&mut h, 1),
        ok_with(&[&format!("+USECPRF: 1,13,3,{data},{}", data.len())])
    );
    let snapshot = h.m.snapshot();
    assert_eq!(snapshot.tls_connections.len(), 1);
    let seen = &snapshot.tls_connections[0];
    assert_eq!(
        (seen.profile, seen.version, seen.resumed, seen.failure),
        (1, TlsVersion::Tls13, false, None)
    );
    assert_eq!((seen.bytes_sent, seen.bytes_received), (600, 2400));
    let energy = h.m.energy_report(h.now);
    assert_eq!((energy.tls.full.count, energy.tls.resumed.count), (1, 0));
    assert_eq!(
        (energy.tls.full.bytes_sent, energy.tls.full.bytes_received),
        (600, 2400)
    );
}

#[test]
fn session_data_set_by_the_host_goes_to_the_handshake_and_stays_when_it_resumed() {
    let mut h = secure_ready();
    let data = b64(&real_session_der());
    let set = format!("AT+USECPRF=1,13,3,{data},{}", data.len());
    assert_eq!(h.send(&set), OK);
    let (id, setup) = login(&mut h);
    assert_eq!(setup.session, Some(real_session_der_of(&data)));
    // Resumed, no new ticket (TLS 1.2 keeps the one it has).
    assert_eq!(
        handshake(&mut h, id, report(TlsVersion::Tls12, true, (300, 200))),
        urcs(&["+UUSECPRF: 1,13,0,2"])
    );
    h.job(id, JobEvent::Mqtt(MqttEvent::Connected));
    assert_eq!(
        session_read(&mut h, 1),
        ok_with(&[&format!("+USECPRF: 1,13,3,{data},{}", data.len())])
    );
    let energy = h.m.energy_report(h.now);
    assert_eq!((energy.tls.full.count, energy.tls.resumed.count), (0, 1));
    assert_eq!(energy.tls.resumed.round_trips, 1);
}

fn real_session_der_of(data: &str) -> Vec<u8> {
    openssl::base64::decode_block(data).unwrap()
}

#[test]
fn data_that_did_not_resume_and_brought_nothing_new_is_dropped_status_1() {
    let mut h = secure_ready();
    let data = b64(&real_session_der());
    h.send(&format!("AT+USECPRF=1,13,3,{data},{}", data.len()));
    let (id, _) = login(&mut h);
    assert_eq!(
        handshake(&mut h, id, report(TlsVersion::Tls12, false, (500, 1500))),
        urcs(&["+UUSECPRF: 1,13,0,1"])
    );
    assert_eq!(session_read(&mut h, 1), ok_with(&["+USECPRF: 1,13,3,,0"]));
}

#[test]
fn without_resumption_no_status_urc_and_no_data_is_kept() {
    let mut h = secure_ready();
    h.send("AT+USECPRF=1,13,0,0");
    let (id, setup) = login(&mut h);
    assert!(!setup.resumption);
    h.job(id, JobEvent::Tls(TlsEvent::Session(real_session_der())));
    assert_eq!(
        handshake(&mut h, id, report(TlsVersion::Tls12, false, (500, 1500))),
        ""
    );
    assert_eq!(session_read(&mut h, 1), ok_with(&["+USECPRF: 1,13,3,,0"]));
}

#[test]
fn a_failed_handshake_fails_the_login_with_its_code_and_drops_the_data() {
    for (failure, code) in [
        (TlsFailure::Untrusted, "13,70"),
        (TlsFailure::HostMismatch, "13,71"),
        (TlsFailure::Version, "13,72"),
        (TlsFailure::ClientCertificate, "13,73"),
        (TlsFailure::Handshake, "13,74"),
    ] {
        let mut h = secure_ready();
        let data = b64(&real_session_der());
        h.send(&format!("AT+USECPRF=1,13,3,{data},{}", data.len()));
        let (id, _) = login(&mut h);
        let failed = HandshakeReport {
            failure: Some(failure),
            ..report(TlsVersion::Unknown, false, (300, 100))
        };
        assert_eq!(handshake(&mut h, id, failed), urcs(&["+UUMQTTC: 1,0"]));
        assert!(h.take_effects().contains(&Effect::CancelJob(id)));
        // The client's own report of the same failure comes later: silent.
        assert_eq!(
            h.job(
                id,
                JobEvent::Mqtt(MqttEvent::LoginFailed(MqttFailure::Tls(failure)))
            ),
            ""
        );
        assert_eq!(
            h.send("AT+UMQTTER"),
            ok_with(&[&format!("+UMQTTER: {code}")])
        );
        assert_eq!(session_read(&mut h, 1), ok_with(&["+USECPRF: 1,13,3,,0"]));
        let energy = h.m.energy_report(h.now);
        assert_eq!(energy.tls.failed.count, 1);
        assert_eq!(energy.tls_handshakes, 0, "only completed ones");
    }
}

#[test]
fn the_clients_failure_alone_also_gives_the_tls_code() {
    let mut h = secure_ready();
    let (id, _) = login(&mut h);
    assert_eq!(
        h.job(
            id,
            JobEvent::Mqtt(MqttEvent::LoginFailed(MqttFailure::Tls(
                TlsFailure::HostMismatch
            )))
        ),
        urcs(&["+UUMQTTC: 1,0"])
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,71"]));
}

#[test]
fn a_key_that_is_not_the_certificates_fails_before_connecting() {
    let mut h = secure_ready();
    import(&mut h, 1, "dev", DEVICE_PEM);
    import(&mut h, 2, "other-key", super::security::OTHER_KEY_PEM);
    h.send("AT+USECPRF=1,5,\"dev\"");
    h.send("AT+USECPRF=1,6,\"other-key\"");
    h.take_effects();
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,73"]));
}

#[test]
fn two_secure_sockets_leave_no_tls_connection_for_mqtt() {
    let mut h = secure_ready();
    h.send("AT+USOCR=6");
    h.send("AT+USOCR=6");
    assert_eq!(h.send("AT+USOSEC=0,1,0"), OK);
    assert_eq!(h.send("AT+USOSEC=1,1,0"), OK);
    h.take_effects();
    assert_eq!(
        h.send("AT+UMQTTC=1"),
        format!("{OK}{}", urcs(&["+UUMQTTC: 1,0"]))
    );
    assert_eq!(h.send("AT+UMQTTER"), ok_with(&["+UMQTTER: 13,74"]));
    // One socket closed: a connection is free again.
    assert_eq!(h.send("AT+USOCL=1"), OK);
    h.take_effects();
    login(&mut h);
}

#[test]
fn tls_reports_of_a_session_a_reboot_ended_are_ignored() {
    let mut h = secure_ready();
    let (id, _) = login(&mut h);
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(
        h.job(id, JobEvent::Tls(TlsEvent::Session(real_session_der()))),
        ""
    );
    assert_eq!(
        handshake(&mut h, id, report(TlsVersion::Tls12, false, (1, 1))),
        ""
    );
    assert!(h.m.snapshot().tls_connections.is_empty());
}

#[test]
fn op_11_is_stored_with_the_mqtt_profile_in_nvm() {
    let mut h = secure_ready();
    assert_eq!(h.send("AT+UMQTTNV=2"), OK);
    assert_eq!(h.saves().len(), 1);
    h.send("AT+UMQTT=11,0");
    assert_eq!(h.send("AT+UMQTT=11"), ok_with(&["+UMQTT: 11,0"]));
    assert_eq!(h.send("AT+UMQTTNV=1"), OK);
    assert_eq!(h.send("AT+UMQTT=11"), ok_with(&["+UMQTT: 11,1,1"]));
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+UMQTT=11"), ok_with(&["+UMQTT: 11,0"]));
    assert_eq!(h.send("AT+UMQTTNV=1"), OK);
    assert_eq!(h.send("AT+UMQTT=11"), ok_with(&["+UMQTT: 11,1,1"]));
}

/// Radio bytes sent by one text publish of `message` on a session up.
fn publish_bytes(h: &mut Harness, message: &str) -> u64 {
    let before = h.m.energy_report(h.now).radio_bytes_sent;
    assert_eq!(
        h.send(&format!("AT+UMQTTC=2,0,0,0,\"gw/t\",\"{message}\"")),
        OK
    );
    h.m.energy_report(h.now).radio_bytes_sent - before
}

#[test]
fn every_mqtt_packet_of_a_secure_session_carries_a_tls_records_bytes() {
    let mut plain = secure_ready();
    plain.send("AT+UMQTT=11,0");
    plain.take_effects();
    assert_eq!(plain.send("AT+UMQTTC=1"), OK);
    let (id, _) = plain.started_job();
    plain.job(id, JobEvent::Mqtt(MqttEvent::Connected));

    let mut secure = secure_ready();
    let (id, _) = login(&mut secure);
    handshake(
        &mut secure,
        id,
        report(TlsVersion::Tls13, false, (600, 2400)),
    );
    secure.job(id, JobEvent::Mqtt(MqttEvent::Connected));

    let plain_bytes = publish_bytes(&mut plain, "21.5");
    assert_eq!(publish_bytes(&mut secure, "21.5"), plain_bytes + 22);
}
