//! File + environment → [`Config`], reporting every problem at once.
//!
//! 1. Read the file (a missing file is its own error) and the drop-ins of
//!    `conf.d/` beside it (`files.rs`), and parse each with `toml_edit`, which
//!    keeps spans (a syntax error stops here, with its file and line).
//! 2. Merge them in figment, in that order, `[[plugins]]` entries appended,
//!    then the `EDGE_AGENT_*` variables, which win. Every value keeps a tag
//!    naming its provider, and so its file.
//! 3. Deserialize. Serde stops at the first error, so after each error the
//!    offending value is removed and deserialization runs again; each round
//!    removes one value, so this ends, with every error collected. Validation
//!    lives in the value types' `Deserialize`, so a bad baud rate is reported
//!    the same way as a wrong type.
//! 4. Checks that need the whole picture: the required `modem.port`,
//!    `modem.sim.nvm_dir` derived from `agent.data_dir`, and the rules across
//!    `[[plugins]]` keys and entries (`plugins.rs`), across the
//!    `[modem.power.wake]` keys (`power.rs`), `modem.power.usb_off` against
//!    `modem.port` (`power.rs`), across `[doorbell]` keys (`doorbell.rs`),
//!    and across the `[uplink]` tables (`load/uplink.rs`: the broker, the
//!    HTTP transport, the TLS tables).
//!
//! Keys inside arrays of tables are named with their index, as a person
//! counts entries in the file from 0: `plugins[1].sha256`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use figment::error::Kind;
use figment::value::Value;
use figment::Figment;

use super::env::{self, EnvSource};
use super::files::{self, Document, Files};
use super::locate::Target;
use super::{env_var_for, Config, ConfigError, Origin, Problem, MASK, SIM_NVM_SUBDIR};

mod uplink;

/// A loaded configuration and where its values came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    /// The validated settings.
    pub config: Config,
    /// The config file read.
    pub path: PathBuf,
    /// The drop-in directory looked in (`conf.d/` beside `path`); `None`
    /// for a configuration given as text.
    pub drop_in_dir: Option<PathBuf>,
    /// The drop-ins read from it, in the order they were merged.
    pub drop_ins: Vec<PathBuf>,
    /// The keys that environment variables set, in variable-name order.
    pub env_overrides: Vec<EnvOverride>,
    /// Defaults chosen from other keys, each with why (e.g. how deep the
    /// module may sleep without a wake action); printed by `check`.
    pub chosen: Vec<String>,
}

/// A key set by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvOverride {
    /// Dotted key, e.g. `modem.baud`.
    pub key: String,
    /// The variable, e.g. `EDGE_AGENT_MODEM__BAUD`.
    pub var: String,
}

impl Config {
    /// Loads `path` merged with the process's `EDGE_AGENT_*` environment
    /// variables, which override the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::load_with_env(path, std::env::vars_os()).map(|loaded| loaded.config)
    }

    /// Loads `path` and the drop-ins of the `conf.d/` directory beside it,
    /// merged with the `EDGE_AGENT_*` variables among `env` (name, value)
    /// pairs instead of the process environment: for tests, and for callers
    /// that want to know which keys came from the environment.
    pub fn load_with_env<I, K, V>(
        path: impl AsRef<Path>,
        env: I,
    ) -> Result<LoadedConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let path = path.as_ref();
        let main = Document::read(path)?;
        let dir = files::drop_in_dir(path);
        let drop_ins = files::drop_ins(&dir)?;
        Config::load_documents(main, drop_ins, Some(dir), env)
    }

    /// Loads a configuration given as `text` (one built into the binary),
    /// named `path` in messages, merged with the `EDGE_AGENT_*` variables
    /// among `env`. No drop-ins are read.
    pub fn load_text_with_env<I, K, V>(
        path: impl AsRef<Path>,
        text: &str,
        env: I,
    ) -> Result<LoadedConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let main = Document {
            path: path.as_ref().to_path_buf(),
            text: text.to_owned(),
        };
        Config::load_documents(main, Vec::new(), None, env)
    }

    /// The main file, then each drop-in (its `[[plugins]]` entries appended),
    /// then the environment, into a [`LoadedConfig`] or every problem.
    fn load_documents<I, K, V>(
        main: Document,
        drop_ins: Vec<Document>,
        drop_in_dir: Option<PathBuf>,
        env: I,
    ) -> Result<LoadedConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let path = main.path.clone();
        let drop_in_paths: Vec<PathBuf> = drop_ins.iter().map(|d| d.path.clone()).collect();
        let documents: Vec<Document> = std::iter::once(main).chain(drop_ins).collect();
        let files = Files::parse(&documents)?;
        let (env, mut problems) = EnvSource::new(env);
        let figment = files::merged(&documents).merge(env.clone());
        let sources = Sources {
            path: &path,
            files: &files,
            env: &env,
            figment: &figment,
        };

        let mut chosen = Vec::new();
        let config = match figment.find_value("") {
            Ok(mut value) => deserialize_all(&mut value, &sources, &mut problems, &mut chosen),
            Err(errors) => {
                problems.extend(errors.into_iter().map(|e| sources.provider_problem(&e)));
                None
            }
        };
        match config {
            Some(config) if problems.is_empty() => Ok(LoadedConfig {
                config,
                path,
                drop_in_dir,
                drop_ins: drop_in_paths,
                env_overrides: env
                    .overrides()
                    .map(|(key, var)| EnvOverride {
                        key: key.to_owned(),
                        var: var.to_owned(),
                    })
                    .collect(),
                chosen,
            }),
            _ => {
                // In the order a person fixes them: down the files in the order
                // they were merged, then the environment, then what is missing.
                problems.sort_by_key(|p| match &p.origin {
                    Origin::File { path, line, column } => (
                        0,
                        files.rank(path),
                        line.unwrap_or(0),
                        column.unwrap_or(0),
                        String::new(),
                    ),
                    Origin::Env { var } => (1, 0, 0, 0, var.clone()),
                    Origin::NotSet => (2, 0, 0, 0, p.key.clone()),
                });
                Err(ConfigError::Invalid { path, problems })
            }
        }
    }

    /// The configuration as TOML, defaults included, secrets as `"***"`.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

