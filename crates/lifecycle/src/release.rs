//! The release flow (DESIGN §5): annotate and push the new image, tag `V-R`, move `V`, then
//! record end-of-life on the revision `V` named before.
//!
//! Every step checks what is there first, so a rerun after a failure at any point completes
//! the job and a rerun after success changes nothing. What a release must never do is damage
//! the lineage it writes to, so before anything is written it refuses:
//! - a revision tag `V-R` that already names another image (an immutable tag never moves; a
//!   rerun whose image differs only by the `created` the release itself added is the same
//!   release);
//! - moving `V` backwards, to a revision older than the one `V` names, unless the request
//!   says `rollback` (then the older revision is restored before the newer one is retired,
//!   so no successor cycle is written);
//! - tags that are not valid tags.
//!
//! The new image's `created` is its own time when it has one (the manifest's
//! `org.opencontainers.image.created`, else its config's `created`), else the request's, else
//! now; [`Release::created_from`] says which. A request's `created` that differs from the
//! image's own time is refused ([`EngineError::CreatedConflict`]) unless the request says
//! `override_created`: it used to be ignored silently (issue 18).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use lineage_oci::manifest::MAX_MANIFEST_SIZE;
use lineage_oci::{Descriptor, Digest, ManifestKind, RawManifest, TagOrDigest, reference, time};
use lineage_store::copy::{CopyOptions, copy_graph};
use lineage_store::overlay::WithManifest;
use lineage_store::{ReadStore, Store, StoreError, blob};

use crate::engine::{Engine, EngineError, Written, annotate};
use crate::facts::manifest_annotations;
use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, Reason, revision_of, revision_tag,
};
use crate::write::RecordSpec;

/// Image times before this (1980-01-01T00:00:00Z, in Unix seconds) are placeholders, not
/// build times: reproducible builders write the Unix epoch (or year 1) as `created`, and no
/// container image predates 1980.
const EARLIEST_REAL_CREATED: i64 = 315_532_800;

/// What `release` needs beyond the stores.
#[derive(Debug, Clone, Default)]
pub struct ReleaseRequest {
    /// The lineage's version, its rolling tag.
    pub version: String,
    /// The revision; default: the UTC date `YYYYMMDD` of `created`.
    pub revision: Option<String>,
    /// Used when the source has no time of its own.
    pub created: Option<DateTime<Utc>>,
    /// End-of-life of the previous revision; default: the new image's `created`.
    pub eol_at: Option<DateTime<Utc>>,
    /// The time the records are written at.
    pub now: DateTime<Utc>,
    /// Allow moving the rolling tag back to an older revision (which is restored first).
    pub rollback: bool,
    /// How the image is copied (blob concurrency, a progress observer); its referrers only
    /// when `copy.referrers` asks, through `copy.referrer_filter` (a promotion leaves out
    /// records whose scope may not travel: [`crate::scope::ScopeFilter`]).
    pub copy: CopyOptions,
    /// Use `created` even when the image carries a time of its own (which is then replaced
    /// in the manifest's `org.opencontainers.image.created`); without it, a `created` that
    /// differs from the image's own time is refused.
    pub override_created: bool,
    /// The previous revision stays supported this long after the new image's `created`,
    /// then reaches end-of-support (issue 18).
    pub support_for: Option<std::time::Duration>,
    /// The previous revision reaches end-of-life this long after its end-of-support
    /// (ignored with `eol_at`).
    pub eol_after: Option<std::time::Duration>,
    /// The scope of the records written (`NS.scope`).
    pub scope: Option<String>,
}

impl ReleaseRequest {
    /// The previous revision's end-of-support and end-of-life when the new image was created
    /// at `created`: without windows, end-of-life at `eol_at`, else at `created`; with
    /// `support_for` (default 0), end-of-support that long after `created`, then end-of-life
    /// `eol_after` (default 0) later, or at `eol_at`. An end-of-support that would fall on
    /// the end-of-life is not written (there would be no time in that state).
    pub fn previous_dates(
        &self,
        created: DateTime<Utc>,
    ) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), EngineError> {
        let later = |t: DateTime<Utc>, d: std::time::Duration| {
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| t.checked_add_signed(d))
                .ok_or(EngineError::WindowTooLong { window: d })
        };
        if self.support_for.is_none() && self.eol_after.is_none() {
            return Ok((None, self.eol_at.unwrap_or(created)));
        }
        let eos = later(created, self.support_for.unwrap_or_default())?;
        let eol = match self.eol_at {
            Some(t) => t,
            None => later(eos, self.eol_after.unwrap_or_default())?,
        };
        Ok(((eos < eol).then_some(eos), eol))
    }
}

