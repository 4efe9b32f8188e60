//! Loading a file plus an environment, end to end.

use std::path::{Path, PathBuf};

use super::*;

/// A config file in a temporary directory, removed on drop.
struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(text: &str) -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    File { _dir: dir, path }
}

fn load(file: &File, env: &[(&str, &str)]) -> Result<LoadedConfig, ConfigError> {
    Config::load_with_env(&file.path, env.iter().copied())
}

fn ok(text: &str, env: &[(&str, &str)]) -> LoadedConfig {
    let f = file(text);
    load(&f, env).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems of a config that must be invalid.
fn problems(file: &File, env: &[(&str, &str)]) -> Vec<Problem> {
    match load(file, env) {
        Err(ConfigError::Invalid { path, problems }) => {
            assert_eq!(path, file.path);
            problems
        }
        other => panic!("expected invalid, got {other:?}"),
    }
}

/// The single problem of a config with one mistake.
fn problem(text: &str, env: &[(&str, &str)]) -> (Problem, PathBuf) {
    let f = file(text);
    let mut all = problems(&f, env);
    assert_eq!(all.len(), 1, "{all:#?}");
    (all.remove(0), f.path.clone())
}

fn at(path: &Path, line: usize, column: usize) -> Origin {
    Origin::File {
        path: path.to_path_buf(),
        line: Some(line),
        column: Some(column),
    }
}

fn env_var(name: &str) -> Origin {
    Origin::Env { var: name.into() }
}

const MINIMAL: &str = "[modem]\nport = \"/dev/ttyUSB0\"\n";

const FULL: &str = r#"
[agent]
device_id = "gw-0042.site_a"
data_dir = "/data/agent"
log_level = "info,edge_agent::modem=debug"

[modem]
port = "/dev/ttymxc1"
baud = 921600
apn = "iot.example"
pdp_type = "IP"
mno_profile = 100
sim_pin = "7391"
registration_timeout = "5m"
command_timeout = "1m30s"

[modem.sim]
nvm_dir = "/tmp/nvm"
time_scale = 0.05
"#;

#[test]
fn a_full_valid_file_sets_every_key() {
    let c = ok(FULL, &[]).config;
    assert_eq!(
        c.agent.device_id.as_ref().map(DeviceId::as_str),
        Some("gw-0042.site_a")
    );
    assert_eq!(c.agent.data_dir, Path::new("/data/agent"));
    assert_eq!(c.agent.log_level.as_str(), "info,edge_agent::modem=debug");
    assert_eq!(c.modem.port, ModemPort::Device("/dev/ttymxc1".into()));
    assert_eq!(c.modem.baud.get(), 921_600);
    assert_eq!(c.modem.apn.as_ref().map(Apn::as_str), Some("iot.example"));
    assert_eq!(c.modem.pdp_type, PdpType::Ip);
    assert_eq!(c.modem.mno_profile, Some(100));
    assert_eq!(
        c.modem.sim_pin.as_ref().map(|p| p.expose().as_str()),
        Some("7391")
    );
    assert_eq!(c.modem.registration_timeout, Duration::from_secs(300));
    assert_eq!(
        c.modem.command_timeout.get(),
        std::time::Duration::from_secs(90)
    );
    assert_eq!(c.modem.sim.nvm_dir, Path::new("/tmp/nvm"));
    assert_eq!(c.modem.sim.time_scale, 0.05);
}

#[test]
fn absent_keys_take_their_documented_defaults() {
    let loaded = ok(MINIMAL, &[]);
    assert!(loaded.env_overrides.is_empty());
    let c = loaded.config;
    assert_eq!(c.agent.device_id, None);
    assert_eq!(c.agent.data_dir, Path::new(DEFAULT_DATA_DIR));
    assert_eq!(c.agent.log_level.as_str(), "info");
    assert_eq!(c.modem.baud.get(), 115_200);
    assert_eq!(c.modem.apn, None);
    assert_eq!(c.modem.pdp_type, PdpType::Ipv4v6);
    assert_eq!(c.modem.mno_profile, None);
    assert!(c.modem.sim_pin.is_none());
    assert_eq!(c.modem.registration_timeout, Duration::from_secs(180));
    assert_eq!(c.modem.command_timeout, Duration::from_secs(10));
    assert_eq!(
        c.modem.sim.nvm_dir,
        Path::new("/var/lib/edge-agent/sim-nvm")
    );
    assert_eq!(c.modem.sim.time_scale, 1.0);
}

#[test]
#[cfg(feature = "sim")]
fn the_simulator_nvm_dir_follows_data_dir() {
    let c = ok(
        "[agent]\ndata_dir = \"./demo-data\"\n[modem]\nport = \"sim\"\n",
        &[],
    )
    .config;
    assert_eq!(c.modem.sim.nvm_dir, Path::new("./demo-data/sim-nvm"));
}

#[test]
#[cfg(feature = "sim")]
fn port_sim_selects_the_simulator_and_anything_else_is_a_device() {
    let sim = ok("[modem]\nport = \"sim\"\n", &[]).config.modem.port;
    assert_eq!(sim, ModemPort::Simulator);
    let device = ok("[modem]\nport = \"/dev/ttyUSB0\"\n", &[])
        .config
        .modem
        .port;
    assert_eq!(device, ModemPort::Device("/dev/ttyUSB0".into()));
    // Only the exact word: a file called "Sim" is a device path.
    let other = ok("[modem]\nport = \"Sim\"\n", &[]).config.modem.port;
    assert_eq!(other, ModemPort::Device("Sim".into()));
}

#[test]
fn an_environment_variable_overrides_a_nested_key_of_the_file() {
    let loaded = ok(
        "[modem]\nport = \"/dev/ttyUSB0\"\nbaud = 115200\n",
        &[
            ("EDGE_AGENT_MODEM__BAUD", "9600"),
            ("EDGE_AGENT_MODEM__SIM__TIME_SCALE", "0.01"),
            ("EDGE_AGENT_MODEM__SIM_PIN", "0123"),
            ("EDGE_AGENT_AGENT__DEVICE_ID", "356938035643809"),
            ("HOME", "/root"),
        ],
    );
    let c = &loaded.config;
    assert_eq!(c.modem.baud.get(), 9_600);
    assert_eq!(c.modem.sim.time_scale, 0.01);
    // A leading zero survives the trip through the environment.
    assert_eq!(
        c.modem.sim_pin.as_ref().map(|p| p.expose().as_str()),
        Some("0123")
    );
    assert_eq!(
        c.agent.device_id.as_ref().map(DeviceId::as_str),
        Some("356938035643809")
    );
    assert_eq!(c.modem.port, ModemPort::Device("/dev/ttyUSB0".into()));
    let keys: Vec<_> = loaded
        .env_overrides
        .iter()
        .map(|o| (o.key.as_str(), o.var.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("agent.device_id", "EDGE_AGENT_AGENT__DEVICE_ID"),
            ("modem.baud", "EDGE_AGENT_MODEM__BAUD"),
            ("modem.sim_pin", "EDGE_AGENT_MODEM__SIM_PIN"),
            ("modem.sim.time_scale", "EDGE_AGENT_MODEM__SIM__TIME_SCALE"),
        ]
    );
}

#[test]
fn the_environment_can_supply_a_key_the_file_lacks() {
    let c = ok("", &[("EDGE_AGENT_MODEM__PORT", "/dev/ttyS2")]).config;
    assert_eq!(c.modem.port, ModemPort::Device("/dev/ttyS2".into()));
}

#[test]
#[cfg(not(feature = "sim"))]
fn port_sim_is_refused_by_a_build_without_the_simulator() {
    let (p, _) = problem("[modem]\nport = \"sim\"\n", &[]);
    assert_eq!(p.key, "modem.port");
    assert!(p.message.contains("feature `sim`"), "{}", p.message);
}

#[test]
fn an_unknown_key_in_the_file_is_named_with_file_and_line() {
    let (p, path) = problem("[modem]\nport = \"/dev/ttyUSB0\"\n\nbaudrate = 9600\n", &[]);
    assert_eq!(p.key, "modem.baudrate");
    assert_eq!(p.origin, at(&path, 4, 1));
    assert!(p.message.contains("unknown key"), "{}", p.message);
    assert!(p.message.contains("`baud`"), "{}", p.message);
    let shown = p.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:4:1: modem.baudrate: unknown key",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn an_unknown_table_and_an_unknown_key_in_an_inline_table_are_named() {
    let f = file("[modme]\nport = 1\n[modem]\nport = \"/dev/ttyUSB0\"\nsim = { speed = 2 }\n");
    let all = problems(&f, &[]);
    let found: Vec<_> = all
        .iter()
        .map(|p| (p.key.as_str(), p.origin.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("modme", at(&f.path, 1, 2)),
            ("modem.sim.speed", at(&f.path, 5, 9))
        ]
    );
}

#[test]
fn a_wrong_type_in_the_file_is_named_with_file_line_and_column() {
    let (p, path) = problem("[modem]\nport = \"/dev/ttyUSB0\"\nbaud = \"fast\"\n", &[]);
    assert_eq!(p.key, "modem.baud");
    assert_eq!(p.origin, at(&path, 3, 8));
    assert!(p.message.contains("invalid type"), "{}", p.message);
    assert!(p.message.contains("baud rate"), "{}", p.message);
}

#[test]
fn a_wrong_type_from_the_environment_names_the_variable() {
    let (p, _) = problem(MINIMAL, &[("EDGE_AGENT_MODEM__BAUD", "fast")]);
    assert_eq!(p.key, "modem.baud");
    assert_eq!(p.origin, env_var("EDGE_AGENT_MODEM__BAUD"));
    assert!(
        p.to_string()
            .starts_with("environment variable EDGE_AGENT_MODEM__BAUD: modem.baud: invalid type"),
        "{p}"
    );
}

#[test]
fn an_unknown_key_from_the_environment_names_the_variable() {
    let f = file(MINIMAL);
    let all = problems(
        &f,
        &[
            ("EDGE_AGENT_MODEM__BAUDRATE", "9600"),
            ("EDGE_AGENT_LOG", "debug"),
        ],
    );
    let found: Vec<_> = all
        .iter()
        .map(|p| (p.key.as_str(), p.origin.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("log", env_var("EDGE_AGENT_LOG")),
            ("modem.baudrate", env_var("EDGE_AGENT_MODEM__BAUDRATE")),
        ]
    );
}

#[test]
fn a_bad_duration_says_what_was_wrong_and_shows_the_accepted_forms() {
    let (p, path) = problem(
        "[modem]\nport = \"/dev/ttyUSB0\"\nregistration_timeout = \"3 minutes\"\n",
        &[],
    );
    assert_eq!(p.key, "modem.registration_timeout");
    assert_eq!(p.origin, at(&path, 3, 24));
    assert!(
        p.message.contains("invalid duration \"3 minutes\""),
        "{}",
        p.message
    );
    assert!(p.message.contains("\"1m30s\""), "{}", p.message);
    let (p, _) = problem(
        "[modem]\nport = \"/dev/ttyUSB0\"\ncommand_timeout = 0\n",
        &[],
    );
    assert!(p.message.contains("zero"), "{}", p.message);
}

#[test]
fn a_bad_baud_rate_is_named_and_the_allowed_rates_listed() {
    let (p, path) = problem("[modem]\nport = \"/dev/ttyUSB0\"\nbaud = 100000\n", &[]);
    assert_eq!(p.key, "modem.baud");
    assert_eq!(p.origin, at(&path, 3, 8));
    assert!(
        p.message
            .ends_with("9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 3000000"),
        "{}",
        p.message
    );
}

#[test]
fn a_bad_device_id_is_named_with_the_offending_character() {
    let (p, path) = problem(
        "[agent]\ndevice_id = \"site/1\"\n[modem]\nport = \"/dev/ttyUSB0\"\n",
        &[],
    );
    assert_eq!(p.key, "agent.device_id");
    assert_eq!(p.origin, at(&path, 2, 13));
    assert!(p.message.contains("'/'"), "{}", p.message);
}

#[test]
fn other_bad_values_are_named_with_their_keys() {
    let f = file(
        "[agent]\nlog_level = \"verbose\"\n[modem]\nport = \"/dev/ttyUSB0\"\napn = \"\"\n\
         pdp_type = \"IPV5\"\nmno_profile = 256\n[modem.sim]\ntime_scale = 0\n",
    );
    let keys: Vec<_> = problems(&f, &[]).into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "agent.log_level",
            "modem.apn",
            "modem.pdp_type",
            "modem.mno_profile",
            "modem.sim.time_scale"
        ]
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let f = file(
        "[agent]\ndevice_id = \"a b\"\n[modem]\nport = \"/dev/ttyUSB0\"\nbaud = 1\nspeed = 2\n\
         command_timeout = \"soon\"\n",
    );
    let all = problems(&f, &[("EDGE_AGENT_MODEM__APN", "a\"b")]);
    let found: Vec<_> = all
        .iter()
        .map(|p| (p.key.as_str(), p.origin.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("agent.device_id", at(&f.path, 2, 13)),
            ("modem.baud", at(&f.path, 5, 8)),
            ("modem.speed", at(&f.path, 6, 1)),
            ("modem.command_timeout", at(&f.path, 7, 19)),
            ("modem.apn", env_var("EDGE_AGENT_MODEM__APN")),
        ]
    );
    let shown = match load(&f, &[]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted"),
    };
    assert!(
        shown.starts_with(&format!(
            "invalid configuration {}: 4 problems\n",
            f.path.display()
        )),
        "{shown}"
    );
}

