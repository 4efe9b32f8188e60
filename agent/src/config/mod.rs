//! Configuration: a TOML file plus `EDGE_AGENT_*` environment overrides,
//! validated into the typed settings below.
//!
//! - `mod.rs` (here): the settings, their defaults and why.
//! - `load.rs`: file + environment → [`Config`], collecting every problem.
//! - `files.rs`: the main file and the `conf.d/` drop-ins beside it, each a
//!   provider naming its file (`[[plugins]]` entries appended).
//! - `env.rs`: the environment as a figment provider (`EDGE_AGENT_MODEM__BAUD`
//!   sets `modem.baud`).
//! - `locate.rs`: a dotted key → line and column in the file.
//! - `error.rs`: [`ConfigError`]; each [`Problem`] names key, source and line.
//! - `values.rs`, `duration.rs`, `size.rs`, `secret.rs`: the validated value
//!   types. `queue.sync` and `queue.on_full` use the queue's own types
//!   ([`SyncPolicy`], [`OnFull`]).
//! - `uplink.rs`: the `[uplink]` table (encoding, message limits, transport);
//!   `mqtt.rs`: `[uplink.mqtt]`, the MQTT profile; `http.rs`:
//!   `[uplink.http]`, the HTTP profile and requests, with `url.rs`, the URL
//!   taken apart; `tls.rs`: the TLS table both share.
//! - `plugins.rs`: the `[[plugins]]` entries and the rules across their keys.
//! - `doorbell.rs`: `[doorbell]`, the always-on wake-up socket.
//! - `power.rs`: `[modem.power]`, sleep and wake, and the rules across the
//!   `[modem.power.wake]` keys.
//!
//! Every section and table rejects unknown keys: a misspelt key in a file
//! that runs unattended for years must fail at start, not be ignored.

mod doorbell;
mod env;
mod error;
mod files;
mod http;
mod load;
mod locate;
mod mqtt;
mod plugins;
mod power;
mod tls;
mod uplink;
mod url;
mod values;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::values::{
    duration, ByteSize, Duration, ParseDurationError, ParseSizeError, Secret, DURATION_FORMS, MASK,
    SIZE_FORMS,
};
pub use doorbell::{DoorbellConfig, DoorbellProtocol, DEFAULT_DOORBELL_HELLO, DOORBELL_HELLO_MAX};
pub use env::{env_var_for, ENV_PREFIX, ENV_SEPARATOR};
pub use error::{ConfigError, Origin, Problem};
pub use files::{drop_in_dir, DROP_IN_DIR};
pub use http::{
    HttpConfig, HttpConfigError, HttpHeaders, HttpUrlText, DEFAULT_HTTP_MAX_PAYLOAD_BYTES,
    DEFAULT_HTTP_TIMEOUT, MAX_HTTP_HEADERS,
};
pub use load::{EnvOverride, LoadedConfig};
pub use mqtt::{
    ClientId, MqttConfig, MqttHost, MqttPassword, MqttText, MqttTopic, ProfileError, Transport,
    WillConfig, DEFAULT_COMMAND_TOPIC, DEFAULT_KEEPALIVE, DEFAULT_MQTT_PORT, DEFAULT_QOS,
    DEFAULT_TOPIC, DEVICE_ID_PLACEHOLDER,
};
pub use plugins::{
    PluginConfig, PluginName, DEFAULT_PLUGIN_INTERVAL, DEFAULT_PLUGIN_MAX_BACKOFF,
    DEFAULT_PLUGIN_TIMEOUT, PLUGIN_NAME_MAX_LEN,
};
pub use power::{
    PowerConfig, WakeAction, WakeConfig, WakeKind, DEFAULT_SLEEP_TIMEOUT,
    DEFAULT_WAKE_COMMAND_TIMEOUT, DEFAULT_WAKE_PULSE,
};
pub use tls::{
    ResumptionMode, TlsConfig, TlsConfigError, TlsTarget, TlsVersion, Verify, DEFAULT_MQTTS_PORT,
    HTTP_SECURITY_PROFILE, MQTT_SECURITY_PROFILE,
};
pub use uplink::{
    UplinkConfig, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PENDING, DEFAULT_MAX_READINGS,
    DEFAULT_UPLOAD_INTERVAL, DEFAULT_UPLOAD_JITTER, MAX_PAYLOAD_BYTES_RANGE, MAX_PENDING_RANGE,
    MAX_READINGS_RANGE,
};
pub use url::{HttpUrl, Scheme, UrlHost, DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT};
pub use values::{Apn, Baud, DeviceId, InvalidValue, LogFilter, ModemPort, PdpType, SimPin};

