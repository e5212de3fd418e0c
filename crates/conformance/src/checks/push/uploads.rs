//! Blob uploads: streamed, monolithic, single POST, chunked (with its `Range` and `416` rules), mounts, cancel, bad digests, the empty and zero-byte blobs.

use super::*;

/// A GET of the blob must give exactly its bytes.
pub(super) async fn blob_is(cx: &Ctx, repo: &str, blob: &Blob, what: &str) -> Result<(), Bad> {
    let r = cx.get_blob(repo, &blob.digest, Method::GET).await?;
    want(&r, &[200], &format!("{what}: GET the blob afterwards"))?;
    ensure!(
        r.body == blob.data,
        "{what}: GET the blob afterwards gave {} bytes that differ from the {} pushed",
        r.body.len(),
        blob.data.len()
    );
    Ok(())
}

/// The `Range` header of a chunk answer must be `0-<end>`.
pub(super) fn range_is(r: &Resp, end: usize, what: &str) -> Result<(), Bad> {
    let expected = format!("0-{end}");
    match r.header("range") {
        Some(h) if h.trim() == expected => Ok(()),
        Some(h) => fail!("{what}: Range is {h:?}, expected {expected:?}"),
        None => fail!("{what}: {} without a Range header", r.describe()),
    }
}

/// How a PATCH sends its bytes.
#[derive(Clone, Copy)]
pub(super) enum Send {
    /// `Content-Range: <start>-<end>` and `Content-Length`.
    Range(usize, usize),
    /// `Content-Length` only (a "streamed" upload as the spec's suite does it).
    Plain,
    /// `Transfer-Encoding: chunked`, no length at all.
    Chunked,
}

pub(super) async fn patch(cx: &Ctx, loc: &str, data: &[u8], how: Send) -> Result<Resp, HttpError> {
    match how {
        Send::Range(start, end) => {
            let cr = format!("{start}-{end}");
            cx.req_body(
                Method::PATCH,
                loc,
                &[OCTET, ("content-range", &cr)],
                data.to_vec(),
            )
            .await
        }
        Send::Plain => {
            cx.req_body(Method::PATCH, loc, &[OCTET], data.to_vec())
                .await
        }
        Send::Chunked => {
            cx.http
                .send(Method::PATCH, loc, &[OCTET], Body::Stream(data.to_vec()))
                .await
        }
    }
}

/// Cancels an upload session a check no longer needs; failures are ignored.
pub(super) async fn drop_session(cx: &Ctx, loc: &str) {
    let _ = cx.req(Method::DELETE, loc, &[]).await;
}

