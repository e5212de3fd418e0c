//! The lifecycle engine over the store interface: the status of an image (DESIGN §4) and
//! idempotent record writing, which never writes a successor cycle. The release flow is
//! [`crate::release`].
//!
//! Every status is reached the same way, `Engine::status_from`: three facts read through a
//! fact source (`FactSource`: the image's manifest, its referrers listing, its rolling tag's
//! manifest; at most three requests whatever the number of records, none when a cache
//! answers), then the pure decision at an instant ([`crate::status`]). [`Engine::status`] reads the facts straight from
//! a store, [`Engine::history`] through a cache for the length of the command, and
//! [`crate::Lookup`] through its caches.
//!
//! Nothing here knows which kind of store it talks to.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest, ManifestKind, RawManifest, TagOrDigest};
use lineage_store::copy::CopyError;
use lineage_store::{ReadStore, Store, StoreError, blob};

use crate::base::{BoxFuture, KnownBases, MAX_BASE_HOPS, own_annotations};
use crate::error::LifecycleError;
use crate::facts::{FactCache, FactSource, ManifestFacts, StoreFacts};
use crate::lookup::StoreOpener;
use crate::profile::{ANNOTATION_VERSION, Namespace, revision_of};
use crate::record::Records;
use crate::signed;
use crate::status::{Facts, Status, decide_from, with_base};
use crate::write::{RecordSpec, WriteOptions, is_same_as};
use lineage_trust::TrustPolicy;

/// What the engine can fail with. Cheap to clone (causes are shared), so one failed read can
/// be handed to every caller that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// A store operation failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// Copying the release failed.
    #[error(transparent)]
    Copy(Arc<CopyError>),
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
    /// `--created` names another time than the one the image carries: it used to be
    /// ignored silently (issue 18).
    #[error(
        "`--created` says {}, but the image carries its own created time {} ({from}); drop `--created` to keep the image's time, or add `--override-created` to replace it",
        lineage_oci::time::format_rfc3339(requested),
        lineage_oci::time::format_rfc3339(image)
    )]
    CreatedConflict {
        /// The image's own time.
        image: DateTime<Utc>,
        /// Where the image's time was read.
        from: crate::release::CreatedFrom,
        /// The time the request gave.
        requested: DateTime<Utc>,
    },
    /// A support window that no date can hold.
    #[error("a support window of {} s is too long", window.as_secs())]
    WindowTooLong {
        /// The window.
        window: std::time::Duration,
    },
}

impl EngineError {
    /// Whether a store answered that what was asked for (a tag, a manifest, a repository)
    /// does not exist, as opposed to a store that could not answer.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, EngineError::Store(s) if s.is_not_found())
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        EngineError::Store(Arc::new(e))
    }
}

impl From<Box<CopyError>> for EngineError {
    fn from(e: Box<CopyError>) -> EngineError {
        EngineError::Copy(Arc::from(e))
    }
}

/// The engine's settings: which namespaces it reads and how it writes.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// Profile namespaces read (the write namespace is read too).
    pub namespaces: Vec<Namespace>,
    /// How records are written.
    pub write: WriteOptions,
    /// Read only referrers of these scopes (and unscoped ones); every referrer when `None`
    /// (`lineage status --scope`, issue 18).
    pub scopes: Option<crate::scope::ScopeSet>,
    /// The known base lineages, matched by layers (`--base-repo`; issue 17).
    pub bases: KnownBases,
    /// The trust policy records must satisfy to count (`--trust-policy`; issue 16,
    /// [`crate::signed`]); every record counts when `None`, as before.
    pub trust: Option<Arc<TrustPolicy>>,
}

/// What `write_record` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A record was pushed.
    Pushed(Digest),
    /// The newest record already said the same.
    Unchanged(Digest),
    /// The Microsoft companion of the record pushed just before it (`--dialect microsoft`),
    /// pushed with it: part of the same record, not a record of its own, but a manifest of
    /// its own to sign (`--sign`).
    Companion(Digest),
}

