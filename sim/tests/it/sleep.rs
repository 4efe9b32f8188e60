//! The power-state machine through the real runner and a pty: Hibernate
//! after the `+UPSV` timeout, the sleep URCs on the wire, a deaf UART, and
//! the wake line.

use std::time::Duration;

use super::common::{fast_config, registered, Host, PtyHost, PATIENCE};
use lexi_sim::{PowerMode, Simulator};

#[tokio::test]
async fn hibernate_after_the_timeout_deaf_until_the_wake_line() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, path) = Simulator::spawn_pty(fast_config(dir.path())).unwrap();
    let mut host = Host::new(PtyHost::open(&path).unwrap());
    assert!(sim.wait_ready(PATIENCE).await, "did not boot");
    registered(&sim).await;
    // 1000 s of module time is 1 s here: long enough that the module does
    // not fall asleep again between the wake and the `AT` below.
    host.write(b"ATE0;+USLPURC=\"HIBNATE\",1;+UPSV=1,1000000,4\r")
        .await;
    host.read_until("OK\r\n").await;
    assert_eq!(
        host.read_until("+UUSLPURC: HIB 1\r\n").await,
        "\r\n+UUSLPURC: HIB 1\r\n"
    );
    assert_eq!(
        sim.snapshot().await.map(|s| s.power_mode),
        Some(PowerMode::Hibernate)
    );
    // Deaf: no echo, no answer.
    host.write(b"AT\r").await;
    assert!(host.silent_for(Duration::from_millis(300)).await);
    sim.pulse_wake_line();
    assert_eq!(
        host.read_until("+UUSLPURC: HIB 0\r\n").await,
        "\r\n+UUSLPURC: HIB 0\r\n"
    );
    // Awake again, with echo back on (volatile state was lost).
    host.write(b"AT\r").await;
    assert_eq!(host.read_until("OK\r\n").await, "AT\r\r\nOK\r\n");
    assert_eq!(
        sim.transcript(),
        vec!["ATE0;+USLPURC=\"HIBNATE\",1;+UPSV=1,1000000,4", "AT"]
    );
    let log = sim.power_log().await.unwrap();
    let states: Vec<PowerMode> = log.iter().map(|e| e.state).collect();
    let hib = states
        .iter()
        .position(|s| *s == PowerMode::Hibernate)
        .expect("never hibernated");
    assert_eq!(states[hib + 1], PowerMode::Idle, "{log:?}");
    // About 1000 s of module time went by before it slept.
    assert!(log[hib].at >= Duration::from_secs(1000), "{log:?}");
    let energy = sim.energy().await.unwrap();
    assert!(energy.time_in(PowerMode::Hibernate) > Duration::ZERO);
    sim.shutdown();
}
