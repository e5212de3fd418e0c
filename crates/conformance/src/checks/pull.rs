//! Pull: the API version check, blobs and manifests present and missing,
//! digest and length headers, error bodies, and `Range` GETs on blobs.

use reqwest::Method;
use serde_json::json;

use super::{Bad, Check, Ctx, Recorder, StepError, ensure, fail, needs, want};
use crate::Group;
use crate::content::{self, Blob, Manifest};
use crate::http::Resp;
use lineage_oci::errcode::ErrorCode;

/// The content the pull checks read.
struct Data {
    repo: String,
    layer: Blob,
    /// Tagged `v1`.
    m1: Manifest,
    /// Pushed by digest only.
    m2: Manifest,
    /// An index of `m1` and `m2`, tagged `multi`.
    index: Manifest,
}

/// Size of the layer the `Range` checks read.
const LAYER_SIZE: usize = 3000;

async fn setup(cx: &Ctx) -> Result<Data, StepError> {
    let repo = cx.repo("pull");
    let layer = cx.blob(content::LAYER, "pull layer", LAYER_SIZE);
    let config1 = content::image_config("amd64", &[&layer]);
    let config2 = content::image_config("arm64", &[&layer]);
    for b in [&layer, &config1, &config2] {
        cx.push_blob(&repo, b).await?;
    }
    let m1 = content::image_manifest(&config1, &[&layer], json!({}));
    let m2 = content::image_manifest(&config2, &[&layer], json!({}));
    cx.push_manifest(&repo, "v1", &m1).await?;
    cx.push_manifest(&repo, &m2.digest, &m2).await?;
    let mut d1 = m1.descriptor();
    d1["platform"] = json!({"architecture": "amd64", "os": "linux"});
    let mut d2 = m2.descriptor();
    d2["platform"] = json!({"architecture": "arm64", "os": "linux"});
    let index = content::image_index(vec![d1, d2], json!({}));
    cx.push_manifest(&repo, "multi", &index).await?;
    Ok(Data {
        repo,
        layer,
        m1,
        m2,
        index,
    })
}

pub async fn run(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Pull;
    rec.record(g, "pull/ping", ping(cx).await);
    let s = setup(cx).await;
    rec.record(
        g,
        "pull/blob/head-missing",
        blob_missing(cx, &s, Method::HEAD).await,
    );
    rec.record(
        g,
        "pull/blob/get-missing",
        blob_missing(cx, &s, Method::GET).await,
    );
    rec.record(g, "pull/blob/head", blob_head(cx, &s).await);
    rec.record(g, "pull/blob/get", blob_get(cx, &s).await);
    rec.record(
        g,
        "pull/manifest/head-missing",
        manifest_missing(cx, &s, Method::HEAD, false).await,
    );
    rec.record(
        g,
        "pull/manifest/get-missing-tag",
        manifest_missing(cx, &s, Method::GET, false).await,
    );
    rec.record(
        g,
        "pull/manifest/get-missing-digest",
        manifest_missing(cx, &s, Method::GET, true).await,
    );
    rec.record(
        g,
        "pull/manifest/head-by-tag",
        manifest_read(cx, &s, Method::HEAD, Which::M1ByTag).await,
    );
    rec.record(
        g,
        "pull/manifest/head-by-digest",
        manifest_read(cx, &s, Method::HEAD, Which::M1ByDigest).await,
    );
    rec.record(
        g,
        "pull/manifest/get-by-tag",
        manifest_read(cx, &s, Method::GET, Which::M1ByTag).await,
    );
    rec.record(
        g,
        "pull/manifest/get-by-digest",
        manifest_read(cx, &s, Method::GET, Which::M1ByDigest).await,
    );
    rec.record(
        g,
        "pull/manifest/get-untagged-by-digest",
        manifest_read(cx, &s, Method::GET, Which::M2).await,
    );
    rec.record(
        g,
        "pull/index/get-by-tag",
        manifest_read(cx, &s, Method::GET, Which::IndexByTag).await,
    );
    rec.record(
        g,
        "pull/index/head-by-digest",
        manifest_read(cx, &s, Method::HEAD, Which::IndexByDigest).await,
    );
    rec.record(
        g,
        "pull/manifest/bad-digest-error",
        bad_digest_error(cx, &s).await,
    );
    for (id, range, want) in [
        (
            "pull/blob/range/first-last",
            "bytes=500-1499",
            Want::Part(500, 1499),
        ),
        (
            "pull/blob/range/open-ended",
            "bytes=500-",
            Want::Part(500, LAYER_SIZE - 1),
        ),
        (
            "pull/blob/range/suffix",
            "bytes=-500",
            Want::Part(LAYER_SIZE - 500, LAYER_SIZE - 1),
        ),
        (
            "pull/blob/range/past-end",
            "bytes=2000-5000",
            Want::Part(2000, LAYER_SIZE - 1),
        ),
        (
            "pull/blob/range/unsatisfiable-416",
            "bytes=5000-10000",
            Want::Unsatisfiable,
        ),
        ("pull/blob/range/invalid", "bytes=500-0", Want::Invalid),
    ] {
        rec.record(g, id, range_get(cx, &s, range, want).await);
    }
}

