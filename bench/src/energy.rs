//! `edge-bench energy`: what the agent's power policy saves against a naive
//! client, on the simulated LEXI-R10 and its energy ledger (issue 6).
//!
//! One workload, two runs on the same [`SimConfig`] (time scale 1, the
//! virtual MQTT broker answering after 200 ms `[model]`), each 24 simulated
//! hours under tokio's paused clock (a day runs in seconds):
//!
//! - naive: an `AtClient` over the simulator's duplex; the agent's `boot`
//!   (echo off, verbose errors, registration) and the MQTT profile written
//!   once; then, for every reading of 3 sensors at one reading a minute
//!   each, a login (`AT+UMQTTC=1`, waiting for `+UUMQTTC: 1,1`), one
//!   publish of that reading, and a logout. No `+UPSV`, no sleep votes.
//! - agent (MQTT): the daemon (`daemon::run_on`) with its defaults
//!   (15-minute windows, power manager, Hibernate between windows), except
//!   `uplink.jitter = "0s"` so two runs agree.
//! - agent (HTTP): the same daemon with `uplink.transport = "http"`: each
//!   message one POST through the module's HTTP client (direct link) to a
//!   small HTTP server in the benchmark's runtime that answers `204` at
//!   once (`energy/server.rs`; the module's client behind the simulator is
//!   a real reqwest client on loopback). Its messages are up to 8 KiB
//!   (`uplink.http.max_payload_bytes`), MQTT's 1 KiB.
//!
//! The agent's readings: its plugins run on their own threads in real time,
//! which a paused clock does not drive, and its queue belongs to the daemon.
//! So the agent's own heartbeat is the sensor: with no plugin it queues 10
//! readings (uptime, 4 queue counters, registration, 3 power counters, the
//! time source) per beat, and `agent.heartbeat_interval = "200s"` makes
//! that 3 readings a minute, the naive run's rate, arriving 10 every 200 s
//! instead of 3 every minute.
//! Each run's "per reading" divides by the readings that run delivered.
//!
//! Printed for each run, side by side: energy per reading, the modem's
//! awake fraction (Booting + Idle + Active over module time), radio
//! sessions (MQTT logins and HTTP requests in the transcript, RRC
//! connections in the ledger), AT command lines and serial bytes (both
//! directions) per reading; the ratios naive/agent of energy per reading
//! are the last lines. Each run also writes an SVG timeline of its power
//! states and messages (a full-day strip and the first hour,
//! `energy/timeline.rs`).
//!
//! `edge-bench energy --tls`: naive and agent (MQTT) over TLS, through the
//! virtual broker's in-memory OpenSSL server (real handshakes, real bytes;
//! its CA imported into the module): the naive client pays a full
//! handshake for every connection (no session resumption), the agent its
//! defaults (`resumption = "ticket"`: one full handshake, then resumed
//! ones, the session data kept across Hibernate). Printed besides: full and
//! resumed handshakes, their bytes and energy per reading. (HTTPS is the
//! same TLS layer; its resumption is shown by `tests/it/http_uplink.rs`.)
//!
//! The currents behind the millijoules are the simulator's ASSUMPTIONS
//! (`sim/src/energy.rs`); the ratio depends on them.

// A benchmark: a failure stops it with its reason, as in `benches/codec.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_agent::config::Config;
use edge_agent::daemon::{self, RunMode};
use edge_agent::modem::at::{AtClient, ClientOptions};
use edge_agent::modem::mqtt::session::{MqttSession, SessionOptions};
use edge_agent::modem::security::{apply_profile, ensure_credentials};
use edge_agent::modem::{boot, ModemLink};
use edge_agent::reading::{Reading, Value};
use lexi_sim::{
    EnergyReport, MqttBackend, PowerLogEntry, PowerMode, SimConfig, SimHandle, Simulator,
};

use timeline::timeline_svg;

mod server;
mod timeline;

const DAY: Duration = Duration::from_secs(24 * 3600);
const MINUTE: Duration = Duration::from_secs(60);
const SENSORS: [&str; 3] = ["temperature", "humidity", "pressure"];
/// `[model]` the virtual broker's answer time: a cellular round trip to a
/// cloud broker.
const BROKER_LATENCY: Duration = Duration::from_millis(200);
const DEVICE: &str = "gw-bench";

