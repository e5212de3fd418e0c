//! Reading an OCI image layout on disk as the tests check it, independently of lineage's
//! own layout store: `oci:` references, blobs, the tags of `index.json`, what a root reaches,
//! and the layout's integrity.

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tools::{sha256_file, sha256_files};

/// Media types the layout walker follows into.
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// `oci:PATH:TAG`.
pub fn oci(path: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", path.display())
}

/// `oci-archive:PATH:TAG`.
pub fn oci_archive(path: &Path, tag: &str) -> String {
    format!("oci-archive:{}:{tag}", path.display())
}

/// The path of the blob `digest` (`sha256:<hex>`) inside `layout`.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest
        .split_once(':')
        .unwrap_or_else(|| panic!("not a digest: {digest}"));
    layout.join("blobs").join(alg).join(hex)
}

/// The bytes of blob `digest` in `layout`.
pub fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let path = blob_path(layout, digest);
    fs::read(&path).unwrap_or_else(|e| panic!("reading blob {}: {e}", path.display()))
}

/// Parses JSON, panicking with `what` in the message.
pub fn json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// The descriptor in `layout`'s `index.json` whose
/// `org.opencontainers.image.ref.name` is `tag`.
pub fn tagged(layout: &Path, tag: &str) -> Value {
    let index_path = layout.join("index.json");
    let bytes =
        fs::read(&index_path).unwrap_or_else(|e| panic!("reading {}: {e}", index_path.display()));
    let index = json(&bytes, &index_path.display().to_string());
    let found: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no manifests array", index_path.display()))
        .iter()
        .filter(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{} should name tag {tag} exactly once: {index}",
        index_path.display()
    );
    found[0].clone()
}

/// The digest `tag` points to in `layout`.
pub fn tagged_digest(layout: &Path, tag: &str) -> String {
    let desc = tagged(layout, tag);
    desc["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("descriptor without digest: {desc}"))
        .to_owned()
}

/// Every digest reachable from the manifest or index `root` in `layout`: `root`
/// itself, the child manifests of indexes, and every manifest's config and
/// layers. A `subject` is not followed: it points back at other content.
pub fn reachable(layout: &Path, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root.to_owned()]);
    while let Some(digest) = queue.pop_front() {
        if !seen.insert(digest.clone()) {
            continue;
        }
        let doc = json(&read_blob(layout, &digest), &digest);
        let is_index = doc["manifests"].is_array()
            || doc["mediaType"]
                .as_str()
                .is_some_and(|m| INDEX_TYPES.contains(&m));
        if is_index {
            for child in doc["manifests"].as_array().into_iter().flatten() {
                queue.push_back(descriptor_digest(child));
            }
        } else {
            let config = &doc["config"];
            assert!(config.is_object(), "manifest {digest} has no config: {doc}");
            seen.insert(descriptor_digest(config));
            for layer in doc["layers"].as_array().into_iter().flatten() {
                seen.insert(descriptor_digest(layer));
            }
        }
    }
    seen
}

fn descriptor_digest(desc: &Value) -> String {
    desc["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("descriptor without digest: {desc}"))
        .to_owned()
}

/// Asserts that `layout` is a well-formed image layout on disk: an `oci-layout`
/// file with `imageLayoutVersion`, a JSON `index.json`, and at least one blob,
/// where every file under `blobs/sha256` hashes to its own name.
pub fn assert_layout_integrity(layout: &Path) {
    let marker = layout.join("oci-layout");
    let marker_json = json(
        &fs::read(&marker).unwrap_or_else(|e| panic!("reading {}: {e}", marker.display())),
        &marker.display().to_string(),
    );
    assert!(
        marker_json["imageLayoutVersion"].is_string(),
        "{} lacks imageLayoutVersion: {marker_json}",
        marker.display()
    );
    let index = layout.join("index.json");
    json(
        &fs::read(&index).unwrap_or_else(|e| panic!("reading {}: {e}", index.display())),
        &index.display().to_string(),
    );
    let dir = layout.join("blobs").join("sha256");
    let mut paths = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        assert!(path.is_file(), "{} is not a regular file", path.display());
        paths.push(path);
    }
    assert!(!paths.is_empty(), "{} holds no blobs", dir.display());
    for (path, hash) in paths.iter().zip(sha256_files(&paths)) {
        let name = path.file_name().and_then(OsStr::to_str).unwrap_or_default();
        assert_eq!(
            hash,
            name,
            "blob {} does not hash to its name",
            path.display()
        );
    }
}

/// Asserts that every digest in `digests` is a blob file in `layout` whose
/// content hashes to that digest.
pub fn assert_has_blobs(layout: &Path, digests: &BTreeSet<String>) {
    for digest in digests {
        let path = blob_path(layout, digest);
        assert!(
            path.is_file(),
            "{} is missing blob {digest} (expected {})",
            layout.display(),
            path.display()
        );
        assert_eq!(
            format!("sha256:{}", sha256_file(&path)),
            *digest,
            "blob {} has the wrong content",
            path.display()
        );
    }
}

/// Asserts two byte strings are equal, showing them as text when they differ.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got == want,
        "{what}: bytes differ\n--- got ({} bytes)\n{}\n--- want ({} bytes)\n{}",
        got.len(),
        String::from_utf8_lossy(got),
        want.len(),
        String::from_utf8_lossy(want),
    );
}