/// `GET /v2/` → 200.
async fn ping(cx: &Ctx) -> Check {
    let r = cx.req(Method::GET, "/v2/", &[]).await?;
    want(&r, &[200], "GET /v2/")?;
    Ok(None)
}

/// Fails when a JSON error body is not in the spec's shape or lacks `code`.
fn error_body(r: &Resp, code: &str, what: &str) -> Result<Option<String>, Bad> {
    if let Some(p) = r.error_body_problem() {
        fail!("{what}: {p}");
    }
    match r.error_codes() {
        Some(codes) => {
            ensure!(
                codes.iter().any(|c| c == code),
                "{what}: error body has codes {codes:?}, expected {code}"
            );
            Ok(None)
        }
        None if r.body.is_empty() => Ok(None),
        None => Ok(Some(format!("non-JSON error body ({})", r.describe()))),
    }
}

async fn blob_missing(cx: &Ctx, s: &Result<Data, StepError>, method: Method) -> Check {
    let d = needs(s)?;
    let digest = cx.missing_digest("pull blob");
    let what = format!("{method} missing blob");
    let r = cx.get_blob(&d.repo, &digest, method.clone()).await?;
    want(&r, &[404], &what)?;
    if method == Method::GET {
        return error_body(&r, "BLOB_UNKNOWN", &what);
    }
    Ok(None)
}

fn digest_header(r: &Resp, digest: &str, what: &str) -> Result<(), Bad> {
    match r.header("docker-content-digest") {
        Some(h) if h == digest => Ok(()),
        Some(h) => fail!("{what}: Docker-Content-Digest is {h}, expected {digest}"),
        None => fail!("{what}: no Docker-Content-Digest header"),
    }
}

fn content_length(r: &Resp, len: usize, what: &str) -> Result<(), Bad> {
    match r.header("content-length") {
        Some(h) if h.trim() == len.to_string() => Ok(()),
        Some(h) => fail!("{what}: Content-Length is {h}, expected {len}"),
        None => fail!("{what}: no Content-Length header"),
    }
}

async fn blob_head(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let r = cx.get_blob(&d.repo, &d.layer.digest, Method::HEAD).await?;
    want(&r, &[200], "HEAD blob")?;
    content_length(&r, d.layer.data.len(), "HEAD blob")?;
    digest_header(&r, &d.layer.digest, "HEAD blob")?;
    Ok(None)
}

async fn blob_get(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let r = cx.get_blob(&d.repo, &d.layer.digest, Method::GET).await?;
    want(&r, &[200], "GET blob")?;
    ensure!(
        r.body == d.layer.data,
        "GET blob: body of {} bytes differs from the {} bytes pushed",
        r.body.len(),
        d.layer.data.len()
    );
    digest_header(&r, &d.layer.digest, "GET blob")?;
    Ok(None)
}

async fn manifest_missing(
    cx: &Ctx,
    s: &Result<Data, StepError>,
    method: Method,
    by_digest: bool,
) -> Check {
    let d = needs(s)?;
    let reference = if by_digest {
        cx.missing_digest("pull manifest")
    } else {
        "no-such-tag".to_owned()
    };
    let what = format!("{method} manifest {reference}");
    let r = cx.get_manifest(&d.repo, &reference, method.clone()).await?;
    want(&r, &[404], &what)?;
    if method == Method::GET {
        return error_body(&r, "MANIFEST_UNKNOWN", &what);
    }
    Ok(None)
}

