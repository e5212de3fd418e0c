//! Layer-prefix evidence: the image's uncompressed layers (its config's `rootfs.diff_ids`)
//! begin with every layer of a known base revision.
//!
//! Builders recompress the base's layers, so compressed layer digests do not match; the
//! diff_ids do. The known bases are the repositories the user names (`--base-repo`,
//! `baseRepositories`); [`KnownBases`] indexes every manifest their tags name (each platform
//! of an index) by its first diff_id, once per refresh interval, so that matching an image
//! costs its config (one request) and no request per candidate. The nearest base wins: the
//! candidate with the most layers that is a strict prefix of the image's.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use lineage_oci::{Digest, ImageRef, TagOrDigest};

use super::{Claim, Evidence};
use crate::engine::Engine;
use crate::facts::{FactSource, ManifestFacts};
use crate::profile::revision_of;

/// How many manifests of the known bases are read at once while indexing.
const INDEX_CONCURRENCY: usize = 8;

/// What a base match needs of an image config: its uncompressed layer digests, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ImageConfig {
    /// `rootfs.diff_ids`; empty when the config has none or cannot be read as one.
    pub(crate) diff_ids: Vec<String>,
}

impl ImageConfig {
    /// The diff_ids of the config `bytes` (none when it is not an image config).
    pub(crate) fn parse(bytes: &[u8]) -> ImageConfig {
        #[derive(serde::Deserialize)]
        struct Config {
            rootfs: Option<RootFs>,
        }
        #[derive(serde::Deserialize)]
        struct RootFs {
            #[serde(default)]
            diff_ids: Vec<String>,
        }
        let diff_ids = serde_json::from_slice::<Config>(bytes)
            .ok()
            .and_then(|c| c.rootfs)
            .map(|r| r.diff_ids)
            .unwrap_or_default();
        ImageConfig { diff_ids }
    }
}

/// The known base lineages (`--base-repo`) and, once built, their index. Cheap to clone:
/// clones share the index.
#[derive(Clone, Default)]
pub struct KnownBases {
    inner: Arc<Known>,
}

#[derive(Default)]
struct Known {
    repositories: Vec<ImageRef>,
    refresh: Option<Duration>,
    current: RwLock<Option<(Instant, Arc<BaseIndex>)>>,
    building: tokio::sync::Mutex<()>,
}

impl fmt::Debug for KnownBases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownBases")
            .field("repositories", &self.inner.repositories)
            .field("refresh", &self.inner.refresh)
            .finish_non_exhaustive()
    }
}

impl KnownBases {
    /// The lineages of these repositories (their tag or digest is not used), indexed once
    /// and kept for `refresh` (`None`: for the life of the process).
    pub fn new(repositories: Vec<ImageRef>, refresh: Option<Duration>) -> KnownBases {
        KnownBases {
            inner: Arc::new(Known {
                repositories,
                refresh,
                ..Known::default()
            }),
        }
    }

    /// The repositories.
    pub fn repositories(&self) -> &[ImageRef] {
        &self.inner.repositories
    }

    /// How many base revisions (platform manifests) the current index holds; 0 before it
    /// is built.
    pub fn indexed(&self) -> usize {
        self.fresh_or_stale().map_or(0, |i| i.revisions)
    }

    fn fresh_or_stale(&self) -> Option<Arc<BaseIndex>> {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|(_, i)| i.clone())
    }

    fn fresh(&self) -> Option<Arc<BaseIndex>> {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|(at, _)| self.inner.refresh.is_none_or(|r| at.elapsed() < r))
            .map(|(_, i)| i.clone())
    }

    /// The index, built (again, when older than the refresh interval) through `source`'s
    /// access to other repositories; one build at a time.
    pub(crate) async fn index(&self, source: &dyn FactSource) -> Arc<BaseIndex> {
        if let Some(i) = self.fresh() {
            return i;
        }
        let _building = self.inner.building.lock().await;
        if let Some(i) = self.fresh() {
            return i;
        }
        let built = Arc::new(BaseIndex::build(&self.inner.repositories, source).await);
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), built.clone()));
        built
    }
}

/// One known base revision (one platform manifest).
#[derive(Debug, Clone)]
struct Candidate {
    image: ImageRef,
    reference: String,
    digest: Digest,
    diff_ids: Arc<[String]>,
    /// Whether `reference` names a revision tag (`V-R`), the name shown by preference.
    revision_tag: bool,
}

/// Known base revisions by their first diff_id.
#[derive(Debug, Default)]
pub(crate) struct BaseIndex {
    by_first: HashMap<String, Vec<Candidate>>,
    revisions: usize,
}

