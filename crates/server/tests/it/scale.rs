//! Issue 15: the registry at scale — blob ranges over the chunked reads, a restart that
//! lists the same referrers, and garbage collection through the registry's own handles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lineage_server::Policy;
use lineage_server::Registry;
use lineage_server::registry::GcOptions;

use crate::support::Server;

const EMPTY: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

fn referrer(subject: &str, n: usize, artifact_type: &str) -> String {
    serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 10},
        "annotations": {"n": n.to_string()}
    })
    .to_string()
}

async fn put_manifest(client: &reqwest::Client, base: &str, repo: &str, body: &str) -> String {
    let digest = lineage_oci::Digest::sha256(body.as_bytes());
    let r = client
        .put(format!("{base}/v2/{repo}/manifests/{digest}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    digest.to_string()
}

async fn referrers(
    client: &reqwest::Client,
    base: &str,
    repo: &str,
    subject: &str,
    q: &str,
) -> serde_json::Value {
    let r = client
        .get(format!("{base}/v2/{repo}/referrers/{subject}{q}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_a_blob_larger_than_a_read_chunk() {
    let server = Server::start(Policy::default()).await;
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let digest = server.push_blob("big", &data).await;
    let url = server.url(&format!("/v2/big/blobs/{digest}"));
    let whole = server.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &data[..]);
    for (range, from, to) in [
        ("bytes=2097000-4194400", 2_097_000usize, 4_194_400usize),
        ("bytes=4999990-", 4_999_990, 4_999_999),
        ("bytes=-3", 4_999_997, 4_999_999),
        ("bytes=0-0", 0, 0),
    ] {
        let r = server
            .client
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {from}-{to}/5000000").as_str()
        );
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            &data[from..=to],
            "{range}"
        );
    }
    let r = server
        .client
        .get(&url)
        .header("range", "bytes=5000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
}

/// A registry on `root`, served on a free port: its base URL and the task serving it.
async fn serve_root(
    root: &std::path::Path,
) -> (String, Arc<Registry>, tokio::task::JoinHandle<()>) {
    let registry = Arc::new(Registry::open(root, Policy::default()).await.unwrap());
    let app = lineage_server::app(registry.clone(), None, None, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), registry, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_lists_the_same_referrers_filtered_and_paged_alike() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let subject = format!("sha256:{}", "cd".repeat(32));
    let (base, registry, task) = serve_root(dir.path()).await;
    let r = client
        .post(format!("{base}/v2/app/blobs/uploads/?digest={EMPTY}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for n in 0..40 {
        let t = if n % 4 == 0 {
            "application/x.sig"
        } else {
            "application/x.sbom"
        };
        put_manifest(&client, &base, "app", &referrer(&subject, n, t)).await;
    }
    let before = referrers(&client, &base, "app", &subject, "").await;
    let sigs = referrers(
        &client,
        &base,
        "app",
        &subject,
        "?artifactType=application/x.sig",
    )
    .await;
    assert_eq!(before["manifests"].as_array().unwrap().len(), 40);
    assert_eq!(sigs["manifests"].as_array().unwrap().len(), 10);
    task.abort();
    let _ = task.await;
    drop(registry);

    let (base, _registry, _task) = serve_root(dir.path()).await;
    assert_eq!(referrers(&client, &base, "app", &subject, "").await, before);
    assert_eq!(
        referrers(
            &client,
            &base,
            "app",
            &subject,
            "?artifactType=application/x.sig"
        )
        .await,
        sigs
    );
}

/// Every manifest listed in each repository and every blob it names, fetched over HTTP.
async fn fetch_everything_live(server: &Server, repos: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for repo in repos {
        let store = lineage_store::LayoutStore::open(server.root.join(repo)).unwrap();
        for e in store.index().unwrap().entries {
            let url = server.url(&format!("/v2/{repo}/manifests/{}", e.digest()));
            let r = server
                .client
                .get(&url)
                .header("accept", e.media_type())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{url}");
            let bytes = r.bytes().await.unwrap().to_vec();
            let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            out.insert(format!("{repo}@{}", e.digest()), bytes);
            let mut children: Vec<&serde_json::Value> = m["layers"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            children.push(&m["config"]);
            for c in children {
                let d = c["digest"].as_str().unwrap();
                let r = server
                    .client
                    .get(server.url(&format!("/v2/{repo}/blobs/{d}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{repo} blob {d}");
                out.insert(format!("{repo}@{d}"), r.bytes().await.unwrap().to_vec());
            }
        }
    }
    out
}

fn age(path: &std::path::Path) {
    let then = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_keeps_everything_live_and_removes_orphans_and_referrers_only_when_asked() {
    let server = Server::start(Policy::default()).await;
    let registry_root = server.root.clone();
    let config = server.push_blob("app", b"{}").await;
    let layer = server.push_blob("app", b"live layer").await;
    let image = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.as_str(), "size": 10}]
    })
    .to_string();
    let r = server
        .client
        .put(server.url("/v2/app/manifests/v1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(image.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let image_digest = lineage_oci::Digest::sha256(image.as_bytes()).to_string();
    let live_referrer = put_manifest(
        &server.client,
        &server.base,
        "app",
        &referrer(&image_digest, 1, "application/x.a"),
    )
    .await;
    let ghost = put_manifest(
        &server.client,
        &server.base,
        "app",
        &referrer(&format!("sha256:{}", "ee".repeat(32)), 2, "application/x.a"),
    )
    .await;
    let orphan = server.push_blob("app", b"orphan layer").await;
    let fresh = server.push_blob("other", b"just uploaded").await;
    for d in [&config, &layer, &orphan] {
        age(&server.blob_file("app", d));
    }
    for d in [&live_referrer, &ghost, &image_digest] {
        age(&server.blob_file("app", &d.parse().unwrap()));
    }
    let before = fetch_everything_live(&server, &["app"]).await;

    let registry = Registry::open(&registry_root, Policy::default())
        .await
        .unwrap();
    let report = registry
        .collect_garbage(&GcOptions::default())
        .await
        .unwrap();
    assert_eq!(report.blobs_removed, 1, "{report:?}");
    assert_eq!(
        report.repositories[0].report.blobs_removed[0].digest,
        orphan
    );
    assert_eq!(report.referrers_removed, 0);
    assert!(
        server.blob_file("other", &fresh).is_file(),
        "inside the grace window"
    );
    assert_eq!(fetch_everything_live(&server, &["app"]).await, before);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["blobs_removed"], 1);
    assert!(
        registry
            .gc_metrics()
            .iter()
            .any(|(k, v)| *k == "lineage_registry_gc_blobs_removed_total" && *v == 1)
    );

    let report = registry
        .collect_garbage(&GcOptions {
            delete_referrers_with_subject: true,
            ..GcOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(report.referrers_removed, 1, "{report:?}");
    assert_eq!(
        report.repositories[0].report.referrers_removed[0].to_string(),
        ghost
    );
    let mut rest = before;
    rest.remove(&format!("app@{ghost}"));
    assert_eq!(fetch_everything_live(&server, &["app"]).await, rest);
    let listed = referrers(&server.client, &server.base, "app", &image_digest, "").await;
    assert_eq!(listed["manifests"][0]["digest"], live_referrer.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_of_a_root_refuses_to_remove_referrers_under_a_running_server() {
    let server = Server::start(Policy::default()).await;
    let options = GcOptions {
        delete_referrers_with_subject: true,
        ..GcOptions::default()
    };
    let err =
        lineage_server::registry::collect_root(&server.root, &options, Duration::from_secs(3600))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("is running"), "{err}");
    let dry = lineage_server::registry::collect_root(
        &server.root,
        &GcOptions {
            dry_run: true,
            ..GcOptions::default()
        },
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert!(dry.dry_run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_of_a_root_leaves_a_running_servers_upload_sessions_alone() {
    let server = Server::start(Policy::default()).await;
    let r = server
        .client
        .post(format!("{}/v2/app/blobs/uploads/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let uploads = server.root.join(".lineage-uploads");
    let files: Vec<_> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // Idle longer than the age asked for, but the server's own idle timeout has not passed.
    age(&files[0]);

    let report = lineage_server::registry::collect_root(
        &server.root,
        &GcOptions::default(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(report.uploads_left_to_server, "{report:?}");
    assert_eq!(report.uploads_removed, 0);
    assert!(files[0].is_file(), "the session's file is still there");

    let data = b"finished after the collection";
    let digest = lineage_oci::Digest::sha256(data);
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = server
        .client
        .put(format!("{}{location}{sep}digest={digest}", server.base))
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let r = server
        .client
        .get(format!("{}/v2/app/blobs/{digest}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), data);
}
