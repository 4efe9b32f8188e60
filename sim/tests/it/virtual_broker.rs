//! The virtual broker (`MqttBackend::Virtual`) under tokio's paused clock:
//! the module at its real speed (time scale 1), the AT side as with a real
//! broker, every publish recorded in module time.

use std::time::Duration;

use super::common::Host;
use lexi_sim::{MqttBackend, PowerMode, PublishedRecord, RegStat, SimConfig, SimHandle, Simulator};
use tokio::io::DuplexStream;

/// Host reads give up after `common::PATIENCE` (10 s), so every wait here
/// is shorter than that.
async fn started(
    dir: &std::path::Path,
    latency: Duration,
    login_timeout: Duration,
) -> (SimHandle, Host<DuplexStream>) {
    let mut cfg = SimConfig::new(dir);
    cfg.mqtt_login_timeout = login_timeout;
    cfg.dns
        .insert("broker.test".into(), "192.0.2.1".parse().unwrap());
    cfg.mqtt_backend = MqttBackend::Virtual { latency };
    let (sim, io) = Simulator::spawn_duplex(cfg).unwrap();
    // Module time, which the paused clock runs through at once.
    assert!(
        sim.wait_ready(Duration::from_secs(60)).await,
        "did not boot"
    );
    let mut host = Host::new(io);
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    while sim.snapshot().await.unwrap().reg_stat != RegStat::Home {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (sim, host)
}

async fn ok(host: &mut Host<DuplexStream>, line: &str) -> String {
    host.write(format!("{line}\r").as_bytes()).await;
    host.read_until("OK\r\n").await
}

#[tokio::test(start_paused = true)]
async fn sessions_complete_after_the_latency_and_publishes_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let latency = Duration::from_millis(700);
    let (sim, mut host) = started(dir.path(), latency, Duration::from_secs(5)).await;
    assert_eq!(
        ok(&mut host, "AT+UMQTT=3,\"broker.test\",1883").await,
        "\r\nOK\r\n"
    );
    let asked = tokio::time::Instant::now();
    assert_eq!(ok(&mut host, "AT+UMQTTC=1").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 1,1\r\n").await,
        "\r\n+UUMQTTC: 1,1\r\n"
    );
    assert!(asked.elapsed() >= latency, "{:?}", asked.elapsed());

    assert_eq!(
        ok(&mut host, "AT+UMQTTC=2,1,0,0,\"gw/a\",\"hello\"").await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        host.read_until("+UUMQTTC: 2,1\r\n").await,
        "\r\n+UUMQTTC: 2,1\r\n"
    );
    host.write(b"AT+UMQTTC=9,0,0,\"gw/b\",3\r").await;
    assert_eq!(host.read_until_bytes(b">").await, b"\r\n>");
    host.write(b"xyz").await;
    assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 2,1\r\n").await,
        "\r\n+UUMQTTC: 2,1\r\n"
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTC=4,1,\"cmd/gw\"").await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        host.read_until("\"cmd/gw\"\r\n").await,
        "\r\n+UUMQTTC: 4,1,1,\"cmd/gw\"\r\n"
    );
    assert_eq!(ok(&mut host, "AT+UMQTTC=0").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("+UUMQTTC: 0,1\r\n").await,
        "\r\n+UUMQTTC: 0,1\r\n"
    );

    let published = sim.published();
    let shown: Vec<(&str, u8, usize)> = published
        .iter()
        .map(|r: &PublishedRecord| (r.topic.as_str(), r.qos, r.payload_len))
        .collect();
    assert_eq!(shown, [("gw/a", 1, 5), ("gw/b", 0, 3)]);
    // Every byte both ways is counted: the host's commands (the 3 payload
    // bytes too) and the module's answers and URCs.
    let sent: usize = [
        "ATE0\r",
        "AT+UMQTT=3,\"broker.test\",1883\r",
        "AT+UMQTTC=1\r",
        "AT+UMQTTC=2,1,0,0,\"gw/a\",\"hello\"\r",
        "AT+UMQTTC=9,0,0,\"gw/b\",3\r",
        "xyz",
        "AT+UMQTTC=4,1,\"cmd/gw\"\r",
        "AT+UMQTTC=0\r",
    ]
    .iter()
    .map(|l| l.len())
    .sum();
    let (serial_in, serial_out) = sim.serial_bytes();
    assert_eq!(serial_in, sent as u64);
    assert!(serial_out > 100, "{serial_out}");
    // Stamped in module time, after boot, in order, a latency apart at least.
    assert!(published[0].at >= Duration::from_secs(6), "{published:?}");
    assert!(
        published[1].at >= published[0].at + latency,
        "{published:?}"
    );
    sim.shutdown();
}

