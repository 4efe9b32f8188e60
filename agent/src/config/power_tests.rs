//! `[modem.power]`: defaults, the chosen deepest state, and the rules
//! across the power and wake keys.

use super::super::{Config, ConfigError, Origin, Problem};
use super::*;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<Problem>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[modem]\nport = \"/dev/ttyUSB0\"\n{text}")).unwrap();
    match Config::load_with_env(&path, env.iter().copied()) {
        Ok(loaded) => Ok(loaded.config),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
        Err(other) => panic!("{other}"),
    }
}

/// (key, line) of each problem, in the order reported.
fn placed(problems: &[Problem]) -> Vec<(&str, Option<usize>)> {
    problems
        .iter()
        .map(|p| match &p.origin {
            Origin::File { line, .. } => (p.key.as_str(), *line),
            Origin::Env { .. } | Origin::NotSet => (p.key.as_str(), None),
        })
        .collect()
}

fn load_loaded(text: &str) -> Result<super::super::LoadedConfig, Vec<Problem>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    match Config::load_with_env(&path, std::iter::empty::<(&str, &str)>()) {
        Ok(loaded) => Ok(loaded),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn absent_power_keys_take_their_defaults() {
    let c = load("", &[]).unwrap();
    let p = &c.modem.power;
    assert_eq!(
        *p,
        PowerConfig {
            deepest: Some(SleepMode::Sleep1),
            ..PowerConfig::default()
        }
    );
    assert!(p.enabled);
    assert_eq!(p.sleep_timeout, Duration::from_secs(5));
    // A device and no wake action: nothing could wake the module from
    // deeper sleep.
    assert_eq!(p.deepest(), SleepMode::Sleep1);
    assert_eq!(p.vote_level, SleepMode::Sleep1);
    assert!(p.usb_off);
    assert_eq!(p.wake.action(), Some(WakeAction::None));
}

#[test]
fn the_default_deepest_state_is_hibernate_only_with_something_that_can_wake_the_module() {
    let cases = [
        (
            "[modem]\nport = \"/dev/ttyS1\"\n",
            SleepMode::Sleep1,
            "kind is \"none\"",
        ),
        (
            "[modem]\nport = \"sim\"\n",
            SleepMode::Hibernate,
            "simulator's wake line",
        ),
        (
            "[modem]\nport = \"/dev/ttyS1\"\n[modem.power.wake]\nkind = \"command\"\n\
             program = \"/usr/bin/true\"\n",
            SleepMode::Hibernate,
            "the wake action",
        ),
    ];
    for (text, deepest, why) in cases {
        let loaded = load_loaded(text).unwrap();
        assert_eq!(loaded.config.modem.power.deepest(), deepest, "{text}");
        // `check` shows what was chosen, and why.
        let shown = loaded.effective_toml().unwrap();
        assert!(
            shown.contains(&format!("deepest = \"{}\"", deepest.name())),
            "{shown}"
        );
        let note = shown
            .lines()
            .find(|l| l.starts_with("# Chosen: modem.power.deepest"))
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(note.contains(why), "{note}");
    }
}

#[test]
fn deep_sleep_without_a_wake_action_on_a_device_is_an_error_naming_both_keys() {
    for deepest in ["sleep2", "hibernate"] {
        let problems = load(&format!("[modem.power]\ndeepest = \"{deepest}\"\n"), &[]).unwrap_err();
        assert_eq!(placed(&problems), [("modem.power.deepest", Some(4))]);
        let message = &problems[0].message;
        assert!(message.contains("modem.power.wake.kind"), "{message}");
        assert!(message.contains("deepest = \"sleep1\""), "{message}");
    }
    // Fine where something can wake it, or where it never sleeps.
    for text in [
        "[modem.power]\ndeepest = \"hibernate\"\n[modem.power.wake]\nkind = \"gpio\"\n\
         chip = \"/dev/gpiochip0\"\nline = 3\n",
        "[modem.power]\nenabled = false\ndeepest = \"hibernate\"\n",
        "[modem.power]\ndeepest = \"sleep1\"\n",
    ] {
        load(text, &[]).unwrap_or_else(|p| panic!("{text}: {p:#?}"));
    }
    load_loaded("[modem]\nport = \"sim\"\n[modem.power]\ndeepest = \"hibernate\"\n").unwrap();
}

#[test]
fn a_gpio_wake_is_read_with_its_defaults_and_env_overrides() {
    let c = load(
        "[modem.power]\nenabled = true\nsleep_timeout = \"2s\"\ndeepest = \"sleep2\"\n\
         vote_level = \"hibernate\"\n[modem.power.wake]\nkind = \"gpio\"\n\
         chip = \"/dev/gpiochip1\"\nline = 17\n",
        &[("EDGE_AGENT_MODEM__POWER__DEEPEST", "sleep1")],
    )
    .unwrap();
    let p = &c.modem.power;
    assert_eq!(p.sleep_timeout, Duration::from_secs(2));
    assert_eq!(p.deepest(), SleepMode::Sleep1);
    assert_eq!(p.vote_level, SleepMode::Hibernate);
    assert_eq!(
        p.wake.action(),
        Some(WakeAction::Gpio {
            chip: "/dev/gpiochip1".into(),
            line: 17,
            active_low: false,
            pulse: std::time::Duration::from_millis(100),
        })
    );
}

#[test]
fn a_command_wake_takes_program_args_and_timeout() {
    let c = load(
        "[modem.power.wake]\nkind = \"command\"\nprogram = \"/usr/bin/wake-modem\"\n\
         args = [\"--line\", \"17\"]\ntimeout = \"3s\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.modem.power.wake.action(),
        Some(WakeAction::Command {
            program: "/usr/bin/wake-modem".into(),
            args: vec!["--line".into(), "17".into()],
            timeout: std::time::Duration::from_secs(3),
        })
    );
}

#[test]
fn bad_power_values_are_named_with_key_line_and_what_is_allowed() {
    let problems = load(
        "[modem.power]\nsleep_timeout = \"0s\"\ndeepest = \"deep\"\nvote = 2\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        placed(&problems),
        [
            ("modem.power.sleep_timeout", Some(4)),
            ("modem.power.deepest", Some(5)),
            ("modem.power.vote", Some(6)),
        ]
    );
    assert!(
        problems[1]
            .message
            .contains("`sleep1`, `sleep2`, `hibernate`"),
        "{}",
        problems[1].message
    );
    assert!(
        problems[0].message.contains("zero"),
        "{}",
        problems[0].message
    );
}

#[test]
fn each_wake_kind_needs_its_keys_and_takes_no_others() {
    let problems = load("[modem.power.wake]\nkind = \"gpio\"\nline = 3\n", &[]).unwrap_err();
    assert_eq!(placed(&problems), [("modem.power.wake.chip", Some(3))]);
    assert!(
        problems[0].message.contains("/dev/gpiochip0"),
        "{}",
        problems[0].message
    );
    let problems = load(
        "[modem.power.wake]\nkind = \"command\"\nchip = \"/dev/gpiochip0\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        placed(&problems),
        [
            ("modem.power.wake.program", Some(3)),
            ("modem.power.wake.chip", Some(5)),
        ]
    );
    assert!(
        problems[1]
            .message
            .contains("only used with kind = \"gpio\""),
        "{}",
        problems[1].message
    );
    let problems = load("[modem.power.wake]\nprogram = \"/bin/true\"\n", &[]).unwrap_err();
    assert_eq!(placed(&problems), [("modem.power.wake.program", Some(4))]);
    let problems = load("[modem.power.wake]\nkind = \"gpio\"\nchip = \"/dev/gpiochip0\"\nline = 1\npulse = \"0ms\"\nsignal = 1\n", &[]).unwrap_err();
    assert_eq!(
        placed(&problems),
        [
            ("modem.power.wake.pulse", Some(7)),
            ("modem.power.wake.signal", Some(8)),
        ]
    );
}

fn load_on_port(port: &str, text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<Problem>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[modem]\nport = \"{port}\"\n{text}")).unwrap();
    match Config::load_with_env(&path, env.iter().copied()) {
        Ok(loaded) => Ok(loaded.config),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn usb_off_on_the_modules_own_usb_is_refused_at_the_key_or_the_port() {
    // Left at its default: placed at the port it clashes with.
    let wake = "[modem.power.wake]\nkind = \"command\"\nprogram = \"/bin/true\"\n";
    let problems = load_on_port("/dev/ttyACM0", wake, &[]).unwrap_err();
    assert_eq!(placed(&problems), [("modem.power.usb_off", Some(2))]);
    let message = &problems[0].message;
    for part in [
        "/dev/ttyACM0",
        "cut",
        "usb_off = false",
        "Sleep-2/Hibernate",
        "UART",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    // Set in the file: placed at the key.
    let problems = load_on_port(
        "/dev/ttyACM2",
        &format!("[modem.power]\ndeepest = \"sleep2\"\nusb_off = true\n{wake}"),
        &[],
    )
    .unwrap_err();
    assert_eq!(placed(&problems), [("modem.power.usb_off", Some(5))]);
}

#[test]
fn usb_off_is_fine_off_the_modules_usb_or_when_not_used() {
    for (port, text, env) in [
        ("/dev/ttyUSB0", "", None),
        ("/dev/ttyS1", "", None),
        ("sim", "", None),
        // A directory named like the driver is not the device.
        ("/dev/ttyACM0-dir/uart", "", None),
        ("/dev/ttyACM0", "[modem.power]\nusb_off = false\n", None),
        ("/dev/ttyACM0", "[modem.power]\nenabled = false\n", None),
        // No wake action: Sleep-1 at most, where USB does not matter.
        ("/dev/ttyACM0", "", None),
        (
            "/dev/ttyACM0",
            "",
            Some(("EDGE_AGENT_MODEM__POWER__USB_OFF", "false")),
        ),
    ] {
        let env: Vec<_> = env.into_iter().collect();
        let c = load_on_port(port, text, &env);
        assert!(c.is_ok(), "{port} {text} {env:?}: {c:?}");
    }
    let c = load_on_port("/dev/ttyACM0", "[modem.power]\nusb_off = false\n", &[]).unwrap();
    assert!(!c.modem.power.usb_off);
}

#[test]
fn a_stable_link_to_the_modules_usb_is_seen_through() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("ttyACM3");
    std::fs::write(&device, b"").unwrap();
    let by_id = dir.path().join("usb-u-blox_LEXI-R10-if00");
    std::os::unix::fs::symlink(&device, &by_id).unwrap();
    let wake = "[modem.power.wake]\nkind = \"command\"\nprogram = \"/bin/true\"\n";
    let problems = load_on_port(by_id.to_str().unwrap(), wake, &[]).unwrap_err();
    assert_eq!(placed(&problems), [("modem.power.usb_off", Some(2))]);
    // A link to a UART is fine.
    let uart = dir.path().join("ttymxc1");
    std::fs::write(&uart, b"").unwrap();
    let to_uart = dir.path().join("modem");
    std::os::unix::fs::symlink(&uart, &to_uart).unwrap();
    assert!(load_on_port(to_uart.to_str().unwrap(), wake, &[]).is_ok());
}

#[test]
fn the_printed_config_shows_the_power_table_and_reads_back() {
    let c = load(
        "[modem.power.wake]\nkind = \"gpio\"\nchip = \"/dev/gpiochip0\"\nline = 5\nactive_low = true\n",
        &[],
    )
    .unwrap();
    let printed = c.to_toml().unwrap();
    assert!(
        printed.contains(
            "[modem.power]\nenabled = true\nsleep_timeout = \"5s\"\ndeepest = \"hibernate\"\n\
             vote_level = \"sleep1\"\nusb_off = true\n\n[modem.power.wake]\nkind = \"gpio\"\n\
             chip = \"/dev/gpiochip0\"\nline = 5\nactive_low = true\n"
        ),
        "{printed}"
    );
    let again: Config = toml::from_str(&printed).unwrap();
    assert_eq!(again.modem.power, c.modem.power);
}
