//! The facts a status is decided from, and the one interface the engine reads them through.
//!
//! A status needs three facts (DESIGN §4): the image's manifest (its digest and own
//! annotations), the referrers listing of its digest, and what its rolling tag (its
//! `org.opencontainers.image.version`) points to. [`FactSource`] reads each of them;
//! [`crate::Engine`] runs the steps over it and decides (`Engine::status_from`). There are two
//! kinds of source, and no second copy of the steps:
//!
//! - [`StoreFacts`]: the direct reads from a [`ReadStore`], one store request per fact;
//! - [`Cached`]: answers from a [`FactCache`] of single-flight maps ([`crate::once_map`]),
//!   reading through another source on a miss. The batch lookup ([`crate::Lookup`]) keeps one
//!   cache for all repositories (each source is scoped to one), with its time-to-live
//!   settings; `lineage history` keeps one for the length of the command, so revisions of one
//!   lineage read their rolling tag once.
//!
//! Base detection (issue 17, [`crate::base`]) reads three more kinds of fact through the same
//! interface, so the caches cover them too: an image config's `rootfs.diff_ids`
//! ([`FactSource::config`]), a build provenance statement ([`FactSource::provenance`]) and a
//! repository's tags ([`FactSource::tags`], for the index of known bases); and it reaches the
//! base's repository through [`FactSource::elsewhere`].
//!
//! An image named by its own rolling tag (tag `1.0` on an image of version `1.0`) carries what
//! that tag points to from the one manifest read ([`ManifestFacts::rolling_tag`]), so its
//! rolling tag is not read a second time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use lineage_oci::{Descriptor, Digest, ImageRef, ManifestKind, RawManifest, TagOrDigest, time};
use lineage_store::{ErrorKind, ReadStore, blob};
use tokio::sync::OnceCell;

use crate::base::{Claim, ImageConfig, Provenance, annotation_claim};
use crate::lookup::StoreOpener;

use crate::engine::EngineError;
use crate::once_map::OnceMap;
use crate::profile::{ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, revision_tag};
use crate::signed::SignedFact;
use crate::status::RollingTagInfo;
use lineage_trust::Statement;

/// An image manifest as a status reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestFacts {
    /// The manifest's digest.
    pub(crate) digest: Digest,
    /// Its media type, as the store gave it.
    pub(crate) media_type: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its own `artifactType`.
    pub(crate) artifact_type: Option<String>,
    /// The manifest it refers to (`subject`), for a referrer.
    pub(crate) subject: Option<Descriptor>,
    /// The manifest's (or index's) own annotations; empty when it cannot be read as one.
    pub(crate) annotations: BTreeMap<String, String>,
    /// What the image's rolling tag points to, when the manifest was read by that very tag
    /// (so it points to this manifest).
    pub(crate) rolling_tag: Option<Arc<RollingTagInfo>>,
    /// Whether it is an image index.
    pub(crate) is_index: bool,
    /// The config descriptor of an image manifest.
    pub(crate) config: Option<Descriptor>,
    /// The layers of an image manifest (an attestation manifest's statements among them).
    pub(crate) layers: Vec<Descriptor>,
    /// The manifests an index lists.
    pub(crate) children: Vec<Descriptor>,
    /// The base its own annotations name (`org.opencontainers.image.base.digest` / `.name`),
    /// parsed once when the manifest is read, not on every status.
    pub(crate) base_claim: Option<Claim>,
}

