//! Batch status lookup (issue 7): many references in, one [`Status`] each, over caches of the
//! facts the engine gathers, so that a warm lookup makes no store request.
//!
//! This module owns the caches and everything that keeps them honest:
//!
//! - the store of each (registry, repository), opened once through the caller's
//!   [`StoreOpener`] and reused;
//! - tag → digest and manifest annotations, kept [`LookupOptions::tag_ttl`];
//! - (repository, digest) → [`ImageFacts`] (annotations and referrers listing), kept
//!   [`LookupOptions::digest_ttl`]; keyed by repository too, since a referrers listing belongs
//!   to a repository;
//! - (repository, version) → what the rolling tag points to, kept
//!   [`LookupOptions::tag_ttl`] (it is a tag resolution), including "no rolling tag".
//!
//! Facts are cached, never statuses: [`decide`](crate::decide) runs on every lookup with the
//! caller's `at`, so a scheduled end-of-life becomes end-of-life on time. Concurrent lookups
//! that need the same entry share one in-flight fetch. A failed fetch is handed to the lookups
//! that waited for it and then dropped: the next lookup tries again. Store requests to one
//! registry host are bounded by [`LookupOptions::per_registry_concurrency`]. Each cache holds
//! at most about [`LookupOptions::max_entries`] entries; when one is full, expired entries go
//! first, then the oldest eighth.
//!
//! A cold lookup costs at most three store requests (tag or digest manifest, referrers
//! listing, rolling tag), a warm one none.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use lineage_oci::{Digest, ImageRef, ReferenceError, TagOrDigest};
use lineage_store::{Memo, ReadStore, StoreError};
use tokio::sync::{OnceCell, Semaphore};

use crate::engine::{
    Engine, EngineError, ImageFacts, decide_with, manifest_annotations, rolling_info,
};
use crate::profile::{ANNOTATION_VERSION, Namespace};
use crate::status::{RollingTagInfo, Status};

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
        source: Arc<EngineError>,
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
            LookupError::Engine { source, .. } => is_not_found(source),
        }
    }
}

fn is_not_found(e: &EngineError) -> bool {
    matches!(e, EngineError::Store(s) if s.is_not_found())
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
}

