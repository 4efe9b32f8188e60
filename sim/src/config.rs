//! What the simulated module is (identity, network, timings) and how the
//! simulated world behaves, fixed when the simulator starts.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::energy::Currents;
use crate::error::SimError;

/// `[lib]`/`[model]` defaults, see each field.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the module's NVM lives (one JSON file); created if missing.
    pub nvm_dir: PathBuf,
    /// Multiplies every module-internal duration (boot, registration, DNS,
    /// ping, RRC inactivity): 0.001 turns a 6 s boot into 6 ms.
    pub time_scale: f64,
    /// 15 digits, answered by `AT+CGSN` and `ATI`. Default: the note's §6.1.1
    /// example `357862090033897`.
    pub imei: String,
    /// The network name in `+COPS?`. `[model]` default `sim-net`.
    pub operator: String,
    /// A SIM PIN to enter with `AT+CPIN` after every boot; `None`: no PIN.
    pub sim_pin: Option<String>,
    /// `[model]` the network assigns only this IPv4 address (to context 1).
    pub assigned_address: Ipv4Addr,
    /// The only names `+UDNSRN`/`+UPING` can resolve besides literal
    /// addresses and `localhost`. Never the host's resolver: tests run offline.
    pub dns: BTreeMap<String, IpAddr>,
    /// `[lib]` ubxlib waits ~6 s after power-on before the first `AT`.
    pub boot_time: Duration,
    /// `[model]` from radio on to registered (stat 2 -> stat 1).
    pub registration_time: Duration,
    /// `[model]` from `+UDNSRN` (or a `+UPING` of a name) to its answer.
    pub dns_time: Duration,
    /// `[model]` the round-trip time of every simulated ping, also the spacing
    /// between `+UUPING` URCs.
    pub ping_rtt: Duration,
    /// `[model]` RRC goes idle after this long without traffic.
    pub rrc_inactivity: Duration,
    /// `[model]` bytes sent when boot completes (e.g. `vec![0]`, as one u-blox
    /// module was seen to send a NUL). `[lib]` LEXI-R10 sends no boot URC, so
    /// the default is `None`.
    pub boot_greeting: Option<Vec<u8>>,
    /// `[model]` tracking area code in `+CEREG` (4 hex digits).
    pub tac: u16,
    /// `[model]` cell identity in `+CEREG` (8 hex digits).
    pub cell_id: u32,
    /// `[model]` `+UMQTTC=1` gives up (`+UUMQTTC: 1,0`, `+UMQTTER: 33,1`)
    /// when CONNACK has not come by then. Scaled like every module duration:
    /// tests with a small `time_scale` should raise it.
    pub mqtt_login_timeout: Duration,
    /// Multiplies the HTTP client's timeout (`+UHTTP` op 7, 30 to 180 s).
    /// `[model]` default 1.0, real time, not `time_scale`: the server is
    /// real and answers in real time, so a scaled timeout would fail
    /// requests a loaded machine serves a little late. A test of timeouts
    /// lowers it (0.01 makes 30 s 0.3 s). In (0, 1e6].
    pub http_timeout_scale: f64,
    /// `[model]` from the wake line (PWR_ON pulse) or network data to a
    /// module out of Sleep-2/Hibernate answering again.
    pub wake_time: Duration,
    /// The energy ledger's currents and radio costs (all assumptions, see
    /// [`crate::energy`]).
    pub currents: Currents,
    /// Where the embedded MQTT client's sessions go. Default: the network.
    pub mqtt_backend: MqttBackend,
    /// `[model]` the module's USB port is connected to the host. `[lib]` a
    /// real module then reaches Sleep-2/Hibernate only with USB off
    /// (`AT+UUSBCONF=99`): while this is true and `+UUSBCONF` is not 99 the
    /// module sleeps no deeper than Sleep-1. Default `false` (a gateway
    /// wired through the UART only): USB never limits sleep.
    pub usb_connected: bool,
    /// Where the network's time (NITZ, taken with `AT+CTZU=1`) comes from.
    /// Default [`NetworkTime::Host`]: the host's UTC clock.
    pub network_time: NetworkTime,
    /// `[model]` the zone the network sends with its time, in quarter hours
    /// east of UTC (`+CCLK`'s `zz`). Default +4 (UTC+1), not 0, so a host
    /// that forgets to convert local time to UTC gets a wrong time in tests.
    /// In -48..=56.
    pub network_tz_quarters: i8,
}

