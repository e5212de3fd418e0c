//! The layout's `index.json`: read without a JSON tree per entry, edited entry by entry so
//! fields other tools wrote survive, and updated under a lock so concurrent writers lose
//! nothing.
//!
//! Each entry keeps its JSON text as found and the few fields lineage looks up (digest,
//! media type, tag); a whole [`Descriptor`] is parsed from the text only when asked for
//! ([`Entry::descriptor`]). Every entry is checked to be a descriptor when the file is
//! read, so a bad one is an error naming the file and the entry.
//!
//! Writers in one process serialise on a mutex per layout directory; writers in different
//! processes on an exclusive `flock` of the layout's `oci-layout` file ([`locked`]). Each
//! update reads the current file and the journal ([`super::journal`]), applies its change
//! and replaces the file atomically, then empties the journal.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex as StdMutex};

use lineage_oci::descriptor::ANNOTATION_REF_NAME;
use lineage_oci::{Descriptor, Digest, json, media_type};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Result, StoreError};
use crate::fs;

/// One entry of `index.json`: its JSON text (kept for rewriting, unknown fields included)
/// and what lineage looks up in it.
#[derive(Debug, Clone)]
pub struct Entry {
    raw: Box<str>,
    digest: Digest,
    media_type: Arc<str>,
    ref_name: Option<Box<str>>,
}

impl Entry {
    /// The entry whose JSON text is `raw`; an error unless it is a descriptor. Media types
    /// are shared through `types` (a file holds a handful).
    pub(super) fn parse(
        raw: &str,
        types: &mut Types,
    ) -> std::result::Result<Entry, serde_json::Error> {
        let desc: Descriptor = serde_json::from_str(raw)?;
        Ok(Entry::from_parts(raw.into(), desc, types))
    }

    fn from_parts(raw: Box<str>, desc: Descriptor, types: &mut Types) -> Entry {
        let ref_name = desc.ref_name().map(Box::from);
        let media_type = match types.get(desc.media_type.as_str()) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<str> = Arc::from(desc.media_type.as_str());
                types.insert(t.clone());
                t
            }
        };
        Entry {
            raw,
            digest: desc.digest,
            media_type,
            ref_name,
        }
    }

    /// An entry lineage writes for `desc` (canonical JSON).
    fn new(desc: &Descriptor) -> Result<Entry> {
        let raw = canonical(desc, "index.json")?;
        Ok(Entry::from_parts(
            raw.into(),
            desc.clone(),
            &mut Types::new(),
        ))
    }

    /// The manifest's digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The media type the entry gives (empty when the writer left it out).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The tag (`org.opencontainers.image.ref.name`), if any.
    pub fn ref_name(&self) -> Option<&str> {
        self.ref_name.as_deref()
    }

    /// The entry's JSON text.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The whole descriptor, parsed from the entry's text.
    pub fn descriptor(&self) -> Result<Descriptor> {
        serde_json::from_str(&self.raw).map_err(|e| StoreError::InvalidInput {
            store: "index.json".into(),
            message: format!("the entry for {} is not a descriptor: {e}", self.digest),
        })
    }
}

/// The media types of one file's entries, each held once.
pub(super) type Types = HashSet<Arc<str>>;

fn canonical<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    json::to_canonical_vec(value)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| StoreError::InvalidInput {
            store: what.into(),
            message: "cannot serialise an entry as JSON".into(),
        })
}

/// A parsed `index.json`.
#[derive(Debug, Clone)]
pub struct Index {
    /// The top-level fields other than `manifests`.
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