/// Where the released image's `created` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedFrom {
    /// The manifest's own `org.opencontainers.image.created` annotation.
    Annotation,
    /// The `created` field of the image's config.
    Config,
    /// The request's `created` (`--created`).
    Request,
    /// The time of the release, as nothing else gave one.
    Now,
    /// The revision already released under this tag (a rerun).
    Released,
}

impl fmt::Display for CreatedFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreatedFrom::Annotation => "the image's org.opencontainers.image.created",
            CreatedFrom::Config => "the image config's created",
            CreatedFrom::Request => "--created",
            CreatedFrom::Now => "the current time: the image has no created time",
            CreatedFrom::Released => "the revision already released",
        })
    }
}

/// What `release` did.
#[derive(Debug, Clone)]
pub struct Release {
    /// The annotated image pushed.
    pub image: Descriptor,
    /// Its version.
    pub version: String,
    /// Its revision.
    pub revision: String,
    /// Its `created`.
    pub created: DateTime<Utc>,
    /// Where `created` came from.
    pub created_from: CreatedFrom,
    /// The revision it replaced.
    pub previous: Option<Digest>,
    /// The records written (or found unchanged) on the previous revision.
    pub records: Vec<Written>,
    /// On a rollback, the records that declare the released image supported again.
    pub restored: Vec<Written>,
    /// The base the released image names (`org.opencontainers.image.base.name`, else
    /// `.base.digest`), kept on the released manifest so the lineage's history shows what
    /// each revision was built on (issue 17).
    pub base: Option<String>,
}

/// What the destination's rolling tag names, relative to the image being released.
enum Rolling {
    /// No tag `V` yet: the first revision.
    Absent,
    /// `V` names the image already (a rerun after the tag moved).
    Same,
    /// `V` names an older revision, which the release replaces.
    Older(RawManifest),
    /// `V` names a newer revision.
    Newer(RawManifest),
}