/// Where the time the network sends comes from (see `module/clock.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkTime {
    /// The host's UTC clock (`SystemTime::now()` when the simulator starts,
    /// running on with tokio's clock from there).
    #[default]
    Host,
    /// This UTC (seconds since the Unix epoch) when the simulator starts,
    /// running on with tokio's clock, so a paused clock in a test gives a
    /// known time. Between 2000-01-01 and 2099-12-31 (`+CCLK` has
    /// two-digit years).
    Fixed { utc_at_start_unix_s: i64 },
    /// `[model]` a network that never sends its time: the clock keeps its
    /// default date (or what the host set) even with `AT+CTZU=1`.
    None,
}

/// `NetworkTime::Fixed` may start from 2000-01-01 00:00:00 UTC ...
const FIXED_TIME_FROM_S: i64 = 946_684_800;
/// ... up to (not including) 2100-01-01 00:00:00 UTC.
const FIXED_TIME_UNTIL_S: i64 = 4_102_444_800;

/// Where `+UMQTTC` sessions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MqttBackend {
    /// A real client to the broker the profile names (over TCP).
    #[default]
    Real,
    /// `[model]` no network: login, publish, subscribe and logout each
    /// complete after `latency` (module time, scaled like the others), and
    /// every publish is recorded (`SimHandle::published`). For running the
    /// module under tokio's paused clock.
    Virtual { latency: Duration },
}

impl SimConfig {
    pub fn new(nvm_dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            nvm_dir: nvm_dir.into(),
            time_scale: 1.0,
            imei: "357862090033897".to_string(),
            operator: "sim-net".to_string(),
            sim_pin: None,
            assigned_address: Ipv4Addr::new(10, 40, 50, 5),
            dns: BTreeMap::new(),
            boot_time: Duration::from_secs(6),
            registration_time: Duration::from_secs(2),
            dns_time: Duration::from_millis(300),
            ping_rtt: Duration::from_millis(50),
            rrc_inactivity: Duration::from_secs(10),
            boot_greeting: None,
            tac: 0x2B67,
            cell_id: 0x0A1B_2C3D,
            mqtt_login_timeout: Duration::from_secs(30),
            http_timeout_scale: 1.0,
            wake_time: Duration::from_millis(500),
            currents: Currents::default(),
            mqtt_backend: MqttBackend::Real,
            usb_connected: false,
            network_time: NetworkTime::Host,
            network_tz_quarters: 4,
        }
    }

    /// Rejects values the wire format cannot carry or the clock cannot scale.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::Config(what));
        if !(self.time_scale.is_finite() && (0.0..=1e6).contains(&self.time_scale)) {
            return bad(format!("time_scale {} is not in 0..=1e6", self.time_scale));
        }
        if !(self.http_timeout_scale.is_finite()
            && self.http_timeout_scale > 0.0
            && self.http_timeout_scale <= 1e6)
        {
            return bad(format!(
                "http_timeout_scale {} is not in (0, 1e6]",
                self.http_timeout_scale
            ));
        }
        if self.imei.len() != 15 || !self.imei.bytes().all(|b| b.is_ascii_digit()) {
            return bad(format!("imei {:?} is not 15 digits", self.imei));
        }
        if !is_quotable(&self.operator) {
            return bad(format!(
                "operator {:?} cannot be sent in quotes",
                self.operator
            ));
        }
        if let Some(pin) = &self.sim_pin {
            // 3GPP TS 31.101: a PIN is 4 to 8 digits.
            if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                return bad(format!("sim_pin {pin:?} is not 4 to 8 digits"));
            }
        }
        if let NetworkTime::Fixed {
            utc_at_start_unix_s,
        } = self.network_time
        {
            if !(FIXED_TIME_FROM_S..FIXED_TIME_UNTIL_S).contains(&utc_at_start_unix_s) {
                return bad(format!(
                    "network time {utc_at_start_unix_s} (Unix seconds) is not in 2000..2099 \
                     ({FIXED_TIME_FROM_S}..{FIXED_TIME_UNTIL_S})"
                ));
            }
        }
        if !crate::module::TZ_QUARTERS.contains(&self.network_tz_quarters) {
            return bad(format!(
                "network_tz_quarters {} is not in -48..=56 (UTC-12:00 to UTC+14:00)",
                self.network_tz_quarters
            ));
        }
        for name in self.dns.keys() {
            if name.is_empty() || !is_quotable(name) {
                return bad(format!("dns name {name:?} cannot be sent in quotes"));
            }
        }
        Ok(())
    }

    /// The module-internal durations, scaled by `time_scale`.
    pub fn timing(&self) -> Timing {
        let scale = |d: Duration| self.scaled(d);
        Timing {
            boot: scale(self.boot_time),
            registration: scale(self.registration_time),
            dns: scale(self.dns_time),
            ping_rtt: scale(self.ping_rtt),
            rrc_inactivity: scale(self.rrc_inactivity),
            mqtt_login: scale(self.mqtt_login_timeout),
            wake: scale(self.wake_time),
        }
    }

    /// A module-internal duration in real time.
    pub fn scaled(&self, d: Duration) -> Duration {
        // try_from instead of mul_f64: never panics; a result too large
        // for Duration means "never" for the timer that uses it.
        Duration::try_from_secs_f64(d.as_secs_f64() * self.time_scale).unwrap_or(Duration::MAX)
    }

    /// A real-time duration in module time (the inverse of [`Self::scaled`]);
    /// with a time scale of 0 module time is taken as real time.
    pub fn unscaled(&self, real: Duration) -> Duration {
        if self.time_scale > 0.0 {
            Duration::try_from_secs_f64(real.as_secs_f64() / self.time_scale)
                .unwrap_or(Duration::MAX)
        } else {
            real
        }
    }
}

