use lineage_oci::{Digest, TagOrDigest};

use super::*;
use crate::copy::{CopyOptions, copy};
use crate::testing::{push_image, push_index, push_referrer};

fn tag(t: &str) -> TagOrDigest {
    TagOrDigest::Tag(t.into())
}

#[tokio::test]
async fn layout_to_archive_and_back_keeps_every_digest() {
    let dir = tempfile::tempdir().unwrap();
    let src = LayoutStore::open_or_create(dir.path().join("src")).unwrap();
    let idx = push_index(&src, "i", Some("v1")).await;
    let r = push_referrer(&src, &idx, "application/x.sbom", "s").await;
    let tar = dir.path().join("img.tar");
    {
        let archive = ArchiveStore::open_or_create(&tar).await.unwrap();
        let opts = CopyOptions {
            referrers: true,
            ..CopyOptions::default()
        };
        copy(&src, Some(&tag("v1")), &archive, Some("v1"), &opts)
            .await
            .unwrap();
        archive.flush().await.unwrap();
    }
    let first = std::fs::read(&tar).unwrap();

    let archive = ArchiveStore::open(&tar).await.unwrap();
    assert_eq!(
        archive.resolve(&tag("v1")).await.unwrap().digest,
        *idx.digest()
    );
    assert_eq!(
        archive.manifest_get(idx.digest()).await.unwrap().bytes(),
        idx.bytes()
    );
    assert_eq!(
        archive.referrers(idx.digest(), None).await.unwrap()[0].digest,
        *r.digest()
    );
    assert!(archive.name().starts_with("oci-archive:"));

    let back = LayoutStore::open_or_create(dir.path().join("back")).unwrap();
    copy(&archive, None, &back, Some("v1"), &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        back.manifest_fetch(&tag("v1")).await.unwrap().bytes(),
        idx.bytes()
    );

    // Packing is reproducible: repacking the same content gives the same bytes.
    let a2 = ArchiveStore::open_or_create(&tar).await.unwrap();
    a2.manifest_put(&idx, Some("v1")).await.unwrap();
    a2.flush().await.unwrap();
    let second = std::fs::read(&tar).unwrap();
    assert!(
        Digest::sha256(&first) == Digest::sha256(&second),
        "repacking changed the archive"
    );
}

#[tokio::test]
async fn writing_to_an_existing_archive_keeps_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("a.tar");
    let one = {
        let a = ArchiveStore::open_or_create(&tar).await.unwrap();
        let m = push_image(&a, "one", 1, Some("one")).await;
        a.flush().await.unwrap();
        m
    };
    let two = {
        let a = ArchiveStore::open_or_create(&tar).await.unwrap();
        let m = push_image(&a, "two", 1, Some("two")).await;
        a.flush().await.unwrap();
        m
    };
    let a = ArchiveStore::open(&tar).await.unwrap();
    assert_eq!(a.tag_list().await.unwrap(), vec!["one", "two"]);
    assert_eq!(a.resolve(&tag("one")).await.unwrap().digest, *one.digest());
    assert_eq!(a.resolve(&tag("two")).await.unwrap().digest, *two.digest());
    let err = a.manifest_delete(one.digest()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn bad_archives_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = ArchiveStore::open(dir.path().join("none.tar"))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");

    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar file at all").unwrap();
    assert!(ArchiveStore::open(&junk).await.is_err());

    let gz = dir.path().join("x.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    assert!(
        ArchiveStore::open(&gz)
            .await
            .unwrap_err()
            .to_string()
            .contains("gzip")
    );

    // A real archive cut short in the middle of a blob.
    let good = dir.path().join("good.tar");
    let a = ArchiveStore::open_or_create(&good).await.unwrap();
    push_image(&a, "t", 2, Some("v1")).await;
    a.flush().await.unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = ArchiveStore::open(&cut).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidArchive { .. }), "{err}");
    assert!(err.to_string().contains("cut.tar"), "{err}");

    // A tar that is not a layout.
    let plain = dir.path().join("plain.tar");
    {
        let f = std::fs::File::create(&plain).unwrap();
        let mut b = tar::Builder::new(f);
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "hello.txt", &b"hi\n"[..]).unwrap();
        b.finish().unwrap();
    }
    let err = ArchiveStore::open(&plain).await.unwrap_err();
    assert!(
        err.to_string().contains("not an OCI image layout archive"),
        "{err}"
    );
}

// Issue 22 item 8: archives were written 0600 whatever the umask.
#[tokio::test]
async fn the_archive_honours_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("out").join("a.tar");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let archive = ArchiveStore::open_or_create(&tar).await.unwrap();
    push_image(&archive, "a", 1, Some("v1")).await;
    archive.flush().await.unwrap();
    drop(archive);
    crate::testing::assert_modes_honour_umask(&dir.path().join("out"));
    assert!(tar.is_file());
}

// Issue 22 item 7: a killed write left its staging directory beside the archive for good.
#[tokio::test]
async fn opening_for_writing_removes_stale_staging_beside_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("a.tar");
    let stale = dir.path().join(format!("{}stale", crate::fs::TEMP_PREFIX));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("blob"), b"half a blob").unwrap();
    let fresh = dir
        .path()
        .join(format!("{}fresh.tar", crate::fs::TEMP_PREFIX));
    std::fs::write(&fresh, b"an archive being packed").unwrap();
    let old = std::time::SystemTime::now() - crate::fs::STALE_AFTER * 2;
    for p in [stale.join("blob"), stale.clone()] {
        std::fs::File::open(&p).unwrap().set_modified(old).unwrap();
    }

    let archive = ArchiveStore::open_or_create(&tar).await.unwrap();
    assert!(
        !stale.exists(),
        "the stale staging directory is still there"
    );
    assert!(
        fresh.exists(),
        "a fresh temporary file may be a live write's"
    );
    drop(archive);
}
