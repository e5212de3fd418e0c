//! The OCI archive store (`oci-archive:PATH.tar`): a tar of an OCI image layout, as
//! `docker buildx build -o type=oci`, `buildah commit oci-archive:` and skopeo write it.
//!
//! Like skopeo's `oci-archive` transport, the archive is unpacked into a private staging
//! layout and every operation is the [`LayoutStore`]'s, so archives and layouts share one
//! implementation. A writable archive keeps its existing content and is packed again,
//! atomically, by [`Store::flush`].

mod tarball;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest};

use crate::blob::BlobStream;
use crate::error::{Result, StoreError};
use crate::layout::LayoutStore;
use crate::store::{PushResult, ReadStore, Store};

/// A tar archive of an OCI image layout.
#[derive(Debug)]
pub struct ArchiveStore {
    path: PathBuf,
    layout: LayoutStore,
    writable: bool,
    dirty: AtomicBool,
    _staging: tempfile::TempDir,
}

impl ArchiveStore {
    /// Open an existing archive for reading.
    pub async fn open(path: impl AsRef<Path>) -> Result<ArchiveStore> {
        let path = path.as_ref().to_path_buf();
        let staging = staging_dir(&std::env::temp_dir())?;
        let (p, s) = (path.clone(), staging.path().to_path_buf());
        crate::fs::blocking(move || tarball::unpack(&p, &s)).await?;
        ArchiveStore::with_staging(path, staging, false)
    }

    /// Open an archive for writing, keeping what it holds; a missing file starts empty.
    /// Nothing is written to `path` until [`Store::flush`]. The staging directories and
    /// temporary files that killed writes left beside it are removed
    /// ([`crate::fs::sweep_stale`]).
    pub async fn open_or_create(path: impl AsRef<Path>) -> Result<ArchiveStore> {
        let path = path.as_ref().to_path_buf();
        let parent = crate::fs::parent_dir(&path);
        if !parent.is_dir() {
            return Err(StoreError::InvalidArchive {
                path,
                message: format!("the directory `{}` does not exist", parent.display()),
            });
        }
        let swept = parent.clone();
        crate::fs::blocking(move || {
            crate::fs::sweep_stale(&swept, std::time::SystemTime::now());
            Ok(())
        })
        .await?;
        let staging = staging_dir(&parent)?;
        if path.exists() {
            let (p, s) = (path.clone(), staging.path().to_path_buf());
            crate::fs::blocking(move || tarball::unpack(&p, &s)).await?;
        }
        ArchiveStore::with_staging(path, staging, true)
    }

    fn with_staging(
        path: PathBuf,
        staging: tempfile::TempDir,
        writable: bool,
    ) -> Result<ArchiveStore> {
        let name = format!("oci-archive:{}", path.display());
        let layout = if writable {
            LayoutStore::open_or_create(staging.path())
        } else {
            LayoutStore::open(staging.path())
        }
        .map_err(|e| match e {
            StoreError::InvalidLayout { message, .. } => StoreError::InvalidArchive {
                path: path.clone(),
                message,
            },
            other => other,
        })?
        .with_name(name);
        Ok(ArchiveStore {
            path,
            layout,
            writable,
            dirty: AtomicBool::new(false),
            _staging: staging,
        })
    }

    /// The archive file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writable(&self, operation: &str) -> Result<&LayoutStore> {
        if !self.writable {
            return Err(StoreError::Unsupported {
                store: self.layout.name().to_string(),
                operation: format!("{operation} (the archive was opened read-only)"),
            });
        }
        self.dirty.store(true, Ordering::SeqCst);
        Ok(&self.layout)
    }
}

impl Drop for ArchiveStore {
    fn drop(&mut self) {
        if self.dirty.load(Ordering::SeqCst) {
            tracing::warn!(archive = %self.path.display(), "archive changes were dropped without a flush");
        }
    }
}

fn staging_dir(parent: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(crate::fs::TEMP_PREFIX)
        .tempdir_in(parent)
        .map_err(|e| StoreError::io("create a staging directory in", parent, e))
}

#[async_trait]
impl ReadStore for ArchiveStore {
    fn name(&self) -> &str {
        self.layout.name()
    }
    async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor> {
        self.layout.resolve(target).await
    }
    async fn resolve_default(&self) -> Result<Descriptor> {
        self.layout.resolve_default().await
    }
    async fn manifest_get(&self, digest: &Digest) -> Result<RawManifest> {
        self.layout.manifest_get(digest).await
    }
    async fn manifest_exists(&self, digest: &Digest) -> Result<bool> {
        self.layout.manifest_exists(digest).await
    }
    async fn blob_get(&self, desc: &Descriptor) -> Result<BlobStream> {
        self.layout.blob_get(desc).await
    }
    async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        self.layout.blob_exists(digest).await
    }
    async fn tag_list(&self) -> Result<Vec<String>> {
        self.layout.tag_list().await
    }
    async fn tags_naming(&self, digest: &Digest) -> Result<Vec<String>> {
        self.layout.tags_naming(digest).await
    }
    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        self.layout.referrers(subject, artifact_type).await
    }
}

#[async_trait]
impl Store for ArchiveStore {
    async fn manifest_put(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<PushResult> {
        self.writable("writing manifests")?
            .manifest_put(manifest, tag)
            .await
    }
    async fn blob_put(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        self.writable("writing blobs")?.blob_put(desc, data).await
    }
    async fn blob_put_verified(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        self.writable("writing blobs")?
            .blob_put_verified(desc, data)
            .await
    }
    async fn manifest_delete(&self, digest: &Digest) -> Result<()> {
        self.writable("deleting manifests")?
            .manifest_delete(digest)
            .await
    }
    async fn tag_delete(&self, tag: &str) -> Result<()> {
        self.writable("deleting tags")?.tag_delete(tag).await
    }
    async fn flush(&self) -> Result<()> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (from, to) = (self.layout.root().to_path_buf(), self.path.clone());
        crate::fs::blocking(move || tarball::pack(&from, &to)).await?;
        self.dirty.store(false, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
