//! The layout's `index.json`: read tolerantly, edited as JSON values so fields other tools
//! wrote survive, and updated under a lock so concurrent writers lose nothing.
//!
//! Writers in one process serialise on a mutex per layout directory; writers in different
//! processes on an exclusive `flock` of the layout's `oci-layout` file ([`locked`]). Each
//! update reads the current file and the journal ([`super::journal`]), applies its change
//! and replaces the file atomically, then empties the journal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex as StdMutex};

use lineage_oci::descriptor::ANNOTATION_REF_NAME;
use lineage_oci::{Descriptor, Digest, json, media_type};
use serde_json::{Map, Value};

use crate::error::{Result, StoreError};
use crate::fs;

/// One entry of `index.json`: the JSON as written (kept for rewriting) and its parsed form.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry exactly as found, unknown fields included.
    pub raw: Value,
    /// The parsed descriptor.
    pub desc: Descriptor,
}

/// A parsed `index.json`.
#[derive(Debug, Clone)]
pub struct Index {
    top: Map<String, Value>,
    /// The `manifests` entries in file order.
    pub entries: Vec<Entry>,
    dirty: bool,
}

impl Index {
    /// An empty index, as a new layout gets.
    pub fn empty() -> Index {
        let mut top = Map::new();
        top.insert("schemaVersion".into(), Value::from(2));
        top.insert("mediaType".into(), Value::from(media_type::OCI_INDEX));
        Index {
            top,
            entries: Vec::new(),
            dirty: true,
        }
    }

    /// Parse `index.json` bytes; `path` is for errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Index> {
        let invalid = |message: String| StoreError::InvalidLayout {
            path: path.to_path_buf(),
            message,
        };
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("index.json is not valid JSON: {e}")))?;
        let Value::Object(mut top) = value else {
            return Err(invalid("index.json is not a JSON object".into()));
        };
        let manifests = match top.remove("manifests") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(invalid("`manifests` in index.json is not an array".into())),
        };
        let mut entries = Vec::with_capacity(manifests.len());
        for (i, raw) in manifests.into_iter().enumerate() {
            let desc: Descriptor = serde_json::from_value(raw.clone()).map_err(|e| {
                invalid(format!(
                    "entry {i} of `manifests` in index.json is not a descriptor: {e}"
                ))
            })?;
            entries.push(Entry { raw, desc });
        }
        Ok(Index {
            top,
            entries,
            dirty: false,
        })
    }

    /// Serialise, canonically, with `manifests` in entry order.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut top = self.top.clone();
        top.insert(
            "manifests".into(),
            Value::Array(self.entries.iter().map(|e| e.raw.clone()).collect()),
        );
        json::to_canonical_vec(&Value::Object(top)).map_err(|e| StoreError::InvalidInput {
            store: "index.json".into(),
            message: e.to_string(),
        })
    }

    /// The last entry tagged `tag`.
    pub fn find_tag(&self, tag: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.desc.ref_name() == Some(tag))
    }

    /// The first entry for `digest`, tagged or not.
    pub fn find_digest(&self, digest: &Digest) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.desc.digest == digest)
    }

    /// Sorted, distinct tags.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.desc.ref_name().map(String::from))
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// Record `desc` in the index, tagged `tag` when given. A tag moves off any other
    /// manifest, which stays listed untagged (it remains reachable by digest, as in a
    /// registry). Returns whether anything changed.
    pub fn put(&mut self, desc: &Descriptor, tag: Option<&str>) -> bool {
        let changed = match tag {
            Some(tag)
                if self
                    .find_tag(tag)
                    .is_some_and(|e| e.desc.digest == desc.digest) =>
            {
                false
            }
            Some(tag) => {
                self.untag(tag);
                let untagged = self
                    .entries
                    .iter()
                    .position(|e| e.desc.digest == desc.digest && e.desc.ref_name().is_none());
                if let Some(i) = untagged {
                    set_ref_name(&mut self.entries[i], Some(tag));
                } else {
                    let mut d = desc.clone();
                    d.set_annotation(ANNOTATION_REF_NAME, tag);
                    self.push(d);
                }
                true
            }
            None if self.find_digest(&desc.digest).is_none() => {
                self.push(desc.clone());
                true
            }
            None => false,
        };
        self.dirty |= changed;
        changed
    }

    /// Remove tag `tag`; the manifest stays listed untagged unless another entry lists it.
    /// Returns whether the tag existed.
    pub fn untag(&mut self, tag: &str) -> bool {
        let mut found = false;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].desc.ref_name() == Some(tag) {
                found = true;
                let digest = self.entries[i].desc.digest.clone();
                let listed_elsewhere = self
                    .entries
                    .iter()
                    .enumerate()
                    .any(|(j, e)| j != i && e.desc.digest == digest);
                if listed_elsewhere {
                    self.entries.remove(i);
                    continue;
                }
                set_ref_name(&mut self.entries[i], None);
            }
            i += 1;
        }
        self.dirty |= found;
        found
    }

    /// Remove every entry for `digest`. Returns whether there was one.
    pub fn remove_digest(&mut self, digest: &Digest) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| &e.desc.digest != digest);
        let removed = self.entries.len() != before;
        self.dirty |= removed;
        removed
    }

    fn push(&mut self, desc: Descriptor) {
        let raw = serde_json::to_value(&desc).unwrap_or(Value::Null);
        self.entries.push(Entry { raw, desc });
    }

    /// Whether the index changed since it was read.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
}