/// What one run leaves behind, read from the simulator at its end.
struct RunResult {
    readings: u64,
    /// Queued but not delivered when the day ended (after the last window).
    pending: u64,
    energy: EnergyReport,
    log: Vec<PowerLogEntry>,
    /// When each message left: a publish, or an HTTP request.
    published: Vec<Duration>,
    transcript: Vec<(Duration, String)>,
    serial: (u64, u64),
    real: Duration,
}

/// The per-reading figures of one run.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    readings: u64,
    mj_per_reading: f64,
    awake_fraction: f64,
    /// MQTT logins and HTTP requests: each one a connection to the server.
    logins: usize,
    rrc_connections: u64,
    at_per_reading: f64,
    serial_per_reading: f64,
}

fn figures(
    energy: &EnergyReport,
    readings: u64,
    transcript: &[(Duration, String)],
    serial: (u64, u64),
) -> Figures {
    let per = |x: f64| {
        if readings == 0 {
            0.0
        } else {
            x / readings as f64
        }
    };
    Figures {
        readings,
        mj_per_reading: per(energy.total_mj),
        awake_fraction: awake_fraction(energy),
        logins: transcript
            .iter()
            .filter(|(_, l)| l == "AT+UMQTTC=1" || l.starts_with("AT+UHTTPC="))
            .count(),
        rrc_connections: energy.rrc_connections,
        at_per_reading: per(transcript.len() as f64),
        serial_per_reading: per((serial.0 + serial.1) as f64),
    }
}

/// Booting + Idle + Active over the module time the report covers.
fn awake_fraction(energy: &EnergyReport) -> f64 {
    if energy.elapsed.is_zero() {
        return 0.0;
    }
    let awake: Duration = [PowerMode::Booting, PowerMode::Idle, PowerMode::Active]
        .iter()
        .map(|&s| energy.time_in(s))
        .sum();
    awake.as_secs_f64() / energy.elapsed.as_secs_f64()
}

/// Runs the benchmark.
pub fn run() {
    let security = match std::env::args().nth(2).as_deref() {
        None => Security::Plain,
        Some("--tls") => Security::Tls,
        Some(_) => {
            eprintln!("usage: edge-bench energy [--tls]");
            std::process::exit(2);
        }
    };
    if security == Security::Tls {
        return run_tls();
    }
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for real figures");
    }
    let wall = std::time::Instant::now();
    let runs = [
        (
            "naive",
            paused_runtime().block_on(naive_run(Security::Plain)),
        ),
        (
            "agent",
            paused_runtime().block_on(agent_run(Transport::Mqtt)),
        ),
        (
            "agent-http",
            paused_runtime().block_on(agent_run(Transport::Http)),
        ),
    ];

    let out_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut svgs = Vec::new();
    for (name, r) in &runs {
        let path = out_dir.join(format!("energy-{name}.svg"));
        let end = r.energy.elapsed;
        let svg = timeline_svg(
            &format!("{name}: 24 h, 3 readings/min"),
            &r.log,
            &r.published,
            end,
        );
        std::fs::write(&path, svg).expect("write the SVG timeline");
        svgs.push(path);
    }

    let f: Vec<Figures> = runs
        .iter()
        .map(|(_, r)| figures(&r.energy, r.readings, &r.transcript, r.serial))
        .collect();
    let r: Vec<&RunResult> = runs.iter().map(|(_, r)| r).collect();
    println!(
        "energy: 3 sensors x 1 reading/min, 24 simulated hours, simulated LEXI-R10 \
         (currents are the simulator's ASSUMPTIONS), virtual broker {} ms, HTTP server on \
         loopback",
        BROKER_LATENCY.as_millis()
    );
    println!(
        "agent: defaults, uplink.jitter = \"0s\"; its readings are its heartbeat's (10 every 200 s); \
         agent (HTTP): the same with uplink.transport = \"http\""
    );
    println!(
        "{:<42} {:>14} {:>14} {:>14}",
        "figure", "naive", "agent (MQTT)", "agent (HTTP)"
    );
    let row = |name: &str, cell: &dyn Fn(usize) -> String| {
        println!("{name:<42} {:>14} {:>14} {:>14}", cell(0), cell(1), cell(2))
    };
    row("readings delivered", &|i| f[i].readings.to_string());
    row("readings pending at the end (not counted)", &|i| {
        r[i].pending.to_string()
    });
    row("energy total (mJ)", &|i| {
        format!("{:.0}", r[i].energy.total_mj)
    });
    row("energy per reading (mJ)", &|i| {
        format!("{:.2}", f[i].mj_per_reading)
    });
    row("modem awake fraction (Booting+Idle+Active)", &|i| {
        format!("{:.2}%", f[i].awake_fraction * 100.0)
    });
    row("radio sessions: MQTT logins, HTTP requests", &|i| {
        f[i].logins.to_string()
    });
    row("radio sessions: RRC connections", &|i| {
        f[i].rrc_connections.to_string()
    });
    row("AT command lines per reading", &|i| {
        format!("{:.2}", f[i].at_per_reading)
    });
    row("serial bytes per reading (both ways)", &|i| {
        format!("{:.1}", f[i].serial_per_reading)
    });
    row("module time simulated (h)", &|i| {
        format!("{:.2}", r[i].energy.elapsed.as_secs_f64() / 3600.0)
    });
    row("real time taken (s)", &|i| {
        format!("{:.1}", r[i].real.as_secs_f64())
    });
    for p in &svgs {
        println!("timeline: {}", p.display());
    }
    println!("real time, all runs: {:.1} s", wall.elapsed().as_secs_f64());
    println!(
        "ratio naive/agent energy per reading: {:.1}x",
        f[0].mj_per_reading / f[1].mj_per_reading
    );
    println!(
        "ratio naive/agent (HTTP) energy per reading: {:.1}x",
        f[0].mj_per_reading / f[2].mj_per_reading
    );
}

