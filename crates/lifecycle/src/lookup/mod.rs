//! Batch status lookup (issue 7): many references in, one [`Status`] each, with the facts
//! the engine decides from cached, so that a warm lookup makes no store request.
//!
//! A lookup is the engine's one status pipeline (`Engine::status_from`) over a caching
//! [fact source](crate::facts): a [`FactCache`] shared by every lookup, scoped to the image's
//! repository, reading on a miss through the repository's store. This module owns what is
//! particular to the batch lookup:
//!
//! - the store of each (registry, repository), opened once through the caller's
//!   [`StoreOpener`] and reused;
//! - the times to live: tag resolutions (the reference's tag, the rolling tag, "no rolling
//!   tag" included) [`LookupOptions::tag_ttl`], the facts of a digest (its manifest, its
//!   referrers listing) [`LookupOptions::digest_ttl`]; and [`LookupOptions::max_entries`];
//! - store requests to one registry host bounded by
//!   [`LookupOptions::per_registry_concurrency`], counted and timed ([`LookupMetrics`]);
//! - the deadline of one lookup ([`LookupOptions::deadline`]).
//!
//! Facts are cached, never statuses: the decision runs on every lookup with the caller's
//! `at`, so a scheduled end-of-life becomes end-of-life on time. Concurrent lookups that need
//! the same fact share one in-flight read, and a failed read is handed to the lookups that
//! waited for it and then dropped ([`crate::once_map`]). A cold lookup costs at most three
//! store requests (tag or digest manifest, referrers listing, rolling tag), a warm one none.
//! Following successors to the image to move to is [`crate::successors`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use lineage_oci::{Descriptor, Digest, ImageRef, ReferenceError, TagOrDigest};
use lineage_store::{Memo, ReadStore, StoreError};
use tokio::sync::Semaphore;

use crate::base::{ImageConfig, Provenance};
use crate::engine::{Engine, EngineError};
use crate::facts::{Cached, FactCache, FactSource, ManifestFacts, StoreFacts};
use crate::once_map::OnceMap;
use crate::signed::{SignedFact, SignedRecord};
use crate::status::{RollingTagInfo, Status};
use bytes::Bytes;
use lineage_trust::Statement;

mod browse;
pub use browse::{ImageFacts, Revision, lineages};

/// Opens the store holding an image's repository (a registry client, or a layout), for
/// [`Lookup`]. Called at most once per (registry, repository) while the store stays cached.
#[async_trait]
pub trait StoreOpener: Send + Sync {
    /// The store of `image`'s registry and repository (its tag or digest is not used).
    async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError>;
}

/// How [`Lookup`] caches and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOptions {
    /// How long an image's facts (annotations, referrers listing) are reused. Default 5 min.
    pub digest_ttl: Duration,
    /// How long a tag resolution (the reference's tag, the rolling tag) is reused. Default
    /// 30 s. `Duration::ZERO` resolves tags on every lookup.
    pub tag_ttl: Duration,
    /// Concurrent store requests per registry host (at least 1). Default 8.
    pub per_registry_concurrency: usize,
    /// The most entries each cache keeps, about. Default 100 000.
    pub max_entries: usize,
    /// The longest one lookup may take; a lookup still waiting for its registry then fails
    /// with [`LookupError::TimedOut`] (an admission webhook must answer within the API
    /// server's timeout). Default: no limit.
    pub deadline: Option<Duration>,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            digest_ttl: Duration::from_secs(300),
            tag_ttl: Duration::from_secs(30),
            per_registry_concurrency: 8,
            max_entries: 100_000,
            deadline: None,
        }
    }
}

/// Why a lookup gave no status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    /// The reference does not parse; the message names it and says why.
    #[error("{error}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Why it is invalid.
        error: ReferenceError,
    },
    /// Opening the store, a store request or the engine failed. Shared by every lookup that
    /// waited for the same fetch.
    #[error("cannot look up `{reference}`")]
    Engine {
        /// The reference as given.
        reference: String,
        /// What failed.
        #[source]
        source: EngineError,
    },
    /// The registry did not answer within [`LookupOptions::deadline`].
    #[error("cannot look up `{reference}`: no answer from the registry within {} s", after.as_secs_f64())]
    TimedOut {
        /// The reference as given.
        reference: String,
        /// The deadline.
        after: Duration,
    },
}

