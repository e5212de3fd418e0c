//! Durable local writes: temporary file, fsync, rename, fsync of the directory
//! (DESIGN §2.1 rule 4). A crash leaves either the old file or the new one, never half of one.

use std::io::Write;
use std::path::Path;

use crate::error::{Result, StoreError};

/// Prefix of temporary files lineage creates; anything with it is a leftover of an
/// interrupted write.
pub const TEMP_PREFIX: &str = ".lineage-tmp-";

/// A new temporary file in `dir`, removed on drop unless persisted.
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| StoreError::io("create a temporary file in", dir, e))
}

/// Write `data` to `path` atomically, with the temporary file in `tmp_dir` (same file system).
pub fn write_atomic(tmp_dir: &Path, path: &Path, data: &[u8]) -> Result<()> {
    let mut tmp = temp_file_in(tmp_dir)?;
    tmp.write_all(data)
        .map_err(|e| StoreError::io("write", tmp.path(), e))?;
    persist(tmp, path)
}

/// fsync `tmp`, rename it to `path`, and fsync `path`'s directory.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    tmp.as_file()
        .sync_all()
        .map_err(|e| StoreError::io("sync", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| StoreError::io("rename a temporary file to", path, e.error))?;
    sync_dir(path)
}

/// Run blocking file system work off the async workers; a task that panicked or was
/// cancelled becomes a store error.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Backend {
            kind: crate::ErrorKind::Other,
            message: format!("a file system task failed: {e}"),
            source: None,
        })?
}

/// fsync the directory holding `path`, so a rename into it survives a crash.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    let d = std::fs::File::open(&dir).map_err(|e| StoreError::io("open", &dir, e))?;
    d.sync_all().map_err(|e| StoreError::io("sync", &dir, e))
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_the_current_directory_for_a_bare_file_name() {
        assert!(sync_dir(Path::new("file-in-cwd.json")).is_ok());
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.json");
        write_atomic(dir.path(), &target, b"one").unwrap();
        write_atomic(dir.path(), &target, b"two").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }
}
