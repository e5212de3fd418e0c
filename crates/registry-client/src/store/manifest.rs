//! Manifests: HEAD to resolve, GET with every manifest type in `Accept` (distribution 2.8
//! answers 404 to an OCI manifest GET without the OCI types), PUT of exact bytes, DELETE.

use lineage_oci::manifest::strip_parameters;
use lineage_oci::{Descriptor, Digest, ManifestError, RawManifest, TagOrDigest, media_type};
use lineage_store::{ErrorKind, PushResult, Result, StoreError};
use reqwest::{Method, Response, StatusCode};

use super::{RegistryStore, referrers};
use crate::client::{Body, Request};
use crate::error::RegistryError;
use crate::limits;

/// The `Accept` header for manifest requests.
pub(crate) fn accept() -> String {
    media_type::MANIFEST_TYPES.join(", ")
}

/// "Not found", with the registry's own answer (status, error code, message) as the cause.
async fn not_found(
    store: &RegistryStore,
    reference: &TagOrDigest,
    response: Response,
    method: &Method,
) -> StoreError {
    StoreError::Backend {
        kind: ErrorKind::NotFound,
        message: format!("manifest `{reference}` not found in {}", store.name),
        source: Some(Box::new(store.client.status_error(response, method).await)),
    }
}

fn request(store: &RegistryStore, method: Method, reference: &TagOrDigest) -> Request {
    Request::new(
        method,
        store.path("manifests", &reference.to_string()),
        store.scope(false),
    )
    .header(reqwest::header::ACCEPT, &accept())
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// HEAD the manifest; fall back to GET when the registry leaves out what a descriptor needs.
pub(super) async fn resolve(
    store: &RegistryStore,
    target: &TagOrDigest,
) -> Result<lineage_oci::Descriptor> {
    let resp = store
        .client
        .send(&store.registry, request(store, Method::HEAD, target))
        .await?;
    match resp.status() {
        StatusCode::NOT_FOUND => return Err(not_found(store, target, resp, &Method::HEAD).await),
        StatusCode::OK => {}
        _ => return Err(store.client.status_error(resp, &Method::HEAD).await.into()),
    }
    let digest = header(&resp, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
    let mt = header(&resp, "content-type").map(|t| strip_parameters(t).to_string());
    let size = header(&resp, "content-length").and_then(|l| l.parse::<u64>().ok());
    match (digest, mt, size) {
        (Some(digest), Some(mt), Some(size)) if media_type::is_manifest(&mt) && size > 0 => {
            if let TagOrDigest::Digest(want) = target
                && *want != digest
            {
                return Err(RegistryError::Protocol {
                    url: format!("{}@{want}", store.name),
                    message: format!("the registry answered with digest {digest}"),
                }
                .into());
            }
            Ok(Descriptor::new(mt, digest, size))
        }
        _ => Ok(fetch(store, target).await?.descriptor()),
    }
}

/// GET a manifest, at most [`limits::MANIFEST`] bytes, verified against the digest it was asked by or the
/// `Docker-Content-Digest` the registry sent.
pub(crate) async fn fetch(store: &RegistryStore, target: &TagOrDigest) -> Result<RawManifest> {
    let resp = store
        .client
        .send(&store.registry, request(store, Method::GET, target))
        .await?;
    match resp.status() {
        StatusCode::NOT_FOUND => return Err(not_found(store, target, resp, &Method::GET).await),
        StatusCode::OK => {}
        _ => return Err(store.client.status_error(resp, &Method::GET).await.into()),
    }
    let manifest_error = |source| StoreError::Manifest {
        store: store.name.clone(),
        reference: target.to_string(),
        source,
    };
    let hint = header(&resp, "content-type").map(String::from);
    let sent_digest = header(&resp, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
    let body = limits::read_limited(
        resp,
        &Method::GET,
        &store.registry,
        "manifest",
        limits::MANIFEST,
    )
    .await?;
    let verify_error = |e| match e {
        ManifestError::Verify(source) => StoreError::Verify {
            store: store.name.clone(),
            source,
        },
        other => manifest_error(other),
    };
    match target {
        TagOrDigest::Digest(d) => {
            RawManifest::verified(body, d, hint.as_deref()).map_err(verify_error)
        }
        TagOrDigest::Tag(_) => match sent_digest {
            Some(d) => RawManifest::verified(body, &d, hint.as_deref()).map_err(verify_error),
            None => RawManifest::from_bytes(body, hint.as_deref()).map_err(manifest_error),
        },
    }
}

/// HEAD by digest.
pub(crate) async fn exists(store: &RegistryStore, digest: &Digest) -> Result<bool> {
    let target = TagOrDigest::Digest(digest.clone());
    let resp = store
        .client
        .send(&store.registry, request(store, Method::HEAD, &target))
        .await?;
    match resp.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(store.client.status_error(resp, &Method::HEAD).await.into()),
    }
}

/// PUT the exact bytes, by tag or by digest. A manifest with a `subject` that the registry did
/// not index (no `OCI-Subject` in the answer) is added to the referrers tag.
pub(super) async fn put(
    store: &RegistryStore,
    manifest: &RawManifest,
    tag: Option<&str>,
) -> Result<PushResult> {
    let subject_indexed = put_bytes(store, manifest, tag).await?;
    if !subject_indexed
        && let Ok(view) = manifest.view()
        && let Some(subject) = &view.subject
    {
        referrers::fallback_add(store, &subject.digest, manifest).await?;
    }
    Ok(PushResult {
        descriptor: manifest.descriptor(),
        subject_indexed,
    })
}

/// How often a manifest PUT answered `MANIFEST_BLOB_UNKNOWN` is tried again when every blob
/// it names is there.
const BLOB_UNKNOWN_RETRIES: u32 = 3;

/// Whether every child the manifest names is in the repository (any doubt answers no).
///
/// distribution 2.8 rewrites a blob's link file in place each time the blob is uploaded, so a
/// manifest PUT racing another client's upload of the same blob (the empty config `{}` that
/// every artifact shares) can read a truncated link and answer `MANIFEST_BLOB_UNKNOWN` for a
/// blob it holds. When the blobs answer a HEAD, the PUT is worth repeating; when one is truly
/// missing, the registry's answer stands.
async fn children_present(store: &RegistryStore, manifest: &RawManifest) -> bool {
    let Ok(view) = manifest.view() else {
        return false;
    };
    for child in view.children() {
        let present = if media_type::is_manifest(&child.media_type) {
            exists(store, &child.digest).await
        } else {
            super::blob::exists(store, &child.digest).await
        };
        if !matches!(present, Ok(true)) {
            return false;
        }
    }
    true
}

/// PUT only; returns whether the registry answered with `OCI-Subject`. A `MANIFEST_BLOB_UNKNOWN`
/// for blobs that are there is a registry race, tried again (see [`children_present`]).
pub(super) async fn put_bytes(
    store: &RegistryStore,
    manifest: &RawManifest,
    tag: Option<&str>,
) -> Result<bool> {
    let reference = match tag {
        Some(t) => t.to_string(),
        None => manifest.digest().to_string(),
    };
    let mut attempt = 0u32;
    let resp = loop {
        let req = Request::new(
            Method::PUT,
            store.path("manifests", &reference),
            store.scope(true),
        )
        .header(reqwest::header::CONTENT_TYPE, manifest.media_type())
        .body(Body::Bytes(manifest.bytes().clone()));
        let resp = store.client.send(&store.registry, req).await?;
        match store
            .client
            .expect(resp, &Method::PUT, &[200, 201, 202, 204])
            .await
        {
            Ok(resp) => break resp,
            Err(e)
                if e.has_code(lineage_oci::errcode::ErrorCode::ManifestBlobUnknown)
                    && attempt < store.client.retries().min(BLOB_UNKNOWN_RETRIES) =>
            {
                tokio::time::sleep(store.client.backoff(attempt, None)).await;
                attempt += 1;
                if !children_present(store, manifest).await {
                    return Err(e.into());
                }
                tracing::debug!(
                    registry = %store.registry,
                    manifest = %manifest.digest(),
                    attempt,
                    "the registry called a blob unknown that it holds; putting the manifest again"
                );
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(sent) =
        header(&resp, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok())
        && sent.algorithm() == manifest.digest().algorithm()
        && &sent != manifest.digest()
    {
        return Err(RegistryError::Protocol {
            url: format!("{}:{reference}", store.name),
            message: format!(
                "the registry stored the manifest as {sent}, but its bytes hash to {}",
                manifest.digest()
            ),
        }
        .into());
    }
    Ok(resp.headers().contains_key("oci-subject"))
}

/// DELETE by digest, then keep the referrers tag right on a registry without the referrers
/// API: a deleted referrer leaves its subject's index, and a deleted subject's own referrers
/// tag goes too.
pub(super) async fn delete(store: &RegistryStore, digest: &Digest) -> Result<()> {
    let target = TagOrDigest::Digest(digest.clone());
    // Only the referrers tag needs the manifest (for its subject), and it cannot be read
    // after the DELETE; with the referrers API the registry keeps its own index.
    if !referrers::uses_tag_schema(store) {
        return delete_reference(store, &target).await;
    }
    let manifest = fetch(store, &target).await?;
    delete_reference(store, &target).await?;
    if let Ok(view) = manifest.view()
        && let Some(subject) = &view.subject
    {
        referrers::fallback_remove(store, &subject.digest, digest).await?;
    }
    referrers::drop_tag_of(store, digest).await;
    Ok(())
}

/// DELETE a tag. Registries that delete only by digest answer 400 or 405.
pub(super) async fn delete_tag(store: &RegistryStore, tag: &str) -> Result<()> {
    let target = TagOrDigest::Tag(tag.to_string());
    match delete_reference(store, &target).await {
        Err(e) if e.kind() == ErrorKind::InvalidInput => Err(StoreError::Unsupported {
            store: store.name.clone(),
            operation: format!("deleting tags (tag `{tag}`): {e}"),
        }),
        other => other,
    }
}

pub(crate) async fn delete_reference(store: &RegistryStore, target: &TagOrDigest) -> Result<()> {
    let req = Request::new(
        Method::DELETE,
        store.path("manifests", &target.to_string()),
        store.scope(true),
    )
    .header(reqwest::header::ACCEPT, &accept());
    let resp = store.client.send(&store.registry, req).await?;
    match resp.status() {
        StatusCode::NOT_FOUND => Err(not_found(store, target, resp, &Method::DELETE).await),
        s if matches!(s.as_u16(), 200 | 202 | 204) => Ok(()),
        _ => Err(store
            .client
            .status_error(resp, &Method::DELETE)
            .await
            .into()),
    }
}