#[derive(Default)]
struct Counters {
    lookups: AtomicU64,
    digest_hits: AtomicU64,
    digest_misses: AtomicU64,
    tag_hits: AtomicU64,
    tag_misses: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    request_nanos: AtomicU64,
    coalesced: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Which counters a cache reports to.
#[derive(Clone, Copy)]
enum Kind {
    Store,
    Tag,
    Digest,
}

/// The batch lookup: cheap to clone (clones share caches and counters), `Send + Sync`.
#[derive(Clone)]
pub struct Lookup {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    namespaces: Vec<Namespace>,
    opener: Arc<dyn StoreOpener>,
    options: LookupOptions,
    stores: Cache<Arc<dyn ReadStore>>,
    tags: Cache<Arc<Head>>,
    facts: Cache<Arc<ImageFacts>>,
    rolling: Cache<Option<Arc<RollingTagInfo>>>,
    /// Registry → its concurrency limit; bounded, as lookups may name any registry. A
    /// registry forgotten while busy gets a fresh limit, so its bound can briefly double.
    limits: Mutex<Memo<String, Arc<Semaphore>>>,
    counters: Counters,
}

/// What a tag resolved to.
struct Head {
    digest: Digest,
    annotations: BTreeMap<String, String>,
    /// The tag is the image's own rolling tag (its version): what that tag points to is
    /// this manifest, worked out once when the tag is read.
    rolling: Option<Arc<RollingTagInfo>>,
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
    pub fn new(engine: Engine, opener: Arc<dyn StoreOpener>, options: LookupOptions) -> Lookup {
        let n = options.max_entries;
        Lookup {
            inner: Arc::new(Inner {
                namespaces: engine.read_namespaces(),
                engine,
                opener,
                stores: Cache::new(Kind::Store, Duration::MAX, n),
                tags: Cache::new(Kind::Tag, options.tag_ttl, n),
                facts: Cache::new(Kind::Digest, options.digest_ttl, n),
                rolling: Cache::new(Kind::Tag, options.tag_ttl, n),
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
        slots.into_iter().map(|i| results[i].clone()).collect()
    }

    /// The counters so far.
    pub fn metrics(&self) -> LookupMetrics {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LookupMetrics {
            lookups: get(&c.lookups),
            digest_cache_hits: get(&c.digest_hits),
            digest_cache_misses: get(&c.digest_misses),
            tag_cache_hits: get(&c.tag_hits),
            tag_cache_misses: get(&c.tag_misses),
            registry_requests: get(&c.requests),
            registry_errors: get(&c.errors),
            registry_seconds_total: Duration::from_nanos(get(&c.request_nanos)).as_secs_f64(),
            coalesced: get(&c.coalesced),
        }
    }
}

impl Inner {
    async fn lookup(
        &self,
        reference: &str,
        image: &ImageRef,
        at: DateTime<Utc>,
    ) -> Result<Status, LookupError> {
        let failed = |source: Arc<EngineError>| LookupError::Engine {
            reference: reference.to_string(),
            source,
        };
        let registry = image.registry();
        let repo = image.repository_ref();

        let (digest, head) = match image.target() {
            TagOrDigest::Digest(d) => (d, None),
            TagOrDigest::Tag(tag) => {
                let head = self
                    .tags
                    .get(format!("{repo}:{tag}"), &self.counters, || async {
                        let store = self.store(image).await?;
                        let target = TagOrDigest::Tag(tag.clone());
                        let m = self
                            .request(registry, store.manifest_fetch(&target))
                            .await?;
                        let annotations = manifest_annotations(&m);
                        let rolling = annotations
                            .get(ANNOTATION_VERSION)
                            .filter(|version| **version == tag)
                            .map(|version| {
                                Arc::new(rolling_info(
                                    store.name(),
                                    version,
                                    m.digest(),
                                    &annotations,
                                ))
                            });
                        Ok(Arc::new(Head {
                            digest: m.digest().clone(),
                            annotations,
                            rolling,
                        }))
                    })
                    .await
                    .map_err(failed)?;
                (head.digest.clone(), Some(head))
            }
        };

        let facts = self
            .facts
            .get(format!("{repo}@{digest}"), &self.counters, || async {
                let store = self.store(image).await?;
                let annotations = match &head {
                    Some(h) => h.annotations.clone(),
                    None => {
                        let m = self.request(registry, store.manifest_get(&digest)).await?;
                        manifest_annotations(&m)
                    }
                };
                let facts = self
                    .request(
                        registry,
                        self.engine.facts_of(store.as_ref(), &digest, annotations),
                    )
                    .await?;
                Ok(Arc::new(facts))
            })
            .await
            .map_err(failed)?;

        let rolling = match (facts.version(), &head) {
            // The image was named by its rolling tag: the tag's manifest is the one just
            // read, no second request needed.
            (Some(_), Some(h)) if h.rolling.is_some() => h.rolling.clone(),
            (Some(version), _) => self
                .rolling
                .get(format!("{repo}:{version}"), &self.counters, || async {
                    let store = self.store(image).await?;
                    let found = self
                        .request(registry, self.engine.rolling_tag(store.as_ref(), version))
                        .await?;
                    Ok(found.map(Arc::new))
                })
                .await
                .map_err(failed)?,
            (None, _) => None,
        };

        Ok(decide_with(
            reference,
            &facts,
            &self.namespaces,
            rolling.as_deref(),
            at,
        ))
    }

    /// The store of `image`'s repository, opened once.
    async fn store(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, Arc<EngineError>> {
        self.stores
            .get(image.repository_ref(), &self.counters, || async {
                self.opener
                    .open(image)
                    .await
                    .map_err(|e| Arc::new(EngineError::Store(e)))
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
    async fn request<T, E: Into<EngineError>>(
        &self,
        registry: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Arc<EngineError>> {
        let limit = self.limit(registry);
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = limit.acquire().await.ok();
        let c = &self.counters;
        Counters::add(&c.requests, 1);
        let start = Instant::now();
        let result = call.await.map_err(Into::into);
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Counters::add(&c.request_nanos, nanos);
        result.map_err(|e| {
            if !is_not_found(&e) {
                Counters::add(&c.errors, 1);
            }
            Arc::new(e)
        })
    }
}

/// A fetch's outcome and when it completed.
struct Fetched<V> {
    result: Result<V, Arc<EngineError>>,
    at: Instant,
}

/// A cache entry: a fetch in flight (the cell is empty) or done.
type Slot<V> = Arc<OnceCell<Fetched<V>>>;

/// One lock's worth of a cache.
type Shard<V> = Mutex<HashMap<String, Slot<V>>>;

/// A sharded map of string keys to fetched values with one TTL, that coalesces concurrent
/// fetches of one key and keeps no failure beyond the lookups that waited for it.
struct Cache<V> {
    /// Which hit and miss counters it adds to.
    kind: Kind,
    shards: Box<[Shard<V>]>,
    hasher: RandomState,
    ttl: Duration,
    shard_cap: usize,
}

/// What a cache holds for a key when a lookup asks.
enum Claim<V> {
    /// A fresh value.
    Fresh(V),
    /// A fetch another lookup started.
    InFlight(Slot<V>),
    /// An expired value or a failure.
    Stale,
    /// Nothing.
    Absent,
}

/// Up to this many shards, so lookups of different keys rarely wait for one lock.
const SHARDS: usize = 16;

impl<V: Clone> Cache<V> {
    fn new(kind: Kind, ttl: Duration, max_entries: usize) -> Cache<V> {
        let max_entries = max_entries.max(1);
        let n = SHARDS.min(max_entries);
        Cache {
            kind,
            shards: (0..n).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            ttl,
            shard_cap: max_entries.div_ceil(n),
        }
    }

    fn shard(&self, key: &str) -> &Shard<V> {
        let i = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[i]
    }

    /// The value of `key`: fresh from the cache, from a fetch already in flight, or from
    /// `fetch`. The lock is never held across an await.
    async fn get<F, Fut>(
        &self,
        key: String,
        counters: &Counters,
        fetch: F,
    ) -> Result<V, Arc<EngineError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Arc<EngineError>>>,
    {
        let (hits, misses) = match self.kind {
            Kind::Store => (None, None),
            Kind::Tag => (Some(&counters.tag_hits), Some(&counters.tag_misses)),
            Kind::Digest => (Some(&counters.digest_hits), Some(&counters.digest_misses)),
        };
        let slot = {
            let mut shard = self
                .shard(&key)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let state = match shard.get(&key) {
                Some(s) => match s.get() {
                    Some(Fetched { result: Ok(v), at }) if at.elapsed() < self.ttl => {
                        Claim::Fresh(v.clone())
                    }
                    Some(_) => Claim::Stale,
                    None => Claim::InFlight(s.clone()),
                },
                None => Claim::Absent,
            };
            match state {
                Claim::Fresh(v) => {
                    if let Some(h) = hits {
                        Counters::add(h, 1);
                    }
                    return Ok(v);
                }
                Claim::InFlight(s) => {
                    Counters::add(&counters.coalesced, 1);
                    s
                }
                Claim::Stale | Claim::Absent => {
                    self.make_room(&mut shard);
                    if let Some(m) = misses {
                        Counters::add(m, 1);
                    }
                    let s = Slot::default();
                    shard.insert(key, s.clone());
                    s
                }
            }
        };
        // Every waiter brings its own `fetch`; one runs, and if its lookup is dropped
        // midway, another waiter's takes over.
        let fetched = slot
            .get_or_init(|| async {
                let result = fetch().await;
                Fetched {
                    result,
                    at: Instant::now(),
                }
            })
            .await;
        fetched.result.clone()
    }

    /// Whether an entry is worth keeping: in flight, or fetched successfully and fresh.
    fn keep(&self, slot: &Slot<V>) -> bool {
        slot.get()
            .is_none_or(|f| f.result.is_ok() && f.at.elapsed() < self.ttl)
    }

    /// Make room for one entry in a full shard: drop expired and failed entries, then, if
    /// that is not enough, the oldest eighth. Fetches in flight stay.
    fn make_room(&self, shard: &mut HashMap<String, Slot<V>>) {
        if shard.len() < self.shard_cap {
            return;
        }
        shard.retain(|_, s| self.keep(s));
        if shard.len() < self.shard_cap {
            return;
        }
        let mut times: Vec<Instant> = shard
            .values()
            .filter_map(|s| s.get().map(|f| f.at))
            .collect();
        if times.is_empty() {
            return;
        }
        // The `n`-th oldest completion time: entries up to it go.
        let n = (self.shard_cap / 8).clamp(1, times.len());
        let (_, cutoff, _) = times.select_nth_unstable(n - 1);
        let cutoff = *cutoff;
        shard.retain(|_, s| s.get().is_none_or(|f| f.at > cutoff));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;
    use lineage_oci::time::parse_lenient;
    use lineage_oci::{Descriptor, RawManifest, media_type};
    use lineage_store::{BlobStream, ErrorKind, LayoutStore, Store, blob};
    use serde_json::json;

    use super::*;
    use crate::{Reason, RecordSpec, State};

    const OLD: &str = "reg.example/app:1.0-20230707";
    const NEW: &str = "reg.example/app:1.0-20230710";

    fn t(s: &str) -> DateTime<Utc> {
        parse_lenient(s).unwrap()
    }

    /// A layout store that counts every request, by method, and lets each through only once
    /// `gate` has a permit.
    struct Counting {
        inner: LayoutStore,
        calls: Mutex<HashMap<&'static str, usize>>,
        gate: Arc<Semaphore>,
    }

    impl Counting {
        fn new(inner: LayoutStore) -> Counting {
            Counting {
                inner,
                calls: Mutex::new(HashMap::new()),
                gate: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            }
        }

        async fn count(&self, op: &'static str) {
            let _p = self.gate.acquire().await.unwrap();
            *self.calls.lock().unwrap().entry(op).or_default() += 1;
        }

        fn total(&self) -> usize {
            self.calls.lock().unwrap().values().sum()
        }

        fn of(&self, op: &str) -> usize {
            self.calls.lock().unwrap().get(op).copied().unwrap_or(0)
        }
    }

    #[async_trait]
    impl ReadStore for Counting {
        fn name(&self) -> &str {
            self.inner.name()
        }
        async fn resolve(&self, target: &TagOrDigest) -> lineage_store::Result<Descriptor> {
            self.count("resolve").await;
            self.inner.resolve(target).await
        }
        async fn resolve_default(&self) -> lineage_store::Result<Descriptor> {
            self.count("resolve_default").await;
            self.inner.resolve_default().await
        }
        async fn manifest_get(&self, digest: &Digest) -> lineage_store::Result<RawManifest> {
            self.count("manifest_get").await;
            self.inner.manifest_get(digest).await
        }
        async fn manifest_fetch(&self, target: &TagOrDigest) -> lineage_store::Result<RawManifest> {
            self.count("manifest_fetch").await;
            self.inner.manifest_fetch(target).await
        }
        async fn resolve_target(
            &self,
            target: Option<&TagOrDigest>,
        ) -> lineage_store::Result<Descriptor> {
            self.count("resolve_target").await;
            self.inner.resolve_target(target).await
        }
        async fn manifest_fetch_target(
            &self,
            target: Option<&TagOrDigest>,
        ) -> lineage_store::Result<RawManifest> {
            self.count("manifest_fetch_target").await;
            self.inner.manifest_fetch_target(target).await
        }
        async fn manifest_exists(&self, digest: &Digest) -> lineage_store::Result<bool> {
            self.count("manifest_exists").await;
            self.inner.manifest_exists(digest).await
        }
        async fn blob_get(&self, desc: &Descriptor) -> lineage_store::Result<BlobStream> {
            self.count("blob_get").await;
            self.inner.blob_get(desc).await
        }
        async fn blob_exists(&self, digest: &Digest) -> lineage_store::Result<bool> {
            self.count("blob_exists").await;
            self.inner.blob_exists(digest).await
        }
        async fn tag_list(&self) -> lineage_store::Result<Vec<String>> {
            self.count("tag_list").await;
            self.inner.tag_list().await
        }
        async fn referrers(
            &self,
            subject: &Digest,
            artifact_type: Option<&str>,
        ) -> lineage_store::Result<Vec<Descriptor>> {
            self.count("referrers").await;
            self.inner.referrers(subject, artifact_type).await
        }
    }

    /// Opens a counting store per repository name; `down` fails as an unreachable registry.
    struct Opener {
        stores: HashMap<String, Arc<Counting>>,
        opens: Mutex<HashMap<String, usize>>,
    }

    impl Opener {
        fn opens(&self, repository: &str) -> usize {
            self.opens
                .lock()
                .unwrap()
                .get(repository)
                .copied()
                .unwrap_or(0)
        }
    }

    #[async_trait]
    impl StoreOpener for Opener {
        async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
            *self
                .opens
                .lock()
                .unwrap()
                .entry(image.repository().to_string())
                .or_default() += 1;
            match self.stores.get(image.repository()) {
                Some(s) => Ok(s.clone()),
                None => Err(StoreError::Backend {
                    kind: ErrorKind::Io,
                    message: format!("{} is unreachable", image.registry()),
                    source: None,
                }),
            }
        }
    }

    /// An image of version `1.0` and `revision`, tagged `1.0-<revision>`.
    pub(crate) async fn push_image(
        store: &LayoutStore,
        revision: &str,
        created: &str,
    ) -> RawManifest {
        let mut descs = Vec::new();
        for (mt, data) in [
            (
                media_type::OCI_CONFIG,
                format!(r#"{{"architecture":"amd64","os":"linux","rev":"{revision}"}}"#),
            ),
            (media_type::OCI_LAYER_TAR, format!("app {revision}\n")),
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
            "annotations": {
                "org.opencontainers.image.version": "1.0",
                "org.opencontainers.image.revision": revision,
                "org.opencontainers.image.created": created,
            }
        }))
        .unwrap();
        store
            .manifest_put(&m, Some(&format!("1.0-{revision}")))
            .await
            .unwrap();
        m
    }

    struct Fixture {
        dir: tempfile::TempDir,
        app: Arc<Counting>,
        other: Arc<Counting>,
        opener: Arc<Opener>,
        old: RawManifest,
    }

    /// A lineage `1.0` with two revisions: the old one end-of-life since 2023-07-10 (a
    /// record), the new one (also tagged `1.0`) scheduled end-of-life on 2030-01-01. The
    /// repositories `app` and `other` both read it.
    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let layout = LayoutStore::open_or_create(dir.path()).unwrap();
        let old = push_image(&layout, "20230707", "2023-07-07T08:00:00Z").await;
        let new = push_image(&layout, "20230710", "2023-07-10T08:00:00Z").await;
        layout.manifest_put(&new, Some("1.0")).await.unwrap();
        let engine = Engine::default();
        let record = |end_of_life: &str, revision: &str| RecordSpec {
            created: t("2023-07-10T08:00:00Z"),
            end_of_life: Some(t(end_of_life)),
            reason: Some(Reason::Superseded),
            successor: Some(NEW.into()),
            superseded_by: None,
            version: Some("1.0".into()),
            revision: Some(revision.into()),
        };
        engine
            .write_record(
                &layout,
                &old.descriptor(),
                &record("2023-07-10T08:00:00Z", "20230707"),
            )
            .await
            .unwrap();
        engine
            .write_record(
                &layout,
                &new.descriptor(),
                &record("2030-01-01T00:00:00Z", "20230710"),
            )
            .await
            .unwrap();
        let open = |p: &Path| Arc::new(Counting::new(LayoutStore::open(p).unwrap()));
        let app = open(dir.path());
        let other = open(dir.path());
        let opener = Arc::new(Opener {
            stores: HashMap::from([
                ("app".to_string(), app.clone()),
                ("other".to_string(), other.clone()),
            ]),
            opens: Mutex::new(HashMap::new()),
        });
        Fixture {
            dir,
            app,
            other,
            opener,
            old,
        }
    }

    fn lookup(f: &Fixture, options: LookupOptions) -> Lookup {
        Lookup::new(Engine::default(), f.opener.clone(), options)
    }

    // Issue 14 item 7: lookups naming ever more registries do not grow the server for good.
    #[tokio::test]
    async fn per_registry_limits_stay_at_their_cap() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let cap = Memo::<String, ()>::DEFAULT_CAPACITY;
        for i in 0..cap + 500 {
            l.inner.limit(&format!("registry-{i}.example"));
        }
        let limits = l.inner.limits.lock().unwrap();
        assert_eq!(limits.len(), cap);
        assert!(limits.get("registry-0.example").is_none());
        assert!(
            limits
                .get(&format!("registry-{}.example", cap + 499))
                .is_some()
        );
    }

    #[tokio::test]
    async fn cold_tag_lookup_takes_three_requests_and_warm_none() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let at = t("2024-01-01");
        let s = l.lookup(OLD, at).await.unwrap();
        assert_eq!(s.state, State::EndOfLife);
        assert_eq!(s.reference, OLD);
        assert_eq!(s.digest, *f.old.digest());
        assert_eq!(f.app.total(), 3, "{:?}", f.app.calls);
        let again = l.lookup(OLD, at).await.unwrap();
        assert_eq!(again, s);
        assert_eq!(f.app.total(), 3);

        // The same as the engine's own status, whatever the spelling of the reference.
        let direct = Engine::default()
            .status(
                f.app.as_ref(),
                OLD,
                Some(&TagOrDigest::Tag("1.0-20230707".into())),
                at,
            )
            .await
            .unwrap();
        assert_eq!(s, direct);

        let m = l.metrics();
        assert_eq!(m.lookups, 2);
        assert_eq!((m.tag_cache_misses, m.tag_cache_hits), (2, 2));
        assert_eq!((m.digest_cache_misses, m.digest_cache_hits), (1, 1));
        assert_eq!((m.registry_requests, m.registry_errors), (3, 0));
        assert!(m.registry_seconds_total >= 0.0);
    }

    #[tokio::test]
    async fn a_lookup_by_the_rolling_tag_reads_that_tag_once() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let rolling = "reg.example/app:1.0";
        let s = l.lookup(rolling, t("2024-01-01")).await.unwrap();
        assert_eq!(s.state, State::Scheduled, "{s:?}");
        assert_ne!(s.digest, *f.old.digest());
        assert_eq!(s.revision.as_deref(), Some("20230710"));
        // The tag and the referrers listing; the rolling tag is the tag just read.
        assert_eq!(f.app.total(), 2, "{:?}", f.app.calls);
    }

    #[tokio::test]
    async fn digest_lookup_takes_three_requests_and_keeps_the_reference_as_given() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let reference = format!("REG.example/app@{}", f.old.digest());
        let s = l.lookup(&reference, t("2024-01-01")).await.unwrap();
        assert_eq!(s.reference, reference);
        assert_eq!(s.state, State::EndOfLife);
        assert_eq!(s.version.as_deref(), Some("1.0"));
        assert_eq!(f.app.total(), 3, "{:?}", f.app.calls);
        l.lookup(&reference, t("2024-01-01")).await.unwrap();
        assert_eq!(f.app.total(), 3);
    }

    #[tokio::test]
    async fn expired_tags_are_resolved_again_but_facts_are_reused() {
        let f = fixture().await;
        let options = LookupOptions {
            tag_ttl: Duration::ZERO,
            ..LookupOptions::default()
        };
        let l = lookup(&f, options);
        l.lookup(OLD, t("2024-01-01")).await.unwrap();
        assert_eq!(f.app.total(), 3);
        l.lookup(OLD, t("2024-01-01")).await.unwrap();
        // The tag and the rolling tag again; the referrers listing from the cache.
        assert_eq!(f.app.total(), 5);
        assert_eq!(f.app.of("manifest_fetch"), 4);
        assert_eq!(f.app.of("referrers"), 1);
        assert_eq!(l.metrics().digest_cache_hits, 1);
    }

    #[tokio::test]
    async fn expired_facts_list_referrers_again_only() {
        let f = fixture().await;
        let options = LookupOptions {
            digest_ttl: Duration::ZERO,
            ..LookupOptions::default()
        };
        let l = lookup(&f, options);
        l.lookup(OLD, t("2024-01-01")).await.unwrap();
        l.lookup(OLD, t("2024-01-01")).await.unwrap();
        assert_eq!(f.app.total(), 4);
        assert_eq!(f.app.of("referrers"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_past_its_deadline_times_out_and_is_not_cached() {
        let f = fixture().await;
        // A store that never answers: its gate has no permit.
        let app = Arc::new(Counting {
            inner: LayoutStore::open(f.dir.path()).unwrap(),
            calls: Mutex::new(HashMap::new()),
            gate: Arc::new(Semaphore::new(0)),
        });
        let opener = Arc::new(Opener {
            stores: HashMap::from([("app".to_string(), app.clone())]),
            opens: Mutex::new(HashMap::new()),
        });
        let options = LookupOptions {
            deadline: Some(Duration::from_secs(4)),
            ..LookupOptions::default()
        };
        let l = Lookup::new(Engine::default(), opener, options);
        let e = l.lookup(OLD, t("2024-01-01")).await.unwrap_err();
        assert!(matches!(e, LookupError::TimedOut { .. }), "{e:?}");
        assert!(!e.is_not_found());
        assert_eq!(
            e.message(),
            format!("cannot look up `{OLD}`: no answer from the registry within 4 s")
        );
        // Nothing was kept: once the store answers, the next lookup succeeds.
        app.gate.add_permits(Semaphore::MAX_PERMITS);
        assert_eq!(
            l.lookup(OLD, t("2024-01-01")).await.unwrap().state,
            State::EndOfLife
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_identical_lookups_share_one_fetch() {
        let f = fixture().await;
        let gate = Arc::new(Semaphore::new(0));
        let app = Arc::new(Counting {
            inner: LayoutStore::open(f.dir.path()).unwrap(),
            calls: Mutex::new(HashMap::new()),
            gate: gate.clone(),
        });
        let opener = Arc::new(Opener {
            stores: HashMap::from([("app".to_string(), app.clone())]),
            opens: Mutex::new(HashMap::new()),
        });
        let l = Lookup::new(Engine::default(), opener.clone(), LookupOptions::default());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.lookup(OLD, t("2024-01-01")).await })
            })
            .collect();
        // The first request waits at the gate until the 49 others wait for it.
        let run = async {
            while l.metrics().coalesced < 49 {
                tokio::task::yield_now().await;
            }
            gate.add_permits(Semaphore::MAX_PERMITS);
            let mut out = Vec::new();
            for task in tasks {
                out.push(task.await.unwrap().unwrap());
            }
            out
        };
        let out = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("lookups finish");
        assert!(
            out.iter()
                .all(|s| s == &out[0] && s.state == State::EndOfLife)
        );
        assert!(app.total() <= 3, "{:?}", app.calls);
        assert_eq!(opener.opens("app"), 1);
        assert!(l.metrics().coalesced >= 49);
    }

    #[tokio::test]
    async fn unknown_tag_is_not_found_and_not_cached() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let reference = "reg.example/app:nope";
        let e = l.lookup(reference, t("2024-01-01")).await.unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        assert_eq!(e.reference(), reference);
        assert!(e.to_string().contains(reference), "{e}");
        assert_eq!(f.app.total(), 1);
        let e = l.lookup(reference, t("2024-01-01")).await.unwrap_err();
        assert!(e.is_not_found());
        assert_eq!(f.app.total(), 2);
        assert_eq!(l.metrics().registry_errors, 0);
    }

    #[tokio::test]
    async fn unreachable_store_is_not_not_found_and_is_retried() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        for n in 1..=2 {
            let e = l
                .lookup("reg.example/down:1", t("2024-01-01"))
                .await
                .unwrap_err();
            assert!(!e.is_not_found(), "{e:?}");
            assert!(matches!(e, LookupError::Engine { .. }));
            assert_eq!(f.opener.opens("down"), n);
        }
        let e = l
            .lookup("reg.example/App:1", t("2024-01-01"))
            .await
            .unwrap_err();
        assert!(matches!(e, LookupError::InvalidReference { .. }), "{e:?}");
        assert!(!e.is_not_found());
        assert!(e.to_string().contains("reg.example/App:1"), "{e}");
    }

    #[tokio::test]
    async fn scheduled_end_of_life_passes_without_a_request() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let before = l.lookup(NEW, t("2024-01-01")).await.unwrap();
        assert_eq!(before.state, State::Scheduled);
        let calls = f.app.total();
        let after = l.lookup(NEW, t("2031-01-01")).await.unwrap();
        assert_eq!(after.state, State::EndOfLife);
        assert_eq!(after.end_of_life, Some(t("2030-01-01T00:00:00Z")));
        assert_eq!(f.app.total(), calls);
    }

