//! The checks that push and delete, run only with `--write`: uploads (single POST, chunked,
//! out of order, mount), manifests (the scratch image, artifacts with `subject`, an index
//! with `subject`, the referrers tag schema, `?tag=`, 4 MiB), then deletes, which also clean
//! up what the run pushed. Only blobs unique to the run are deleted: the empty blob `{}` may
//! be shared with other content of the repository.

use lineage_oci::manifest::MAX_MANIFEST_SIZE;
use lineage_oci::referrers::fallback_tag;
use lineage_oci::{Digest, RawManifest};
use lineage_registry_client::auth::Scope;
use lineage_registry_client::raw::{RawRequest, RawResponse};
use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE};
use url::Url;

use crate::CheckId::{self, *};
use crate::Results;
use crate::content::{self, Blob};
use crate::read::Subject;
use crate::session::Session;

/// What the run pushed, for the read checks and the clean-up.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The scratch image, once pushed.
    image: Option<RawManifest>,
    /// Its layer (a blob of the repository to read ranges of).
    layer: Option<Blob>,
    /// The referrers of the image that were accepted.
    referrers: Vec<RawManifest>,
    /// Manifests to delete (repository digests), in push order.
    manifests: Vec<Digest>,
    /// Tags the run created.
    tags: Vec<String>,
    /// Blobs unique to the run, with their repository.
    blobs: Vec<(String, Digest)>,
    /// A tag of the image only, for the tag delete.
    spare_tag: Option<String>,
}

impl Scratch {
    /// The scratch image as the read checks' subject.
    pub fn subject(&self) -> Option<Subject> {
        let image = self.image.as_ref()?;
        Some(Subject {
            digest: image.digest().clone(),
            media_type: image.media_type().to_string(),
            tag: self.tags.first().cloned(),
            blob: self
                .layer
                .as_ref()
                .map(|l| (l.digest.clone(), l.data.len() as u64)),
        })
    }

    /// The referrers pushed.
    pub fn referrers(&self) -> &[RawManifest] {
        &self.referrers
    }
}

/// The checks that need the scratch image.
const NEED_IMAGE: [CheckId; 9] = [
    ArtifactEmptyConfig,
    OciSubjectHeader,
    ArtifactNoLayers,
    IndexSubject,
    ReferrersTagSchema,
    MultiTagPush,
    Manifest4Mib,
    TagDelete,
    ManifestDelete,
];

/// `url` with `name=value` appended to its query.
fn with_query(mut url: Url, name: &str, value: &str) -> String {
    url.query_pairs_mut().append_pair(name, value);
    url.to_string()
}

/// 401 and 403 mean the probe was not let in, which decides nothing about support.
fn refused(r: &RawResponse) -> bool {
    matches!(r.status, 401 | 403)
}

/// Record a write check's verdict: `yes` when `ok`, `error` when the registry refused
/// access, `no` otherwise.
fn verdict(results: &mut Results<'_>, id: CheckId, r: &RawResponse, ok: bool, detail: String) {
    if ok {
        results.yes(id, detail);
    } else if refused(r) {
        results.error(
            id,
            format!("{detail} (not allowed to push with these credentials)"),
        );
    } else {
        results.no(id, detail);
    }
}

/// Open an upload session: its `Location`, or the answer that refused it.
async fn start_upload(session: &mut Session<'_>) -> Result<Url, String> {
    let r = session
        .send(session.write(Method::POST, "blobs/uploads/"))
        .await?;
    match (r.status, r.location()) {
        (202, Some(url)) => Ok(url),
        _ => Err(format!("POST blobs/uploads/: {}", r.summary())),
    }
}

/// Close an upload session the probe abandons (best effort).
async fn cancel_upload(session: &mut Session<'_>, url: &Url) {
    let req = RawRequest::new(Method::DELETE, url.to_string(), session.scope(true));
    let _ = session.send(req).await;
}