/// The chunk size for a session: at least 1 KiB and at least the
/// registry's `OCI-Chunk-Min-Length`.
pub(super) fn chunk_size(post: &Resp) -> usize {
    let min = post
        .header("oci-chunk-min-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    min.clamp(1024, 64 << 20)
}

/// POST, one PATCH of the whole blob without `Content-Range` (with
/// `Content-Length`, or with chunked transfer encoding), PUT `?digest=`
/// without a body.
pub(super) async fn streamed(cx: &Ctx, repo: &str, how: Send) -> Check {
    let chunked = matches!(how, Send::Chunked);
    let label = if chunked {
        "streamed chunked"
    } else {
        "streamed"
    };
    let blob = cx.blob(content::LAYER, label, 5000);
    let (loc, _) = cx.start_upload(repo).await?;
    let r = patch(cx, &loc, &blob.data, how).await?;
    if chunked && r.status == 411 {
        drop_session(cx, &loc).await;
        return Err(Bad::Skip(
            "411: the registry wants a Content-Length on PATCH (RFC 9112 allows that)".into(),
        ));
    }
    let what = if chunked {
        "PATCH without Content-Range or Content-Length (chunked transfer encoding)"
    } else {
        "PATCH without Content-Range"
    };
    want(&r, &[202], what)?;
    let loc = cx.location(&r, what)?;
    if r.header("range").is_some() {
        range_is(&r, blob.data.len() - 1, what)?;
    }
    let r = cx
        .req_body(
            Method::PUT,
            &with_digest(&loc, &blob.digest),
            &[OCTET],
            Vec::new(),
        )
        .await?;
    want(&r, &[201], "PUT ?digest= closing a streamed upload")?;
    cx.location(&r, "PUT closing a streamed upload")?;
    blob_is(cx, repo, &blob, "streamed upload").await?;
    Ok(None)
}

/// A missing blob is 404; POST → 202 with `Location`, PUT with the body →
/// 201 with `Location`, and a GET of that location gives the blob.
pub(super) async fn monolithic(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "monolithic", 4000);
    let r = cx.get_blob(repo, &blob.digest, Method::HEAD).await?;
    want(&r, &[404], "HEAD of the blob before its upload")?;
    let (loc, _) = cx.start_upload(repo).await?;
    let r = cx
        .req_body(
            Method::PUT,
            &with_digest(&loc, &blob.digest),
            &[OCTET],
            blob.data.clone(),
        )
        .await?;
    want(&r, &[201], "monolithic PUT ?digest=")?;
    let blob_loc = cx.location(&r, "monolithic PUT")?;
    let r = cx.req(Method::GET, &blob_loc, &[]).await?;
    want(&r, &[200], "GET of the Location the PUT returned")?;
    ensure!(
        r.body == blob.data,
        "GET of the Location the PUT returned: not the blob's bytes"
    );
    blob_is(cx, repo, &blob, "monolithic upload").await?;
    Ok(None)
}

/// `POST /v2/<repo>/blobs/uploads/?digest=<digest>` with `data` as the body: the
/// single-request upload, as every check that tries it sends it.
pub(super) async fn single_post_request(
    cx: &Ctx,
    repo: &str,
    digest: &str,
    data: &[u8],
) -> Result<Resp, HttpError> {
    cx.req_body(
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/?digest={}", enc(digest)),
        &[OCTET],
        data.to_vec(),
    )
    .await
}

/// POST `?digest=` with the body: 201 (done) or 202 (a session, which a
/// PUT completes); the spec allows both.
pub(super) async fn single_post(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "single post", 3000);
    let r = single_post_request(cx, repo, &blob.digest, &blob.data).await?;
    want(&r, &[201, 202], "POST ?digest= with the body")?;
    let loc = cx.location(&r, "POST ?digest=")?;
    if r.status == 201 {
        blob_is(cx, repo, &blob, "single POST").await?;
        return Ok(Some("201: completed in one request".to_owned()));
    }
    let g = cx.get_blob(repo, &blob.digest, Method::GET).await?;
    want(
        &g,
        &[404],
        "GET the blob after a 202 to a single POST (not yet complete)",
    )?;
    let r = cx
        .req_body(
            Method::PUT,
            &with_digest(&loc, &blob.digest),
            &[OCTET],
            blob.data.clone(),
        )
        .await?;
    want(&r, &[201], "PUT ?digest= after a 202 to a single POST")?;
    blob_is(cx, repo, &blob, "single POST then PUT").await?;
    Ok(Some("202: a session, completed by a PUT".to_owned()))
}

/// The optional single-request upload: POST `?digest=` with the body → 201.
pub(super) async fn single_post_complete(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "single post complete", 2000);
    let r = single_post_request(cx, repo, &blob.digest, &blob.data).await?;
    if r.status == 202 {
        if let Ok(loc) = cx.location(&r, "POST") {
            drop_session(cx, &loc).await;
        }
        fail!(
            "POST ?digest= with the body: {}: the registry does not complete uploads in one \
             request (an optional feature)",
            r.describe()
        );
    }
    want(&r, &[201], "POST ?digest= with the body")?;
    cx.location(&r, "POST ?digest=")?;
    blob_is(cx, repo, &blob, "single POST").await?;
    Ok(None)
}