#[test]
fn a_missing_port_is_named_with_where_to_set_it() {
    let (p, path) = problem("[agent]\n", &[]);
    assert_eq!(p.key, "modem.port");
    assert_eq!(p.origin, Origin::NotSet);
    assert!(
        p.message.contains(&path.display().to_string()),
        "{}",
        p.message
    );
    assert!(
        p.message.contains("EDGE_AGENT_MODEM__PORT"),
        "{}",
        p.message
    );
    // Reported together with the other problems.
    let f = file("[modem]\nbaud = 7\n");
    let keys: Vec<_> = problems(&f, &[]).into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["modem.baud", "modem.port"]);
}

#[test]
fn a_rejected_port_is_reported_once_not_also_as_missing() {
    let (p, path) = problem("[modem]\nport = \"\"\n", &[]);
    assert_eq!(p.key, "modem.port");
    assert_eq!(p.origin, at(&path, 2, 8));
    assert!(p.message.contains("empty"), "{}", p.message);
}

#[test]
fn the_secret_is_masked_in_debug_and_in_the_printed_effective_config() {
    let loaded = ok(FULL, &[("EDGE_AGENT_MODEM__BAUD", "9600")]);
    let debug = format!("{:?}", loaded.config);
    assert!(debug.contains("sim_pin: Some(***)"), "{debug}");
    assert!(!debug.contains("7391"), "{debug}");
    let printed = loaded.effective_toml().unwrap();
    assert!(printed.contains("sim_pin = \"***\""), "{printed}");
    assert!(!printed.contains("7391"), "{printed}");
}

