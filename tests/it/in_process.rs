//! The agent in this test's process, on a simulator the test holds (to
//! read its transcript, power log and energy while the agent runs, and to
//! inject faults).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode};
use edge_agent::modem::at::{AtClient, ClientOptions};
use edge_agent::modem::{port, ModemLink};
use lexi_sim::{SimConfig, SimHandle, Simulator};

/// Longer than any of these tests may take: a guard against a hang.
pub const HANG: Duration = Duration::from_secs(90);

/// A simulator at 100 times the module's speed on a pty, and the agent's
/// link to it; the test keeps the handle to read the simulator's records.
pub fn simulated_module(dir: &Path) -> (SimHandle, PathBuf, ModemLink) {
    simulated_module_with(dir, |_| {})
}

/// [`simulated_module`] with `change` applied to the simulator's config.
pub fn simulated_module_with(
    dir: &Path,
    change: impl FnOnce(&mut SimConfig),
) -> (SimHandle, PathBuf, ModemLink) {
    let mut sim_config = SimConfig::new(dir.join("nvm"));
    sim_config.time_scale = 0.01;
    change(&mut sim_config);
    let (sim, pty) = Simulator::spawn_pty(sim_config).unwrap();
    let (client, engine) =
        AtClient::spawn(port::open(&pty, 115_200).unwrap(), ClientOptions::default());
    let link = ModemLink {
        client,
        path: pty.clone(),
        simulator: Some(sim.clone()),
        engine,
    };
    (sim, pty, link)
}

/// Runs the daemon on `link` next to `watch`, which stops it by returning;
/// returns the run's report and what `watch` returned. The daemon's future
/// is not `Send` (its downlink handler is a trait object), so both run on
/// the test's task.
pub async fn daemon_while<T>(
    link: ModemLink,
    config: &Config,
    watch: impl std::future::Future<Output = T>,
) -> (daemon::RunReport, T) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = daemon::run_on(link, config, RunMode::Daemon, async {
        let _ = stopped.await;
    });
    let watch = async {
        let out = watch.await;
        stop.send(()).unwrap();
        out
    };
    let (report, out) = tokio::time::timeout(HANG, async { tokio::join!(agent, watch) })
        .await
        .unwrap();
    (report.unwrap(), out)
}