/// Where `edge-agent` looks for its config file unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/edge-agent/config.toml";
/// Default of `agent.data_dir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/edge-agent";
/// Default of `agent.heartbeat_interval`.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default of `modem.registration_timeout`.
pub const DEFAULT_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(180);
/// Default of `modem.command_timeout`.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `modem.sim.time_scale`.
pub const DEFAULT_TIME_SCALE: f64 = 1.0;
/// `modem.sim.nvm_dir` defaults to this directory inside `agent.data_dir`.
pub const SIM_NVM_SUBDIR: &str = "sim-nvm";
/// The durable queue lives in this directory inside `agent.data_dir`.
pub const QUEUE_SUBDIR: &str = "queue";
/// Default of `queue.max_bytes`.
pub const DEFAULT_QUEUE_MAX_BYTES: ByteSize = queue::DEFAULT_MAX_BYTES;
/// Default of `queue.max_age`.
pub const DEFAULT_QUEUE_MAX_AGE: Duration = queue::DEFAULT_MAX_AGE;
/// Default of `queue.lease_timeout`.
pub const DEFAULT_QUEUE_LEASE_TIMEOUT: Duration = queue::DEFAULT_LEASE_TIMEOUT;

use crate::modem::{BootSettings, LinkPort, LinkSettings, ModemLink, SimulatorSettings};
use crate::power::Waker;
use crate::queue;
pub use crate::queue::{OnFull, SyncPolicy};

/// The whole configuration. Build it with [`Config::load`] or
/// [`Config::load_with_env`]: deserializing it directly skips the checks that
/// need the whole picture (the required `modem.port`) and leaves
/// `modem.sim.nvm_dir` unresolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[agent]`: identity, storage and logging of the agent itself.
    #[serde(default)]
    pub agent: AgentConfig,
    /// `[modem]`: how to reach the LEXI-R10 and how to attach to the network.
    #[serde(default = "ModemConfig::unset")]
    pub modem: ModemConfig,
    /// `[queue]`: the durable store-and-forward queue of readings.
    #[serde(default)]
    pub queue: QueueConfig,
    /// `[uplink]`: how readings are encoded and packed into messages.
    #[serde(default)]
    pub uplink: UplinkConfig,
    /// `[[plugins]]`: the sensor plugins, one entry per instance. Default
    /// none: the agent then only queues its own heartbeat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginConfig>,
    /// `[doorbell]`: an always-on socket a server can wake the gateway
    /// through. Default off.
    #[serde(default)]
    pub doorbell: DoorbellConfig,
}

impl Config {
    /// What the plugin host loads and runs, in configuration order.
    pub fn plugin_entries(&self) -> Vec<crate::plugin_host::PluginEntry> {
        self.plugins.iter().map(PluginConfig::entry).collect()
    }

    /// Where the durable queue lives: `<agent.data_dir>/queue`.
    pub fn queue_dir(&self) -> PathBuf {
        self.agent.data_dir.join(QUEUE_SUBDIR)
    }
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `agent.device_id`: the name this gateway reports under (it becomes part
    /// of MQTT topics). Default: not set, meaning the module's IMEI, read at
    /// run time, which is unique without any per-device configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<DeviceId>,

    /// `agent.data_dir`: where the agent keeps its state (the durable queue,
    /// the simulator's NVM). Default `/var/lib/edge-agent`, the FHS place for
    /// a daemon's persistent state. Relative paths are relative to the
    /// working directory.
    #[serde(default = "default_data_dir", deserialize_with = "values::dir")]
    pub data_dir: PathBuf,

    /// `agent.log_level`: a `tracing` filter such as `"info"` or
    /// `"info,edge_agent::modem=debug"`. Default `"info"`: start-up, network
    /// and upload events without per-command chatter. `RUST_LOG`, when set,
    /// replaces it at run time.
    #[serde(default)]
    pub log_level: LogFilter,

    /// `agent.heartbeat_interval`: how often the agent queues its own vital
    /// signs (uptime, queue depth and losses, registration) as readings, so
    /// a silent gateway can be told from a dead one. Default 15 min: one
    /// small SenML record set per upload window is cheap; `"0s"` turns it off.
    #[serde(default = "default_heartbeat_interval")]
    pub heartbeat_interval: Duration,

    /// `agent.set_system_clock`: when the host clock is not set (a gateway
    /// without an RTC boots at 1970) and the module's network time is
    /// learned, set the system clock to it (`clock_settime`, which needs
    /// `CAP_SYS_TIME`: `AmbientCapabilities=CAP_SYS_TIME` in the unit).
    /// Default false: the agent keeps its own notion of UTC and never needs
    /// the privilege; other programs on the gateway may want the clock set.
    #[serde(default)]
    pub set_system_clock: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            device_id: None,
            data_dir: default_data_dir(),
            log_level: LogFilter::default(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            set_system_clock: false,
        }
    }
}