#[derive(Clone, Copy)]
enum Which {
    M1ByTag,
    M1ByDigest,
    M2,
    IndexByTag,
    IndexByDigest,
}

async fn manifest_read(
    cx: &Ctx,
    s: &Result<Data, StepError>,
    method: Method,
    which: Which,
) -> Check {
    let d = needs(s)?;
    let (m, reference) = match which {
        Which::M1ByTag => (&d.m1, "v1".to_owned()),
        Which::M1ByDigest => (&d.m1, d.m1.digest.clone()),
        Which::M2 => (&d.m2, d.m2.digest.clone()),
        Which::IndexByTag => (&d.index, "multi".to_owned()),
        Which::IndexByDigest => (&d.index, d.index.digest.clone()),
    };
    let what = format!("{method} manifest {reference}");
    let r = cx.get_manifest(&d.repo, &reference, method.clone()).await?;
    want(&r, &[200], &what)?;
    digest_header(&r, &m.digest, &what)?;
    if method == Method::HEAD {
        content_length(&r, m.bytes.len(), &what)?;
    } else {
        ensure!(
            r.body == m.bytes,
            "{what}: the body differs from the bytes pushed ({} vs {} bytes)",
            r.body.len(),
            m.bytes.len()
        );
        ensure!(
            r.content_type() == Some(m.media_type.as_str()),
            "{what}: Content-Type is {:?}, expected {}",
            r.header("content-type"),
            m.media_type
        );
    }
    Ok(None)
}

/// `GET /manifests/sha256:totallywrong` → 400 or 404; a 400 must carry a
/// spec error code, and any JSON body must have the spec's shape.
async fn bad_digest_error(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let what = "GET manifests/sha256:totallywrong";
    let r = cx
        .get_manifest(&d.repo, "sha256:totallywrong", Method::GET)
        .await?;
    want(&r, &[400, 404], what)?;
    if let Some(p) = r.error_body_problem() {
        fail!("{what}: {p}");
    }
    if r.status == 400 {
        let Some(codes) = r.error_codes() else {
            fail!("{what}: 400 without a spec error body ({})", r.describe());
        };
        ensure!(
            codes
                .iter()
                .any(|c| ErrorCode::parse(c).is_some_and(ErrorCode::is_spec)),
            "{what}: 400 with codes {codes:?}, none of them a spec error code"
        );
    }
    Ok(Some(r.describe()))
}

#[derive(Clone, Copy)]
enum Want {
    /// 206 with these inclusive bounds.
    Part(usize, usize),
    /// 416.
    Unsatisfiable,
    /// A syntactically invalid range: 416, or the range ignored (200 with
    /// the whole blob), as RFC 9110 allows.
    Invalid,
}

async fn range_get(cx: &Ctx, s: &Result<Data, StepError>, range: &str, w: Want) -> Check {
    let d = needs(s)?;
    let total = d.layer.data.len();
    let what = format!("GET blob with Range: {range}");
    let r = cx
        .req(
            Method::GET,
            &format!("/v2/{}/blobs/{}", d.repo, d.layer.digest),
            &[("range", range)],
        )
        .await?;
    match w {
        Want::Part(start, end) => {
            want(&r, &[206], &what)?;
            let expected = format!("bytes {start}-{end}/{total}");
            ensure!(
                r.header("content-range") == Some(expected.as_str()),
                "{what}: Content-Range is {:?}, expected {expected:?}",
                r.header("content-range")
            );
            ensure!(
                r.body == d.layer.data[start..=end],
                "{what}: body of {} bytes is not bytes {start}-{end} of the blob",
                r.body.len()
            );
            Ok(None)
        }
        Want::Unsatisfiable => {
            want(&r, &[416], &what)?;
            Ok(r.header("content-range")
                .map(|c| format!("Content-Range: {c}")))
        }
        Want::Invalid => {
            want(&r, &[416, 200], &what)?;
            if r.status == 200 {
                ensure!(r.body == d.layer.data, "{what}: 200 but not the whole blob");
                return Ok(Some("range ignored: 200 with the whole blob".to_owned()));
            }
            Ok(Some("416".to_owned()))
        }
    }
}