    /// Parse `index.json` bytes; `path` is for errors, which name the entry at fault.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Index> {
        Index::read_from(bytes, path)
    }

    /// Parse `index.json` from `reader` as it is read: each entry becomes its compact
    /// [`Entry`] at once, so neither the whole file nor a JSON tree of it is ever held.
    /// `path` is for errors, which name the entry at fault.
    pub fn read_from(reader: impl std::io::Read, path: &Path) -> Result<Index> {
        let mut entries = Vec::new();
        let top = visit(reader, path, &mut entries)?;
        Ok(Index {
            top,
            entries,
            dirty: false,
        })
    }

    /// Write the index, canonically at the top level, with `manifests` in entry order and
    /// each entry's text as it was read.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut keys: Vec<&str> = self.top.keys().map(String::as_str).collect();
        keys.push(MANIFESTS);
        // RFC 8785 orders keys by their UTF-16 code units.
        keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        keys.dedup();
        w.write_all(b"{")?;
        for (n, key) in keys.into_iter().enumerate() {
            if n > 0 {
                w.write_all(b",")?;
            }
            w.write_all(&json::to_canonical_vec(&key)?)?;
            w.write_all(b":")?;
            if key == MANIFESTS {
                w.write_all(b"[")?;
                for (i, e) in self.entries.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b",")?;
                    }
                    w.write_all(e.raw.as_bytes())?;
                }
                w.write_all(b"]")?;
            } else if let Some(v) = self.top.get(key) {
                w.write_all(&json::to_canonical_vec(v)?)?;
            }
        }
        w.write_all(b"}")
    }

    /// The whole file's bytes ([`write_to`](Self::write_to)).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)
            .map_err(|e| StoreError::InvalidInput {
                store: "index.json".into(),
                message: e.to_string(),
            })?;
        Ok(out)
    }

    /// The last entry tagged `tag`.
    pub fn find_tag(&self, tag: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.ref_name() == Some(tag))
    }

    /// The first entry for `digest`, tagged or not.
    pub fn find_digest(&self, digest: &Digest) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.digest == digest)
    }

    /// Sorted, distinct tags.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.ref_name().map(String::from))
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// Record `desc` in the index, tagged `tag` when given. A tag moves off any other
    /// manifest, which stays listed untagged (it remains reachable by digest, as in a
    /// registry). Returns whether anything changed.
    pub fn put(&mut self, desc: &Descriptor, tag: Option<&str>) -> Result<bool> {
        let changed = match tag {
            Some(tag) if self.find_tag(tag).is_some_and(|e| e.digest == desc.digest) => false,
            Some(tag) => {
                self.untag(tag)?;
                let untagged = self
                    .entries
                    .iter()
                    .position(|e| e.digest == desc.digest && e.ref_name().is_none());
                if let Some(i) = untagged {
                    set_ref_name(&mut self.entries[i], Some(tag))?;
                } else {
                    let mut d = desc.clone();
                    d.set_annotation(ANNOTATION_REF_NAME, tag);
                    self.entries.push(Entry::new(&d)?);
                }
                true
            }
            None if self.find_digest(&desc.digest).is_none() => {
                self.entries.push(Entry::new(desc)?);
                true
            }
            None => false,
        };
        self.dirty |= changed;
        Ok(changed)
    }

    /// Remove tag `tag`; the manifest stays listed untagged unless another entry lists it.
    /// Returns whether the tag existed.
    pub fn untag(&mut self, tag: &str) -> Result<bool> {
        let mut found = false;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].ref_name() == Some(tag) {
                found = true;
                let digest = self.entries[i].digest.clone();
                let listed_elsewhere = self
                    .entries
                    .iter()
                    .enumerate()
                    .any(|(j, e)| j != i && e.digest == digest);
                if listed_elsewhere {
                    self.entries.remove(i);
                    continue;
                }
                set_ref_name(&mut self.entries[i], None)?;
            }
            i += 1;
        }
        self.dirty |= found;
        Ok(found)
    }

    /// Remove every entry for `digest`. Returns whether there was one.
    pub fn remove_digest(&mut self, digest: &Digest) -> bool {
        self.remove_digests(&HashSet::from([digest.clone()])) > 0
    }

    /// Remove every entry for one of `digests`, in one pass. Returns how many went.
    pub fn remove_digests(&mut self, digests: &HashSet<Digest>) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| !digests.contains(&e.digest));
        let removed = before - self.entries.len();
        self.dirty |= removed > 0;
        removed
    }

    /// Whether the index changed since it was read.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
}

/// The name of the entries' array.
const MANIFESTS: &str = "manifests";

/// Where the entries of `manifests` go as they are read: kept ([`Index::read_from`]), or
/// looked at one by one and dropped ([`for_each`]), so a reader that needs each entry once
/// never holds the whole index. `()` checks the entries and keeps none.
pub(super) trait Sink {
    /// One more entry, in file order.
    fn entry(&mut self, entry: Entry);
    /// `manifests` is given again: the entries so far are not the file's (the last key wins,
    /// as in a JSON tree).
    fn restart(&mut self);
}