    #[tokio::test]
    async fn batch_keeps_order_and_looks_duplicates_up_once() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let refs: Vec<String> = [OLD, "reg.example/app:1.0", OLD, "not a reference", OLD]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = l.lookup_many(&refs, t("2024-01-01")).await;
        assert_eq!(out.len(), 5);
        let old = out[0].as_ref().unwrap();
        assert_eq!(old.state, State::EndOfLife);
        assert_eq!(out[2].as_ref().unwrap(), old);
        assert_eq!(out[4].as_ref().unwrap(), old);
        let rolling = out[1].as_ref().unwrap();
        assert_eq!(rolling.state, State::Scheduled);
        assert_eq!(rolling.reference, "reg.example/app:1.0");
        assert!(matches!(
            out[3],
            Err(LookupError::InvalidReference { ref reference, .. }) if reference == "not a reference"
        ));
        assert_eq!(l.metrics().lookups, 3);
        // Two tags, two digests' referrers, one rolling tag.
        assert!(f.app.total() <= 5, "{:?}", f.app.calls);
    }

    #[tokio::test]
    async fn opener_is_called_once_per_repository() {
        let f = fixture().await;
        let l = lookup(&f, LookupOptions::default());
        let refs: Vec<String> = [
            OLD,
            NEW,
            "reg.example/other:1.0-20230707",
            "reg.example/other:1.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for r in l.lookup_many(&refs, t("2024-01-01")).await {
            r.unwrap();
        }
        l.lookup("reg.example/other:1.0-20230710", t("2024-01-01"))
            .await
            .unwrap();
        assert_eq!(f.opener.opens("app"), 1);
        assert_eq!(f.opener.opens("other"), 1);
        // Each repository has its own entries.
        assert!(f.other.of("referrers") >= 1);
    }

