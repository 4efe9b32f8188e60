//! Maps a dotted key to its line and column in the config file, using the
//! spans `toml_edit` keeps while parsing.

use std::ops::Range;
use std::path::Path;

use toml_edit::{ImDocument, Item};

use super::ConfigError;

/// The config file's text, parsed with spans.
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    doc: ImDocument<&'a str>,
}

/// Which part of an entry to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The key itself (for an unknown key).
    Key,
    /// The value, falling back to the key when the value has no span (a
    /// table implied by dotted keys).
    Value,
}

impl<'a> SourceMap<'a> {
    /// Parses `text`, read from `path`; a syntax error becomes
    /// [`ConfigError::Syntax`] with its position.
    pub(crate) fn parse(path: &Path, text: &'a str) -> Result<Self, ConfigError> {
        ImDocument::parse(text)
            .map(|doc| SourceMap { text, doc })
            .map_err(|e| {
                let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
                ConfigError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: e.message().trim().replace('\n', "; "),
                }
            })
    }

    /// The file's text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based (line, column) of `key` (dotted path segments) in the file.
    pub(crate) fn locate(&self, key: &[&str], target: Target) -> Option<(usize, usize)> {
        let span = self.span(key, target)?;
        Some(line_column(self.text(), span.start))
    }

    /// How many elements the top-level array `key` holds (`[[plugins]]`
    /// tables or an inline array); 0 when it is absent or not an array.
    pub(crate) fn array_len(&self, key: &str) -> usize {
        match self.doc.get(key) {
            Some(Item::ArrayOfTables(tables)) => tables.len(),
            Some(Item::Value(toml_edit::Value::Array(array))) => array.len(),
            _ => 0,
        }
    }

    fn span(&self, key: &[&str], target: Target) -> Option<Range<usize>> {
        let (last, parents) = key.split_last()?;
        let mut parent = self.doc.as_item();
        for segment in parents {
            parent = child(parent, segment)?;
        }
        let Some(table) = parent.as_table_like() else {
            // An element of an array: it has no key, only its own span.
            return value_span(child(parent, last)?);
        };
        let (k, item) = table.get_key_value(last)?;
        match target {
            Target::Key => k.span(),
            Target::Value => value_span(item).or_else(|| k.span()),
        }
    }
}

/// The entry `segment` names in a table, or the element it indexes in an
/// array (`[[plugins]]`, or an inline array).
fn child<'i>(item: &'i Item, segment: &str) -> Option<&'i Item> {
    match item.as_table_like() {
        Some(table) => table.get(segment),
        None => item.get(segment.parse::<usize>().ok()?),
    }
}

fn value_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        // A `[table]`'s span starts at its header.
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
[agent]
data_dir = \"/tmp\"

[modem]
port = \"sim\"
sim.time_scale = 0.5
inline = { a = 1 }

[[plugins]]
name = \"a\"

[[plugins]]
name = \"b\"
config.list = [1, { x = 2 }]
";

    fn map() -> SourceMap<'static> {
        SourceMap::parse(Path::new("x.toml"), TEXT).unwrap()
    }

    #[test]
    fn finds_values_keys_and_tables() {
        let m = map();
        assert_eq!(
            m.locate(&["agent", "data_dir"], Target::Value),
            Some((3, 12))
        );
        assert_eq!(m.locate(&["agent", "data_dir"], Target::Key), Some((3, 1)));
        assert_eq!(m.locate(&["modem"], Target::Value), Some((5, 1)));
        assert_eq!(m.locate(&["modem"], Target::Key), Some((5, 2)));
        assert_eq!(
            m.locate(&["modem", "sim", "time_scale"], Target::Value),
            Some((7, 18))
        );
        assert_eq!(m.locate(&["modem", "sim"], Target::Value), Some((7, 1)));
        assert_eq!(
            m.locate(&["modem", "inline", "a"], Target::Value),
            Some((8, 16))
        );
        assert_eq!(m.locate(&["modem", "nope"], Target::Value), None);
        assert_eq!(m.locate(&["plugins", "1"], Target::Value), Some((13, 1)));
        assert_eq!(
            m.locate(&["plugins", "1", "name"], Target::Value),
            Some((14, 8))
        );
        assert_eq!(
            m.locate(&["plugins", "0", "name"], Target::Key),
            Some((11, 1))
        );
        assert_eq!(
            m.locate(&["plugins", "1", "config", "list", "1", "x"], Target::Value),
            Some((15, 25))
        );
        assert_eq!(m.locate(&["plugins", "2"], Target::Value), None);
        assert_eq!(m.locate(&[], Target::Value), None);
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let err = SourceMap::parse(Path::new("x.toml"), "a = 1\nb = = 2\n");
        match err {
            Err(ConfigError::Syntax {
                path,
                line,
                column,
                message,
            }) => {
                assert_eq!((path.as_path(), line, column), (Path::new("x.toml"), 2, 5));
                assert!(message.contains("invalid string"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("é = 1\nab", 5), (1, 5));
        assert_eq!(line_column("é = 1\nab", 8), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }
}
