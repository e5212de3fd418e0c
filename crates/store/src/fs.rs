//! Durable local writes: temporary file, fsync, rename, fsync of the directory
//! (DESIGN §2.1 rule 4). A crash leaves either the old file or the new one, never half of one.
//!
//! Files are created with mode `0666` less the process umask, as `skopeo` and `umoci` write
//! them, so what lineage writes can be read by whoever the user's umask lets read it. The
//! temporary files of a write that was killed are removed by a later write to the same place
//! ([`sweep_stale`]).

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{Result, StoreError};

/// Prefix of temporary files lineage creates; anything with it is a leftover of an
/// interrupted write.
pub const TEMP_PREFIX: &str = ".lineage-tmp-";

/// How long a temporary file must have been left untouched before a later write removes it.
/// A live write touches its file far more often than this; a longer age only keeps garbage
/// longer.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The mode files are created with, before the kernel removes the umask's bits (tempfile's
/// own default, `0600`, would hide layouts and archives from other users and tools).
const FILE_MODE: u32 = 0o666;

/// The mode of files only their owner may read: credentials.
const PRIVATE_FILE_MODE: u32 = 0o600;

/// A new temporary file in `dir`, removed on drop unless persisted. Its mode is
/// [`FILE_MODE`] less the umask, which it keeps once persisted.
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    temp_file_with_mode(dir, FILE_MODE)
}

/// [`temp_file_in`] for a file only its owner may read or write (`0600`, whatever the
/// umask): docker's `config.json` with its credentials.
pub fn private_temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    temp_file_with_mode(dir, PRIVATE_FILE_MODE)
}

fn temp_file_with_mode(dir: &Path, mode: u32) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(std::fs::Permissions::from_mode(mode))
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

/// Write what `fill` writes to `path` atomically, through a buffer into the temporary file
/// (in `tmp_dir`, same file system): a large file is never built in memory whole.
pub fn write_atomic_with(
    tmp_dir: &Path,
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut tmp = temp_file_in(tmp_dir)?;
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut());
    fill(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| StoreError::io("write", path, e))?;
    drop(w);
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

/// Remove the leftovers of interrupted writes in `dir`: the entries named with
/// [`TEMP_PREFIX`] (files, and an archive's staging directories) in which nothing has been
/// modified for [`STALE_AFTER`] before `now`. A younger one may belong to a write in progress
/// and is kept. Returns how many were removed.
///
/// Sweeping is housekeeping for the write that calls it: a leftover that cannot be read or
/// removed is logged and skipped, never an error.
pub fn sweep_stale(dir: &Path, now: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        let Some(modified) = newest_modification(&path) else {
            continue;
        };
        if now.duration_since(modified).unwrap_or_default() < STALE_AFTER {
            continue;
        }
        let result = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        match result {
            Ok(()) => {
                tracing::debug!(path = %path.display(), "removed a stale temporary file");
                removed += 1;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file");
            }
        }
    }
    removed
}

/// The latest modification time of `path` or, for a directory, of anything inside it (an
/// archive's staging directory is in use while any file in it changes). Symbolic links are
/// not followed.
fn newest_modification(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let mut newest = meta.modified().ok()?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            if let Some(t) = newest_modification(&entry.path()) {
                newest = newest.max(t);
            }
        }
    }
    Some(newest)
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

    fn age(path: &Path, by: Duration) {
        let at = SystemTime::now() - by;
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(at).unwrap();
    }

    #[test]
    fn sweeps_only_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{TEMP_PREFIX}old"));
        let fresh = dir.path().join(format!("{TEMP_PREFIX}fresh"));
        let other = dir.path().join("index.json");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        age(&old, STALE_AFTER + Duration::from_secs(60));
        age(&other, STALE_AFTER * 10);
        // A staging directory is stale only when nothing inside it changed recently.
        let idle = dir.path().join(format!("{TEMP_PREFIX}idle"));
        let busy = dir.path().join(format!("{TEMP_PREFIX}busy"));
        for d in [&idle, &busy] {
            std::fs::create_dir_all(d.join("blobs")).unwrap();
            std::fs::write(d.join("blobs").join("b"), b"x").unwrap();
            age(&d.join("blobs").join("b"), STALE_AFTER * 2);
        }
        std::fs::write(busy.join("blobs").join("new"), b"x").unwrap();
        for d in [&idle, &busy] {
            let at = SystemTime::now() - STALE_AFTER * 2;
            for p in [d.clone(), d.join("blobs")] {
                std::fs::File::open(&p).unwrap().set_modified(at).unwrap();
            }
        }

        assert_eq!(sweep_stale(dir.path(), SystemTime::now()), 2);
        assert!(!old.exists() && !idle.exists());
        assert!(fresh.exists() && busy.exists() && other.exists());
    }

    #[test]
    fn files_honour_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.json");
        write_atomic(dir.path(), &target, b"x").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        let umask = crate::testing::umask();
        // Under the usual umask, 022, this is 0644 where tempfile alone gives 0600.
        assert_eq!(mode, 0o666 & !umask, "umask {umask:o}");
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