/// How the runs reach the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    Tls,
}

/// `--tls`: naive against the agent over MQTT with TLS.
fn run_tls() {
    let wall = std::time::Instant::now();
    let naive = paused_runtime().block_on(naive_run(Security::Tls));
    let agent = paused_runtime().block_on(agent_run_with(Transport::Mqtt, Security::Tls));
    let runs = [("naive", &naive), ("agent", &agent)];
    let f: Vec<Figures> = runs
        .iter()
        .map(|(_, r)| figures(&r.energy, r.readings, &r.transcript, r.serial))
        .collect();
    println!(
        "energy --tls: 3 sensors x 1 reading/min, 24 simulated hours, simulated LEXI-R10 \
         (currents are the simulator's ASSUMPTIONS), virtual broker {} ms with its OpenSSL server",
        BROKER_LATENCY.as_millis()
    );
    println!(
        "naive = a full handshake per connection; agent = [uplink.mqtt.tls] defaults (session \
         resumption kept across Hibernate)"
    );
    println!("{:<42} {:>14} {:>14}", "figure", "naive", "agent");
    let row = |name: &str, cell: &dyn Fn(usize) -> String| {
        println!("{name:<42} {:>14} {:>14}", cell(0), cell(1));
    };
    let r = [&naive, &agent];
    row("readings delivered", &|i| f[i].readings.to_string());
    row("energy per reading (mJ)", &|i| {
        format!("{:.2}", f[i].mj_per_reading)
    });
    row("modem awake fraction (Booting+Idle+Active)", &|i| {
        format!("{:.2}%", f[i].awake_fraction * 100.0)
    });
    row("radio sessions: MQTT logins", &|i| f[i].logins.to_string());
    row("TLS handshakes: full", &|i| {
        r[i].energy.tls.full.count.to_string()
    });
    row("TLS handshakes: resumed", &|i| {
        r[i].energy.tls.resumed.count.to_string()
    });
    let per_handshake = |h: &lexi_sim::HandshakeEnergy| {
        format!(
            "{:.0}",
            (h.bytes_sent + h.bytes_received) as f64 / h.count.max(1) as f64
        )
    };
    row("TLS bytes per handshake: full", &|i| {
        per_handshake(&r[i].energy.tls.full)
    });
    row("TLS bytes per handshake: resumed", &|i| {
        per_handshake(&r[i].energy.tls.resumed)
    });
    row("TLS handshake bytes per reading", &|i| {
        let t = &r[i].energy.tls;
        let bytes = t.full.bytes_sent
            + t.full.bytes_received
            + t.resumed.bytes_sent
            + t.resumed.bytes_received;
        format!("{:.1}", bytes as f64 / r[i].readings.max(1) as f64)
    });
    row("TLS handshake energy per reading (mJ)", &|i| {
        let t = &r[i].energy.tls;
        format!(
            "{:.2}",
            (t.full.millijoules + t.resumed.millijoules) / r[i].readings.max(1) as f64
        )
    });
    row("serial bytes per reading (both ways)", &|i| {
        format!("{:.1}", f[i].serial_per_reading)
    });
    println!(
        "real time, both runs: {:.1} s",
        wall.elapsed().as_secs_f64()
    );
    println!(
        "ratio naive/agent energy per reading: {:.1}x",
        f[0].mj_per_reading / f[1].mj_per_reading
    );
}

