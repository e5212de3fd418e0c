//! Artifacts that refer to another manifest (OCI 1.1 `subject`), packed as the image spec's
//! artifact guidance and `oras attach` pack them: `artifactType`, the empty config, the files
//! as layers (or the one empty layer when there are none), the subject, and annotations.
//!
//! See <https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage>.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::descriptor::Descriptor;
use crate::manifest::{ManifestError, RawManifest};
use crate::media_type;

/// The annotation that names a layer's file, as oras sets it.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// The annotation that records when content was made.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// Build the manifest of an artifact referring to `subject`. `layers` are descriptors of blobs
/// already pushed; with none, the artifact is annotation-only and gets the empty layer (the
/// JSON schema wants at least one). The bytes are canonical JSON, so the same input always
/// gives the same digest.
pub fn manifest(
    artifact_type: &str,
    subject: &Descriptor,
    layers: &[Descriptor],
    annotations: &BTreeMap<String, String>,
) -> Result<RawManifest, ManifestError> {
    let subject = Descriptor::new(
        subject.media_type.clone(),
        subject.digest.clone(),
        subject.size,
    );
    let layers: Vec<Descriptor> = if layers.is_empty() {
        vec![Descriptor::empty()]
    } else {
        layers.to_vec()
    };
    let mut value = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": Descriptor::empty(),
        "layers": layers,
        "subject": subject,
    });
    if !annotations.is_empty()
        && let Value::Object(obj) = &mut value
    {
        obj.insert("annotations".into(), json!(annotations));
    }
    RawManifest::from_canonical(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    #[test]
    fn annotation_only_artifacts_get_the_empty_layer() {
        let subject = Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256(b"s"), 1);
        let mut ann = BTreeMap::new();
        ann.insert("k".to_string(), "v".to_string());
        let m = manifest("application/x.t", &subject, &[], &ann).unwrap();
        let v = m.view().unwrap();
        assert_eq!(v.artifact_type.as_deref(), Some("application/x.t"));
        assert_eq!(v.layers, vec![Descriptor::empty()]);
        assert_eq!(v.config.as_ref().unwrap(), &Descriptor::empty());
        assert_eq!(v.subject.as_ref().unwrap().digest, subject.digest);
        assert_eq!(v.annotation("k"), Some("v"));
        // Deterministic.
        assert_eq!(
            m.digest(),
            manifest("application/x.t", &subject, &[], &ann)
                .unwrap()
                .digest()
        );
    }

    #[test]
    fn files_become_layers_and_the_subject_keeps_only_its_identity() {
        let mut subject = Descriptor::new(media_type::OCI_INDEX, Digest::sha256(b"s"), 1);
        subject.set_annotation("org.opencontainers.image.ref.name", "v1");
        let layer = Descriptor::new("application/spdx+json", Digest::sha256(b"{}x"), 3);
        let m = manifest(
            "application/spdx+json",
            &subject,
            std::slice::from_ref(&layer),
            &BTreeMap::new(),
        )
        .unwrap();
        let v = m.view().unwrap();
        assert_eq!(v.layers, vec![layer]);
        assert!(v.subject.as_ref().unwrap().annotations.is_none());
        assert!(v.annotations.is_empty());
    }
}
