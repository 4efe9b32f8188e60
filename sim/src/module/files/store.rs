//! The files themselves, as the module's NVM holds them: names to bytes,
//! within the file system's limits. Pure data; `NvmImage::files` is one.
//!
//! On disk (the NVM JSON) each file's bytes are hex text, so any byte
//! survives; a hand-edited entry that is not hex, or a name the module
//! could not have created, is dropped with a warning when NVM is loaded.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[lib]` the longest file name (ubxlib: 63 characters on LEXI-R10).
pub const MAX_NAME: usize = 63;
/// `[model]` the file system's size: what all files together may hold.
pub const CAPACITY: usize = 1024 * 1024;
/// `[model]` the most files the file system holds.
pub const MAX_FILES: usize = 64;

/// The file system is full (bytes or files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Every file of the module's file system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStore {
    files: BTreeMap<String, Vec<u8>>,
}

impl FileStore {
    /// `[model]` 1 to [`MAX_NAME`] printable ASCII characters, no quote, no
    /// path separator (the module's file system is flat).
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| (0x20..0x7F).contains(&b) && !matches!(b, b'"' | b'/' | b'\\'))
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Names in the order `+ULSTFILE=0` lists them `[model]` (byte order).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn used(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }

    pub fn free(&self) -> usize {
        CAPACITY.saturating_sub(self.used())
    }

    /// Creates `name` empty unless it exists.
    pub fn create(&mut self, name: &str) -> Result<(), Full> {
        if self.files.contains_key(name) {
            return Ok(());
        }
        if self.files.len() >= MAX_FILES {
            return Err(Full);
        }
        self.files.insert(name.to_string(), Vec::new());
        Ok(())
    }

    /// Writes `data` at `pos` (overwriting, then extending; `pos` at most
    /// the size); returns the file's new size. Nothing changes when it
    /// would not fit.
    pub fn write_at(&mut self, name: &str, pos: usize, data: &[u8]) -> Result<usize, Full> {
        let old = self.files.get(name).map_or(0, Vec::len);
        let pos = pos.min(old);
        let new_len = old.max(pos + data.len());
        if new_len - old > self.free() {
            return Err(Full);
        }
        self.create(name)?;
        let Some(file) = self.files.get_mut(name) else {
            return Err(Full);
        };
        file.resize(new_len, 0);
        file[pos..pos + data.len()].copy_from_slice(data);
        Ok(new_len)
    }

    /// Replaces `name`'s content with `data` (creating it).
    pub fn replace(&mut self, name: &str, data: Vec<u8>) -> Result<(), Full> {
        let old = self.files.get(name).map_or(0, Vec::len);
        if data.len() > self.free() + old {
            return Err(Full);
        }
        self.create(name)?;
        self.files.insert(name.to_string(), data);
        Ok(())
    }

    /// True if it existed.
    pub fn remove(&mut self, name: &str) -> bool {
        self.files.remove(name).is_some()
    }

    /// Drops what the module could not have stored: bad names, files past
    /// the limits (in name order).
    pub fn sanitize(&mut self) {
        let before = self.files.len();
        self.files.retain(|name, _| Self::valid_name(name));
        let mut used = 0usize;
        let mut kept = 0usize;
        self.files.retain(|_, data| {
            used += data.len();
            kept += 1;
            used <= CAPACITY && kept <= MAX_FILES
        });
        if self.files.len() != before {
            tracing::warn!("NVM held files the module's file system cannot have; dropped them");
        }
    }
}

impl Serialize for FileStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let as_hex: BTreeMap<&str, String> = self
            .files
            .iter()
            .map(|(name, data)| (name.as_str(), to_hex(data)))
            .collect();
        as_hex.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FileStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let as_hex = BTreeMap::<String, String>::deserialize(deserializer)?;
        let mut files = BTreeMap::new();
        for (name, hex) in as_hex {
            match crate::module::decode_hex(&hex) {
                Some(data) => {
                    files.insert(name, data);
                }
                None => tracing::warn!(%name, "NVM holds a file that is not hex; dropped it"),
            }
        }
        Ok(FileStore { files })
    }
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_overwrite_then_extend_and_respect_the_capacity() {
        let mut fs = FileStore::default();
        assert_eq!(fs.write_at("a", 0, b"hello world"), Ok(11));
        assert_eq!(fs.write_at("a", 6, b"there!"), Ok(12));
        assert_eq!(fs.get("a"), Some(&b"hello there!"[..]));
        let big = vec![0u8; CAPACITY];
        assert_eq!(fs.write_at("b", 0, &big), Err(Full));
        assert!(!fs.contains("b"), "a failed write creates nothing");
        assert_eq!(fs.free(), CAPACITY - 12);
        assert!(fs.replace("a", vec![1; CAPACITY]).is_ok());
        assert_eq!(fs.free(), 0);
    }

    #[test]
    fn names_follow_the_limits() {
        assert!(FileStore::valid_name("result.txt"));
        assert!(FileStore::valid_name(&"n".repeat(MAX_NAME)));
        for bad in ["", "a\"b", "dir/x", "tab\there", &"n".repeat(MAX_NAME + 1)] {
            assert!(!FileStore::valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn any_byte_round_trips_through_json_and_bad_entries_are_dropped() {
        let mut fs = FileStore::default();
        fs.replace("bin", (0..=255).collect()).unwrap();
        let json = serde_json::to_string(&fs).unwrap();
        assert_eq!(serde_json::from_str::<FileStore>(&json).unwrap(), fs);
        let mut loaded: FileStore =
            serde_json::from_str(r#"{"ok":"6869","odd":"abc","bad/name":"00"}"#).unwrap();
        loaded.sanitize();
        assert_eq!(loaded.names().collect::<Vec<_>>(), vec!["ok"]);
        assert_eq!(loaded.get("ok"), Some(&b"hi"[..]));
    }
}
