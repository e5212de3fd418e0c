//! Unpacking and packing the tar file of an OCI archive, safely and reproducibly.

use std::io::{BufReader, Read, Seek};
use std::path::{Component, Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::fs;

/// Unpack the OCI archive at `archive` into the empty directory `into`. Only regular files
/// and directories with relative, `..`-free paths are accepted; anything else, and any entry
/// whose data runs past the end of the file, makes the archive invalid.
pub fn unpack(archive: &Path, into: &Path) -> Result<()> {
    let invalid = |message: String| StoreError::InvalidArchive {
        path: archive.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(archive).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => invalid("the file does not exist".into()),
        _ => StoreError::io("open", archive, e),
    })?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("read", archive, e))?
        .len();
    let mut magic = [0u8; 2];
    if file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b] {
        return Err(invalid(
            "the file is gzip-compressed; decompress it first (`gunzip`)".into(),
        ));
    }
    file.rewind()
        .map_err(|e| StoreError::io("read", archive, e))?;
    let mut tar = tar::Archive::new(BufReader::new(file));
    let entries = tar
        .entries_with_seek()
        .map_err(|e| invalid(format!("not a tar file: {e}")))?;
    let mut saw_layout = false;
    let mut saw_index = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            invalid(format!(
                "cannot read a tar entry (truncated or corrupt archive): {e}"
            ))
        })?;
        let raw_path = entry
            .path()
            .map_err(|e| invalid(format!("an entry has an unreadable path: {e}")))?
            .into_owned();
        let Some(rel) = safe_relative(&raw_path) else {
            return Err(invalid(format!(
                "entry `{}` escapes the archive",
                raw_path.display()
            )));
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            let dir = into.join(&rel);
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            if kind.is_pax_global_extensions()
                || kind.is_pax_local_extensions()
                || kind.is_gnu_longname()
            {
                continue;
            }
            return Err(invalid(format!(
                "entry `{}` is not a regular file or directory ({:?})",
                rel.display(),
                kind
            )));
        }
        let size = entry.size();
        if entry.raw_file_position().saturating_add(size) > len {
            return Err(invalid(format!(
                "the archive is truncated: entry `{}` needs {size} bytes past the end of the file",
                rel.display()
            )));
        }
        saw_layout |= rel == Path::new("oci-layout");
        saw_index |= rel == Path::new("index.json");
        let target = into.join(&rel);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        }
        let mut out =
            std::fs::File::create(&target).map_err(|e| StoreError::io("create", &target, e))?;
        let copied = std::io::copy(&mut entry, &mut out)
            .map_err(|e| invalid(format!("cannot read entry `{}`: {e}", rel.display())))?;
        if copied != size {
            return Err(invalid(format!(
                "the archive is truncated: entry `{}` has {copied} of {size} bytes",
                rel.display()
            )));
        }
    }
    if !saw_layout || !saw_index {
        return Err(invalid(format!(
            "no `{}` entry: not an OCI image layout archive",
            if saw_layout {
                "index.json"
            } else {
                "oci-layout"
            }
        )));
    }
    Ok(())
}

/// `path` without `.` components and leading `/`, or `None` when it climbs out with `..`.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Pack the layout directory `from` into a tar at `archive`, atomically. Entries are sorted
/// with fixed metadata, so the same layout always gives the same bytes; `oci-layout` and
/// `index.json` come first, as buildx writes them.
pub fn pack(from: &Path, archive: &Path) -> Result<()> {
    let dir = fs::parent_dir(archive);
    let tmp = fs::temp_file_in(&dir)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(tmp.as_file()));
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    let mut files = Vec::new();
    collect_files(from, from, &mut files)?;
    files.sort_by_key(|p| {
        (
            p != Path::new("oci-layout"),
            p != Path::new("index.json"),
            p.clone(),
        )
    });
    for rel in files {
        let full = from.join(&rel);
        builder
            .append_path_with_name(&full, &rel)
            .map_err(|e| StoreError::io("add to the archive", &full, e))?;
    }
    let writer = builder
        .into_inner()
        .map_err(|e| StoreError::io("write", archive, e))?;
    writer
        .into_inner()
        .map_err(|e| StoreError::io("write", archive, e.into_error()))?;
    fs::persist(tmp, archive)
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io("read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("read", dir, e))?;
        let path = entry.path();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(fs::TEMP_PREFIX)
        {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("read", &path, e))?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_sanitised() {
        assert_eq!(
            safe_relative(Path::new("./blobs/sha256/ab")),
            Some(PathBuf::from("blobs/sha256/ab"))
        );
        assert_eq!(
            safe_relative(Path::new("/index.json")),
            Some(PathBuf::from("index.json"))
        );
        assert_eq!(safe_relative(Path::new("../etc/passwd")), None);
        assert_eq!(safe_relative(Path::new("blobs/../../x")), None);
        assert_eq!(safe_relative(Path::new("./")), None);
    }
}