/// A PATCH whose `Content-Range` does not start where the session is (0)
/// → 416.
pub(super) async fn out_of_order(cx: &Ctx, repo: &str) -> Check {
    let (loc, post) = cx.start_upload(repo).await?;
    let c = chunk_size(&post);
    let blob = cx.blob(content::LAYER, "out of order", 2 * c);
    let r = patch(cx, &loc, &blob.data[c..], Send::Range(c, 2 * c - 1)).await?;
    drop_session(cx, &cx.location(&r, "PATCH").unwrap_or(loc)).await;
    want(
        &r,
        &[416],
        &format!(
            "PATCH with Content-Range {c}-{} on a new session",
            2 * c - 1
        ),
    )?;
    Ok(None)
}

/// Sending the first chunk twice: the second PATCH → 416.
pub(super) async fn resend(cx: &Ctx, repo: &str) -> Check {
    let (loc, post) = cx.start_upload(repo).await?;
    let c = chunk_size(&post);
    let blob = cx.blob(content::LAYER, "resend", 2 * c);
    let r = patch(cx, &loc, &blob.data[..c], Send::Range(0, c - 1)).await?;
    if r.status != 202 {
        drop_session(cx, &loc).await;
        fail!(
            "first PATCH 0-{}: expected 202, got {}",
            c - 1,
            r.describe()
        );
    }
    let loc = cx.location(&r, "first PATCH")?;
    let r = patch(cx, &loc, &blob.data[..c], Send::Range(0, c - 1)).await?;
    drop_session(cx, &cx.location(&r, "PATCH").unwrap_or(loc)).await;
    want(&r, &[416], &format!("PATCH 0-{} sent a second time", c - 1))?;
    Ok(None)
}

/// An upload session in progress.
pub(super) struct Session {
    loc: String,
    blob: Blob,
    chunk: usize,
}

/// The chunked flow on one session: first chunk (202, `Range`), status
/// (204 with `Range` and `Location`), second chunk, PUT without a body.
pub(super) async fn chunked_flow(cx: &Ctx, repo: &str, rec: &mut Recorder) {
    let g = Group::Push;
    let first = async {
        let (loc, post) = cx.start_upload(repo).await?;
        let c = chunk_size(&post);
        let blob = cx.blob(content::LAYER, "chunked", 2 * c + 100);
        let r = patch(cx, &loc, &blob.data[..c], Send::Range(0, c - 1)).await?;
        want(&r, &[202], &format!("PATCH 0-{}", c - 1))?;
        let loc = cx.location(&r, "PATCH")?;
        range_is(&r, c - 1, "first PATCH")?;
        Ok::<_, Bad>(Session {
            loc,
            blob,
            chunk: c,
        })
    }
    .await;
    let mut session = match first {
        Ok(s) => {
            rec.record(g, "push/blob/chunked/first-chunk", Ok(None));
            s
        }
        Err(e) => {
            rec.record(g, "push/blob/chunked/first-chunk", Err(e));
            let dep = || {
                Err(Bad::Fail(
                    "depends on push/blob/chunked/first-chunk, which failed".into(),
                ))
            };
            rec.record(g, "push/blob/chunked/status-204", dep());
            rec.record(g, "push/blob/chunked/next-chunk", dep());
            rec.record(g, "push/blob/chunked/close-without-body", dep());
            return;
        }
    };
    let status = async {
        let r = cx.req(Method::GET, &session.loc, &[]).await?;
        want(&r, &[204], "GET of the upload session")?;
        range_is(&r, session.chunk - 1, "GET of the upload session")?;
        let loc = cx.location(&r, "GET of the upload session")?;
        Ok::<_, Bad>(loc)
    }
    .await;
    match status {
        Ok(loc) => {
            session.loc = loc;
            rec.record(g, "push/blob/chunked/status-204", Ok(None));
        }
        Err(e) => rec.record(g, "push/blob/chunked/status-204", Err(e)),
    }
    let next = async {
        let (c, n) = (session.chunk, session.blob.data.len());
        let r = patch(
            cx,
            &session.loc,
            &session.blob.data[c..],
            Send::Range(c, n - 1),
        )
        .await?;
        want(&r, &[202], &format!("PATCH {c}-{}", n - 1))?;
        let loc = cx.location(&r, "second PATCH")?;
        range_is(&r, n - 1, "second PATCH")?;
        Ok::<_, Bad>(loc)
    }
    .await;
    let next_ok = next.is_ok();
    match next {
        Ok(loc) => {
            session.loc = loc;
            rec.record(g, "push/blob/chunked/next-chunk", Ok(None));
        }
        Err(e) => rec.record(g, "push/blob/chunked/next-chunk", Err(e)),
    }
    if !next_ok {
        drop_session(cx, &session.loc).await;
        rec.record(
            g,
            "push/blob/chunked/close-without-body",
            Err(Bad::Fail(
                "depends on push/blob/chunked/next-chunk, which failed".into(),
            )),
        );
        return;
    }
    let close = async {
        let r = cx
            .req_body(
                Method::PUT,
                &with_digest(&session.loc, &session.blob.digest),
                &[OCTET],
                Vec::new(),
            )
            .await?;
        want(&r, &[201], "PUT ?digest= without a body")?;
        cx.location(&r, "closing PUT")?;
        blob_is(cx, repo, &session.blob, "chunked upload").await?;
        Ok(None)
    }
    .await;
    rec.record(g, "push/blob/chunked/close-without-body", close);
}

