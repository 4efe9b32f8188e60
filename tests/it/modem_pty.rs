//! The agent's AT engine and boot sequence against the simulator, through a
//! real pty opened with tokio-serial, as on a gateway. Every fault the
//! simulator can inject must end in a clear error or a recovery, never a hang
//! or a panic: each test runs under an overall deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use edge_agent::modem::at::{AtClient, AtError, ClientOptions, RegStatus, Urc};
use edge_agent::modem::general::{
    ErrorFormat, ReadImei, ReadManufacturer, ReadModel, SetErrorFormat,
};
use edge_agent::modem::psd::{PdpType, ReadRegistration};
use edge_agent::modem::{boot, port, BootError, BootSettings};
use lexi_sim::{NetworkCondition, SimConfig, SimHandle, Simulator};

/// A module boots in 60 ms and registers in 20 ms at this scale.
const TIME_SCALE: f64 = 0.01;

/// No test may take longer than this; a hang is a failure, not a wait.
const HANG: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {HANG:?}"))
}

struct Rig {
    sim: SimHandle,
    at: AtClient,
    dir: tempfile::TempDir,
}

fn sim_config(dir: &tempfile::TempDir) -> SimConfig {
    let mut c = SimConfig::new(dir.path().join("nvm"));
    c.time_scale = TIME_SCALE;
    c
}

fn fast_client() -> ClientOptions {
    ClientOptions {
        default_timeout: Duration::from_millis(1500),
        sync_window: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn settings() -> BootSettings {
    BootSettings {
        registration_timeout: Duration::from_secs(5),
        reboot_timeout: Duration::from_secs(5),
        ..BootSettings::default()
    }
}

impl Rig {
    async fn start() -> Rig {
        Self::start_with(tempfile::tempdir().unwrap(), |_| {}).await
    }

    async fn start_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut SimConfig)) -> Rig {
        let mut config = sim_config(&dir);
        tweak(&mut config);
        let (sim, path) = Simulator::spawn_pty(config).unwrap();
        let port = port::open(&path, 115_200).unwrap();
        let (at, _engine) = AtClient::spawn(port, fast_client());
        Rig { sim, at, dir }
    }

    async fn booted() -> Rig {
        let rig = Self::start().await;
        within("boot", boot(&rig.at, &settings())).await.unwrap();
        rig
    }

    fn count(&self, prefix: &str) -> usize {
        self.sim
            .transcript()
            .iter()
            .filter(|l| l.to_ascii_uppercase().starts_with(prefix))
            .count()
    }
}

#[tokio::test]
async fn the_agent_boots_the_simulated_module_over_a_pty_and_learns_who_and_where_it_is() {
    let rig = Rig::start().await;
    let info = within("boot", boot(&rig.at, &settings())).await.unwrap();
    assert_eq!(info.identity.manufacturer, "u-blox");
    assert!(info.identity.model.starts_with("LEXI-R10"), "{info:?}");
    assert_eq!(info.identity.imei, "357862090033897");
    assert_eq!(info.registration, RegStatus::Home);
    assert_eq!(info.operator.as_deref(), Some("sim-net"));
    assert_eq!(info.address.as_deref(), Some("10.40.50.5"));
    assert!(!info.reconfigured);
    // The start-up settings went out in the documented order.
    let t = rig.sim.transcript();
    let ate0 = t.iter().position(|l| l == "ATE0").unwrap();
    let cmee = t.iter().position(|l| l == "AT+CMEE=2").unwrap();
    let cgmi = t.iter().position(|l| l == "AT+CGMI").unwrap();
    assert!(ate0 < cmee && cmee < cgmi, "{t:?}");
}