fn set_ref_name(entry: &mut Entry, tag: Option<&str>) {
    match tag {
        Some(t) => entry.desc.set_annotation(ANNOTATION_REF_NAME, t),
        None => entry.desc.remove_annotation(ANNOTATION_REF_NAME),
    }
    if let Value::Object(obj) = &mut entry.raw {
        match (&entry.desc.annotations, tag) {
            (_, Some(t)) => {
                let ann = obj
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(a) = ann {
                    a.insert(ANNOTATION_REF_NAME.into(), Value::from(t));
                }
            }
            (None, None) => {
                obj.remove("annotations");
            }
            (Some(_), None) => {
                if let Some(Value::Object(a)) = obj.get_mut("annotations") {
                    a.remove(ANNOTATION_REF_NAME);
                }
            }
        }
    }
}

/// Read the whole index: `ROOT/index.json` with the journal's entries ([`super::journal`])
/// applied as untagged entries.
pub fn read(root: &Path) -> Result<Index> {
    let mut index = read_file(root)?;
    fold(root, &mut index, super::journal::read(root)?);
    index.dirty = false;
    Ok(index)
}

/// Read `ROOT/index.json` alone (the tags are all there; the journal holds untagged
/// entries only).
pub(super) fn read_file(root: &Path) -> Result<Index> {
    let path = root.join("index.json");
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::InvalidLayout {
            path: root.to_path_buf(),
            message: "no `index.json`".into(),
        },
        _ => StoreError::io("read", &path, e),
    })?;
    Index::parse(&bytes, &path)
}

/// Apply journal entries as untagged puts, skipping those whose manifest blob is gone (a
/// delete folded them in before it removed the blob).
fn fold(root: &Path, index: &mut Index, entries: Vec<Descriptor>) {
    if entries.is_empty() {
        return;
    }
    // One set of what is listed, not a search of the entries per journal line.
    let mut listed: std::collections::HashSet<Digest> = index
        .entries
        .iter()
        .map(|e| e.desc.digest.clone())
        .collect();
    for d in entries {
        if listed.contains(&d.digest) || !super::blob_file(root, &d.digest).is_file() {
            continue;
        }
        listed.insert(d.digest.clone());
        index.push(d);
        index.dirty = true;
    }
}

/// Write `ROOT/index.json` atomically.
pub fn write(root: &Path, index: &Index) -> Result<()> {
    fs::write_atomic(root, &root.join("index.json"), &index.to_bytes()?)
}

type LockMap = HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>;
static PROCESS_LOCKS: LazyLock<StdMutex<LockMap>> = LazyLock::new(|| StdMutex::new(HashMap::new()));

/// The in-process lock for the layout at `root` (an absolute, canonical path).
fn process_lock(root: &Path) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = PROCESS_LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(root.to_path_buf()).or_default().clone()
}

