use std::sync::Arc;

use lineage_oci::{Descriptor, Digest, TagOrDigest, media_type};

use super::*;
use crate::blob::read_all;
use crate::testing::{push_blob, push_image, push_index, push_referrer};

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::Tag(t.to_string())
}

#[tokio::test]
async fn push_resolve_and_read_back_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
    let m = push_image(&store, "a", 2, Some("v1")).await;
    let d = store.resolve(&tag("v1")).await.unwrap();
    assert_eq!(d.digest, *m.digest());
    assert_eq!(d.media_type, media_type::OCI_MANIFEST);
    assert!(
        d.annotations.is_none(),
        "ref.name is not part of the resolved descriptor"
    );
    let back = store.manifest_get(m.digest()).await.unwrap();
    assert_eq!(back.bytes(), m.bytes());
    assert_eq!(store.tag_list().await.unwrap(), vec!["v1"]);
    assert_eq!(store.resolve_default().await.unwrap().digest, *m.digest());
    // Every blob file hashes to its name.
    for e in std::fs::read_dir(dir.path().join("l/blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let data = std::fs::read(e.path()).unwrap();
        assert_eq!(
            Digest::sha256(&data).encoded(),
            e.file_name().to_str().unwrap()
        );
    }
}

#[tokio::test]
async fn reopen_sees_the_same_content_and_missing_things_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let m = {
        let store = LayoutStore::open_or_create(dir.path()).unwrap();
        push_image(&store, "a", 1, Some("v1")).await
    };
    let store = LayoutStore::open(dir.path()).unwrap();
    assert_eq!(store.resolve(&tag("v1")).await.unwrap().digest, *m.digest());
    let err = store.resolve(&tag("nope")).await.unwrap_err();
    assert!(err.is_not_found());
    assert!(err.to_string().contains("`nope`"), "{err}");
    let missing = Descriptor::new("x", Digest::sha256(b"missing"), 7);
    assert!(store.blob_get(&missing).await.err().unwrap().is_not_found());
}

#[tokio::test]
async fn moving_a_tag_keeps_the_old_revision_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path()).unwrap();
    let old = push_image(&store, "old", 1, Some("1.0")).await;
    let new = push_image(&store, "new", 1, Some("1.0")).await;
    assert_eq!(
        store.resolve(&tag("1.0")).await.unwrap().digest,
        *new.digest()
    );
    let by_digest = store
        .resolve(&TagOrDigest::Digest(old.digest().clone()))
        .await
        .unwrap();
    assert_eq!(by_digest.digest, *old.digest());
    assert!(store.resolve_default().await.is_ok(), "one tagged manifest");
    store.tag_delete("1.0").await.unwrap();
    assert!(store.tag_list().await.unwrap().is_empty());
    let err = store.resolve_default().await.unwrap_err();
    assert!(err.to_string().contains("2 manifests"), "{err}");
}

#[tokio::test]
async fn referrers_are_found_by_subject_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path()).unwrap();
    let img = push_image(&store, "a", 1, Some("v1")).await;
    let other = push_image(&store, "b", 1, Some("v2")).await;
    let r1 = push_referrer(&store, &img, "application/x.sbom", "one").await;
    let r2 = push_referrer(&store, &img, "application/x.sig", "two").await;
    push_referrer(&store, &other, "application/x.sbom", "three").await;

    let all = store.referrers(img.digest(), None).await.unwrap();
    let digests: Vec<_> = all.iter().map(|d| d.digest.clone()).collect();
    assert_eq!(digests, vec![r1.digest().clone(), r2.digest().clone()]);
    assert_eq!(all[0].artifact_type.as_deref(), Some("application/x.sbom"));
    assert_eq!(all[0].annotation("note"), Some("one"));

    let sboms = store
        .referrers(img.digest(), Some("application/x.sig"))
        .await
        .unwrap();
    assert_eq!(sboms.len(), 1);
    assert_eq!(sboms[0].digest, *r2.digest());
    assert!(
        store
            .referrers(&Digest::sha256(b"nothing"), None)
            .await
            .unwrap()
            .is_empty()
    );
    // Referrers are untagged entries: they do not show up as tags.
    assert_eq!(store.tag_list().await.unwrap(), vec!["v1", "v2"]);

    store.manifest_delete(r1.digest()).await.unwrap();
    assert_eq!(store.referrers(img.digest(), None).await.unwrap().len(), 1);
    assert!(
        store
            .manifest_delete(r1.digest())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    LayoutStore::open_or_create(dir.path()).unwrap();
    // Separate handles on the same directory, as two commands in one process would have.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let path = dir.path().to_path_buf();
        tasks.push(tokio::spawn(async move {
            let store = LayoutStore::open(&path).unwrap();
            push_image(&store, &format!("img{i}"), 1, Some(&format!("t{i}"))).await
        }));
    }
    let mut pushed = Vec::new();
    for t in tasks {
        pushed.push(t.await.unwrap());
    }
    let store = Arc::new(LayoutStore::open(dir.path()).unwrap());
    let tags = store.tag_list().await.unwrap();
    assert_eq!(tags.len(), 24, "{tags:?}");
    for (i, m) in pushed.iter().enumerate() {
        assert_eq!(
            store.resolve(&tag(&format!("t{i}"))).await.unwrap().digest,
            *m.digest()
        );
    }
}