    #[tokio::test]
    async fn tiny_caches_stay_bounded_and_correct() {
        let f = fixture().await;
        let options = LookupOptions {
            max_entries: 1,
            ..LookupOptions::default()
        };
        let l = lookup(&f, options);
        for _ in 0..3 {
            for (r, state) in [(OLD, State::EndOfLife), (NEW, State::Scheduled)] {
                assert_eq!(l.lookup(r, t("2024-01-01")).await.unwrap().state, state);
            }
        }
        assert!(l.inner.tags.len() <= 1);
        assert!(l.inner.facts.len() <= 1);
    }

    #[tokio::test]
    async fn cache_evicts_expired_then_oldest() {
        let counters = Counters::default();
        let cache: Cache<u32> = Cache::new(Kind::Tag, Duration::from_secs(3600), 64);
        for i in 0..1000u32 {
            let v = cache
                .get(format!("k{i}"), &counters, || async move { Ok(i) })
                .await
                .unwrap();
            assert_eq!(v, i);
            assert!(cache.len() <= 64);
        }
        let expired: Cache<u32> = Cache::new(Kind::Tag, Duration::ZERO, 4);
        for i in 0..10u32 {
            expired
                .get(format!("k{i}"), &counters, || async move { Ok(i) })
                .await
                .unwrap();
            assert!(expired.len() <= 4);
        }
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let counters = Counters::default();
        let cache: Cache<u32> = Cache::new(Kind::Digest, Duration::from_secs(3600), 8);
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            let r = cache
                .get("k".into(), &counters, || async {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Err(Arc::new(EngineError::InvalidTag { tag: "boom".into() }))
                })
                .await;
            assert!(r.is_err());
        }
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        let ok = cache.get("k".into(), &counters, || async { Ok(7) }).await;
        assert_eq!(ok.unwrap(), 7);
        let hit = cache.get("k".into(), &counters, || async { Ok(8) }).await;
        assert_eq!(hit.unwrap(), 7);
    }
}