impl ManifestFacts {
    /// The facts of `manifest`, read from the repository `name` by `tag` (`None`: by digest,
    /// or as the store's default manifest).
    fn read(name: &str, tag: Option<&str>, manifest: &RawManifest) -> ManifestFacts {
        let annotations = manifest_annotations(manifest);
        let rolling_tag = annotations
            .get(ANNOTATION_VERSION)
            .filter(|version| Some(version.as_str()) == tag)
            .map(|version| Arc::new(rolling_info(name, version, manifest.digest(), &annotations)));
        let view = manifest.view().ok();
        let base_claim = annotation_claim(&annotations);
        ManifestFacts {
            digest: manifest.digest().clone(),
            media_type: manifest.media_type().to_string(),
            size: manifest.bytes().len() as u64,
            artifact_type: view.and_then(|v| v.artifact_type.clone()),
            subject: view.and_then(|v| v.subject.clone()),
            annotations,
            rolling_tag,
            is_index: view.is_some_and(|v| v.kind == ManifestKind::Index),
            config: view.and_then(|v| v.config.clone()),
            layers: view.map(|v| v.layers.clone()).unwrap_or_default(),
            children: view.map(|v| v.manifests.clone()).unwrap_or_default(),
            base_claim,
        }
    }

    /// The manifest's descriptor (media type, digest, size).
    pub(crate) fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size)
    }

    /// The image's `org.opencontainers.image.version`: its lineage's rolling tag.
    pub(crate) fn version(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_VERSION).map(String::as_str)
    }
}

/// The own annotations of a manifest (empty when it cannot be read as one).
pub(crate) fn manifest_annotations(manifest: &RawManifest) -> BTreeMap<String, String> {
    manifest
        .view()
        .map(|v| v.annotations.clone())
        .unwrap_or_default()
}

/// What the rolling tag `version` of repository `name` says, from the manifest it points to
/// (its digest and annotations).
fn rolling_info(
    name: &str,
    version: &str,
    digest: &Digest,
    annotations: &BTreeMap<String, String>,
) -> RollingTagInfo {
    let revision = annotations.get(ANNOTATION_REVISION).cloned();
    let reference = match &revision {
        Some(r) => format!("{name}:{}", revision_tag(version, r)),
        None => format!("{name}:{version}"),
    };
    RollingTagInfo {
        reference,
        digest: digest.clone(),
        created: annotations
            .get(ANNOTATION_CREATED)
            .and_then(|c| time::parse_lenient(c).ok()),
        revision,
    }
}

/// Where the engine reads the facts of a status from: one repository's manifests, referrers
/// listings and tags. Each method is one read (one store request) unless the source answers
/// from a cache.
#[async_trait]
pub(crate) trait FactSource: Send + Sync {
    /// The manifest `target` names (the store's default manifest when `None`).
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError>;

    /// The referrers listing of `digest`, any artifact types.
    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError>;

    /// What the rolling tag `version` points to; `None` when there is no such tag (or
    /// `version` cannot be a tag).
    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError>;

    /// The image config `config` describes (its `rootfs.diff_ids`): one blob read.
    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError>;

    /// The build provenance statement in the attestation layer `layer`: one blob read.
    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError>;

    /// The repository's tags (at most [`crate::base::MAX_BASE_TAGS`] are used).
    async fn tags(&self) -> Result<Arc<[String]>, EngineError>;

    /// The signature envelope `layer` describes (issue 16): one blob read, verified, at most
    /// [`crate::signed::MAX_ENVELOPE_BYTES`].
    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError>;

    /// What verifying the signatures of the lifecycle record `record` (a referrer of the
    /// image `image`) under `statement` now finds ([`crate::signed::check`]: the record's
    /// signature listing, then a signature's manifest and envelope; the record manifest when
    /// its listed annotations do not rebuild it), read through this source's own facts. A
    /// caching source keeps the outcome with the facts.
    async fn signed_record(
        &self,
        statement: &Statement,
        record: &Descriptor,
        image: &ManifestFacts,
    ) -> Result<SignedFact, EngineError> {
        Ok(Arc::new(
            crate::signed::check(self, statement, record, image).await?,
        ))
    }

    /// A source of the same kind for `image`'s repository (its tag or digest is not used),
    /// or `None` when this source reads its own repository only.
    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>>;

    /// The repository this source reads, as a trust policy's `registryScopes` name it
    /// (`REGISTRY/REPOSITORY`, a registry store's name; a layout's name otherwise).
    fn repository(&self) -> Cow<'_, str>;
}