#[test]
fn the_effective_config_names_file_and_environment_and_reads_back_the_same() {
    let f = file("[modem]\nport = \"/dev/ttyUSB0\"\n");
    let loaded = load(&f, &[("EDGE_AGENT_MODEM__BAUD", "9600")]).unwrap();
    let printed = loaded.effective_toml().unwrap();
    let first_lines: Vec<_> = printed.lines().take(2).collect();
    assert_eq!(
        first_lines,
        [
            format!(
                "# Effective configuration from {}, defaults filled in, secrets shown as \"***\".",
                f.path.display()
            )
            .as_str(),
            "# Set by environment variables: modem.baud (EDGE_AGENT_MODEM__BAUD).",
        ]
    );
    assert!(
        printed.contains("registration_timeout = \"3m\""),
        "{printed}"
    );
    let again = file(&printed);
    assert_eq!(load(&again, &[]).unwrap().config, loaded.config);
}

#[test]
fn a_missing_file_is_its_own_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    match Config::load_with_env(&path, [("EDGE_AGENT_MODEM__PORT", "sim")]) {
        Err(e @ ConfigError::NotFound { .. }) => {
            assert_eq!(
                e.to_string(),
                format!("config file {} not found", path.display())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_toml_syntax_error_gives_file_line_and_column() {
    let f = file("[modem]\nport = \"/dev/ttyUSB0\"\nbaud = 9600 9600\n");
    match load(&f, &[]) {
        Err(e @ ConfigError::Syntax { .. }) => {
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{}:3:13: TOML syntax error: ", f.path.display())),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_variable_name_is_reported() {
    let (p, _) = problem(MINIMAL, &[("EDGE_AGENT_MODEM____BAUD", "9600")]);
    assert_eq!(p.origin, env_var("EDGE_AGENT_MODEM____BAUD"));
    assert!(p.message.contains("does not map to a key"), "{}", p.message);
}

#[test]
fn the_queue_table_takes_sizes_durations_and_its_words() {
    let c = ok(
        "[modem]\nport = \"/dev/ttyUSB0\"\n[queue]\nsync = \"5s\"\nmax_bytes = \"64MiB\"\n\
         on_full = \"reject_new\"\nmax_age = \"7d\"\nlease_timeout = \"1m30s\"\n",
        &[],
    )
    .config;
    assert_eq!(c.queue.sync, SyncPolicy::Interval(Duration::from_secs(5)));
    assert_eq!(c.queue.max_bytes, ByteSize::mib(64));
    assert_eq!(c.queue.on_full, OnFull::RejectNew);
    assert_eq!(c.queue.max_age, Duration::from_secs(7 * 86_400));
    assert_eq!(c.queue.lease_timeout, Duration::from_secs(90));
    assert_eq!(c.queue_dir(), Path::new("/var/lib/edge-agent/queue"));

    let d = ok(MINIMAL, &[]).config.queue;
    assert_eq!(d, QueueConfig::default());
    assert_eq!(d.sync, SyncPolicy::Batch);
    assert_eq!(d.max_bytes, ByteSize::mib(32));
    assert_eq!(d.on_full, OnFull::DropOldest);
    assert_eq!(d.max_age, Duration::from_secs(30 * 86_400));
    assert_eq!(d.lease_timeout, Duration::from_secs(120));
}

#[test]
fn queue_sizes_come_from_the_environment_as_bytes_or_with_a_unit() {
    let c = ok(
        MINIMAL,
        &[
            ("EDGE_AGENT_QUEUE__MAX_BYTES", "1048576"),
            ("EDGE_AGENT_QUEUE__SYNC", "batch"),
        ],
    )
    .config;
    assert_eq!(c.queue.max_bytes, ByteSize::mib(1));
    let c = ok(MINIMAL, &[("EDGE_AGENT_QUEUE__MAX_BYTES", "2MiB")]).config;
    assert_eq!(c.queue.max_bytes, ByteSize::mib(2));
}

#[test]
fn bad_queue_values_are_named_with_their_line_and_what_is_allowed() {
    let f = file(
        "[modem]\nport = \"/dev/ttyUSB0\"\n[queue]\nsync = \"often\"\nmax_bytes = \"12mb\"\n\
         on_full = \"drop_newest\"\nmax_age = \"0s\"\n",
    );
    let all = problems(&f, &[]);
    let found: Vec<_> = all
        .iter()
        .map(|p| (p.key.as_str(), p.origin.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("queue.sync", at(&f.path, 4, 8)),
            ("queue.max_bytes", at(&f.path, 5, 13)),
            ("queue.on_full", at(&f.path, 6, 11)),
            ("queue.max_age", at(&f.path, 7, 11)),
        ]
    );
    assert!(
        all[0].message.contains("\"batch\" or a flush interval"),
        "{}",
        all[0].message
    );
    assert!(
        all[1].message.contains("unknown unit \"mb\""),
        "{}",
        all[1].message
    );
    assert!(
        all[2].message.contains("`drop_oldest`, `reject_new`"),
        "{}",
        all[2].message
    );
    assert!(
        all[3].message.contains("zero duration"),
        "{}",
        all[3].message
    );

    let (p, _) = problem(MINIMAL, &[("EDGE_AGENT_QUEUE__MAX_BYTES", "100")]);
    assert_eq!(p.key, "queue.max_bytes");
    assert!(p.message.contains("at least 4KiB"), "{}", p.message);
}

#[test]
fn the_mqtt_pdp_mapping_takes_a_context_and_an_ip_type_and_rejects_others() {
    let loaded = ok(
        "[modem]\nport = \"sim\"\n[uplink.mqtt]\nhost = \"broker\"\npdp_context = 2\nip_type = \"ipv6\"\n",
        &[],
    );
    assert_eq!(loaded.config.uplink.mqtt.pdp_context, 2);
    assert_eq!(loaded.config.uplink.mqtt.ip_type.code(), 1);
    let (p, _) = problem(
        "[modem]\nport = \"sim\"\n[uplink.mqtt]\nhost = \"broker\"\npdp_context = 16\n",
        &[],
    );
    assert_eq!(p.key, "uplink.mqtt.pdp_context");
    assert!(p.message.contains("1..=15"), "{}", p.message);
}
