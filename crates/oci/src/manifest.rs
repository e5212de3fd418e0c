//! Manifests as exact bytes: [`RawManifest`] carries what a store served, and
//! [`ManifestView`] reads fields out of it without ever being serialised back.
//!
//! DESIGN §2.1: raw bytes are authoritative. Copy, tag and export move `RawManifest::bytes`;
//! parsing exists only to read fields. Manifests lineage writes itself are built as values and
//! serialised once, canonically, by [`RawManifest::from_canonical`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::Deserialize;

use crate::descriptor::Descriptor;
use crate::digest::{Digest, VerifyError};
use crate::json;
use crate::media_type;

/// Manifests larger than this are refused, as distribution and zot do (`4 << 20`).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// Why bytes are not a manifest lineage can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Over [`MAX_MANIFEST_SIZE`].
    #[error("manifest is {size} bytes, over the {MAX_MANIFEST_SIZE}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// Not JSON, or JSON of the wrong shape.
    #[error("manifest is not valid: {0}")]
    Invalid(String),
    /// The content does not hash to the digest it was fetched by.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A media type lineage does not handle (for example the withdrawn artifact manifest).
    #[error("unsupported manifest media type `{0}`")]
    UnsupportedMediaType(String),
}

/// A manifest exactly as stored: its bytes, their digest and the manifest's media type.
#[derive(Clone)]
pub struct RawManifest {
    bytes: Bytes,
    digest: Digest,
    media_type: String,
    view: OnceLock<Result<ManifestView, ManifestError>>,
}

impl std::fmt::Debug for RawManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawManifest")
            .field("digest", &self.digest)
            .field("media_type", &self.media_type)
            .field("size", &self.bytes.len())
            .finish()
    }
}

impl PartialEq for RawManifest {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.media_type == other.media_type
    }
}

impl RawManifest {
    /// Wrap bytes read from somewhere that names no digest (a tag); the digest is computed
    /// with sha256.
    ///
    /// `media_type_hint` is what the store said (a `Content-Type`, a descriptor); see
    /// [`RawManifest::media_type`] for how the media type is decided.
    pub fn from_bytes(
        bytes: impl Into<Bytes>,
        media_type_hint: Option<&str>,
    ) -> Result<RawManifest, ManifestError> {
        let bytes = bytes.into();
        check_size(&bytes)?;
        let digest = Digest::sha256(&bytes);
        RawManifest::build(bytes, digest, media_type_hint)
    }

    /// Wrap bytes fetched by `expected` digest, verifying that they hash to it.
    pub fn verified(
        bytes: impl Into<Bytes>,
        expected: &Digest,
        media_type_hint: Option<&str>,
    ) -> Result<RawManifest, ManifestError> {
        let bytes = bytes.into();
        check_size(&bytes)?;
        let actual = Digest::compute(expected.algorithm(), &bytes);
        if actual != *expected {
            return Err(VerifyError::Digest {
                expected: expected.clone(),
                actual,
            }
            .into());
        }
        RawManifest::build(bytes, actual, media_type_hint)
    }

    /// Serialise a manifest lineage writes, canonically (sorted keys, no whitespace), so the
    /// same value always has the same digest.
    pub fn from_canonical(value: &serde_json::Value) -> Result<RawManifest, ManifestError> {
        let bytes =
            json::to_canonical_vec(value).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        RawManifest::from_bytes(bytes, None)
    }

    fn build(
        bytes: Bytes,
        digest: Digest,
        hint: Option<&str>,
    ) -> Result<RawManifest, ManifestError> {
        let probe: MediaTypeProbe =
            serde_json::from_slice(&bytes).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        let media_type = decide_media_type(&probe, hint)?;
        Ok(RawManifest {
            bytes,
            digest,
            media_type,
            view: OnceLock::new(),
        })
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The manifest's media type: its own `mediaType` field when present; else the store's
    /// hint when that names a manifest type; else inferred from the shape (`manifests` makes
    /// an OCI index, anything else an OCI manifest). umoci and skopeo omit the field, so the
    /// hint and the shape matter.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// A descriptor for this manifest: media type, digest, size, and the `artifactType` a
    /// referrers listing would give it (DESIGN §2.3).
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(
            self.media_type.clone(),
            self.digest.clone(),
            self.bytes.len() as u64,
        );
        if let Ok(view) = self.view() {
            d.artifact_type = view.effective_artifact_type().map(str::to_string);
        }
        d
    }

