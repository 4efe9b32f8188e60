//! The `EDGE_AGENT_*` environment variables as a figment provider.
//!
//! `EDGE_AGENT_MODEM__BAUD=9600` sets `modem.baud`: the prefix is dropped,
//! `__` separates nesting levels, names are lowercased. Variables come from a
//! list given by the caller (the process environment in production, a fixed
//! list in tests), so tests never race on the process environment.
//!
//! Values are read as: `true`/`false` → boolean; an integer without a leading
//! zero (`9600`, `-3`) → integer; `<digits>.<digits>` → decimal number;
//! something starting with `[` or `{` → figment's array/table syntax; anything
//! else → text (trimmed). Digit strings with a leading zero (`0123`, a PIN)
//! stay text, so no digit is lost.

use std::ffi::OsStr;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::{Origin, Problem};

/// Prefix of every variable that configures the agent.
pub const ENV_PREFIX: &str = "EDGE_AGENT_";
/// Separator between nesting levels in a variable name.
pub const ENV_SEPARATOR: &str = "__";

/// Name of the provider, to tell its values from the file's.
pub(crate) const PROVIDER_NAME: &str = "environment";

/// The environment variable that sets dotted `key`
/// (`modem.baud` → `EDGE_AGENT_MODEM__BAUD`).
pub fn env_var_for(key: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    name.push_str(&key.to_ascii_uppercase().replace('.', ENV_SEPARATOR));
    name
}

/// One `EDGE_AGENT_*` variable.
#[derive(Debug, Clone)]
struct EnvVar {
    /// Exact name, for messages.
    name: String,
    /// Dotted key it sets.
    key: String,
    /// Raw value.
    value: String,
}

/// The agent's variables out of an environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvSource {
    /// Sorted by name, so the result never depends on the environment's order.
    vars: Vec<EnvVar>,
}

impl EnvSource {
    /// Picks the `EDGE_AGENT_*` variables out of `vars`. Variables that cannot
    /// be used (a malformed name, a value that is not UTF-8, a variable that
    /// would replace a whole table another variable sets keys in) are
    /// returned as problems and left out.
    pub(crate) fn new<I, K, V>(vars: I) -> (Self, Vec<Problem>)
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut problems = Vec::new();
        let mut found = Vec::new();
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !name.as_encoded_bytes().starts_with(ENV_PREFIX.as_bytes()) {
                continue;
            }
            let lossy_name = name.to_string_lossy().into_owned();
            let problem = |message: String| Problem {
                key: key_of(&lossy_name).unwrap_or_default(),
                origin: Origin::Env {
                    var: lossy_name.clone(),
                },
                message,
            };
            let Some(key) = name.to_str().and_then(key_of) else {
                problems.push(problem(format!(
                    "the name does not map to a key: after {ENV_PREFIX}, use letters, digits \
                     and single `_` for names, `{ENV_SEPARATOR}` between levels \
                     (e.g. EDGE_AGENT_MODEM__BAUD for modem.baud)"
                )));
                continue;
            };
            let Some(value) = value.to_str() else {
                problems.push(problem("the value is not valid UTF-8".into()));
                continue;
            };
            found.push(EnvVar {
                name: lossy_name,
                key,
                value: value.to_owned(),
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));

        // `EDGE_AGENT_MODEM=x` next to `EDGE_AGENT_MODEM__BAUD=9600`: one would
        // silently discard the other.
        let shadowed: Vec<bool> = found
            .iter()
            .map(|table| found.iter().any(|inner| is_within(&inner.key, &table.key)))
            .collect();
        let mut vars = Vec::with_capacity(found.len());
        for (var, shadowed) in found.into_iter().zip(shadowed) {
            if shadowed {
                problems.push(Problem {
                    key: var.key.clone(),
                    origin: Origin::Env {
                        var: var.name.clone(),
                    },
                    message: format!(
                        "conflicts with other variables that set keys inside {}; \
                         set those keys one by one instead",
                        var.key
                    ),
                });
            } else {
                vars.push(var);
            }
        }
        (EnvSource { vars }, problems)
    }

    /// The variable that set `key`, or the table holding it.
    pub(crate) fn var_for(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .filter(|v| v.key == key || is_within(key, &v.key))
            .max_by_key(|v| v.key.len())
            .map(|v| v.name.as_str())
    }

    /// `(dotted key, variable name)` of every variable used.
    pub(crate) fn overrides(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|v| (v.key.as_str(), v.name.as_str()))
    }
}