#[tokio::test(start_paused = true)]
async fn a_broker_slower_than_the_login_timeout_fails_the_login() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, mut host) =
        started(dir.path(), Duration::from_secs(4), Duration::from_secs(3)).await;
    ok(&mut host, "AT+UMQTT=3,\"broker.test\",1883").await;
    ok(&mut host, "AT+UMQTTC=1").await;
    assert_eq!(
        host.read_until("+UUMQTTC: 1,0\r\n").await,
        "\r\n+UUMQTTC: 1,0\r\n"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_broker_name_fails_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path(), Duration::from_secs(1), Duration::from_secs(5)).await;
    ok(&mut host, "AT+UMQTT=3,\"nowhere.test\",1883").await;
    ok(&mut host, "AT+UMQTTC=1").await;
    assert_eq!(
        host.read_until("+UUMQTTC: 1,0\r\n").await,
        "\r\n+UUMQTTC: 1,0\r\n"
    );
    assert!(sim.published().is_empty());
}

/// One simulated hour of a plain host (no agent): a window every 15 min,
/// woken by the PWR_ON line, 15 readings published per window, the module
/// hibernating between windows. The paused clock runs the hour through as
/// fast as the tasks can go.
#[tokio::test(start_paused = true)]
async fn an_hour_of_windows_runs_under_the_paused_clock_and_hibernates_between_them() {
    const WINDOW: Duration = Duration::from_secs(15 * 60);
    const HOUR: Duration = Duration::from_secs(3600);
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(
        dir.path(),
        Duration::from_millis(200),
        Duration::from_secs(5),
    )
    .await;
    let start = tokio::time::Instant::now();
    for window in 0..4u32 {
        tokio::time::sleep_until(start + WINDOW * window).await;
        if window > 0 {
            // Quiet for the 60 s `+UPSV` timeout since the last window.
            host.read_until("+UUSLPURC: HIB 1\r\n").await;
            sim.pulse_wake_line();
            host.read_until("+UUSLPURC: HIB 0\r\n").await;
        }
        ok(&mut host, "ATE0;+USLPURC=\"HIBNATE\",1;+UPSV=1,60000,4").await;
        while sim.snapshot().await.unwrap().reg_stat != RegStat::Home {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ok(&mut host, "AT+UMQTT=3,\"broker.test\",1883").await;
        ok(&mut host, "AT+UMQTTC=1").await;
        host.read_until("+UUMQTTC: 1,1\r\n").await;
        for reading in 0..15 {
            ok(
                &mut host,
                &format!("AT+UMQTTC=2,1,0,0,\"gw/t\",\"{window}-{reading}\""),
            )
            .await;
            host.read_until("+UUMQTTC: 2,1\r\n").await;
        }
        ok(&mut host, "AT+UMQTTC=0").await;
        host.read_until("+UUMQTTC: 0,1\r\n").await;
    }
    tokio::time::sleep_until(start + HOUR).await;

    assert_eq!(sim.published().len(), 60);
    let log = sim.power_log().await.unwrap();
    let energy = sim.energy().await.unwrap();
    let hibernations = log
        .iter()
        .filter(|e| e.state == PowerMode::Hibernate)
        .count();
    // After each of the four windows (the last one's runs to the hour).
    assert_eq!(hibernations, 4, "{log:#?}");
    // Each window is well under two minutes awake: the rest is Hibernate.
    assert!(
        energy.time_in(PowerMode::Hibernate) > Duration::from_secs(50 * 60),
        "{energy:#?}"
    );
    assert!(energy.elapsed >= HOUR, "{energy:#?}");
    // Not asserted (no timing asserts): shown with --nocapture.
    println!(
        "1 simulated hour in {:?} of real time; {:.1} mJ",
        wall.elapsed(),
        energy.total_mj
    );
    sim.shutdown();
}

/// Three windows an hour apart of a host that logs in securely, the module
/// hibernating between them (which loses the security profile, §3.4): the
/// first login is a full handshake with the virtual broker's TLS server,
/// the next two resume with the session data the host read and set back.
#[tokio::test(start_paused = true)]
async fn secure_windows_with_the_virtual_broker_resume_after_hibernate() {
    let dir = tempfile::tempdir().unwrap();
    let latency = Duration::from_millis(200);
    let (sim, mut host) = started(dir.path(), latency, Duration::from_secs(5)).await;
    let ca = lexi_sim::virtual_broker_ca_pem();
    host.write(format!("AT+USECMNG=0,0,\"virtual\",{}\r", ca.len()).as_bytes())
        .await;
    assert_eq!(host.read_until_bytes(b">").await, b"\r\n>");
    host.write(ca.as_bytes()).await;
    assert!(host
        .read_until("OK\r\n")
        .await
        .contains("+USECMNG: 0,0,\"virtual\","));
    let start = tokio::time::Instant::now();
    let mut data: Option<String> = None;
    for window in 0..3u32 {
        tokio::time::sleep_until(start + Duration::from_secs(3600) * window).await;
        if window > 0 {
            host.read_until("+UUSLPURC: HIB 1\r\n").await;
            sim.pulse_wake_line();
            host.read_until("+UUSLPURC: HIB 0\r\n").await;
        }
        ok(&mut host, "ATE0;+USLPURC=\"HIBNATE\",1;+UPSV=1,60000,4").await;
        while sim.snapshot().await.unwrap().reg_stat != RegStat::Home {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Volatile: gone after Hibernate; the host sets it every window.
        let mut profile = vec![
            "AT+USECPRF=0,0,2".to_string(),
            "AT+USECPRF=0,3,\"virtual\"".to_string(),
            "AT+USECPRF=0,13,0,1".to_string(),
            "AT+USECPRF=0,13,1,1".to_string(),
        ];
        if let Some(data) = &data {
            profile.push(format!("AT+USECPRF=0,13,3,{data},{}", data.len()));
        }
        for line in profile {
            assert_eq!(ok(&mut host, &line).await, "\r\nOK\r\n", "{line}");
        }
        ok(&mut host, "AT+UMQTT=3,\"broker.test\",8883").await;
        ok(&mut host, "AT+UMQTT=11,1,0").await;
        ok(&mut host, "AT+UMQTTC=1").await;
        assert_eq!(
            host.read_until("+UUMQTTC: 1,1\r\n").await,
            "\r\n+UUSECPRF: 0,13,0,2\r\n\r\n+UUMQTTC: 1,1\r\n"
        );
        let answer = ok(&mut host, "AT+USECPRF=0,13,3").await;
        let fields = answer
            .strip_prefix("\r\n+USECPRF: 0,13,3,")
            .and_then(|rest| rest.split("\r\n").next())
            .unwrap();
        data = Some(fields.rsplit_once(',').unwrap().0.to_string());
        ok(
            &mut host,
            &format!("AT+UMQTTC=2,1,0,0,\"gw/t\",\"{window}\""),
        )
        .await;
        host.read_until("+UUMQTTC: 2,1\r\n").await;
        ok(&mut host, "AT+UMQTTC=0").await;
        host.read_until("+UUMQTTC: 0,1\r\n").await;
    }
    let handshakes = sim.snapshot().await.unwrap().tls_connections;
    let resumed: Vec<bool> = handshakes.iter().map(|h| h.resumed).collect();
    assert_eq!(resumed, [false, true, true], "{handshakes:#?}");
    assert!(handshakes.iter().all(|h| h.failure.is_none()));
    assert_eq!(sim.published().len(), 3);
    let energy = sim.energy().await.unwrap();
    assert_eq!((energy.tls.full.count, energy.tls.resumed.count), (1, 2));
    // The virtual server sends a chain of two RSA certificates; a resumed
    // handshake none. With TLS 1.3 both take one round trip: the saving is
    // the bytes and the crypto.
    assert!(energy.tls.full.bytes_received > 2000, "{:?}", energy.tls);
    let received_each = energy.tls.resumed.bytes_received / energy.tls.resumed.count;
    assert!(
        received_each * 3 < energy.tls.full.bytes_received,
        "{:?}",
        energy.tls
    );
    assert!(
        energy.tls.resumed.mj_each() < energy.tls.full.mj_each(),
        "{:?}",
        energy.tls
    );
    sim.shutdown();
}

#[tokio::test(start_paused = true)]
async fn the_virtual_broker_is_not_trusted_without_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(
        dir.path(),
        Duration::from_millis(200),
        Duration::from_secs(5),
    )
    .await;
    ok(&mut host, "AT+UMQTT=3,\"broker.test\",8883").await;
    ok(&mut host, "AT+UMQTT=11,1,0").await;
    ok(&mut host, "AT+UMQTTC=1").await;
    assert_eq!(
        host.read_until("+UUMQTTC: 1,0\r\n").await,
        "\r\n+UUMQTTC: 1,0\r\n"
    );
    assert_eq!(
        ok(&mut host, "AT+UMQTTER").await,
        "\r\n+UMQTTER: 13,70\r\n\r\nOK\r\n"
    );
    assert!(sim.published().is_empty());
}