/// Which of the module's clients the agent's run uploads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Mqtt,
    Http,
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
}

fn sim_config(dir: &Path) -> SimConfig {
    let mut c = SimConfig::new(dir.join("nvm"));
    c.mqtt_backend = MqttBackend::Virtual {
        latency: BROKER_LATENCY,
    };
    c
}

/// The agent's config for its runs (the naive run takes its modem, MQTT
/// and encoding settings from it too); with HTTP, the uplink to the server
/// on `http_port`.
fn agent_config(
    dir: &Path,
    transport: Transport,
    http_port: u16,
    security: Security,
    resumption: &str,
) -> Config {
    let path = dir.join("config.toml");
    let mqtt = match security {
        Security::Plain => "[uplink.mqtt]\nhost = \"127.0.0.1\"\nport = 1883\n".to_owned(),
        Security::Tls => {
            let ca = dir.join("virtual-ca.pem");
            std::fs::write(&ca, lexi_sim::virtual_broker_ca_pem()).expect("write the CA");
            format!(
                "[uplink.mqtt]\nhost = \"localhost\"\n\n\
                 [uplink.mqtt.tls]\nca_file = {ca:?}\nresumption = {resumption:?}\n"
            )
        }
    };
    let uplink = match transport {
        Transport::Mqtt => String::new(),
        Transport::Http => format!(
            "transport = \"http\"\n\n[uplink.http]\n\
             url = \"http://127.0.0.1:{http_port}/telemetry/{{device_id}}\"\n"
        ),
    };
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = {DEVICE:?}\nheartbeat_interval = \"200s\"\n\n\
             [modem]\nport = \"sim\"\n\n\
             [uplink]\njitter = \"0s\"\n{uplink}\n{mqtt}",
            dir.join("data"),
        ),
    )
    .expect("write the config");
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .expect("the benchmark's config")
        .config
}

async fn collect(sim: &SimHandle, readings: u64, pending: u64, real: Duration) -> RunResult {
    let transcript = sim.timed_transcript();
    let mut published: Vec<Duration> = sim.published().into_iter().map(|p| p.at).collect();
    published.extend(
        transcript
            .iter()
            .filter(|(_, l)| l.starts_with("AT+UHTTPC="))
            .map(|(at, _)| *at),
    );
    published.sort();
    RunResult {
        readings,
        pending,
        energy: sim.energy().await.expect("the energy report"),
        log: sim.power_log().await.expect("the power log"),
        published,
        transcript,
        serial: sim.serial_bytes(),
        real,
    }
}

async fn naive_run(security: Security) -> RunResult {
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let config = agent_config(dir.path(), Transport::Mqtt, 0, security, "off");
    let (sim, io) = Simulator::spawn_duplex(sim_config(dir.path())).expect("the simulator");
    let (at, _engine) = AtClient::spawn(io, ClientOptions::default());
    let info = boot(&at, &config.modem.boot_settings())
        .await
        .expect("boot");
    let profile = config
        .uplink
        .mqtt
        .profile(&info.identity.imei, DEVICE)
        .expect("the MQTT profile");
    // The naive client sets TLS up once (it never sleeps, so the profile
    // stays) and resumes nothing: a full handshake per connection.
    if let (Some(tls), Some(target)) = (&config.uplink.mqtt.tls, config.uplink.mqtt.tls_target()) {
        let settings = tls.settings(target).expect("the TLS settings");
        ensure_credentials(&at, &settings.credentials)
            .await
            .expect("import the CA");
        apply_profile(&at, &settings.profile)
            .await
            .expect("the security profile");
    }
    for cmd in profile.commands() {
        at.send(&cmd).await.expect("write the MQTT profile");
    }
    let packer = config.uplink.packer(Some(DEVICE));
    // No command topic: the naive client only publishes.
    let options = SessionOptions::new(
        config.uplink.mqtt.qos,
        config.uplink.mqtt.topic.for_device(DEVICE),
        None,
    );
    let start = tokio::time::Instant::now();
    let mut readings = 0;
    for minute in 0..(DAY.as_secs() / 60) as u32 {
        tokio::time::sleep_until(start + MINUTE * minute).await;
        for (i, name) in SENSORS.iter().enumerate() {
            let reading = sensor_reading(name, 20.0 + i as f64 + f64::from(minute % 7) / 10.0);
            let payload = packer.encoder().encode(&[reading]).expect("encode");
            let mut session = MqttSession::connect(&at, options.clone())
                .await
                .expect("login");
            session.publish(payload).await.expect("publish");
            session.logout().await.expect("logout");
            readings += 1;
        }
    }
    tokio::time::sleep_until(start + DAY).await;
    let r = collect(&sim, readings, 0, wall.elapsed()).await;
    sim.shutdown();
    r
}

