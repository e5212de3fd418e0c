//! The layout's referrers index: subject → the manifests listed in the layout whose
//! `subject` it is, the one index `lineage serve` answers the referrers API from.
//!
//! Entries are compact: a hash of the referrer's digest, its artifactType (interned: a
//! repository holds a handful of types) and its descriptor as a referrer, serialised once
//! (shared, so a listing clones pointers, not text). No JSON tree is kept per entry.
//!
//! The index is built on first use (a listing, or [`LayoutStore::referrers_load`] which the
//! server runs in the background at start) by reading every listed manifest once, and kept
//! up to date by this handle's own pushes and deletes. Pushes and deletes that land while it
//! is being built are queued and applied after, so none is missed. Other processes'
//! writes to the same layout are not seen by a handle that has built its index.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex};

use lineage_oci::manifest::MAX_MANIFEST_SIZE;
use lineage_oci::{Descriptor, Digest, RawManifest, json};
use tokio::sync::OnceCell;

use super::{LayoutStore, index};
use crate::error::{Result, StoreError};
use crate::fs;

/// One referrer: what a listing needs and nothing else. Its digest is inside `json`; a
/// hash of it finds duplicates and removals without a second copy.
#[derive(Debug, Clone)]
struct Entry {
    key: u64,
    artifact_type: Option<Arc<str>>,
    json: Arc<str>,
}

impl Entry {
    /// Whether this entry is the referrer `digest` (its hash first, then its text).
    fn is(&self, key: u64, digest: &Digest) -> bool {
        self.key == key && self.json.contains(&format!("\"digest\":\"{digest}\""))
    }
}

fn key(digest: &Digest) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = KEYS.build_hasher();
    h.write(digest.as_str().as_bytes());
    h.finish()
}

/// One fixed hasher for the process: keys are compared within one index only.
static KEYS: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

/// The referrers of one subject, in push order, and the keys of those listed.
#[derive(Debug, Default)]
struct List {
    entries: Vec<Entry>,
    keys: HashSet<u64>,
}

#[derive(Debug, Default)]
struct Map {
    by_subject: HashMap<Digest, List>,
    types: HashSet<Arc<str>>,
}

impl Map {
    fn add(&mut self, subject: Digest, digest: &Digest, entry: Entry) {
        let list = self.by_subject.entry(subject).or_default();
        // A key seen before is rare (a referrer pushed again): only then compare texts.
        if !list.keys.insert(entry.key) && list.entries.iter().any(|e| e.is(entry.key, digest)) {
            return;
        }
        list.entries.push(entry);
    }

    fn remove(&mut self, gone: &HashSet<Digest>) {
        let gone: Vec<(u64, &Digest)> = gone.iter().map(|d| (key(d), d)).collect();
        let keys: HashSet<u64> = gone.iter().map(|(k, _)| *k).collect();
        self.by_subject.retain(|_, list| {
            if list.keys.is_disjoint(&keys) {
                return true;
            }
            list.entries
                .retain(|e| !gone.iter().any(|(k, d)| e.is(*k, d)));
            list.keys = list.entries.iter().map(|e| e.key).collect();
            !list.entries.is_empty()
        });
    }

    fn intern(&mut self, t: Option<&str>) -> Option<Arc<str>> {
        let t = t?;
        if let Some(a) = self.types.get(t) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(t);
        self.types.insert(a.clone());
        Some(a)
    }

    fn len(&self) -> usize {
        self.by_subject.values().map(|l| l.entries.len()).sum()
    }
}

#[derive(Debug)]
enum Op {
    Add(Digest, Box<Descriptor>),
    Remove(HashSet<Digest>),
}

#[derive(Debug)]
enum State {
    /// Not built: changes are on disk, where building will find them.
    Unloaded,
    /// Being built from a snapshot of the disk: changes wait here.
    Loading(Vec<Op>),
    Loaded(Map),
}

/// The index of one layout handle.
#[derive(Debug)]
pub(super) struct Referrers {
    state: StdMutex<State>,
    built: OnceCell<()>,
}

impl Default for Referrers {
    fn default() -> Self {
        Referrers {
            state: StdMutex::new(State::Unloaded),
            built: OnceCell::new(),
        }
    }
}

impl Referrers {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record that `referrer` (already on disk and listed) has `subject`.
    pub(super) fn add(&self, subject: &Digest, referrer: Descriptor) {
        let mut state = self.state();
        match &mut *state {
            State::Unloaded => {}
            State::Loading(ops) => ops.push(Op::Add(subject.clone(), Box::new(referrer))),
            State::Loaded(map) => {
                let digest = referrer.digest.clone();
                let entry = entry(map, referrer);
                map.add(subject.clone(), &digest, entry);
            }
        }
    }

    /// Forget the referrers `gone` (already unlisted on disk).
    pub(super) fn remove(&self, gone: HashSet<Digest>) {
        let mut state = self.state();
        match &mut *state {
            State::Unloaded => {}
            State::Loading(ops) => ops.push(Op::Remove(gone)),
            State::Loaded(map) => map.remove(&gone),
        }
    }