#[async_trait]
impl FactSource for Box<dyn FactSource + '_> {
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError> {
        (**self).manifest(target).await
    }

    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
        (**self).referrers(digest).await
    }

    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
        (**self).rolling_tag(version).await
    }

    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
        (**self).config(config).await
    }

    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
        (**self).provenance(layer).await
    }

    async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
        (**self).tags().await
    }

    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
        (**self).envelope(layer).await
    }

    async fn signed_record(
        &self,
        statement: &Statement,
        record: &Descriptor,
        image: &ManifestFacts,
    ) -> Result<SignedFact, EngineError> {
        (**self).signed_record(statement, record, image).await
    }

    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
        (**self).elsewhere(image)
    }

    fn repository(&self) -> Cow<'_, str> {
        (**self).repository()
    }
}

/// The direct reads: each fact is one request to `store`.
#[derive(Clone, Copy)]
pub(crate) struct StoreFacts<'a> {
    store: &'a dyn ReadStore,
    /// Opens other repositories (a base's), when the caller gave a way to.
    opener: Option<&'a dyn StoreOpener>,
}

impl<'a> StoreFacts<'a> {
    /// Reads from `store`.
    pub(crate) fn new(store: &'a dyn ReadStore) -> StoreFacts<'a> {
        StoreFacts {
            store,
            opener: None,
        }
    }

    /// Reads from `store`, and from other repositories through `opener`.
    pub(crate) fn with_opener(
        store: &'a dyn ReadStore,
        opener: &'a dyn StoreOpener,
    ) -> StoreFacts<'a> {
        StoreFacts {
            store,
            opener: Some(opener),
        }
    }

    /// The small JSON blob `desc` describes, verified, refused over `limit` bytes.
    async fn small_blob(&self, desc: &Descriptor, limit: u64) -> Result<Bytes, EngineError> {
        if desc.size > limit {
            return Err(EngineError::Store(Arc::new(
                lineage_store::StoreError::InvalidInput {
                    store: self.store.name().to_string(),
                    message: format!(
                        "blob {} is {} bytes, over the {limit}-byte limit",
                        desc.digest, desc.size
                    ),
                },
            )));
        }
        let stream = blob::verified(self.store.blob_get(desc).await?, desc, self.store.name());
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(blob::read_all(stream, limit).await?)
    }
}

/// Direct reads from a repository opened on first use through an opener: the source
/// [`StoreFacts::elsewhere`] gives.
struct OpenedFacts<'a> {
    image: ImageRef,
    opener: &'a dyn StoreOpener,
    store: OnceCell<Arc<dyn ReadStore>>,
}

impl OpenedFacts<'_> {
    async fn reads(&self) -> Result<StoreFacts<'_>, EngineError> {
        let store = self
            .store
            .get_or_try_init(|| self.opener.open(&self.image))
            .await?;
        Ok(StoreFacts::with_opener(store.as_ref(), self.opener))
    }
}

#[async_trait]
impl FactSource for OpenedFacts<'_> {
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError> {
        self.reads().await?.manifest(target).await
    }

    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
        self.reads().await?.referrers(digest).await
    }

    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
        self.reads().await?.rolling_tag(version).await
    }

    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
        self.reads().await?.config(config).await
    }

    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
        self.reads().await?.provenance(layer).await
    }

    async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
        self.reads().await?.tags().await
    }

    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
        self.reads().await?.envelope(layer).await
    }

    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
        Some(Box::new(OpenedFacts {
            image: image.clone(),
            opener: self.opener,
            store: OnceCell::new(),
        }))
    }

    fn repository(&self) -> Cow<'_, str> {
        Cow::Owned(self.image.repository_ref())
    }
}

