//! `lineage serve`'s registry over HTTP on loopback: upload sessions that cannot change a
//! stored blob (issue 14 item 1), that expire and are capped (item 5), and the answers of
//! item 9 (416 without appending, no blob DELETE of a manifest, distribution's codes for bad
//! `n` and tags, 413 before an oversize body is read).

use std::time::Duration;

use crate::support::{Server, error_code, read_head};
use lineage_oci::Digest;
use lineage_server::Policy;
use tokio::io::AsyncWriteExt;

/// How long a request may take before the test calls it stuck. Only a guard against a
/// deadlock: every request here answers at once when the registry is right.
const STUCK: Duration = Duration::from_secs(60);

// Issue 14 item 1: a PATCH sent while the finishing PUT is reading its body must be refused
// (the session is closed before the body is read), and the blob that lands is exactly the
// digest's bytes. The PUT is sent by hand with `Expect: 100-continue`: the registry answers
// `100 Continue` when the handler starts reading the body, so the PATCH goes out while the
// PUT is certainly in flight, without sleeping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_racing_a_finishing_put_cannot_change_the_stored_blob() {
    let server = Server::start(Policy::default()).await;
    let upload = server.open_upload("r").await;
    let r = server
        .client
        .patch(server.url(&upload))
        .body("hello ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    let digest = Digest::sha256(b"hello world");
    let mut put = server
        .raw_head(
            "PUT",
            &format!("{upload}?digest={digest}"),
            &[
                ("content-length", "5"),
                ("content-type", "application/octet-stream"),
            ],
        )
        .await;
    let interim = read_head(&mut put).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    // The PUT is reading its body now; the session must be gone for everyone else.
    let patch = server.client.patch(server.url(&upload)).body("EVIL").send();
    let patch = tokio::time::timeout(STUCK, patch)
        .await
        .expect("a PATCH on a finishing session waited for it instead of being refused")
        .unwrap();
    assert_eq!(error_code(patch).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));

    put.write_all(b"world").await.unwrap();
    let answer = read_head(&mut put).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let file = server.blob_file("r", &digest);
    assert_eq!(std::fs::read(&file).unwrap(), b"hello world");
    let r = server
        .client
        .get(server.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"hello world");

    // Every request on the finished session is refused, and none reaches the blob.
    for method in [reqwest::Method::PATCH, reqwest::Method::PUT] {
        let r = server
            .client
            .request(
                method.clone(),
                server.url(&format!("{upload}?digest={digest}")),
            )
            .body("EVIL")
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(r).await,
            (404, "BLOB_UPLOAD_UNKNOWN".into()),
            "{method}"
        );
    }
    let r = server.client.get(server.url(&upload)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(std::fs::read(&file).unwrap(), b"hello world");
    assert!(
        server.upload_files().is_empty(),
        "{:?}",
        server.upload_files()
    );
}

// Issue 14 item 1: an upload of bytes the repository has must not replace the stored file.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishing_an_upload_of_a_stored_blob_leaves_the_stored_file_alone() {
    use std::os::unix::fs::MetadataExt;
    let server = Server::start(Policy::default()).await;
    let digest = server.push_blob("r", b"layer").await;
    let file = server.blob_file("r", &digest);
    let inode = std::fs::metadata(&file).unwrap().ino();

    let upload = server.open_upload("r").await;
    let r = server
        .client
        .put(server.url(&format!("{upload}?digest={digest}")))
        .body("layer")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
    assert_eq!(std::fs::read(&file).unwrap(), b"layer");
    // The same through a single POST.
    server.push_blob("r", b"layer").await;
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
    assert!(
        server.upload_files().is_empty(),
        "{:?}",
        server.upload_files()
    );
}

// Issue 14 item 5: an idle session expires (the clock moves, nothing sleeps): a request on
// it answers BLOB_UPLOAD_UNKNOWN, and its file is removed, also by the next POST's sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_upload_sessions_expire_and_their_files_go() {
    let policy = Policy {
        upload_idle_timeout: Duration::from_secs(600),
        ..Policy::default()
    };
    let server = Server::start(policy).await;
    let used = server.open_upload("r").await;
    let r = server
        .client
        .patch(server.url(&used))
        .body("some")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let abandoned = server.open_upload("r").await;
    assert_eq!(server.upload_files().len(), 2);

    server.clock.advance(599);
    let r = server.client.get(server.url(&used)).send().await.unwrap();
    assert_eq!(r.status(), 204, "not idle long enough yet");
    server.clock.advance(1);
    let r = server
        .client
        .patch(server.url(&used))
        .body("more")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
    assert_eq!(
        server.upload_files().len(),
        1,
        "the expired file is removed"
    );

    let fresh = server.open_upload("r").await;
    assert_eq!(
        server.upload_files().len(),
        1,
        "the sweep removed the other"
    );
    let r = server
        .client
        .get(server.url(&abandoned))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
    let r = server.client.get(server.url(&fresh)).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

