//! Tests of the journal, the referrers index and garbage collection.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::time::Duration;

use lineage_oci::{Digest, RawManifest, TagOrDigest, media_type};

use super::gc::GcOptions;
use super::*;
use crate::blob::read_all;
use crate::testing::{push_blob, push_image, push_index, push_referrer};

fn journaled(path: &Path) -> LayoutStore {
    LayoutStore::open_or_create(path).unwrap().with_journal()
}

async fn listing(store: &LayoutStore, subject: &Digest) -> Vec<String> {
    store
        .referrers_json(subject, &[])
        .await
        .unwrap()
        .iter()
        .map(|j| j.to_string())
        .collect()
}

#[tokio::test]
async fn untagged_pushes_go_to_the_journal_and_a_compaction_folds_them_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = journaled(dir.path());
    let img = push_image(&store, "a", 1, Some("v1")).await;
    let before = std::fs::read(dir.path().join("index.json")).unwrap();
    let r = push_referrer(&store, &img, "application/x.a", "one").await;
    assert_eq!(
        std::fs::read(dir.path().join("index.json")).unwrap(),
        before,
        "a referrer push does not rewrite index.json"
    );
    // Every reader sees it: the whole index, the listing, a fresh handle without a journal.
    assert!(store.index().unwrap().find_digest(r.digest()).is_some());
    let plain = LayoutStore::open(dir.path()).unwrap();
    assert_eq!(plain.referrers(img.digest(), None).await.unwrap().len(), 1);
    store.compact().await.unwrap();
    let file = index::read_file(dir.path()).unwrap();
    assert!(file.find_digest(r.digest()).is_some());
    assert_eq!(journal::size(dir.path()), 0);
    // A tag push folds the journal in as it rewrites index.json.
    let r2 = push_referrer(&store, &img, "application/x.a", "two").await;
    push_image(&store, "b", 1, Some("v2")).await;
    assert!(
        index::read_file(dir.path())
            .unwrap()
            .find_digest(r2.digest())
            .is_some()
    );
    assert_eq!(journal::size(dir.path()), 0);
}

#[tokio::test]
async fn journal_replay_after_a_crash_drops_only_the_torn_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (img, pushed) = {
        let store = journaled(dir.path());
        let img = push_image(&store, "a", 1, Some("v1")).await;
        let mut pushed = Vec::new();
        for i in 0..5 {
            pushed.push(push_referrer(&store, &img, "application/x.a", &format!("{i}")).await);
        }
        (img, pushed)
    };
    // The process was killed while appending a sixth entry: half a line, no newline.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(journal::JOURNAL))
        .unwrap();
    f.write_all(br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","dig"#)
        .unwrap();
    drop(f);
    let store = journaled(dir.path());
    let listed: Vec<Digest> = store
        .referrers(img.digest(), None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    let expected: Vec<Digest> = pushed.iter().map(|m| m.digest().clone()).collect();
    assert_eq!(listed, expected);
    // Writing goes on after the torn line, which is cut off.
    let more = push_referrer(&store, &img, "application/x.a", "after").await;
    let again = journaled(dir.path());
    assert_eq!(again.referrers(img.digest(), None).await.unwrap().len(), 6);
    assert!(again.index().unwrap().find_digest(more.digest()).is_some());
    let text = std::fs::read_to_string(dir.path().join(journal::JOURNAL)).unwrap();
    assert!(
        text.lines().all(|l| l.starts_with('{') && l.ends_with('}')),
        "{text}"
    );
}

#[tokio::test]
async fn a_restart_rebuilds_the_same_referrers_listing() {
    let dir = tempfile::tempdir().unwrap();
    let (img, first) = {
        let store = journaled(dir.path());
        let img = push_image(&store, "a", 1, Some("v1")).await;
        let other = push_image(&store, "b", 1, Some("v2")).await;
        // Built before the pushes, kept up to date by them.
        assert_eq!(store.referrers_load().await.unwrap(), 0);
        for i in 0..12 {
            let t = if i % 3 == 0 {
                "application/x.sig"
            } else {
                "application/x.sbom"
            };
            push_referrer(&store, &img, t, &format!("{i}")).await;
        }
        push_referrer(&store, &other, "application/x.sbom", "other").await;
        let gone = push_referrer(&store, &img, "application/x.sbom", "gone").await;
        store.manifest_delete(gone.digest()).await.unwrap();
        let first = listing(&store, img.digest()).await;
        (img, first)
    };
    assert_eq!(first.len(), 12);
    let store = journaled(dir.path());
    assert_eq!(store.referrers_load().await.unwrap(), 13);
    assert_eq!(listing(&store, img.digest()).await, first);
    let sigs = store
        .referrers_json(img.digest(), &["application/x.sig"])
        .await
        .unwrap();
    assert_eq!(sigs.len(), 4);
    // The same after a compaction.
    store.compact().await.unwrap();
    assert_eq!(listing(&journaled(dir.path()), img.digest()).await, first);
}

#[tokio::test]
async fn pushes_while_the_index_is_built_are_not_missed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(journaled(dir.path()));
    let img = push_image(store.as_ref(), "a", 1, Some("v1")).await;
    for i in 0..20 {
        push_referrer(store.as_ref(), &img, "application/x.a", &format!("{i}")).await;
    }
    let building = {
        let s = store.clone();
        tokio::spawn(async move { s.referrers_load().await.unwrap() })
    };
    let mut late = Vec::new();
    for i in 0..10 {
        late.push(
            push_referrer(
                store.as_ref(),
                &img,
                "application/x.a",
                &format!("late {i}"),
            )
            .await,
        );
    }
    building.await.unwrap();
    let listed = listing(&store, img.digest()).await;
    assert_eq!(listed.len(), 30);
    for m in &late {
        assert!(listed.iter().any(|j| j.contains(m.digest().as_str())));
    }
}