#[async_trait]
impl FactSource for StoreFacts<'_> {
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError> {
        let manifest = match target {
            Some(t) => self.store.manifest_fetch(t).await?,
            None => self.store.manifest_fetch_target(None).await?,
        };
        let tag = match target {
            Some(TagOrDigest::Tag(t)) => Some(t.as_str()),
            _ => None,
        };
        Ok(Arc::new(ManifestFacts::read(
            self.store.name(),
            tag,
            &manifest,
        )))
    }

    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
        Ok(self.store.referrers(digest, None).await?.into())
    }

    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
        let manifest = match self
            .store
            .manifest_fetch(&TagOrDigest::Tag(version.to_string()))
            .await
        {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidInput) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let info = rolling_info(
            self.store.name(),
            version,
            manifest.digest(),
            &manifest_annotations(&manifest),
        );
        Ok(Some(Arc::new(info)))
    }

    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
        let bytes = self
            .small_blob(config, crate::base::MAX_CONFIG_BYTES)
            .await?;
        Ok(Arc::new(ImageConfig::parse(&bytes)))
    }

    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
        let bytes = self
            .small_blob(layer, crate::base::MAX_PROVENANCE_BYTES)
            .await?;
        Ok(Arc::new(Provenance::parse(&bytes)))
    }

    async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
        Ok(self.store.tag_list().await?.into())
    }

    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
        self.small_blob(layer, crate::signed::MAX_ENVELOPE_BYTES)
            .await
    }

    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
        let opener = self.opener?;
        Some(Box::new(OpenedFacts {
            image: image.clone(),
            opener,
            store: OnceCell::new(),
        }))
    }

    fn repository(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.store.name())
    }
}

/// Single-flight maps of facts, shared by every [`Cached`] source made over them. Facts are
/// cached, never statuses: the decision runs on every status, at its own instant.
pub(crate) struct FactCache {
    /// Tag → manifest (and the default manifest), kept for the tag time to live.
    pub(crate) tags: OnceMap<String, Arc<ManifestFacts>, EngineError>,
    /// Digest → manifest, kept for the digest time to live.
    pub(crate) manifests: OnceMap<String, Arc<ManifestFacts>, EngineError>,
    /// Digest → referrers listing, kept for the digest time to live (a listing changes when
    /// records are written).
    pub(crate) referrers: OnceMap<String, Arc<[Descriptor]>, EngineError>,
    /// Version → what the rolling tag points to, "no such tag" included; kept for the tag
    /// time to live (it is a tag resolution).
    pub(crate) rolling: OnceMap<String, Option<Arc<RollingTagInfo>>, EngineError>,
    /// Config digest → its `rootfs.diff_ids`, kept for the digest time to live (content
    /// addressed; scoped all the same, as a registry grants reads per repository).
    pub(crate) configs: OnceMap<String, Arc<ImageConfig>, EngineError>,
    /// Statement digest → the base images a provenance statement names.
    pub(crate) provenance: OnceMap<String, Arc<Provenance>, EngineError>,
    /// Repository → its tags, kept for the tag time to live.
    pub(crate) tags_of: OnceMap<String, Arc<[String]>, EngineError>,
    /// Record digest → what verifying its signatures found (issue 16), kept for the digest
    /// time to live: a signature added, or a certificate expiring, is seen within it.
    pub(crate) signed: OnceMap<String, SignedFact, EngineError>,
}

impl FactCache {
    /// Empty maps: tag resolutions fresh for `tag_ttl`, facts of a digest for `digest_ttl`,
    /// each map holding about `max_entries` at most.
    pub(crate) fn new(tag_ttl: Duration, digest_ttl: Duration, max_entries: usize) -> FactCache {
        FactCache {
            tags: OnceMap::new(tag_ttl, max_entries),
            manifests: OnceMap::new(digest_ttl, max_entries),
            referrers: OnceMap::new(digest_ttl, max_entries),
            rolling: OnceMap::new(tag_ttl, max_entries),
            configs: OnceMap::new(digest_ttl, max_entries),
            provenance: OnceMap::new(digest_ttl, max_entries),
            tags_of: OnceMap::new(tag_ttl, max_entries),
            signed: OnceMap::new(digest_ttl, max_entries),
        }
    }

    /// Maps whose facts never expire, for the length of one command.
    pub(crate) fn unbounded() -> FactCache {
        FactCache::new(Duration::MAX, Duration::MAX, usize::MAX)
    }