impl LookupError {
    /// The reference as given.
    pub fn reference(&self) -> &str {
        match self {
            LookupError::InvalidReference { reference, .. }
            | LookupError::Engine { reference, .. }
            | LookupError::TimedOut { reference, .. } => reference,
        }
    }

    /// The error and its causes on one line, for a report or an HTTP answer.
    pub fn message(&self) -> String {
        lineage_store::one_line(self)
    }

    /// Whether the image (its tag, manifest or repository) does not exist, as opposed to a
    /// store that could not answer.
    pub fn is_not_found(&self) -> bool {
        match self {
            LookupError::InvalidReference { .. } | LookupError::TimedOut { .. } => false,
            LookupError::Engine { source, .. } => source.is_not_found(),
        }
    }
}

/// A snapshot of [`Lookup`]'s counters since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LookupMetrics {
    /// Lookups made (duplicates within one [`Lookup::lookup_many`] batch count once).
    pub lookups: u64,
    /// Image facts served from the cache.
    pub digest_cache_hits: u64,
    /// Image facts fetched (missing, expired, or after a failure).
    pub digest_cache_misses: u64,
    /// Tag resolutions (reference tags and rolling tags) served from the cache.
    pub tag_cache_hits: u64,
    /// Tag resolutions fetched.
    pub tag_cache_misses: u64,
    /// Store requests made (opening a store is not one).
    pub registry_requests: u64,
    /// Store requests that failed, other than with "not found".
    pub registry_errors: u64,
    /// Time spent in store requests, in seconds, summed over concurrent requests.
    pub registry_seconds_total: f64,
    /// Lookups that waited for a fetch another lookup had started, instead of fetching.
    pub coalesced: u64,
    /// Lifecycle records whose signatures were verified under a trust policy (issue 16), by
    /// result: `verified`, then the reasons in [`lineage_trust::Reason`]'s order (`unsigned`,
    /// `untrusted-identity`, `bad-signature`, `expired`). A record is counted when it is
    /// verified, not again while its result is cached.
    pub records_by_signature: [(&'static str, u64); 5],
}

/// The results a verified record is counted under, in [`LookupMetrics::records_by_signature`]'s
/// order.
const SIGNATURE_RESULTS: [&str; 5] = [
    "verified",
    "unsigned",
    "untrusted-identity",
    "bad-signature",
    "expired",
];

/// The index of `outcome` in [`SIGNATURE_RESULTS`].
fn signature_result(outcome: &SignedRecord) -> usize {
    match outcome {
        SignedRecord::Verified { .. } => 0,
        SignedRecord::Rejected(r) => SIGNATURE_RESULTS
            .iter()
            .position(|name| *name == r.reason.as_str())
            .unwrap_or(3),
    }
}

/// The counters of store requests and lookups; the caches count their own hits and misses.
#[derive(Default)]
struct Counters {
    lookups: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    request_nanos: AtomicU64,
    /// Records verified, by [`SIGNATURE_RESULTS`].
    signatures: [AtomicU64; 5],
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The batch lookup: cheap to clone (clones share caches and counters), `Send + Sync`.
#[derive(Clone)]
pub struct Lookup {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    opener: Arc<dyn StoreOpener>,
    options: LookupOptions,
    stores: OnceMap<String, Arc<dyn ReadStore>, EngineError>,
    facts: FactCache,
    /// Registry → its concurrency limit; bounded, as lookups may name any registry. A
    /// registry forgotten while busy gets a fresh limit, so its bound can briefly double.
    limits: Mutex<Memo<String, Arc<Semaphore>>>,
    counters: Counters,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("engine", &self.inner.engine)
            .field("options", &self.inner.options)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Lookup {
    /// A lookup with empty caches, opening stores through `opener`.
    pub fn new(mut engine: Engine, opener: Arc<dyn StoreOpener>, options: LookupOptions) -> Lookup {
        let n = options.max_entries;
        // Worked out once, not on every lookup.
        engine.namespaces = engine.read_namespaces().into_owned();
        Lookup {
            inner: Arc::new(Inner {
                engine,
                opener,
                stores: OnceMap::new(Duration::MAX, n),
                facts: FactCache::new(options.tag_ttl, options.digest_ttl, n),
                limits: Mutex::new(Memo::default()),
                counters: Counters::default(),
                options,
            }),
        }
    }

    /// The status of `reference` at `at` (DESIGN §4), from cached facts where they are fresh.
    /// The status's `reference` is `reference` as given.
    pub async fn lookup(&self, reference: &str, at: DateTime<Utc>) -> Result<Status, LookupError> {
        match ImageRef::parse(reference) {
            Ok(image) => self.lookup_image(reference, &image, at).await,
            Err(error) => {
                Counters::add(&self.inner.counters.lookups, 1);
                Err(LookupError::InvalidReference {
                    reference: reference.to_string(),
                    error,
                })
            }
        }
    }

    /// [`Lookup::lookup`] of `image`, already parsed from `reference`.
    pub(crate) async fn lookup_image(
        &self,
        reference: &str,
        image: &ImageRef,
        at: DateTime<Utc>,
    ) -> Result<Status, LookupError> {
        Counters::add(&self.inner.counters.lookups, 1);
        let Some(after) = self.inner.options.deadline else {
            return self.inner.lookup(reference, image, at).await;
        };
        tokio::time::timeout(after, self.inner.lookup(reference, image, at))
            .await
            .unwrap_or_else(|_| {
                Err(LookupError::TimedOut {
                    reference: reference.to_string(),
                    after,
                })
            })
    }

    /// [`Lookup::lookup`] for each of `references`, in the same order; distinct references
    /// are looked up concurrently, and a reference given twice is looked up once.
    pub async fn lookup_many(
        &self,
        references: &[String],
        at: DateTime<Utc>,
    ) -> Vec<Result<Status, LookupError>> {
        let mut distinct: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let slots: Vec<usize> = references
            .iter()
            .map(|r| {
                *index.entry(r.as_str()).or_insert_with(|| {
                    distinct.push(r.as_str());
                    distinct.len() - 1
                })
            })
            .collect();
        let results = join_all(distinct.iter().map(|r| self.lookup(r, at))).await;
        if results.len() == references.len() {
            // No reference given twice: the results are in order already, not copied.
            return results;
        }
        slots.into_iter().map(|i| results[i].clone()).collect()
    }

    /// The counters so far.
    pub fn metrics(&self) -> LookupMetrics {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let f = &self.inner.facts;
        let (tags, rolling) = (f.tags.stats(), f.rolling.stats());
        // A manifest read by digest belongs to the image's facts with its referrers listing,
        // which the digest counters count (one per image), as they always have.
        let (manifests, referrers) = (f.manifests.stats(), f.referrers.stats());
        let coalesced = [
            self.inner.stores.stats(),
            tags,
            rolling,
            manifests,
            referrers,
        ]
        .iter()
        .map(|s| s.coalesced)
        .sum();
        LookupMetrics {
            lookups: get(&c.lookups),
            digest_cache_hits: referrers.hits,
            digest_cache_misses: referrers.misses,
            tag_cache_hits: tags.hits + rolling.hits,
            tag_cache_misses: tags.misses + rolling.misses,
            registry_requests: get(&c.requests),
            registry_errors: get(&c.errors),
            registry_seconds_total: Duration::from_nanos(get(&c.request_nanos)).as_secs_f64(),
            coalesced,
            records_by_signature: std::array::from_fn(|i| {
                (SIGNATURE_RESULTS[i], get(&c.signatures[i]))
            }),
        }
    }
}

impl Inner {
    /// The engine's status of `image` from the cached facts of its repository.
    async fn lookup(
        &self,
        reference: &str,
        image: &ImageRef,
        at: DateTime<Utc>,
    ) -> Result<Status, LookupError> {
        let source = self.source(image);
        self.engine
            .status_from(&source, reference, Some(&image.target()), at)
            .await
            .map_err(|source| LookupError::Engine {
                reference: reference.to_string(),
                source,
            })
    }

    /// The cached facts of `image`'s repository, read through its store on a miss.
    pub(crate) fn source<'a>(&'a self, image: &'a ImageRef) -> Cached<'a, StoreReads<'a>> {
        self.facts.over_repository(
            image,
            StoreReads {
                inner: self,
                image: Cow::Borrowed(image),
            },
        )
    }

    /// The store of `image`'s repository, opened once.
    async fn store(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, EngineError> {
        self.stores
            .get_or_fetch(image.repository_ref(), || async {
                Ok(self.opener.open(image).await?)
            })
            .await
    }

    /// The concurrency limit of `registry`.
    fn limit(&self, registry: &str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = limits.get(registry) {
            return s.clone();
        }
        let s = Arc::new(Semaphore::new(self.options.per_registry_concurrency.max(1)));
        limits.insert(registry.to_string(), s.clone());
        s
    }

    /// One store request to `registry`, within its concurrency limit, counted and timed.
    async fn request<T>(
        &self,
        registry: &str,
        call: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        let limit = self.limit(registry);
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = limit.acquire().await.ok();
        let c = &self.counters;
        Counters::add(&c.requests, 1);
        let start = Instant::now();
        let result = call.await;
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Counters::add(&c.request_nanos, nanos);
        if let Err(e) = &result
            && !e.is_not_found()
        {
            Counters::add(&c.errors, 1);
        }
        result
    }
}

/// The reads of one lookup on a cache miss: the direct reads ([`StoreFacts`]) from its
/// repository's store, each one a request within the registry's limit.
pub(crate) struct StoreReads<'a> {
    inner: &'a Inner,
    image: Cow<'a, ImageRef>,
}

#[async_trait]
impl FactSource for StoreReads<'_> {
    async fn manifest(
        &self,
        target: Option<&TagOrDigest>,
    ) -> Result<Arc<ManifestFacts>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.manifest(target);
        self.inner.request(self.image.registry(), read).await
    }

    async fn referrers(&self, digest: &Digest) -> Result<Arc<[Descriptor]>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.referrers(digest);
        self.inner.request(self.image.registry(), read).await
    }

    async fn rolling_tag(&self, version: &str) -> Result<Option<Arc<RollingTagInfo>>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.rolling_tag(version);
        self.inner.request(self.image.registry(), read).await
    }

    async fn config(&self, config: &Descriptor) -> Result<Arc<ImageConfig>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.config(config);
        self.inner.request(self.image.registry(), read).await
    }

    async fn provenance(&self, layer: &Descriptor) -> Result<Arc<Provenance>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.provenance(layer);
        self.inner.request(self.image.registry(), read).await
    }

    async fn tags(&self) -> Result<Arc<[String]>, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.tags();
        self.inner.request(self.image.registry(), read).await
    }

    async fn envelope(&self, layer: &Descriptor) -> Result<Bytes, EngineError> {
        let store = self.inner.store(&self.image).await?;
        let reads = StoreFacts::new(store.as_ref());
        let read = reads.envelope(layer);
        self.inner.request(self.image.registry(), read).await
    }

    async fn signed_record(
        &self,
        statement: &Statement,
        record: &Descriptor,
        image: &ManifestFacts,
    ) -> Result<SignedFact, EngineError> {
        // Each read is a request of its own, within the registry's limit.
        let outcome = crate::signed::check(self, statement, record, image).await?;
        Counters::add(
            &self.inner.counters.signatures[signature_result(&outcome)],
            1,
        );
        Ok(Arc::new(outcome))
    }

    fn elsewhere(&self, image: &ImageRef) -> Option<Box<dyn FactSource + '_>> {
        Some(Box::new(StoreReads {
            inner: self.inner,
            image: Cow::Owned(image.clone()),
        }))
    }

    fn repository(&self) -> Cow<'_, str> {
        Cow::Owned(self.image.repository_ref())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests;