impl Provider for EnvSource {
    fn metadata(&self) -> Metadata {
        Metadata::named(PROVIDER_NAME)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for var in &self.vars {
            let path: Vec<&str> = var.key.split('.').collect();
            insert(&mut root, &path, parse_value(&var.value));
        }
        Ok(Map::from([(Profile::Default, root)]))
    }
}

/// `EDGE_AGENT_MODEM__SIM_PIN` → `modem.sim_pin`; `None` when a level is empty
/// or holds characters other than letters, digits and `_`.
fn key_of(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_PREFIX)?;
    let segments: Vec<String> = rest
        .split(ENV_SEPARATOR)
        .map(str::to_ascii_lowercase)
        .collect();
    let valid =
        |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    segments.iter().all(valid).then(|| segments.join("."))
}

/// True when dotted `key` lies strictly inside table `table`.
fn is_within(key: &str, table: &str) -> bool {
    key.strip_prefix(table)
        .is_some_and(|rest| rest.starts_with('.'))
}

fn parse_value(raw: &str) -> Value {
    let text = raw.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    if all_digits(digits) && !leading_zero {
        if let Ok(n) = text.parse::<u64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
    }
    if let Some((whole, fraction)) = digits.split_once('.') {
        if all_digits(whole) && all_digits(fraction) {
            if let Ok(f) = text.parse::<f64>() {
                return Value::from(f);
            }
        }
    }
    match text {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ if text.starts_with(['[', '{']) => text.parse().unwrap_or_else(|e| match e {}),
        _ => Value::from(text),
    }
}

/// Sets `path` in `dict`, creating tables on the way.
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry((*first).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::value::Num;

    #[test]
    fn names_map_to_dotted_keys() {
        assert_eq!(
            key_of("EDGE_AGENT_MODEM__BAUD").as_deref(),
            Some("modem.baud")
        );
        assert_eq!(
            key_of("EDGE_AGENT_MODEM__SIM__TIME_SCALE").as_deref(),
            Some("modem.sim.time_scale")
        );
        assert_eq!(key_of("EDGE_AGENT_"), None);
        assert_eq!(key_of("EDGE_AGENT_MODEM____BAUD"), None);
        assert_eq!(key_of("EDGE_AGENT_MODEM.BAUD"), None);
        assert_eq!(
            env_var_for("modem.sim.time_scale"),
            "EDGE_AGENT_MODEM__SIM__TIME_SCALE"
        );
    }

    #[test]
    fn values_keep_leading_zeros_and_read_numbers_exactly() {
        assert!(matches!(parse_value("9600"), Value::Num(_, Num::U64(9600))));
        assert!(matches!(parse_value("-3"), Value::Num(_, Num::I64(-3))));
        assert!(matches!(parse_value("0"), Value::Num(_, Num::U64(0))));
        assert!(matches!(parse_value("0.05"), Value::Num(_, Num::F64(f)) if f == 0.05));
        assert!(matches!(parse_value("0123"), Value::String(_, s) if s == "0123"));
        assert!(matches!(parse_value(" sim "), Value::String(_, s) if s == "sim"));
        assert!(matches!(parse_value("1e3"), Value::String(_, s) if s == "1e3"));
        assert!(matches!(parse_value("true"), Value::Bool(_, true)));
        assert!(matches!(parse_value("[1, 2]"), Value::Array(_, a) if a.len() == 2));
    }

    #[test]
    fn only_prefixed_variables_are_taken_and_bad_ones_are_reported() {
        let (env, problems) = EnvSource::new([
            ("PATH", "/bin"),
            ("EDGE_AGENT_MODEM__BAUD", "9600"),
            ("EDGE_AGENT_", "x"),
            ("EDGE_AGENT_AGENT", "x"),
            ("EDGE_AGENT_AGENT__DATA_DIR", "/d"),
        ]);
        let used: Vec<_> = env.overrides().collect();
        assert_eq!(
            used,
            [
                ("agent.data_dir", "EDGE_AGENT_AGENT__DATA_DIR"),
                ("modem.baud", "EDGE_AGENT_MODEM__BAUD")
            ]
        );
        let named: Vec<_> = problems.iter().map(|p| p.origin.to_string()).collect();
        assert_eq!(
            named,
            [
                "environment variable EDGE_AGENT_",
                "environment variable EDGE_AGENT_AGENT"
            ]
        );
        assert_eq!(env.var_for("modem.baud"), Some("EDGE_AGENT_MODEM__BAUD"));
        assert_eq!(env.var_for("modem.apn"), None);
    }
}
