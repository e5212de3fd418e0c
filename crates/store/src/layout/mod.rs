//! The OCI image layout store (`oci:PATH`): a directory with `oci-layout`, `index.json` and
//! `blobs/<alg>/<hex>`, as <https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md>
//! defines it.
//!
//! Tags are `org.opencontainers.image.ref.name` annotations on `index.json` entries. Referrers
//! are stored as untagged `index.json` entries (the oras practice) and found by reading each
//! listed manifest's `subject` once, into the handle's referrers index ([`referrers`]). A
//! handle opened [`with_journal`](LayoutStore::with_journal) records untagged manifests in
//! an append-only journal folded into `index.json` later ([`journal`]). Every write goes to
//! a temporary file that is fsynced and renamed; changes to what is listed are serialised
//! (see [`index`]). What skopeo and umoci write (no `mediaType` in `index.json` or
//! manifests, Docker's `manifest.json` beside it) is read. Garbage collection is [`gc`]'s.

mod blob;
pub mod gc;
pub mod index;
mod journal;
mod manifest;
mod referrers;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex as StdMutex};

use async_trait::async_trait;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest, media_type};

use crate::blob::BlobStream;
use crate::error::{Result, StoreError};
use crate::fs;
use crate::store::{PushResult, ReadStore, Store};

/// The content of the `oci-layout` file lineage writes.
pub const LAYOUT_HEADER: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The entries the image-layout spec defines at a layout's top level.
pub const LAYOUT_ENTRIES: [&str; 3] = ["oci-layout", "index.json", "blobs"];

/// Whether `name` is one of a layout's own top-level entries ([`LAYOUT_ENTRIES`]), which
/// nothing else may use inside a layout directory.
pub fn is_layout_entry(name: &str) -> bool {
    LAYOUT_ENTRIES.contains(&name)
}

/// The journal size past which it is folded into `index.json` (when that is at least half
/// as large): 1 MiB, some 5000 referrers.
pub const COMPACT_AFTER: u64 = 1024 * 1024;

/// An OCI image layout directory.
#[derive(Debug)]
pub struct LayoutStore {
    root: PathBuf,
    name: String,
    /// subject → referrers, built on first use.
    referrers: referrers::Referrers,
    /// Untagged manifests go to the journal instead of `index.json`.
    journal: bool,
    /// A compaction of the journal is under way.
    compacting: Arc<AtomicBool>,
    /// The tagged entries of `index.json`, as of the file's stamp.
    tagged: StdMutex<Option<(Stamp, Arc<Vec<index::Entry>>)>>,
}