/// One chunk by PATCH, the last one in the closing PUT.
pub(super) async fn final_chunk_in_put(cx: &Ctx, repo: &str) -> Check {
    let (loc, post) = cx.start_upload(repo).await?;
    let c = chunk_size(&post);
    let blob = cx.blob(content::LAYER, "final chunk in put", 2 * c);
    let r = patch(cx, &loc, &blob.data[..c], Send::Range(0, c - 1)).await?;
    want(&r, &[202], &format!("PATCH 0-{}", c - 1))?;
    let loc = cx.location(&r, "PATCH")?;
    let cr = format!("{c}-{}", 2 * c - 1);
    let r = cx
        .req_body(
            Method::PUT,
            &with_digest(&loc, &blob.digest),
            &[OCTET, ("content-range", &cr)],
            blob.data[c..].to_vec(),
        )
        .await?;
    want(&r, &[201], "PUT ?digest= carrying the final chunk")?;
    blob_is(cx, repo, &blob, "final chunk in PUT").await?;
    Ok(None)
}

#[derive(Clone, Copy)]
pub(super) enum How {
    Monolithic,
    SinglePost,
    Chunked,
    Streamed,
}

/// A rejection of a wrong digest: 400 with `DIGEST_INVALID`.
pub(super) fn digest_invalid(r: &Resp, what: &str) -> Result<(), Bad> {
    want(r, &[400], what)?;
    ensure!(
        r.has_code(ErrorCode::DigestInvalid),
        "{what}: 400 without DIGEST_INVALID ({})",
        r.describe()
    );
    Ok(())
}

