//! The lifecycle engine over the store interface: status of an image (DESIGN §4, three
//! requests whatever the number of records: the image's manifest, its referrers listing, the
//! rolling tag's manifest) and idempotent record writing, which never writes a successor
//! cycle. The release flow is [`crate::release`].
//!
//! Status is gathered in steps a cache can keep apart ([`crate::lookup`] does): the image's
//! [`ImageFacts`] (`Engine::facts`), its rolling tag (`Engine::rolling_tag`), and the pure
//! decision at an instant (`Engine::decide`).
//!
//! Nothing here knows which kind of store it talks to.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest, ManifestKind, RawManifest, TagOrDigest, time};
use lineage_store::copy::CopyError;
use lineage_store::{ReadStore, Store, StoreError, blob};

use crate::error::LifecycleError;
use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, Namespace, revision_of,
    revision_tag,
};
use crate::record::Records;
use crate::status::{Facts, RollingTagInfo, Status, decide_from};
use crate::write::{RecordSpec, WriteOptions, is_same_as};

/// What the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Copying the release failed.
    #[error(transparent)]
    Copy(#[from] Box<CopyError>),
    /// A lifecycle value was invalid.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// A manifest to annotate is not a JSON object.
    #[error("manifest {digest} is not a JSON object")]
    NotAnObject {
        /// The manifest's digest.
        digest: Digest,
    },
    /// A tag the request would write is not a valid tag.
    #[error(
        "`{tag}` is not a valid tag (at most 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`)"
    )]
    InvalidTag {
        /// The tag.
        tag: String,
    },
    /// The revision tag of a release already names another image; a revision tag never moves.
    #[error(
        "`{reference}` is already released as {existing}, a different image; a revision tag never moves: release this image under another revision (`--revision`)"
    )]
    RevisionTaken {
        /// The revision tag, `REPO:V-R`.
        reference: String,
        /// The image it names.
        existing: Digest,
    },
    /// A release would move the rolling tag back to an older revision.
    #[error(
        "`{version}` names `{current}`, newer than `{release}`; a release never moves a rolling tag backwards: pass `--rollback` to move it back (`{release}` is restored and `{current}` retired)"
    )]
    Backwards {
        /// The rolling tag, `REPO:V`.
        version: String,
        /// The newer revision it names.
        current: String,
        /// The revision being released.
        release: String,
    },
    /// A record would close a successor cycle: the successor's chain leads back to the image.
    #[error(
        "retiring {subject} in favour of {successor} would write a successor cycle: {successor} is itself retired in favour of {subject} (directly or through others); restore {successor} first"
    )]
    SuccessorCycle {
        /// The image being retired.
        subject: Digest,
        /// The successor named.
        successor: Digest,
    },
}

/// The engine's settings: which namespaces it reads and how it writes.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// Profile namespaces read (the write namespace is read too).
    pub namespaces: Vec<Namespace>,
    /// How records are written.
    pub write: WriteOptions,
}

/// What `write_record` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A record was pushed.
    Pushed(Digest),
    /// The newest record already said the same.
    Unchanged(Digest),
}

/// The facts of one image that a status is decided from, apart from its rolling tag: what
/// `Engine::facts` gathers, and what a cache may keep while the digest stays the same (the
/// annotations never change; the referrers listing changes when records are written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// The image's digest.
    pub digest: Digest,
    /// The image manifest's (or index's) own annotations.
    pub annotations: BTreeMap<String, String>,
    /// The referrers listing of `digest`, any artifact types.
    pub referrers: Vec<Descriptor>,
}

impl ImageFacts {
    /// The image's `org.opencontainers.image.version`: its lineage's rolling tag.
    pub fn version(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_VERSION).map(String::as_str)
    }
}

/// The own annotations of a manifest (empty when it cannot be read as one).
pub(crate) fn manifest_annotations(manifest: &RawManifest) -> BTreeMap<String, String> {
    manifest
        .view()
        .map(|v| v.annotations.clone())
        .unwrap_or_default()
}

/// [`decide`] over cached facts, with the namespaces already worked out.
pub(crate) fn decide_with(
    reference: &str,
    facts: &ImageFacts,
    namespaces: &[Namespace],
    rolling_tag: Option<&RollingTagInfo>,
    at: DateTime<Utc>,
) -> Status {
    decide_from(
        reference.to_string(),
        Facts {
            digest: &facts.digest,
            image_annotations: &facts.annotations,
            referrers: &facts.referrers,
            namespaces,
            rolling_tag,
        },
        at,
    )
}

impl Engine {
    /// The profile namespaces read: the configured ones and the write namespace.
    pub(crate) fn read_namespaces(&self) -> Vec<Namespace> {
        let mut all = self.namespaces.clone();
        if !all.contains(&self.write.namespace) {
            all.insert(0, self.write.namespace.clone());
        }
        all
    }

    /// The status of the image `target` names in `store` (its default manifest when `None`),
    /// evaluated at `at`. `reference` is how the user named it.
    pub async fn status(
        &self,
        store: &dyn ReadStore,
        reference: &str,
        target: Option<&TagOrDigest>,
        at: DateTime<Utc>,
    ) -> Result<Status, EngineError> {
        self.status_with(store, reference, target, at, &mut HashMap::new())
            .await
    }