// Issue 14 item 5: the number of open sessions is capped; one more answers 429, and a
// finished or cancelled session makes room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_upload_sessions_are_capped() {
    let policy = Policy {
        max_uploads: 2,
        ..Policy::default()
    };
    let server = Server::start(policy).await;
    let first = server.open_upload("r").await;
    server.open_upload("r").await;
    let r = server
        .client
        .post(server.url("/v2/r/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (429, "TOOMANYREQUESTS".into()));
    // A single-POST upload holds no session, so it still works.
    server.push_blob("r", b"small").await;
    let r = server
        .client
        .delete(server.url(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    server.open_upload("r").await;
}

// Issue 14 item 9: a chunk refused with 416 (out of order, or not as long as its
// Content-Range says) appends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_refused_with_416_appends_nothing() {
    let server = Server::start(Policy::default()).await;
    let upload = server.open_upload("r").await;
    let chunk = |range: &'static str, body: &'static str| {
        server
            .client
            .patch(server.url(&upload))
            .header("content-range", range)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    assert_eq!(chunk("0-2", "abc").await.unwrap().status(), 202);
    let r = chunk("5-7", "XYZ").await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], "0-2");
    let r = chunk("3-5", "XYZW").await.unwrap();
    assert_eq!(r.status(), 416, "four bytes in a three-byte range");
    let r = server.client.get(server.url(&upload)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-2");
    assert_eq!(chunk("3-5", "def").await.unwrap().status(), 202);

    let digest = Digest::sha256(b"abcdef");
    let r = server
        .client
        .put(server.url(&format!("{upload}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        std::fs::read(server.blob_file("r", &digest)).unwrap(),
        b"abcdef"
    );
}

// Issue 14 item 9: DELETE /blobs/ of a manifest's digest is refused, and the manifest and its
// tag keep working; an ordinary blob still deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_delete_of_a_manifest_is_refused() {
    let server = Server::start(Policy::default()).await;
    let config = server.push_blob("r", b"{}").await;
    let layer = server.push_blob("r", b"layer").await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.as_str(), "size": 5}],
    })
    .to_string();
    let digest = Digest::sha256(manifest.as_bytes());
    let r = server
        .client
        .put(server.url("/v2/r/manifests/v1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let r = server
        .client
        .delete(server.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (405, "UNSUPPORTED".into()));
    let r = server
        .client
        .get(server.url("/v2/r/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), manifest.as_bytes());

    let r = server
        .client
        .delete(server.url(&format!("/v2/r/blobs/{config}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

// Issue 14 item 9: distribution's codes where the spec has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_page_sizes_and_tags_get_their_own_codes() {
    let server = Server::start(Policy::default()).await;
    server.push_blob("r", b"x").await;
    for path in ["/v2/r/tags/list?n=abc", "/v2/_catalog?n=-1"] {
        let r = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(
            error_code(r).await,
            (400, "PAGINATION_NUMBER_INVALID".into()),
            "{path}"
        );
    }
    for path in ["/v2/r/manifests/-bad", "/v2/r/manifests/ok?tag=.bad"] {
        let r = server
            .client
            .put(server.url(path))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r).await, (400, "TAG_INVALID".into()), "{path}");
    }
}

// Issue 14 item 9: a manifest PUT announcing more than the limit is refused before its body
// is read: the answer is the 413 itself, not the `100 Continue` that reading would send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_manifest_is_refused_before_its_body() {
    let server = Server::start(Policy::default()).await;
    let mut put = server
        .raw_head(
            "PUT",
            "/v2/r/manifests/v1",
            &[
                ("content-length", "5000000"),
                ("content-type", "application/vnd.oci.image.manifest.v1+json"),
            ],
        )
        .await;
    let answer = read_head(&mut put).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

/// Push an image (config `{}` and one layer `layer`) to `repo:tag`; its manifest bytes.
async fn push_image(server: &Server, repo: &str, tag: &str) -> String {
    let config = server.push_blob(repo, b"{}").await;
    let layer = server.push_blob(repo, b"layer").await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.as_str(), "size": 5}],
    })
    .to_string();
    let r = server
        .client
        .put(server.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{repo}: {:?}", r.text().await);
    manifest
}

async fn assert_manifest(server: &Server, repo: &str, tag: &str, manifest: &str) {
    let r = server
        .client
        .get(server.url(&format!("/v2/{repo}/manifests/{tag}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{repo}:{tag}");
    assert_eq!(
        r.bytes().await.unwrap(),
        manifest.as_bytes(),
        "{repo}:{tag}"
    );
}

// Issue 14 item 6: a repository nested in another's name is stored beside its layout, in
// either order of creation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_repository_names_are_both_stored_in_either_order() {
    let server = Server::start(Policy::default()).await;
    for (first, second) in [("org/team", "org"), ("solo", "solo/sub")] {
        let a = push_image(&server, first, "v1").await;
        let b = push_image(&server, second, "v2").await;
        assert_manifest(&server, first, "v1", &a).await;
        assert_manifest(&server, second, "v2", &b).await;
        let r = server
            .client
            .get(server.url(&format!("/v2/{second}/manifests/v1")))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r).await.1, "MANIFEST_UNKNOWN", "{second}");
    }
    let r = server
        .client
        .get(server.url("/v2/_catalog"))
        .send()
        .await
        .unwrap();
    let catalog: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        catalog["repositories"],
        serde_json::json!(["org", "org/team", "solo", "solo/sub"])
    );
}

