//! `edge-agent demo`: a broker, the simulated module and the agent in one
//! process, and a subscriber that prints what arrives, so a newcomer sees a
//! reading travel the whole path with nothing installed.
//!
//! Its configuration is built in (the repository's `configs/demo.toml`) and
//! its plugins are found beside the executable, so it runs from any
//! directory; `--config` and `--plugin-dir` say otherwise.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use edge_agent::config::{Config, LoadedConfig, ModemPort, MqttHost};
use edge_agent::daemon::{self, RunMode};
use edge_agent::demo::LocalBroker;
use edge_agent::notify::Notifier;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::args::LogFormat;
use super::setup;

/// The demo's configuration when no `--config` is given.
const DEMO_CONFIG: &str = include_str!("../../../configs/demo.toml");
/// What messages about the built-in configuration call it.
const DEMO_CONFIG_NAME: &str = "configs/demo.toml (built in)";

/// Runs the demo with `config` (else the built-in one) until `duration`
/// has passed or a signal comes.
pub fn run(
    config: Option<&Path>,
    duration: Option<Duration>,
    plugin_dir: Option<PathBuf>,
    log: LogFormat,
) -> anyhow::Result<()> {
    let loaded = match config {
        Some(path) => setup::load(path, log)?,
        None => setup::logged(
            Config::load_text_with_env(DEMO_CONFIG_NAME, DEMO_CONFIG, std::env::vars_os())?,
            log,
        )?,
    };
    setup::runtime()?.block_on(demo(loaded, duration, plugin_dir))
}

async fn demo(
    loaded: LoadedConfig,
    duration: Option<Duration>,
    plugin_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let broker = LocalBroker::start()?;
    let mut config = loaded.config;
    let plugin_dir = match plugin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()
            .context("cannot find this executable's directory; pass --plugin-dir")?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    for plugin in &mut config.plugins {
        // A relative path names a library the demo's build put next to the
        // agent; a path that is not there stops the demo with the fix.
        if plugin.path.is_relative() {
            plugin.path = plugin_dir.join(&plugin.path);
        }
        if !plugin.path.exists() {
            anyhow::bail!(
                "plugin {} is not at {}: build the demo's plugins first (scripts/demo does), \
                 or pass --plugin-dir",
                plugin.name.as_str(),
                plugin.path.display()
            );
        }
        println!(
            "demo: plugin {} from {}",
            plugin.name.as_str(),
            plugin.path.display()
        );
    }
    // The demo is always the simulator and the local broker, whatever the
    // file says, so it can never touch a real modem or a real broker.
    config.modem.port = ModemPort::Simulator;
    config.uplink.mqtt.host = Some(
        MqttHost::try_from(broker.addr.ip().to_string())
            .map_err(|e| anyhow::anyhow!("demo broker address: {e}"))?,
    );
    config.uplink.mqtt.port = broker.addr.port();
    println!(
        "demo: MQTT broker on {}, simulated LEXI-R10, agent starting",
        broker.addr
    );

    let mut options = MqttOptions::new(
        "edge-agent-demo-watcher",
        broker.addr.ip().to_string(),
        broker.addr.port(),
    );
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(options, 64);
    client
        .subscribe("devices/#", QoS::AtLeastOnce)
        .await
        .context("cannot subscribe on the demo broker")?;
    let watcher = tokio::spawn(async move {
        let _client = client;
        while let Ok(event) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                println!(
                    "received on {} ({} bytes): {}",
                    p.topic,
                    p.payload.len(),
                    show(&p.payload)
                );
            }
        }
    });

    let signal = setup::shutdown_signal()?;
    let stop = async {
        match duration {
            Some(d) => {
                tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    () = signal => {}
                }
            }
            None => signal.await,
        }
    };
    let report = daemon::run(&config, RunMode::Daemon, stop, Notifier::none()).await?;
    // Let the last message reach the watcher before the process ends.
    tokio::time::sleep(Duration::from_millis(200)).await;
    watcher.abort();
    println!(
        "demo: {} messages ({} readings) confirmed by the broker, {} still queued",
        report.messages, report.delivered, report.pending
    );
    Ok(())
}

/// The payload as text when it is text (SenML JSON, line protocol), else hex.
fn show(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) => text.to_string(),
        Err(_) => payload.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
