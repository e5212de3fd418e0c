//! Manifests (end-3, end-7, end-9): exact bytes in, exact bytes out. A PUT is refused unless
//! it is a manifest of a type the registry knows, at most 4 MiB, matching the digest it is
//! pushed by, and naming only content the repository has (`subject` excepted: a referrer
//! may come before its subject). A manifest with a `subject` is indexed by the layout store
//! for the referrers API as it is stored, and the answer carries `OCI-Subject` when the
//! store says so ([`lineage_store::PushResult::subject_indexed`]). A GET by digest reads the
//! blob directly; by tag, it resolves through the store's cached tags.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lineage_oci::manifest::{MAX_MANIFEST_SIZE, strip_parameters};
use lineage_oci::reference::is_valid_tag;
use lineage_oci::{ManifestError, RawManifest, TagOrDigest, media_type};
use lineage_store::{ErrorKind, ReadStore, Store};

use super::error::{OciError, internal};
use super::path;
use super::state::Registry;
use super::uploads::insert;

fn target(reference: &str) -> Result<TagOrDigest, OciError> {
    if reference.contains(':') {
        return path::digest(reference).map(TagOrDigest::Digest);
    }
    if is_valid_tag(reference) {
        Ok(TagOrDigest::Tag(reference.to_string()))
    } else {
        Err(OciError::tag_invalid(reference))
    }
}

/// GET or HEAD a manifest by tag or digest.
pub(crate) async fn get(
    reg: &Registry,
    name: &str,
    reference: &str,
    method: &Method,
) -> Result<Response, OciError> {
    let target = target(reference)?;
    let repo = reg
        .repo(name)
        .await
        .ok_or_else(|| OciError::manifest_unknown(reference))?;
    let fetched = match &target {
        TagOrDigest::Digest(d) => repo.manifest_get(d).await,
        TagOrDigest::Tag(_) => repo.manifest_fetch(&target).await,
    };
    let manifest = match fetched {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Err(OciError::manifest_unknown(reference)),
        Err(e) => return Err(internal("cannot read a manifest", &e)),
    };
    let len = manifest.bytes().len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(manifest.bytes().clone())
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    insert(h, header::CONTENT_TYPE.as_str(), manifest.media_type());
    insert(h, header::CONTENT_LENGTH.as_str(), &len.to_string());
    insert(h, "docker-content-digest", manifest.digest().as_str());
    insert(
        h,
        header::ETAG.as_str(),
        &format!("\"{}\"", manifest.digest()),
    );
    Ok(resp)
}

/// The largest announced body of an oversize manifest PUT that is read (and dropped) behind
/// its 413, so a client still sending reads the answer (twice the manifest limit).
const OVERSIZE_DRAINED: u64 = 2 * MAX_MANIFEST_SIZE as u64;

/// PUT a manifest, by tag or by digest, with more tags in `?tag=`.
pub(crate) async fn put(
    reg: &Registry,
    name: &str,
    reference: &str,
    extra_tags: &[String],
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let target = target(reference)?;
    let mut tags: Vec<String> = Vec::new();
    if let TagOrDigest::Tag(t) = &target {
        tags.push(t.clone());
    }
    for t in extra_tags {
        if !is_valid_tag(t) {
            return Err(OciError::tag_invalid(t));
        }
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    // Refuse an announced oversize body before reading any of it. A body a little over the
    // limit is still read and dropped, behind the answer: a connection closed with unread
    // data is reset by the kernel, and a client still sending would see a broken pipe
    // instead of the 413. The connection's idle timeout bounds that reading; a body
    // announced far larger is not read at all.
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && len > MAX_MANIFEST_SIZE as u64
    {
        if len <= OVERSIZE_DRAINED {
            tokio::spawn(async move {
                use futures_util::StreamExt as _;
                let mut chunks = body.into_data_stream();
                while let Some(Ok(_)) = chunks.next().await {}
            });
        }
        return Err(OciError::too_large(format!(
            "the manifest is {len} bytes, more than the {MAX_MANIFEST_SIZE} this registry accepts"
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| strip_parameters(t).to_string())
        .unwrap_or_default();
    if !media_type::is_manifest(&content_type) {
        return Err(OciError::manifest_invalid(format!(
            "unsupported manifest media type `{content_type}`"
        )));
    }
    let bytes = to_bytes(body, MAX_MANIFEST_SIZE).await.map_err(|_| {
        OciError::too_large(format!(
            "the manifest is larger than {MAX_MANIFEST_SIZE} bytes"
        ))
    })?;
    // Pushed by digest, the manifest is stored under that digest, whatever its algorithm
    // (a sha512 push is fetched by its sha512 digest); by tag, under its sha256.
    let manifest = match &target {
        TagOrDigest::Digest(d) => RawManifest::verified(bytes, d, Some(&content_type)),
        TagOrDigest::Tag(_) => RawManifest::from_bytes(bytes, Some(&content_type)),
    }
    .map_err(|e| match e {
        ManifestError::TooLarge { .. } => OciError::too_large(e.to_string()),
        ManifestError::Verify(v) => OciError::digest_invalid(v.to_string()),
        other => OciError::manifest_invalid(other.to_string()),
    })?;
    if manifest.media_type() != content_type {
        return Err(OciError::manifest_invalid(format!(
            "the manifest's mediaType `{}` does not match its Content-Type `{content_type}`",
            manifest.media_type()
        )));
    }
    let view = manifest
        .view()
        .map_err(|e| OciError::manifest_invalid(e.to_string()))?;
    let repo = reg
        .repo_or_create(name)
        .await
        .map_err(|e| internal("cannot create a repository", &e))?;
    let first = tags.first().map(String::as_str);
    let pushed = repo
        .manifest_put(&manifest, first)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidInput => OciError::manifest_blob_unknown(e.to_string()),
            _ => internal("cannot store a manifest", &e),
        })?;
    for t in tags.iter().skip(1) {
        repo.manifest_put(&manifest, Some(t))
            .await
            .map_err(|e| internal("cannot tag a manifest", &e))?;
    }
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    insert(
        h,
        header::LOCATION.as_str(),
        &format!("/v2/{name}/manifests/{}", manifest.digest()),
    );
    insert(h, "docker-content-digest", manifest.digest().as_str());
    insert(h, header::CONTENT_LENGTH.as_str(), "0");
    if let Some(subject) = &view.subject
        && pushed.subject_indexed
    {
        insert(h, "oci-subject", subject.digest.as_str());
    }
    for t in extra_tags {
        if let Ok(v) = header::HeaderValue::from_str(t) {
            h.append("oci-tag", v);
        }
    }
    Ok(resp)
}

/// DELETE by digest (the manifest and every tag on it) or by tag (only the tag).
pub(crate) async fn delete(
    reg: &Registry,
    name: &str,
    reference: &str,
) -> Result<Response, OciError> {
    if reg.policy.no_delete {
        return Err(OciError::unsupported(
            "deletes are disabled on this registry",
        ));
    }
    let target = target(reference)?;
    let repo = reg
        .repo(name)
        .await
        .ok_or_else(|| OciError::manifest_unknown(reference))?;
    let result = match &target {
        TagOrDigest::Digest(d) => repo.manifest_delete(d).await,
        TagOrDigest::Tag(t) => repo.tag_delete(t).await,
    };
    match result {
        Ok(()) => Ok(StatusCode::ACCEPTED.into_response()),
        Err(e) if e.is_not_found() => Err(OciError::manifest_unknown(reference)),
        Err(e) => Err(internal("cannot delete a manifest", &e)),
    }
}
