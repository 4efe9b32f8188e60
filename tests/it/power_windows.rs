//! The agent and the module's power, read from the simulator's own records:
//! its transcript (every command line, in module time) and its power log
//! (every change of power state, on the same clock). The agent runs as the
//! daemon, in this process, on a simulator this test holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode};

use crate::in_process::{daemon_while, simulated_module, simulated_module_with, HANG};
use edge_agent::demo::LocalBroker;
use edge_agent::modem::at::Raw;
use lexi_sim::{PowerLogEntry, PowerMode};

fn is_deep(mode: PowerMode) -> bool {
    matches!(mode, PowerMode::Sleep2 | PowerMode::Hibernate)
}

/// What the module was doing at module time `at`, by its power log.
fn mode_at(log: &[PowerLogEntry], at: Duration) -> Option<PowerMode> {
    log.iter()
        .take_while(|e| e.at <= at)
        .last()
        .map(|e| e.state)
}

/// The agent's config for `device` on the simulator at `pty` and the broker
/// on `broker_port`: heartbeats every 300 ms, plus the `extra` tables. The
/// in-process link wakes the module through the simulator's PWR_ON line
/// (`ModemLink::waker`); the wake command here declares that the gateway
/// has such a line, which a device port needs before the module may sleep
/// deeper than Sleep-1.
fn config(dir: &Path, pty: &Path, device: &str, broker_port: u16, extra: &str) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"{device}\"\nheartbeat_interval = \"300ms\"\n\n\
             [modem]\nport = {pty:?}\nregistration_timeout = \"10s\"\n\n\
             [modem.power.wake]\nkind = \"command\"\nprogram = \"/bin/true\"\n\n\
             [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n\n{extra}\n",
            dir.join("data"),
        ),
    )
    .unwrap();
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .unwrap()
        .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_vote_down_around_every_session_never_sleep_deeply_in_one_and_reload_from_nvm_after_hibernate(
) {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    // Windows every 2 s; the module may sleep after 60 s of module time
    // (0.6 s here), so it hibernates between windows.
    let config = config(
        dir.path(),
        &pty,
        "gw-power",
        broker.addr.port(),
        "[modem.power]\nsleep_timeout = \"60s\"\n\n[uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n",
    );

    // Watch until the module has hibernated and a later window has logged
    // in and out again, then stop the agent.
    let watch = async {
        let deadline = Instant::now() + HANG;
        let mut nvm_writes_at_first_hibernate = None;
        let first_hibernate = loop {
            assert!(Instant::now() < deadline, "{:#?}", sim.timed_transcript());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let log = sim.power_log().await.unwrap();
            let Some(hibernate) = log.iter().find(|e| e.state == PowerMode::Hibernate) else {
                continue;
            };
            if nvm_writes_at_first_hibernate.is_none() {
                nvm_writes_at_first_hibernate = Some(sim.snapshot().await.unwrap().nvm_writes);
            }
            let logouts_after = sim
                .timed_transcript()
                .iter()
                .filter(|(at, line)| *at > hibernate.at && line == "AT+UMQTTC=0")
                .count();
            if logouts_after >= 1 {
                break hibernate.at;
            }
        };
        (first_hibernate, nvm_writes_at_first_hibernate)
    };
    let (report, (first_hibernate, nvm_writes_at_first_hibernate)) =
        daemon_while(link, &config, watch).await;
    assert!(report.delivered > 0, "{report:?}");

    let transcript = sim.timed_transcript();
    let log = sim.power_log().await.unwrap();
    let shown = || format!("transcript: {transcript:#?}\npower log: {log:#?}");

    // Every profile change and every session operation happens voted down;
    // the vote goes up again after each.
    let mut voted_down = false;
    let mut downs = 0;
    for (_, line) in &transcript {
        match line.as_str() {
            "AT+USLPVOTE=0,0" => {
                assert!(!voted_down, "two votes down in a row\n{}", shown());
                voted_down = true;
                downs += 1;
            }
            "AT+USLPVOTE=0,1" => voted_down = false,
            // Configuring the vote level (again after deep sleep) starts
            // the votes afresh; the agent votes down again after it.
            l if l.starts_with("AT+USLPVOTE=1,") => voted_down = false,
            l if l.starts_with("AT+UMQTT") => {
                assert!(voted_down, "{l} while allowed to sleep\n{}", shown());
            }
            _ => {}
        }
    }
    assert!(
        !voted_down,
        "the vote went up before the agent exited\n{}",
        shown()
    );
    let logins: Vec<Duration> = transcript
        .iter()
        .filter(|(_, l)| l == "AT+UMQTTC=1")
        .map(|(at, _)| *at)
        .collect();
    assert!(logins.len() >= 2 && downs >= logins.len(), "{}", shown());

    // No deep sleep while a session is up: from each login to its logout.
    for (login, _) in transcript.iter().filter(|(_, l)| l == "AT+UMQTTC=1") {
        let logout = transcript
            .iter()
            .find(|(at, l)| at > login && l == "AT+UMQTTC=0")
            .map_or(Duration::MAX, |(at, _)| *at);
        assert!(
            !mode_at(&log, *login).is_some_and(is_deep),
            "login at {login:?} while deeply asleep\n{}",
            shown()
        );
        assert!(
            !log.iter()
                .any(|e| e.at > *login && e.at < logout && is_deep(e.state)),
            "deep sleep during the session from {login:?} to {logout:?}\n{}",
            shown()
        );
    }

    // After Hibernate, the next window reloads the profile from NVM before
    // it logs in, and nothing is written to NVM again.
    let after: Vec<&str> = transcript
        .iter()
        .filter(|(at, _)| *at > first_hibernate)
        .map(|(_, l)| l.as_str())
        .collect();
    let reload = after.iter().position(|l| *l == "AT+UMQTTNV=1");
    let login = after.iter().position(|l| *l == "AT+UMQTTC=1");
    assert!(
        reload.is_some() && reload < login,
        "reloaded before the login: {after:#?}"
    );
    assert!(
        !after
            .iter()
            .any(|l| *l == "AT+UMQTTNV=2" || l.starts_with("AT+UMQTT=")),
        "no profile written after Hibernate: {after:#?}"
    );
    assert_eq!(
        Some(sim.snapshot().await.unwrap().nvm_writes),
        nvm_writes_at_first_hibernate,
        "no NVM write after Hibernate"
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datagram_to_the_doorbell_wakes_the_agent_from_hibernate_and_its_readings_go_out() {
    let broker = LocalBroker::start().unwrap();
    let mut watcher = crate::mqtt_e2e::subscriber(&broker, "devices/gw-bell/telemetry").await;
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    // An hour between windows and no backlog limit to speak of: only the
    // start window and the doorbell can send anything within this test.
    let extra = format!(
        "[modem.power]\nsleep_timeout = \"60s\"\n\n[uplink]\ninterval = \"1h\"\nmax_pending = 1000000\n\n[doorbell]\nenabled = true\nserver = \"127.0.0.1\"\nport = {}\n",
        server.local_addr().unwrap().port()
    );
    let config = config(dir.path(), &pty, "gw-bell", broker.addr.port(), &extra);

    let ring = async {
        // The hello tells the server where the gateway is.
        let mut hello = [0u8; 64];
        let (n, gateway) = tokio::time::timeout(HANG, server.recv_from(&mut hello))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&hello[..n], b"gw-bell");
        // The start window goes by (its heartbeat arrives); then the module
        // hibernates while heartbeats queue for a window an hour away.
        tokio::time::timeout(HANG, watcher.recv())
            .await
            .unwrap()
            .unwrap();
        let deadline = Instant::now() + HANG;
        let hibernated_at = loop {
            assert!(Instant::now() < deadline, "{:#?}", sim.power_log().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let log = sim.power_log().await.unwrap();
            if let Some(e) = log.last().filter(|e| e.state == PowerMode::Hibernate) {
                break e.at;
            }
        };
        // Let heartbeats queue, then ring.
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.send_to(b"upload\n", gateway).await.unwrap();
        let (_, payload) = tokio::time::timeout(Duration::from_secs(30), watcher.recv())
            .await
            .expect("the doorbell's window uploaded within 30 s")
            .unwrap();
        let records: ciborium::Value = ciborium::from_reader(&payload[..]).unwrap();
        assert!(records.as_array().unwrap().len() >= 6, "{records:?}");
        // The heartbeats queued while the module hibernated say so, and
        // that the doorbell is open (SenML CBOR labels: bn -2, n 0, v 2,
        // vb 4; a base name holds for the records after it).
        let field = |name: &str, label: i64| -> Vec<ciborium::Value> {
            let mut base = String::new();
            let mut values = Vec::new();
            for record in records.as_array().unwrap() {
                let map = record.as_map().unwrap();
                let get = |l: i64| {
                    map.iter()
                        .find(|(k, _)| k.as_integer() == Some(l.into()))
                        .map(|(_, v)| v.clone())
                };
                if let Some(bn) = get(-2) {
                    base = bn.as_text().unwrap().to_string();
                }
                let n = get(0).map(|n| n.as_text().unwrap().to_string());
                let resolved = format!("{base}{}", n.unwrap_or_default());
                if resolved.ends_with(name) {
                    values.extend(get(label));
                }
            }
            values
        };
        let deep_sleeps = field("power/deep_sleeps", 2);
        assert!(
            deep_sleeps
                .iter()
                .any(|v| v.as_integer().is_some_and(|n| i128::from(n) >= 1)),
            "{records:?}"
        );
        assert!(
            field("doorbell/open", 4).contains(&ciborium::Value::Bool(true)),
            "{records:?}"
        );
        hibernated_at
    };
    let (_, hibernated_at) = daemon_while(link, &config, ring).await;

    let transcript = sim.timed_transcript();
    let log = sim.power_log().await.unwrap();
    let after: Vec<&str> = transcript
        .iter()
        .filter(|(at, _)| *at > hibernated_at)
        .map(|(_, l)| l.as_str())
        .collect();
    // The module woke on the datagram (no wake line needed), the agent read
    // it, then logged in.
    let read = after.iter().position(|l| l.starts_with("AT+USORF="));
    let login = after.iter().position(|l| *l == "AT+UMQTTC=1");
    assert!(
        read.is_some() && read < login,
        "read the ring, then a session: {after:#?}\n{log:#?}"
    );
    // Only the always-on doorbell is open after the windows.
    let snapshot = sim.snapshot().await.unwrap();
    assert_eq!(snapshot.sockets.len(), 1, "{:#?}", snapshot.sockets);
    assert!(
        snapshot.sockets.iter().all(|s| s.aon),
        "{:#?}",
        snapshot.sockets
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_unannounced_reboot_the_next_window_restores_the_settings_and_reloads_the_profile()
{
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    let config = config(
        dir.path(),
        &pty,
        "gw-reboot",
        broker.addr.port(),
        "[modem.power]\nenabled = false\n\n[uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n",
    );
    let count =
        |lines: &[(Duration, String)], what: &str| lines.iter().filter(|(_, l)| l == what).count();
    let watch = async {
        let deadline = Instant::now() + HANG;
        // The start window ends; then the module reboots without a word
        // (power saving is off, so no sleep URC can explain anything).
        while count(&sim.timed_transcript(), "AT+UMQTTC=0") < 1 {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before_reboot = sim.timed_transcript().len();
        sim.reboot();
        assert!(sim.wait_ready(HANG).await);
        // Wait for a window after the reboot to log in and out.
        loop {
            assert!(Instant::now() < deadline, "{:#?}", sim.timed_transcript());
            tokio::time::sleep(Duration::from_millis(50)).await;
            let after = sim.timed_transcript().split_off(before_reboot);
            if count(&after, "AT+UMQTTC=0") >= 1 {
                break;
            }
        }
        before_reboot
    };
    let (_, before_reboot) = daemon_while(link, &config, watch).await;
    let after: Vec<String> = sim
        .timed_transcript()
        .split_off(before_reboot)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let at = |what: &str| after.iter().position(|l| l == what);
    assert!(
        at("ATE0").is_some()
            && at("ATE0") < at("AT+UMQTTNV=1")
            && at("AT+UMQTTNV=1") < at("AT+UMQTTC=1"),
        "echo off again, profile reloaded, then the login: {after:#?}"
    );
    assert!(
        !after
            .iter()
            .any(|l| l == "AT+UMQTTNV=2" || l.starts_with("AT+UMQTT=")),
        "nothing rewritten: {after:#?}"
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_started_while_the_module_hibernates_wakes_it_and_boots() {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    // An earlier agent let the module hibernate and then stopped (or
    // crashed): the module sleeps, and the UART bytes of the new agent are
    // lost until the wake line is pulsed.
    assert!(sim.wait_ready(HANG).await);
    link.client
        .send_raw(&Raw::new("AT+UPSV=1,60000,4"))
        .await
        .unwrap();
    let deadline = Instant::now() + HANG;
    while sim
        .power_log()
        .await
        .unwrap()
        .last()
        .is_none_or(|e| e.state != PowerMode::Hibernate)
    {
        assert!(Instant::now() < deadline, "{:#?}", sim.power_log().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asleep_at = sim.timed_transcript().len();

    let config = config(
        dir.path(),
        &pty,
        "gw-asleep",
        broker.addr.port(),
        "[modem.power]\nsleep_timeout = \"60s\"\n",
    );
    let report = tokio::time::timeout(
        HANG,
        daemon::run_on(link, &config, RunMode::Once, std::future::ready(())),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(report.delivered > 0, "{report:?}");
    // The first command the module took after its sleep is the boot's.
    let after: Vec<String> = sim
        .timed_transcript()
        .split_off(asleep_at)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert!(
        after.iter().position(|l| l == "ATE0") < after.iter().position(|l| l == "AT+UMQTTC=1"),
        "{after:#?}"
    );
    let log = sim.power_log().await.unwrap();
    assert!(
        log.iter().any(|e| e.state == PowerMode::Hibernate),
        "{log:#?}"
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reboot_the_next_window_opens_the_doorbell_again_and_it_rings() {
    let broker = LocalBroker::start().unwrap();
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    let extra = format!(
        "[modem.power]\nenabled = false\n\n[uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n[doorbell]\nenabled = true\nserver = \"127.0.0.1\"\nport = {}\n",
        server.local_addr().unwrap().port()
    );
    let config = config(dir.path(), &pty, "gw-rering", broker.addr.port(), &extra);
    let watch = async {
        let mut hello = [0u8; 64];
        let (n, _) = tokio::time::timeout(HANG, server.recv_from(&mut hello))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&hello[..n], b"gw-rering");
        // The module reboots without a word: its sockets are gone.
        sim.reboot();
        assert!(sim.wait_ready(HANG).await);
        let (n, again) = tokio::time::timeout(HANG, server.recv_from(&mut hello))
            .await
            .expect("a second hello after the reboot")
            .unwrap();
        assert_eq!(&hello[..n], b"gw-rering");
        let reopened_at = sim.timed_transcript().len();
        // The reopened doorbell is always-on, and the only socket.
        let snapshot = sim.snapshot().await.unwrap();
        assert_eq!(snapshot.sockets.len(), 1, "{:#?}", snapshot.sockets);
        assert!(snapshot.sockets[0].aon, "{:#?}", snapshot.sockets);
        // It rings: the agent reads the datagram.
        server.send_to(b"upload\n", again).await.unwrap();
        let deadline = Instant::now() + HANG;
        while !sim.timed_transcript()[reopened_at..]
            .iter()
            .any(|(_, l)| l.starts_with("AT+USORF="))
        {
            assert!(Instant::now() < deadline, "{:#?}", sim.timed_transcript());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    daemon_while(link, &config, watch).await;
    // Checked through the module's list, not assumed.
    assert!(
        sim.transcript().iter().any(|l| l == "AT+USOCR?"),
        "{:#?}",
        sim.transcript()
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_doorbell_the_server_closed_is_opened_again_in_the_next_window() {
    use tokio::io::AsyncReadExt;

    let broker = LocalBroker::start().unwrap();
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module(dir.path());
    let extra = format!(
        "[modem.power]\nenabled = false\n\n[uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n[doorbell]\nenabled = true\nprotocol = \"tcp\"\nserver = \"127.0.0.1\"\nport = {}\n",
        server.local_addr().unwrap().port()
    );
    // No deep sleep, so no list of sockets after it: only the module's
    // `+UUSOCL` tells the agent.
    let config = config(dir.path(), &pty, "gw-tcpbell", broker.addr.port(), &extra);
    let watch = async {
        let hello = |mut conn: tokio::net::TcpStream| async move {
            let mut buf = [0u8; 9];
            conn.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"gw-tcpbel");
            conn
        };
        let (first, _) = tokio::time::timeout(HANG, server.accept())
            .await
            .unwrap()
            .unwrap();
        // The server hangs up: the module reports the socket closed.
        drop(hello(first).await);
        let (again, _) = tokio::time::timeout(HANG, server.accept())
            .await
            .expect("the doorbell connected again")
            .unwrap();
        let again = hello(again).await;
        // Kept open until the agent has stopped: a second close would
        // start a third round.
        again
    };
    daemon_while(link, &config, watch).await;
    let transcript = sim.transcript();
    assert_eq!(
        transcript
            .iter()
            .filter(|l| l.starts_with("AT+USOCO="))
            .count(),
        2,
        "{transcript:#?}"
    );
    sim.shutdown();
}

/// Runs the daemon with windows every 2 s and a 60 s (module time) sleep
/// timeout on a module whose USB is connected, until `enough` says so;
/// returns the transcript and the power log.
async fn windows_with_usb_connected(
    device: &str,
    power: &str,
    enough: impl Fn(&[(Duration, String)], &[PowerLogEntry]) -> bool,
) -> (Vec<(Duration, String)>, Vec<PowerLogEntry>) {
    let broker = LocalBroker::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sim, pty, link) = simulated_module_with(dir.path(), |c| c.usb_connected = true);
    let config = config(
        dir.path(),
        &pty,
        device,
        broker.addr.port(),
        &format!(
            "[modem.power]\nsleep_timeout = \"60s\"\n{power}\n\n\
             [uplink]\ninterval = \"2s\"\njitter = \"0s\"\n\n"
        ),
    );
    let watch = async {
        let deadline = Instant::now() + HANG;
        loop {
            let transcript = sim.timed_transcript();
            let log = sim.power_log().await.unwrap();
            assert!(
                Instant::now() < deadline,
                "transcript: {transcript:#?}\npower log: {log:#?}"
            );
            if enough(&transcript, &log) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (_, ()) = daemon_while(link, &config, watch).await;
    let records = (sim.timed_transcript(), sim.power_log().await.unwrap());
    sim.shutdown();
    records
}

fn logouts_after(transcript: &[(Duration, String)], after: Duration) -> usize {
    transcript
        .iter()
        .filter(|(at, l)| *at > after && l == "AT+UMQTTC=0")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_usb_connected_the_module_hibernates_between_windows_once_the_agent_turned_usb_off(
) {
    // Until a Hibernate has been followed by a window's logout (or, if it
    // never comes, six windows: the assertions below say what is missing).
    let hibernated_then_window = |transcript: &[(Duration, String)], log: &[PowerLogEntry]| {
        log.iter()
            .find(|e| e.state == PowerMode::Hibernate)
            .is_some_and(|h| logouts_after(transcript, h.at) >= 1)
    };
    let (transcript, log) = windows_with_usb_connected("gw-usb", "", |transcript, log| {
        hibernated_then_window(transcript, log) || logouts_after(transcript, Duration::ZERO) >= 6
    })
    .await;
    let shown = format!("transcript: {transcript:#?}\npower log: {log:#?}");
    assert!(
        hibernated_then_window(&transcript, &log),
        "no Hibernate between windows\n{shown}"
    );
    let usb_off: Vec<Duration> = transcript
        .iter()
        .filter(|(_, l)| l == "AT+UUSBCONF=99")
        .map(|(at, _)| *at)
        .collect();
    // Read and written once, though the sleep settings were applied again
    // after every wake from Hibernate: the profile is in NVM.
    assert_eq!(usb_off.len(), 1, "{shown}");
    let reads = transcript
        .iter()
        .filter(|(_, l)| l == "AT+UUSBCONF?")
        .count();
    assert_eq!(reads, 1, "{shown}");
    let first_deep = log.iter().find(|e| is_deep(e.state)).map(|e| e.at);
    assert!(
        first_deep.is_some_and(|at| at > usb_off[0]),
        "no deep sleep before USB off\n{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_usb_off_false_a_module_with_its_usb_connected_sleeps_no_deeper_than_sleep1() {
    // Three windows after the first sleep of any depth: time enough to
    // hibernate between each, were USB off.
    let (transcript, log) =
        windows_with_usb_connected("gw-usb-on", "usb_off = false", |transcript, log| {
            log.iter()
                .find(|e| e.state == PowerMode::Sleep1 || is_deep(e.state))
                .is_some_and(|s| logouts_after(transcript, s.at) >= 3)
        })
        .await;
    let shown = format!("transcript: {transcript:#?}\npower log: {log:#?}");
    assert!(
        !log.iter().any(|e| is_deep(e.state)),
        "deep sleep with USB on\n{shown}"
    );
    // It did sleep, only not deeply.
    assert!(log.iter().any(|e| e.state == PowerMode::Sleep1), "{shown}");
    assert!(
        !transcript.iter().any(|(_, l)| l.starts_with("AT+UUSBCONF")),
        "{shown}"
    );
}
