use std::collections::HashMap;
use std::path::Path;

use lineage_oci::time::parse_lenient;
use lineage_oci::{Descriptor, RawManifest};
use lineage_store::{BlobStream, ErrorKind, LayoutStore, Store};

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

pub(crate) use lineage_store::testing::push_revision as push_image;

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
        end_of_support: None,
        scope: None,
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

/// The repository a trust policy is looked up by: a lookup's source answers with its cache
/// scope, not built again, and it is the repository its store reads name (here, and for a
/// base's repository reached through it).
#[tokio::test]
async fn a_lookups_repository_is_its_cache_scope() {
    let f = fixture().await;
    let l = lookup(&f, LookupOptions::default());
    let image = ImageRef::parse(OLD).unwrap();
    let source = l.inner.source(&image);
    let repository = source.repository();
    assert!(matches!(repository, Cow::Borrowed(_)), "{repository:?}");
    assert_eq!(repository, "reg.example/app");
    let reads = StoreReads {
        inner: &l.inner,
        image: Cow::Borrowed(&image),
    };
    assert_eq!(repository, reads.repository());
    let other = ImageRef::parse("reg.example/other:1.0").unwrap();
    let elsewhere = source.elsewhere(&other).unwrap();
    assert_eq!(elsewhere.repository(), "reg.example/other");
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
    assert!(l.inner.facts.tags.len() <= 1);
    assert!(l.inner.facts.referrers.len() <= 1);
}

mod browse;