#[tokio::test]
async fn profile_and_apn_are_written_once_and_a_second_boot_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wanted = BootSettings {
        mno_profile: Some(100),
        apn: Some("iot.example".into()),
        // Dual stack: after attach the module reports it as "IP" (§2.3),
        // which must not look like a difference.
        pdp_type: PdpType::Ipv4v6,
        ..settings()
    };
    let first = Rig::start_with(dir, |_| {}).await;
    let info = within("first boot", boot(&first.at, &wanted))
        .await
        .unwrap();
    assert!(info.reconfigured);
    assert_eq!(first.count("AT+UMNOPROF="), 1);
    assert_eq!(first.count("AT+CGDCONT="), 1);
    assert_eq!(
        first.count("AT+CFUN=16"),
        1,
        "the profile needs a reboot (§2.3)"
    );
    let dir = first.dir;
    first.sim.shutdown();

    // A new simulator on the same NVM directory: the module kept both.
    let second = Rig::start_with(dir, |_| {}).await;
    let info = within("second boot", boot(&second.at, &wanted))
        .await
        .unwrap();
    assert!(!info.reconfigured);
    assert_eq!(
        second.count("AT+UMNOPROF="),
        0,
        "{:?}",
        second.sim.transcript()
    );
    assert_eq!(second.count("AT+CGDCONT="), 0);
    assert_eq!(second.count("AT+CFUN=16"), 0);
    assert_eq!(info.registration, RegStatus::Home);
}

#[tokio::test]
async fn garbage_and_cut_lines_from_the_module_do_not_disturb_the_next_answer() {
    let rig = Rig::booted().await;
    rig.sim.inject_raw(b"\x00\xff\xfe\x07junk\r\n+CER");
    rig.sim.inject_raw(b"\r\n");
    let imei = within("read IMEI", rig.at.send(&ReadImei)).await.unwrap();
    assert_eq!(imei, "357862090033897");
}

#[tokio::test]
async fn a_urc_with_the_awaited_prefix_during_the_command_reaches_subscribers() {
    let rig = Rig::booted().await;
    let mut urcs = rig.at.subscribe();
    rig.sim.delay_next_answer(Duration::from_millis(300));
    let reading = rig.at.send(&ReadRegistration);
    let inject = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rig.sim.inject_urc("+CEREG: 5");
    };
    let (answer, ()) = within("CEREG read", async { tokio::join!(reading, inject) }).await;
    let answer = answer.unwrap();
    assert_eq!(answer.status, RegStatus::Home);
    assert_eq!(answer.reporting, 2);
    let urc = within(
        "the URC",
        urcs.wait_for(Duration::from_secs(5), |u| match u {
            Urc::Registration { status, .. } => Some(*status),
            _ => None,
        }),
    )
    .await;
    assert_eq!(urc, Some(RegStatus::Roaming));
}

#[tokio::test]
async fn a_delayed_answer_within_the_deadline_is_waited_for() {
    let rig = Rig::booted().await;
    rig.sim.delay_next_answer(Duration::from_millis(400));
    let model = within("CGMM", rig.at.send(&ReadModel)).await.unwrap();
    assert!(model.starts_with("LEXI-R10"));
}

