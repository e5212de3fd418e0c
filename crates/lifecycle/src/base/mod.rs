//! An image's base (issue 17): which image it was built `FROM`, found by evidence, and that
//! base's status, so that an application image inherits its base's end-of-life.
//!
//! The evidence, strongest first, per image manifest (per platform for an index):
//!
//! 1. **annotation**: the image-spec annotations `org.opencontainers.image.base.digest` and
//!    `org.opencontainers.image.base.name` on the manifest (buildah writes both by default);
//! 2. **provenance**: a build provenance attestation in the image's index, as BuildKit
//!    attaches it (an index entry marked `vnd.docker.reference.type: attestation-manifest`
//!    for the platform manifest, whose in-toto statement's SLSA materials, v0.2, or resolved
//!    dependencies, v1, name the base image by digest) ([`provenance`]);
//! 3. **layers**: the image's uncompressed layers (its config's `rootfs.diff_ids`) begin with
//!    every layer of a known base revision: a revision of a lineage the user names
//!    (`--base-repo`), indexed by its first diff_id so that matching costs no request per
//!    candidate ([`layers`]).
//!
//! The base's status is reached through the engine's one pipeline (`Engine::status_from`)
//! over the fact source of the base's repository ([`crate::facts::FactSource::elsewhere`]),
//! so the caches cover it; bases of bases are followed up to [`MAX_BASE_HOPS`].
//!
//! A derived image inherits its base's manifest annotations when its builder copies them
//! (buildah does): an annotation of the image with the same key and value as its base's is
//! the base's, not the image's own ([`own_annotations`]). So a derived image is never taken
//! for a revision of its base's lineage.

mod layers;
pub(crate) mod provenance;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest, ImageRef, TagOrDigest};

use crate::engine::Engine;
use crate::facts::{FactSource, ManifestFacts};
use crate::profile::{ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, revision_tag};
use crate::status::{State, Status, Successor};

pub(crate) use layers::ImageConfig;
pub use layers::KnownBases;
pub(crate) use provenance::Provenance;

/// The manifest annotation naming the digest of the base image's manifest.
pub const ANNOTATION_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// The manifest annotation naming the base image's reference.
pub const ANNOTATION_BASE_NAME: &str = "org.opencontainers.image.base.name";
/// How many bases deep the chain of bases is followed (the image's base is the first).
pub const MAX_BASE_HOPS: usize = 4;
/// The largest image config read to match layers.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The largest provenance statement read.
pub const MAX_PROVENANCE_BYTES: u64 = 4 << 20;
/// The most platform manifests of an index looked into for their bases (one request each
/// when not cached).
pub const MAX_PLATFORMS: usize = 16;
/// The most tags of one known base repository indexed.
pub const MAX_BASE_TAGS: usize = 10_000;

/// What told lineage which image is the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The image-spec annotations `org.opencontainers.image.base.digest` / `.base.name`.
    Annotation,
    /// A build provenance attestation naming the base image by digest.
    Provenance,
    /// The image's layers begin with every layer of a known base revision.
    Layers,
}

/// The base of an image and the base's own status: the `base` object of the status JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseStatus {
    /// The base's reference, as the evidence names it.
    pub reference: Option<String>,
    /// The base manifest's digest.
    pub digest: Option<Digest>,
    /// The base's state (`unknown` when it could not be looked up, see `error`).
    pub state: State,
    /// The base's effective end-of-life, RFC 3339 UTC.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub end_of_life: Option<DateTime<Utc>>,
    /// The image to rebuild on: the base's successor.
    pub successor: Option<Successor>,
    /// What told lineage this is the base.
    pub evidence: Evidence,
    /// For an index, the platform whose base this is (the platform with the worst base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Why the base's status could not be looked up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The base's own base, when it has one (bases of bases, up to [`MAX_BASE_HOPS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Box<BaseStatus>>,
}

impl BaseStatus {
    /// Whether the base's state passes on to the images built on it: it is end-of-life,
    /// superseded, or itself built on such a base.
    pub fn passes_on(&self) -> bool {
        matches!(
            self.state,
            State::EndOfLife | State::Superseded | State::BaseEndOfLife
        )
    }

