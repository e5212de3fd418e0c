//! The layout's journal of untagged manifests: `.lineage-journal` beside `index.json`, one
//! descriptor (canonical JSON) per line, appended and fsynced.
//!
//! A layout opened [`with_journal`](super::LayoutStore::with_journal) (the registry of
//! `lineage serve`) records a manifest pushed without a tag (a referrer) here instead of
//! rewriting `index.json`, so the cost of such a push does not grow with the repository.
//! Every rewrite of `index.json` ([`super::index::update`]: a tag push, a delete, a
//! compaction) folds the journal in first and empties it after, so the layout other tools
//! read converges to a plain OCI image layout; readers of the whole index
//! ([`super::index::read`]) apply the journal on top of `index.json`.
//!
//! Crash safety: an entry is acknowledged only once its line, newline included, is on disk.
//! A line without its newline is a write that was cut short and never acknowledged: readers
//! ignore it and the next append cuts it off first. Replaying is idempotent (an untagged put
//! of a listed manifest changes nothing), so a crash between the rewrite of `index.json` and
//! the emptying of the journal loses nothing, and an entry whose manifest blob is gone (a
//! delete that had folded it in) is skipped.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use lineage_oci::{Descriptor, json};

use super::index::{Entry, Types};
use crate::error::{Result, StoreError};

/// The journal's file name in a layout directory. It starts with a dot: no repository name
/// nested in the directory can take it, and image-layout readers ignore it.
pub const JOURNAL: &str = ".lineage-journal";

fn path(root: &Path) -> PathBuf {
    root.join(JOURNAL)
}

/// The journal's complete entries, in order. A missing journal is empty; a last line
/// without its newline is ignored, and so (with a warning) is a line that is not a
/// descriptor.
pub fn read(root: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for_each(root, &mut |entry| out.push(entry))?;
    Ok(out)
}

/// [`read`], each entry given to `f` as it is read and held nowhere.
pub fn for_each(root: &Path, f: &mut dyn FnMut(Entry)) -> Result<()> {
    use std::io::BufRead as _;
    let p = path(root);
    let file = match std::fs::File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("read", &p, e)),
    };
    // Line by line: the journal is never held whole.
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut types = Types::new();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| StoreError::io("read", &p, e))?;
        // The end, or a last line without its newline: a write cut short.
        if line.last() != Some(&b'\n') {
            break;
        }
        let text = &line[..line.len() - 1];
        if text.is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(text)
            .map_err(|e| e.to_string())
            .and_then(|text| Entry::parse(text, &mut types).map_err(|e| e.to_string()));
        match parsed {
            Ok(e) => f(e),
            Err(error) => {
                tracing::warn!(journal = %p.display(), line = n, %error, "skipping a journal line that is not a descriptor");
            }
        }
    }
    Ok(())
}

/// The journal's size in bytes (0 when it does not exist).
pub fn size(root: &Path) -> u64 {
    std::fs::metadata(path(root)).map_or(0, |m| m.len())
}

/// Append `desc` and fsync it. The caller holds the layout's write locks
/// ([`super::index::locked`]). A torn last line left by a killed writer is cut off first,
/// and a failed append is cut off again, so every line stays whole.
pub fn append(root: &Path, desc: &Descriptor) -> Result<()> {
    let p = path(root);
    let mut line = json::to_canonical_vec(desc).map_err(|e| StoreError::InvalidInput {
        store: p.display().to_string(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(|e| StoreError::io("open", &p, e))?;
    let len = whole_length(&mut file).map_err(|e| StoreError::io("read", &p, e))?;
    let result = (|| {
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        file.write_all(&line)?;
        file.sync_data()
    })();
    if let Err(e) = result {
        let _ = file.set_len(len);
        return Err(StoreError::io("append to", &p, e));
    }
    if len == 0 {
        crate::fs::sync_dir(&p)?;
    }
    Ok(())
}

/// The length of the journal's whole lines: its length, unless the last byte is not a
/// newline, when it is the length up to the last newline.
fn whole_length(file: &mut std::fs::File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    // A torn line: find the newline before it.
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i as u64 + 1))
}

/// Empty the journal (its entries are in `index.json` now). The caller holds the layout's
/// write locks.
pub fn clear(root: &Path) -> Result<()> {
    let p = path(root);
    match std::fs::OpenOptions::new().write(true).open(&p) {
        Ok(f) => {
            f.set_len(0)
                .map_err(|e| StoreError::io("truncate", &p, e))?;
            f.sync_data().map_err(|e| StoreError::io("sync", &p, e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("open", &p, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_oci::{Digest, media_type};

    fn desc(seed: &[u8]) -> Descriptor {
        Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256(seed), 1)
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_off_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &desc(b"a")).unwrap();
        append(dir.path(), &desc(b"b")).unwrap();
        // A writer killed in the middle of its line.
        let p = dir.path().join(JOURNAL);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"digest":"sha256:"#).unwrap();
        drop(f);
        let read_back: Vec<Digest> = read(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.digest().clone())
            .collect();
        assert_eq!(read_back, vec![Digest::sha256(b"a"), Digest::sha256(b"b")]);
        append(dir.path(), &desc(b"c")).unwrap();
        let read_back: Vec<Digest> = read(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.digest().clone())
            .collect();
        assert_eq!(
            read_back,
            vec![
                Digest::sha256(b"a"),
                Digest::sha256(b"b"),
                Digest::sha256(b"c")
            ]
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        clear(dir.path()).unwrap();
        assert!(read(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_journal_torn_inside_its_first_line_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL), b"{\"dig").unwrap();
        assert!(read(dir.path()).unwrap().is_empty());
        append(dir.path(), &desc(b"a")).unwrap();
        assert_eq!(read(dir.path()).unwrap().len(), 1);
    }
}
