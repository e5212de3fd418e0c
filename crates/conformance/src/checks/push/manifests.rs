//! Manifest PUTs: digest and location headers, no layers, an index, missing blobs, wrong and malformed digests, the size limit, `?tag=`.

use super::*;

/// What the manifest checks build on.
pub(super) struct Data {
    repo: String,
    config: Blob,
    layer: Blob,
}

impl Data {
    /// A manifest of the set-up blobs, made unique by an annotation.
    fn manifest(&self, label: &str) -> Manifest {
        content::image_manifest(
            &self.config,
            &[&self.layer],
            json!({"annotations": {"org.example.conformance.label": label}}),
        )
    }
}

pub(super) async fn setup(cx: &Ctx, repo: &str) -> Result<Data, StepError> {
    let layer = cx.blob(content::LAYER, "push layer", 2048);
    let config = content::image_config("amd64", &[&layer]);
    cx.push_blob(repo, &layer).await?;
    cx.push_blob(repo, &config).await?;
    Ok(Data {
        repo: repo.to_owned(),
        config,
        layer,
    })
}

/// The 201 of a manifest PUT must carry `Location` and the right
/// `Docker-Content-Digest`.
pub(super) fn manifest_created(cx: &Ctx, r: &Resp, m: &Manifest, what: &str) -> Result<(), Bad> {
    want(r, &[201], what)?;
    cx.location(r, what)?;
    match r.header("docker-content-digest") {
        Some(h) if h == m.digest => Ok(()),
        Some(h) => fail!("{what}: Docker-Content-Digest {h}, expected {}", m.digest),
        None => fail!("{what}: no Docker-Content-Digest header"),
    }
}

pub(super) async fn read_back(
    cx: &Ctx,
    repo: &str,
    reference: &str,
    m: &Manifest,
) -> Result<(), Bad> {
    let r = cx.get_manifest(repo, reference, Method::GET).await?;
    want(&r, &[200], &format!("GET manifest {reference}"))?;
    ensure!(
        r.body == m.bytes,
        "GET manifest {reference}: not the bytes pushed ({} vs {} bytes)",
        r.body.len(),
        m.bytes.len()
    );
    Ok(())
}

pub(super) async fn put_manifest(cx: &Ctx, s: &Result<Data, StepError>, by_tag: bool) -> Check {
    let d = needs(s)?;
    let m = d.manifest(if by_tag { "by tag" } else { "by digest" });
    let reference = if by_tag {
        "tagged".to_owned()
    } else {
        m.digest.clone()
    };
    let r = cx.put_manifest(&d.repo, &reference, &m).await?;
    manifest_created(cx, &r, &m, &format!("PUT manifest {reference}"))?;
    read_back(cx, &d.repo, &reference, &m).await?;
    read_back(cx, &d.repo, &m.digest, &m).await?;
    Ok(None)
}

/// Pretty-printed JSON with a custom field comes back byte for byte.
pub(super) async fn exact_bytes(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let v = json!({
        "schemaVersion": 2,
        "mediaType": content::MANIFEST,
        "config": d.config.descriptor(),
        "layers": [d.layer.descriptor()],
        "org.example.conformance.custom": {"b": [1, 2, 3], "a": "caf\u{e9}"},
    });
    let mut bytes = serde_json::to_vec_pretty(&v).map_err(StepError::Json)?;
    bytes.extend_from_slice(b"\n");
    let m = Manifest::from_bytes(content::MANIFEST, bytes);
    let r = cx.put_manifest(&d.repo, &m.digest, &m).await?;
    manifest_created(
        cx,
        &r,
        &m,
        "PUT of a pretty-printed manifest with a custom field",
    )?;
    read_back(cx, &d.repo, &m.digest, &m).await?;
    Ok(None)
}

pub(super) async fn no_layers(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let m = content::image_manifest(&d.config, &[], json!({}));
    let r = cx.put_manifest(&d.repo, "no-layers", &m).await?;
    manifest_created(cx, &r, &m, "PUT of a manifest with \"layers\": []")?;
    read_back(cx, &d.repo, "no-layers", &m).await?;
    Ok(None)
}

/// An index of two manifests pushed just before it.
pub(super) async fn index(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let m = d.manifest(&format!("index child {arch}"));
        cx.push_manifest(&d.repo, &m.digest, &m)
            .await
            .map_err(|e| Bad::Fail(format!("set-up: {e}")))?;
        let mut desc = m.descriptor();
        desc["platform"] = json!({"architecture": arch, "os": "linux"});
        entries.push(desc);
    }
    let idx = content::image_index(entries, json!({}));
    let r = cx.put_manifest(&d.repo, "index", &idx).await?;
    manifest_created(cx, &r, &idx, "PUT of an image index")?;
    read_back(cx, &d.repo, "index", &idx).await?;
    Ok(None)
}

