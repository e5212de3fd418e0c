//! Media type constants for the manifests, configs and layers lineage reads and writes.
//!
//! See <https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md>.

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty JSON blob `{}`, used as config and layer of annotation-only artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The `oci-layout` file of an image layout.
pub const OCI_LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";
/// Uncompressed OCI layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Gzip-compressed OCI layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Zstd-compressed OCI layer.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The withdrawn OCI artifact manifest; recognised so it can be refused by name.
pub const OCI_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";

/// Every manifest type lineage handles, in the order sent in an `Accept` header.
///
/// distribution 2.8 answers 404 to an OCI manifest GET whose `Accept` lacks the OCI types, so
/// clients always send all of them.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Whether `media_type` names an image index or manifest list (a manifest whose children are
/// manifests).
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// Whether `media_type` names a single-image manifest (children are a config and layers).
pub fn is_image_manifest(media_type: &str) -> bool {
    matches!(media_type, OCI_MANIFEST | DOCKER_MANIFEST)
}

/// Whether `media_type` names any manifest lineage handles.
pub fn is_manifest(media_type: &str) -> bool {
    is_index(media_type) || is_image_manifest(media_type)
}
