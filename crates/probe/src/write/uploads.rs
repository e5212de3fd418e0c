//! The upload checks: a single POST, a chunked upload, chunks out of order, a cross-repository mount.

use super::*;

pub(super) async fn single_post(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    blob: &Blob,
) -> Result<(), SessionError> {
    let req = session
        .write(
            Method::POST,
            &format!("blobs/uploads/?digest={}", blob.digest),
        )
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(blob.data.clone());
    let r = session.send(req).await?;
    match r.status {
        201 => results.yes(
            SinglePostUpload,
            "HTTP 201: the upload completed in one request",
        ),
        202 => {
            results.no(
                SinglePostUpload,
                "HTTP 202: an upload session was opened instead (the client must PUT)",
            );
            if let Some(url) = r.location() {
                cancel_upload(session, &url).await;
            }
        }
        _ => verdict(results, SinglePostUpload, &r, false, r.summary()),
    }
    Ok(())
}

/// POST, PATCH, PATCH, PUT. `Err` carries the answer that broke the sequence.
pub(super) async fn chunked_upload(
    session: &mut Session<'_>,
    blob: &Blob,
) -> Result<String, (Option<RawResponse>, String)> {
    let start = session
        .send(session.write(Method::POST, "blobs/uploads/"))
        .await
        .map_err(|e| (None, e.to_string()))?;
    let (202, Some(mut url)) = (start.status, start.location()) else {
        return Err((Some(start.clone()), format!("POST: {}", start.summary())));
    };
    let min = start
        .header("oci-chunk-min-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let len = blob.data.len();
    let first = (len / 2).max(min).min(len);
    let mut offset = 0;
    let mut steps = vec!["POST 202".to_string()];
    for end in [first, len] {
        if end <= offset {
            continue;
        }
        let req = RawRequest::new(Method::PATCH, url.to_string(), session.scope(true))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_RANGE, format!("{offset}-{}", end - 1))
            .body(blob.data.slice(offset..end));
        let r = session.send(req).await.map_err(|e| (None, e.to_string()))?;
        match (r.status, r.location()) {
            (202, Some(next)) => url = next,
            _ => {
                return Err((
                    Some(r.clone()),
                    format!("PATCH {offset}-{}: {}", end - 1, r.summary()),
                ));
            }
        }
        steps.push("PATCH 202".into());
        offset = end;
    }
    let req = RawRequest::new(
        Method::PUT,
        with_query(url, "digest", blob.digest.as_str()),
        session.scope(true),
    );
    let r = session.send(req).await.map_err(|e| (None, e.to_string()))?;
    if r.status != 201 {
        return Err((Some(r.clone()), format!("PUT: {}", r.summary())));
    }
    steps.push("PUT 201".into());
    let head = session
        .send(RawRequest::new(
            Method::HEAD,
            session.path(&format!("blobs/{}", blob.digest)),
            session.scope(false),
        ))
        .await
        .map_err(|e| (None, e.to_string()))?;
    let length = head
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    if head.status != 200 || length != Some(len) {
        return Err((
            Some(head.clone()),
            format!(
                "the blob reads back as {} with length {length:?}",
                head.summary()
            ),
        ));
    }
    Ok(steps.join(", "))
}

pub(super) async fn out_of_order(session: &mut Session<'_>, results: &mut Results<'_>, run: &str) {
    let data = bytes::Bytes::from(content::unique_bytes(run, "out-of-order", 30));
    let url = match start_upload(session).await {
        Ok(u) => u,
        Err(e) => return results.error(ChunkedOutOfOrder, e.to_string()),
    };
    let scope = session.scope(true);
    let patch = |url: &Url, from: usize, to: usize| {
        RawRequest::new(Method::PATCH, url.to_string(), scope.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_RANGE, format!("{from}-{}", to - 1))
            .body(data.slice(from..to))
    };
    let first = patch(&url, 0, 10);
    let Ok(r) = session.send(first).await else {
        return;
    };
    let Some(next) = r.location().filter(|_| r.status == 202) else {
        results.error(
            ChunkedOutOfOrder,
            format!("the first chunk got {}", r.summary()),
        );
        cancel_upload(session, &url).await;
        return;
    };
    let gap = patch(&next, 20, 30);
    let Ok(r) = session.send(gap).await else {
        return;
    };
    match r.status {
        416 => results.yes(
            ChunkedOutOfOrder,
            "HTTP 416 for a chunk at the wrong offset",
        ),
        202 => results.no(
            ChunkedOutOfOrder,
            "HTTP 202: a chunk at the wrong offset was taken",
        ),
        _ => verdict(results, ChunkedOutOfOrder, &r, false, r.summary()),
    }
    let open = r.location().unwrap_or(next);
    cancel_upload(session, &open).await;
}

pub(super) async fn mount(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    blob: &Blob,
) {
    let target = format!("{}-mount", session.repository);
    let req = RawRequest::new(
        Method::POST,
        format!(
            "/v2/{target}/blobs/uploads/?mount={}&from={}",
            blob.digest, session.repository
        ),
        Scope::Mount {
            name: target.clone(),
            from: session.repository.clone(),
        },
    );
    let Ok(r) = session.send(req).await else {
        return;
    };
    match r.status {
        201 => {
            results.yes(BlobMount, format!("HTTP 201: mounted into {target}"));
            scratch.blobs.push((target, blob.digest.clone()));
        }
        202 => {
            results.no(
                BlobMount,
                "HTTP 202: not mounted, an upload session was opened instead",
            );
            if let Some(url) = r.location() {
                cancel_upload(session, &url).await;
            }
        }
        _ => verdict(results, BlobMount, &r, false, r.summary()),
    }
}