#[tokio::test]
async fn a_corrupted_blob_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path()).unwrap();
    let data = b"some layer content".repeat(50);
    let desc = push_blob(&store, media_type::OCI_LAYER_TAR, &data).await;
    let path = store.blob_path(&desc.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = read_all(store.blob_get(&desc).await.unwrap(), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Verify { .. }), "{err}");
}

#[tokio::test]
async fn blob_put_refuses_wrong_content_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path()).unwrap();
    let desc = Descriptor::new("x", Digest::sha256(b"right"), 5);
    let err = store
        .blob_put(
            &desc,
            crate::blob::from_bytes(bytes::Bytes::from_static(b"wrong")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Verify { .. }));
    assert!(!store.blob_exists(&desc.digest).await.unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(crate::fs::TEMP_PREFIX)
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn manifest_put_requires_its_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let src = LayoutStore::open_or_create(dir.path().join("a")).unwrap();
    let dst = LayoutStore::open_or_create(dir.path().join("b")).unwrap();
    let m = push_image(&src, "a", 1, None).await;
    let err = dst.manifest_put(&m, Some("v1")).await.unwrap_err();
    assert!(err.to_string().contains("not in the layout"), "{err}");
    let idx = push_index(&src, "i", Some("list")).await;
    assert_eq!(
        src.manifest_get(idx.digest())
            .await
            .unwrap()
            .view()
            .unwrap()
            .manifests
            .len(),
        2
    );
}

#[test]
fn opening_bad_layouts_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = LayoutStore::open(dir.path().join("nope")).unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    assert!(
        LayoutStore::open(dir.path())
            .unwrap_err()
            .to_string()
            .contains("oci-layout")
    );
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    let err = LayoutStore::open_or_create(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");

    let l = dir.path().join("l");
    LayoutStore::open_or_create(&l).unwrap();
    std::fs::write(l.join("index.json"), b"{not json").unwrap();
    let err = LayoutStore::open(&l).unwrap_err();
    assert!(
        err.to_string().contains("index.json is not valid JSON"),
        "{err}"
    );
    std::fs::write(l.join("oci-layout"), br#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
    assert!(
        LayoutStore::open(&l)
            .unwrap_err()
            .to_string()
            .contains("2.0.0")
    );
}

#[tokio::test]
async fn reads_what_umoci_and_skopeo_write() {
    // umoci and skopeo write no `mediaType` in index.json or in the manifest, and Docker's
    // `manifest.json` may sit beside a layout.
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path()).unwrap();
    let config = push_blob(
        &store,
        media_type::OCI_CONFIG,
        br#"{"architecture":"amd64","os":"linux"}"#,
    )
    .await;
    let manifest = format!(
        r#"{{"schemaVersion":2,"config":{},"layers":[]}}"#,
        serde_json::to_string(&config).unwrap()
    );
    let d = push_blob(&store, "", manifest.as_bytes()).await;
    std::fs::write(
        dir.path().join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#,
            d.digest, d.size
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("manifest.json"), b"[]").unwrap();
    let store = LayoutStore::open(dir.path()).unwrap();
    let resolved = store.resolve_default().await.unwrap();
    assert_eq!(resolved.digest, d.digest);
    let m = store.manifest_get(&d.digest).await.unwrap();
    assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
    assert_eq!(m.bytes().as_ref(), manifest.as_bytes());
}

/// Issue 14 item 1: finishing an upload of bytes the layout already has must leave the
/// stored blob file alone (same inode, same bytes) and drop the upload.
#[cfg(unix)]
#[test]
fn adopting_an_upload_never_replaces_a_stored_blob() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
    let data = b"layer bytes";
    let digest = Digest::sha256(data);
    let first = dir.path().join("upload-1");
    std::fs::write(&first, data).unwrap();
    assert!(store.blob_adopt_verified(&digest, &first).unwrap());
    assert!(!first.exists(), "the adopted upload is no longer an upload");
    let blob = store.blob_path(&digest);
    let inode = std::fs::metadata(&blob).unwrap().ino();

    let second = dir.path().join("upload-2");
    std::fs::write(&second, data).unwrap();
    assert!(!store.blob_adopt_verified(&digest, &second).unwrap());
    assert!(!second.exists(), "an upload of a stored blob is dropped");
    assert_eq!(std::fs::metadata(&blob).unwrap().ino(), inode);
    assert_eq!(std::fs::read(&blob).unwrap(), data);

    // A later write to the dropped upload's old inode cannot reach the blob either.
    let mut late = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&second)
        .unwrap();
    std::io::Write::write_all(&mut late, b"more").unwrap();
    assert_eq!(std::fs::read(&blob).unwrap(), data);
}

