//! The files a configuration is read from: the main file, then the drop-ins
//! of the `conf.d/` directory beside it (`*.toml`, in file-name order), so
//! a plugin package can install its own pinned `[[plugins]]` entry without
//! editing the main file.
//!
//! Each file is parsed with spans ([`SourceMap`]) and offered to figment as
//! a provider that names its file, so every value keeps where it came from.
//! A drop-in's keys replace the keys before them, as a later file does in
//! systemd's drop-ins, except `[[plugins]]`: its entries are appended.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};

use super::locate::{SourceMap, Target};
use super::ConfigError;

/// The drop-in directory's name, beside the main file
/// (`/etc/edge-agent/conf.d/` for the default path).
pub const DROP_IN_DIR: &str = "conf.d";

/// The key whose entries drop-ins append rather than replace.
const APPENDED: &str = "plugins";

/// The drop-in directory of the config file `main`.
pub fn drop_in_dir(main: &Path) -> PathBuf {
    main.parent().unwrap_or(Path::new("")).join(DROP_IN_DIR)
}

/// A config file's path and text.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

impl Document {
    /// Reads `path`; a missing file is [`ConfigError::NotFound`].
    pub(crate) fn read(path: &Path) -> Result<Document, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Ok(Document {
            path: path.to_path_buf(),
            text,
        })
    }
}

/// The drop-ins in `dir`, in file-name order: regular files (or links to
/// them) named `*.toml`. Hidden files are left out, as an editor's
/// `.#name.toml` lock files must be; so is everything else (a package
/// manager's `name.toml.dpkg-new`, an editor's `name.toml~`). No directory
/// means no drop-ins.
pub(crate) fn drop_ins(dir: &Path) -> Result<Vec<Document>, ConfigError> {
    let unreadable = |source| ConfigError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(unreadable)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !name.ends_with(".toml") || !path.is_file() {
            continue;
        }
        paths.push(path);
    }
    paths.sort();
    paths.iter().map(|path| Document::read(path)).collect()
}

/// The documents in figment, in order: the main file whole, then each
/// drop-in's keys replacing and its `[[plugins]]` entries appended.
pub(crate) fn merged(documents: &[Document]) -> Figment {
    let mut figment = Figment::new();
    for (i, document) in documents.iter().enumerate() {
        figment = if i == 0 {
            figment.merge(FileProvider {
                document,
                part: Part::Whole,
            })
        } else {
            figment
                .merge(FileProvider {
                    document,
                    part: Part::Replacing,
                })
                .admerge(FileProvider {
                    document,
                    part: Part::Appended,
                })
        };
    }
    figment
}

/// The comment line of `edge-agent check` that names the drop-ins read.
pub(crate) fn describe_drop_ins(dir: Option<&Path>, drop_ins: &[PathBuf]) -> String {
    match dir {
        None => String::from("# Drop-ins: none (a built-in configuration).\n"),
        Some(dir) if drop_ins.is_empty() => {
            format!("# Drop-ins read from {}: none.\n", dir.display())
        }
        Some(dir) => {
            let names: Vec<String> = drop_ins
                .iter()
                .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
                .collect();
            format!(
                "# Drop-ins read from {}, merged in this order: {}.\n",
                dir.display(),
                names.join(", ")
            )
        }
    }
}

/// Which of a file's keys a provider offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Everything: the main file.
    Whole,
    /// All but the `[[plugins]]` entries: a drop-in, merged (replacing).
    Replacing,
    /// Only the `[[plugins]]` entries: a drop-in, admerged (appended).
    Appended,
}

/// One file's keys as a figment provider whose metadata names the file.
#[derive(Debug)]
struct FileProvider<'a> {
    document: &'a Document,
    part: Part,
}

impl Provider for FileProvider<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named("config file").source(Source::File(self.document.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = Toml::string(&self.document.text).data()?;
        for dict in data.values_mut() {
            // An entry list that is not an array is a mistake the main part
            // reports; it is never appended.
            let appended = matches!(dict.get(APPENDED), Some(Value::Array(..)));
            match self.part {
                Part::Whole => {}
                Part::Replacing if appended => {
                    dict.remove(APPENDED);
                }
                Part::Replacing => {}
                Part::Appended => dict.retain(|key, _| key == APPENDED && appended),
            }
        }
        Ok(data)
    }
}

/// The files read, parsed with spans, in the order they were merged.
#[derive(Debug)]
pub(crate) struct Files<'a> {
    entries: Vec<Entry<'a>>,
}

#[derive(Debug)]
struct Entry<'a> {
    path: &'a Path,
    map: SourceMap<'a>,
    /// How many `[[plugins]]` entries the files before this one hold: this
    /// file's entry `i` is entry `plugins_before + i` of the merged list.
    plugins_before: usize,
}

