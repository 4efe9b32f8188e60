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
//! - agent: the daemon (`daemon::run_on`) with its defaults (15-minute
//!   windows, power manager, Hibernate between windows), except
//!   `uplink.jitter = "0s"` so two runs agree.
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
//! Printed for each run: energy per reading, the modem's awake fraction
//! (Booting + Idle + Active over module time), radio sessions (logins in the
//! transcript, RRC connections in the ledger), AT command lines and serial
//! bytes (both directions) per reading; the ratio naive/agent of energy per
//! reading is the last line. Each run also writes an SVG timeline of its
//! power states and publishes (a full-day strip and the first hour).
//!
//! The currents behind the millijoules are the simulator's ASSUMPTIONS
//! (`sim/src/energy.rs`); the ratio depends on them.
//!
//! `edge-bench energy --tls`: the same two runs over TLS, through the
//! virtual broker's in-memory OpenSSL server (real handshakes, real bytes;
//! its CA imported into the module): the naive client pays a full handshake
//! for every connection (no session resumption), the agent its defaults
//! (`resumption = "ticket"`: one full handshake, then resumed ones, the
//! session data kept across Hibernate). Printed besides: full and resumed
//! handshakes, their bytes and energy per reading.

// A benchmark: a failure stops it with its reason, as in `benches/codec.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
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
            .filter(|(_, l)| l == "AT+UMQTTC=1")
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
/// How the runs reach the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    Tls,
}