/// Everything live: every listed manifest, what it reaches, and each blob's bytes.
async fn live_content(store: &LayoutStore) -> BTreeSet<(String, Vec<u8>)> {
    let mut out = BTreeSet::new();
    for e in store.index().unwrap().entries {
        let m = store.manifest_get(e.digest()).await.unwrap();
        out.insert((m.digest().to_string(), m.bytes().to_vec()));
        for c in m.view().unwrap().children() {
            if media_type::is_manifest(&c.media_type) {
                let inner = store.manifest_get(&c.digest).await.unwrap();
                for cc in inner.view().unwrap().children() {
                    let bytes = read_all(store.blob_get(cc).await.unwrap(), 1 << 20)
                        .await
                        .unwrap();
                    out.insert((cc.digest.to_string(), bytes.to_vec()));
                }
            }
            let bytes = read_all(store.blob_get(c).await.unwrap(), 1 << 20)
                .await
                .unwrap();
            out.insert((c.digest.to_string(), bytes.to_vec()));
        }
    }
    out
}

fn no_grace() -> GcOptions {
    GcOptions {
        grace: Duration::ZERO,
        ..GcOptions::default()
    }
}

#[tokio::test]
async fn gc_keeps_everything_live_and_removes_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let store = journaled(dir.path());
    let img = push_image(&store, "a", 2, Some("v1")).await;
    push_index(&store, "multi", Some("v2")).await;
    push_referrer(&store, &img, "application/x.a", "kept").await;
    // A referrer whose subject is not there (deleted, or never pushed).
    let ghost = RawManifest::from_canonical(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": Digest::sha256(b"{}"), "size": 2},
        "layers": [], "subject": {"mediaType": media_type::OCI_MANIFEST, "digest": Digest::sha256(b"gone"), "size": 4}
    }))
    .unwrap();
    push_blob(&store, media_type::OCI_CONFIG, b"{}").await;
    store.manifest_put(&ghost, None).await.unwrap();
    // Orphans: a layer nothing names, an image whose tag moved and was then deleted.
    let orphan = push_blob(&store, media_type::OCI_LAYER_TAR, b"nobody's").await;
    let old = push_image(&store, "old", 1, Some("tmp")).await;
    store.manifest_delete(old.digest()).await.unwrap();
    let live = live_content(&store).await;

    let dry = store
        .gc(&GcOptions {
            dry_run: true,
            ..no_grace()
        })
        .await
        .unwrap();
    assert!(dry.blobs_removed.iter().any(|b| b.digest == orphan.digest));
    assert!(
        store.blob_exists(&orphan.digest).await.unwrap(),
        "a dry run removes nothing"
    );

    let report = store.gc(&no_grace()).await.unwrap();
    let removed: BTreeSet<&Digest> = report.blobs_removed.iter().map(|b| &b.digest).collect();
    assert!(removed.contains(&orphan.digest));
    // The deleted image's config and layer went; its manifest blob was removed by the delete.
    assert_eq!(report.blobs_removed.len(), 3, "{report:?}");
    assert!(
        report.referrers_removed.is_empty(),
        "referrers are kept by default"
    );
    assert_eq!(live_content(&store).await, live);
    assert_eq!(store.gc(&no_grace()).await.unwrap().blobs_removed, vec![]);

    // Asked to, it removes the ghost referrer (not its config, which live images share).
    let report = store
        .gc(&GcOptions {
            delete_referrers_with_subject: true,
            ..no_grace()
        })
        .await
        .unwrap();
    assert_eq!(report.referrers_removed, vec![ghost.digest().clone()]);
    assert!(!store.blob_exists(ghost.digest()).await.unwrap());
    assert!(store.index().unwrap().find_digest(ghost.digest()).is_none());
    assert!(
        store
            .referrers(&Digest::sha256(b"gone"), None)
            .await
            .unwrap()
            .is_empty()
    );
    let mut rest = live;
    rest.retain(|(d, _)| d != ghost.digest().as_str());
    assert_eq!(live_content(&store).await, rest);
    assert_eq!(
        store
            .resolve(&TagOrDigest::Tag("v1".into()))
            .await
            .unwrap()
            .digest,
        *img.digest()
    );
}