/// POST then PUT: the upload every registry supports.
async fn upload(session: &mut Session<'_>, blob: &Blob) -> Result<(), String> {
    let url = start_upload(session).await?;
    let req = RawRequest::new(
        Method::PUT,
        with_query(url, "digest", blob.digest.as_str()),
        session.scope(true),
    )
    .header(CONTENT_TYPE, "application/octet-stream")
    .body(blob.data.clone());
    let r = session.send(req).await?;
    if r.status == 201 {
        Ok(())
    } else {
        Err(format!("PUT blob {}: {}", blob.digest, r.summary()))
    }
}

async fn put_manifest(
    session: &mut Session<'_>,
    reference: &str,
    manifest: &RawManifest,
) -> Result<RawResponse, String> {
    let req = session
        .write(Method::PUT, &format!("manifests/{reference}"))
        .header(CONTENT_TYPE, manifest.media_type())
        .body(manifest.bytes().clone());
    session.send(req).await
}

/// Every pushing check, in dependency order.
pub(crate) async fn push_phase(session: &mut Session<'_>, results: &mut Results<'_>) -> Scratch {
    let run = session.options.run_id.clone();
    let mut scratch = Scratch::default();
    let layer = content::layer(&run, "layer", 2048);
    let config = content::config(&run, &layer);
    let repo = session.repository.clone();

    if let Err(e) = single_post(session, results, &layer).await {
        results.error(SinglePostUpload, &e);
    }
    if results.outcome(SinglePostUpload) != Some(crate::Outcome::Yes)
        && let Err(e) = upload(session, &layer).await
    {
        let why = format!("cannot push a blob: {e}");
        for id in CheckId::ALL.into_iter().filter(|id| id.writes()) {
            results.error(id, &why);
        }
        return scratch;
    }
    scratch.blobs.push((repo.clone(), layer.digest.clone()));
    let basics = async {
        upload(session, &config).await?;
        upload(session, &content::empty()).await
    };
    if let Err(e) = basics.await {
        let why = format!("cannot push a blob: {e}");
        for id in CheckId::ALL.into_iter().filter(|id| id.writes()) {
            results.error(id, &why);
        }
        return scratch;
    }
    scratch.blobs.push((repo.clone(), config.digest.clone()));
    scratch.layer = Some(layer.clone());

    let chunked = content::layer(&run, "chunked", 3000);
    match chunked_upload(session, &chunked).await {
        Ok(detail) => {
            results.yes(ChunkedUpload, detail);
            scratch.blobs.push((repo.clone(), chunked.digest.clone()));
        }
        Err((r, detail)) => match r {
            Some(r) => verdict(results, ChunkedUpload, &r, false, detail),
            None => results.error(ChunkedUpload, detail),
        },
    }
    out_of_order(session, results, &run).await;
    mount(session, results, &mut scratch, &layer).await;

    let image = content::image(&run, &config, &layer);
    let tag = format!("probe-{run}");
    let pushed = put_manifest(session, &tag, &image).await;
    match pushed {
        Ok(r) if r.status == 201 => {
            scratch.image = Some(image.clone());
            scratch.manifests.push(image.digest().clone());
            scratch.tags.push(tag);
        }
        Ok(r) => {
            let why = format!("the scratch image could not be pushed: {}", r.summary());
            for id in NEED_IMAGE {
                results.error(id, &why);
            }
            return scratch;
        }
        Err(_) => return scratch,
    }
    artifacts(session, results, &mut scratch, &image).await;
    tag_schema(session, results, &mut scratch, &image).await;
    multi_tag(session, results, &mut scratch, &image).await;
    large_manifest(session, results, &mut scratch, &config, &layer).await;
    scratch
}