// Issue 14 item 6: `app/blobs/sha256/<hex>` used to squat the path of `app`'s blob `<hex>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_inside_another_repositorys_layout_is_name_invalid() {
    let server = Server::start(Policy::default()).await;
    let data = b"the blob of app";
    let digest = server.push_blob("app", data).await;
    let hex = digest.encoded();
    for name in [
        format!("app/blobs/sha256/{hex}"),
        "app/blobs".to_string(),
        "app/index.json".to_string(),
        "app/oci-layout".to_string(),
    ] {
        let r = server
            .client
            .post(server.url(&format!("/v2/{name}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r).await, (400, "NAME_INVALID".into()), "{name}");
        let r = server
            .client
            .head(server.url(&format!("/v2/{name}/manifests/latest")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{name}");
    }
    // `app`'s blob is untouched and served whole.
    assert!(server.blob_file("app", &digest).is_file());
    let r = server
        .client
        .get(server.url(&format!("/v2/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), &data[..]);
}

/// Push an image whose one layer is `layer` to `repo:reference`; its manifest's digest.
async fn push_distinct(server: &Server, repo: &str, reference: &str, layer: &[u8]) -> String {
    let config = server.push_blob(repo, b"{}").await;
    let blob = server.push_blob(repo, layer).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blob.as_str(), "size": layer.len()}],
    })
    .to_string();
    let digest = Digest::sha256(manifest.as_bytes()).to_string();
    let reference = reference.replace("DIGEST", &digest);
    let r = server
        .client
        .put(server.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{repo}: {:?}", r.text().await);
    digest
}

// Issue 18: lineage's `/_lineage/untagged` extension lists what no tag names (a tag that
// moved on, a push by digest), sorted by digest and paged with `n`, `last` and `Link`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_untagged_listing_pages_what_no_tag_names() {
    let server = Server::start(Policy::default()).await;
    let a = push_distinct(&server, "r", "v1", b"a").await;
    let b = push_distinct(&server, "r", "v1", b"b").await;
    let tagged = push_distinct(&server, "r", "v1", b"c").await;
    let by_digest = push_distinct(&server, "r", "DIGEST", b"d").await;
    let mut expected = vec![a, b, by_digest];
    expected.sort();
    let mut seen = Vec::new();
    let mut path = "/v2/r/_lineage/untagged?n=2".to_string();
    for _ in 0..3 {
        let r = server.client.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let next = r
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let page: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        for m in page["manifests"].as_array().unwrap() {
            assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
            seen.push(m["digest"].as_str().unwrap().to_string());
        }
        match next {
            Some(link) => {
                path = link
                    .trim_start_matches('<')
                    .split_once('>')
                    .unwrap()
                    .0
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(seen, expected, "not {tagged}, once each, in digest order");
    let r = server
        .client
        .get(server.url("/v2/nothing/_lineage/untagged"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (404, "NAME_UNKNOWN".into()));
}
