//! Blob reads (end-2, with `Range`) and deletes (end-10). A manifest is stored as a blob of
//! its repository's layout too, but only a manifest DELETE removes it.
//!
//! A blob's bytes are read in chunks of [`CHUNK`] bytes on the blocking pool, straight
//! into the buffers handed to hyper (no zeroing, no second copy), at most two chunks ahead
//! of the socket. (No `sendfile`: hyper owns the socket and writes only from memory, and
//! the workspace forbids the `unsafe` a memory map needs.)

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::error::{OciError, internal};
use super::path;
use super::state::Registry;
use super::uploads::insert;

/// A byte range request, resolved against a blob's size: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
fn parse_range(value: &str, size: u64) -> Result<(u64, u64), ()> {
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            if n == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (a, b) => (
            a.parse().map_err(|_| ())?,
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1)),
        ),
    };
    if start > end || start >= size {
        return Err(());
    }
    Ok((start, end))
}

/// GET or HEAD a blob.
pub(crate) async fn get(
    reg: &Registry,
    name: &str,
    digest_text: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, OciError> {
    let digest = path::digest(digest_text)?;
    let repo = reg
        .repo(name)
        .await
        .ok_or_else(|| OciError::blob_unknown(digest_text))?;
    let blob = repo.blob_path(&digest);
    let file = match tokio::fs::File::open(&blob).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OciError::blob_unknown(digest_text));
        }
        Err(e) => return Err(internal("cannot open a blob", &e)),
    };
    let size = file
        .metadata()
        .await
        .map_err(|e| internal("cannot read a blob", &e))?
        .len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(v) => match parse_range(v, size) {
            Ok(r) => Some(r),
            Err(()) => {
                let mut resp = OciError::range_invalid(format!(
                    "unsatisfiable range `{v}` for a blob of {size} bytes"
                ))
                .into_response();
                insert(
                    resp.headers_mut(),
                    header::CONTENT_RANGE.as_str(),
                    &format!("bytes */{size}"),
                );
                return Ok(resp);
            }
        },
    };
    let (status, start, len) = match range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        None => (StatusCode::OK, 0, size),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        file_body(file.into_std().await, start, len)
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    insert(h, header::CONTENT_LENGTH.as_str(), &len.to_string());
    insert(h, header::CONTENT_TYPE.as_str(), "application/octet-stream");
    insert(h, "docker-content-digest", digest.as_str());
    insert(h, header::ACCEPT_RANGES.as_str(), "bytes");
    insert(h, header::ETAG.as_str(), &format!("\"{digest}\""));
    if let Some((a, b)) = range {
        insert(
            h,
            header::CONTENT_RANGE.as_str(),
            &format!("bytes {a}-{b}/{size}"),
        );
    }
    Ok(resp)
}

/// Bytes read from the file at a time. Measured with one 256 MiB stream (docs/benchmarks.md,
/// issue 15): 2 MiB chunks read without zeroing beat 256 KiB–1 MiB ones (fewer trips to
/// the blocking pool), and zeroing each buffer first cost about half the throughput.
const CHUNK: usize = 2 * 1024 * 1024;

/// The body of `len` bytes of `file` from `start`: a task reads chunk after chunk on the
/// blocking pool, at most two chunks ahead of the socket; it stops when the client goes.
fn file_body(file: std::fs::File, start: u64, len: u64) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::spawn(async move {
        let mut file = Some(file);
        let mut at = start;
        let end = start + len;
        while at < end {
            let n = usize::try_from(end - at).unwrap_or(CHUNK).min(CHUNK);
            let Some(mut f) = file.take() else { return };
            let first = at == start;
            let read = tokio::task::spawn_blocking(move || {
                let chunk = read_next(&mut f, first.then_some(start), n);
                (f, chunk)
            })
            .await;
            let chunk = match read {
                Ok((f, chunk)) => {
                    file = Some(f);
                    chunk
                }
                Err(e) => Err(std::io::Error::other(e)),
            };
            let failed = chunk.is_err();
            at += n as u64;
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    Body::from_stream(tokio_stream_of(rx))
}

/// The next `n` bytes of `file` (from `seek` first, when given), read straight into a buffer
/// that becomes the chunk: no zeroing, no second copy. A file that ends first is an error
/// (the blob changed size under us, which a stored blob never does).
fn read_next(file: &mut std::fs::File, seek: Option<u64>, n: usize) -> std::io::Result<Bytes> {
    use std::io::{Read as _, Seek as _};
    if let Some(at) = seek {
        file.seek(std::io::SeekFrom::Start(at))?;
    }
    let mut buf = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut buf)?;
    if buf.len() < n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the blob ended {} bytes early", n - buf.len()),
        ));
    }
    Ok(Bytes::from(buf))
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// DELETE a blob; a stored manifest's digest is refused.
pub(crate) async fn delete(
    reg: &Registry,
    name: &str,
    digest_text: &str,
) -> Result<Response, OciError> {
    if reg.policy.no_delete {
        return Err(OciError::unsupported(
            "deletes are disabled on this registry",
        ));
    }
    let digest = path::digest(digest_text)?;
    let repo = reg
        .repo(name)
        .await
        .ok_or_else(|| OciError::blob_unknown(digest_text))?;
    // Removing a manifest's file from under `index.json` would leave its tags and referrers
    // naming bytes that are gone. 405 `UNSUPPORTED` ("the operation is unsupported"), not
    // 404 `BLOB_UNKNOWN`: the bytes exist and GET /blobs/ serves them, so "unknown" would
    // be false; the client has to delete the manifest through /manifests/ instead.
    let listed = repo
        .find_digest(&digest)
        .map_err(|e| internal("cannot read a repository's index", &e))?;
    if listed.is_some() {
        return Err(OciError::unsupported(format!(
            "{digest} is a manifest; delete it with DELETE /v2/{name}/manifests/{digest}"
        )));
    }
    match tokio::fs::remove_file(repo.blob_path(&digest)).await {
        Ok(()) => Ok(StatusCode::ACCEPTED.into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(OciError::blob_unknown(digest_text))
        }
        Err(e) => Err(internal("cannot delete a blob", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=500-1499", 5000), Ok((500, 1499)));
        assert_eq!(parse_range("bytes=500-", 5000), Ok((500, 4999)));
        assert_eq!(parse_range("bytes=-500", 5000), Ok((4500, 4999)));
        assert_eq!(parse_range("bytes=2000-9000", 5000), Ok((2000, 4999)));
        assert!(parse_range("bytes=500-0", 5000).is_err());
        assert!(parse_range("bytes=5000-10000", 5000).is_err());
        assert!(parse_range("bytes=0-1,3-4", 5000).is_err());
        assert!(parse_range("items=0-1", 5000).is_err());
        assert!(parse_range("bytes=-0", 5000).is_err());
    }
}