fn sensor_reading(name: &str, value: f64) -> Reading {
    let timestamp_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    Reading {
        source: "bme280".to_string(),
        name: name.to_string(),
        unit: Some("Cel".to_string()),
        value: Value::F64(value),
        timestamp_ns,
        tags: BTreeMap::new(),
    }
}

async fn agent_run(transport: Transport) -> RunResult {
    agent_run_with(transport, Security::Plain).await
}

async fn agent_run_with(transport: Transport, security: Security) -> RunResult {
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let server = server::start().await;
    let config = agent_config(dir.path(), transport, server.port, security, "ticket");
    let (sim, io) = Simulator::spawn_duplex(sim_config(dir.path())).expect("the simulator");
    let (client, engine) = AtClient::spawn(io, ClientOptions::default());
    let link = ModemLink {
        client,
        path: "duplex".into(),
        simulator: Some(sim.clone()),
        engine,
    };
    let report = daemon::run_on(link, &config, RunMode::Daemon, tokio::time::sleep(DAY))
        .await
        .expect("the agent's run");
    let r = collect(
        &sim,
        report.delivered as u64,
        report.pending,
        wall.elapsed(),
    )
    .await;
    sim.shutdown();
    server.stop();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use lexi_sim::StateEnergy;

    fn report(times: &[(PowerMode, u64)], total_mj: f64, rrc: u64) -> EnergyReport {
        let per_state: Vec<StateEnergy> = PowerMode::ALL
            .iter()
            .map(|&state| StateEnergy {
                state,
                time: Duration::from_secs(
                    times
                        .iter()
                        .find(|(s, _)| *s == state)
                        .map_or(0, |(_, t)| *t),
                ),
                millijoules: 0.0,
            })
            .collect();
        EnergyReport {
            elapsed: per_state.iter().map(|s| s.time).sum(),
            per_state,
            radio_bytes_sent: 0,
            radio_bytes_received: 0,
            tls_handshakes: 0,
            tls: lexi_sim::TlsEnergy::default(),
            rrc_connections: rrc,
            radio_mj: 0.0,
            total_mj,
        }
    }

    fn line(at: u64, text: &str) -> (Duration, String) {
        (Duration::from_secs(at), text.to_string())
    }

    #[test]
    fn figures_divide_by_the_readings_and_count_awake_states_and_logins() {
        let energy = report(
            &[
                (PowerMode::Booting, 10),
                (PowerMode::Active, 10),
                (PowerMode::Idle, 20),
                (PowerMode::Sleep1, 5),
                (PowerMode::Hibernate, 55),
            ],
            500.0,
            4,
        );
        let transcript = vec![
            line(0, "ATE0"),
            line(1, "AT+UMQTTC=1"),
            line(2, "AT+UMQTTC=2,0,0,\"t\",\"x\""),
            line(3, "AT+UMQTTC=0"),
            line(4, "AT+UMQTTC=1"),
        ];
        let f = figures(&energy, 10, &transcript, (300, 700));
        assert_eq!(
            f,
            Figures {
                readings: 10,
                mj_per_reading: 50.0,
                awake_fraction: 0.4,
                logins: 2,
                rrc_connections: 4,
                at_per_reading: 0.5,
                serial_per_reading: 100.0,
            }
        );
    }

    #[test]
    fn http_requests_count_as_radio_sessions() {
        let transcript = vec![
            line(0, "AT+UHTTPNV=0,1"),
            line(1, "AT+UHTTPC=0,7,\"/t\",6,\"application/senml+cbor\",120"),
            line(2, "AT+UHTTPER=0"),
            line(3, "AT+UHTTPC=0,7,\"/t\",6,\"application/senml+cbor\",80"),
        ];
        let f = figures(&report(&[], 0.0, 0), 4, &transcript, (0, 0));
        assert_eq!(f.logins, 2);
    }

    #[test]
    fn no_readings_and_no_time_give_zeros_not_nan() {
        let f = figures(&report(&[], 0.0, 0), 0, &[], (0, 0));
        assert_eq!(f.mj_per_reading, 0.0);
        assert_eq!(f.awake_fraction, 0.0);
        assert_eq!(f.serial_per_reading, 0.0);
    }
}
