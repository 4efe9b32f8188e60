//! The whole simulator (I/O task, jobs, NVM file) over an in-process duplex.

// Test code: a panic is how a test fails (helpers outside #[test] fns too).

use std::net::IpAddr;
use std::time::Duration;

use super::common::{fast_config, registered, Host, PATIENCE};
use lexi_sim::{SimHandle, Simulator};
use tokio::io::DuplexStream;

async fn started(cfg: lexi_sim::SimConfig) -> (SimHandle, Host<DuplexStream>) {
    let (sim, io) = Simulator::spawn_duplex(cfg).unwrap();
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    let mut host = Host::new(io);
    host.write(b"ATE0\r").await;
    host.read_until("OK\r\n").await;
    (sim, host)
}

#[tokio::test]
async fn dns_and_ping_complete_by_urc() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.dns.insert(
        "broker.test".into(),
        "192.0.2.10".parse::<IpAddr>().unwrap(),
    );
    let (sim, mut host) = started(cfg).await;
    registered(&sim).await;
    host.write(b"AT+UDNSRN=0,\"broker.test\"\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n");
    assert_eq!(
        host.read_until("\"\r\n").await,
        "\r\n+UUDNSRN: \"192.0.2.10\"\r\n"
    );
    host.write(b"AT+UDNSRN=0,\"www.google.com\"\r").await;
    host.read_until("OK\r\n").await;
    assert_eq!(host.read_until("\"\r\n").await, "\r\n+UUDNSRN: \"\"\r\n");
    host.write(b"AT+UPING=\"broker.test\",2\r").await;
    host.read_until("OK\r\n").await;
    assert_eq!(
        host.read_until(",50\r\n").await,
        "\r\n+UUPING: 1,32,\"broker.test\",\"192.0.2.10\",64,50\r\n"
    );
    assert_eq!(
        host.read_until(",50\r\n").await,
        "\r\n+UUPING: 2,32,\"broker.test\",\"192.0.2.10\",64,50\r\n"
    );
    host.write(b"AT+UPING=\"nowhere.test\"\r").await;
    host.read_until("OK\r\n").await;
    assert_eq!(
        host.read_until("\r\n+UUPINGER: 8\r\n").await,
        "\r\n+UUPINGER: 8\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn an_injected_urc_goes_out_at_once_even_while_an_answer_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"ATE1\r").await;
    host.read_until("OK\r\n").await;
    sim.delay_next_answer(Duration::from_secs(3600));
    host.write(b"AT+CGMI\r").await;
    assert_eq!(host.read_until("AT+CGMI\r").await, "AT+CGMI\r");
    // The answer is queued behind the pause; the URC jumps the queue.
    sim.inject_urc("+UUSOCL: 0");
    assert_eq!(
        host.read_until("\r\n+UUSOCL: 0\r\n").await,
        "\r\n+UUSOCL: 0\r\n"
    );
    // The held answer dies with a reboot; the next one is whole.
    sim.reboot();
    assert!(sim.wait_ready(PATIENCE).await);
    host.write(b"AT+CGMM\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "AT+CGMM\r\r\nLEXI-R10401D\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn fail_next_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"AT+CMEE=2\r").await;
    host.read_until("OK\r\n").await;
    sim.fail_next(1, 3);
    host.write(b"AT+CGMI\r").await;
    assert_eq!(host.read_until("\r\n").await, "\r\n");
    assert_eq!(
        host.read_until("\r\n").await,
        "+CME ERROR: operation not allowed\r\n"
    );
    host.write(b"AT+CGMI\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "\r\nu-blox\r\n\r\nOK\r\n");
    sim.shutdown();
}

#[tokio::test]
async fn nvm_survives_a_restart_and_is_written_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (sim, mut host) = started(fast_config(dir.path())).await;
        for line in [
            "AT+CFUN=0",
            "AT+UMNOPROF=100",
            "AT+UMNOPROF=100",
            "AT+CGDCONT=1,\"IPV4V6\",\"apn_name\"",
            "AT+UDCONF=19,3,0",
        ] {
            host.write(format!("{line}\r").as_bytes()).await;
            assert_eq!(host.read_until("OK\r\n").await, "\r\nOK\r\n", "{line}");
        }
        assert_eq!(sim.snapshot().await.unwrap().nvm_writes, 3);
        assert_eq!(sim.transcript().len(), 6);
        sim.shutdown();
    }
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"AT+UMNOPROF?;+UDCONF=19\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+UMNOPROF: 100\r\n\r\n+UDCONF: 19,3,0\r\n\r\nOK\r\n"
    );
    registered(&sim).await;
    host.write(b"AT+CGDCONT?\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+CGDCONT: 1,\"IP\",\"apn_name\",\"10.40.50.5\",0,0,0,0,0\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_corrupt_nvm_file_does_not_stop_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(lexi_sim::nvm::FILE_NAME),
        b"\x00\x01 not json",
    )
    .unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"AT+UMNOPROF?\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n+UMNOPROF: 90\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}

#[tokio::test]
async fn power_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    sim.power_off();
    // A short bound is fine here: the answer is "not ready", whatever the wait.
    assert!(!sim.wait_ready(Duration::from_millis(50)).await);
    host.write(b"AT+CGMI\r").await;
    sim.power_on();
    assert!(sim.wait_ready(PATIENCE).await);
    host.write(b"AT\r").await;
    // Echo is back on after boot; the CGMI sent while off left no trace.
    assert_eq!(host.read_until("OK\r\n").await, "AT\r\r\nOK\r\n");
    sim.shutdown();
}

#[tokio::test]
async fn close_port_and_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    sim.close_port();
    assert!(host.reads_eof().await);
    sim.shutdown();
    assert!(
        sim.snapshot().await.is_none(),
        "still running after shutdown"
    );
    assert!(!sim.wait_ready(PATIENCE).await);
}

#[tokio::test]
async fn the_simulator_outlives_a_host_that_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, host) = started(fast_config(dir.path())).await;
    drop(host);
    sim.reboot();
    assert!(sim.wait_ready(PATIENCE).await);
    assert!(sim.snapshot().await.is_some());
    sim.shutdown();
}

#[tokio::test]
async fn bad_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    cfg.imei = "123".into();
    assert!(matches!(
        Simulator::spawn_duplex(cfg),
        Err(lexi_sim::SimError::Config(_))
    ));
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let cfg = fast_config(&file.join("nvm"));
    assert!(matches!(
        Simulator::spawn_duplex(cfg),
        Err(lexi_sim::SimError::NvmDir { .. })
    ));
}

#[test]
fn spawning_needs_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Simulator::spawn_duplex(fast_config(dir.path())),
        Err(lexi_sim::SimError::NoRuntime(_))
    ));
}