#[tokio::test]
async fn an_answer_later_than_the_deadline_is_a_timeout_and_the_next_command_recovers() {
    let rig = Rig::booted().await;
    rig.sim.delay_next_answer(Duration::from_millis(2500));
    let late = within("CGMI", rig.at.send(&ReadManufacturer)).await;
    match late {
        Err(AtError::Timeout { command, .. }) => assert_eq!(command, "AT+CGMI"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The late "u-blox OK" must not become the IMEI's answer.
    let imei = within("CGSN after the timeout", rig.at.send(&ReadImei)).await;
    assert_eq!(imei.unwrap(), "357862090033897");
}

#[tokio::test]
async fn cme_errors_arrive_in_the_form_cmee_asks_for() {
    let rig = Rig::booted().await;
    rig.sim.fail_next(1, 3);
    let verbose = within("verbose", rig.at.send(&ReadModel))
        .await
        .unwrap_err();
    let e = verbose.cme().expect("a CME error");
    assert_eq!(e.code, Some(3));
    assert_eq!(e.text.as_deref(), Some("operation not allowed"));

    within("CMEE=1", rig.at.send(&SetErrorFormat(ErrorFormat::Numeric)))
        .await
        .unwrap();
    rig.sim.fail_next(1, 30);
    let numeric = within("numeric", rig.at.send(&ReadModel))
        .await
        .unwrap_err();
    assert_eq!(numeric.cme().and_then(|e| e.code), Some(30));
    assert!(
        numeric.to_string().contains("no network service"),
        "{numeric}"
    );

    within("CMEE=0", rig.at.send(&SetErrorFormat(ErrorFormat::Plain)))
        .await
        .unwrap();
    rig.sim.fail_next(1, 3);
    let plain = within("plain", rig.at.send(&ReadModel)).await.unwrap_err();
    assert!(matches!(plain, AtError::Error { .. }), "{plain:?}");
}

#[tokio::test]
async fn a_reboot_mid_command_is_a_timeout_and_booting_again_recovers() {
    let rig = Rig::booted().await;
    rig.sim.delay_next_answer(Duration::from_millis(500));
    let pending = rig.at.send(&ReadImei);
    let reboot = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rig.sim.reboot();
    };
    let (result, ()) = within("CGSN across a reboot", async {
        tokio::join!(pending, reboot)
    })
    .await;
    assert!(matches!(result, Err(AtError::Timeout { .. })), "{result:?}");
    // The module came back with echo on and CMEE=0: boot puts it right.
    let info = within("boot after reboot", boot(&rig.at, &settings()))
        .await
        .unwrap();
    assert_eq!(info.registration, RegStatus::Home);
    let e = rig.sim.snapshot().await.expect("simulator running");
    assert!(!e.echo, "ATE0 re-applied after the reboot");
}

#[tokio::test]
async fn a_closed_port_ends_the_waiting_command_and_every_later_one_with_a_clear_error() {
    let rig = Rig::booted().await;
    rig.sim.delay_next_answer(Duration::from_secs(5));
    let pending = rig.at.send(&ReadImei);
    let close = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rig.sim.close_port();
    };
    let (result, ()) = within("CGSN on a closing port", async {
        tokio::join!(pending, close)
    })
    .await;
    let closed =
        |r: &Result<String, AtError>| matches!(r, Err(AtError::PortClosed | AtError::Io(_)));
    assert!(closed(&result), "{result:?}");
    let later = within("CGSN after close", rig.at.send(&ReadImei)).await;
    assert!(closed(&later), "{later:?}");
}

#[tokio::test]
async fn a_power_cut_makes_commands_time_out_and_power_on_lets_boot_succeed() {
    let rig = Rig::booted().await;
    rig.sim.power_off();
    let dead = within("CGSN without power", rig.at.send(&ReadImei)).await;
    assert!(matches!(dead, Err(AtError::Timeout { .. })), "{dead:?}");
    rig.sim.power_on();
    let info = within("boot after power-on", boot(&rig.at, &settings()))
        .await
        .unwrap();
    assert_eq!(info.identity.imei, "357862090033897");
}

#[tokio::test]
async fn no_coverage_ends_the_boot_with_a_registration_timeout_naming_the_last_status() {
    let rig = Rig::start().await;
    rig.sim.set_network(NetworkCondition::NoCoverage);
    let short = BootSettings {
        registration_timeout: Duration::from_millis(500),
        ..settings()
    };
    let err = within("boot without coverage", boot(&rig.at, &short))
        .await
        .unwrap_err();
    match err {
        BootError::RegistrationTimeout { last, .. } => assert_eq!(last, RegStatus::Searching),
        other => panic!("expected a registration timeout, got {other}"),
    }
}

#[tokio::test]
async fn a_locked_sim_is_unlocked_with_the_configured_pin_and_refused_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start_with(dir, |c| c.sim_pin = Some("7391".into())).await;
    let err = within("boot without PIN", boot(&rig.at, &settings()))
        .await
        .unwrap_err();
    assert!(matches!(err, BootError::PinRequired), "{err}");
    let with_pin = BootSettings {
        sim_pin: Some(edge_agent::values::Secret::new("7391".into())),
        ..settings()
    };
    let info = within("boot with PIN", boot(&rig.at, &with_pin))
        .await
        .unwrap();
    assert_eq!(info.registration, RegStatus::Home);
    // The PIN went to the module, but the error texts and logs show a mask.
    assert_eq!(rig.count("AT+CPIN=\"7391\""), 1);
}