impl Engine {
    /// The release flow; see the module documentation.
    pub async fn release(
        &self,
        src: &dyn ReadStore,
        src_target: Option<&TagOrDigest>,
        dst: &dyn Store,
        req: &ReleaseRequest,
    ) -> Result<Release, EngineError> {
        let source = src.manifest_fetch_target(src_target).await?;
        let own = manifest_annotations(&source);
        let own_time = image_created(src, &source).await?;
        // `--override-created` over a time of the image's own: the annotation is replaced.
        let replace_created = req.override_created && own_time.is_some() && req.created.is_some();
        let (mut created, mut created_from) = match (own_time, req.created) {
            (Some((own_time, from)), Some(asked)) if own_time != asked && !req.override_created => {
                return Err(EngineError::CreatedConflict {
                    image: own_time,
                    from,
                    requested: asked,
                });
            }
            (Some(_), Some(asked)) if req.override_created => (asked, CreatedFrom::Request),
            (Some(found), _) => found,
            (None, Some(t)) => (t, CreatedFrom::Request),
            (None, None) => (req.now, CreatedFrom::Now),
        };
        let revision = req
            .revision
            .clone()
            .unwrap_or_else(|| created.format("%Y%m%d").to_string());
        let version = &req.version;
        let tag = revision_tag(version, &revision);
        for t in [version, &tag] {
            if !reference::is_valid_tag(t) {
                return Err(EngineError::InvalidTag { tag: t.clone() });
            }
        }
        let mut add = BTreeMap::new();
        add.insert(ANNOTATION_VERSION.to_string(), version.clone());
        add.insert(ANNOTATION_REVISION.to_string(), revision.clone());
        if !own.contains_key(ANNOTATION_CREATED) || replace_created {
            add.insert(
                ANNOTATION_CREATED.to_string(),
                time::format_rfc3339(&created),
            );
        }
        let mut image = annotate(&source, &add)?;

        // The revision tag is immutable: released before, it must name this image.
        if let Some(released) = fetch_tag(dst, &tag).await?
            && released.digest() != image.digest()
        {
            if !same_content(&released, &image) {
                return Err(EngineError::RevisionTaken {
                    reference: format!("{}:{tag}", dst.name()),
                    existing: released.digest().clone(),
                });
            }
            // The same image, annotated with another `created` by an earlier run.
            if let Some(t) = created_of(&manifest_annotations(&released)) {
                (created, created_from) = (t, CreatedFrom::Released);
            }
            image = released;
        }

        let rolling = match fetch_tag(dst, version).await? {
            None => Rolling::Absent,
            Some(m) if m.digest() == image.digest() => Rolling::Same,
            Some(m) if is_newer(&m, &image) => Rolling::Newer(m),
            Some(m) => Rolling::Older(m),
        };
        let previous = match rolling {
            Rolling::Absent => None,
            // A rerun after `V` moved: the newest other revision older than this one.
            Rolling::Same => previous_revision(dst, version, &tag).await?,
            Rolling::Older(m) => Some(m),
            Rolling::Newer(m) if req.rollback => Some(m),
            Rolling::Newer(m) => {
                return Err(EngineError::Backwards {
                    version: format!("{}:{version}", dst.name()),
                    current: reference_of(dst.name(), version, &m),
                    release: format!("{}:{tag}", dst.name()),
                });
            }
        };

        // The windows are checked before anything is written.
        let (previous_eos, previous_eol) = req.previous_dates(created)?;
        let overlay = WithManifest::new(src, image.clone());
        let copy = req.copy.clone();
        copy_graph(&overlay, dst, &image.descriptor(), Some(&tag), &copy)
            .await
            .map_err(Box::new)?;

        // Rolling back: the older revision is supported again before anything names it as
        // the successor of a newer one.
        let mut restored = Vec::new();
        if req.rollback {
            let spec = RecordSpec {
                created: req.now,
                end_of_life: None,
                reason: None,
                successor: None,
                superseded_by: None,
                version: Some(version.clone()),
                revision: Some(revision.clone()),
                end_of_support: None,
                scope: req.scope.clone(),
            };
            if self.is_retired(dst, image.digest()).await? {
                restored = self.write_record(dst, &image.descriptor(), &spec).await?;
            }
        }
        dst.manifest_put(&image, Some(version)).await?;

        let mut records = Vec::new();
        if let Some(prev) = &previous {
            let prev_ann = manifest_annotations(prev);
            let spec = RecordSpec {
                created: req.now,
                end_of_life: Some(previous_eol),
                end_of_support: previous_eos,
                scope: req.scope.clone(),
                reason: Some(Reason::Superseded),
                successor: Some(format!("{}:{tag}", dst.name())),
                superseded_by: Some(image.digest().clone()),
                version: prev_ann.get(ANNOTATION_VERSION).cloned(),
                revision: prev_ann.get(ANNOTATION_REVISION).cloned(),
            };
            records = self.write_record(dst, &prev.descriptor(), &spec).await?;
        }
        dst.flush().await?;
        let released = manifest_annotations(&image);
        let base = released
            .get(crate::base::ANNOTATION_BASE_NAME)
            .or_else(|| released.get(crate::base::ANNOTATION_BASE_DIGEST))
            .cloned();
        Ok(Release {
            base,
            image: image.descriptor(),
            version: version.clone(),
            revision,
            created,
            created_from,
            previous: previous.map(|m| m.digest().clone()),
            records,
            restored,
        })
    }
}

/// A real build time in `annotations`' `org.opencontainers.image.created`.
fn created_of(annotations: &BTreeMap<String, String>) -> Option<DateTime<Utc>> {
    annotations
        .get(ANNOTATION_CREATED)
        .and_then(|c| time::parse_lenient(c).ok())
        .filter(is_real_time)
}

fn is_real_time(t: &DateTime<Utc>) -> bool {
    t.timestamp() >= EARLIEST_REAL_CREATED
}

