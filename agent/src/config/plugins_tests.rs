//! `[[plugins]]`: the entries' keys, defaults and the rules across them,
//! with errors naming `plugins[i].key` and its line.

use std::path::Path;

use super::super::{Config, ConfigError, Origin, Problem};
use super::*;

const HASH: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

/// Loads `[modem]` plus `text` (which starts on line 3).
fn load(text: &str) -> Result<Config, (Vec<Problem>, std::path::PathBuf)> {
    load_whole(&format!("[modem]\nport = \"/dev/ttyUSB0\"\n{text}"))
}

fn load_whole(text: &str) -> Result<Config, (Vec<Problem>, std::path::PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    match Config::load_with_env(&path, std::iter::empty::<(&str, &str)>()) {
        Ok(loaded) => Ok(loaded.config),
        Err(ConfigError::Invalid { problems, .. }) => Err((problems, path)),
        Err(other) => panic!("{other}"),
    }
}

/// (key, line, message) of each problem, all from the file.
fn found(problems: &[Problem], path: &Path) -> Vec<(String, usize, String)> {
    problems
        .iter()
        .map(|p| match &p.origin {
            Origin::File {
                path: file,
                line: Some(line),
                ..
            } => {
                assert_eq!(file, path);
                (p.key.clone(), *line, p.message.clone())
            }
            other => panic!("{p:?}: {other:?}"),
        })
        .collect()
}

#[test]
fn a_full_entry_sets_every_key_and_its_config_becomes_json() {
    let c = load(&format!(
        r#"
[[plugins]]
name = "bme-1"
path = "/usr/lib/edge-agent/libbme280.so"
sha256 = "{HASH}"
interval = "30s"
timeout = "2s"
max_backoff = "10m"

[plugins.config]
bus = "/dev/i2c-1"
address = 118
oversampling = 2.5
enabled = true
since = 1979-05-27T07:32:00Z
channels = ["t", "p"]
limits = {{ max = 85, min = -40 }}
"#
    ))
    .unwrap_or_else(|(p, _)| panic!("{p:#?}"));
    assert_eq!(c.plugins.len(), 1);
    let p = &c.plugins[0];
    assert_eq!(p.name.as_str(), "bme-1");
    assert_eq!(p.path, Path::new("/usr/lib/edge-agent/libbme280.so"));
    assert_eq!(p.sha256.map(|d| sha256_hex(&d)), Some(HASH.to_lowercase()));
    assert!(!p.allow_unpinned);
    assert_eq!(p.interval, Duration::from_secs(30));
    assert_eq!(p.timeout, Duration::from_secs(2));
    assert_eq!(p.max_backoff, Duration::from_secs(600));
    let json: serde_json::Value = serde_json::from_str(&p.config_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "bus": "/dev/i2c-1",
            "address": 118,
            "oversampling": 2.5,
            "enabled": true,
            "since": "1979-05-27T07:32:00Z",
            "channels": ["t", "p"],
            "limits": {"max": 85, "min": -40},
        })
    );
}

#[test]
fn an_entry_takes_its_documented_defaults_and_no_entry_means_no_plugins() {
    assert!(load("").unwrap().plugins.is_empty());
    let c = load(&format!(
        "[[plugins]]\nname = \"a\"\npath = \"liba.so\"\nsha256 = \"{HASH}\"\n"
    ))
    .unwrap_or_else(|(p, _)| panic!("{p:#?}"));
    let p = &c.plugins[0];
    assert_eq!(p.interval, DEFAULT_PLUGIN_INTERVAL);
    assert_eq!(p.interval, Duration::from_secs(60));
    assert_eq!(p.timeout, Duration::from_secs(5));
    assert_eq!(p.max_backoff, Duration::from_secs(3_600));
    assert!(!p.allow_unpinned);
    assert_eq!(p.config_json(), "{}");
}

#[test]
fn unpinned_is_refused_unless_allowed_and_the_message_says_how_to_pin() {
    let (problems, path) = load("[[plugins]]\nname = \"a\"\npath = \"/x.so\"\n").unwrap_err();
    let found = found(&problems, &path);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("plugins[0].sha256", 3));
    assert!(
        found[0].2.contains("edge-agent plugin inspect PATH")
            && found[0].2.contains("allow_unpinned = true"),
        "{}",
        found[0].2
    );
    let c = load("[[plugins]]\nname = \"a\"\npath = \"/x.so\"\nallow_unpinned = true\n")
        .unwrap_or_else(|(p, _)| panic!("{p:#?}"));
    assert_eq!(c.plugins[0].sha256, None);
    assert!(c.plugins[0].allow_unpinned);
}

#[test]
fn duplicate_names_bad_hashes_and_bad_names_are_named_with_index_and_line() {
    let (problems, path) = load(&format!(
        r#"[[plugins]]
name = "temp"
path = "/a.so"
sha256 = "{HASH}"

[[plugins]]
name = "temp"
path = "/b.so"
sha256 = "abc"

[[plugins]]
name = "Temp 2"
path = "/c.so"
sha256 = "{}"
"#,
        "z".repeat(64)
    ))
    .unwrap_err();
    let found = found(&problems, &path);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("plugins[1].name", 9));
    assert!(
        found[0]
            .2
            .contains("\"temp\" is already used by plugins[0]"),
        "{}",
        found[0].2
    );
    assert_eq!((found[1].0.as_str(), found[1].1), ("plugins[1].sha256", 11));
    assert!(
        found[1].2.contains("3 hex digits; a SHA-256 is 64"),
        "{}",
        found[1].2
    );
    assert_eq!((found[2].0.as_str(), found[2].1), ("plugins[2].name", 14));
    assert!(found[2].2.contains("contains 'T'"), "{}", found[2].2);
    assert_eq!((found[3].0.as_str(), found[3].1), ("plugins[2].sha256", 16));
    assert!(
        found[3].2.contains("'z' is not a hex digit"),
        "{}",
        found[3].2
    );
}