impl Engine {
    /// The profile namespaces read: the configured ones and the write namespace.
    pub(crate) fn read_namespaces(&self) -> Cow<'_, [Namespace]> {
        if self.namespaces.contains(&self.write.namespace) {
            return Cow::Borrowed(&self.namespaces);
        }
        let mut all = self.namespaces.clone();
        all.insert(0, self.write.namespace.clone());
        Cow::Owned(all)
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
        self.status_from(&StoreFacts::new(store), reference, target, at)
            .await
    }

    /// [`Engine::status`], reaching the repositories of the image's base (issue 17)
    /// through `opener`.
    pub async fn status_with_opener(
        &self,
        store: &dyn ReadStore,
        opener: &dyn StoreOpener,
        reference: &str,
        target: Option<&TagOrDigest>,
        at: DateTime<Utc>,
    ) -> Result<Status, EngineError> {
        self.status_from(
            &StoreFacts::with_opener(store, opener),
            reference,
            target,
            at,
        )
        .await
    }

    /// The status of the image `target` names, from the facts `source` gives, evaluated at
    /// `at`; `reference` is how the user named it. The one way to a status: the image's
    /// manifest, its referrers listing, its base and the base's status (when evidence names
    /// one, [`crate::base`]) and, when it has a version of its own, what its rolling tag
    /// points to (from the manifest just read when the image was named by that tag), then
    /// the decision ([`decide_from`], [`with_base`]).
    pub(crate) async fn status_from(
        &self,
        source: &dyn FactSource,
        reference: &str,
        target: Option<&TagOrDigest>,
        at: DateTime<Utc>,
    ) -> Result<Status, EngineError> {
        Ok(self
            .status_hops(source, reference, target, at, MAX_BASE_HOPS)
            .await?
            .0)
    }

    /// [`Engine::status_from`], following at most `hops` bases, with the image's manifest
    /// facts.
    pub(crate) fn status_hops<'a>(
        &'a self,
        source: &'a dyn FactSource,
        reference: &'a str,
        target: Option<&'a TagOrDigest>,
        at: DateTime<Utc>,
        hops: usize,
    ) -> BoxFuture<'a, Result<(Status, Arc<ManifestFacts>), EngineError>> {
        Box::pin(async move {
            let image = source.manifest(target).await?;
            let referrers = source.referrers(&image.digest).await?;
            let narrowed;
            let referrers = match &self.scopes {
                Some(scopes) => {
                    narrowed = scopes.narrow(referrers.to_vec(), &self.read_namespaces());
                    &narrowed[..]
                }
                None => &referrers[..],
            };
            let mut selected = match &self.trust {
                Some(policy) => {
                    let repository = source.repository();
                    let namespaces = self.read_namespaces();
                    signed::select(source, policy, &repository, referrers, &namespaces, &image)
                        .await?
                }
                None => None,
            };
            // The selection's records as the decision reads them, when it read them.
            let read = selected.as_mut().and_then(|s| s.read.take());
            let referrers = selected
                .as_ref()
                .and_then(|s| s.referrers.as_deref())
                .unwrap_or(referrers);
            // A verified record that declares a date and names the successor decides the
            // state and the image to move to: the rolling tag could only add the successor's
            // revision, and is not read (one request less on a signed status).
            let decided = selected
                .as_ref()
                .and_then(|s| s.counted.as_ref())
                .is_some_and(|c| c.decides);
            let base = self.base_of(source, &image, at, hops).await;
            // Annotations inherited from the base are the base's: a derived image is not a
            // revision of its base's lineage.
            let own = own_annotations(&image.annotations, base.as_ref());
            let rolling_tag = match (own.get(ANNOTATION_VERSION), &image.rolling_tag) {
                (Some(_), Some(own)) => Some(own.clone()),
                (Some(_), None) if decided => None,
                (Some(version), None) => source.rolling_tag(version).await?,
                (None, _) => None,
            };
            let status = decide_from(
                reference.to_string(),
                Facts {
                    digest: &image.digest,
                    image_annotations: &own,
                    referrers,
                    namespaces: &self.read_namespaces(),
                    rolling_tag: rolling_tag.as_deref(),
                    read,
                },
                at,
            );
            let mut status = match base {
                Some(found) => with_base(status, found.status),
                None => status,
            };
            if let Some(selected) = selected {
                status.warnings.extend(selected.warnings);
                status.signature = selected
                    .counted
                    .filter(|c| status.record.as_ref() == Some(c.digest))
                    .map(|c| c.signature);
            }
            Ok((status, image))
        })
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
        let mut out = Vec::new();
        self.write_one(store, subject, spec, &mut out).await?;
        let manifest = store.manifest_get(&subject.digest).await?;
        if let Ok(view) = manifest.view()
            && view.kind == ManifestKind::Index
        {
            for child in &view.manifests {
                self.write_one(store, child, spec, &mut out).await?;
            }
        }
        Ok(out)
    }

    /// What [`Engine::write_record`] would do, without writing: for `subject` and, for an
    /// index, each platform manifest, whether a record would be pushed (`Pushed` with the
    /// subject's digest) or the newest record already says the same (`Unchanged`). A dry
    /// run's plan (`lineage retire --filter … --dry-run`).
    pub async fn record_plan(
        &self,
        store: &dyn ReadStore,
        subject: &Descriptor,
        spec: &RecordSpec,
    ) -> Result<Vec<Written>, EngineError> {
        let mut subjects = vec![subject.digest.clone()];
        let manifest = store.manifest_get(&subject.digest).await?;
        if let Ok(view) = manifest.view()
            && view.kind == ManifestKind::Index
        {
            subjects.extend(view.manifests.iter().map(|c| c.digest.clone()));
        }
        let namespaces = self.read_namespaces();
        let mut out = Vec::with_capacity(subjects.len());
        for digest in subjects {
            let listing = store.referrers(&digest, None).await?;
            let records = Records::read(&listing, &namespaces);
            out.push(match records.effective() {
                Some(current) if is_same_as(current, spec) => {
                    Written::Unchanged(current.digest.clone())
                }
                _ => Written::Pushed(digest),
            });
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

    /// Write the record `spec` about `subject` alone, adding what was done to `out`.
    async fn write_one(
        &self,
        store: &dyn Store,
        subject: &Descriptor,
        spec: &RecordSpec,
        out: &mut Vec<Written>,
    ) -> Result<(), EngineError> {
        let listing = store.referrers(&subject.digest, None).await?;
        let records = Records::read(&listing, &self.read_namespaces());
        let current = records.effective();
        if let Some(current) = current
            && is_same_as(current, spec)
        {
            out.push(Written::Unchanged(current.digest.clone()));
            return Ok(());
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
        out.push(Written::Pushed(manifests.profile.digest().clone()));
        if let Some(ms) = &manifests.microsoft {
            out.push(Written::Companion(ms.digest().clone()));
        }
        Ok(())
    }

    /// Every revision of a lineage (tags `V-R`), oldest first, each with its status.
    pub async fn history(
        &self,
        store: &dyn ReadStore,
        name: &str,
        version: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Status>, EngineError> {
        self.history_with_opener(store, None, name, version, at)
            .await
    }

    /// [`Engine::history`], reaching the repositories of the revisions' bases (what each
    /// revision was built on, issue 17) through `opener`.
    pub async fn history_with_opener(
        &self,
        store: &dyn ReadStore,
        opener: Option<&dyn StoreOpener>,
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
        // Revisions of one lineage share their rolling tag: read once for the command.
        let cache = FactCache::unbounded();
        let reads = match opener {
            Some(o) => StoreFacts::with_opener(store, o),
            None => StoreFacts::new(store),
        };
        let source = cache.over("", reads);
        let mut out = Vec::new();
        for t in revisions {
            let target = TagOrDigest::Tag(t.clone());
            out.push(
                self.status_from(&source, &format!("{name}:{t}"), Some(&target), at)
                    .await?,
            );
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