/// The image's own time: its manifest's `created` annotation, else its config's `created`
/// (for an index, the config of its first manifest). A config that cannot be read as JSON
/// gives none; a store that fails is an error.
async fn image_created(
    store: &dyn ReadStore,
    manifest: &RawManifest,
) -> Result<Option<(DateTime<Utc>, CreatedFrom)>, EngineError> {
    if let Some(t) = created_of(&manifest_annotations(manifest)) {
        return Ok(Some((t, CreatedFrom::Annotation)));
    }
    let Ok(view) = manifest.view() else {
        return Ok(None);
    };
    let config = match view.kind {
        ManifestKind::Index => match view.manifests.first() {
            Some(child) => store
                .manifest_get(&child.digest)
                .await?
                .view()
                .ok()
                .and_then(|v| v.config.clone()),
            None => None,
        },
        _ => view.config.clone(),
    };
    let Some(config) = config else {
        return Ok(None);
    };
    if config.size > MAX_MANIFEST_SIZE as u64 {
        tracing::warn!(digest = %config.digest, size = config.size, "image config too large to read its created time");
        return Ok(None);
    }
    let bytes = blob::read_all(store.blob_get(&config).await?, MAX_MANIFEST_SIZE).await?;
    #[derive(serde::Deserialize)]
    struct Created {
        created: Option<String>,
    }
    let created = serde_json::from_slice::<Created>(&bytes)
        .ok()
        .and_then(|c| c.created)
        .and_then(|c| time::parse_lenient(&c).ok())
        .filter(is_real_time);
    Ok(created.map(|t| (t, CreatedFrom::Config)))
}

