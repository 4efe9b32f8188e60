//! The agent's daemon and the simulator in one runtime under tokio's paused
//! clock, over the in-memory duplex, with the simulator's virtual broker:
//! the ground the energy benchmark stands on. Time advances only when every
//! task waits on a timer, so an hour of windows runs in moments, with the
//! module at its real speed (time scale 1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode};
use edge_agent::modem::at::{AtClient, ClientOptions};
use edge_agent::modem::ModemLink;
use lexi_sim::{MqttBackend, PowerMode, SimConfig, Simulator};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn an_hour_of_15_minute_windows_hibernates_between_them_under_the_paused_clock() {
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut sim_config = SimConfig::new(dir.path().join("nvm"));
    sim_config.mqtt_backend = MqttBackend::Virtual {
        latency: Duration::from_millis(200),
    };
    let (sim, io) = Simulator::spawn_duplex(sim_config).unwrap();
    let (client, engine) = AtClient::spawn(io, ClientOptions::default());
    let link = ModemLink {
        client,
        path: "duplex".into(),
        simulator: Some(sim.clone()),
        engine,
    };
    let config_path = dir.path().join("config.toml");
    // The power settings are the agent's defaults.
    std::fs::write(
        &config_path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = \"gw-paused\"\nheartbeat_interval = \"1m\"\n\n\
             [modem]\nport = \"sim\"\n\n\
             [uplink]\ninterval = \"15m\"\njitter = \"0s\"\n\n\
             [uplink.mqtt]\nhost = \"127.0.0.1\"\nport = 1883\n",
            dir.path().join("data"),
        ),
    )
    .unwrap();
    let config: Config = Config::load_with_env(&config_path, Vec::<(String, String)>::new())
        .unwrap()
        .config;

    let report = daemon::run_on(link, &config, RunMode::Daemon, tokio::time::sleep(HOUR))
        .await
        .unwrap();

    let transcript = sim.timed_transcript();
    let log = sim.power_log().await.unwrap();
    let energy = sim.energy().await.unwrap();
    let published = sim.published();
    let shown = || format!("{report:?}\ntranscript: {transcript:#?}\npower log: {log:#?}");
    let logins: Vec<Duration> = transcript
        .iter()
        .filter(|(_, l)| l == "AT+UMQTTC=1")
        .map(|(at, _)| *at)
        .collect();
    // The start window (the first heartbeat waits), then 15, 30, 45 min,
    // and the hour's own slot may make it in before the stop.
    assert!((4..=5).contains(&logins.len()), "{logins:?}\n{}", shown());
    for pair in logins.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(14 * 60) && gap <= Duration::from_secs(16 * 60),
            "windows {pair:?} not 15 min apart\n{}",
            shown()
        );
        assert!(
            log.iter()
                .any(|e| e.state == PowerMode::Hibernate && e.at > pair[0] && e.at < pair[1]),
            "no Hibernate between the windows at {pair:?}\n{}",
            shown()
        );
    }
    // Every heartbeat of the hour went out through the virtual broker.
    assert!(report.delivered >= 45, "{}", shown());
    assert_eq!(published.len(), report.messages, "{published:?}");
    assert!(
        energy.time_in(PowerMode::Hibernate) > Duration::from_secs(45 * 60),
        "{energy:#?}"
    );
    // Not asserted (no timing asserts): shown with --nocapture.
    println!(
        "1 simulated hour in {:?} of real time: {} windows, {} messages, {} readings, \
         {:.1} mJ, {} AT command lines, serial bytes (in, out) {:?}",
        wall.elapsed(),
        logins.len(),
        report.messages,
        report.delivered,
        energy.total_mj,
        transcript.len(),
        sim.serial_bytes()
    );
}
