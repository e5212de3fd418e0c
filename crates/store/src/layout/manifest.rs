//! Manifests of a layout: stored as blobs, listed in `index.json`.

use lineage_oci::manifest::MAX_MANIFEST_SIZE;
use lineage_oci::reference::is_valid_tag;
use lineage_oci::{Digest, ManifestError, RawManifest};

use super::{LayoutStore, index};
use crate::error::{Result, StoreError};
use crate::fs;
use crate::store::{PushResult, ReadStore};

pub(super) async fn get(store: &LayoutStore, digest: &Digest) -> Result<RawManifest> {
    let path = store.blob_path(digest);
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => store.not_found(digest),
            _ => StoreError::io("read", &path, e),
        })?;
    let manifest_error = |source| StoreError::Manifest {
        store: store.name().to_string(),
        reference: digest.to_string(),
        source,
    };
    if meta.len() > MAX_MANIFEST_SIZE as u64 {
        return Err(manifest_error(ManifestError::TooLarge {
            size: usize::try_from(meta.len()).unwrap_or(usize::MAX),
        }));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| StoreError::io("read", &path, e))?;
    // The index entry's media type matters only for manifests without their own `mediaType`
    // (umoci's); reading `index.json` for every GET would make reads slow down as the
    // repository grows.
    let hint = if lineage_oci::manifest::declares_media_type(&bytes) {
        None
    } else {
        store
            .find_digest(digest)
            .ok()
            .flatten()
            .map(|e| e.media_type().to_string())
    };
    RawManifest::verified(bytes, digest, hint.as_deref()).map_err(|e| match e {
        ManifestError::Verify(source) => StoreError::Verify {
            store: store.name().to_string(),
            source,
        },
        other => manifest_error(other),
    })
}

pub(super) async fn put(
    store: &LayoutStore,
    manifest: &RawManifest,
    tag: Option<&str>,
) -> Result<PushResult> {
    if let Some(t) = tag
        && !is_valid_tag(t)
    {
        return Err(StoreError::InvalidInput {
            store: store.name().to_string(),
            message: format!("invalid tag `{t}`: must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}"),
        });
    }
    let view = manifest.view().map_err(|source| StoreError::Manifest {
        store: store.name().to_string(),
        reference: manifest.digest().to_string(),
        source,
    })?;
    for child in view.children() {
        if child.urls.is_none() && !store.blob_exists(&child.digest).await? {
            return Err(StoreError::InvalidInput {
                store: store.name().to_string(),
                message: format!(
                    "manifest {} names {} ({}), which is not in the layout; push it first",
                    manifest.digest(),
                    child.digest,
                    child.media_type
                ),
            });
        }
    }
    let path = store.blob_path(manifest.digest());
    if !path.is_file() {
        let root = store.root().to_path_buf();
        let bytes = manifest.bytes().clone();
        fs::blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
            }
            fs::write_atomic(&root, &path, &bytes)
        })
        .await?;
    }
    let mut entry = lineage_oci::Descriptor::new(
        manifest.media_type(),
        manifest.digest().clone(),
        manifest.bytes().len() as u64,
    );
    entry.artifact_type = view.artifact_type.clone();
    let tag_owned = tag.map(str::to_string);
    let journaled = store.journal && tag.is_none();
    // What it names is checked again under the write locks, which garbage collection's
    // sweep holds too: a blob it names cannot be collected between the check and the
    // listing.
    let children: Vec<Digest> = view
        .children()
        .filter(|c| c.urls.is_none())
        .map(|c| c.digest.clone())
        .collect();
    let name = store.name().to_string();
    let digest = manifest.digest().clone();
    index::locked(store.root(), move |root| {
        if let Some(c) = children
            .iter()
            .find(|c| !super::blob_file(root, c).is_file())
        {
            return Err(StoreError::InvalidInput {
                store: name,
                message: format!(
                    "manifest {digest} names {c}, which is not in the layout; push it first"
                ),
            });
        }
        if journaled {
            super::journal::append(root, &entry)
        } else {
            index::update_locked(root, |idx| idx.put(&entry, tag_owned.as_deref())).map(|_| ())
        }
    })
    .await?;
    if journaled {
        store.compact_if_due();
    }
    if let Some(subject) = &view.subject {
        store
            .referrers
            .add(&subject.digest, manifest.referrer_descriptor());
    }
    Ok(PushResult {
        descriptor: manifest.descriptor(),
        subject_indexed: true,
    })
}

pub(super) async fn delete(store: &LayoutStore, digest: &Digest) -> Result<()> {
    let d = digest.clone();
    let listed = index::update(store.root(), move |idx| Ok(idx.remove_digest(&d))).await?;
    let path = store.blob_path(digest);
    let removed = match tokio::fs::remove_file(&path).await {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(StoreError::io("remove", &path, e)),
    };
    store.referrers.remove([digest.clone()].into());
    if listed || removed {
        Ok(())
    } else {
        Err(store.not_found(digest))
    }
}