impl BaseIndex {
    async fn build(repositories: &[ImageRef], source: &dyn FactSource) -> BaseIndex {
        let mut by_digest: HashMap<Digest, Candidate> = HashMap::new();
        for repository in repositories {
            let Some(src) = source.elsewhere(repository) else {
                continue;
            };
            let tags = match src.tags().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(repository = %repository.repository_ref(), error = %lineage_store::one_line(&e), "cannot list the tags of a known base repository");
                    continue;
                }
            };
            let src = src.as_ref();
            let found: Vec<Vec<Candidate>> =
                futures_util::stream::iter(tags.iter().take(super::MAX_BASE_TAGS).cloned())
                    .map(|tag| candidates(src, repository, tag))
                    .buffer_unordered(INDEX_CONCURRENCY)
                    .collect()
                    .await;
            for c in found.into_iter().flatten() {
                match by_digest.get(&c.digest) {
                    Some(old) if old.revision_tag || !c.revision_tag => {}
                    _ => {
                        by_digest.insert(c.digest.clone(), c);
                    }
                }
            }
        }
        let mut index = BaseIndex {
            revisions: by_digest.len(),
            ..BaseIndex::default()
        };
        for c in by_digest.into_values() {
            if let Some(first) = c.diff_ids.first() {
                index.by_first.entry(first.clone()).or_default().push(c);
            }
        }
        index
    }

    /// The nearest known base of an image with these diff_ids and this digest.
    fn nearest(&self, digest: &Digest, diff_ids: &[String]) -> Option<&Candidate> {
        self.by_first
            .get(diff_ids.first()?)?
            .iter()
            .filter(|c| {
                &c.digest != digest
                    && c.diff_ids.len() < diff_ids.len()
                    && diff_ids.starts_with(&c.diff_ids)
            })
            .max_by_key(|c| c.diff_ids.len())
    }
}

/// The revisions `tag` names in `repository` (each platform of an index); none when a read
/// fails (the tag is then not a known base until the next refresh).
async fn candidates(src: &dyn FactSource, repository: &ImageRef, tag: String) -> Vec<Candidate> {
    let Ok(manifest) = src.manifest(Some(&TagOrDigest::Tag(tag.clone()))).await else {
        return Vec::new();
    };
    let revision_tag = manifest
        .version()
        .is_some_and(|v| revision_of(&tag, v).is_some());
    let reference = format!("{}:{tag}", repository.repository_ref());
    let mut manifests = vec![manifest.clone()];
    if manifest.is_index {
        manifests.clear();
        for child in manifest
            .children
            .iter()
            .filter(|c| super::is_platform_image(c))
            .take(super::MAX_PLATFORMS)
        {
            if let Ok(m) = src
                .manifest(Some(&TagOrDigest::Digest(child.digest.clone())))
                .await
            {
                manifests.push(m);
            }
        }
    }
    let mut out = Vec::new();
    for m in manifests {
        let Some(config) = &m.config else { continue };
        let Ok(config) = src.config(config).await else {
            continue;
        };
        if config.diff_ids.is_empty() {
            continue;
        }
        out.push(Candidate {
            image: repository
                .clone()
                .with_target(Some(TagOrDigest::Digest(m.digest.clone()))),
            reference: reference.clone(),
            digest: m.digest.clone(),
            diff_ids: config.diff_ids.clone().into(),
            revision_tag,
        });
    }
    out
}

impl Engine {
    /// The layer-prefix claim for the image manifest `manifest`: its config read through
    /// `source` (one request, none when cached) and matched against the known bases.
    pub(crate) async fn layer_claim(
        &self,
        source: &dyn FactSource,
        manifest: &ManifestFacts,
    ) -> Option<Claim> {
        if self.bases.repositories().is_empty() {
            return None;
        }
        let config = source.config(manifest.config.as_ref()?).await.ok()?;
        if config.diff_ids.is_empty() {
            return None;
        }
        let index = self.bases.index(source).await;
        let best = index.nearest(&manifest.digest, &config.diff_ids)?;
        Some(Claim {
            image: Some(best.image.clone()),
            reference: Some(best.reference.clone()),
            digest: best.digest.clone(),
            evidence: Evidence::Layers,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn candidate(name: &str, diff_ids: &[&str]) -> Candidate {
        let digest = Digest::sha256(name.as_bytes());
        Candidate {
            image: ImageRef::parse(&format!("reg.example/{name}")).unwrap(),
            reference: format!("reg.example/{name}:1"),
            digest,
            diff_ids: diff_ids.iter().map(ToString::to_string).collect(),
            revision_tag: true,
        }
    }

    #[test]
    fn the_nearest_strict_prefix_wins() {
        let mut index = BaseIndex::default();
        for c in [
            candidate("os", &["a"]),
            candidate("runtime", &["a", "b"]),
            candidate("other", &["a", "c"]),
            candidate("same", &["a", "b", "x"]),
        ] {
            index
                .by_first
                .entry(c.diff_ids[0].clone())
                .or_default()
                .push(c);
        }
        let image = Digest::sha256(b"app");
        let ids = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let best = index.nearest(&image, &ids(&["a", "b", "x"])).unwrap();
        assert_eq!(best.reference, "reg.example/runtime:1");
        // Equal layers are the same image (or a re-tag), not a base.
        assert_eq!(
            index.nearest(&image, &ids(&["a"])).map(|c| &c.reference),
            None
        );
        assert!(index.nearest(&image, &ids(&["z", "a"])).is_none());
    }

    #[test]
    fn configs_without_rootfs_have_no_layers() {
        let c = ImageConfig::parse(br#"{"rootfs":{"type":"layers","diff_ids":["sha256:a"]}}"#);
        assert_eq!(c.diff_ids, ["sha256:a"]);
        assert!(ImageConfig::parse(b"{}").diff_ids.is_empty());
        assert!(ImageConfig::parse(b"not json").diff_ids.is_empty());
    }
}
