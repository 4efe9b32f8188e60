//! The simulator over a real pty: raw bytes in, raw bytes out.

// Test code: a panic is how a test fails (helpers outside #[test] fns too).

use std::time::Duration;

use super::common::{fast_config, registered, Host, PtyHost, PATIENCE};
use lexi_sim::{NetworkCondition, Simulator};

async fn started(cfg: lexi_sim::SimConfig) -> (lexi_sim::SimHandle, Host<PtyHost>) {
    let (sim, path) = Simulator::spawn_pty(cfg).unwrap();
    assert!(path.starts_with("/dev/"), "{path:?}");
    let host = Host::new(PtyHost::open(&path).unwrap());
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    (sim, host)
}

#[tokio::test]
async fn echo_then_a_full_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"AT+CGMI\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "AT+CGMI\r\r\nu-blox\r\n\r\nOK\r\n"
    );
    host.write(b"ATE0\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "ATE0\r\r\nOK\r\n");
    host.write(b"at+cgsn\r\n").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "\r\n357862090033897\r\n\r\nOK\r\n"
    );
    assert_eq!(sim.transcript(), vec!["AT+CGMI", "ATE0", "at+cgsn"]);
    sim.shutdown();
}

#[tokio::test]
async fn urcs_from_the_network_and_injected() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    registered(&sim).await;
    host.write(b"ATE0;+CEREG=1\r").await;
    host.read_until("OK\r\n").await;
    sim.set_network(NetworkCondition::Denied);
    assert_eq!(
        host.read_until("+CEREG: 3\r\n").await,
        "\r\n+CEREG: 2\r\n\r\n+CEREG: 3\r\n"
    );
    sim.inject_urc("+UUSORD: 0,2");
    assert_eq!(
        host.read_until("\r\n+UUSORD: 0,2\r\n").await,
        "\r\n+UUSORD: 0,2\r\n"
    );
    sim.inject_raw(b"\xff\x00garbage");
    assert_eq!(
        host.read_until("garbage").await.as_bytes(),
        b"\xef\xbf\xbd\x00garbage"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_reboot_cuts_the_answer_off_and_is_silent_while_booting() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    // One second of real boot time: ample for the bytes below to arrive
    // while the module is still booting.
    cfg.boot_time = Duration::from_secs(1000);
    let (sim, mut host) = started(cfg).await;
    sim.delay_next_answer(Duration::from_secs(3600));
    host.write(b"AT+CGMI\r").await;
    // The echo came, the answer is held back...
    assert_eq!(host.read_until("AT+CGMI\r").await, "AT+CGMI\r");
    // ... and is lost with the reboot. What the host sends while the module
    // boots is dropped: no echo, no answer.
    sim.reboot();
    host.write(b"AT+CGMM\r").await;
    assert!(sim.wait_ready(PATIENCE).await);
    host.write(b"AT\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "AT\r\r\nOK\r\n");
    assert_eq!(sim.transcript(), vec!["AT+CGMI", "AT"]);
    sim.shutdown();
}

#[tokio::test]
async fn close_port_gives_the_reader_eof() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mut host) = started(fast_config(dir.path())).await;
    host.write(b"AT\r").await;
    host.read_until("OK\r\n").await;
    sim.close_port();
    assert!(
        host.reads_eof().await,
        "the host's read neither ended nor failed"
    );
    // The simulator itself is still there.
    assert!(sim.snapshot().await.is_some());
    sim.shutdown();
}

#[tokio::test]
async fn output_before_the_host_opens_the_port_is_kept_raw() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fast_config(dir.path());
    // CR and LF would be mangled by a cooked line discipline.
    cfg.boot_greeting = Some(b"\r\nBOOT\r\n".to_vec());
    let (sim, path) = Simulator::spawn_pty(cfg).unwrap();
    assert!(sim.wait_ready(PATIENCE).await);
    let mut host = Host::new(PtyHost::open(&path).unwrap());
    assert_eq!(host.read_until("BOOT\r\n").await, "\r\nBOOT\r\n");
    sim.shutdown();
}

#[tokio::test]
async fn the_agents_serial_library_can_open_the_port() {
    use tokio_serial::SerialPortBuilderExt;
    let dir = tempfile::tempdir().unwrap();
    let (sim, path) = Simulator::spawn_pty(fast_config(dir.path())).unwrap();
    assert!(sim.wait_ready(PATIENCE).await);
    let path = path.to_str().unwrap().to_string();
    let port = tokio_serial::new(&path, 115_200)
        .open_native_async()
        .unwrap();
    // serialport takes an exclusive lock: a second open fails.
    assert!(tokio_serial::new(&path, 115_200)
        .open_native_async()
        .is_err());
    let mut host = Host::new(port);
    host.write(b"AT+CGMM\r").await;
    assert_eq!(
        host.read_until("OK\r\n").await,
        "AT+CGMM\r\r\nLEXI-R10401D\r\n\r\nOK\r\n"
    );
    sim.shutdown();
}
