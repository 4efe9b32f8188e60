//! Reading sysfs and procfs files, and what a poll produces: samples plus
//! notices for the host's log. A file that is missing, unreadable or garbled
//! is skipped and reported once per path for the instance's life, so a
//! gateway without a battery does not log the same line every poll.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One value read, ready to become a reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `thermal/thermal_zone0/temp`.
    pub name: String,
    /// SenML unit; `None` for load averages and states.
    pub unit: Option<&'static str>,
    /// Already in the unit (`Cel`, not milli-°C).
    pub value: SampleValue,
    /// `("type", "x86_pkg_temp")`.
    pub tags: Vec<(&'static str, String)>,
}

/// The value of a [`Sample`].
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(String),
}

/// Something to log at the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How loud.
    pub level: NoticeLevel,
    /// The path and what is wrong with it.
    pub message: String,
}

/// How loud a [`Notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Missing or unreadable: normal on hardware without that sensor.
    Debug,
    /// Present but not what the kernel documents: worth a look.
    Warn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Problem {
    Unreadable,
    Garbled,
}

/// Reads files and remembers which paths it already reported.
#[derive(Debug, Default)]
pub struct Reader {
    reported: HashSet<(PathBuf, Problem)>,
    notices: Vec<Notice>,
}

impl Reader {
    /// The file's text without surrounding whitespace, or `None` (reported
    /// once) when it cannot be read.
    pub fn text(&mut self, path: &Path) -> Option<String> {
        match fs::read_to_string(path) {
            Ok(text) => Some(text.trim().to_string()),
            Err(e) => {
                self.report(
                    path,
                    Problem::Unreadable,
                    format!("skipping {}: {e}", path.display()),
                );
                None
            }
        }
    }

    /// The file's content parsed as `T`, or `None` (reported once) when it
    /// cannot be read or parsed.
    pub fn parsed<T: FromStr>(&mut self, path: &Path) -> Option<T> {
        let text = self.text(path)?;
        self.parse(path, &text)
    }

    /// `text` (which came from `path`, or from a field of it) parsed as `T`,
    /// or `None` (reported once per path) when it does not parse.
    pub fn parse<T: FromStr>(&mut self, path: &Path, text: &str) -> Option<T> {
        let parsed = text.parse().ok();
        if parsed.is_none() {
            self.garbled(
                path,
                &format!("{text:?} is not a {}", short_type_name::<T>()),
            );
        }
        parsed
    }

    /// Reports (once per path) that `path` holds something unexpected.
    pub fn garbled(&mut self, path: &Path, why: &str) {
        self.report(
            path,
            Problem::Garbled,
            format!("skipping {}: {why}", path.display()),
        );
    }

    /// Reports (once per path) that `path` lacks something it may lack.
    pub fn absent(&mut self, path: &Path, what: &str) {
        self.report(
            path,
            Problem::Unreadable,
            format!("skipping {}: no {what}", path.display()),
        );
    }

    /// The entries of directory `dir` as (UTF-8 name, path), sorted by
    /// name so readings come in a stable order; empty (reported once) when
    /// it cannot be listed.
    pub fn entries(&mut self, dir: &Path) -> Vec<(String, PathBuf)> {
        let listing = match fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.report(
                    dir,
                    Problem::Unreadable,
                    format!("skipping {}: {e}", dir.display()),
                );
                return Vec::new();
            }
        };
        let mut entries: Vec<_> = listing
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let path = entry.path();
                match entry.file_name().into_string() {
                    Ok(name) => Some((name, path)),
                    Err(_) => {
                        self.garbled(&path, "the name is not UTF-8");
                        None
                    }
                }
            })
            .collect();
        entries.sort();
        entries
    }

    /// The notices since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    fn report(&mut self, path: &Path, problem: Problem, message: String) {
        if self.reported.insert((path.to_path_buf(), problem)) {
            let level = match problem {
                Problem::Unreadable => NoticeLevel::Debug,
                Problem::Garbled => NoticeLevel::Warn,
            };
            self.notices.push(Notice { level, message });
        }
    }
}

fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_missing_files_are_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("status");
        fs::write(&file, "Charging\n").unwrap();
        let mut reader = Reader::default();
        assert_eq!(reader.text(&file).as_deref(), Some("Charging"));
        assert!(reader.take_notices().is_empty());

        let missing = dir.path().join("missing");
        assert_eq!(reader.text(&missing), None);
        assert_eq!(reader.text(&missing), None);
        let notices = reader.take_notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].level, NoticeLevel::Debug);
        assert!(notices[0].message.contains("missing"), "{notices:?}");
        assert_eq!(reader.text(&missing), None);
        assert!(reader.take_notices().is_empty(), "never again");
    }

    #[test]
    fn garbled_values_warn_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("temp");
        fs::write(&file, "hot\n").unwrap();
        let mut reader = Reader::default();
        assert_eq!(reader.parsed::<i64>(&file), None);
        assert_eq!(reader.parsed::<i64>(&file), None);
        let notices = reader.take_notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].level, NoticeLevel::Warn);
        assert!(
            notices[0].message.contains("\"hot\" is not a i64"),
            "{notices:?}"
        );
        fs::write(&file, "42000").unwrap();
        assert_eq!(reader.parsed::<i64>(&file), Some(42000));
    }

    #[test]
    fn entries_are_sorted_and_a_missing_directory_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b", "a", "c"] {
            fs::create_dir(dir.path().join(name)).unwrap();
        }
        let mut reader = Reader::default();
        let names: Vec<_> = reader
            .entries(dir.path())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(reader.entries(&dir.path().join("nope")).is_empty());
        assert_eq!(reader.take_notices().len(), 1);
    }
}