/// Printable ASCII without `"`: safe inside a quoted AT string.
fn is_quotable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"')
}

/// Module-internal durations after `time_scale`, in real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub boot: Duration,
    pub registration: Duration,
    pub dns: Duration,
    pub ping_rtt: Duration,
    pub rrc_inactivity: Duration,
    pub mqtt_login: Duration,
    pub wake: Duration,
}

/// The radio environment the test puts the module in; drives `+CEREG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkCondition {
    /// The home network is there: registration ends in stat 1.
    #[default]
    Coverage,
    /// No cell at all: the module keeps searching (stat 2).
    NoCoverage,
    /// The network rejects the module: stat 3.
    Denied,
    /// Only a visited network: registration ends in stat 5.
    Roaming,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SimConfig::new("/tmp/x").validate().unwrap();
    }

    #[test]
    fn bad_values_are_rejected() {
        let base = SimConfig::new("/tmp/x");
        type Change = Box<dyn Fn(&mut SimConfig)>;
        let cases: Vec<Change> = vec![
            Box::new(|c| c.imei = "12345".into()),
            Box::new(|c| c.imei = "35786209003389X".into()),
            Box::new(|c| c.time_scale = f64::NAN),
            Box::new(|c| c.time_scale = -1.0),
            Box::new(|c| c.operator = "a\"b".into()),
            Box::new(|c| c.sim_pin = Some("12".into())),
            Box::new(|c| c.sim_pin = Some("12ab".into())),
            Box::new(|c| {
                c.network_time = NetworkTime::Fixed {
                    utc_at_start_unix_s: 946_684_799,
                }
            }),
            Box::new(|c| {
                c.network_time = NetworkTime::Fixed {
                    utc_at_start_unix_s: 4_102_444_800,
                }
            }),
            Box::new(|c| c.network_tz_quarters = 57),
            Box::new(|c| c.network_tz_quarters = -49),
            Box::new(|c| {
                c.dns
                    .insert("bad\r\nname".into(), IpAddr::V4(Ipv4Addr::LOCALHOST));
            }),
        ];
        for change in cases {
            let mut cfg = base.clone();
            change(&mut cfg);
            assert!(cfg.validate().is_err(), "{cfg:?} was accepted");
        }
    }

    #[test]
    fn network_time_bounds_are_accepted() {
        let mut cfg = SimConfig::new("/tmp/x");
        for utc_at_start_unix_s in [946_684_800, 4_102_444_799] {
            cfg.network_time = NetworkTime::Fixed {
                utc_at_start_unix_s,
            };
            cfg.validate().unwrap();
        }
        cfg.network_time = NetworkTime::None;
        for tz in [-48, 0, 56] {
            cfg.network_tz_quarters = tz;
            cfg.validate().unwrap();
        }
    }

    #[test]
    fn timing_scales_and_never_panics() {
        let mut cfg = SimConfig::new("/tmp/x");
        cfg.time_scale = 0.001;
        assert_eq!(cfg.timing().boot, Duration::from_millis(6));
        cfg.time_scale = 1e6;
        cfg.boot_time = Duration::MAX;
        assert_eq!(cfg.timing().boot, Duration::MAX);
    }
}
