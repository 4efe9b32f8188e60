//! The sources of readings: the configured plugins, whose readings the
//! [`Intake`] queues in a task of its own, and the agent's heartbeat, its
//! vital signs (uptime, queue, registration, plugins, power, time) queued
//! by the loop every `agent.heartbeat_interval`.

use std::sync::Arc;

use crate::config::Config;
use crate::heartbeat::{self, PluginVitals, PowerVitals, TimeVitals, TlsVitals, Vitals};
use crate::intake::Intake;
use crate::plugin_host::{
    load_configured, InstanceState, InstanceStatus, PluginHost, DEFAULT_CHANNEL_CAPACITY,
};
use crate::queue::{Queue, QueueError};
use crate::timekeeper::TimeKeeper;

use super::Agent;

/// The plugins and the intake that queues what they emit.
pub(super) struct Sources {
    pub(super) host: PluginHost,
    pub(super) intake: Intake,
    /// Whether the heartbeat reports on plugins at all.
    pub(super) configured: bool,
    /// Configured plugins that never loaded: unhealthy in the heartbeat.
    pub(super) failed_loads: u64,
}

impl Sources {
    /// Loads and starts the configured plugins; one that fails to load is
    /// logged and left out.
    pub(super) fn start(config: &Config, queue: Arc<Queue>, time: Arc<TimeKeeper>) -> Sources {
        let (specs, load_failures) = load_configured(&config.plugin_entries());
        let (host, readings) = PluginHost::start(specs, DEFAULT_CHANNEL_CAPACITY);
        Sources {
            host,
            intake: Intake::start(queue, readings, time),
            configured: !config.plugins.is_empty(),
            failed_loads: load_failures.len() as u64,
        }
    }

    /// The heartbeat's summary of the plugins, if any are configured.
    pub(super) fn vitals(&self) -> Option<PluginVitals> {
        self.configured
            .then(|| plugin_vitals(&self.host.status(), self.failed_loads))
    }
}

impl Agent<'_> {
    /// Queues the heartbeat; an append that did not flush (an interval
    /// sync) is left to the `intake`'s flush timer.
    pub(super) fn queue_heartbeat(
        &self,
        plugins: Option<PluginVitals>,
        intake: Option<&Intake>,
    ) -> Result<(), QueueError> {
        let vitals = Vitals {
            uptime: self.started.elapsed(),
            queue: Some(self.queue.stats()?.counters),
            registration: self.registration,
            plugins,
            power: Some(PowerVitals {
                deep_sleeps: self.power.status().deep_sleeps,
                windows: self.windows.windows_opened(),
                sleep_blockers: self.sockets.deep_sleep_blockers().len() as u64,
                doorbell_open: self
                    .windows
                    .keeps_doorbell()
                    .then_some(self.doorbell.is_some()),
            }),
            time: Some({
                let status = self.time.status();
                TimeVitals {
                    source: status.source.name(),
                    correction_s: status.correction.map(|c| c.offset_ns / 1_000_000_000),
                }
            }),
            tls: self.tls.as_ref().map(|tls| {
                let counts = tls.counts();
                TlsVitals {
                    full_handshakes: counts.full,
                    resumed: counts.resumed,
                }
            }),
        };
        // Stamped by the host clock, corrected if the correction is known,
        // under the keeper's lock (as the intake's appends).
        let host_now = self.time.host_now_ns();
        let appended = self.time.with_correction(|fix| {
            self.queue
                .append(&heartbeat::readings(&vitals, fix(host_now)))
        })?;
        if let Some(intake) = intake.filter(|_| !appended.durable) {
            intake.note_unflushed();
        }
        Ok(())
    }
}

/// The heartbeat's summary of the plugins: `failed_loads` configured
/// plugins never loaded, and the instances' states and counters.
pub(super) fn plugin_vitals(instances: &[InstanceStatus], failed_loads: u64) -> PluginVitals {
    let mut vitals = PluginVitals {
        unhealthy: failed_loads,
        ..PluginVitals::default()
    };
    for instance in instances {
        if matches!(
            instance.state,
            InstanceState::Wedged { .. } | InstanceState::Disabled { .. } | InstanceState::Idle
        ) {
            vitals.unhealthy += 1;
        }
        let c = &instance.counters;
        vitals.dropped += c.rejected_total() + c.dropped_full + c.after_stop;
        vitals.errors += c.errors + c.panics + c.deadlines_missed;
    }
    vitals
}