impl Sink for () {
    fn entry(&mut self, _: Entry) {}

    fn restart(&mut self) {}
}

impl Sink for Vec<Entry> {
    fn entry(&mut self, entry: Entry) {
        self.push(entry);
    }

    fn restart(&mut self) {
        self.clear();
    }
}

/// Stream `index.json` from `reader` into `sink`; the top-level fields other than
/// `manifests`. `path` is for errors, which name the entry at fault.
fn visit(
    reader: impl std::io::Read,
    path: &Path,
    sink: &mut dyn Sink,
) -> Result<Map<String, Value>> {
    let mut fault = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = serde::de::Deserializer::deserialize_any(
        &mut de,
        TopVisitor {
            fault: &mut fault,
            sink,
        },
    )
    .and_then(|top| de.end().map(|()| top));
    parsed.map_err(|e| StoreError::InvalidLayout {
        path: path.to_path_buf(),
        message: match fault {
            Some(message) => message,
            None if e.is_data() => "index.json is not a JSON object".into(),
            None => format!("index.json is not valid JSON: {e}"),
        },
    })
}

/// The top level of `index.json`: `manifests` read entry by entry ([`EntriesVisitor`]) into
/// the sink, the other fields kept as JSON values. What is wrong, when it is more than the
/// JSON syntax, is written to `fault`.
struct TopVisitor<'f> {
    fault: &'f mut Option<String>,
    sink: &'f mut dyn Sink,
}

impl<'de> serde::de::Visitor<'de> for TopVisitor<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(
        self,
        mut map: M,
    ) -> std::result::Result<Map<String, Value>, M::Error> {
        let mut top = Map::new();
        let mut types = Types::new();
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == MANIFESTS {
                if std::mem::replace(&mut seen, true) {
                    self.sink.restart();
                }
                map.next_value_seed(EntriesVisitor {
                    sink: &mut *self.sink,
                    types: &mut types,
                    fault: &mut *self.fault,
                })?;
            } else {
                top.insert(key, map.next_value::<Value>()?);
            }
        }
        Ok(top)
    }
}