pub fn run() {
    let security = match std::env::args().nth(2).as_deref() {
        None => Security::Plain,
        Some("--tls") => Security::Tls,
        Some(_) => {
            eprintln!("usage: edge-bench energy [--tls]");
            std::process::exit(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for real figures");
    }
    let wall = std::time::Instant::now();
    let naive = paused_runtime().block_on(naive_run(security));
    let agent = paused_runtime().block_on(agent_run(security));

    let out_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut svgs = Vec::new();
    for (name, r) in [("naive", &naive), ("agent", &agent)] {
        let suffix = if security == Security::Tls {
            "-tls"
        } else {
            ""
        };
        let path = out_dir.join(format!("energy-{name}{suffix}.svg"));
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

    let a = figures(
        &naive.energy,
        naive.readings,
        &naive.transcript,
        naive.serial,
    );
    let b = figures(
        &agent.energy,
        agent.readings,
        &agent.transcript,
        agent.serial,
    );
    println!(
        "energy: 3 sensors x 1 reading/min, 24 simulated hours, simulated LEXI-R10 \
         (currents are the simulator's ASSUMPTIONS), virtual broker {} ms",
        BROKER_LATENCY.as_millis()
    );
    println!(
        "agent: defaults, uplink.jitter = \"0s\"; its readings are its heartbeat's (10 every 200 s)"
    );
    if security == Security::Tls {
        println!(
            "TLS: the virtual broker's OpenSSL server; naive = a full handshake per connection, \
             agent = [uplink.mqtt.tls] defaults (session resumption kept across Hibernate)"
        );
    }
    println!("{:<42} {:>14} {:>14}", "figure", "naive", "agent");
    let row = |name: &str, a: String, b: String| println!("{name:<42} {a:>14} {b:>14}");
    row(
        "readings delivered",
        a.readings.to_string(),
        b.readings.to_string(),
    );
    row(
        "readings pending at the end (not counted)",
        naive.pending.to_string(),
        agent.pending.to_string(),
    );
    row(
        "energy total (mJ)",
        format!("{:.0}", naive.energy.total_mj),
        format!("{:.0}", agent.energy.total_mj),
    );
    row(
        "energy per reading (mJ)",
        format!("{:.2}", a.mj_per_reading),
        format!("{:.2}", b.mj_per_reading),
    );
    row(
        "modem awake fraction (Booting+Idle+Active)",
        format!("{:.2}%", a.awake_fraction * 100.0),
        format!("{:.2}%", b.awake_fraction * 100.0),
    );
    row(
        "radio sessions: MQTT logins",
        a.logins.to_string(),
        b.logins.to_string(),
    );
    row(
        "radio sessions: RRC connections",
        a.rrc_connections.to_string(),
        b.rrc_connections.to_string(),
    );
    if security == Security::Tls {
        let tls_rows = |name: &str, f: &dyn Fn(&RunResult) -> String| {
            row(name, f(&naive), f(&agent));
        };
        tls_rows("TLS handshakes: full", &|r| {
            r.energy.tls.full.count.to_string()
        });
        tls_rows("TLS handshakes: resumed", &|r| {
            r.energy.tls.resumed.count.to_string()
        });
        tls_rows("TLS handshake bytes per reading", &|r| {
            let t = &r.energy.tls;
            let bytes = t.full.bytes_sent
                + t.full.bytes_received
                + t.resumed.bytes_sent
                + t.resumed.bytes_received;
            format!("{:.1}", bytes as f64 / r.readings.max(1) as f64)
        });
        tls_rows("TLS bytes per handshake: full", &|r| {
            let f = &r.energy.tls.full;
            format!(
                "{:.0}",
                (f.bytes_sent + f.bytes_received) as f64 / f.count.max(1) as f64
            )
        });
        tls_rows("TLS bytes per handshake: resumed", &|r| {
            let f = &r.energy.tls.resumed;
            format!(
                "{:.0}",
                (f.bytes_sent + f.bytes_received) as f64 / f.count.max(1) as f64
            )
        });
        tls_rows("TLS handshake energy per reading (mJ)", &|r| {
            let t = &r.energy.tls;
            format!(
                "{:.2}",
                (t.full.millijoules + t.resumed.millijoules) / r.readings.max(1) as f64
            )
        });
    }
    row(
        "AT command lines per reading",
        format!("{:.2}", a.at_per_reading),
        format!("{:.2}", b.at_per_reading),
    );
    row(
        "serial bytes per reading (both ways)",
        format!("{:.1}", a.serial_per_reading),
        format!("{:.1}", b.serial_per_reading),
    );
    row(
        "module time simulated (h)",
        format!("{:.2}", naive.energy.elapsed.as_secs_f64() / 3600.0),
        format!("{:.2}", agent.energy.elapsed.as_secs_f64() / 3600.0),
    );
    row(
        "real time taken (s)",
        format!("{:.1}", naive.real.as_secs_f64()),
        format!("{:.1}", agent.real.as_secs_f64()),
    );
    for p in &svgs {
        println!("timeline: {}", p.display());
    }
    println!(
        "real time, both runs: {:.1} s",
        wall.elapsed().as_secs_f64()
    );
    println!(
        "ratio naive/agent energy per reading: {:.1}x",
        a.mj_per_reading / b.mj_per_reading
    );
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

/// The agent's config for both runs (the naive run takes its modem, MQTT
/// and encoding settings from it too). With TLS, the virtual broker's CA
/// and `resumption`.
fn agent_config(dir: &Path, security: Security, resumption: &str) -> Config {
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
    std::fs::write(
        &path,
        format!(
            "[agent]\ndata_dir = {:?}\ndevice_id = {DEVICE:?}\nheartbeat_interval = \"200s\"\n\n\
             [modem]\nport = \"sim\"\n\n\
             [uplink]\njitter = \"0s\"\n\n{mqtt}",
            dir.join("data"),
        ),
    )
    .expect("write the config");
    Config::load_with_env(&path, Vec::<(String, String)>::new())
        .expect("the benchmark's config")
        .config
}

async fn collect(sim: &SimHandle, readings: u64, pending: u64, real: Duration) -> RunResult {
    RunResult {
        readings,
        pending,
        energy: sim.energy().await.expect("the energy report"),
        log: sim.power_log().await.expect("the power log"),
        published: sim.published().into_iter().map(|p| p.at).collect(),
        transcript: sim.timed_transcript(),
        serial: sim.serial_bytes(),
        real,
    }
}

async fn naive_run(security: Security) -> RunResult {
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let config = agent_config(dir.path(), security, "off");
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

async fn agent_run(security: Security) -> RunResult {
    let wall = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let config = agent_config(dir.path(), security, "ticket");
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
    r
}

fn color(state: PowerMode) -> &'static str {
    match state {
        PowerMode::Off => "#444444",
        PowerMode::Booting => "#9467bd",
        PowerMode::Active => "#d62728",
        PowerMode::Idle => "#ff7f0e",
        PowerMode::Sleep1 => "#bcbd22",
        PowerMode::Sleep2 => "#17becf",
        PowerMode::Hibernate => "#2ca02c",
    }
}

const SVG_W: f64 = 1200.0;
const MARGIN: f64 = 60.0;
const BAND_H: f64 = 40.0;

/// The power log as a timeline: a strip over `[0, end]` and a zoom on the
/// first hour, one band per state entry (class `band` in the full strip,
/// `zoom` in the zoom), a tick per publish under each strip, a legend.
fn timeline_svg(
    title: &str,
    log: &[PowerLogEntry],
    published: &[Duration],
    end: Duration,
) -> String {
    let zoom_end = end.min(Duration::from_secs(3600));
    let height = 2.0 * (BAND_H + 70.0) + 80.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        SVG_W + 2.0 * MARGIN
    );
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="20" font-size="16">{}</text>"#,
        xml_escape(title)
    );
    strip(
        &mut s,
        "band",
        "full run (hours)",
        log,
        published,
        end,
        3600.0,
        40.0,
    );
    strip(
        &mut s,
        "zoom",
        "first hour (minutes)",
        log,
        published,
        zoom_end,
        60.0,
        40.0 + BAND_H + 70.0,
    );
    let legend_y = 40.0 + 2.0 * (BAND_H + 70.0);
    for (i, state) in PowerMode::ALL.iter().enumerate() {
        let x = MARGIN + i as f64 * 120.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{state:?}</text>"#,
            color(*state),
            x + 16.0,
            legend_y + 11.0
        );
    }
    let x = MARGIN + 7.0 * 120.0;
    let _ = writeln!(
        s,
        r#"<line x1="{x}" y1="{legend_y}" x2="{x}" y2="{}" stroke="black"/><text x="{}" y="{}">publish</text>"#,
        legend_y + 12.0,
        x + 6.0,
        legend_y + 11.0
    );
    s.push_str("</svg>\n");
    s
}

#[allow(clippy::too_many_arguments)]
fn strip(
    s: &mut String,
    class: &str,
    label: &str,
    log: &[PowerLogEntry],
    published: &[Duration],
    end: Duration,
    tick_unit_s: f64,
    y: f64,
) {
    let span = end.as_secs_f64().max(1e-9);
    let x_of = |t: Duration| MARGIN + t.min(end).as_secs_f64() / span * SVG_W;
    let _ = writeln!(s, r#"<text x="{MARGIN}" y="{}">{label}</text>"#, y - 4.0);
    for (i, e) in log.iter().enumerate() {
        if e.at > end {
            break;
        }
        let stop = log.get(i + 1).map_or(end, |n| n.at.min(end));
        let (x0, x1) = (x_of(e.at), x_of(stop));
        let _ = writeln!(
            s,
            r#"<rect class="{class}" x="{x0:.2}" y="{y}" width="{:.3}" height="{BAND_H}" fill="{}"><title>{:?} at {:.1} s</title></rect>"#,
            (x1 - x0).max(0.0),
            color(e.state),
            e.state,
            e.at.as_secs_f64()
        );
    }
    let tick_y = y + BAND_H + 2.0;
    for p in published.iter().filter(|p| **p <= end) {
        let x = x_of(*p);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.2}" y1="{tick_y}" x2="{x:.2}" y2="{}" stroke="black" stroke-width="0.5"/>"#,
            tick_y + 10.0
        );
    }
    // Axis labels: at most ~24 of them.
    let units = (span / tick_unit_s).floor() as u64;
    let step = (units / 24).max(1) * if tick_unit_s == 60.0 { 5 } else { 1 };
    let mut u = 0;
    while u <= units {
        let x = MARGIN + (u as f64 * tick_unit_s) / span * SVG_W;
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{u}</text>"#,
            tick_y + 26.0
        );
        u += step;
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
    fn no_readings_and_no_time_give_zeros_not_nan() {
        let f = figures(&report(&[], 0.0, 0), 0, &[], (0, 0));
        assert_eq!(f.mj_per_reading, 0.0);
        assert_eq!(f.awake_fraction, 0.0);
        assert_eq!(f.serial_per_reading, 0.0);
    }

    fn entry(at: u64, state: PowerMode) -> PowerLogEntry {
        PowerLogEntry {
            at: Duration::from_secs(at),
            state,
        }
    }

    #[test]
    fn the_svg_has_one_band_per_log_entry_and_a_tick_per_publish() {
        let log = vec![
            entry(0, PowerMode::Booting),
            entry(6, PowerMode::Idle),
            entry(20, PowerMode::Active),
            entry(30, PowerMode::Idle),
            entry(40, PowerMode::Hibernate),
            entry(4000, PowerMode::Idle),
        ];
        let published = vec![Duration::from_secs(25), Duration::from_secs(4001)];
        let svg = timeline_svg("t <1>", &log, &published, Duration::from_secs(7200));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches(r#"class="band""#).count(), log.len(), "{svg}");
        // The zoom covers the first hour: the entry at 4000 s is outside it.
        assert_eq!(
            svg.matches(r#"class="zoom""#).count(),
            log.len() - 1,
            "{svg}"
        );
        // Full strip: both publishes; zoom: only the first; legend: one.
        assert_eq!(svg.matches(r#"stroke-width="0.5""#).count(), 3, "{svg}");
        assert!(svg.contains("t &lt;1&gt;"));
        for state in PowerMode::ALL {
            assert!(svg.contains(&format!(">{state:?}</text>")), "{state:?}");
        }
        // Every element opened is closed.
        assert_eq!(
            svg.matches("<rect").count(),
            svg.matches("</rect>").count() + 7
        );
    }

    #[test]
    fn a_band_spans_from_its_entry_to_the_next() {
        let log = vec![entry(0, PowerMode::Idle), entry(1800, PowerMode::Hibernate)];
        let svg = timeline_svg("x", &log, &[], Duration::from_secs(3600));
        // Half the run each: 600 px of the 1200 px strip.
        assert_eq!(svg.matches(r#"width="600.000""#).count(), 4, "{svg}");
    }
}
