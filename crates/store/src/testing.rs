//! Fixture images for tests: real, small, deterministic OCI content pushed through the
//! [`Store`] interface.
//!
//! The one home of these builders: this crate's unit tests use them, and every other crate's
//! tests reach them through `lineage-test-support` (`images`), which turns on the `testing`
//! feature. Test code only: every step panics on failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use lineage_oci::{Descriptor, Digest, Platform, RawManifest, media_type};
use serde_json::json;

use crate::blob;
use crate::store::Store;

/// Push a blob with the given content and media type; returns its descriptor.
pub async fn push_blob(store: &dyn Store, media_type: &str, data: &[u8]) -> Descriptor {
    let desc = Descriptor::new(media_type, Digest::sha256(data), data.len() as u64);
    store
        .blob_put(&desc, blob::from_bytes(Bytes::copy_from_slice(data)))
        .await
        .unwrap();
    desc
}

/// An image with a config and `layers` layers derived from `seed`, pushed with `tag`.
pub async fn push_image(
    store: &dyn Store,
    seed: &str,
    layers: usize,
    tag: Option<&str>,
) -> RawManifest {
    let config = push_blob(
        store,
        media_type::OCI_CONFIG,
        format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#).as_bytes(),
    )
    .await;
    let mut descs = Vec::new();
    for i in 0..layers {
        let data = format!("layer {i} of {seed} ").repeat(100 + i);
        descs.push(push_blob(store, media_type::OCI_LAYER_TAR, data.as_bytes()).await);
    }
    let m = RawManifest::from_canonical(&json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": config, "layers": descs,
        "annotations": {"org.opencontainers.image.version": "1.0", "seed": seed}
    }))
    .unwrap();
    store.manifest_put(&m, tag).await.unwrap();
    m
}

/// An image of version `1.0` and `revision`, created at `created` (the OCI annotations), with
/// a config and one layer derived from `revision`, tagged `1.0-<revision>`.
pub async fn push_revision(store: &dyn Store, revision: &str, created: &str) -> RawManifest {
    let mut descs = Vec::new();
    for (mt, data) in [
        (
            media_type::OCI_CONFIG,
            format!(r#"{{"architecture":"amd64","os":"linux","rev":"{revision}"}}"#),
        ),
        (media_type::OCI_LAYER_TAR, format!("app {revision}\n")),
    ] {
        descs.push(push_blob(store, mt, data.as_bytes()).await);
    }
    let m = RawManifest::from_canonical(&json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": descs[0], "layers": [descs[1]],
        "annotations": {
            "org.opencontainers.image.version": "1.0",
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.created": created,
        }
    }))
    .unwrap();
    store
        .manifest_put(&m, Some(&format!("1.0-{revision}")))
        .await
        .unwrap();
    m
}

/// A two-platform index over two fresh images of two layers each, pushed with `tag`.
pub async fn push_index(store: &dyn Store, seed: &str, tag: Option<&str>) -> RawManifest {
    push_index_of(store, seed, 2, tag).await
}

/// A two-platform index over two fresh images of `layers` layers each, pushed with `tag`.
pub async fn push_index_of(
    store: &dyn Store,
    seed: &str,
    layers: usize,
    tag: Option<&str>,
) -> RawManifest {
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let m = push_image(store, &format!("{seed}-{arch}"), layers, None).await;
        let mut d = m.descriptor();
        d.platform = Some(Platform {
            architecture: arch.into(),
            os: "linux".into(),
            os_version: None,
            os_features: None,
            variant: None,
            features: None,
        });
        entries.push(d);
    }
    let idx = RawManifest::from_canonical(&json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": entries
    }))
    .unwrap();
    store.manifest_put(&idx, tag).await.unwrap();
    idx
}

/// An annotation-only artifact referring to `subject`, pushed untagged.
pub async fn push_referrer(
    store: &dyn Store,
    subject: &RawManifest,
    artifact_type: &str,
    note: &str,
) -> RawManifest {
    push_blob(store, media_type::OCI_EMPTY, b"{}").await;
    let m = RawManifest::from_canonical(&json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": Descriptor::empty(), "layers": [Descriptor::empty()],
        "subject": subject.descriptor(),
        "annotations": {"note": note}
    }))
    .unwrap();
    store.manifest_put(&m, None).await.unwrap();
    m
}

/// This process's umask, from `/proc/self/status` (the only way to read it without setting
/// it).
pub fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
}

/// Assert that every file under `dir` has mode `0666` and every directory `0777`, less the
/// umask (0644 and 0755 under the usual 022).
pub fn assert_modes_honour_umask(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let umask = umask();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o777 } else { 0o666 } & !umask;
        assert_eq!(
            mode,
            want,
            "{} has mode {mode:o}, not {want:o} (umask {umask:o})",
            entry.path().display()
        );
        if meta.is_dir() {
            assert_modes_honour_umask(&entry.path());
        }
    }
}
