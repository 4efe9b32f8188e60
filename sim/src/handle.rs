//! Starting a simulator ([`Simulator`]) and steering it ([`SimHandle`]).
//!
//! Every control method is a fire-and-forget message to the simulator's task,
//! handled in the order sent. Dropping the last handle stops the simulator.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::DuplexStream;
use tokio::sync::{mpsc, oneshot};

use crate::config::{MqttBackend, NetworkCondition, SimConfig};
use crate::dns::DnsTable;
use crate::energy::EnergyReport;
use crate::error::SimError;
use crate::jobs::{JobRunner, PublishedRecord, VirtualBroker};
use crate::module::{Control, Module, PowerLogEntry, SimSnapshot};
use crate::nvm::NvmStore;
use crate::runner::{Request, Runner, Shared};
use crate::transport::pty::PtyPort;
use crate::transport::{Port, DUPLEX_BUFFER};

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Starts the simulator on a new pty; returns the control handle and the
    /// slave path. Needs a tokio runtime.
    pub fn spawn_pty(config: SimConfig) -> Result<(SimHandle, PathBuf), SimError> {
        tokio::runtime::Handle::try_current().map_err(SimError::NoRuntime)?;
        config.validate()?;
        let (port, path) = PtyPort::open().map_err(SimError::Pty)?;
        let handle = spawn(config, Box::new(port))?;
        tracing::info!(path = %path.display(), "simulator listening on pty");
        Ok((handle, path))
    }

    /// Starts the simulator on an in-process duplex; returns the control
    /// handle and the host's end. Needs a tokio runtime.
    pub fn spawn_duplex(config: SimConfig) -> Result<(SimHandle, DuplexStream), SimError> {
        tokio::runtime::Handle::try_current().map_err(SimError::NoRuntime)?;
        config.validate()?;
        let (module_end, host_end) = tokio::io::duplex(DUPLEX_BUFFER);
        let handle = spawn(config, Box::new(module_end))?;
        Ok((handle, host_end))
    }
}

fn spawn(config: SimConfig, port: Port) -> Result<SimHandle, SimError> {
    let nvm = NvmStore::open(&config.nvm_dir)?;
    let image = nvm.load();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let started = tokio::time::Instant::now().into_std();
    let shared = Arc::new(Shared::default());
    let mut jobs = JobRunner::new(Arc::new(DnsTable::new(&config.dns)), event_tx);
    if let MqttBackend::Virtual { latency } = config.mqtt_backend {
        jobs = jobs.with_virtual_broker(VirtualBroker {
            latency: config.scaled(latency),
            started,
            time_scale: config.time_scale,
            published: Arc::clone(&shared.published),
        });
    }
    let (request_tx, request_rx) = mpsc::unbounded_channel();
    // The module reads no clock itself: the host's UTC now is the network's
    // time with `NetworkTime::Host` (a host clock before 1970 counts as 1970).
    let host_utc = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let module = Module::new(config, image, started, host_utc);
    let runner = Runner::new(
        module,
        nvm,
        jobs,
        event_rx,
        request_rx,
        Arc::clone(&shared),
        port,
    );
    tokio::spawn(runner.run());
    Ok(SimHandle {
        requests: request_tx,
        shared,
    })
}

/// Steers a running simulator. Cheap to clone; all clones steer the same one.
#[derive(Debug, Clone)]
pub struct SimHandle {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Shared>,
}

impl SimHandle {
    /// A simulator that has stopped ignores requests: nothing to report.
    fn send(&self, request: Request) {
        let _ = self.requests.send(request);
    }

    /// Sends `\r\n<text>\r\n` at once (even mid-answer, between two lines).
    pub fn inject_urc(&self, text: &str) {
        self.send(Request::InjectUrc(text.to_string()));
    }

    /// Sends `bytes` verbatim at once (garbage, partial lines).
    pub fn inject_raw(&self, bytes: &[u8]) {
        self.send(Request::InjectRaw(bytes.to_vec()));
    }

    /// The answer (after the echo) to the next command waits `delay` (real time).
    pub fn delay_next_answer(&self, delay: Duration) {
        self.send(Request::Module(Control::DelayNextAnswer(delay)));
    }

