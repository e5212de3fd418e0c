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
use crate::session::{Session, SessionError};

mod delete;
mod manifests;
mod uploads;
pub(crate) use delete::delete_phase;
use manifests::*;
use uploads::*;

/// Why a step the write checks build on (an upload, a manifest push) did not succeed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// No answer came.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The registry answered, but not as the step needs: `request` and the answer's summary.
    #[error("{request}: {summary}")]
    Answer {
        /// The request, e.g. `POST blobs/uploads/`.
        request: String,
        /// [`RawResponse::summary`] of the answer.
        summary: String,
    },
}

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
async fn start_upload(session: &mut Session<'_>) -> Result<Url, StepError> {
    let r = session
        .send(session.write(Method::POST, "blobs/uploads/"))
        .await?;
    match (r.status, r.location()) {
        (202, Some(url)) => Ok(url),
        _ => Err(StepError::Answer {
            request: "POST blobs/uploads/".into(),
            summary: r.summary(),
        }),
    }
}

/// Close an upload session the probe abandons (best effort).
async fn cancel_upload(session: &mut Session<'_>, url: &Url) {
    let req = RawRequest::new(Method::DELETE, url.to_string(), session.scope(true));
    let _ = session.send(req).await;
}

/// POST then PUT: the upload every registry supports.
async fn upload(session: &mut Session<'_>, blob: &Blob) -> Result<(), StepError> {
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
        Err(StepError::Answer {
            request: format!("PUT blob {}", blob.digest),
            summary: r.summary(),
        })
    }
}

async fn put_manifest(
    session: &mut Session<'_>,
    reference: &str,
    manifest: &RawManifest,
) -> Result<RawResponse, SessionError> {
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
        results.error(SinglePostUpload, e.to_string());
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