/// The manifest tag `tag` names in `store`, `None` when there is no such tag.
async fn fetch_tag(store: &dyn ReadStore, tag: &str) -> Result<Option<RawManifest>, StoreError> {
    match store
        .manifest_fetch(&TagOrDigest::Tag(tag.to_string()))
        .await
    {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether two manifests are one image apart from annotations: the same media type, config,
/// layers and child manifests.
fn same_content(a: &RawManifest, b: &RawManifest) -> bool {
    match (a.view(), b.view()) {
        (Ok(x), Ok(y)) => {
            a.media_type() == b.media_type()
                && x.config == y.config
                && x.layers == y.layers
                && x.manifests == y.manifests
                && x.subject == y.subject
        }
        _ => false,
    }
}

/// Whether `current` (what the rolling tag names) is a newer revision than `image`: its
/// `created` is later, or, with equal or missing times, its revision sorts after.
fn is_newer(current: &RawManifest, image: &RawManifest) -> bool {
    let (c, i) = (manifest_annotations(current), manifest_annotations(image));
    match (created_of(&c), created_of(&i)) {
        (Some(a), Some(b)) if a != b => a > b,
        _ => match (c.get(ANNOTATION_REVISION), i.get(ANNOTATION_REVISION)) {
            (Some(a), Some(b)) => a > b,
            _ => false,
        },
    }
}

/// How a user names the revision `manifest` of lineage `version` in repository `name`: its
/// revision tag when it carries a revision, else its digest.
fn reference_of(name: &str, version: &str, manifest: &RawManifest) -> String {
    match manifest_annotations(manifest).get(ANNOTATION_REVISION) {
        Some(r) => format!("{name}:{}", revision_tag(version, r)),
        None => format!("{name}@{}", manifest.digest()),
    }
}

/// The newest `V-*` revision other than `current`, by tag order of the revision part.
async fn previous_revision(
    store: &dyn Store,
    version: &str,
    current: &str,
) -> Result<Option<RawManifest>, EngineError> {
    let mut tags: Vec<String> = store
        .tag_list()
        .await?
        .into_iter()
        .filter(|t| revision_of(t, version).is_some() && t.as_str() < current)
        .collect();
    tags.sort();
    match tags.pop() {
        Some(t) => Ok(Some(store.manifest_fetch(&TagOrDigest::Tag(t)).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use bytes::Bytes;
    use lineage_oci::media_type;
    use lineage_store::LayoutStore;
    use serde_json::json;

    use super::*;
    use crate::status::State;

    fn t(s: &str) -> DateTime<Utc> {
        time::parse_lenient(s).unwrap()
    }

    /// An image whose config says `created` (none when `None`), tagged `tag` in `store`.
    async fn image(store: &LayoutStore, tag: &str, created: Option<&str>) -> RawManifest {
        let config = match created {
            Some(c) => json!({"architecture": "amd64", "os": "linux", "created": c, "tag": tag}),
            None => json!({"architecture": "amd64", "os": "linux", "tag": tag}),
        }
        .to_string();
        let layer = format!("layer of {tag}");
        let mut descs = Vec::new();
        for (mt, data) in [
            (media_type::OCI_CONFIG, config),
            (media_type::OCI_LAYER_TAR, layer),
        ] {
            let d = Descriptor::new(mt, Digest::sha256(data.as_bytes()), data.len() as u64);
            store
                .blob_put(&d, blob::from_bytes(Bytes::from(data)))
                .await
                .unwrap();
            descs.push(d);
        }
        let m = RawManifest::from_canonical(&json!({
            "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "config": descs[0], "layers": [descs[1]],
        }))
        .unwrap();
        store.manifest_put(&m, Some(tag)).await.unwrap();
        m
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        src: LayoutStore,
        dst: LayoutStore,
        engine: Engine,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let src = LayoutStore::open_or_create(dir.path().join("src")).unwrap();
        let dst = LayoutStore::open_or_create(dir.path().join("dst"))
            .unwrap()
            .with_name("reg.example/app");
        image(&src, "v1", Some("2024-01-01T00:00:00Z")).await;
        image(&src, "v2", Some("2024-02-01T00:00:00Z")).await;
        Fixture {
            _dir: dir,
            src,
            dst,
            engine: Engine::default(),
        }
    }

    fn request(rollback: bool) -> ReleaseRequest {
        ReleaseRequest {
            version: "1.0".into(),
            revision: None,
            created: None,
            eol_at: None,
            now: t("2024-03-01T00:00:00Z"),
            rollback,
            copy: CopyOptions::default(),
            ..ReleaseRequest::default()
        }
    }

    impl Fixture {
        async fn release(&self, tag: &str, req: &ReleaseRequest) -> Result<Release, EngineError> {
            self.engine
                .release(
                    &self.src,
                    Some(&TagOrDigest::Tag(tag.into())),
                    &self.dst,
                    req,
                )
                .await
        }

        async fn state(&self, tag: &str) -> (State, Option<String>) {
            let s = self
                .engine
                .status(
                    &self.dst,
                    tag,
                    Some(&TagOrDigest::Tag(tag.into())),
                    t("2024-06-01T00:00:00Z"),
                )
                .await
                .unwrap();
            (s.state, s.successor.and_then(|x| x.reference))
        }

        /// What the destination holds: its tags and manifests, as the layout lists them.
        fn snapshot(&self) -> Vec<u8> {
            std::fs::read(self.dst.root().join("index.json")).unwrap()
        }

        async fn tag(&self, tag: &str) -> Digest {
            self.dst
                .resolve(&TagOrDigest::Tag(tag.into()))
                .await
                .unwrap()
                .digest
        }
    }

    #[tokio::test]
    async fn created_comes_from_the_image_config() {
        let f = fixture().await;
        let done = f.release("v1", &request(false)).await.unwrap();
        assert_eq!(done.created, t("2024-01-01T00:00:00Z"));
        assert_eq!(done.created_from, CreatedFrom::Config);
        assert_eq!(done.revision, "20240101");
        let pushed = f.dst.manifest_get(&done.image.digest).await.unwrap();
        assert_eq!(
            pushed.view().unwrap().annotation(ANNOTATION_CREATED),
            Some("2024-01-01T00:00:00Z")
        );
    }

    #[tokio::test]
    async fn created_falls_back_to_the_request_then_now_and_ignores_epoch_placeholders() {
        let f = fixture().await;
        image(&f.src, "epoch", Some("1970-01-01T00:00:00Z")).await;
        image(&f.src, "none", None).await;
        let mut req = request(false);
        req.created = Some(t("2024-04-04T04:04:04Z"));
        let done = f.release("epoch", &req).await.unwrap();
        assert_eq!(
            (done.created, done.created_from),
            (t("2024-04-04T04:04:04Z"), CreatedFrom::Request)
        );
        let mut req = request(false);
        req.version = "2.0".into();
        let done = f.release("none", &req).await.unwrap();
        assert_eq!(
            (done.created, done.created_from),
            (req.now, CreatedFrom::Now)
        );
    }

    /// Issue 18: a `created` that contradicts the image's own time is refused naming both,
    /// nothing is written; the same time is no conflict; `override_created` replaces it.
    #[tokio::test]
    async fn a_created_that_contradicts_the_image_is_refused_unless_overridden() {
        let f = fixture().await;
        let mut req = request(false);
        req.created = Some(t("2030-01-01T00:00:00Z"));
        let err = f.release("v1", &req).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::CreatedConflict { image, from, requested }
                if *image == t("2024-01-01T00:00:00Z")
                    && *from == CreatedFrom::Config
                    && *requested == t("2030-01-01T00:00:00Z")),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("2030-01-01T00:00:00Z") && msg.contains("2024-01-01T00:00:00Z"),
            "{msg}"
        );
        assert!(
            f.dst.tag_list().await.unwrap().is_empty(),
            "nothing written"
        );

        req.created = Some(t("2024-01-01T00:00:00Z"));
        let same = f.release("v1", &req).await.unwrap();
        assert_eq!(same.created_from, CreatedFrom::Config);

        let mut req = request(false);
        req.version = "2.0".into();
        req.created = Some(t("2030-01-01T00:00:00Z"));
        req.override_created = true;
        let done = f.release("v2", &req).await.unwrap();
        assert_eq!(
            (done.created, done.created_from, done.revision.as_str()),
            (t("2030-01-01T00:00:00Z"), CreatedFrom::Request, "20300101")
        );
        let pushed = f.dst.manifest_get(&done.image.digest).await.unwrap();
        assert_eq!(
            pushed.view().unwrap().annotation(ANNOTATION_CREATED),
            Some("2030-01-01T00:00:00Z")
        );
    }

    /// Issue 18: support windows give the replaced revision an end-of-support, then an
    /// end-of-life.
    #[tokio::test]
    async fn support_windows_date_the_previous_revision() {
        let day = std::time::Duration::from_secs(86_400);
        let mut req = request(false);
        let created = t("2024-02-01T00:00:00Z");
        assert_eq!(req.previous_dates(created).unwrap(), (None, created));
        req.support_for = Some(90 * day);
        req.eol_after = Some(30 * day);
        assert_eq!(
            req.previous_dates(created).unwrap(),
            (Some(t("2024-05-01T00:00:00Z")), t("2024-05-31T00:00:00Z"))
        );
        req.eol_after = None;
        assert_eq!(
            req.previous_dates(created).unwrap(),
            (None, t("2024-05-01T00:00:00Z")),
            "no time between the two: no end-of-support written"
        );
        req.support_for = None;
        req.eol_after = Some(30 * day);
        assert_eq!(
            req.previous_dates(created).unwrap(),
            (Some(created), t("2024-03-02T00:00:00Z"))
        );
        req.support_for = Some(std::time::Duration::MAX);
        assert!(matches!(
            req.previous_dates(created),
            Err(EngineError::WindowTooLong { .. })
        ));

        let f = fixture().await;
        f.release("v1", &request(false)).await.unwrap();
        let mut req = request(false);
        req.support_for = Some(90 * day);
        req.eol_after = Some(30 * day);
        f.release("v2", &req).await.unwrap();
        let s = f
            .engine
            .status(
                &f.dst,
                "old",
                Some(&TagOrDigest::Tag("1.0-20240101".into())),
                t("2024-05-15T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(s.state, State::EndOfSupport);
        assert_eq!(s.end_of_support, Some(t("2024-05-01T00:00:00Z")));
        assert_eq!(s.end_of_life, Some(t("2024-05-31T00:00:00Z")));
        assert_eq!(s.days_left, Some(16));
    }

    #[tokio::test]
    async fn rerunning_an_older_release_is_refused_and_changes_nothing() {
        let f = fixture().await;
        let v1 = f.release("v1", &request(false)).await.unwrap();
        let v2 = f.release("v2", &request(false)).await.unwrap();
        assert_eq!(v2.previous.as_ref(), Some(&v1.image.digest));
        let before = f.snapshot();

        let err = f.release("v1", &request(false)).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::Backwards { current, release, .. }
                if current == "reg.example/app:1.0-20240201"
                    && release == "reg.example/app:1.0-20240101"),
            "{err}"
        );
        assert!(err.to_string().contains("--rollback"), "{err}");
        assert_eq!(f.tag("1.0").await, v2.image.digest);
        assert_eq!(f.snapshot(), before, "nothing was written");
        assert_eq!(f.state("1.0").await.0, State::Supported);
        assert_eq!(f.state("1.0-20240101").await.0, State::EndOfLife);
    }

    #[tokio::test]
    async fn rerunning_the_newest_release_changes_nothing() {
        let f = fixture().await;
        f.release("v1", &request(false)).await.unwrap();
        let v2 = f.release("v2", &request(false)).await.unwrap();
        let before = f.snapshot();
        let again = f.release("v2", &request(false)).await.unwrap();
        assert_eq!(again.image, v2.image);
        assert!(
            again
                .records
                .iter()
                .all(|w| matches!(w, Written::Unchanged(_)))
        );
        assert_eq!(f.snapshot(), before);
    }

    #[tokio::test]
    async fn a_revision_tag_naming_another_image_is_never_moved() {
        let f = fixture().await;
        let v1 = f.release("v1", &request(false)).await.unwrap();
        let mut req = request(false);
        req.revision = Some("20240101".into());
        let err = f.release("v2", &req).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::RevisionTaken { reference, existing }
                if reference == "reg.example/app:1.0-20240101" && *existing == v1.image.digest),
            "{err}"
        );
        assert_eq!(f.tag("1.0-20240101").await, v1.image.digest);
        assert_eq!(f.tag("1.0").await, v1.image.digest);
    }

    #[tokio::test]
    async fn a_rerun_whose_created_was_now_is_the_same_release() {
        let f = fixture().await;
        image(&f.src, "none", None).await;
        let mut req = request(false);
        req.revision = Some("r1".into());
        let first = f.release("none", &req).await.unwrap();
        req.now = t("2024-03-01T00:00:09Z");
        let again = f.release("none", &req).await.unwrap();
        assert_eq!(again.image.digest, first.image.digest);
        assert_eq!(again.created_from, CreatedFrom::Released);
        assert_eq!(again.created, first.created);
    }

    #[tokio::test]
    async fn rollback_restores_the_older_revision_and_writes_no_cycle() {
        let f = fixture().await;
        let v1 = f.release("v1", &request(false)).await.unwrap();
        let v2 = f.release("v2", &request(false)).await.unwrap();
        let back = f.release("v1", &request(true)).await.unwrap();
        assert_eq!(back.image.digest, v1.image.digest);
        assert_eq!(back.previous.as_ref(), Some(&v2.image.digest));
        assert_eq!(back.restored.len(), 1);
        assert_eq!(f.tag("1.0").await, v1.image.digest);
        assert_eq!(f.state("1.0").await.0, State::Supported);
        assert_eq!(
            f.state("1.0-20240201").await,
            (
                State::EndOfLife,
                Some("reg.example/app:1.0-20240101".to_string())
            )
        );
        // Rolled back already: the same command again changes nothing.
        let before = f.snapshot();
        let again = f.release("v1", &request(true)).await.unwrap();
        assert!(again.restored.is_empty());
        assert_eq!(f.snapshot(), before);
    }

    #[tokio::test]
    async fn a_record_that_would_close_a_successor_cycle_is_refused() {
        let f = fixture().await;
        let v1 = f.release("v1", &request(false)).await.unwrap();
        let v2 = f.release("v2", &request(false)).await.unwrap();
        // v1 is retired in favour of v2; retiring v2 in favour of v1 would loop.
        let spec = RecordSpec {
            created: t("2024-05-01T00:00:00Z"),
            end_of_life: Some(t("2024-05-01T00:00:00Z")),
            reason: Some(Reason::Superseded),
            successor: Some("reg.example/app:1.0-20240101".into()),
            superseded_by: Some(v1.image.digest.clone()),
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        };
        let err = f
            .engine
            .write_record(&f.dst, &v2.image, &spec)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, EngineError::SuccessorCycle { subject, successor }
                if *subject == v2.image.digest && *successor == v1.image.digest),
            "{err}"
        );
        // An image named as its own successor is a cycle too.
        let mut own = spec.clone();
        own.superseded_by = Some(v2.image.digest.clone());
        assert!(matches!(
            f.engine.write_record(&f.dst, &v2.image, &own).await,
            Err(EngineError::SuccessorCycle { .. })
        ));
        assert_eq!(f.state("1.0-20240201").await.0, State::Supported);
    }

    #[tokio::test]
    async fn invalid_tags_are_refused_before_anything_is_written() {
        let f = fixture().await;
        let mut req = request(false);
        req.revision = Some("x".repeat(127));
        let err = f.release("v1", &req).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::InvalidTag { tag } if tag.len() == 131),
            "{err}"
        );
        assert!(f.dst.tag_list().await.unwrap().is_empty());
    }
}