#[tokio::test]
async fn gc_keeps_blobs_inside_the_grace_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = journaled(dir.path());
    // Uploaded just now; its manifest has not come yet.
    let fresh = push_blob(&store, media_type::OCI_LAYER_TAR, b"about to be named").await;
    let report = store.gc(&GcOptions::default()).await.unwrap();
    assert!(report.blobs_removed.is_empty());
    assert!(store.blob_exists(&fresh.digest).await.unwrap());
}

#[tokio::test]
async fn a_manifest_pushed_during_gc_never_loses_a_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(journaled(dir.path()));
    let base = push_image(store.as_ref(), "base", 1, Some("v1")).await;
    // Blobs uploaded earlier whose manifest comes while the collection runs.
    let config = push_blob(store.as_ref(), media_type::OCI_CONFIG, br#"{"late":true}"#).await;
    let layer = push_blob(store.as_ref(), media_type::OCI_LAYER_TAR, b"late layer").await;
    let late = RawManifest::from_canonical(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": config, "layers": [layer], "subject": base.descriptor()
    }))
    .unwrap();
    let (marked_tx, marked_rx) = tokio::sync::oneshot::channel::<()>();
    let (pushed_tx, pushed_rx) = tokio::sync::oneshot::channel::<()>();
    let gc = {
        let s = store.clone();
        tokio::spawn(async move {
            s.gc_paused(&no_grace(), async move {
                marked_tx.send(()).unwrap();
                pushed_rx.await.unwrap();
            })
            .await
            .unwrap()
        })
    };
    // The mark is done and found both blobs unnamed: push the manifest naming them now.
    marked_rx.await.unwrap();
    store.manifest_put(&late, None).await.unwrap();
    pushed_tx.send(()).unwrap();
    let report = gc.await.unwrap();
    assert!(report.blobs_removed.is_empty(), "{report:?}");
    for d in [&config, &layer] {
        assert!(
            read_all(store.blob_get(d).await.unwrap(), 1 << 20)
                .await
                .is_ok()
        );
    }
    assert_eq!(store.referrers(base.digest(), None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn gc_concurrent_with_many_pushes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(journaled(dir.path()));
    let base = push_image(store.as_ref(), "base", 1, Some("v1")).await;
    // Orphans from long ago; what the pushers upload is inside the default grace window.
    let mut orphans = Vec::new();
    for i in 0..10 {
        let d = push_blob(
            store.as_ref(),
            media_type::OCI_LAYER_TAR,
            format!("orphan {i}").as_bytes(),
        )
        .await;
        age(&store.blob_path(&d.digest));
        orphans.push(d);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(9));
    let mut pushers = Vec::new();
    for w in 0..8 {
        let (s, b, base) = (store.clone(), barrier.clone(), base.clone());
        pushers.push(tokio::spawn(async move {
            b.wait().await;
            let mut out = Vec::new();
            for i in 0..6 {
                out.push(push_image(s.as_ref(), &format!("w{w}-{i}"), 1, None).await);
                out.push(
                    push_referrer(s.as_ref(), &base, "application/x.a", &format!("{w}-{i}")).await,
                );
            }
            out
        }));
    }
    barrier.wait().await;
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(store.gc(&GcOptions::default()).await.unwrap());
    }
    let mut pushed = Vec::new();
    for p in pushers {
        pushed.extend(p.await.unwrap());
    }
    // Every acknowledged manifest and everything it names is still there and reads back.
    for m in &pushed {
        assert_eq!(
            store.manifest_get(m.digest()).await.unwrap().bytes(),
            m.bytes()
        );
        for c in m.view().unwrap().children() {
            assert!(
                read_all(store.blob_get(c).await.unwrap(), 1 << 20)
                    .await
                    .is_ok(),
                "{c:?} lost"
            );
        }
    }
    assert_eq!(
        store.referrers(base.digest(), None).await.unwrap().len(),
        48
    );
    assert!(reports.iter().all(|r| r.referrers_removed.is_empty()));
    assert_eq!(reports[0].blobs_removed.len(), 10, "{:?}", reports[0]);
    for d in &orphans {
        assert!(!store.blob_exists(&d.digest).await.unwrap());
    }
}