    /// A source that answers from these maps for the repository `scope`, reading through
    /// `reads` on a miss.
    pub(crate) fn over<'a, S: FactSource>(
        &'a self,
        scope: impl Into<Cow<'a, str>>,
        reads: S,
    ) -> Cached<'a, S> {
        Cached {
            cache: self,
            scope: scope.into(),
            scope_is_repository: false,
            reads,
        }
    }

    /// [`FactCache::over`] scoped to `image`'s repository (`REGISTRY/REPOSITORY`), which
    /// `reads` reads: the scope is then also the source's [`FactSource::repository`], and is
    /// not built again on every status.
    pub(crate) fn over_repository<S: FactSource>(
        &self,
        image: &ImageRef,
        reads: S,
    ) -> Cached<'_, S> {
        Cached {
            scope_is_repository: true,
            ..self.over(image.repository_ref(), reads)
        }
    }
}

/// The cache key of `name` (a tag after `:`, a digest after `@`) in the repository `scope`:
/// built on every status, so without the formatting machinery.
fn key(scope: &str, separator: char, name: &str) -> String {
    let mut key = String::with_capacity(scope.len() + 1 + name.len());
    key.push_str(scope);
    key.push(separator);
    key.push_str(name);
    key
}

/// A fact source answering from a [`FactCache`] for one repository, reading through another
/// source on a miss (see [`FactCache::over`]).
pub(crate) struct Cached<'a, S> {
    cache: &'a FactCache,
    /// The repository: keys are qualified by it, since tags and referrers listings belong to
    /// a repository.
    scope: Cow<'a, str>,
    /// Whether `scope` is the repository `reads` reads, as [`FactSource::repository`] names
    /// it ([`FactCache::over_repository`]).
    scope_is_repository: bool,
    reads: S,
}

