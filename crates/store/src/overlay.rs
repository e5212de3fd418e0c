//! A read store that serves one extra manifest from memory on top of another store, so a
//! manifest lineage wrote (an annotated release, say) can be copied with the one graph copy,
//! its children read from the store underneath.

use async_trait::async_trait;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest};

use crate::blob::BlobStream;
use crate::error::Result;
use crate::store::{MountSource, ReadStore};

/// `inner`, plus `extra` served by its digest.
pub struct WithManifest<'a> {
    inner: &'a dyn ReadStore,
    extra: RawManifest,
}

impl<'a> WithManifest<'a> {
    /// Serve `extra` on top of `inner`.
    pub fn new(inner: &'a dyn ReadStore, extra: RawManifest) -> WithManifest<'a> {
        WithManifest { inner, extra }
    }
}

#[async_trait]
impl ReadStore for WithManifest<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor> {
        match target {
            TagOrDigest::Digest(d) if d == self.extra.digest() => Ok(self.extra.descriptor()),
            _ => self.inner.resolve(target).await,
        }
    }
    async fn manifest_get(&self, digest: &Digest) -> Result<RawManifest> {
        if digest == self.extra.digest() {
            return Ok(self.extra.clone());
        }
        self.inner.manifest_get(digest).await
    }
    async fn manifest_exists(&self, digest: &Digest) -> Result<bool> {
        Ok(digest == self.extra.digest() || self.inner.manifest_exists(digest).await?)
    }
    async fn blob_get(&self, desc: &Descriptor) -> Result<BlobStream> {
        self.inner.blob_get(desc).await
    }
    async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        self.inner.blob_exists(digest).await
    }
    async fn tag_list(&self) -> Result<Vec<String>> {
        self.inner.tag_list().await
    }
    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        self.inner.referrers(subject, artifact_type).await
    }
    fn mount_source(&self) -> Option<MountSource> {
        self.inner.mount_source()
    }
}
