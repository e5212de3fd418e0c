//! Blob uploads (end-4a/4b/5/6/11/13/14): sessions that hash as data arrives, chunks that must
//! come in order (416 otherwise), single-POST uploads, cross-repository mounts, cancellation,
//! and a finishing PUT that verifies the digest before the file is renamed into the
//! repository. Nothing is visible in a repository until it has been verified.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use lineage_oci::{Algorithm, Digest, Hasher};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::error::{OciError, internal};
use super::path;
use super::state::Registry;

/// An upload in progress.
pub struct Session {
    name: String,
    path: PathBuf,
    file: tokio::fs::File,
    offset: u64,
    hasher: Hasher,
}

fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher as _};
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_usize(i);
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

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
pub fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The `201 Created` of a finished blob.
pub fn created(name: &str, digest: &Digest) -> Response {
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

async fn open_session(
    reg: &Registry,
    name: &str,
) -> Result<(String, Arc<Mutex<Session>>), OciError> {
    let id = new_id();
    let path = reg.uploads_dir().join(&id);
    let file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| internal("cannot create an upload file", &e))?;
    let session = Arc::new(Mutex::new(Session {
        name: name.to_string(),
        path,
        file,
        offset: 0,
        hasher: Algorithm::Sha256.hasher(),
    }));
    reg.uploads.lock().await.insert(id.clone(), session.clone());
    Ok((id, session))
}

async fn session(reg: &Registry, name: &str, id: &str) -> Result<Arc<Mutex<Session>>, OciError> {
    let found = reg
        .uploads
        .lock()
        .await
        .get(id)
        .cloned()
        .ok_or_else(OciError::upload_unknown)?;
    if found.lock().await.name != name {
        return Err(OciError::upload_unknown());
    }
    Ok(found)
}

async fn end_session(reg: &Registry, id: &str) {
    if let Some(s) = reg.uploads.lock().await.remove(id) {
        let path = s.lock().await.path.clone();
        let _ = tokio::fs::remove_file(path).await;
    }
}

/// Append the request body to the session.
async fn append(session: &mut Session, body: Body) -> Result<(), OciError> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| OciError::upload_invalid(format!("cannot read the request body: {e}")))?;
        session
            .file
            .write_all(&chunk)
            .await
            .map_err(|e| internal("cannot write an upload", &e))?;
        session.hasher.update(&chunk);
        session.offset += chunk.len() as u64;
    }
    session
        .file
        .flush()
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
pub async fn start(
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
        let (id, _) = open_session(reg, name).await?;
        return Ok(session_response(StatusCode::ACCEPTED, name, &id, 0));
    }
    if let Some(d) = query.get("digest") {
        let digest = path::digest(d)?;
        let (id, session) = open_session(reg, name).await?;
        let result = async {
            let mut s = session.lock().await;
            append(&mut s, body).await?;
            finish(reg, name, &mut s, &digest).await
        }
        .await;
        end_session(reg, &id).await;
        return result.map(|()| created(name, &digest));
    }
    let (id, _) = open_session(reg, name).await?;
    Ok(session_response(StatusCode::ACCEPTED, name, &id, 0))
}

/// PATCH a chunk (in order) or a stream.
pub async fn patch(
    reg: &Registry,
    name: &str,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let session = session(reg, name, id).await?;
    let mut s = session.lock().await;
    if let Some((start, end)) = content_range(headers)? {
        if start != s.offset {
            let mut resp = OciError::range_invalid(format!(
                "chunk starts at {start}, the upload is at {}",
                s.offset
            ))
            .into_response();
            insert(
                resp.headers_mut(),
                header::LOCATION.as_str(),
                &location(name, id),
            );
            insert(resp.headers_mut(), "range", &range_value(s.offset));
            return Ok(resp);
        }
        let before = s.offset;
        append(&mut s, body).await?;
        if s.offset - before != end - start + 1 {
            return Err(OciError::range_invalid(format!(
                "Content-Range says {} bytes, the body had {}",
                end - start + 1,
                s.offset - before
            )));
        }
    } else {
        append(&mut s, body).await?;
    }
    Ok(session_response(StatusCode::ACCEPTED, name, id, s.offset))
}

/// GET the state of a session: 204 with its `Range`.
pub async fn status(reg: &Registry, name: &str, id: &str) -> Result<Response, OciError> {
    let session = session(reg, name, id).await?;
    let offset = session.lock().await.offset;
    Ok(session_response(StatusCode::NO_CONTENT, name, id, offset))
}

/// DELETE a session.
pub async fn cancel(reg: &Registry, name: &str, id: &str) -> Result<Response, OciError> {
    session(reg, name, id).await?;
    end_session(reg, id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PUT `?digest=`: the last chunk (if any), verification, and the blob lands.
pub async fn put(
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
    let session = session(reg, name, id).await?;
    let result = async {
        let mut s = session.lock().await;
        if let Some((start, _)) = content_range(headers)?
            && start != s.offset
        {
            return Err(OciError::range_invalid(format!(
                "chunk starts at {start}, the upload is at {}",
                s.offset
            )));
        }
        append(&mut s, body).await?;
        finish(reg, name, &mut s, &digest).await
    }
    .await;
    if !matches!(&result, Err(e) if e.status == StatusCode::RANGE_NOT_SATISFIABLE) {
        end_session(reg, id).await;
    }
    result.map(|()| created(name, &digest))
}

/// Verify the session's content against `digest` and move it into repository `name`.
async fn finish(
    reg: &Registry,
    name: &str,
    s: &mut Session,
    digest: &Digest,
) -> Result<(), OciError> {
    s.file
        .sync_all()
        .await
        .map_err(|e| internal("cannot sync an upload", &e))?;
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
        .map_err(|e| internal("cannot store a blob", &e))
}
