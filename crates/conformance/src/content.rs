//! The content the suite pushes: blobs, image manifests and indexes built as
//! exact bytes, with their sha256 digests.

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// `application/vnd.oci.image.manifest.v1+json`.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar`.
pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// `application/vnd.oci.empty.v1+json`.
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The digest of the 2-byte `{}` blob, as the image spec gives it.
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// The digest of the zero-byte blob.
pub const ZERO_DIGEST: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Every manifest type the suite understands, for `Accept`.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// `len` pseudo-random bytes derived from `seed` (a sha256 chain).
pub fn bytes_for(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Sha256::digest(seed.as_bytes());
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

/// A blob: its bytes, digest and the media type descriptors give it.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The exact bytes.
    pub data: Vec<u8>,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// The media type used in descriptors.
    pub media_type: String,
}

impl Blob {
    /// A blob of these bytes.
    pub fn new(media_type: &str, data: Vec<u8>) -> Self {
        Self {
            digest: sha256(&data),
            data,
            media_type: media_type.to_owned(),
        }
    }

    /// The 2-byte `{}` blob.
    pub fn empty_json() -> Self {
        Self::new(EMPTY, b"{}".to_vec())
    }

    /// A descriptor of this blob.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.data.len()})
    }
}

/// A minimal image config whose `rootfs` lists `layers` (by their digests;
/// the suite's layers are not compressed).
pub fn image_config(arch: &str, layers: &[&Blob]) -> Blob {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let value = json!({
        "architecture": arch,
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    Blob::new(CONFIG, to_bytes(&value))
}

/// A manifest (or index): exact bytes, digest and media type.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The exact bytes pushed.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// The `mediaType` (and `Content-Type`).
    pub media_type: String,
}

impl Manifest {
    /// A manifest of these bytes.
    pub fn from_bytes(media_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            digest: sha256(&bytes),
            bytes,
            media_type: media_type.to_owned(),
        }
    }

    /// A descriptor of this manifest.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// An image manifest of `config` and `layers`, with `extra` fields
/// (`annotations`, `artifactType`, `subject`, …) merged in.
pub fn image_manifest(config: &Blob, layers: &[&Blob], extra: Value) -> Manifest {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(MANIFEST));
    m.insert("config".into(), config.descriptor());
    m.insert(
        "layers".into(),
        Value::Array(layers.iter().map(|l| l.descriptor()).collect()),
    );
    merge(&mut m, extra);
    Manifest::from_bytes(MANIFEST, to_bytes(&Value::Object(m)))
}

/// An image index of `manifests` (full descriptors), with `extra` merged in.
pub fn image_index(manifests: Vec<Value>, extra: Value) -> Manifest {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(INDEX));
    m.insert("manifests".into(), Value::Array(manifests));
    merge(&mut m, extra);
    Manifest::from_bytes(INDEX, to_bytes(&Value::Object(m)))
}

fn merge(m: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            m.insert(k, v);
        }
    }
}

/// Compact JSON bytes of `v`.
pub fn to_bytes(v: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(sha256(b"{}"), EMPTY_JSON_DIGEST);
        assert_eq!(sha256(b""), ZERO_DIGEST);
        assert_eq!(Blob::empty_json().digest, EMPTY_JSON_DIGEST);
    }

    #[test]
    fn pseudo_random_bytes_are_stable() {
        let a = bytes_for("x", 100);
        assert_eq!(a.len(), 100);
        assert_eq!(a, bytes_for("x", 100));
        assert_ne!(a, bytes_for("y", 100));
    }

    #[test]
    fn manifests_are_compact_and_carry_extra_fields() {
        let c = image_config("amd64", &[]);
        let m = image_manifest(&c, &[], json!({"artifactType": "a/b"}));
        let v: Value = serde_json::from_slice(&m.bytes).unwrap();
        assert_eq!(v["artifactType"], "a/b");
        assert_eq!(v["layers"], json!([]));
        assert_eq!(m.digest, sha256(&m.bytes));
    }
}