impl LoadedConfig {
    /// What `edge-agent check` prints: a comment naming the file, the keys
    /// the environment set and the drop-ins read, then [`Config::to_toml`].
    pub fn effective_toml(&self) -> Result<String, toml::ser::Error> {
        let from_env = if self.env_overrides.is_empty() {
            String::from("none")
        } else {
            self.env_overrides
                .iter()
                .map(|o| format!("{} ({})", o.key, o.var))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen: String = self
            .chosen
            .iter()
            .map(|why| format!("# Chosen: {why}.\n"))
            .collect();
        let drop_ins = files::describe_drop_ins(self.drop_in_dir.as_deref(), &self.drop_ins);
        Ok(format!(
            "# Effective configuration from {}, defaults filled in, secrets shown as \"{MASK}\".\n\
             # Set by environment variables: {from_env}.\n{drop_ins}{chosen}\n{}",
            self.path.display(),
            self.config.to_toml()?
        ))
    }
}

/// Deserializes `value`, removing each offending value and retrying, until
/// it succeeds or an error cannot be pinned to a value. Returns the config
/// only when no error was found.
fn deserialize_all(
    value: &mut Value,
    sources: &Sources<'_>,
    problems: &mut Vec<Problem>,
    chosen: &mut Vec<String>,
) -> Option<Config> {
    let mut config = loop {
        match value.deserialize::<Config>() {
            Ok(config) => break config,
            Err(errors) => {
                let mut progressed = false;
                for error in errors {
                    let (key, target) = error_key(&error, value);
                    let dotted = display_key(&key, value);
                    // A required key whose bad value was removed is now
                    // "missing": it is reported once, as the bad value, and
                    // its table goes so the rest can still be checked.
                    if matches!(error.kind, Kind::MissingField(_))
                        && problems.iter().any(|p| p.key == dotted)
                    {
                        progressed |= remove(value, &key[..key.len().saturating_sub(1)]);
                        continue;
                    }
                    problems.push(Problem {
                        key: dotted,
                        origin: sources.origin(&key, value, target),
                        message: message(&error.kind),
                    });
                    progressed |= remove(value, &key);
                }
                if !progressed {
                    return None;
                }
            }
        }
    };

    // A port that was set but rejected (and so removed) is reported already.
    let port_rejected = problems.iter().any(|p| p.key == "modem.port");
    if config.modem.port.is_unset() && !port_rejected {
        problems.push(Problem {
            key: "modem.port".into(),
            origin: Origin::NotSet,
            message: format!(
                "required key is missing: set `port` in the [modem] table of {} \
                 (a device such as \"/dev/ttyUSB0\", or \"sim\" for the simulator), \
                 or set {}",
                sources.path.display(),
                env_var_for("modem.port")
            ),
        });
    }
    uplink::check(&mut config, value, sources, problems, chosen);
    let uplink = &config.uplink;
    if !uplink.interval.is_zero()
        && uplink.jitter > uplink.interval
        && !problems.iter().any(|p| p.key.starts_with("uplink.jitter"))
    {
        problems.push(Problem {
            key: "uplink.jitter".into(),
            origin: sources.origin(&["uplink".into(), "jitter".into()], value, Target::Value),
            message: format!(
                "{} is longer than uplink.interval ({}): windows would overlap their next \
                 slot; use at most the interval (a tenth of it spreads a fleet well)",
                uplink.jitter, uplink.interval
            ),
        });
    }
    super::plugins::fill_defaults(&mut config.plugins);
    for entry in super::plugins::check(&config.plugins) {
        let mut key = vec!["plugins".to_owned(), entry.index.to_string()];
        key.extend(entry.key);
        let shown = display_key(&key, value);
        // A value rejected above (and so removed) is reported already.
        if problems.iter().any(|p| p.key == shown) {
            continue;
        }
        // A key that is not in the file (a missing one, or a default that
        // clashes with another key) is placed at its entry's `[[plugins]]`.
        let origin = match sources.origin(&key, value, Target::Value) {
            Origin::NotSet => sources.origin(&key[..2], value, Target::Value),
            origin => origin,
        };
        problems.push(Problem {
            key: shown,
            origin,
            message: entry.message,
        });
    }
    for (field, message) in super::doorbell::check(&config.doorbell) {
        let key = vec!["doorbell".to_owned(), field.to_owned()];
        let shown = display_key(&key, value);
        if problems.iter().any(|p| p.key == shown) {
            continue;
        }
        // A missing key is placed at the `[doorbell]` table that needs it.
        let origin = match sources.origin(&key, value, Target::Value) {
            Origin::NotSet => sources.origin(&key[..1], value, Target::Value),
            origin => origin,
        };
        problems.push(Problem {
            key: shown,
            origin,
            message,
        });
    }
    for wake in super::power::check(&config.modem.power.wake) {
        let key: Vec<String> = ["modem", "power", "wake", wake.key]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        let shown = key.join(".");
        if problems.iter().any(|p| p.key == shown) {
            continue;
        }
        // A missing key is placed at its table, or at `kind` when the table
        // came from the environment.
        let origin = match sources.origin(&key, value, Target::Value) {
            Origin::NotSet => sources.origin(&key[..3], value, Target::Value),
            origin => origin,
        };
        problems.push(Problem {
            key: shown,
            origin,
            message: wake.message,
        });
    }
    let power = &mut config.modem.power;
    if let Some(message) = super::power::deepest_problem(power, &config.modem.port) {
        let key = ["modem", "power", "deepest"].map(str::to_owned);
        if !problems.iter().any(|p| p.key == key.join(".")) {
            problems.push(Problem {
                key: key.join("."),
                origin: sources.origin(&key, value, Target::Value),
                message,
            });
        }
    }
    if power.deepest.is_none() {
        let (deepest, why) = super::power::default_deepest(power, &config.modem.port);
        power.deepest = Some(deepest);
        chosen.push(why);
    }
    if let Some(message) = super::power::usb_off_problem(&config.modem.power, &config.modem.port) {
        let key: Vec<String> = ["modem", "power", "usb_off"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        // Left at its default, the clash is with the port: point there.
        let origin = match sources.origin(&key, value, Target::Value) {
            Origin::NotSet => {
                sources.origin(&["modem".into(), "port".into()], value, Target::Value)
            }
            origin => origin,
        };
        problems.push(Problem {
            key: key.join("."),
            origin,
            message,
        });
    }
    if config.modem.sim.nvm_dir.as_os_str().is_empty() {
        config.modem.sim.nvm_dir = config.agent.data_dir.join(SIM_NVM_SUBDIR);
    }
    problems.is_empty().then_some(config)
}

/// The full key an error is about, and what part of its entry to point at.
fn error_key(error: &figment::Error, value: &Value) -> (Vec<String>, Target) {
    let mut key = error.path.clone();
    match &error.kind {
        // figment 0.10.19 ends the path with the unknown key itself; older
        // releases ended it at the table holding it. Append the key only if
        // the path names that table.
        Kind::UnknownField(field, _) => {
            let names_table = find(value, &key)
                .and_then(Value::as_dict)
                .is_some_and(|d| d.contains_key(field));
            if names_table || key.is_empty() {
                key.push(field.clone());
            }
            (key, Target::Key)
        }
        // Raised by the table's deserializer: the path ends at the table.
        Kind::MissingField(field) => {
            key.push(field.to_string());
            (key, Target::Value)
        }
        _ => (key, Target::Value),
    }
}

/// What is wrong, in words for the person editing the file.
fn message(kind: &Kind) -> String {
    let one_of = |names: &[&str]| {
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        Kind::UnknownField(_, expected) => {
            format!(
                "unknown key; the keys allowed here are {}",
                one_of(expected)
            )
        }
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value `{found}`; expected one of {}",
                one_of(expected)
            )
        }
        Kind::MissingField(_) => "required key is missing".into(),
        Kind::Message(message) => message.clone(),
        other => other.to_string(),
    }
}

