//! A scratch directory per test.

use std::fs;
use std::path::{Path, PathBuf};

/// A scratch directory (canonical path, removed on drop) for one test.
pub struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    /// A new scratch directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("lineage-interop-")
            .tempdir()
            .expect("creating a temporary directory");
        let path = fs::canonicalize(dir.path()).expect("canonicalizing the temp dir");
        Self { _dir: dir, path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}