/// What identifies one version of `index.json`: it is only ever replaced by a rename, so a
/// new version is a new inode.
type Stamp = (u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// Where the blob `digest` lives in the layout at `root`.
pub(crate) fn blob_file(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs")
        .join(digest.algorithm().as_str())
        .join(digest.encoded())
}

impl LayoutStore {
    /// Open an existing layout.
    pub fn open(path: impl AsRef<Path>) -> Result<LayoutStore> {
        let path = path.as_ref();
        let invalid = |message: &str| StoreError::InvalidLayout {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => invalid("the directory does not exist"),
            _ => StoreError::io("read", path, e),
        })?;
        if !meta.is_dir() {
            return Err(invalid("not a directory"));
        }
        check_header(path)?;
        let root = std::fs::canonicalize(path).map_err(|e| StoreError::io("resolve", path, e))?;
        // Checked, not kept: streamed, so opening a large layout holds none of its index.
        index::for_each(&root, &mut ())?;
        Ok(LayoutStore::at(root, path))
    }

    /// Open the layout at `path` for writing, creating it when the path does not exist or is
    /// an empty directory. A non-empty directory that is not a layout is refused. The
    /// temporary files of earlier writes that were killed are removed
    /// ([`fs::sweep_stale`]).
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<LayoutStore> {
        LayoutStore::open_or_create_among(path, |_| false)
    }

    /// [`open_or_create`](Self::open_or_create), where the directory may already hold
    /// entries that `foreign` accepts (e.g. other layouts nested in it): they do not make it
    /// "not empty". Entries named as the layout's own ([`is_layout_entry`]) always do.
    pub fn open_or_create_among(
        path: impl AsRef<Path>,
        foreign: impl Fn(&str) -> bool,
    ) -> Result<LayoutStore> {
        let path = path.as_ref();
        if path.join("oci-layout").exists() {
            fs::sweep_stale(path, std::time::SystemTime::now());
            if !path.join("index.json").exists() {
                check_header(path)?;
                index::write(path, &index::Index::empty())?;
            }
            return LayoutStore::open(path);
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let unknown = |e: &std::io::Result<std::fs::DirEntry>| match e {
                    Ok(e) => e
                        .file_name()
                        .to_str()
                        .is_none_or(|n| is_layout_entry(n) || !foreign(n)),
                    Err(_) => true,
                };
                if entries.into_iter().any(|e| unknown(&e)) {
                    return Err(StoreError::InvalidLayout {
                        path: path.to_path_buf(),
                        message: "the directory is not empty and has no `oci-layout` file; refusing to write into it"
                            .into(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(path).map_err(|e| StoreError::io("create", path, e))?;
            }
            Err(e) => return Err(StoreError::io("read", path, e)),
        }
        let blobs = path.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| StoreError::io("create", &blobs, e))?;
        index::write(path, &index::Index::empty())?;
        fs::write_atomic(path, &path.join("oci-layout"), LAYOUT_HEADER)?;
        LayoutStore::open(path)
    }

    fn at(root: PathBuf, shown: &Path) -> LayoutStore {
        LayoutStore {
            root,
            name: format!("oci:{}", shown.display()),
            referrers: referrers::Referrers::default(),
            journal: false,
            compacting: Arc::new(AtomicBool::new(false)),
            tagged: StdMutex::new(None),
        }
    }

    /// Record manifests pushed without a tag in the layout's journal ([`journal`]) instead
    /// of rewriting `index.json`, which is compacted in the background as the journal grows:
    /// a push then costs the same whatever the repository holds. For a long-lived writer
    /// (`lineage serve`); a command that writes a layout once leaves it plain.
    #[must_use]
    pub fn with_journal(mut self) -> LayoutStore {
        self.journal = true;
        self
    }

    /// Name this store `name` in messages (an archive names itself, not its staging directory).
    pub fn with_name(mut self, name: impl Into<String>) -> LayoutStore {
        self.name = name.into();
        self
    }

    /// The layout's directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_file(&self.root, digest)
    }

    /// Build the referrers index now (it is built on first use otherwise); the number of
    /// referrers it holds.
    pub async fn referrers_load(&self) -> Result<usize> {
        self.referrers.ensure(self).await
    }

    /// The referrers of `subject` whose artifactType is one of `types` (all when empty), as
    /// the JSON of their descriptors, in the order they were pushed: what a referrers
    /// listing is written from without parsing or copying an entry.
    pub async fn referrers_json(&self, subject: &Digest, types: &[&str]) -> Result<Vec<Arc<str>>> {
        let (all, _) = self
            .referrers
            .listing(self, subject, types, 0, usize::MAX)
            .await?;
        Ok(all)
    }

    /// One page of [`referrers_json`](Self::referrers_json): at most `limit` entries after
    /// the first `skip`, and whether more follow. Only the page is gathered, so the memory
    /// a listing takes does not grow with the referrers a subject has.
    pub async fn referrers_json_page(
        &self,
        subject: &Digest,
        types: &[&str],
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Arc<str>>, bool)> {
        self.referrers
            .listing(self, subject, types, skip, limit)
            .await
    }

    /// Fold the journal into `index.json` in the background once it is past
    /// [`COMPACT_AFTER`] bytes and half the size of `index.json`: each entry is then
    /// rewritten a bounded number of times on average, whatever the repository holds.
    fn compact_if_due(&self) {
        let size = journal::size(&self.root);
        let listed = std::fs::metadata(self.root.join("index.json")).map_or(0, |m| m.len());
        if size < COMPACT_AFTER.max(listed / 2)
            || self
                .compacting
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let root = self.root.clone();
        let flag = self.compacting.clone();
        tokio::spawn(async move {
            if let Err(e) = index::update(&root, |_| Ok(())).await {
                tracing::warn!(layout = %root.display(), error = %e, "cannot compact the journal; it stays and is read as it is");
            }
            flag.store(false, std::sync::atomic::Ordering::SeqCst);
        });
    }

    /// Fold the journal into `index.json` now, so the layout is a plain OCI image layout.
    pub async fn compact(&self) -> Result<()> {
        index::update(&self.root, |_| Ok(())).await
    }

    /// The whole index: `index.json` with the journal applied.
    pub fn index(&self) -> Result<index::Index> {
        index::read(&self.root)
    }

    /// The first entry of the whole index for `digest` ([`index::find_digest`]: streamed, so
    /// a large index is not held to find one entry).
    pub fn find_digest(&self, digest: &Digest) -> Result<Option<index::Entry>> {
        index::find_digest(&self.root, digest)
    }

    /// The tagged entries of `index.json`, read again only when the file changed.
    fn tagged(&self) -> Result<Arc<Vec<index::Entry>>> {
        let path = self.root.join("index.json");
        let now = stamp(&path);
        if let Ok(cache) = self.tagged.lock()
            && let Some((s, entries)) = &*cache
            && Some(*s) == now
        {
            return Ok(entries.clone());
        }
        let entries = Arc::new(index::tagged(&self.root)?);
        if let (Some(s), Ok(mut cache)) = (now, self.tagged.lock()) {
            *cache = Some((s, entries.clone()));
        }
        Ok(entries)
    }

    fn not_found(&self, reference: impl ToString) -> StoreError {
        StoreError::ManifestNotFound {
            store: self.name.clone(),
            reference: reference.to_string(),
        }
    }

    /// The entry's descriptor without the layout-only `ref.name`, with a media type even where
    /// the writer left it out.
    async fn clean(&self, entry: &index::Entry) -> Result<Descriptor> {
        let mut d = entry.descriptor()?;
        d.remove_annotation(lineage_oci::descriptor::ANNOTATION_REF_NAME);
        if !media_type::is_manifest(&d.media_type) {
            d.media_type = self.manifest_get(&d.digest).await?.media_type().to_string();
        }
        Ok(d)
    }
}

fn check_header(path: &Path) -> Result<()> {
    let header = path.join("oci-layout");
    let bytes = std::fs::read(&header).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::InvalidLayout {
            path: path.to_path_buf(),
            message: "no `oci-layout` file: not an OCI image layout".into(),
        },
        _ => StoreError::io("read", &header, e),
    })?;
    let version = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("imageLayoutVersion")
                .and_then(|v| v.as_str())
                .map(String::from)
        });
    match version.as_deref() {
        Some(v) if v.starts_with("1.") => Ok(()),
        Some(v) => Err(StoreError::InvalidLayout {
            path: header,
            message: format!("unsupported imageLayoutVersion `{v}`"),
        }),
        None => Err(StoreError::InvalidLayout {
            path: header,
            message: "`oci-layout` is not JSON with an `imageLayoutVersion`".into(),
        }),
    }
}