/// Each upload flow closed with a digest that does not match the bytes →
/// 400 `DIGEST_INVALID`, and nothing is stored under that digest.
pub(super) async fn bad_digest(cx: &Ctx, repo: &str, how: How) -> Check {
    let blob = cx.blob(content::LAYER, "bad digest", 1500);
    let wrong = cx.missing_digest("bad digest");
    let mut note = None;
    match how {
        How::Monolithic => {
            let (loc, _) = cx.start_upload(repo).await?;
            let r = cx
                .req_body(
                    Method::PUT,
                    &with_digest(&loc, &wrong),
                    &[OCTET],
                    blob.data.clone(),
                )
                .await?;
            drop_session(cx, &loc).await;
            digest_invalid(&r, "monolithic PUT with a wrong digest")?;
        }
        How::SinglePost => {
            let r = single_post_request(cx, repo, &wrong, &blob.data).await?;
            if r.status == 202 {
                let loc = cx.location(&r, "POST ?digest=")?;
                let r = cx
                    .req_body(
                        Method::PUT,
                        &with_digest(&loc, &wrong),
                        &[OCTET],
                        blob.data.clone(),
                    )
                    .await?;
                drop_session(cx, &loc).await;
                digest_invalid(&r, "PUT with a wrong digest after a 202 to POST ?digest=")?;
                note = Some("202 to the POST; the PUT was rejected".to_owned());
            } else {
                digest_invalid(&r, "POST ?digest= with a wrong digest")?;
            }
        }
        How::Chunked | How::Streamed => {
            let (loc, _) = cx.start_upload(repo).await?;
            let n = blob.data.len();
            let send = match how {
                How::Chunked => Send::Range(0, n - 1),
                _ => Send::Plain,
            };
            let r = patch(cx, &loc, &blob.data, send).await?;
            want(&r, &[202], "PATCH")?;
            let loc = cx.location(&r, "PATCH")?;
            let r = cx
                .req_body(
                    Method::PUT,
                    &with_digest(&loc, &wrong),
                    &[OCTET],
                    Vec::new(),
                )
                .await?;
            drop_session(cx, &loc).await;
            digest_invalid(&r, "closing PUT with a wrong digest")?;
        }
    }
    let r = cx.get_blob(repo, &wrong, Method::HEAD).await?;
    want(
        &r,
        &[404],
        "HEAD of the wrong digest after the rejected upload",
    )?;
    Ok(note)
}

/// A PUT `?digest=` that is not a digest at all → 400.
pub(super) async fn malformed_digest(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "malformed digest", 100);
    let (loc, _) = cx.start_upload(repo).await?;
    let r = cx
        .req_body(
            Method::PUT,
            &with_digest(&loc, "sha256:not-a-digest"),
            &[OCTET],
            blob.data.clone(),
        )
        .await?;
    drop_session(cx, &loc).await;
    want(&r, &[400], "PUT ?digest=sha256:not-a-digest")?;
    Ok(Some(r.describe()))
}

/// The path of `Location` must be `/v2/<repo>/blobs/<digest>`.
pub(super) fn blob_location_is(
    cx: &Ctx,
    r: &Resp,
    repo: &str,
    digest: &str,
    what: &str,
) -> Result<(), Bad> {
    let loc = cx.location(r, what)?;
    let path = cx.http.url(&loc)?.path().to_owned();
    let expected = format!("/v2/{repo}/blobs/{digest}");
    ensure!(
        path == expected,
        "{what}: Location {loc:?}, expected the path {expected}"
    );
    Ok(())
}

/// POST `?mount=<digest>&from=<repo>` into the cross-mount repository →
/// 201 with `Location: /v2/<crossmount>/blobs/<digest>`, and the blob is
/// there.
pub(super) async fn mount_from(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "mount source", 1200);
    cx.push_blob(repo, &blob)
        .await
        .map_err(|e| Bad::Fail(format!("set-up: {e}")))?;
    let cross = cx.cross_repo();
    let r = cx
        .req_body(
            Method::POST,
            &format!(
                "/v2/{cross}/blobs/uploads/?mount={}&from={}",
                enc(&blob.digest),
                enc(repo)
            ),
            &[],
            Vec::new(),
        )
        .await?;
    if r.status == 202
        && let Ok(loc) = cx.location(&r, "POST")
    {
        drop_session(cx, &loc).await;
    }
    want(
        &r,
        &[201],
        "POST ?mount=&from= of a blob in the source repository",
    )?;
    blob_location_is(cx, &r, &cross, &blob.digest, "mount")?;
    blob_is(cx, &cross, &blob, "mount").await?;
    Ok(None)
}