#[test]
fn an_unset_timeout_is_the_lesser_of_5s_and_half_the_interval() {
    let c = load(&format!(
        "[[plugins]]\nname = \"fast\"\npath = \"/a.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"1s\"\n\n\
         [[plugins]]\nname = \"mid\"\npath = \"/b.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"8s\"\n\n\
         [[plugins]]\nname = \"slow\"\npath = \"/c.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"2h\"\n"
    ))
    .unwrap_or_else(|(p, _)| panic!("{p:#?}"));
    let timeouts: Vec<Duration> = c.plugins.iter().map(|p| p.timeout).collect();
    assert_eq!(
        timeouts,
        [
            Duration::from_millis(500),
            Duration::from_secs(4),
            Duration::from_secs(5)
        ]
    );
    // The effective config shows the value chosen.
    assert!(c.to_toml().unwrap().contains("timeout = \"500ms\""));
    // Nor an error about max_backoff for a long interval: it follows.
    assert_eq!(c.plugins[2].max_backoff, Duration::from_secs(7_200));
    assert_eq!(c.plugins[1].max_backoff, Duration::from_secs(3_600));
}

#[test]
fn timeout_must_be_shorter_than_interval_and_backoff_at_least_interval() {
    let (problems, path) = load(&format!(
        "[[plugins]]\nname = \"a\"\npath = \"/a.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"5s\"\ntimeout = \"5s\"\n\n\
         [[plugins]]\nname = \"b\"\npath = \"/b.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"2h\"\nmax_backoff = \"1h\"\n\n\
         [[plugins]]\nname = \"c\"\npath = \"/c.so\"\nsha256 = \"{HASH}\"\n\
         interval = \"0s\"\n"
    ))
    .unwrap_err();
    let found = found(&problems, &path);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("plugins[0].timeout", 8));
    assert!(
        found[0].2.contains("5s is not shorter than interval (5s)"),
        "{}",
        found[0].2
    );
    assert_eq!(
        (found[1].0.as_str(), found[1].1),
        ("plugins[1].max_backoff", 15)
    );
    assert!(
        found[1].2.contains("1h is shorter than interval (2h)"),
        "{}",
        found[1].2
    );
    assert_eq!(
        (found[2].0.as_str(), found[2].1),
        ("plugins[2].interval", 21)
    );
    assert!(found[2].2.contains("zero duration"), "{}", found[2].2);
}

#[test]
fn unknown_keys_missing_keys_and_bad_config_values_are_named_in_their_entry() {
    let (problems, path) = load(&format!(
        "[[plugins]]\nname = \"a\"\npath = \"/a.so\"\nsha256 = \"{HASH}\"\n\
         intervall = \"5s\"\n\n\
         [[plugins]]\nallow_unpinned = true\n\n\
         [[plugins]]\nname = \"c\"\npath = \"/c.so\"\nsha256 = \"{HASH}\"\n\
         config.gain = nan\n"
    ))
    .unwrap_err();
    let found = found(&problems, &path);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1),
        ("plugins[0].intervall", 7)
    );
    assert!(
        found[0]
            .2
            .starts_with("unknown key; the keys allowed here are `name`, `path`"),
        "{}",
        found[0].2
    );
    assert_eq!((found[1].0.as_str(), found[1].1), ("plugins[1].name", 9));
    assert!(
        found[1].2.starts_with("required key is missing"),
        "{}",
        found[1].2
    );
    assert_eq!((found[2].0.as_str(), found[2].1), ("plugins[1].path", 9));
    assert_eq!(
        (found[3].0.as_str(), found[3].1),
        ("plugins[2].config.gain", 16)
    );
    assert!(found[3].2.contains("nan and inf"), "{}", found[3].2);
}

#[test]
fn check_prints_the_plugins_and_the_printed_config_reads_back_the_same() {
    let text = format!(
        "[[plugins]]\nname = \"a\"\npath = \"/a.so\"\nsha256 = \"{HASH}\"\n\
         [plugins.config]\nrate = 3\nsince = 1979-05-27T07:32:00Z\n\n\
         [[plugins]]\nname = \"b\"\npath = \"/b.so\"\nallow_unpinned = true\n"
    );
    let first = load(&text).unwrap_or_else(|(p, _)| panic!("{p:#?}"));
    let printed = first.to_toml().unwrap();
    assert!(
        printed.contains(&format!("sha256 = \"{}\"", HASH.to_lowercase())),
        "{printed}"
    );
    assert!(printed.contains("[[plugins]]"), "{printed}");
    assert!(printed.contains("[plugins.config]"), "{printed}");
    let again = load_whole(&printed).unwrap_or_else(|(p, _)| panic!("{p:#?}\n{printed}"));
    assert_eq!(again.plugins, first.plugins);
}

#[test]
fn a_suggested_name_is_always_valid() {
    for (from, expected) in [
        ("synthetic", "synthetic"),
        ("C Good!", "c_good_"),
        ("ünïcode", "_n_code"),
        ("", "plugin"),
        (&"x".repeat(40), &"x".repeat(32)),
    ] {
        let name = PluginName::suggest(from);
        assert_eq!(name.as_str(), expected);
        assert_eq!(validate_plugin_name(name.as_str()), Ok(()));
    }
}