/// The `manifests` array (or `null`), each entry checked to be a descriptor and kept as an
/// [`Entry`] as soon as it is read.
struct EntriesVisitor<'a> {
    sink: &'a mut dyn Sink,
    types: &'a mut Types,
    fault: &'a mut Option<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for EntriesVisitor<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for EntriesVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of descriptors")
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<S: serde::de::SeqAccess<'de>>(
        self,
        mut seq: S,
    ) -> std::result::Result<(), S::Error> {
        let mut i = 0usize;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            match serde_json::from_str::<Descriptor>(raw.get()) {
                Ok(desc) => {
                    let text: Box<str> = raw.into();
                    self.sink.entry(Entry::from_parts(text, desc, self.types));
                }
                Err(e) => {
                    let message = format!(
                        "entry {i} of `manifests` in index.json is not a descriptor: {e}{}",
                        digest_hint(raw.get())
                    );
                    *self.fault = Some(message.clone());
                    return Err(serde::de::Error::custom(message));
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, _: M) -> std::result::Result<(), M::Error> {
        Err(self.not_an_array())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<(), E> {
        Err(self.not_an_array())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<(), E> {
        Err(self.not_an_array())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<(), E> {
        Err(self.not_an_array())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<(), E> {
        Err(self.not_an_array())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<(), E> {
        Err(self.not_an_array())
    }
}

impl EntriesVisitor<'_> {
    fn not_an_array<E: serde::de::Error>(self) -> E {
        let message = "`manifests` in index.json is not an array".to_string();
        *self.fault = Some(message.clone());
        E::custom(message)
    }
}

/// ` (digest …)` when the entry's text names one, to find a bad entry in a large file.
fn digest_hint(raw: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow)]
        digest: Option<&'a str>,
    }
    match serde_json::from_str::<Named<'_>>(raw) {
        Ok(Named { digest: Some(d) }) => format!(" (digest {d})"),
        _ => String::new(),
    }
}

fn set_ref_name(entry: &mut Entry, tag: Option<&str>) -> Result<()> {
    let mut value: Value =
        serde_json::from_str(&entry.raw).map_err(|e| StoreError::InvalidInput {
            store: "index.json".into(),
            message: format!("the entry for {} is not JSON: {e}", entry.digest),
        })?;
    if let Value::Object(obj) = &mut value {
        match tag {
            Some(t) => {
                let ann = obj
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(a) = ann {
                    a.insert(ANNOTATION_REF_NAME.into(), Value::from(t));
                }
            }
            None => {
                let emptied = match obj.get_mut("annotations") {
                    Some(Value::Object(a)) => {
                        a.remove(ANNOTATION_REF_NAME);
                        a.is_empty()
                    }
                    _ => false,
                };
                if emptied {
                    obj.remove("annotations");
                }
            }
        }
    }
    entry.raw = canonical(&value, "index.json")?.into();
    entry.ref_name = tag.map(Box::from);
    Ok(())
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
    let (file, path) = open_file(root)?;
    Index::read_from(file, &path)
}

/// Every entry of the whole index, one at a time and in order, into `sink`, each dropped
/// after it has seen it: `ROOT/index.json`'s, then the journal's (which may repeat a listed
/// manifest, or name one whose blob is gone: [`read`] would skip those). Checks `index.json`
/// as [`read`] does, without holding it: at 100k manifests the whole index is tens of MiB,
/// and holding it while building something else leaves the allocator holes it keeps.
pub(super) fn for_each(root: &Path, sink: &mut dyn Sink) -> Result<()> {
    let (file, path) = open_file(root)?;
    visit(file, &path, sink)?;
    super::journal::for_each(root, &mut |entry| sink.entry(entry))
}

/// The first entry for `digest` in the whole index, as [`read`]`(root)?.find_digest(digest)`
/// finds it, streamed: `index.json`'s first entry for it, else the journal's first whose
/// manifest blob is there. Nothing but that entry is kept.
pub fn find_digest(root: &Path, digest: &Digest) -> Result<Option<Entry>> {
    struct First<'a> {
        digest: &'a Digest,
        found: Option<Entry>,
    }
    impl Sink for First<'_> {
        fn entry(&mut self, entry: Entry) {
            if self.found.is_none() && entry.digest == *self.digest {
                self.found = Some(entry);
            }
        }
        fn restart(&mut self) {
            self.found = None;
        }
    }
    let (file, path) = open_file(root)?;
    let mut first = First {
        digest,
        found: None,
    };
    visit(file, &path, &mut first)?;
    if first.found.is_none() && super::blob_file(root, digest).is_file() {
        super::journal::for_each(root, &mut |entry| first.entry(entry))?;
    }
    Ok(first.found)
}

/// The tagged entries of `ROOT/index.json` (the journal holds untagged entries only), in
/// file order, streamed: the untagged ones are never held.
pub(super) fn tagged(root: &Path) -> Result<Vec<Entry>> {
    struct Tagged(Vec<Entry>);
    impl Sink for Tagged {
        fn entry(&mut self, entry: Entry) {
            if entry.ref_name.is_some() {
                self.0.push(entry);
            }
        }
        fn restart(&mut self) {
            self.0.clear();
        }
    }
    let (file, path) = open_file(root)?;
    let mut tagged = Tagged(Vec::new());
    visit(file, &path, &mut tagged)?;
    Ok(tagged.0)
}

/// The file `ROOT/index.json`, buffered for streaming, and its path.
fn open_file(root: &Path) -> Result<(std::io::BufReader<std::fs::File>, PathBuf)> {
    let path = root.join("index.json");
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::InvalidLayout {
            path: root.to_path_buf(),
            message: "no `index.json`".into(),
        },
        _ => StoreError::io("read", &path, e),
    })?;
    // Streamed: a large file is never held whole (a buffer that size, freed, would raise
    // the allocator's thresholds and keep later memory from going back to the system).
    Ok((std::io::BufReader::with_capacity(64 * 1024, file), path))
}