    /// The same descriptor with the manifest's annotations, as a referrers listing carries it.
    pub fn referrer_descriptor(&self) -> Descriptor {
        let mut d = self.descriptor();
        if let Ok(view) = self.view()
            && !view.annotations.is_empty()
        {
            d.annotations = Some(view.annotations.clone());
        }
        d
    }

    /// The parsed fields, computed once.
    pub fn view(&self) -> Result<&ManifestView, ManifestError> {
        self.view
            .get_or_init(|| ManifestView::parse(&self.bytes, &self.media_type))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn check_size(bytes: &[u8]) -> Result<(), ManifestError> {
    if bytes.len() > MAX_MANIFEST_SIZE {
        return Err(ManifestError::TooLarge { size: bytes.len() });
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaTypeProbe {
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
}

fn decide_media_type(probe: &MediaTypeProbe, hint: Option<&str>) -> Result<String, ManifestError> {
    if let Some(mt) = &probe.media_type {
        if mt == media_type::OCI_ARTIFACT_MANIFEST {
            return Err(ManifestError::UnsupportedMediaType(mt.clone()));
        }
        return Ok(mt.clone());
    }
    if let Some(h) = hint.map(strip_parameters)
        && media_type::is_manifest(h)
    {
        return Ok(h.to_string());
    }
    if probe.manifests.is_some() {
        Ok(media_type::OCI_INDEX.to_string())
    } else if probe.config.is_some() {
        Ok(media_type::OCI_MANIFEST.to_string())
    } else {
        Err(ManifestError::Invalid(
            "neither `manifests` nor `config` present and no media type given".to_string(),
        ))
    }
}

/// Whether manifest bytes carry their own top-level `mediaType` (umoci's and some skopeo
/// layouts leave it out, so the store's hint decides).
pub fn declares_media_type(bytes: &[u8]) -> bool {
    serde_json::from_slice::<MediaTypeProbe>(bytes).is_ok_and(|p| p.media_type.is_some())
}

/// `application/json; charset=utf-8` → `application/json`.
pub fn strip_parameters(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or(media_type).trim()
}

/// Whether a manifest is a single image or an index of manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// Image manifest: a config and layers.
    Image,
    /// Image index or Docker manifest list: a list of manifests.
    Index,
}

/// The fields lineage reads from a manifest or index. Read-only: there is no way back to bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestView {
    /// Image or index.
    pub kind: ManifestKind,
    /// `schemaVersion`.
    pub schema_version: u32,
    /// The manifest's own `artifactType`.
    pub artifact_type: Option<String>,
    /// An image manifest's config.
    pub config: Option<Descriptor>,
    /// An image manifest's layers.
    pub layers: Vec<Descriptor>,
    /// An index's manifests.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    pub subject: Option<Descriptor>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewWire {
    schema_version: u32,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

impl ManifestView {
    /// Parse `bytes` as the manifest kind `media_type` names.
    pub fn parse(bytes: &[u8], media_type: &str) -> Result<ManifestView, ManifestError> {
        let w: ViewWire =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        if w.schema_version != 2 {
            return Err(ManifestError::Invalid(format!(
                "schemaVersion {} is not supported (want 2)",
                w.schema_version
            )));
        }
        let kind = if media_type::is_index(media_type) {
            ManifestKind::Index
        } else if media_type::is_image_manifest(media_type) {
            ManifestKind::Image
        } else {
            return Err(ManifestError::UnsupportedMediaType(media_type.to_string()));
        };
        match kind {
            ManifestKind::Index if w.manifests.is_none() => {
                return Err(ManifestError::Invalid(
                    "index has no `manifests` field".to_string(),
                ));
            }
            ManifestKind::Image if w.config.is_none() => {
                return Err(ManifestError::Invalid(
                    "image manifest has no `config` field".to_string(),
                ));
            }
            _ => {}
        }
        Ok(ManifestView {
            kind,
            schema_version: w.schema_version,
            artifact_type: w.artifact_type,
            config: w.config,
            layers: w.layers.unwrap_or_default(),
            manifests: w.manifests.unwrap_or_default(),
            subject: w.subject,
            annotations: w.annotations.unwrap_or_default(),
        })
    }

    /// The artifact type a referrers listing gives this manifest: `artifactType`, else (for an
    /// image manifest) the config media type; an index without one has none.
    pub fn effective_artifact_type(&self) -> Option<&str> {
        self.artifact_type.as_deref().or(match self.kind {
            ManifestKind::Image => self.config.as_ref().map(|c| c.media_type.as_str()),
            ManifestKind::Index => None,
        })
    }

    /// The content this manifest points to, children first in the order a copy needs: an
    /// image's config and layers, or an index's manifests. The `subject` is not a child.
    pub fn children(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(self.layers.iter())
            .chain(self.manifests.iter())
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
  "layers": [],
  "unknownTop": {"kept": true},
  "annotations": {"b": "2", "a": "1"}
}"#;

    #[test]
    fn keeps_exact_bytes_and_digest() {
        let m = RawManifest::from_bytes(IMAGE.as_bytes().to_vec(), None).unwrap();
        assert_eq!(m.bytes().as_ref(), IMAGE.as_bytes());
        assert_eq!(m.digest(), &Digest::sha256(IMAGE.as_bytes()));
        assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
        let v = m.view().unwrap();
        assert_eq!(v.kind, ManifestKind::Image);
        assert_eq!(v.effective_artifact_type(), Some(media_type::OCI_CONFIG));
        assert_eq!(v.children().count(), 1);
    }

    #[test]
    fn verifies_digest() {
        let wrong = Digest::sha256(b"other");
        let err = RawManifest::verified(IMAGE.as_bytes().to_vec(), &wrong, None).unwrap_err();
        assert!(matches!(
            err,
            ManifestError::Verify(VerifyError::Digest { .. })
        ));
    }

    #[test]
    fn infers_media_type_without_field() {
        let umoci = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let m = RawManifest::from_bytes(umoci.as_bytes().to_vec(), None).unwrap();
        assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
        let idx = r#"{"schemaVersion":2,"manifests":[]}"#;
        let m = RawManifest::from_bytes(idx.as_bytes().to_vec(), None).unwrap();
        assert_eq!(m.media_type(), media_type::OCI_INDEX);
        let m = RawManifest::from_bytes(
            idx.as_bytes().to_vec(),
            Some("application/vnd.docker.distribution.manifest.list.v2+json; charset=x"),
        )
        .unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_MANIFEST_LIST);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(matches!(
            RawManifest::from_bytes(b"not json".to_vec(), None),
            Err(ManifestError::Invalid(_))
        ));
        assert!(matches!(
            RawManifest::from_bytes(b"{}".to_vec(), None),
            Err(ManifestError::Invalid(_))
        ));
        let big = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert!(matches!(
            RawManifest::from_bytes(big, None),
            Err(ManifestError::TooLarge { .. })
        ));
        let artifact = r#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#;
        assert!(matches!(
            RawManifest::from_bytes(artifact.as_bytes().to_vec(), None),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        let v1 = r#"{"schemaVersion":1,"config":{}}"#;
        let m = RawManifest::from_bytes(v1.as_bytes().to_vec(), None).unwrap();
        assert!(m.view().is_err());
    }

    #[test]
    fn canonical_manifests_are_deterministic() {
        let value = serde_json::json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "config": Descriptor::empty(), "layers": [Descriptor::empty()],
            "annotations": {"z": "1", "a": "2"}});
        let a = RawManifest::from_canonical(&value).unwrap();
        let b = RawManifest::from_canonical(&value).unwrap();
        assert_eq!(a.digest(), b.digest());
        let text = std::str::from_utf8(a.bytes()).unwrap();
        assert!(
            text.starts_with(r#"{"annotations":{"a":"2","z":"1"},"config":"#),
            "{text}"
        );
    }

    #[test]
    fn referrer_descriptor_carries_artifact_type_and_annotations() {
        let value = serde_json::json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "artifactType": "application/x.test", "config": Descriptor::empty(), "layers": [Descriptor::empty()],
            "subject": Descriptor::empty(), "annotations": {"k": "v"}});
        let m = RawManifest::from_canonical(&value).unwrap();
        let d = m.referrer_descriptor();
        assert_eq!(d.artifact_type.as_deref(), Some("application/x.test"));
        assert_eq!(d.annotation("k"), Some("v"));
        assert_eq!(
            m.view().unwrap().subject.as_ref().unwrap().digest,
            Descriptor::empty().digest
        );
    }
}