/// Make `path` look written two hours ago.
fn age(path: &Path) {
    let then = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

#[tokio::test]
async fn a_referrers_page_gathers_only_its_window_of_the_filtered_listing() {
    let dir = tempfile::tempdir().unwrap();
    let store = journaled(dir.path());
    let img = push_image(&store, "a", 1, Some("v1")).await;
    for i in 0..7 {
        let t = if i % 2 == 0 {
            "application/x.sig"
        } else {
            "application/x.sbom"
        };
        push_referrer(&store, &img, t, &format!("{i}")).await;
    }
    let all = listing(&store, img.digest()).await;
    assert_eq!(all.len(), 7);
    let page = |skip, limit| {
        let store = &store;
        let img = &img;
        async move {
            let (p, more) = store
                .referrers_json_page(img.digest(), &[], skip, limit)
                .await
                .unwrap();
            (p.iter().map(|j| j.to_string()).collect::<Vec<_>>(), more)
        }
    };
    assert_eq!(page(0, 3).await, (all[0..3].to_vec(), true));
    assert_eq!(page(3, 3).await, (all[3..6].to_vec(), true));
    assert_eq!(page(6, 3).await, (all[6..].to_vec(), false));
    assert_eq!(page(9, 3).await, (Vec::new(), false));
    // The filter applies before the window: four signatures, pages of three.
    let (sigs, more) = store
        .referrers_json_page(img.digest(), &["application/x.sig"], 3, 3)
        .await
        .unwrap();
    assert_eq!((sigs.len(), more), (1, false));
    assert!(sigs[0].contains("application/x.sig"));
}

#[tokio::test]
async fn a_bad_index_entry_is_an_error_naming_the_file_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = journaled(dir.path());
    push_image(&store, "a", 1, Some("v1")).await;
    drop(store);
    let path = dir.path().join("index.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replacen(
        r#""manifests":["#,
        r#""manifests":[{"digest":"sha256:1","size":1},"#,
        1,
    );
    std::fs::write(&path, bad).unwrap();
    let err = LayoutStore::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("index.json"), "{err}");
    assert!(err.contains("entry 0 of `manifests`"), "{err}");
    assert!(err.contains("sha256:1"), "{err}");
}