/// The value at `key`, through tables and arrays (an array's segment is
/// the element's index). figment's own `find_ref` stops at arrays.
fn find<'v>(value: &'v Value, key: &[String]) -> Option<&'v Value> {
    key.iter().try_fold(value, |node, segment| match node {
        Value::Dict(_, dict) => dict.get(segment),
        Value::Array(_, items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

/// `key` as a person reads it: dotted, with `[i]` for an array's element
/// (`plugins[1].sha256`).
fn display_key(key: &[String], value: &Value) -> String {
    let mut text = String::new();
    let mut node = Some(value);
    for segment in key {
        match node {
            Some(Value::Array(_, items)) => {
                text.push('[');
                text.push_str(segment);
                text.push(']');
                node = segment.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(segment);
                node = match other {
                    Some(Value::Dict(_, dict)) => dict.get(segment),
                    _ => None,
                };
            }
        }
    }
    text
}

/// Removes the value at `key`; false if there is none. An array's element
/// is never removed alone (the elements after it would change index, and
/// with it the keys of the problems still to be found): the whole array
/// goes instead.
fn remove(value: &mut Value, key: &[String]) -> bool {
    let Some((last, parents)) = key.split_last() else {
        return false;
    };
    let mut node = value;
    for (depth, segment) in parents.iter().enumerate() {
        let is_last_parent = depth + 1 == parents.len();
        node = match node {
            Value::Dict(_, dict) => {
                if is_last_parent && matches!(dict.get(segment), Some(Value::Array(..))) {
                    let is_element = last.parse::<usize>().is_ok();
                    if is_element {
                        return dict.remove(segment).is_some();
                    }
                }
                match dict.get_mut(segment) {
                    Some(inner) => inner,
                    None => return false,
                }
            }
            Value::Array(_, items) => match segment.parse::<usize>().ok() {
                Some(i) if i < items.len() => &mut items[i],
                _ => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Dict(_, dict) => dict.remove(last).is_some(),
        _ => false,
    }
}

/// Everything needed to say where a value came from.
struct Sources<'a> {
    /// The main file, named in messages about keys that are not set.
    path: &'a Path,
    files: &'a Files<'a>,
    env: &'a EnvSource,
    figment: &'a Figment,
}

impl Sources<'_> {
    /// The origin of the value at `key`, as the merged `value` holds it.
    fn origin(&self, key: &[String], value: &Value, target: Target) -> Origin {
        let dotted = key.join(".");
        let Some(found) = find(value, key).filter(|_| !key.is_empty()) else {
            return Origin::NotSet;
        };
        let metadata = self.figment.get_metadata(found.tag());
        if metadata.is_some_and(|md| md.name == env::PROVIDER_NAME) {
            return self.env_origin(&dotted);
        }
        let path = metadata
            .and_then(|md| md.source.as_ref())
            .and_then(|source| source.file_path())
            .unwrap_or(self.path);
        let position = self.files.locate(path, key, target);
        Origin::File {
            path: path.to_path_buf(),
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
        }
    }

    /// The variable that set `key` (or the table holding it).
    fn env_origin(&self, key: &str) -> Origin {
        let var = self
            .env
            .var_for(key)
            .map_or_else(|| env_var_for(key), str::to_owned);
        Origin::Env { var }
    }

    /// A provider failed outright. Not expected: the file was parsed already
    /// and the environment provider cannot fail; kept so that nothing is lost.
    fn provider_problem(&self, error: &figment::Error) -> Problem {
        let key = error.path.join(".");
        let from_env = error
            .metadata
            .as_ref()
            .is_some_and(|md| md.name == env::PROVIDER_NAME);
        Problem {
            origin: if from_env {
                self.env_origin(&key)
            } else {
                let path = error
                    .metadata
                    .as_ref()
                    .and_then(|md| md.source.as_ref())
                    .and_then(|source| source.file_path())
                    .unwrap_or(self.path);
                Origin::File {
                    path: path.to_path_buf(),
                    line: None,
                    column: None,
                }
            },
            key,
            message: error.kind.to_string(),
        }
    }
}