/// Apply journal entries as untagged entries, skipping those listed already and those whose
/// manifest blob is gone (a delete folded them in before it removed the blob).
fn fold(root: &Path, index: &mut Index, entries: Vec<Entry>) {
    if entries.is_empty() {
        return;
    }
    // One set of what is listed, not a search of the entries per journal line.
    let listed: HashSet<&Digest> = index.entries.iter().map(|e| &e.digest).collect();
    let mut seen: HashSet<&Digest> = HashSet::new();
    let add: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            !listed.contains(&e.digest)
                && seen.insert(&e.digest)
                && super::blob_file(root, &e.digest).is_file()
        })
        .map(|(i, _)| i)
        .collect();
    drop((listed, seen));
    if add.is_empty() {
        return;
    }
    let mut add = add.into_iter().peekable();
    index.entries.reserve(add.len());
    for (i, e) in entries.into_iter().enumerate() {
        if add.peek() == Some(&i) {
            add.next();
            index.entries.push(e);
        }
    }
    index.dirty = true;
}

/// Write `ROOT/index.json` atomically, streamed to its temporary file.
pub fn write(root: &Path, index: &Index) -> Result<()> {
    fs::write_atomic_with(root, &root.join("index.json"), |w| index.write_to(w))
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
        idx.put(&desc(b"a"), Some("v2")).unwrap();
        let out = String::from_utf8(idx.to_bytes().unwrap()).unwrap();
        assert!(out.contains(r#""extra":{"x":1}"#), "{out}");
        assert!(out.contains(r#""vendor.field":true"#), "{out}");
        assert!(
            !out.contains("\"mediaType\":\"application/vnd.oci.image.index"),
            "no media type was added: {out}"
        );
        // The rewritten file reads back the same.
        let back = Index::parse(out.as_bytes(), Path::new("index.json")).unwrap();
        assert_eq!(back.tags(), vec!["v1", "v2"]);
        assert_eq!(back.to_bytes().unwrap(), out.as_bytes());
    }

    #[test]
    fn entries_are_written_as_they_were_read() {
        // Another tool's spacing and key order inside an entry survive a rewrite.
        let entry = r#"{ "size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "mediaType": "application/vnd.oci.image.manifest.v1+json" }"#;
        let text = format!(r#"{{"schemaVersion":2,"manifests":[{entry}]}}"#);
        let mut idx = Index::parse(text.as_bytes(), Path::new("index.json")).unwrap();
        idx.put(&desc(b"a"), None).unwrap();
        let out = String::from_utf8(idx.to_bytes().unwrap()).unwrap();
        assert!(
            out.starts_with(&format!(r#"{{"manifests":[{entry},{{"#)),
            "{out}"
        );
        assert!(out.ends_with(r#"}],"schemaVersion":2}"#), "{out}");
        let e = &idx.entries[0];
        assert_eq!(e.media_type(), media_type::OCI_MANIFEST);
        assert_eq!(e.descriptor().unwrap().size, 2);
    }

    #[test]
    fn moving_a_tag_keeps_the_old_manifest_untagged() {
        let mut idx = Index::empty();
        let (a, b) = (desc(b"a"), desc(b"b"));
        idx.put(&a, Some("1.0")).unwrap();
        idx.put(&a, Some("1.0-1")).unwrap();
        idx.put(&b, Some("1.0")).unwrap();
        assert_eq!(idx.find_tag("1.0").unwrap().digest(), &b.digest);
        assert_eq!(idx.find_tag("1.0-1").unwrap().digest(), &a.digest);
        // `a` is listed once (tagged 1.0-1): the entry that lost `1.0` was dropped.
        assert_eq!(
            idx.entries
                .iter()
                .filter(|e| e.digest() == &a.digest)
                .count(),
            1
        );
        assert!(idx.untag("1.0-1").unwrap());
        let e = idx.find_digest(&a.digest).unwrap();
        assert_eq!(e.ref_name(), None);
        assert!(!e.raw().contains("annotations"), "{}", e.raw());
    }

    #[test]
    fn untagged_puts_are_idempotent() {
        let mut idx = Index::empty();
        let a = desc(b"a");
        idx.put(&a, None).unwrap();
        idx.put(&a, None).unwrap();
        assert_eq!(idx.entries.len(), 1);
        idx.put(&a, Some("t")).unwrap();
        assert_eq!(idx.entries.len(), 1, "the untagged entry gains the tag");
        assert!(idx.remove_digest(&a.digest));
        assert!(idx.entries.is_empty());
    }

    #[test]
    fn removes_many_digests_in_one_pass() {
        let mut idx = Index::empty();
        for seed in [&b"a"[..], b"b", b"c"] {
            idx.put(&desc(seed), None).unwrap();
        }
        let gone = HashSet::from([desc(b"a").digest, desc(b"c").digest]);
        assert_eq!(idx.remove_digests(&gone), 2);
        let left: Vec<&Digest> = idx.entries.iter().map(Entry::digest).collect();
        assert_eq!(left, vec![&desc(b"b").digest]);
    }

    #[test]
    fn rejects_malformed_files() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"\xff\xfe",
            br#"{"manifests":{}}"#,
            br#"{"manifests":[{"digest":"sha256:zz","size":1}]}"#,
            br#"{"manifests":[1]}"#,
            br#"{"schemaVersion":2,"manifests":[]"#,
        ] {
            let err = Index::parse(bad, Path::new("/l/index.json")).unwrap_err();
            assert!(err.to_string().contains("/l/index.json"), "{err}");
        }
    }

    #[test]
    fn a_bad_entry_is_named_by_its_place_and_digest() {
        let good = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#;
        let bad_digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        let bad = format!(r#"{{"digest":"{bad_digest}","size":"two"}}"#);
        let text = format!(r#"{{"manifests":[{good},{good},{bad}]}}"#);
        let err = Index::parse(text.as_bytes(), Path::new("/l/index.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/l/index.json"), "{err}");
        assert!(err.contains("entry 2 of `manifests`"), "{err}");
        assert!(err.contains(bad_digest), "{err}");
    }

    /// Streaming the whole index sees what reading it keeps: the last `manifests` of a file
    /// that names it twice, then the journal's entries; finding one entry finds what reading
    /// the whole index finds; and both fail alike.
    #[test]
    fn streaming_the_index_sees_what_reading_it_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (a, b, c) = (desc(b"a"), desc(b"b"), desc(b"c"));
        let entry = |d: &Descriptor| String::from_utf8(json::to_canonical_vec(d).unwrap()).unwrap();
        let text = format!(
            r#"{{"manifests":[{}],"schemaVersion":2,"manifests":[{}]}}"#,
            entry(&a),
            entry(&b)
        );
        std::fs::write(root.join("index.json"), &text).unwrap();
        super::super::journal::append(root, &c).unwrap();
        struct Seen(Vec<Digest>);
        impl Sink for Seen {
            fn entry(&mut self, entry: Entry) {
                self.0.push(entry.digest().clone());
            }
            fn restart(&mut self) {
                self.0.clear();
            }
        }
        let mut seen = Seen(Vec::new());
        for_each(root, &mut seen).unwrap();
        assert_eq!(seen.0, vec![b.digest.clone(), c.digest.clone()]);
        let kept: Vec<Digest> = read_file(root)
            .unwrap()
            .entries
            .iter()
            .map(|e| e.digest().clone())
            .collect();
        assert_eq!(kept, vec![b.digest.clone()]);
        // Finding one entry: the first `manifests` is not the file's; a journal entry counts
        // only while its manifest blob is there, as when the whole index is read.
        let found = |d: &Descriptor| find_digest(root, &d.digest).unwrap().map(|e| e.digest);
        assert_eq!(found(&a), None);
        assert_eq!(found(&b), Some(b.digest.clone()));
        assert_eq!(found(&c), None);
        assert_eq!(
            read(root)
                .unwrap()
                .find_digest(&c.digest)
                .map(|e| e.digest().clone()),
            None
        );
        let blob = super::super::blob_file(root, &c.digest);
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::write(&blob, b"c").unwrap();
        assert_eq!(found(&c), Some(c.digest.clone()));
        assert!(read(root).unwrap().find_digest(&c.digest).is_some());

        std::fs::write(root.join("index.json"), r#"{"manifests":[{"digest":"x"}]}"#).unwrap();
        let streamed = for_each(root, &mut ()).unwrap_err().to_string();
        let read = read(root).unwrap_err().to_string();
        assert_eq!(streamed, read);
        assert!(streamed.contains("entry 0 of `manifests`"), "{streamed}");
    }
}