/// A layer that does not exist: rejecting is allowed (MAY), and a
/// rejection must be 400 `MANIFEST_BLOB_UNKNOWN`.
pub(super) async fn missing_blob(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let ghost = Blob {
        data: Vec::new(),
        digest: cx.missing_digest("manifest layer"),
        media_type: content::LAYER.to_owned(),
    };
    let mut layer = ghost.descriptor();
    layer["size"] = json!(1234);
    let m = Manifest::from_bytes(
        content::MANIFEST,
        content::to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": content::MANIFEST,
            "config": d.config.descriptor(),
            "layers": [layer],
        })),
    );
    let r = cx.put_manifest(&d.repo, "missing-blob", &m).await?;
    if r.status == 201 {
        return Ok(Some(
            "201: the registry accepts manifests with missing blobs (allowed)".to_owned(),
        ));
    }
    want(&r, &[400], "PUT of a manifest whose layer is missing")?;
    ensure!(
        r.has_code(ErrorCode::ManifestBlobUnknown),
        "PUT of a manifest whose layer is missing: 400 without MANIFEST_BLOB_UNKNOWN ({})",
        r.describe()
    );
    Ok(Some("400 MANIFEST_BLOB_UNKNOWN".to_owned()))
}

/// A PUT to `/manifests/<digest>` where the digest is not the body's →
/// 400 `DIGEST_INVALID`.
pub(super) async fn wrong_digest(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let m = d.manifest("wrong digest");
    let wrong = cx.missing_digest("manifest url");
    let r = cx.put_manifest(&d.repo, &wrong, &m).await?;
    digest_invalid(&r, "PUT manifest to a digest that is not the body's")?;
    let r = cx.get_manifest(&d.repo, &wrong, Method::GET).await?;
    want(&r, &[404], "GET of the wrong digest afterwards")?;
    Ok(None)
}

/// `PUT /manifests/sha256:baddigeststring` is rejected (4xx), and a GET of
/// it is 400 or 404.
pub(super) async fn malformed_manifest_digest(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let m = d.manifest("malformed digest");
    let r = cx
        .put_manifest(&d.repo, "sha256:baddigeststring", &m)
        .await?;
    ensure!(
        (400..500).contains(&r.status),
        "PUT manifests/sha256:baddigeststring: expected a 4xx rejection, got {}",
        r.describe()
    );
    let note = r.describe();
    let r = cx
        .get_manifest(&d.repo, "sha256:baddigeststring", Method::GET)
        .await?;
    want(&r, &[400, 404], "GET manifests/sha256:baddigeststring")?;
    Ok(Some(note))
}

/// Just under 4 MB (4,000,000 bytes): must be accepted.
pub(super) const NEAR_LIMIT: usize = 3_990_000;
/// Above 4 MiB.
pub(super) const OVER_LIMIT: usize = (4 << 20) + 4096;

/// A manifest padded with an annotation to `size` bytes.
pub(super) async fn large(cx: &Ctx, s: &Result<Data, StepError>, size: usize) -> Check {
    let d = needs(s)?;
    let base = content::image_manifest(
        &d.config,
        &[&d.layer],
        json!({"annotations": {"org.example.conformance.padding": ""}}),
    );
    let pad = size.saturating_sub(base.bytes.len());
    let m = content::image_manifest(
        &d.config,
        &[&d.layer],
        json!({"annotations": {"org.example.conformance.padding": "x".repeat(pad)}}),
    );
    let what = format!("PUT of a {}-byte manifest", m.bytes.len());
    let r = cx.put_manifest(&d.repo, &m.digest, &m).await;
    if size == NEAR_LIMIT {
        let r = r?;
        manifest_created(cx, &r, &m, &what)?;
        read_back(cx, &d.repo, &m.digest, &m).await?;
        return Ok(None);
    }
    let r = r.map_err(|e| {
        Bad::Fail(format!(
            "{what}: {e} (the registry may have closed the connection instead of answering 413)"
        ))
    })?;
    if r.status == 201 {
        return Err(Bad::Skip(format!(
            "{what}: 201, the registry's manifest limit is above 4 MiB (allowed), so the 413 answer cannot be tested"
        )));
    }
    want(&r, &[413], &what)?;
    Ok(None)
}

/// `PUT /manifests/<digest>?tag=a&tag=b` → 201 with `OCI-Tag: a` and
/// `OCI-Tag: b`, and both tags resolve.
pub(super) async fn multi_tag(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let m = d.manifest("multi tag");
    let tags = ["mt-a", "mt-b"];
    let target = format!("{}?tag={}&tag={}", m.digest, tags[0], tags[1]);
    let r = cx.put_manifest(&d.repo, &target, &m).await?;
    manifest_created(cx, &r, &m, "PUT manifest by digest with ?tag=mt-a&tag=mt-b")?;
    let echoed: BTreeSet<String> = r.header_list("oci-tag").into_iter().collect();
    let expected: BTreeSet<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    ensure!(
        !echoed.is_empty(),
        "201 but no OCI-Tag header (expected mt-a and mt-b)"
    );
    ensure!(
        echoed == expected,
        "the tag headers name {echoed:?}, expected {expected:?}"
    );
    for t in tags {
        let r = cx.get_manifest(&d.repo, t, Method::HEAD).await?;
        want(&r, &[200], &format!("HEAD of tag {t} after the ?tag= push"))?;
        let got = r.header("docker-content-digest").map(str::to_owned);
        ensure!(
            got.as_deref().is_none_or(|g| g == m.digest),
            "tag {t} points to {got:?}, expected {}",
            m.digest
        );
    }
    Ok(None)
}