impl<'a> Files<'a> {
    /// Parses every document; the first syntax error stops with its file
    /// and line.
    pub(crate) fn parse(documents: &'a [Document]) -> Result<Files<'a>, ConfigError> {
        let mut entries = Vec::with_capacity(documents.len());
        let mut plugins_before = 0;
        for document in documents {
            let map = SourceMap::parse(&document.path, &document.text)?;
            let own = map.array_len(APPENDED);
            entries.push(Entry {
                path: &document.path,
                map,
                plugins_before,
            });
            plugins_before += own;
        }
        Ok(Files { entries })
    }

    /// Where in file `path` the merged `key` is: 1-based (line, column).
    pub(crate) fn locate(
        &self,
        path: &Path,
        key: &[String],
        target: Target,
    ) -> Option<(usize, usize)> {
        let entry = self.entries.iter().find(|e| e.path == path)?;
        let mut segments: Vec<String> = key.to_vec();
        if let [first, index, ..] = segments.as_mut_slice() {
            if first == APPENDED {
                let merged: usize = index.parse().ok()?;
                *index = merged.checked_sub(entry.plugins_before)?.to_string();
            }
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        entry.map.locate(&segments, target)
    }

    /// The position of `path` in the merge order (the main file is 0), for
    /// sorting problems down the files.
    pub(crate) fn rank(&self, path: &Path) -> usize {
        self.entries
            .iter()
            .position(|e| e.path == path)
            .unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{Config, ConfigError, LoadedConfig, Origin, Problem};

    const NO_ENV: [(&str, &str); 0] = [];

    /// A main file and its `conf.d/` drop-ins (name, text) in a temporary
    /// directory; returns the directory and the main file's path.
    fn setup(main: &str, drop_ins: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, main).unwrap();
        let conf_d = dir.path().join("conf.d");
        std::fs::create_dir(&conf_d).unwrap();
        for (name, text) in drop_ins {
            std::fs::write(conf_d.join(name), text).unwrap();
        }
        (dir, path)
    }

    fn loaded(path: &Path, env: &[(&str, &str)]) -> LoadedConfig {
        Config::load_with_env(path, env.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn problems(path: &Path) -> Vec<Problem> {
        match Config::load_with_env(path, NO_ENV) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    fn plugin(name: &str) -> String {
        format!(
            "\n[[plugins]]\nname = \"{name}\"\npath = \"/p/{name}.so\"\nallow_unpinned = true\n"
        )
    }

    #[test]
    fn drop_ins_merge_in_name_order_after_the_main_file_and_append_plugin_entries() {
        let main = format!(
            "[agent]\ndevice_id = \"main\"\n\n[modem]\nport = \"/dev/ttyUSB0\"\n{}",
            plugin("a")
        );
        let twenty = format!("[agent]\ndevice_id = \"twenty\"\n{}", plugin("c"));
        let ten = format!(
            "[agent]\ndevice_id = \"ten\"\n\n[modem]\nbaud = 9600\n{}",
            plugin("b")
        );
        let (dir, path) = setup(
            &main,
            &[
                ("20-c.toml", &twenty),
                ("10-b.toml", &ten),
                // Not drop-ins: each would be an error if read.
                ("README", "not toml"),
                ("30-d.toml.dpkg-new", "not toml"),
                (".#40-e.toml", "not toml"),
            ],
        );
        let loaded = loaded(&path, &[]);
        let config = &loaded.config;
        assert_eq!(
            config.agent.device_id.as_ref().map(|d| d.as_str()),
            Some("twenty")
        );
        assert_eq!(config.modem.baud.get(), 9_600);
        let names: Vec<&str> = config.plugins.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let conf_d = dir.path().join("conf.d");
        assert_eq!(loaded.drop_in_dir.as_deref(), Some(conf_d.as_path()));
        assert_eq!(
            loaded.drop_ins,
            [conf_d.join("10-b.toml"), conf_d.join("20-c.toml")]
        );
        let printed = loaded.effective_toml().unwrap();
        assert!(
            printed.contains(&format!(
                "# Drop-ins read from {}, merged in this order: 10-b.toml, 20-c.toml.\n",
                conf_d.display()
            )),
            "{printed}"
        );
    }

    #[test]
    fn a_problem_in_a_drop_in_names_that_file_and_its_own_line() {
        let main = format!("[modem]\nport = \"/dev/ttyUSB0\"\n{}", plugin("a"));
        let (dir, path) = setup(
            &main,
            &[(
                "10-b.toml",
                "[queue]\nmax_bytes = \"lots\"\n\n[[plugins]]\nname = \"b\"\npath = \"/p/b.so\"\n\
                 sha256 = \"abc\"\n",
            )],
        );
        let drop_in = dir.path().join("conf.d/10-b.toml");
        let found: Vec<(String, Origin)> = problems(&path)
            .into_iter()
            .map(|p| (p.key, p.origin))
            .collect();
        let at = |line, column| Origin::File {
            path: drop_in.clone(),
            line: Some(line),
            column: Some(column),
        };
        assert_eq!(
            found,
            [
                ("queue.max_bytes".to_owned(), at(2, 13)),
                // Entry 0 of the drop-in is entry 1 of the merged list.
                ("plugins[1].sha256".to_owned(), at(7, 10)),
            ]
        );
    }

    #[test]
    fn a_syntax_error_in_a_drop_in_names_that_file_and_line() {
        let (dir, path) = setup(
            "[modem]\nport = \"/dev/ttyUSB0\"\n",
            &[("10-b.toml", "[agent]\ndevice_id = \n")],
        );
        match Config::load_with_env(&path, NO_ENV) {
            Err(ConfigError::Syntax { path, line, .. }) => {
                assert_eq!(path, dir.path().join("conf.d/10-b.toml"));
                assert_eq!(line, 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_environment_wins_over_the_drop_ins() {
        let (_dir, path) = setup(
            "[modem]\nport = \"/dev/ttyUSB0\"\n",
            &[("10-b.toml", "[modem]\nbaud = 9600\n")],
        );
        let loaded = loaded(&path, &[("EDGE_AGENT_MODEM__BAUD", "19200")]);
        assert_eq!(loaded.config.modem.baud.get(), 19_200);
    }

    #[test]
    fn without_a_drop_in_directory_the_main_file_is_read_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[modem]\nport = \"/dev/ttyUSB0\"\n").unwrap();
        let loaded = loaded(&path, &[]);
        assert!(loaded.drop_ins.is_empty());
        let printed = loaded.effective_toml().unwrap();
        assert!(
            printed.contains(&format!(
                "# Drop-ins read from {}: none.\n",
                dir.path().join("conf.d").display()
            )),
            "{printed}"
        );
    }
}
