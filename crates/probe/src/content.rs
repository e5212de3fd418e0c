//! The scratch content a write probe pushes: blobs and manifests unique to the run (so no
//! check is answered by content a registry already had), serialised canonically.

use bytes::Bytes;
use lineage_oci::artifact::ANNOTATION_CREATED;
use lineage_oci::descriptor::EMPTY_JSON;
use lineage_oci::{Descriptor, Digest, RawManifest, media_type};
use serde_json::{Value, json};

/// The artifact type of the probe's referrers.
pub(crate) const ARTIFACT_TYPE: &str = "application/vnd.lineage.probe.v1";
/// The artifact type of the referrer that has no layers, for the filter check.
pub(crate) const ARTIFACT_TYPE_NO_LAYERS: &str = "application/vnd.lineage.probe.no-layers.v1";
/// The artifact type of the index referrer.
pub(crate) const ARTIFACT_TYPE_INDEX: &str = "application/vnd.lineage.probe.index.v1";
/// The `created` value of everything the probe pushes.
const CREATED: &str = "2000-01-01T00:00:00Z";

/// A blob to push.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub digest: Digest,
    pub data: Bytes,
    pub media_type: &'static str,
}

impl Blob {
    fn new(media_type: &'static str, data: Vec<u8>) -> Blob {
        Blob {
            digest: Digest::sha256(&data),
            data: Bytes::from(data),
            media_type,
        }
    }

    /// Its descriptor.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type, self.digest.clone(), self.data.len() as u64)
    }
}

/// Serialise a manifest built here, canonically.
#[allow(clippy::expect_used)]
fn manifest(value: &Value) -> RawManifest {
    // Every value built here has a `mediaType` and `schemaVersion` 2, and none is over
    // `MAX_MANIFEST_SIZE` (`image_of_size` is only asked for that size at most).
    RawManifest::from_canonical(value).expect("the probe's manifests are valid")
}

/// The descriptor of `m` without artifact type or annotations, as a `subject` names it.
fn subject_descriptor(m: &RawManifest) -> Descriptor {
    Descriptor::new(m.media_type(), m.digest().clone(), m.bytes().len() as u64)
}

/// `len` bytes no other run produces: a SHA-256 chain seeded with the run id and a label.
pub(crate) fn unique_bytes(run_id: &str, label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Digest::sha256(format!("lineage-probe/{run_id}/{label}").as_bytes());
    while out.len() < len {
        let raw = block.encoded().as_bytes().to_vec();
        out.extend_from_slice(&raw);
        block = Digest::sha256(&raw);
    }
    out.truncate(len);
    out
}

/// The image config of the run's scratch image.
pub(crate) fn config(run_id: &str, layer: &Blob) -> Blob {
    let value = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"vnd.lineage.probe.run": run_id}},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest.as_str()]},
    });
    let data = lineage_oci::json::to_canonical_vec(&value).unwrap_or_default();
    Blob::new(media_type::OCI_CONFIG, data)
}

/// A layer of `len` unique bytes (the registry does not look inside).
pub(crate) fn layer(run_id: &str, label: &str, len: usize) -> Blob {
    Blob::new(media_type::OCI_LAYER_TAR, unique_bytes(run_id, label, len))
}

/// The empty descriptor's blob, `{}`.
pub(crate) fn empty() -> Blob {
    Blob::new(media_type::OCI_EMPTY, EMPTY_JSON.to_vec())
}

/// An image manifest of `config` and `layer`; `padding` extra bytes in an annotation.
fn image_value(run_id: &str, config: &Blob, layer: &Blob, padding: usize) -> Value {
    let mut annotations = json!({
        ANNOTATION_CREATED: CREATED,
        "vnd.lineage.probe.run": run_id,
    });
    if padding > 0 {
        annotations["vnd.lineage.probe.padding"] = json!("p".repeat(padding));
    }
    json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        "annotations": annotations,
    })
}

/// The scratch image manifest.
pub(crate) fn image(run_id: &str, config: &Blob, layer: &Blob) -> RawManifest {
    manifest(&image_value(run_id, config, layer, 0))
}

/// An image manifest of exactly `size` bytes, at most
/// [`MAX_MANIFEST_SIZE`](lineage_oci::manifest::MAX_MANIFEST_SIZE).
pub(crate) fn image_of_size(run_id: &str, config: &Blob, layer: &Blob, size: usize) -> RawManifest {
    // The padding annotation adds its key and quotes once, then one byte per character.
    let overhead = manifest(&image_value(run_id, config, layer, 1))
        .bytes()
        .len()
        - 1;
    let padding = size.saturating_sub(overhead).max(1);
    manifest(&image_value(run_id, config, layer, padding))
}

/// An artifact manifest about `subject`: the empty config, and one empty layer unless
/// `no_layers` (then `layers: []`).
pub(crate) fn artifact(
    artifact_type: &'static str,
    subject: &RawManifest,
    no_layers: bool,
    run_id: &str,
) -> RawManifest {
    let e = empty();
    let layers = if no_layers {
        json!([])
    } else {
        json!([e.descriptor()])
    };
    manifest(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": e.descriptor(),
        "layers": layers,
        "subject": subject_descriptor(subject),
        "annotations": {ANNOTATION_CREATED: CREATED, "vnd.lineage.probe.run": run_id},
    }))
}

/// An image index with `artifactType` and `subject`, and no manifests.
pub(crate) fn index_artifact(subject: &RawManifest, run_id: &str) -> RawManifest {
    manifest(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "artifactType": ARTIFACT_TYPE_INDEX,
        "manifests": [],
        "subject": subject_descriptor(subject),
        "annotations": {ANNOTATION_CREATED: CREATED, "vnd.lineage.probe.run": run_id},
    }))
}

/// The referrers tag schema's index listing `referrers`, each as a referrers listing shows it.
pub(crate) fn referrers_index(referrers: &[&RawManifest]) -> RawManifest {
    manifest(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": referrers.iter().map(|m| m.referrer_descriptor()).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_per_run_and_label() {
        assert_eq!(unique_bytes("r", "a", 100).len(), 100);
        assert_ne!(unique_bytes("r", "a", 64), unique_bytes("r", "b", 64));
        assert_ne!(unique_bytes("r", "a", 64), unique_bytes("s", "a", 64));
        assert_eq!(unique_bytes("r", "a", 64), unique_bytes("r", "a", 64));
    }

    #[test]
    fn exact_size_manifest() {
        let l = layer("r", "l", 10);
        let c = config("r", &l);
        for size in [4 * 1024 * 1024, 5000, 1234] {
            let m = image_of_size("r", &c, &l, size);
            assert_eq!(m.bytes().len(), size);
            assert!(m.digest().matches(m.bytes()));
        }
    }

    #[test]
    fn artifacts_name_their_subject() {
        let l = layer("r", "l", 10);
        let c = config("r", &l);
        let img = image("r", &c, &l);
        let a = artifact(ARTIFACT_TYPE, &img, true, "r");
        let v: Value = serde_json::from_slice(a.bytes()).unwrap_or_default();
        assert_eq!(v["subject"]["digest"], img.digest().as_str());
        assert_eq!(v["layers"], json!([]));
        let idx = referrers_index(&[&a]);
        let v: Value = serde_json::from_slice(idx.bytes()).unwrap_or_default();
        assert_eq!(v["manifests"][0]["artifactType"], ARTIFACT_TYPE);
    }
}