async fn single_post(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    blob: &Blob,
) -> Result<(), String> {
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
async fn chunked_upload(
    session: &mut Session<'_>,
    blob: &Blob,
) -> Result<String, (Option<RawResponse>, String)> {
    let start = session
        .send(session.write(Method::POST, "blobs/uploads/"))
        .await
        .map_err(|e| (None, e))?;
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
        let r = session.send(req).await.map_err(|e| (None, e))?;
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
    let r = session.send(req).await.map_err(|e| (None, e))?;
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
        .map_err(|e| (None, e))?;
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

async fn out_of_order(session: &mut Session<'_>, results: &mut Results<'_>, run: &str) {
    let data = bytes::Bytes::from(content::unique_bytes(run, "out-of-order", 30));
    let url = match start_upload(session).await {
        Ok(u) => u,
        Err(e) => return results.error(ChunkedOutOfOrder, e),
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

async fn mount(
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

async fn artifacts(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let run = session.options.run_id.clone();
    let with_layer = content::artifact(content::ARTIFACT_TYPE, image, false, &run);
    let no_layers = content::artifact(content::ARTIFACT_TYPE_NO_LAYERS, image, true, &run);
    let index = content::index_artifact(image, &run);
    for (id, manifest) in [
        (ArtifactEmptyConfig, with_layer),
        (ArtifactNoLayers, no_layers),
        (IndexSubject, index),
    ] {
        let Ok(r) = put_manifest(session, manifest.digest().as_str(), &manifest).await else {
            return;
        };
        let ok = r.status == 201;
        verdict(results, id, &r, ok, r.summary());
        if id == ArtifactEmptyConfig {
            match (ok, r.header("oci-subject")) {
                (true, Some(s)) if s == image.digest().as_str() => {
                    results.yes(OciSubjectHeader, format!("OCI-Subject: {s}"))
                }
                (true, Some(s)) => results.no(
                    OciSubjectHeader,
                    format!("OCI-Subject names {s}, not the subject"),
                ),
                (true, None) => results.no(
                    OciSubjectHeader,
                    "no OCI-Subject in the 201: clients must keep the referrers tag",
                ),
                (false, _) => results.error(
                    OciSubjectHeader,
                    "the artifact with a subject was not accepted",
                ),
            }
        }
        if ok {
            scratch.manifests.push(manifest.digest().clone());
            scratch.referrers.push(manifest);
        }
    }
}

async fn tag_schema(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let listed: Vec<&RawManifest> = scratch.referrers.iter().collect();
    let index = content::referrers_index(&listed);
    let tag = fallback_tag(image.digest());
    let Ok(r) = put_manifest(session, &tag, &index).await else {
        return;
    };
    if r.status != 201 {
        return verdict(results, ReferrersTagSchema, &r, false, r.summary());
    }
    scratch.manifests.push(index.digest().clone());
    scratch.tags.push(tag.clone());
    let Ok(back) = session.get_manifest(&tag).await else {
        return;
    };
    if back.status == 200 && back.body == index.bytes() {
        results.yes(
            ReferrersTagSchema,
            format!("HTTP 201 for tag {}…, read back byte-identical", &tag[..15]),
        );
    } else {
        results.no(
            ReferrersTagSchema,
            format!(
                "stored, but the tag reads back as {} with other bytes",
                back.summary()
            ),
        );
    }
}

async fn multi_tag(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let run = session.options.run_id.clone();
    let tags = [format!("probe-{run}-a"), format!("probe-{run}-b")];
    let reference = format!("{}?tag={}&tag={}", image.digest(), tags[0], tags[1]);
    let Ok(r) = put_manifest(session, &reference, image).await else {
        return;
    };
    if r.status != 201 {
        return verdict(results, MultiTagPush, &r, false, r.summary());
    }
    let mut created = Vec::new();
    for t in &tags {
        let Ok(back) = session.get_manifest(t).await else {
            return;
        };
        if back.status == 200 && back.body == image.bytes() {
            created.push(t.clone());
        }
    }
    match created.len() {
        2 => {
            results.yes(
                MultiTagPush,
                "HTTP 201: both ?tag= tags point to the manifest",
            );
            scratch.spare_tag = Some(tags[1].clone());
        }
        0 => results.no(
            MultiTagPush,
            "HTTP 201, but ?tag= was ignored: no tag created",
        ),
        _ => results.no(
            MultiTagPush,
            "HTTP 201, but only one of the two ?tag= tags exists",
        ),
    }
    scratch.tags.extend(created);
}

async fn large_manifest(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    config: &Blob,
    layer: &Blob,
) {
    let big = content::image_of_size(&session.options.run_id, config, layer, MAX_MANIFEST_SIZE);
    let Ok(r) = put_manifest(session, big.digest().as_str(), &big).await else {
        return;
    };
    if r.status != 201 {
        return verdict(
            results,
            Manifest4Mib,
            &r,
            false,
            format!("{} for a {MAX_MANIFEST_SIZE}-byte manifest", r.summary()),
        );
    }
    scratch.manifests.push(big.digest().clone());
    let Ok(back) = session.get_manifest(big.digest().as_str()).await else {
        return;
    };
    if back.status == 200 && back.body == big.bytes() {
        results.yes(
            Manifest4Mib,
            format!("HTTP 201 for a {MAX_MANIFEST_SIZE}-byte manifest, read back whole"),
        );
    } else {
        results.no(
            Manifest4Mib,
            format!(
                "HTTP 201, but it reads back as {} with other bytes",
                back.summary()
            ),
        );
    }
}

/// The deleting checks, then the clean-up. Returns notes on anything left behind.
pub(crate) async fn delete_phase(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(image) = scratch.image.clone() {
        delete_tag(session, results, scratch, &image).await;
    }
    // The newest manifest first: nothing the run pushed refers to it.
    let mut manifests = std::mem::take(&mut scratch.manifests);
    manifests.reverse();
    let mut left = Vec::new();
    let mut deleting = true;
    for (i, digest) in manifests.iter().enumerate() {
        if !deleting {
            left.push(digest.clone());
            continue;
        }
        let req = session.write(Method::DELETE, &format!("manifests/{digest}"));
        let Ok(r) = session.send(req).await else {
            left.extend(manifests[i..].iter().cloned());
            break;
        };
        let ok = matches!(r.status, 200 | 202);
        if i == 0 {
            verdict(results, ManifestDelete, &r, ok, r.summary());
        }
        if !ok {
            notes.push(format!(
                "left {} manifests in {} (tags {}): the registry does not delete them ({})",
                manifests.len() - i,
                session.repository,
                scratch.tags.join(", "),
                r.summary()
            ));
            left.push(digest.clone());
            deleting = false;
        }
    }
    let blobs = std::mem::take(&mut scratch.blobs);
    let mut first = true;
    let mut kept = 0;
    let mut why = String::new();
    for (repo, digest) in &blobs {
        let req = RawRequest::new(
            Method::DELETE,
            format!("/v2/{repo}/blobs/{digest}"),
            Scope::Repository {
                name: repo.clone(),
                push: true,
            },
        );
        let Ok(r) = session.send(req).await else {
            break;
        };
        let ok = matches!(r.status, 200 | 202);
        if first {
            verdict(results, BlobDelete, &r, ok, r.summary());
            first = false;
        }
        if !ok {
            kept += 1;
            why = r.summary();
        }
    }
    if kept > 0 {
        notes.push(format!(
            "left {kept} blobs the run pushed: the registry does not delete them ({why})"
        ));
    }
    if first {
        results.error(BlobDelete, "no blob of the run to delete");
    }
    notes
}

async fn delete_tag(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let tag = match scratch.spare_tag.clone() {
        Some(t) => t,
        None => {
            let t = format!("probe-{}-spare", session.options.run_id);
            match put_manifest(session, &t, image).await {
                Ok(r) if r.status == 201 => {
                    scratch.tags.push(t.clone());
                    t
                }
                Ok(r) => {
                    return results
                        .error(TagDelete, format!("cannot tag the image: {}", r.summary()));
                }
                Err(_) => return,
            }
        }
    };
    let Ok(r) = session
        .send(session.write(Method::DELETE, &format!("manifests/{tag}")))
        .await
    else {
        return;
    };
    if !matches!(r.status, 200 | 202) {
        return verdict(results, TagDelete, &r, false, r.summary());
    }
    let Ok(after) = session.get_manifest(&tag).await else {
        return;
    };
    let image_left = session.get_manifest(image.digest().as_str()).await;
    match (after.status, image_left.map(|r| r.status)) {
        (404, Ok(200)) => {
            results.yes(
                TagDelete,
                format!("{}: the tag is gone, the manifest stays", r.summary()),
            );
            scratch.tags.retain(|t| t != &tag);
        }
        (404, _) => results.no(
            TagDelete,
            format!("{}, but the manifest went with the tag", r.summary()),
        ),
        _ => results.no(
            TagDelete,
            format!(
                "{}, but the tag still answers {}",
                r.summary(),
                after.status
            ),
        ),
    }
}
