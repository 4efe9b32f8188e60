//! Network time end to end through the AT interface (`AT+CTZU`, `AT+CCLK`):
//! in process under tokio's paused clock, so the times are exact, and
//! through the binary's `--network-time`/`--tz-quarters`.

use std::time::Duration;

use lexi_sim::{NetworkTime, RegStat, SimConfig, SimHandle, Simulator};
use tokio::io::DuplexStream;

use super::common::{Host, SimProcess};

/// 2026-12-04 20:15:30 UTC.
const NETWORK_UTC_S: i64 = 1_796_415_330;

async fn started(dir: &std::path::Path) -> (SimHandle, Host<DuplexStream>) {
    let mut cfg = SimConfig::new(dir);
    cfg.network_time = NetworkTime::Fixed {
        utc_at_start_unix_s: NETWORK_UTC_S,
    };
    let (sim, io) = Simulator::spawn_duplex(cfg).unwrap();
    // Module time at scale 1: the paused clock runs through the 6 s boot.
    assert!(
        sim.wait_ready(Duration::from_secs(60)).await,
        "did not boot"
    );
    let mut host = Host::new(io);
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    (sim, host)
}

async fn ask(host: &mut Host<DuplexStream>, line: &str) -> String {
    host.write(format!("{line}\r").as_bytes()).await;
    host.read_until("OK\r\n").await
}

async fn registered(sim: &SimHandle) {
    while sim.snapshot().await.unwrap().reg_stat != RegStat::Home {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_date_until_registration_with_ctzu_then_network_time() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(dir.path()).await;
    // Booted 6 s after the start, not registered yet (2 s more).
    assert_eq!(
        ask(&mut host, "AT+CCLK?").await,
        "\r\n+CCLK: \"15/01/01,00:00:06+00\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        ask(&mut host, "AT+CTZU?").await,
        "\r\n+CTZU: 0\r\n\r\nOK\r\n"
    );
    assert_eq!(ask(&mut host, "AT+CTZU=1").await, "\r\nOK\r\n");
    registered(&sim).await;
    // Registered 8 s after the start: 20:15:38 UTC, shown as UTC+1 (+04).
    assert_eq!(
        ask(&mut host, "AT+CCLK?").await,
        "\r\n+CCLK: \"26/12/04,21:15:38+04\"\r\n\r\nOK\r\n"
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        ask(&mut host, "AT+CCLK?").await,
        "\r\n+CCLK: \"26/12/04,22:15:38+04\"\r\n\r\nOK\r\n"
    );
    // Set by hand.
    assert_eq!(
        ask(&mut host, "AT+CCLK=\"27/03/01,08:00:00-20\"").await,
        "\r\nOK\r\n"
    );
    assert_eq!(
        ask(&mut host, "AT+CCLK?").await,
        "\r\n+CCLK: \"27/03/01,08:00:00-20\"\r\n\r\nOK\r\n"
    );
    // A reboot loses the clock; CTZU stays on (NVM) and the registration
    // after the boot brings the network's time back.
    assert_eq!(ask(&mut host, "AT+CFUN=16").await, "\r\nOK\r\n");
    assert!(sim.wait_ready(Duration::from_secs(60)).await);
    assert_eq!(
        ask(&mut host, "AT+CCLK?").await,
        "AT+CCLK?\r\r\n+CCLK: \"15/01/01,00:00:06+00\"\r\n\r\nOK\r\n"
    );
    registered(&sim).await;
    let answer = ask(&mut host, "AT+CCLK?").await;
    assert!(
        answer.contains("+CCLK: \"26/12/04,22:1"),
        "{answer:?} is not network time"
    );
    sim.shutdown();
    // CTZU survives a restart of the simulator: it is in NVM.
    let (sim, mut host) = started(dir.path()).await;
    assert_eq!(
        ask(&mut host, "AT+CTZU?").await,
        "\r\n+CTZU: 1\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn the_binarys_flags_choose_the_network_time_and_zone() {
    let dir = tempfile::tempdir().unwrap();
    let process = SimProcess::start([
        "--time-scale".as_ref(),
        "0.001".as_ref(),
        "--network-time".as_ref(),
        "1796415330".as_ref(),
        "--tz-quarters".as_ref(),
        "-20".as_ref(),
        "--nvm-dir".as_ref(),
        dir.path().as_os_str(),
    ])
    .await;
    let mut host = Host::new(super::common::PtyHost::open(&process.pty).unwrap());
    host.until_answered("ATE0;+CTZU=1").await;
    // Network time once registered: 20:15:30 UTC and a few (real) seconds,
    // shown as UTC-5.
    let answer = host
        .until_answer_contains("AT+CCLK?", "+CCLK: \"26/12/04,15:1")
        .await;
    assert!(answer.ends_with("-20\"\r\n\r\nOK\r\n"), "{answer:?}");
    assert!(process.terminate().await.success());
}