#[async_trait]
impl<S: FactSource> FactSource for Cached<'_, S> {
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError> {
        // A manifest read by tag is also the manifest of its digest: kept under both, so a
        // later lookup by that digest reads nothing (without the rolling tag, a tag
        // resolution that must not outlive the tag time to live).
        let read_by_tag = || async {
            let facts = self.reads.manifest(target).await?;
            let by_digest = ManifestFacts {
                rolling_tag: None,
                ..ManifestFacts::clone(&facts)
            };
            let key = key(&self.scope, '@', facts.digest.as_str());
            self.cache.manifests.insert(key, Arc::new(by_digest));
            Ok(facts)
        };
        match target {
            Some(TagOrDigest::Tag(t)) => {
                let key = key(&self.scope, ':', t);
                self.cache.tags.get_or_fetch(key, read_by_tag).await
            }
            Some(TagOrDigest::Digest(d)) => {
                let key = key(&self.scope, '@', d.as_str());
                let read = || self.reads.manifest(target);
                self.cache.manifests.get_or_fetch(key, read).await
            }
            None => {
                let key = self.scope.to_string();
                self.cache.tags.get_or_fetch(key, read_by_tag).await
            }
        }
    }

    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
        let key = key(&self.scope, '@', digest.as_str());
        self.cache
            .referrers
            .get_or_fetch(key, || self.reads.referrers(digest))
            .await
    }

    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
        let key = key(&self.scope, ':', version);
        self.cache
            .rolling
            .get_or_fetch(key, || self.reads.rolling_tag(version))
            .await
    }

    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
        let key = key(&self.scope, '@', config.digest.as_str());
        self.cache
            .configs
            .get_or_fetch(key, || self.reads.config(config))
            .await
    }

    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
        let key = key(&self.scope, '@', layer.digest.as_str());
        self.cache
            .provenance
            .get_or_fetch(key, || self.reads.provenance(layer))
            .await
    }

    async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
        let key = self.scope.to_string();
        self.cache
            .tags_of
            .get_or_fetch(key, || self.reads.tags())
            .await
    }

    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
        // Read only on a miss of `signed_record`, which keeps the outcome.
        self.reads.envelope(layer).await
    }

    async fn signed_record(
        &self,
        statement: &Statement,
        record: &Descriptor,
        image: &ManifestFacts,
    ) -> Result<SignedFact, EngineError> {
        // The record's digest names its bytes, and so its subject; the policy is the
        // engine's, one per cache.
        let key = key(&self.scope, '@', record.digest.as_str());
        self.cache
            .signed
            .get_or_fetch(key, || self.reads.signed_record(statement, record, image))
            .await
    }

    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
        let reads = self.reads.elsewhere(image)?;
        Some(Box::new(self.cache.over_repository(image, reads)))
    }

    fn repository(&self) -> Cow<'_, str> {
        if self.scope_is_repository {
            return Cow::Borrowed(&self.scope);
        }
        self.reads.repository()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Mutex;

    use lineage_oci::time::parse_lenient;
    use lineage_store::LayoutStore;

    use super::*;
    use crate::lookup::tests::push_image;
    use crate::{Engine, Reason, RecordSpec, State};

    /// A fact source that counts its reads, by method.
    struct Counting<S> {
        inner: S,
        reads: Mutex<Vec<&'static str>>,
    }

    impl<S> Counting<S> {
        fn new(inner: S) -> Counting<S> {
            Counting {
                inner,
                reads: Mutex::new(Vec::new()),
            }
        }

        fn reads(&self) -> Vec<&'static str> {
            self.reads.lock().unwrap().clone()
        }

        fn count(&self, what: &'static str) {
            self.reads.lock().unwrap().push(what);
        }
    }

    #[async_trait]
    impl<S: FactSource> FactSource for &Counting<S> {
        async fn manifest(
            &self,
            target: Option<&TagOrDigest>,
        ) -> Result<Arc<ManifestFacts>, EngineError> {
            self.count("manifest");
            self.inner.manifest(target).await
        }
        async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
            self.count("referrers");
            self.inner.referrers(digest).await
        }
        async fn rolling_tag(
            &self,
            version: &str,
        ) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
            self.count("rolling_tag");
            self.inner.rolling_tag(version).await
        }

        async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
            self.count("config");
            self.inner.config(config).await
        }

        async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
            self.count("provenance");
            self.inner.provenance(layer).await
        }

        async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
            self.count("tags");
            self.inner.tags().await
        }

        async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
            self.count("envelope");
            self.inner.envelope(layer).await
        }

        fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
            self.inner.elsewhere(image)
        }

        fn repository(&self) -> Cow<'_, str> {
            self.inner.repository()
        }
    }

    /// Revisions `20230707` (retired, end-of-life 2023-07-10) and `20230710` (also tagged
    /// `1.0`) of lineage `1.0`.
    async fn lineage() -> (tempfile::TempDir, LayoutStore) {
        let dir = tempfile::tempdir().unwrap();
        let layout = LayoutStore::open_or_create(dir.path()).unwrap();
        let old = push_image(&layout, "20230707", "2023-07-07T08:00:00Z").await;
        let new = push_image(&layout, "20230710", "2023-07-10T08:00:00Z").await;
        lineage_store::Store::manifest_put(&layout, &new, Some("1.0"))
            .await
            .unwrap();
        let spec = RecordSpec {
            created: parse_lenient("2023-07-10T08:00:00Z").unwrap(),
            end_of_life: Some(parse_lenient("2023-07-10T08:00:00Z").unwrap()),
            reason: Some(Reason::Superseded),
            successor: Some("reg.example/app:1.0-20230710".into()),
            superseded_by: None,
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        };
        Engine::default()
            .write_record(&layout, &old.descriptor(), &spec)
            .await
            .unwrap();
        (dir, layout)
    }

    fn tag(t: &str) -> TagOrDigest {
        TagOrDigest::Tag(t.into())
    }

    #[tokio::test]
    async fn a_cold_status_reads_three_facts_and_a_warm_one_none() {
        let (_dir, layout) = lineage().await;
        let engine = Engine::default();
        let at = parse_lenient("2024-01-01").unwrap();
        let reads = Counting::new(StoreFacts::new(&layout));
        let cache = FactCache::unbounded();
        let source = cache.over("app", &reads);
        let target = tag("1.0-20230707");

        let cold = engine
            .status_from(&source, "app:1.0-20230707", Some(&target), at)
            .await
            .unwrap();
        assert_eq!(cold.state, State::EndOfLife);
        assert_eq!(reads.reads(), ["manifest", "referrers", "rolling_tag"]);
        let warm = engine
            .status_from(&source, "app:1.0-20230707", Some(&target), at)
            .await
            .unwrap();
        assert_eq!(warm, cold);
        assert_eq!(reads.reads().len(), 3, "a warm status reads nothing");

        // The direct reads decide the same status.
        let direct = engine
            .status(&layout, "app:1.0-20230707", Some(&target), at)
            .await
            .unwrap();
        assert_eq!(direct, cold);
    }

    #[tokio::test]
    async fn an_image_named_by_its_rolling_tag_reads_that_tag_once() {
        let (_dir, layout) = lineage().await;
        let reads = Counting::new(StoreFacts::new(&layout));
        let at = parse_lenient("2024-01-01").unwrap();
        let s = Engine::default()
            .status_from(&&reads, "app:1.0", Some(&tag("1.0")), at)
            .await
            .unwrap();
        assert_eq!(s.revision.as_deref(), Some("20230710"));
        assert_eq!(s.state, State::Supported);
        assert_eq!(reads.reads(), ["manifest", "referrers"]);
    }

    #[tokio::test]
    async fn a_missing_or_invalid_rolling_tag_is_none_and_cached_as_such() {
        let (_dir, layout) = lineage().await;
        let reads = Counting::new(StoreFacts::new(&layout));
        let cache = FactCache::unbounded();
        let source = cache.over("app", &reads);
        for version in ["2.0", "not a tag"] {
            for _ in 0..2 {
                assert_eq!(source.rolling_tag(version).await.unwrap(), None);
            }
        }
        assert_eq!(reads.reads(), ["rolling_tag", "rolling_tag"]);
        let found = source.rolling_tag("1.0").await.unwrap().unwrap();
        assert_eq!(found.revision.as_deref(), Some("20230710"));
        assert_eq!(found.reference, format!("{}:1.0-20230710", layout.name()));
    }

    #[tokio::test]
    async fn a_digest_lookup_after_a_tag_lookup_reads_nothing_but_its_rolling_tag() {
        let (_dir, layout) = lineage().await;
        let engine = Engine::default();
        let at = parse_lenient("2024-01-01").unwrap();
        let reads = Counting::new(StoreFacts::new(&layout));
        let cache = FactCache::unbounded();
        let source = cache.over("app", &reads);

        let by_tag = engine
            .status_from(&source, "app:1.0", Some(&tag("1.0")), at)
            .await
            .unwrap();
        assert_eq!(reads.reads(), ["manifest", "referrers"]);
        let digest = TagOrDigest::Digest(by_tag.digest.clone());
        let by_digest = engine
            .status_from(&source, "app@digest", Some(&digest), at)
            .await
            .unwrap();
        // The manifest and its referrers are known; what the rolling tag points to is a tag
        // resolution of its own.
        assert_eq!(reads.reads(), ["manifest", "referrers", "rolling_tag"]);
        assert_eq!(by_digest.state, by_tag.state);
        assert_eq!(by_digest.revision, by_tag.revision);
        let direct = engine
            .status(&layout, "app@digest", Some(&digest), at)
            .await
            .unwrap();
        assert_eq!(by_digest, direct);
    }

    #[tokio::test]
    async fn sources_of_different_scopes_do_not_share_facts() {
        let (_dir, layout) = lineage().await;
        let reads = Counting::new(StoreFacts::new(&layout));
        let cache = FactCache::unbounded();
        let target = tag("1.0-20230707");
        for scope in ["app", "other", "app"] {
            cache
                .over(scope, &reads)
                .manifest(Some(&target))
                .await
                .unwrap();
        }
        assert_eq!(reads.reads().len(), 2);
        assert_eq!(cache.tags.stats().hits, 1);
    }
}