fn default_heartbeat_interval() -> Duration {
    DEFAULT_HEARTBEAT_INTERVAL
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}

/// `[modem]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModemConfig {
    /// `modem.port`: the module's serial device (e.g. `/dev/ttyUSB0`), or
    /// `"sim"` for the LEXI-R10 simulator in-process over a pty. Required:
    /// there is no device name that is right on every gateway.
    #[serde(default = "ModemPort::unset")]
    pub port: ModemPort,

    /// `modem.baud`: serial speed. Default 115200, the module's factory
    /// setting, so a new module answers without first being reconfigured.
    #[serde(default)]
    pub baud: Baud,

    /// `modem.apn`: the access point name for the data context. Default: not
    /// set, meaning the APN stored in the module is left as it is (many SIMs
    /// work with the network-provided one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apn: Option<Apn>,

    /// `modem.pdp_type`: `"IP"`, `"IPV6"` or `"IPV4V6"`. Default `"IPV4V6"`:
    /// dual stack works on IPv4-only, IPv6-only and dual networks alike.
    #[serde(default)]
    pub pdp_type: PdpType,

    /// `modem.mno_profile`: the module's mobile network operator profile
    /// (`AT+UMNOPROF`, e.g. 90 global, 100 Europe), 0..=255. Default: not set,
    /// meaning the module keeps its profile; changing it reboots the radio.
    #[serde(
        default,
        deserialize_with = "values::mno_profile",
        skip_serializing_if = "Option::is_none"
    )]
    pub mno_profile: Option<u8>,

    /// `modem.sim_pin`: the SIM's PIN, 4 to 8 digits, a [`Secret`]. Default:
    /// not set, for SIMs without a PIN (the usual case for IoT SIMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_pin: Option<Secret<SimPin>>,

    /// `modem.registration_timeout`: how long to wait for network
    /// registration before giving up on this attempt. Default 180 s: a cold
    /// LTE attach with a network scan can take minutes.
    #[serde(
        default = "default_registration_timeout",
        deserialize_with = "duration::positive"
    )]
    pub registration_timeout: Duration,

    /// `modem.command_timeout`: the deadline for an AT command's final result
    /// unless a command has its own. Default 10 s, u-blox's host library value.
    #[serde(
        default = "default_command_timeout",
        deserialize_with = "duration::positive"
    )]
    pub command_timeout: Duration,

    /// `[modem.power]`: sleep, sleep votes and the wake action.
    #[serde(default)]
    pub power: PowerConfig,

    /// `[modem.sim]`: the simulator; only read when `port = "sim"`.
    #[serde(default = "SimConfig::unresolved")]
    pub sim: SimConfig,
}

impl ModemConfig {
    /// Every default, and a port that `load` reports as missing.
    fn unset() -> Self {
        ModemConfig {
            port: ModemPort::unset(),
            baud: Baud::default(),
            apn: None,
            pdp_type: PdpType::default(),
            mno_profile: None,
            sim_pin: None,
            registration_timeout: DEFAULT_REGISTRATION_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            power: PowerConfig::default(),
            sim: SimConfig::unresolved(),
        }
    }
}

impl ModemConfig {
    /// Where and how the link to the module is opened.
    pub fn link_settings(&self) -> LinkSettings {
        LinkSettings {
            port: match &self.port {
                ModemPort::Device(path) => LinkPort::Device(path.clone()),
                ModemPort::Simulator => LinkPort::Simulator(SimulatorSettings {
                    nvm_dir: self.sim.nvm_dir.clone(),
                    time_scale: self.sim.time_scale,
                    sim_pin: self.sim_pin_text(),
                }),
            },
            baud: self.baud.get(),
            command_timeout: self.command_timeout.get(),
        }
    }

    /// What the boot sequence is asked to make true.
    pub fn boot_settings(&self) -> BootSettings {
        BootSettings {
            apn: self.apn.as_ref().map(|a| a.as_str().to_string()),
            pdp_type: self.pdp_type,
            mno_profile: self.mno_profile,
            sim_pin: self.sim_pin_text(),
            registration_timeout: self.registration_timeout.get(),
            reboot_timeout: std::time::Duration::from_secs(30),
        }
    }

    fn sim_pin_text(&self) -> Option<Secret<String>> {
        self.sim_pin
            .as_ref()
            .map(|pin| Secret::new(pin.expose().as_str().to_string()))
    }

    /// What wakes the module on `link` (the simulator's line for `"sim"`).
    pub fn waker(&self, link: &ModemLink) -> Waker {
        Waker::for_link(link, self.power.wake.action().as_ref())
    }
}

