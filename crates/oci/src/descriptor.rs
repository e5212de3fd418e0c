//! Content descriptors and platforms, the typed pointers that manifests are made of.
//!
//! See <https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md>. Descriptors are
//! lineage's own type (not `oci-spec`'s) so annotations are ordered (`BTreeMap`) and digests are
//! validated by [`Digest`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::media_type;

/// The 2-byte content of the empty blob.
pub const EMPTY_JSON: &[u8] = b"{}";

/// The digest of [`EMPTY_JSON`].
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// The annotation that names a tag in an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A descriptor: media type, digest and size of a piece of content, plus optional metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content. Empty when a tool omitted it.
    #[serde(default)]
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    pub size: u64,
    /// Where else the content may be fetched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The content itself, base64, for small blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The platform of an index entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type of the referenced manifest (in indexes and referrers listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor with only the three required fields.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            urls: None,
            annotations: None,
            data: None,
            platform: None,
            artifact_type: None,
        }
    }

    /// The empty descriptor: the `{}` blob typed `application/vnd.oci.empty.v1+json`, used as
    /// config and single layer of annotation-only artifacts.
    pub fn empty() -> Descriptor {
        let mut d = Descriptor::new(media_type::OCI_EMPTY, Digest::sha256(EMPTY_JSON), 2);
        d.data = Some("e30=".to_string());
        d
    }

    /// The value of annotation `key`, if any.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// Set annotation `key` to `value`.
    pub fn set_annotation(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
    }

    /// Remove annotation `key`, dropping the map when it becomes empty.
    pub fn remove_annotation(&mut self, key: &str) {
        if let Some(map) = &mut self.annotations {
            map.remove(key);
            if map.is_empty() {
                self.annotations = None;
            }
        }
    }

    /// The tag this descriptor carries in an OCI layout (`org.opencontainers.image.ref.name`).
    pub fn ref_name(&self) -> Option<&str> {
        self.annotation(ANNOTATION_REF_NAME)
    }
}

/// The platform an image runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture, e.g. `amd64`.
    pub architecture: String,
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// Operating system version.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required OS features.
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// CPU variant, e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Reserved by the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_descriptor_matches_spec() {
        let d = Descriptor::empty();
        assert_eq!(d.digest.as_str(), EMPTY_JSON_DIGEST);
        assert_eq!(d.size, 2);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}"#
        );
    }

    #[test]
    fn tolerates_missing_media_type_and_reads_platform() {
        let d: Descriptor = serde_json::from_str(
            r#"{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,
                "platform":{"architecture":"arm64","os":"linux","variant":"v8"},"annotations":{"org.opencontainers.image.ref.name":"v1"}}"#,
        )
        .unwrap();
        assert_eq!(d.media_type, "");
        assert_eq!(d.ref_name(), Some("v1"));
        assert_eq!(d.platform.unwrap().to_string(), "linux/arm64/v8");
    }

    #[test]
    fn rejects_bad_digest_and_negative_size() {
        assert!(
            serde_json::from_str::<Descriptor>(
                r#"{"mediaType":"x","digest":"sha256:abc","size":2}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Descriptor>(
                r#"{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn annotation_helpers() {
        let mut d = Descriptor::empty();
        d.set_annotation("a", "1");
        assert_eq!(d.annotation("a"), Some("1"));
        d.remove_annotation("a");
        assert!(d.annotations.is_none());
    }
}
