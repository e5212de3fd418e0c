use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest, media_type};
use serde_json::json;

use super::*;
use crate::LayoutStore;
use crate::testing::{push_blob, push_image, push_index, push_referrer};

struct Pair {
    _dir: tempfile::TempDir,
    src: LayoutStore,
    dst: LayoutStore,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let src = LayoutStore::open_or_create(dir.path().join("src")).unwrap();
    let dst = LayoutStore::open_or_create(dir.path().join("dst")).unwrap();
    Pair {
        _dir: dir,
        src,
        dst,
    }
}

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::Tag(t.into())
}

/// Every digest reachable from `root` in `store`, manifests and blobs.
async fn reachable(store: &dyn ReadStore, root: &Digest) -> Vec<Digest> {
    let mut out = vec![root.clone()];
    let m = store.manifest_get(root).await.unwrap();
    let view = m.view().unwrap().clone();
    for c in view.children() {
        if view.kind == ManifestKind::Index {
            out.extend(Box::pin(reachable(store, &c.digest)).await);
        } else {
            out.push(c.digest.clone());
        }
    }
    out
}

#[tokio::test]
async fn copies_an_image_and_keeps_every_digest() {
    let p = pair();
    let m = push_image(&p.src, "a", 3, Some("v1")).await;
    let report = copy(
        &p.src,
        Some(&tag("v1")),
        &p.dst,
        Some("v2"),
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.root.digest, *m.digest());
    assert_eq!(
        (
            report.manifests_copied,
            report.blobs_copied,
            report.blobs_skipped
        ),
        (1, 4, 0)
    );
    let back = p.dst.manifest_fetch(&tag("v2")).await.unwrap();
    assert_eq!(back.bytes(), m.bytes());
    for d in reachable(&p.src, m.digest()).await {
        assert!(p.dst.blob_exists(&d).await.unwrap(), "{d} missing");
    }
    // A second copy moves nothing.
    let again = copy(
        &p.src,
        Some(&tag("v1")),
        &p.dst,
        Some("v2"),
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!((again.manifests_copied, again.blobs_copied), (0, 0));
}

#[tokio::test]
async fn copies_a_multi_platform_index_whole() {
    let p = pair();
    let idx = push_index(&p.src, "i", Some("list")).await;
    let report = copy(
        &p.src,
        Some(&tag("list")),
        &p.dst,
        Some("list"),
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.manifests_copied, 3);
    let want = reachable(&p.src, idx.digest()).await;
    assert_eq!(want.len(), 1 + 2 * 4);
    for d in &want {
        assert!(p.dst.blob_exists(d).await.unwrap(), "{d} missing");
    }
    assert_eq!(
        p.dst.manifest_fetch(&tag("list")).await.unwrap().bytes(),
        idx.bytes()
    );
}

#[tokio::test]
async fn shared_content_is_copied_once() {
    let p = pair();
    // Two manifests sharing their config and layer, under one index.
    let config = push_blob(
        &p.src,
        media_type::OCI_CONFIG,
        br#"{"os":"linux","architecture":"amd64"}"#,
    )
    .await;
    let layer = push_blob(&p.src, media_type::OCI_LAYER_TAR, &b"shared".repeat(1000)).await;
    let mut entries = Vec::new();
    for n in ["one", "two"] {
        let m = RawManifest::from_canonical(
            &json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "config": config, "layers": [layer], "annotations": {"n": n}}),
        )
        .unwrap();
        p.src.manifest_put(&m, None).await.unwrap();
        entries.push(m.descriptor());
    }
    let idx = RawManifest::from_canonical(
        &json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": entries}),
    )
    .unwrap();
    p.src.manifest_put(&idx, Some("x")).await.unwrap();
    let report = copy(
        &p.src,
        Some(&tag("x")),
        &p.dst,
        None,
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.blobs_copied, 2);
    assert_eq!(report.manifests_copied, 3);
}