/// A mount that cannot happen (unknown digest, with or without `from`) →
/// 202 with a `Location` for an ordinary upload.
pub(super) async fn mount_missing(cx: &Ctx, repo: &str, with_from: bool) -> Check {
    let digest = cx.missing_digest(if with_from { "mount from" } else { "mount" });
    let cross = cx.cross_repo();
    let mut target = format!("/v2/{cross}/blobs/uploads/?mount={}", enc(&digest));
    if with_from {
        target.push_str(&format!("&from={}", enc(repo)));
    }
    let r = cx.req_body(Method::POST, &target, &[], Vec::new()).await?;
    want(&r, &[202], "POST ?mount= of a digest nobody pushed")?;
    let loc = cx.location(&r, "POST ?mount=")?;
    drop_session(cx, &loc).await;
    Ok(None)
}

/// `mount=` without `from` for a blob the registry has: 201 (it found it)
/// or 202 (a session); both are allowed.
pub(super) async fn mount_no_from_known(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "anonymous mount", 800);
    cx.push_blob(repo, &blob)
        .await
        .map_err(|e| Bad::Fail(format!("set-up: {e}")))?;
    let cross = cx.cross_repo();
    let r = cx
        .req_body(
            Method::POST,
            &format!("/v2/{cross}/blobs/uploads/?mount={}", enc(&blob.digest)),
            &[],
            Vec::new(),
        )
        .await?;
    want(&r, &[201, 202], "POST ?mount= without from")?;
    if r.status == 201 {
        blob_location_is(cx, &r, &cross, &blob.digest, "mount without from")?;
        blob_is(cx, &cross, &blob, "mount without from").await?;
        return Ok(Some("201: mounted without from".to_owned()));
    }
    let loc = cx.location(&r, "POST ?mount=")?;
    drop_session(cx, &loc).await;
    Ok(Some("202: not mounted without from".to_owned()))
}

/// DELETE on the upload location → 204; then the session is gone (404).
pub(super) async fn cancel(cx: &Ctx, repo: &str) -> Check {
    let blob = cx.blob(content::LAYER, "cancel", 1000);
    let (loc, _) = cx.start_upload(repo).await?;
    let r = patch(cx, &loc, &blob.data, Send::Range(0, blob.data.len() - 1)).await?;
    want(&r, &[202], "PATCH")?;
    let loc = cx.location(&r, "PATCH")?;
    let r = cx.req(Method::DELETE, &loc, &[]).await?;
    want(&r, &[204], "DELETE of the upload location")?;
    let r = cx.req(Method::GET, &loc, &[]).await?;
    want(&r, &[404], "GET of the cancelled upload location")?;
    if let Some(codes) = r.error_codes() {
        ensure!(
            codes.iter().any(|c| c == "BLOB_UPLOAD_UNKNOWN"),
            "GET of the cancelled upload: codes {codes:?}, expected BLOB_UPLOAD_UNKNOWN"
        );
    }
    let r = cx.get_blob(repo, &blob.digest, Method::HEAD).await?;
    want(&r, &[404], "HEAD of the cancelled blob")?;
    Ok(None)
}

/// The `{}` and zero-byte blobs: their known digests, pushed and read back.
pub(super) async fn small_blob(cx: &Ctx, repo: &str, blob: Blob, digest: &str) -> Check {
    ensure!(
        blob.digest == digest,
        "digest of the blob is {}, expected {digest}",
        blob.digest
    );
    cx.push_blob(repo, &blob).await?;
    let r = cx.get_blob(repo, digest, Method::HEAD).await?;
    want(&r, &[200], "HEAD")?;
    ensure!(
        r.header("content-length") == Some(blob.data.len().to_string().as_str()),
        "HEAD: Content-Length {:?}, expected {}",
        r.header("content-length"),
        blob.data.len()
    );
    if let Some(h) = r.header("docker-content-digest") {
        ensure!(
            h == digest,
            "HEAD: Docker-Content-Digest {h}, expected {digest}"
        );
    }
    blob_is(cx, repo, &blob, "GET").await?;
    Ok(None)
}
