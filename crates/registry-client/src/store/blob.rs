//! Blobs: verified streaming reads that resume with `Range` after a dropped connection, and
//! uploads — single POST for small blobs (falling back to PUT when the registry answers 202),
//! one streamed PUT, or chunks honouring `OCI-Chunk-Min-Length` — plus cross-repository mounts
//! that fall back to an upload when the registry declines (202).

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt};
use lineage_oci::{Descriptor, Digest};
use lineage_store::{BlobStream, MountSource, Result, StoreError, blob};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::RegistryStore;
use crate::auth::Scope;
use crate::client::{Body, Request};
use crate::error::RegistryError;
use crate::link;

/// Blobs up to this size are uploaded from memory in one POST.
const SMALL_BLOB: u64 = 1 << 20;
/// Times a dropped download is resumed.
const RESUMES: u32 = 3;

fn blob_path(store: &RegistryStore, digest: &Digest) -> String {
    store.path("blobs", digest.as_str())
}

async fn open(store: &RegistryStore, desc: &Descriptor, offset: u64) -> Result<Response> {
    let mut req = Request::new(
        Method::GET,
        blob_path(store, &desc.digest),
        store.scope(false),
    );
    if offset > 0 {
        req = req.header(reqwest::header::RANGE, &format!("bytes={offset}-"));
    }
    let resp = store.client.send(&store.registry, req).await?;
    match resp.status() {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(resp),
        StatusCode::NOT_FOUND => Err(StoreError::Backend {
            kind: lineage_store::ErrorKind::NotFound,
            message: format!("blob {} not found in {}", desc.digest, store.name),
            source: Some(Box::new(
                store.client.status_error(resp, &Method::GET).await,
            )),
        }),
        _ => Err(store.client.status_error(resp, &Method::GET).await.into()),
    }
}

struct Download {
    store: RegistryStore,
    desc: Descriptor,
    offset: u64,
    /// Bytes still to drop from a 200 answer to a ranged request (a registry that ignores
    /// `Range`, as zuul-registry does).
    skip: u64,
    inner: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    resumes: u32,
    done: bool,
}

/// Stream a blob, verified, resuming after a dropped connection.
pub(super) async fn get(store: &RegistryStore, desc: &Descriptor) -> Result<BlobStream> {
    let first = open(store, desc, 0).await?;
    let state = Download {
        store: store.clone(),
        desc: desc.clone(),
        offset: 0,
        skip: 0,
        inner: Some(first.bytes_stream().boxed()),
        resumes: RESUMES,
        done: false,
    };
    let s = stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            if st.inner.is_none() {
                match open(&st.store, &st.desc, st.offset).await {
                    Ok(resp) => {
                        st.skip = if resp.status() == StatusCode::OK {
                            st.offset
                        } else {
                            0
                        };
                        st.inner = Some(resp.bytes_stream().boxed());
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
            let next = match st.inner.as_mut() {
                Some(inner) => inner.next().await,
                None => None,
            };
            match next {
                Some(Ok(mut chunk)) => {
                    if st.skip > 0 {
                        let drop = st.skip.min(chunk.len() as u64);
                        chunk = chunk.slice(drop as usize..);
                        st.skip -= drop;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    st.offset += chunk.len() as u64;
                    return Some((Ok(chunk), st));
                }
                Some(Err(e)) if st.resumes > 0 && st.offset < st.desc.size => {
                    st.resumes -= 1;
                    tracing::debug!(digest = %st.desc.digest, offset = st.offset, error = %lineage_store::one_line(&e), "resuming a download");
                    st.inner = None;
                }
                Some(Err(e)) => {
                    st.done = true;
                    let err = RegistryError::Transport {
                        method: "GET".into(),
                        url: format!("{}/blobs/{}", st.store.name, st.desc.digest),
                        message: lineage_store::one_line(&e),
                        retryable: true,
                        source: Some(e),
                    };
                    return Some((Err(err.into()), st));
                }
                None => return None,
            }
        }
    });
    Ok(blob::verified(s.boxed(), desc, &store.name))
}

/// HEAD a blob.
pub(super) async fn exists(store: &RegistryStore, digest: &Digest) -> Result<bool> {
    let req = Request::new(Method::HEAD, blob_path(store, digest), store.scope(false));
    let resp = store.client.send(&store.registry, req).await?;
    match resp.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(store.client.status_error(resp, &Method::HEAD).await.into()),
    }
}

/// Upload a blob; the registry verifies the digest, and so does the stream on its way out.
pub(super) async fn put(store: &RegistryStore, desc: &Descriptor, data: BlobStream) -> Result<()> {
    if desc.size <= SMALL_BLOB {
        let bytes = blob::read_all(data, SMALL_BLOB as usize).await?;
        return put_small(store, desc, bytes).await;
    }
    let (location, min_chunk) = start(store, None).await?;
    let result = match store.client.options().chunk_size {
        Some(size) => {
            put_chunked(
                store,
                desc,
                data,
                location.clone(),
                size.max(min_chunk.unwrap_or(0)),
            )
            .await
        }
        None => put_monolithic(store, desc, data, location.clone()).await,
    };
    if result.is_err() {
        cancel(store, location).await;
    }
    result
}