#[tokio::test]
async fn copies_the_referrer_graph_with_filters() {
    let p = pair();
    let idx = push_index(&p.src, "i", Some("v1")).await;
    let child = p
        .src
        .manifest_get(&idx.view().unwrap().manifests[0].digest)
        .await
        .unwrap();
    let sbom = push_referrer(&p.src, &idx, "application/x.sbom", "sbom").await;
    let sig_of_sbom = push_referrer(&p.src, &sbom, "application/x.sig", "sig").await;
    let eol_on_child = push_referrer(&p.src, &child, "application/x.lifecycle", "eol").await;

    // Without --referrers: none of them.
    copy(
        &p.src,
        Some(&tag("v1")),
        &p.dst,
        Some("v1"),
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        p.dst
            .referrers(idx.digest(), None)
            .await
            .unwrap()
            .is_empty()
    );

    // With referrers but excluding signatures: the graph minus the signature, even though
    // the image itself is already there.
    let opts = CopyOptions {
        referrers: true,
        exclude_types: vec!["application/x.sig".into()],
        ..CopyOptions::default()
    };
    copy(&p.src, Some(&tag("v1")), &p.dst, Some("v1"), &opts)
        .await
        .unwrap();
    let got: Vec<_> = p
        .dst
        .referrers(idx.digest(), None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(got, vec![sbom.digest().clone()]);
    assert!(
        p.dst
            .referrers(sbom.digest(), None)
            .await
            .unwrap()
            .is_empty()
    );
    let on_child = p.dst.referrers(child.digest(), None).await.unwrap();
    assert_eq!(on_child.len(), 1);
    assert_eq!(on_child[0].digest, *eol_on_child.digest());

    // Everything, into a fresh store.
    let q = pair();
    copy_graph(
        &p.src,
        &q.dst,
        &idx.descriptor(),
        None,
        &CopyOptions {
            referrers: true,
            ..CopyOptions::default()
        },
    )
    .await
    .unwrap();
    let sigs = q.dst.referrers(sbom.digest(), None).await.unwrap();
    assert_eq!(sigs[0].digest, *sig_of_sbom.digest());
    assert_eq!(
        q.dst
            .manifest_get(sig_of_sbom.digest())
            .await
            .unwrap()
            .bytes(),
        sig_of_sbom.bytes()
    );

    // Only lifecycle records.
    let r = pair();
    let only = CopyOptions {
        referrers: true,
        include_types: vec!["application/x.lifecycle".into()],
        ..CopyOptions::default()
    };
    let report = copy(&p.src, Some(&tag("v1")), &r.dst, None, &only)
        .await
        .unwrap();
    assert_eq!(report.referrers, 1);
    assert!(
        r.dst
            .referrers(idx.digest(), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.dst.referrers(child.digest(), None).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_corrupted_source_blob_is_blamed_on_the_source_and_never_lands() {
    let p = pair();
    let m = push_image(&p.src, "a", 1, Some("v1")).await;
    let layer = m.view().unwrap().layers[0].clone();
    let path = p.src.blob_path(&layer.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = copy(
        &p.src,
        Some(&tag("v1")),
        &p.dst,
        Some("v1"),
        &CopyOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.side, Side::Source);
    assert_eq!(err.digest, layer.digest.to_string());
    assert!(
        matches!(err.source, StoreError::Verify { .. }),
        "{:?}",
        err.source
    );
    assert!(
        err.to_string().starts_with("cannot read blob sha256:"),
        "{err}"
    );
    assert!(!p.dst.blob_exists(&layer.digest).await.unwrap());
    assert!(
        p.dst.resolve(&tag("v1")).await.is_err(),
        "the manifest must not land without its blobs"
    );
}

#[tokio::test]
async fn missing_tag_is_a_source_resolve_error() {
    let p = pair();
    let err = copy(
        &p.src,
        Some(&tag("nope")),
        &p.dst,
        None,
        &CopyOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!((err.op, err.side), ("resolve", Side::Source));
    assert!(err.source.is_not_found());
}

#[derive(Default)]
struct InFlight {
    now: AtomicI64,
    max: AtomicI64,
    bytes: AtomicU64,
}

impl CopyProgress for InFlight {
    fn blob_started(&self, _: &Descriptor) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
    }
    fn blob_bytes(&self, _: &Descriptor, n: u64) {
        self.bytes.fetch_add(n, Ordering::SeqCst);
    }
    fn blob_finished(&self, _: &Descriptor, skipped: bool) {
        if !skipped {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blob_transfers_respect_the_concurrency_bound() {
    let p = pair();
    let m = push_image(&p.src, "many", 12, Some("v1")).await;
    let progress = Arc::new(InFlight::default());
    let opts = CopyOptions {
        concurrency: 2,
        progress: Some(progress.clone()),
        ..CopyOptions::default()
    };
    let report = copy(&p.src, Some(&tag("v1")), &p.dst, None, &opts)
        .await
        .unwrap();
    assert!(progress.max.load(Ordering::SeqCst) <= 2);
    assert_eq!(progress.now.load(Ordering::SeqCst), 0);
    assert_eq!(progress.bytes.load(Ordering::SeqCst), report.bytes_copied);
    let expected: u64 = m.view().unwrap().children().map(|d| d.size).sum();
    assert_eq!(report.bytes_copied, expected);
}

#[tokio::test]
async fn an_embedded_empty_config_is_used_when_the_source_lacks_the_blob() {
    let p = pair();
    let img = push_image(&p.src, "a", 1, Some("v1")).await;
    let r = push_referrer(&p.src, &img, "application/x.note", "n").await;
    std::fs::remove_file(p.src.blob_path(&Descriptor::empty().digest)).unwrap();
    copy_graph(
        &p.src,
        &p.dst,
        &r.descriptor(),
        None,
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        p.dst
            .blob_exists(&Descriptor::empty().digest)
            .await
            .unwrap()
    );
}

/// What a progress observer was told, in order.
#[derive(Default)]
struct Told {
    events: StdMutex<Vec<String>>,
}

impl CopyProgress for Told {
    fn planned(&self, blobs: &[Descriptor], total: u64) {
        let mut e = self.events.lock().unwrap();
        e.push(format!("planned {} {total}", blobs.len()));
    }
    fn blob_started(&self, d: &Descriptor) {
        self.events
            .lock()
            .unwrap()
            .push(format!("started {}", d.digest));
    }
}

/// Counts the manifest reads of a store.
struct CountingReads<'a> {
    inner: &'a LayoutStore,
    reads: AtomicU64,
}

#[async_trait::async_trait]
impl ReadStore for CountingReads<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn resolve(&self, t: &TagOrDigest) -> crate::error::Result<Descriptor> {
        self.inner.resolve(t).await
    }
    async fn manifest_get(&self, d: &Digest) -> crate::error::Result<RawManifest> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.manifest_get(d).await
    }
    async fn manifest_exists(&self, d: &Digest) -> crate::error::Result<bool> {
        self.inner.manifest_exists(d).await
    }
    async fn blob_get(&self, d: &Descriptor) -> crate::error::Result<crate::blob::BlobStream> {
        self.inner.blob_get(d).await
    }
    async fn blob_exists(&self, d: &Digest) -> crate::error::Result<bool> {
        self.inner.blob_exists(d).await
    }
    async fn tag_list(&self) -> crate::error::Result<Vec<String>> {
        self.inner.tag_list().await
    }
    async fn referrers(
        &self,
        s: &Digest,
        t: Option<&str>,
    ) -> crate::error::Result<Vec<Descriptor>> {
        self.inner.referrers(s, t).await
    }
}

/// With a progress observer the total is known before the first blob moves (every blob of
/// every platform, each once), and planning reads no manifest twice.
#[tokio::test]
async fn progress_knows_the_total_before_any_blob_moves() {
    let p = pair();
    let index = push_index(&p.src, "multi", Some("v1")).await;
    let mut platforms = Vec::new();
    for m in &index.view().unwrap().manifests {
        platforms.push(p.src.manifest_get(&m.digest).await.unwrap());
    }
    let (a, b) = (&platforms[0], &platforms[1]);
    let told = Arc::new(Told::default());
    let opts = CopyOptions {
        progress: Some(told.clone()),
        ..CopyOptions::default()
    };
    let src = CountingReads {
        inner: &p.src,
        reads: AtomicU64::new(0),
    };
    let root = p.src.resolve(&tag("v1")).await.unwrap();
    copy_graph(&src, &p.dst, &root, Some("v1"), &opts)
        .await
        .unwrap();
    let events = told.events.lock().unwrap().clone();
    let unique: HashSet<Digest> = [a, b]
        .iter()
        .flat_map(|m| m.view().unwrap().children().cloned().collect::<Vec<_>>())
        .map(|d| d.digest)
        .collect();
    let total: u64 = [a, b]
        .iter()
        .flat_map(|m| m.view().unwrap().children().cloned().collect::<Vec<_>>())
        .filter({
            let mut seen = HashSet::new();
            move |d| seen.insert(d.digest.clone())
        })
        .map(|d| d.size)
        .sum();
    assert_eq!(
        events[0],
        format!("planned {} {total}", unique.len()),
        "{events:?}"
    );
    assert!(
        events[1..].iter().all(|e| e.starts_with("started")),
        "{events:?}"
    );
    // The index and its two manifests, each read once.
    assert_eq!(src.reads.load(Ordering::SeqCst), 3);
    assert!(p.dst.manifest_exists(index.digest()).await.unwrap());
}