    /// The next `commands` command lines answer `+CME ERROR: <cme_code>` in
    /// the current `+CMEE` form (plain `ERROR` with CMEE 0) and are not
    /// carried out. A line with several `;` commands counts once. 0 disarms.
    pub fn fail_next(&self, commands: usize, cme_code: u16) {
        self.send(Request::Module(Control::FailNext { commands, cme_code }));
    }

    /// Unannounced reboot: an answer in progress is cut off and never sent.
    pub fn reboot(&self) {
        self.send(Request::Module(Control::Reboot));
    }

    /// Cuts the power: silent, input dropped, until [`SimHandle::power_on`].
    pub fn power_off(&self) {
        self.send(Request::Module(Control::PowerOff));
    }

    /// PWR_ON: boots a module that is off.
    pub fn power_on(&self) {
        self.send(Request::Module(Control::PowerOn));
    }

    /// Pulses the PWR_ON line: a module in Sleep-2/Hibernate wakes (answers
    /// again after `wake_time`), one in Sleep-1 wakes at once, one that is
    /// off boots; an awake module ignores it.
    pub fn pulse_wake_line(&self) {
        self.send(Request::Module(Control::WakeLine));
    }

    /// Changes the radio environment; drives `+CEREG`.
    pub fn set_network(&self, network: NetworkCondition) {
        self.send(Request::Module(Control::SetNetwork(network)));
    }

    /// The next `n` MQTT publishes (`+UMQTTC=2` or `9`) are written to the
    /// broker but their completion URC (`+UUMQTTC: 2,1`) never comes. 0 disarms.
    pub fn mqtt_never_confirm_next(&self, n: usize) {
        self.send(Request::Module(Control::MqttNeverConfirmNext(n)));
    }

    /// The MQTT session drops now, as if the connection broke (the TCP
    /// connection closes without DISCONNECT): `+UUMQTTC: 0,101`, and
    /// publishes still in flight are never confirmed. Nothing without a session.
    pub fn mqtt_drop_session(&self) {
        self.send(Request::Module(Control::MqttDropSession));
    }

    /// The UART goes away: the pty master (or the duplex end) is closed and the
    /// host reads EOF or an error. The module keeps running without a port.
    pub fn close_port(&self) {
        self.send(Request::ClosePort);
    }

    /// Every non-empty command line received, in order, as text.
    pub fn transcript(&self) -> Vec<String> {
        self.timed_transcript()
            .into_iter()
            .map(|(_, line)| line)
            .collect()
    }

    /// [`SimHandle::transcript`] with the module time each line arrived at,
    /// the clock of [`SimHandle::power_log`].
    pub fn timed_transcript(&self) -> Vec<(Duration, String)> {
        self.shared
            .transcript
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every message the virtual broker ([`MqttBackend::Virtual`]) accepted,
    /// in order, stamped in module time; always empty with the real broker.
    pub fn published(&self) -> Vec<PublishedRecord> {
        self.shared
            .published
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Bytes over the UART so far: (host to module, module to host).
    pub fn serial_bytes(&self) -> (u64, u64) {
        (
            self.shared.serial_in.load(Ordering::Relaxed),
            self.shared.serial_out.load(Ordering::Relaxed),
        )
    }

    /// True once the module has booted (after every request sent before this
    /// call has been handled); false if `within` passes first.
    pub async fn wait_ready(&self, within: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        self.send(Request::WaitReady(tx));
        matches!(tokio::time::timeout(within, rx).await, Ok(Ok(())))
    }

    /// The module's state after every request sent before this call; `None`
    /// once the simulator has stopped.
    pub async fn snapshot(&self) -> Option<SimSnapshot> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Snapshot(tx));
        rx.await.ok()
    }

    /// Every change of power state (Off, Booting, Active, Idle, Sleep-1,
    /// Sleep-2, Hibernate) since the start, in module time, after every
    /// request sent before this call; `None` once the simulator has stopped.
    pub async fn power_log(&self) -> Option<Vec<PowerLogEntry>> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::PowerLog(tx));
        rx.await.ok()
    }

    /// The energy ledger up to now (see [`crate::energy`]); `None` once the
    /// simulator has stopped.
    pub async fn energy(&self) -> Option<EnergyReport> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Energy(tx));
        rx.await.ok()
    }

    /// Stops the simulator: the port closes, jobs stop, the NVM stays as written.
    pub fn shutdown(&self) {
        self.send(Request::Shutdown);
    }
}