fn default_registration_timeout() -> Duration {
    DEFAULT_REGISTRATION_TIMEOUT
}

fn default_command_timeout() -> Duration {
    DEFAULT_COMMAND_TIMEOUT
}

/// `[modem.sim]`: the in-process LEXI-R10 simulator (`modem.port = "sim"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// `modem.sim.nvm_dir`: where the simulated module keeps its non-volatile
    /// memory (profiles, certificates, files), so it survives restarts like a
    /// real module's. Default `<agent.data_dir>/sim-nvm`, resolved at load.
    #[serde(default, deserialize_with = "values::dir")]
    pub nvm_dir: PathBuf,

    /// `modem.sim.time_scale`: multiplies every simulated delay. Default 1.0,
    /// the real module's timings; 0.01 makes a 6 s boot take 60 ms (demos,
    /// tests).
    #[serde(
        default = "default_time_scale",
        deserialize_with = "values::time_scale"
    )]
    pub time_scale: f64,
}

impl SimConfig {
    /// Defaults, with `nvm_dir` empty until `load` derives it from
    /// `agent.data_dir` (an empty path is never accepted from the config).
    fn unresolved() -> Self {
        SimConfig {
            nvm_dir: PathBuf::new(),
            time_scale: DEFAULT_TIME_SCALE,
        }
    }
}

fn default_time_scale() -> f64 {
    DEFAULT_TIME_SCALE
}

/// `[queue]`: the durable store-and-forward queue (`<agent.data_dir>/queue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// `queue.sync`: `"batch"` flushes every appended batch to disk before
    /// the append returns; a duration (e.g. `"5s"`) flushes at most that
    /// often, so up to that much of the newest readings can be lost on power
    /// loss. Default `"batch"`: plugins emit a batch per poll, seconds to
    /// minutes apart, so a flush per batch costs little and loses nothing.
    #[serde(default)]
    pub sync: SyncPolicy,

    /// `queue.max_bytes`: the most the queue's readings (pending and dead
    /// letters, key plus encoded record) may take; sled's own overhead on
    /// disk comes on top (see the README). Default `"32MiB"`: at ~80 bytes a
    /// reading that is ~400,000 readings, 55 days of 5 sensors sampled every
    /// minute, more than `max_age` keeps anyway, while staying a small part
    /// of a gateway's flash.
    #[serde(
        default = "default_queue_max_bytes",
        deserialize_with = "values::positive_size"
    )]
    pub max_bytes: ByteSize,

    /// `queue.on_full`: `"drop_oldest"` or `"reject_new"`, what happens to a
    /// reading that does not fit under `max_bytes`. Default `"drop_oldest"`:
    /// after a long outage the newest readings say the most about the
    /// gateway's present, and nothing upstream of the queue can hold them.
    #[serde(default)]
    pub on_full: OnFull,

    /// `queue.max_age`: readings (and dead letters) enqueued longer ago than
    /// this expire, counted and logged. Default `"30d"`: a month-old reading
    /// is history, not telemetry, and a month covers any outage worth riding
    /// out.
    #[serde(
        default = "default_queue_max_age",
        deserialize_with = "duration::positive"
    )]
    pub max_age: Duration,

    /// `queue.lease_timeout`: a batch handed to the uplink and neither
    /// confirmed nor returned within this is handed out again. Default
    /// `"120s"`: longer than an MQTT QoS 1 publish or an HTTP POST takes over
    /// a slow LTE-M link with the module's own retries, short enough that a
    /// lost confirmation delays a batch by minutes, not hours.
    #[serde(
        default = "default_queue_lease_timeout",
        deserialize_with = "duration::positive"
    )]
    pub lease_timeout: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            sync: SyncPolicy::default(),
            max_bytes: DEFAULT_QUEUE_MAX_BYTES,
            on_full: OnFull::default(),
            max_age: DEFAULT_QUEUE_MAX_AGE,
            lease_timeout: DEFAULT_QUEUE_LEASE_TIMEOUT,
        }
    }
}

impl QueueConfig {
    /// What the queue is opened with.
    pub fn options(&self) -> queue::Options {
        queue::Options {
            sync: self.sync,
            max_bytes: self.max_bytes.get(),
            on_full: self.on_full,
            max_age: self.max_age.get(),
            lease_timeout: self.lease_timeout.get(),
        }
    }
}

fn default_queue_max_bytes() -> ByteSize {
    DEFAULT_QUEUE_MAX_BYTES
}

fn default_queue_max_age() -> Duration {
    DEFAULT_QUEUE_MAX_AGE
}

fn default_queue_lease_timeout() -> Duration {
    DEFAULT_QUEUE_LEASE_TIMEOUT
}