#[async_trait]
impl ReadStore for LayoutStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor> {
        let entry = match target {
            TagOrDigest::Tag(t) => self
                .tagged()?
                .iter()
                .rev()
                .find(|e| e.ref_name() == Some(t.as_str()))
                .cloned(),
            TagOrDigest::Digest(d) => self.find_digest(d)?,
        };
        match (entry, target) {
            (Some(e), _) => self.clean(&e).await,
            (None, TagOrDigest::Digest(d)) if self.blob_exists(d).await? => {
                Ok(self.manifest_get(d).await?.descriptor())
            }
            (None, _) => Err(self.not_found(target)),
        }
    }

    async fn resolve_default(&self) -> Result<Descriptor> {
        let index = self.index()?;
        let tagged: Vec<&index::Entry> = index
            .entries
            .iter()
            .filter(|e| e.ref_name().is_some())
            .collect();
        let candidates = if tagged.is_empty() {
            index.entries.iter().collect()
        } else {
            tagged
        };
        let mut digests: Vec<&Digest> = candidates.iter().map(|e| e.digest()).collect();
        digests.dedup();
        match (candidates.first(), digests.len()) {
            (Some(e), 1) => self.clean(e).await,
            (None, _) => Err(StoreError::InvalidInput {
                store: self.name.clone(),
                message: "the layout holds no manifest".into(),
            }),
            _ => Err(StoreError::InvalidInput {
                store: self.name.clone(),
                message: format!(
                    "the layout holds {} manifests; name one as `{}:TAG` (tags: {})",
                    digests.len(),
                    self.name,
                    index.tags().join(", ")
                ),
            }),
        }
    }

    async fn manifest_get(&self, digest: &Digest) -> Result<RawManifest> {
        manifest::get(self, digest).await
    }

    async fn manifest_exists(&self, digest: &Digest) -> Result<bool> {
        self.blob_exists(digest).await
    }

    async fn blob_get(&self, desc: &Descriptor) -> Result<BlobStream> {
        blob::get(self, desc).await
    }

    async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        Ok(tokio::fs::metadata(self.blob_path(digest))
            .await
            .is_ok_and(|m| m.is_file()))
    }

    async fn tag_list(&self) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .tagged()?
            .iter()
            .filter_map(|e| e.ref_name().map(String::from))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn tags_naming(&self, digest: &Digest) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .tagged()?
            .iter()
            .filter(|e| e.digest() == digest)
            .filter_map(|e| e.ref_name().map(String::from))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let types: Vec<&str> = artifact_type.into_iter().collect();
        let (listing, _) = self
            .referrers
            .listing(self, subject, &types, 0, usize::MAX)
            .await?;
        Ok(listing
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }
}

#[async_trait]
impl Store for LayoutStore {
    async fn manifest_put(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<PushResult> {
        manifest::put(self, manifest, tag).await
    }

    async fn blob_put(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        blob::put(self, desc, data, blob::Check::Verify).await
    }

    async fn blob_put_verified(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        blob::put(self, desc, data, blob::Check::AlreadyVerified).await
    }

    async fn manifest_delete(&self, digest: &Digest) -> Result<()> {
        manifest::delete(self, digest).await
    }

    async fn tag_delete(&self, tag: &str) -> Result<()> {
        let t = tag.to_string();
        let found = index::update(&self.root, move |idx| idx.untag(&t)).await?;
        if found {
            Ok(())
        } else {
            Err(self.not_found(tag))
        }
    }
}

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;