    /// Build the index unless it is built; the number of referrers it holds.
    pub(super) async fn ensure(&self, store: &LayoutStore) -> Result<usize> {
        self.built
            .get_or_try_init(|| async {
                *self.state() = State::Loading(Vec::new());
                let root = store.root().to_path_buf();
                let name = store.name.clone();
                match fs::blocking(move || scan(&root, &name)).await {
                    Ok(mut map) => {
                        let mut state = self.state();
                        let ops = match std::mem::replace(&mut *state, State::Unloaded) {
                            State::Loading(ops) => ops,
                            _ => Vec::new(),
                        };
                        // The queued changes, in order, on top of the snapshot: each was on
                        // disk before it was queued, so the snapshot holds it or not, and
                        // replaying it makes the answer the same either way.
                        for op in ops {
                            match op {
                                Op::Add(subject, d) => {
                                    let digest = d.digest.clone();
                                    let e = entry(&mut map, *d);
                                    map.add(subject, &digest, e);
                                }
                                Op::Remove(gone) => map.remove(&gone),
                            }
                        }
                        *state = State::Loaded(map);
                        Ok(())
                    }
                    Err(e) => {
                        *self.state() = State::Unloaded;
                        Err(e)
                    }
                }
            })
            .await?;
        Ok(match &*self.state() {
            State::Loaded(map) => map.len(),
            _ => 0,
        })
    }

    /// The referrers of `subject` whose artifactType passes `types`, as descriptor JSON, in
    /// the order they were listed: at most `limit` of them after the first `skip`, and
    /// whether more follow. Only the page is gathered, whatever the subject has.
    pub(super) async fn listing(
        &self,
        store: &LayoutStore,
        subject: &Digest,
        types: &[&str],
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Arc<str>>, bool)> {
        self.ensure(store).await?;
        let state = self.state();
        let State::Loaded(map) = &*state else {
            return Ok((Vec::new(), false));
        };
        let Some(list) = map.by_subject.get(subject) else {
            return Ok((Vec::new(), false));
        };
        let mut passing = list
            .entries
            .iter()
            .filter(|e| {
                lineage_oci::referrers::artifact_type_passes(e.artifact_type.as_deref(), types)
            })
            .skip(skip)
            .map(|e| e.json.clone());
        let page: Vec<Arc<str>> = passing.by_ref().take(limit).collect();
        let more = passing.next().is_some();
        Ok((page, more))
    }
}

fn entry(map: &mut Map, d: Descriptor) -> Entry {
    let json: Arc<str> = json::to_canonical_vec(&d)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default()
        .into();
    Entry {
        key: key(&d.digest),
        artifact_type: map.intern(d.artifact_type.as_deref()),
        json,
    }
}

/// The index of every listed manifest with a `subject`, read from disk in one pass: the
/// layout's index is streamed ([`index::for_each`]) and each manifest becomes its compact
/// entry as it is read, so nothing per manifest is kept but that, and no index entry
/// outlives its turn (entries freed among the kept ones would leave holes the allocator
/// keeps). A manifest listed twice (tagged and not, or in the journal too) is read twice;
/// the index keeps it once.
fn scan(root: &Path, name: &str) -> Result<Map> {
    struct Scan<'a> {
        root: &'a Path,
        name: &'a str,
        map: Map,
    }
    impl index::Sink for Scan<'_> {
        fn entry(&mut self, e: index::Entry) {
            let digest = e.digest();
            match read_manifest(self.root, self.name, digest, e.media_type()) {
                Ok(Some(m)) => {
                    if let Ok(view) = m.view()
                        && let Some(s) = &view.subject
                    {
                        let entry = entry(&mut self.map, m.referrer_descriptor());
                        self.map.add(s.digest.clone(), digest, entry);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(store = self.name, %digest, error = %e, "skipping an unreadable manifest");
                }
            }
        }

        fn restart(&mut self) {
            self.map = Map::default();
        }
    }
    let mut scan = Scan {
        root,
        name,
        map: Map::default(),
    };
    index::for_each(root, &mut scan)?;
    Ok(scan.map)
}

/// A listed manifest read from disk; `None` when its blob is gone.
fn read_manifest(
    root: &Path,
    name: &str,
    digest: &Digest,
    media_type: &str,
) -> Result<Option<RawManifest>> {
    use std::io::Read as _;
    let path = super::blob_file(root, digest);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", &path, e)),
    };
    // Read at most one byte past the limit: a larger blob is no manifest to index. One
    // buffer of the file's size, as `fs::read` makes.
    let size = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(MAX_MANIFEST_SIZE as u64 + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(MAX_MANIFEST_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read", &path, e))?;
    if bytes.len() > MAX_MANIFEST_SIZE {
        return Ok(None);
    }
    let hint = (!media_type.is_empty()).then_some(media_type);
    RawManifest::verified(bytes::Bytes::from(bytes), digest, hint)
        .map(Some)
        .map_err(|source| StoreError::Manifest {
            store: name.to_string(),
            reference: digest.to_string(),
            source,
        })
}
