//! Blob uploads (end-4a/4b/5/6/11/13/14): sessions that hash as data arrives, chunks that must
//! come in order (416 otherwise, and nothing appended), single-POST uploads, cross-repository
//! mounts, cancellation, and a finishing PUT that closes the session, verifies the digest and
//! only then adopts the file as the blob, unless the repository has it already (a stored blob
//! is never replaced). Nothing is visible in a repository until it has been verified. The
//! sessions themselves (no file held between requests, idle expiry, the cap) are
//! [`super::sessions`]'s.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use lineage_oci::{Algorithm, Digest};
use tokio::io::AsyncWriteExt;

use super::error::{OciError, internal};
use super::path;
use super::sessions::{Session, remove_file};
use super::state::Registry;

fn location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn range_value(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

fn session_response(status: StatusCode, name: &str, id: &str, offset: u64) -> Response {
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    insert(h, header::LOCATION.as_str(), &location(name, id));
    insert(h, "range", &range_value(offset));
    insert(h, "docker-upload-uuid", id);
    insert(h, header::CONTENT_LENGTH.as_str(), "0");
    resp
}

/// Set a header from text that is known to be valid header text.
pub(crate) fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The `201 Created` of a finished blob.
pub(crate) fn created(name: &str, digest: &Digest) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    insert(
        h,
        header::LOCATION.as_str(),
        &format!("/v2/{name}/blobs/{digest}"),
    );
    insert(h, "docker-content-digest", digest.as_str());
    insert(h, header::CONTENT_LENGTH.as_str(), "0");
    resp
}

/// Append the request body to the session's file, all or nothing: when the body cannot be
/// read or written, or is not `expected` bytes long, the file, offset and hash are put back
/// as they were.
async fn append(s: &mut Session, body: Body, expected: Option<u64>) -> Result<(), OciError> {
    let (offset, hasher) = (s.offset, s.hasher.clone());
    let result = write_body(s, body).await;
    let result = match (result, expected) {
        (Ok(()), Some(n)) if s.offset - offset != n => Err(OciError::range_invalid(format!(
            "Content-Range says {n} bytes, the body had {}",
            s.offset - offset
        ))),
        (r, _) => r,
    };
    // Also when no whole chunk was counted: a failed write may have left part of one.
    if result.is_err() {
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&s.path)
            .await
            .map_err(|e| internal("cannot open an upload", &e))?;
        file.set_len(offset)
            .await
            .map_err(|e| internal("cannot truncate an upload", &e))?;
        s.offset = offset;
        s.hasher = hasher;
    }
    result
}

/// Stream `body` to the end of the session's file, opened for this request only.
async fn write_body(s: &mut Session, body: Body) -> Result<(), OciError> {
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&s.path)
        .await
        .map_err(|e| internal("cannot open an upload", &e))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| OciError::upload_invalid(format!("cannot read the request body: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| internal("cannot write an upload", &e))?;
        s.hasher.update(&chunk);
        s.offset += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(|e| internal("cannot write an upload", &e))
}

/// `Content-Range: <start>-<end>` (inclusive, no unit).
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, OciError> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("bytes ").unwrap_or(text);
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((a, b)) if a <= b => Ok(Some((a, b))),
        _ => Err(OciError::range_invalid(format!(
            "invalid Content-Range `{text}`"
        ))),
    }
}

/// POST `/v2/<name>/blobs/uploads/`: mount, single-POST upload, or a new session.
pub(crate) async fn start(
    reg: &Registry,
    name: &str,
    query: &HashMap<String, String>,
    body: Body,
) -> Result<Response, OciError> {
    if let Some(mount) = query.get("mount") {
        let digest = path::digest(mount)?;
        if let Some(from) = query.get("from").filter(|f| path::is_valid_name(f))
            && let Some(source) = reg.repo(from).await
        {
            let target = reg
                .repo_or_create(name)
                .await
                .map_err(|e| internal("cannot create a repository", &e))?;
            match target.blob_link_from(&source, &digest) {
                Ok(true) => return Ok(created(name, &digest)),
                Ok(false) => {}
                Err(e) => return Err(internal("cannot mount a blob", &e)),
            }
        }
        // Not mountable: an ordinary session, as the spec says.
        let (id, _) = reg.uploads.open(name).await?;
        return Ok(session_response(StatusCode::ACCEPTED, name, &id, 0));
    }
    if let Some(d) = query.get("digest") {
        let digest = path::digest(d)?;
        let mut s = reg.uploads.detached().await?;
        let result = async {
            append(&mut s, body, None).await?;
            finish(reg, name, &s, &digest).await
        }
        .await;
        remove_file(&s.path).await;
        return result.map(|()| created(name, &digest));
    }
    let (id, _) = reg.uploads.open(name).await?;
    Ok(session_response(StatusCode::ACCEPTED, name, &id, 0))
}