/// Open an upload session: POST, answered 202 with a `Location` (and maybe
/// `OCI-Chunk-Min-Length`). `query` adds e.g. `digest=` for a single-POST upload.
async fn start(store: &RegistryStore, query: Option<&str>) -> Result<(Url, Option<u64>)> {
    let path = match query {
        Some(q) => format!("/v2/{}/blobs/uploads/?{q}", store.repository),
        None => format!("/v2/{}/blobs/uploads/", store.repository),
    };
    let req = Request::new(Method::POST, path, store.scope(true)).body(Body::Bytes(Bytes::new()));
    let resp = store.client.send(&store.registry, req).await?;
    let resp = store.client.expect(resp, &Method::POST, &[202]).await?;
    let min = resp
        .headers()
        .get("oci-chunk-min-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok((link::location(&resp)?, min))
}

async fn put_small(store: &RegistryStore, desc: &Descriptor, bytes: Bytes) -> Result<()> {
    let path = format!(
        "/v2/{}/blobs/uploads/?digest={}",
        store.repository, desc.digest
    );
    let req = Request::new(Method::POST, path, store.scope(true))
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::Bytes(bytes.clone()));
    let resp = store.client.send(&store.registry, req).await?;
    let location = match resp.status().as_u16() {
        201 => return check_digest(&resp, desc),
        // Single POST not supported: the registry opened an ordinary session.
        202 => link::location(&resp)?,
        // Some registries refuse a body on POST; start over without one.
        400 | 404 | 405 | 411 | 415 => start(store, None).await?.0,
        _ => return Err(store.client.status_error(resp, &Method::POST).await.into()),
    };
    let req = Request::to_url(
        Method::PUT,
        link::with_digest(location.clone(), &desc.digest),
        store.scope(true),
    )
    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
    .body(Body::Bytes(bytes));
    let result = finish(store, req, desc).await;
    if result.is_err() {
        cancel(store, location).await;
    }
    result
}

async fn put_monolithic(
    store: &RegistryStore,
    desc: &Descriptor,
    data: BlobStream,
    location: Url,
) -> Result<()> {
    let body = reqwest::Body::wrap_stream(data);
    let req = Request::to_url(
        Method::PUT,
        link::with_digest(location, &desc.digest),
        store.scope(true),
    )
    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
    .body(Body::Stream(Some(body), desc.size));
    finish(store, req, desc).await
}

async fn put_chunked(
    store: &RegistryStore,
    desc: &Descriptor,
    mut data: BlobStream,
    mut location: Url,
    chunk: u64,
) -> Result<()> {
    let chunk = chunk.max(1) as usize;
    let mut offset: u64 = 0;
    let mut buf = BytesMut::with_capacity(chunk.min(64 << 20));
    let mut ended = false;
    while !ended {
        while buf.len() < chunk {
            match data.next().await {
                Some(piece) => buf.extend_from_slice(&piece?),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        let take = buf.len().min(chunk);
        if take == 0 {
            break;
        }
        let part = buf.split_to(take).freeze();
        let end = offset + part.len() as u64 - 1;
        let req = Request::to_url(Method::PATCH, location.clone(), store.scope(true))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_RANGE, &format!("{offset}-{end}"))
            .body(Body::Bytes(part.clone()));
        let resp = store.client.send(&store.registry, req).await?;
        let resp = store
            .client
            .expect(resp, &Method::PATCH, &[202, 204])
            .await?;
        location = link::location(&resp).unwrap_or(location);
        offset = end + 1;
        if !buf.is_empty() {
            ended = false;
        }
    }
    let req = Request::to_url(
        Method::PUT,
        link::with_digest(location, &desc.digest),
        store.scope(true),
    )
    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
    .body(Body::Bytes(Bytes::new()));
    finish(store, req, desc).await
}

async fn finish(store: &RegistryStore, req: Request, desc: &Descriptor) -> Result<()> {
    let resp = store.client.send(&store.registry, req).await?;
    let resp = store.client.expect(resp, &Method::PUT, &[201, 204]).await?;
    check_digest(&resp, desc)
}

fn check_digest(resp: &Response, desc: &Descriptor) -> Result<()> {
    let sent = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Digest>().ok());
    match sent {
        Some(d) if d != desc.digest => Err(RegistryError::Protocol {
            url: crate::error::redact(resp.url()),
            message: format!("the registry stored blob {} as {d}", desc.digest),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Abandon an upload session; failures do not matter (the registry expires it).
async fn cancel(store: &RegistryStore, location: Url) {
    let req = Request::to_url(Method::DELETE, location, store.scope(true));
    if let Err(e) = store.client.send(&store.registry, req).await {
        tracing::debug!(error = %e, "cancelling an upload failed");
    }
}

/// Mount a blob from another repository of the same registry. `false` when the registry
/// declined (its 202 opened an upload session, which is cancelled) or cannot mount.
pub(super) async fn mount(
    store: &RegistryStore,
    desc: &Descriptor,
    from: &MountSource,
) -> Result<bool> {
    if from.registry != store.registry || from.repository == store.repository {
        return Ok(false);
    }
    let path = format!(
        "/v2/{}/blobs/uploads/?mount={}&from={}",
        store.repository, desc.digest, from.repository
    );
    let scope = Scope::Mount {
        name: store.repository.clone(),
        from: from.repository.clone(),
    };
    let req = Request::new(Method::POST, path, scope).body(Body::Bytes(Bytes::new()));
    let resp = match store.client.send(&store.registry, req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "mount request failed; uploading instead");
            return Ok(false);
        }
    };
    match resp.status().as_u16() {
        201 => Ok(true),
        202 => {
            if let Ok(location) = link::location(&resp) {
                cancel(store, location).await;
            }
            Ok(false)
        }
        status => {
            tracing::debug!(status, "the registry did not mount; uploading instead");
            Ok(false)
        }
    }
}