/// Run `work` on the layout at `root` under both write locks (the process's mutex, then an
/// exclusive `flock` of `oci-layout`), off the async workers. Every change to what the
/// layout lists, and garbage collection's sweep, runs under them.
pub(super) async fn locked<T, F>(root: &Path, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Path) -> Result<T> + Send + 'static,
{
    let lock = process_lock(root);
    let _guard = lock.lock().await;
    let root = root.to_path_buf();
    fs::blocking(move || {
        let header = root.join("oci-layout");
        let file = std::fs::File::open(&header).map_err(|e| StoreError::io("open", &header, e))?;
        file.lock()
            .map_err(|e| StoreError::io("lock", &header, e))?;
        work(&root)
    })
    .await
}

/// Apply `change` to the whole index at `root` under the write locks, writing it back when
/// it changed. The journal is folded in first and emptied once `index.json` holds it, so
/// every rewrite is also a compaction.
pub async fn update<T, F>(root: &Path, change: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Index) -> Result<T> + Send + 'static,
{
    locked(root, move |root| update_locked(root, change)).await
}

/// [`update`] for a caller that holds the write locks already.
pub(super) fn update_locked<T>(
    root: &Path,
    change: impl FnOnce(&mut Index) -> Result<T>,
) -> Result<T> {
    let mut index = read_file(root)?;
    let pending = super::journal::read(root)?;
    let folded = !pending.is_empty();
    fold(root, &mut index, pending);
    let out = change(&mut index)?;
    if index.is_dirty() || folded {
        write(root, &index)?;
    }
    if folded {
        super::journal::clear(root)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(seed: &[u8]) -> Descriptor {
        Descriptor::new(
            media_type::OCI_MANIFEST,
            Digest::sha256(seed),
            seed.len() as u64,
        )
    }

    #[test]
    fn keeps_unknown_fields_and_tolerates_missing_media_type() {
        let text = br#"{"schemaVersion":2,"extra":{"x":1},"manifests":[{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","vendor.field":true,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}"#;
        let mut idx = Index::parse(text, Path::new("index.json")).unwrap();
        assert_eq!(idx.tags(), vec!["v1"]);
        idx.put(&desc(b"a"), Some("v2"));
        let out = String::from_utf8(idx.to_bytes().unwrap()).unwrap();
        assert!(out.contains(r#""extra":{"x":1}"#), "{out}");
        assert!(out.contains(r#""vendor.field":true"#), "{out}");
        assert!(
            !out.contains("\"mediaType\":\"application/vnd.oci.image.index"),
            "no media type was added: {out}"
        );
    }

    #[test]
    fn moving_a_tag_keeps_the_old_manifest_untagged() {
        let mut idx = Index::empty();
        let (a, b) = (desc(b"a"), desc(b"b"));
        idx.put(&a, Some("1.0"));
        idx.put(&a, Some("1.0-1"));
        idx.put(&b, Some("1.0"));
        assert_eq!(idx.find_tag("1.0").unwrap().desc.digest, b.digest);
        assert_eq!(idx.find_tag("1.0-1").unwrap().desc.digest, a.digest);
        // `a` is listed once (tagged 1.0-1): the entry that lost `1.0` was dropped.
        assert_eq!(
            idx.entries
                .iter()
                .filter(|e| e.desc.digest == a.digest)
                .count(),
            1
        );
        assert!(idx.untag("1.0-1"));
        let e = idx.find_digest(&a.digest).unwrap();
        assert_eq!(e.desc.ref_name(), None);
        assert!(e.raw.get("annotations").is_none());
    }

    #[test]
    fn untagged_puts_are_idempotent() {
        let mut idx = Index::empty();
        let a = desc(b"a");
        idx.put(&a, None);
        idx.put(&a, None);
        assert_eq!(idx.entries.len(), 1);
        idx.put(&a, Some("t"));
        assert_eq!(idx.entries.len(), 1, "the untagged entry gains the tag");
        assert!(idx.remove_digest(&a.digest));
        assert!(idx.entries.is_empty());
    }

    #[test]
    fn rejects_malformed_files() {
        for bad in [
            &b"not json"[..],
            b"[]",
            br#"{"manifests":{}}"#,
            br#"{"manifests":[{"digest":"sha256:zz","size":1}]}"#,
        ] {
            let err = Index::parse(bad, Path::new("/l/index.json")).unwrap_err();
            assert!(err.to_string().contains("/l/index.json"), "{err}");
        }
    }
}