    /// [`Engine::status`], looking each lineage's rolling tag up once per `rolling` memo
    /// (revisions of one lineage share it).
    async fn status_with(
        &self,
        store: &dyn ReadStore,
        reference: &str,
        target: Option<&TagOrDigest>,
        at: DateTime<Utc>,
        rolling_memo: &mut HashMap<String, Option<RollingTagInfo>>,
    ) -> Result<Status, EngineError> {
        let facts = self.facts(store, target).await?;
        let rolling_tag = match facts.version() {
            Some(v) => match rolling_memo.get(v) {
                Some(known) => known.clone(),
                None => {
                    let found = self.rolling_tag(store, v).await?;
                    rolling_memo.insert(v.to_string(), found.clone());
                    found
                }
            },
            None => None,
        };
        Ok(self.decide(reference, &facts, rolling_tag, at))
    }

    /// The facts of the image `target` names in `store` (its default manifest when `None`):
    /// two requests, its manifest and its referrers listing. The rolling tag is a separate
    /// step ([`Engine::rolling_tag`]), since it changes on its own schedule.
    pub(crate) async fn facts(
        &self,
        store: &dyn ReadStore,
        target: Option<&TagOrDigest>,
    ) -> Result<ImageFacts, EngineError> {
        let manifest = store.manifest_fetch_target(target).await?;
        self.facts_of(store, manifest.digest(), manifest_annotations(&manifest))
            .await
    }

    /// The facts of the image `digest`, whose manifest annotations are already known: one
    /// request, its referrers listing.
    pub(crate) async fn facts_of(
        &self,
        store: &dyn ReadStore,
        digest: &Digest,
        annotations: BTreeMap<String, String>,
    ) -> Result<ImageFacts, EngineError> {
        let referrers = store.referrers(digest, None).await?;
        Ok(ImageFacts {
            digest: digest.clone(),
            annotations,
            referrers,
        })
    }

    /// What the rolling tag `version` points to in `store`: one request; `None` when the tag
    /// does not exist.
    pub(crate) async fn rolling_tag(
        &self,
        store: &dyn ReadStore,
        version: &str,
    ) -> Result<Option<RollingTagInfo>, EngineError> {
        rolling(store, version).await
    }

    /// The status from gathered facts, evaluated at `at` (pure: no request). `reference` is
    /// how the user named the image.
    pub(crate) fn decide(
        &self,
        reference: &str,
        facts: &ImageFacts,
        rolling_tag: Option<RollingTagInfo>,
        at: DateTime<Utc>,
    ) -> Status {
        decide_with(
            reference,
            facts,
            &self.read_namespaces(),
            rolling_tag.as_ref(),
            at,
        )
    }

    /// Write the record `spec` about `subject`, unless the newest record already says the
    /// same. For an index, its platform manifests get the same record.
    pub async fn write_record(
        &self,
        store: &dyn Store,
        subject: &Descriptor,
        spec: &RecordSpec,
    ) -> Result<Vec<Written>, EngineError> {
        self.refuse_cycle(store, &subject.digest, spec).await?;
        let mut out = vec![self.write_one(store, subject, spec).await?];
        let manifest = store.manifest_get(&subject.digest).await?;
        if let Ok(view) = manifest.view()
            && view.kind == ManifestKind::Index
        {
            for child in &view.manifests {
                out.push(self.write_one(store, child, spec).await?);
            }
        }
        Ok(out)
    }

    /// Whether the effective record of `digest` in `store` declares it end-of-life (now or
    /// scheduled).
    pub(crate) async fn is_retired(
        &self,
        store: &dyn ReadStore,
        digest: &Digest,
    ) -> Result<bool, EngineError> {
        let listing = store.referrers(digest, None).await?;
        let records = Records::read(&listing, &self.read_namespaces());
        Ok(records.effective().is_some_and(|r| r.end_of_life.is_some()))
    }