/// The 416 of a chunk that does not start where the upload is, with where it is.
fn out_of_order(name: &str, id: &str, start: u64, offset: u64) -> Response {
    let mut resp = OciError::range_invalid(format!(
        "chunk starts at {start}, the upload is at {offset}"
    ))
    .into_response();
    insert(
        resp.headers_mut(),
        header::LOCATION.as_str(),
        &location(name, id),
    );
    insert(resp.headers_mut(), "range", &range_value(offset));
    resp
}

/// PATCH a chunk (in order) or a stream. A chunk refused with 416 leaves the upload as it was.
pub(crate) async fn patch(
    reg: &Registry,
    name: &str,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let mut s = reg.uploads.lock(name, id).await?;
    reg.uploads.touch(&mut s);
    let expected = match content_range(headers)? {
        Some((start, _)) if start != s.offset => {
            return Ok(out_of_order(name, id, start, s.offset));
        }
        Some((start, end)) => Some(end - start + 1),
        None => None,
    };
    let result = append(&mut s, body, expected).await;
    reg.uploads.touch(&mut s);
    result?;
    Ok(session_response(StatusCode::ACCEPTED, name, id, s.offset))
}

/// GET the state of a session: 204 with its `Range`.
pub(crate) async fn status(reg: &Registry, name: &str, id: &str) -> Result<Response, OciError> {
    let s = reg.uploads.lock(name, id).await?;
    Ok(session_response(StatusCode::NO_CONTENT, name, id, s.offset))
}

/// DELETE a session.
pub(crate) async fn cancel(reg: &Registry, name: &str, id: &str) -> Result<Response, OciError> {
    let mut s = reg.uploads.lock(name, id).await?;
    reg.uploads.close(id, &mut s);
    remove_file(&s.path).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PUT `?digest=`: the last chunk (if any), verification, and the blob lands. The session
/// is closed before the body is read, so a request racing with this one answers
/// `BLOB_UPLOAD_UNKNOWN` and cannot touch the file that becomes the blob; only a chunk out
/// of order (416) leaves it open.
pub(crate) async fn put(
    reg: &Registry,
    name: &str,
    id: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let Some(d) = query.get("digest") else {
        return Err(OciError::digest_invalid(
            "the digest query parameter is missing",
        ));
    };
    let digest = path::digest(d)?;
    let mut s = reg.uploads.lock(name, id).await?;
    if let Some((start, _)) = content_range(headers)?
        && start != s.offset
    {
        reg.uploads.touch(&mut s);
        return Ok(out_of_order(name, id, start, s.offset));
    }
    reg.uploads.close(id, &mut s);
    let result = async {
        append(&mut s, body, None).await?;
        finish(reg, name, &s, &digest).await
    }
    .await;
    remove_file(&s.path).await;
    result.map(|()| created(name, &digest))
}

/// Verify the session's content against `digest` and make it repository `name`'s blob,
/// unless the repository has that blob already: then the upload is dropped and the stored
/// file stays as it is.
async fn finish(reg: &Registry, name: &str, s: &Session, digest: &Digest) -> Result<(), OciError> {
    let actual = match digest.algorithm() {
        Algorithm::Sha256 => s.hasher.clone().finish(),
        other => {
            let path = s.path.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<Digest> {
                let mut h = other.hasher();
                let mut f = std::fs::File::open(path)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = std::io::Read::read(&mut f, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                Ok(h.finish())
            })
            .await
            .map_err(|e| internal("cannot hash an upload", &e))?
            .map_err(|e| internal("cannot hash an upload", &e))?
        }
    };
    if &actual != digest {
        return Err(OciError::digest_invalid(format!(
            "the content hashes to {actual}, not {digest}"
        )));
    }
    let repo = reg
        .repo_or_create(name)
        .await
        .map_err(|e| internal("cannot create a repository", &e))?;
    let (path, digest) = (s.path.clone(), digest.clone());
    tokio::task::spawn_blocking(move || repo.blob_adopt_verified(&digest, &path))
        .await
        .map_err(|e| internal("cannot store a blob", &e))?
        .map_err(|e| internal("cannot store a blob", &e))?;
    Ok(())
}