// Issue 22 item 8: layouts were written 0600 whatever the umask.
#[tokio::test]
async fn written_files_and_directories_honour_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
    let m = push_image(&store, "a", 2, Some("v1")).await;
    push_referrer(&store, &m, "application/x.sbom", "s").await;
    crate::testing::assert_modes_honour_umask(&dir.path().join("l"));
}

// Issue 22 item 7: a killed copy left its temporary files in the layout for good.
#[tokio::test]
async fn opening_for_writing_removes_stale_temporaries_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("l");
    LayoutStore::open_or_create(&root).unwrap();
    let stale = root.join(format!("{}stale", crate::fs::TEMP_PREFIX));
    let fresh = root.join(format!("{}fresh", crate::fs::TEMP_PREFIX));
    std::fs::write(&stale, b"half a blob").unwrap();
    std::fs::write(&fresh, b"a blob being written").unwrap();
    let old = std::time::SystemTime::now() - crate::fs::STALE_AFTER * 2;
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let store = LayoutStore::open_or_create(&root).unwrap();
    assert!(!stale.exists(), "the stale temporary file is still there");
    assert!(
        fresh.exists(),
        "a fresh temporary file may be a live write's"
    );
    // The layout itself is untouched.
    push_image(&store, "a", 1, Some("v1")).await;
    assert_eq!(store.tag_list().await.unwrap(), vec!["v1"]);
}

#[test]
fn a_layout_is_created_among_foreign_entries_but_never_over_its_own_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("org");
    std::fs::create_dir_all(path.join("team")).unwrap();
    // Plain `open_or_create` keeps refusing any non-empty directory.
    assert!(LayoutStore::open_or_create(&path).is_err());
    let store = LayoutStore::open_or_create_among(&path, |n| n == "team").unwrap();
    assert!(store.root().join("oci-layout").is_file());
    assert!(store.root().join("team").is_dir());

    // A stray layout entry is never foreign, whatever the caller accepts.
    let stray = dir.path().join("stray");
    std::fs::create_dir_all(stray.join("blobs")).unwrap();
    assert!(LayoutStore::open_or_create_among(&stray, |_| true).is_err());
    assert!(!stray.join("oci-layout").exists());
}

/// A verified stream is written without hashing it again, but its own check still decides:
/// wrong content fails at the stream's end, a wrong length at the store's count, and
/// nothing becomes visible either way.
#[tokio::test]
async fn blob_put_verified_trusts_the_stream_s_check_and_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
    let data = bytes::Bytes::from_static(b"layer bytes");
    let desc = Descriptor::new(
        media_type::OCI_LAYER_TAR,
        Digest::sha256(&data),
        data.len() as u64,
    );

    let wrong = crate::blob::verified(
        crate::blob::from_bytes(bytes::Bytes::from_static(b"LAYER BYTES")),
        &desc,
        "test",
    );
    assert!(store.blob_put_verified(&desc, wrong).await.is_err());
    assert!(!store.blob_exists(&desc.digest).await.unwrap());

    // A stream that did not check itself and is short: the count refuses it.
    let short = crate::blob::from_bytes(bytes::Bytes::from_static(b"layer"));
    assert!(store.blob_put_verified(&desc, short).await.is_err());
    assert!(!store.blob_exists(&desc.digest).await.unwrap());

    let right = crate::blob::verified(crate::blob::from_bytes(data.clone()), &desc, "test");
    store.blob_put_verified(&desc, right).await.unwrap();
    let back = read_all(store.blob_get(&desc).await.unwrap(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(back, data);
}

#[tokio::test]
async fn tags_naming_a_manifest_come_from_one_read_of_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
    let m = push_image(&store, "a", 1, Some("v1")).await;
    store.manifest_put(&m, Some("latest")).await.unwrap();
    push_image(&store, "b", 1, Some("other")).await;
    assert_eq!(
        store.tags_naming(m.digest()).await.unwrap(),
        ["latest", "v1"]
    );
    assert!(
        store
            .tags_naming(&Digest::sha256(b"nothing"))
            .await
            .unwrap()
            .is_empty()
    );
}