    /// Refuse `spec` on `subject` when its successor's chain (each image's effective record's
    /// `superseded-by`, in `store`) leads back to `subject`: a successor cycle leaves no
    /// image to move to. Follows at most [`crate::successors::MAX_SUCCESSOR_HOPS`] records.
    async fn refuse_cycle(
        &self,
        store: &dyn ReadStore,
        subject: &Digest,
        spec: &RecordSpec,
    ) -> Result<(), EngineError> {
        let Some(successor) = &spec.superseded_by else {
            return Ok(());
        };
        let namespaces = self.read_namespaces();
        let mut seen = HashSet::new();
        let mut next = successor.clone();
        for _ in 0..crate::successors::MAX_SUCCESSOR_HOPS {
            if &next == subject {
                return Err(EngineError::SuccessorCycle {
                    subject: subject.clone(),
                    successor: successor.clone(),
                });
            }
            if !seen.insert(next.clone()) {
                break;
            }
            let listing = match store.referrers(&next, None).await {
                Ok(l) => l,
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e.into()),
            };
            let records = Records::read(&listing, &namespaces);
            match records
                .effective()
                .filter(|r| r.end_of_life.is_some())
                .and_then(|r| r.superseded_by.clone())
            {
                Some(d) => next = d,
                None => break,
            }
        }
        Ok(())
    }

    async fn write_one(
        &self,
        store: &dyn Store,
        subject: &Descriptor,
        spec: &RecordSpec,
    ) -> Result<Written, EngineError> {
        let listing = store.referrers(&subject.digest, None).await?;
        let records = Records::read(&listing, &self.read_namespaces());
        let current = records.effective();
        if let Some(current) = current
            && is_same_as(current, spec)
        {
            return Ok(Written::Unchanged(current.digest.clone()));
        }
        // The new record must become the effective one (the newest `created` wins): when the
        // clock is not past the current record's time (a fast rerun, a skewed clock), it is
        // dated one second after it.
        let mut spec = spec.clone();
        if let Some(newest) = current.and_then(|c| c.created)
            && spec.created <= newest
        {
            spec.created = newest + chrono::Duration::seconds(1);
        }
        let spec = &spec;
        let empty = Descriptor::empty();
        if !store.blob_exists(&empty.digest).await? {
            store
                .blob_put(
                    &empty,
                    blob::from_bytes(Bytes::from_static(lineage_oci::descriptor::EMPTY_JSON)),
                )
                .await?;
        }
        let subject = Descriptor::new(
            subject.media_type.clone(),
            subject.digest.clone(),
            subject.size,
        );
        let manifests = spec.manifests(&subject, &self.write)?;
        if let Some(ms) = &manifests.microsoft {
            store.manifest_put(ms, None).await?;
        }
        store.manifest_put(&manifests.profile, None).await?;
        Ok(Written::Pushed(manifests.profile.digest().clone()))
    }

    /// Every revision of a lineage (tags `V-R`), oldest first, each with its status.
    pub async fn history(
        &self,
        store: &dyn ReadStore,
        name: &str,
        version: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Status>, EngineError> {
        let tags = store.tag_list().await?;
        let revisions: Vec<&String> = tags
            .iter()
            .filter(|t| match version {
                Some(v) => revision_of(t, v).is_some(),
                None => tags.iter().any(|v| revision_of(t, v).is_some()),
            })
            .collect();
        let mut out = Vec::new();
        let mut rolling_memo = HashMap::new();
        for t in revisions {
            let s = self
                .status_with(
                    store,
                    &format!("{name}:{t}"),
                    Some(&TagOrDigest::Tag(t.clone())),
                    at,
                    &mut rolling_memo,
                )
                .await?;
            out.push(s);
        }
        out.sort_by(|a, b| {
            (a.version.clone(), a.revision.clone()).cmp(&(b.version.clone(), b.revision.clone()))
        });
        Ok(out)
    }
}

/// `manifest` with `add` merged into its annotations, written canonically; unchanged (same
/// bytes and digest) when it already carries them.
pub fn annotate(
    manifest: &RawManifest,
    add: &BTreeMap<String, String>,
) -> Result<RawManifest, EngineError> {
    let view = manifest.view().map_err(LifecycleError::Manifest)?;
    if add
        .iter()
        .all(|(k, v)| view.annotation(k) == Some(v.as_str()))
    {
        return Ok(manifest.clone());
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(manifest.bytes()).map_err(|_| EngineError::NotAnObject {
            digest: manifest.digest().clone(),
        })?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| EngineError::NotAnObject {
            digest: manifest.digest().clone(),
        })?;
    let ann = obj
        .entry("annotations")
        .or_insert_with(|| serde_json::json!({}));
    if let Some(map) = ann.as_object_mut() {
        for (k, v) in add {
            map.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
    }
    if !obj.contains_key("mediaType") {
        obj.insert(
            "mediaType".into(),
            serde_json::Value::String(manifest.media_type().to_string()),
        );
    }
    Ok(RawManifest::from_canonical(&value).map_err(LifecycleError::Manifest)?)
}

async fn rolling(
    store: &dyn ReadStore,
    version: &str,
) -> Result<Option<RollingTagInfo>, EngineError> {
    let m = match store
        .manifest_fetch(&TagOrDigest::Tag(version.to_string()))
        .await
    {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) if matches!(e.kind(), lineage_store::ErrorKind::InvalidInput) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let ann = manifest_annotations(&m);
    Ok(Some(rolling_info(store.name(), version, m.digest(), &ann)))
}

/// What the rolling tag `version` of repository `name` says, from the manifest it points to
/// (its digest and annotations).
pub(crate) fn rolling_info(
    name: &str,
    version: &str,
    digest: &Digest,
    annotations: &BTreeMap<String, String>,
) -> RollingTagInfo {
    let revision = annotations.get(ANNOTATION_REVISION).cloned();
    let reference = match &revision {
        Some(r) => format!("{name}:{}", revision_tag(version, r)),
        None => format!("{name}:{version}"),
    };
    RollingTagInfo {
        reference,
        digest: digest.clone(),
        created: annotations
            .get(ANNOTATION_CREATED)
            .and_then(|c| time::parse_lenient(c).ok()),
        revision,
    }
}
