//! A fake root for the sources' tests: a tempdir holding the few `sys/` and
//! `proc/` files a test writes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::reader::{Notice, Reader, Sample};

/// A fake `/`, removed when dropped.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes `content` at `relative` (creating its directories).
    pub fn file(&self, relative: &str, content: &str) {
        let path = self.dir.path().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// Runs one source over this tree with a fresh reader.
    pub fn collect(
        &self,
        source: impl FnOnce(&mut Reader, &Path, &mut Vec<Sample>),
    ) -> (Vec<Sample>, Vec<Notice>) {
        let mut reader = Reader::default();
        let mut samples = Vec::new();
        source(&mut reader, self.dir.path(), &mut samples);
        (samples, reader.take_notices())
    }
}
