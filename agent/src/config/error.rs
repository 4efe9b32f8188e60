//! What can go wrong while loading the configuration, said so that a person
//! can fix it: every problem names its key, where the value came from and,
//! for the file, the line and column.

use std::fmt;
use std::path::PathBuf;

/// Loading the configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file does not exist.
    #[error("config file {} not found", path.display())]
    NotFound {
        /// The path that was tried.
        path: PathBuf,
    },

    /// The config file exists but could not be read (the reason is the
    /// error's `source()`).
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: TOML syntax error: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },

    /// The file parsed, but keys or values (from the file or the
    /// environment) are wrong. Holds every problem found, not only the first,
    /// down the file first, then the environment, then missing keys.
    #[error("{}", ProblemList { path, problems })]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The problems.
        problems: Vec<Problem>,
    },
}

/// One wrong key or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The full dotted key, e.g. `modem.baud`.
    pub key: String,
    /// Where the offending value came from.
    pub origin: Origin,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file, with the 1-based position of the key or value when
    /// it could be found.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: Option<usize>,
        /// 1-based column, in characters.
        column: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// Its exact name, e.g. `EDGE_AGENT_MODEM__BAUD`.
        var: String,
    },
    /// Nowhere: a required key that neither the file nor the environment sets.
    NotSet,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, column } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                    if let Some(column) = column {
                        write!(f, ":{column}")?;
                    }
                }
                Ok(())
            }
            Origin::Env { var } => write!(f, "environment variable {var}"),
            Origin::NotSet => f.write_str("not set"),
        }
    }
}

impl fmt::Display for Problem {
    /// `<origin>: <key>: <message>`, the origin first so that editors and
    /// terminals can jump to `file:line:column`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::NotSet => write!(f, "{}: {}", self.key, self.message),
            _ => write!(f, "{}: {}: {}", self.origin, self.key, self.message),
        }
    }
}

struct ProblemList<'a> {
    path: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid configuration {}: {n} problem{}",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for problem in self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}