    /// How bad the base's state is, for picking the worst platform of an index.
    fn severity(&self) -> u8 {
        match self.state {
            State::EndOfLife => 6,
            State::Superseded => 5,
            State::BaseEndOfLife => 4,
            // Past end-of-support, still supported: not passed on, but the worse platform.
            State::EndOfSupport => 3,
            State::Scheduled => 2,
            State::Supported => 1,
            State::Unknown => 0,
        }
    }
}

/// Where a base is, as the evidence names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The base's repository (and tag or digest), when the evidence names one lineage can read.
    pub(crate) image: Option<ImageRef>,
    /// The reference to show.
    pub(crate) reference: Option<String>,
    /// The base manifest's digest.
    pub(crate) digest: Digest,
    /// The evidence.
    pub(crate) evidence: Evidence,
}

/// A base found, with the base's own manifest facts when they could be read.
pub(crate) struct Found {
    /// The `base` object; its `reference` (as the evidence names it) tells inherited
    /// annotations when the base's manifest could not be read.
    pub(crate) status: BaseStatus,
    /// The base manifest as read (cached: shared, not copied), whose annotations tell the
    /// image's own from inherited ones.
    pub(crate) manifest: Option<Arc<ManifestFacts>>,
}

/// The annotations that are the image's own: those its base does not carry with the same
/// value. When the base's annotations could not be read but the base's reference names the
/// image's own version and revision (`base:1.0-20230707` for version `1.0` and revision
/// `20230707`), version, revision and created are the base's.
pub(crate) fn own_annotations<'a>(
    image: &'a BTreeMap<String, String>,
    base: Option<&Found>,
) -> Cow<'a, BTreeMap<String, String>> {
    let Some(base) = base else {
        return Cow::Borrowed(image);
    };
    if let Some(theirs) = base.manifest.as_ref().map(|m| &m.annotations) {
        if !image.iter().any(|(k, v)| theirs.get(k) == Some(v)) {
            return Cow::Borrowed(image);
        }
        return Cow::Owned(
            image
                .iter()
                .filter(|(k, v)| theirs.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
    }
    let names_own = match (
        image.get(ANNOTATION_VERSION),
        image.get(ANNOTATION_REVISION),
        base.status.reference.as_deref().and_then(tag_of),
    ) {
        (Some(v), Some(r), Some(tag)) => tag == revision_tag(v, r),
        _ => false,
    };
    if !names_own {
        return Cow::Borrowed(image);
    }
    let mut own = image.clone();
    for k in [ANNOTATION_VERSION, ANNOTATION_REVISION, ANNOTATION_CREATED] {
        own.remove(k);
    }
    Cow::Owned(own)
}

/// The tag of a reference, when it parses and has one.
fn tag_of(reference: &str) -> Option<String> {
    ImageRef::parse(reference)
        .ok()
        .and_then(|r| r.tag().map(str::to_string))
}

/// The claim a manifest's own `annotations` make, if any (read once per manifest read:
/// [`ManifestFacts::base_claim`]).
pub(crate) fn annotation_claim(annotations: &BTreeMap<String, String>) -> Option<Claim> {
    let digest = annotations.get(ANNOTATION_BASE_DIGEST)?;
    let digest: Digest = digest.parse().ok()?;
    let reference = annotations.get(ANNOTATION_BASE_NAME).cloned();
    let image = reference
        .as_deref()
        .and_then(|r| ImageRef::parse(r).ok())
        .map(|i| i.with_target(Some(TagOrDigest::Digest(digest.clone()))));
    Some(Claim {
        image,
        reference,
        digest,
        evidence: Evidence::Annotation,
    })
}

/// Whether an index entry is a platform image (not an attestation or other artifact).
fn is_platform_image(d: &Descriptor) -> bool {
    d.annotation(provenance::REFERENCE_TYPE).is_none()
        && d.platform
            .as_ref()
            .is_none_or(|p| p.os != "unknown" && p.architecture != "unknown")
}

/// A boxed future, for the recursion from an image to its base.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Engine {
    /// The base of `image` (read from `source`), with the base's status at `at`, following
    /// at most `hops` bases; `None` when no evidence names one.
    pub(crate) fn base_of<'a>(
        &'a self,
        source: &'a dyn FactSource,
        image: &'a ManifestFacts,
        at: DateTime<Utc>,
        hops: usize,
    ) -> BoxFuture<'a, Option<Found>> {
        Box::pin(async move {
            if hops == 0 {
                return None;
            }
            if let Some(claim) = &image.base_claim {
                return Some(self.base_status(source, claim, at, hops).await);
            }
            if !image.is_index {
                let claim = self.layer_claim(source, image).await?;
                return Some(self.base_status(source, &claim, at, hops).await);
            }
            // An index: the base of each platform; the worst one is the index's.
            let mut worst: Option<Found> = None;
            let platforms = image.children.iter().filter(|c| is_platform_image(c));
            for child in platforms.take(MAX_PLATFORMS) {
                let target = TagOrDigest::Digest(child.digest.clone());
                let Ok(manifest) = source.manifest(Some(&target)).await else {
                    continue;
                };
                let claim = match &manifest.base_claim {
                    Some(c) => Some(c.clone()),
                    None => match provenance::claim(source, image, &child.digest).await {
                        Some(c) => Some(c),
                        None => self.layer_claim(source, &manifest).await,
                    },
                };
                let Some(claim) = claim else { continue };
                let mut found = self.base_status(source, &claim, at, hops).await;
                found.status.platform = child.platform.as_ref().map(ToString::to_string);
                if worst
                    .as_ref()
                    .is_none_or(|w| found.status.severity() > w.status.severity())
                {
                    worst = Some(found);
                }
            }
            // Annotations of the index are compared with the base index, not a platform's.
            if let Some(w) = &mut worst {
                w.manifest = None;
            }
            worst
        })
    }

    /// The status of the base `claim` names, as a `base` object.
    async fn base_status(
        &self,
        source: &dyn FactSource,
        claim: &Claim,
        at: DateTime<Utc>,
        hops: usize,
    ) -> Found {
        let unknown = |error: String| BaseStatus {
            reference: claim.reference.clone(),
            digest: Some(claim.digest.clone()),
            state: State::Unknown,
            end_of_life: None,
            successor: None,
            evidence: claim.evidence,
            platform: None,
            error: Some(error),
            base: None,
        };
        let Some(image) = &claim.image else {
            return Found {
                status: unknown(format!(
                    "the base's name `{}` is not a registry reference lineage can look up",
                    claim.reference.as_deref().unwrap_or("")
                )),
                manifest: None,
            };
        };
        let Some(elsewhere) = source.elsewhere(image) else {
            return Found {
                status: unknown("the base's repository was not opened (no opener)".into()),
                manifest: None,
            };
        };
        let reference = match &claim.reference {
            Some(r) => Cow::Borrowed(r.as_str()),
            None => Cow::Owned(format!("{}@{}", image.repository_ref(), claim.digest)),
        };
        let target = TagOrDigest::Digest(claim.digest.clone());
        match self
            .status_hops(elsewhere.as_ref(), &reference, Some(&target), at, hops - 1)
            .await
        {
            Ok((status, manifest)) => Found {
                status: from_status(status, claim.evidence),
                manifest: Some(manifest),
            },
            Err(e) => Found {
                status: unknown(lineage_store::one_line(&e)),
                manifest: None,
            },
        }
    }
}

/// The `base` object of a base's status.
fn from_status(status: Status, evidence: Evidence) -> BaseStatus {
    BaseStatus {
        reference: Some(status.reference),
        digest: Some(status.digest),
        state: status.state,
        end_of_life: status.end_of_life,
        successor: status.successor,
        evidence,
        platform: None,
        error: None,
        base: status.base.map(Box::new),
    }
}

#[cfg(test)]
mod tests;
