//! The store interface: one read half, one write half, implemented by every place that holds
//! OCI content (remote registry, OCI layout directory, OCI archive).
//!
//! Modelled on oras-go's `ReadOnlyTarget`/`Target` and regclient's `scheme.API`: methods are
//! grouped by noun (`manifest_*`, `blob_*`, `tag_*`), a store instance is bound to one
//! repository, and optional abilities are default methods that report `Unsupported`. Code
//! above this trait never matches on the kind of store.

use async_trait::async_trait;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest};

use crate::blob::BlobStream;
use crate::error::{Result, StoreError};

/// What a store did with a pushed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    /// The descriptor of the stored manifest.
    pub descriptor: Descriptor,
    /// Whether the store indexed the manifest's `subject` itself, so its referrers listing
    /// already includes it. A registry without the referrers API answers `false`, and the
    /// pusher must maintain the referrers tag (DESIGN §2.3).
    pub subject_indexed: bool,
}

/// Where a registry repository lives, so a store in the same registry can mount blobs from it
/// instead of copying them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSource {
    /// The registry (host[:port]).
    pub registry: String,
    /// The repository path.
    pub repository: String,
}

/// Reading content from one repository of a store.
#[async_trait]
pub trait ReadStore: Send + Sync {
    /// How this store is named in messages: `oci:/path`, `oci-archive:/a.tar`,
    /// `registry.example.com/repo`.
    fn name(&self) -> &str;

    /// Resolve a tag or digest to the descriptor of the manifest it names.
    async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor>;

    /// Resolve a reference that names no tag or digest. Registries use `latest`; layouts and
    /// archives that hold exactly one manifest use it, as skopeo does.
    async fn resolve_default(&self) -> Result<Descriptor> {
        self.resolve(&TagOrDigest::Tag("latest".to_string())).await
    }

    /// Fetch a manifest by digest, verified against it and at most 4 MiB.
    async fn manifest_get(&self, digest: &Digest) -> Result<RawManifest>;

    /// Fetch the manifest a tag or digest names. Stores that can do this in one request
    /// override it.
    async fn manifest_fetch(&self, target: &TagOrDigest) -> Result<RawManifest> {
        let desc = self.resolve(target).await?;
        self.manifest_get(&desc.digest).await
    }

    /// Resolve `target`, or the store's default manifest when a reference names none (see
    /// [`ReadStore::resolve_default`]).
    async fn resolve_target(&self, target: Option<&TagOrDigest>) -> Result<Descriptor> {
        match target {
            Some(t) => self.resolve(t).await,
            None => self.resolve_default().await,
        }
    }

    /// Fetch the manifest `target` names, or the store's default manifest.
    async fn manifest_fetch_target(&self, target: Option<&TagOrDigest>) -> Result<RawManifest> {
        match target {
            Some(t) => self.manifest_fetch(t).await,
            None => {
                let desc = self.resolve_default().await?;
                self.manifest_get(&desc.digest).await
            }
        }
    }

    /// Whether a manifest with this digest exists.
    async fn manifest_exists(&self, digest: &Digest) -> Result<bool>;

    /// Stream a blob; the stream fails unless the content matches the descriptor's digest and
    /// size (see [`crate::blob::verified`]).
    async fn blob_get(&self, desc: &Descriptor) -> Result<BlobStream>;

    /// Whether a blob with this digest exists.
    async fn blob_exists(&self, digest: &Digest) -> Result<bool>;

    /// All tags, sorted.
    async fn tag_list(&self) -> Result<Vec<String>>;

    /// The tags that name `digest`, sorted. The default resolves every tag, a few at a
    /// time (a request each on a registry); a store that knows what its tags name answers
    /// from that.
    async fn tags_naming(&self, digest: &Digest) -> Result<Vec<String>> {
        use futures_util::{StreamExt as _, stream};
        let lookups = self.tag_list().await?.into_iter().map(|t| async move {
            let found = self.resolve(&TagOrDigest::Tag(t.clone())).await;
            (t, found)
        });
        let mut answers = stream::iter(lookups).buffer_unordered(8);
        let mut tags = Vec::new();
        while let Some((tag, found)) = answers.next().await {
            match found {
                Ok(d) if &d.digest == digest => tags.push(tag),
                Ok(_) => {}
                // A tag deleted meanwhile names nothing.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        tags.sort();
        Ok(tags)
    }

    /// Descriptors of the manifests whose `subject` is `subject`, each with its
    /// `artifactType` and annotations; only those of `artifact_type` when given.
    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>>;

    /// Where blobs can be mounted from, for stores that live in a registry.
    fn mount_source(&self) -> Option<MountSource> {
        None
    }
}

/// Writing content to one repository of a store.
#[async_trait]
pub trait Store: ReadStore {
    /// Store a manifest's exact bytes, and point `tag` at it when given. The blobs and
    /// manifests it names must already be in the store.
    async fn manifest_put(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<PushResult>;

    /// Store a blob from a stream, verifying it against `desc` before it becomes visible.
    async fn blob_put(&self, desc: &Descriptor, data: BlobStream) -> Result<()>;

    /// [`Store::blob_put`] of a stream that already fails unless its content matches `desc`
    /// (what [`ReadStore::blob_get`] returns, or [`crate::blob::verified`]): a store may skip
    /// hashing it a second time. The graph copy writes with this. The default verifies anyway.
    async fn blob_put_verified(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        self.blob_put(desc, data).await
    }

    /// Delete a manifest and every tag that points at it.
    async fn manifest_delete(&self, digest: &Digest) -> Result<()>;

    /// Remove a tag, keeping the manifest it pointed at.
    async fn tag_delete(&self, tag: &str) -> Result<()> {
        let _ = tag;
        Err(StoreError::Unsupported {
            store: self.name().to_string(),
            operation: "deleting tags".to_string(),
        })
    }

    /// Make a blob of another repository of the same registry available here without moving
    /// its bytes. `Ok(false)` when the store cannot or will not; the caller then uploads.
    async fn blob_mount(&self, desc: &Descriptor, from: &MountSource) -> Result<bool> {
        let _ = (desc, from);
        Ok(false)
    }

    /// Make everything written so far durable where the store buffers writes (an archive is
    /// written out here). Stores that write through do nothing.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}
