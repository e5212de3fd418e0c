//! [`RegistryStore`]: one repository of a remote registry behind the store interface.
//!
//! Each file owns one noun of the protocol: `manifest.rs` (GET/HEAD/PUT/DELETE with the full
//! `Accept` list), `blob.rs` (verified, resumable reads; monolithic, single-POST and chunked
//! uploads; cross-repository mounts), `tags.rs` (paginated listings: tags, and what no tag names where a registry lists it) and `referrers.rs` (the
//! referrers API with the tag-schema fallback on read and write).

mod blob;
pub(crate) mod manifest;
pub(crate) mod referrers;
mod tags;

use async_trait::async_trait;
use lineage_oci::{Descriptor, Digest, ImageRef, RawManifest, TagOrDigest};
use lineage_store::{BlobStream, MountSource, PushResult, ReadStore, Result, Store};

use crate::auth::Scope;
use crate::client::RegistryClient;

/// One repository of a registry.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    client: RegistryClient,
    registry: String,
    repository: String,
    name: String,
}

impl RegistryStore {
    /// The repository `image` names (its tag or digest is ignored).
    pub fn new(client: RegistryClient, image: &ImageRef) -> RegistryStore {
        RegistryStore::for_repository(client, image.registry(), image.repository())
    }

    /// The repository `repository` of `registry`.
    pub fn for_repository(
        client: RegistryClient,
        registry: &str,
        repository: &str,
    ) -> RegistryStore {
        RegistryStore {
            client,
            registry: registry.to_string(),
            repository: repository.to_string(),
            name: format!("{registry}/{repository}"),
        }
    }

    /// The registry (host[:port]).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The client.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The manifests no tag names, where the registry can list them (`lineage serve`'s
    /// extension); `None` where it cannot (the distribution API lists tags only).
    pub async fn untagged(&self) -> Result<Option<Vec<Descriptor>>> {
        tags::untagged(self).await
    }

    pub(crate) fn path(&self, noun: &str, reference: &str) -> String {
        format!("/v2/{}/{noun}/{reference}", self.repository)
    }

    pub(crate) fn scope(&self, push: bool) -> Scope {
        Scope::Repository {
            name: self.repository.clone(),
            push,
        }
    }
}

#[async_trait]
impl ReadStore for RegistryStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn resolve(&self, target: &TagOrDigest) -> Result<Descriptor> {
        manifest::resolve(self, target).await
    }

    async fn manifest_get(&self, digest: &Digest) -> Result<RawManifest> {
        manifest::fetch(self, &TagOrDigest::Digest(digest.clone())).await
    }

    async fn manifest_fetch(&self, target: &TagOrDigest) -> Result<RawManifest> {
        manifest::fetch(self, target).await
    }

    async fn manifest_exists(&self, digest: &Digest) -> Result<bool> {
        manifest::exists(self, digest).await
    }

    async fn blob_get(&self, desc: &Descriptor) -> Result<BlobStream> {
        blob::get(self, desc).await
    }

    async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        blob::exists(self, digest).await
    }

    async fn tag_list(&self) -> Result<Vec<String>> {
        tags::list(self).await
    }

    async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        referrers::list(self, subject, artifact_type).await
    }

    fn mount_source(&self) -> Option<MountSource> {
        Some(MountSource {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
        })
    }
}

#[async_trait]
impl Store for RegistryStore {
    async fn manifest_put(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<PushResult> {
        manifest::put(self, manifest, tag).await
    }

    async fn blob_put(&self, desc: &Descriptor, data: BlobStream) -> Result<()> {
        blob::put(self, desc, data).await
    }

    async fn manifest_delete(&self, digest: &Digest) -> Result<()> {
        manifest::delete(self, digest).await
    }

    async fn tag_delete(&self, tag: &str) -> Result<()> {
        manifest::delete_tag(self, tag).await
    }

    async fn blob_mount(&self, desc: &Descriptor, from: &MountSource) -> Result<bool> {
        blob::mount(self, desc, from).await
    }
}
