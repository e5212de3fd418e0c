//! Registry behaviour no real registry on these machines shows, scripted with wiremock:
//! referrers API pagination and filtering, `Retry-After`, redirects to another host, a
//! fallback tag that resolves to the subject, a declined mount, identity tokens,
//! `OCI-Chunk-Min-Length`, and answers longer than lineage reads (some from a small chunked
//! server, for bodies without a `Content-Length`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use futures_util::StreamExt;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest, media_type};
use lineage_registry_client::credentials::Credential;
use lineage_registry_client::{
    ClientOptions, RegistryClient, RegistryError, RegistryStore, limits,
};
use lineage_store::{ErrorKind, MountSource, ReadStore, Store, blob};
use serde_json::json;
use wiremock::matchers::{
    body_string_contains, header, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn host(server: &MockServer) -> String {
    server.address().to_string()
}

fn client(options: ClientOptions) -> RegistryClient {
    RegistryClient::new(ClientOptions {
        plain_http: true,
        retries: 2,
        backoff: std::time::Duration::from_millis(1),
        ..options
    })
    .unwrap()
}

fn store(server: &MockServer, options: ClientOptions) -> RegistryStore {
    RegistryStore::for_repository(client(options), &host(server), "app")
}

fn entry(artifact_type: &str, seed: &str) -> Descriptor {
    let mut d = Descriptor::new(
        media_type::OCI_MANIFEST,
        Digest::sha256(seed.as_bytes()),
        100,
    );
    d.artifact_type = Some(artifact_type.to_string());
    d
}

fn index_body(entries: &[Descriptor]) -> serde_json::Value {
    json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": entries})
}

#[tokio::test]
async fn referrers_api_pages_are_followed_and_filtered_on_the_client() {
    let server = MockServer::start().await;
    let subject = Digest::sha256(b"subject");
    let route = format!("/v2/app/referrers/{subject}");
    let (a, b, c) = (entry("x", "a"), entry("y", "b"), entry("x", "c"));
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{route}?page=2>; rel=\"next\"").as_str())
                .set_body_raw(
                    serde_json::to_vec(&index_body(&[a.clone(), b.clone()])).unwrap(),
                    media_type::OCI_INDEX,
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::to_vec(&index_body(std::slice::from_ref(&c))).unwrap(),
            media_type::OCI_INDEX,
        ))
        .mount(&server)
        .await;
    // The API answered, so the fallback tag must never be read.
    Mock::given(method("GET"))
        .and(path(format!(
            "/v2/app/manifests/sha256-{}",
            subject.encoded()
        )))
        .respond_with(ResponseTemplate::new(404))
        .expect(0)
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let all: Vec<Digest> = s
        .referrers(&subject, None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(
        all,
        vec![a.digest.clone(), b.digest.clone(), c.digest.clone()]
    );
    // No `OCI-Filters-Applied`: the client filters.
    let xs: Vec<Digest> = s
        .referrers(&subject, Some("x"))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(xs, vec![a.digest, c.digest]);
}

#[tokio::test]
async fn an_applied_filter_is_trusted() {
    let server = MockServer::start().await;
    let subject = Digest::sha256(b"subject");
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .and(query_param("artifactType", "application/x.sbom"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("oci-filters-applied", "artifactType")
                .set_body_raw(
                    serde_json::to_vec(&index_body(&[entry("application/x.sbom", "s")])).unwrap(),
                    media_type::OCI_INDEX,
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let got = s
        .referrers(&subject, Some("application/x.sbom"))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let digest = Digest::sha256(body);
    let route = format!("/v2/app/manifests/{digest}");
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", media_type::OCI_INDEX)
                .set_body_bytes(body.to_vec()),
        )
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let m = s.manifest_get(&digest).await.unwrap();
    assert_eq!(m.digest(), &digest);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_are_reported_with_the_registry_code() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(
                json!({"errors": [{"code": "UNAVAILABLE", "message": "try later"}]}),
            ),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = store(&server, ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&host(&server)) && text.contains("/v2/app/tags/list") && text.contains("503"),
        "{text}"
    );
    assert!(text.contains("UNAVAILABLE (try later)"), "{text}");
}

#[tokio::test]
async fn authorization_is_never_sent_to_another_host_on_a_redirect() {
    let registry = MockServer::start().await;
    let cdn = MockServer::start().await;
    let data = b"layer bytes served by a CDN".to_vec();
    let desc = Descriptor::new(
        media_type::OCI_LAYER_TAR,
        Digest::sha256(&data),
        data.len() as u64,
    );
    let route = format!("/v2/app/blobs/{}", desc.digest);
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(header("authorization", "Basic dXNlcjpzZWNyZXQ="))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("http://{}/cdn/blob", host(&cdn)).as_str(),
        ))
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"registry\""),
        )
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/cdn/blob"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(data.clone()))
        .mount(&cdn)
        .await;
    let mut options = ClientOptions::default();
    options.credentials.insert(
        host(&registry),
        Credential::Basic {
            username: "user".into(),
            password: "secret".into(),
        },
    );
    let s = store(&registry, options);
    let got = blob::read_all(s.blob_get(&desc).await.unwrap(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(&got[..], &data[..]);
    let at_cdn = cdn.received_requests().await.unwrap();
    assert_eq!(at_cdn.len(), 1);
    assert!(
        at_cdn
            .iter()
            .all(|r: &Request| !r.headers.contains_key("authorization")),
        "credentials leaked to the CDN"
    );
}

#[tokio::test]
async fn a_fallback_tag_that_resolves_to_the_subject_is_not_an_index() {
    let server = MockServer::start().await;
    let subject_bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
    let subject = Digest::sha256(&subject_bytes);
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .respond_with(ResponseTemplate::new(404).set_body_string("404 page not found"))
        .mount(&server)
        .await;
    // A registry that normalises the tag `sha256-<hex>` to the digest serves the subject.
    Mock::given(method("GET"))
        .and(path(format!(
            "/v2/app/manifests/sha256-{}",
            subject.encoded()
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", media_type::OCI_INDEX)
                .insert_header("docker-content-digest", subject.as_str())
                .set_body_bytes(subject_bytes.clone()),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_prefix_manifests())
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    assert!(s.referrers(&subject, None).await.unwrap().is_empty());
    let referrer = lineage_oci::artifact::manifest(
        "application/x.note",
        &Descriptor::new(
            media_type::OCI_INDEX,
            subject.clone(),
            subject_bytes.len() as u64,
        ),
        &[],
        &Default::default(),
    )
    .unwrap();
    let err = s.manifest_put(&referrer, None).await.unwrap_err();
    assert!(
        err.to_string().contains("resolves to the subject itself"),
        "{err}"
    );
}

fn path_prefix_manifests() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex("^/v2/app/manifests/")
}

#[tokio::test]
async fn a_declined_mount_cancels_the_session_and_reports_false() {
    let server = MockServer::start().await;
    let desc = Descriptor::new(media_type::OCI_LAYER_TAR, Digest::sha256(b"x"), 1);
    Mock::given(method("POST"))
        .and(path("/v2/app/blobs/uploads/"))
        .and(query_param("mount", desc.digest.as_str()))
        .and(query_param("from", "other"))
        .respond_with(
            ResponseTemplate::new(202).insert_header("location", "/v2/app/blobs/uploads/session-1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/app/blobs/uploads/session-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let from = MountSource {
        registry: host(&server),
        repository: "other".into(),
    };
    assert!(!s.blob_mount(&desc, &from).await.unwrap());
    // A mount from another registry is not even tried.
    let elsewhere = MountSource {
        registry: "example.com".into(),
        repository: "other".into(),
    };
    assert!(!s.blob_mount(&desc, &elsewhere).await.unwrap());
}

#[tokio::test]
async fn identity_tokens_use_the_refresh_token_grant() {
    let server = MockServer::start().await;
    let realm = format!("http://{}/token", host(&server));
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": ["v1"]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"svc\"").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains("service=svc"))
        .and(body_string_contains("scope=repository%3Aapp%3Apull"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "access-1", "expires_in": 300})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut options = ClientOptions::default();
    options
        .credentials
        .insert(host(&server), Credential::IdentityToken("refresh-1".into()));
    let s = store(&server, options);
    assert_eq!(s.tag_list().await.unwrap(), vec!["v1"]);
    // The token is cached: a second listing asks the token service nothing more.
    assert_eq!(s.tag_list().await.unwrap(), vec!["v1"]);
}

#[tokio::test]
async fn chunked_uploads_honour_the_registry_minimum() {
    let server = MockServer::start().await;
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let desc = Descriptor::new(
        media_type::OCI_LAYER_TAR,
        Digest::sha256(&data),
        data.len() as u64,
    );
    Mock::given(method("POST"))
        .and(path("/v2/app/blobs/uploads/"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("location", "/v2/app/blobs/uploads/s1?state=a")
                .insert_header("oci-chunk-min-length", "1048576"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v2/app/blobs/uploads/s1"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("location", "/v2/app/blobs/uploads/s1?state=b"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/app/blobs/uploads/s1"))
        .and(query_param("digest", desc.digest.as_str()))
        .and(query_param("state", "b"))
        .respond_with(
            ResponseTemplate::new(201).insert_header("docker-content-digest", desc.digest.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = store(
        &server,
        ClientOptions {
            chunk_size: Some(256 * 1024),
            ..ClientOptions::default()
        },
    );
    let pieces: Vec<_> = data
        .chunks(100_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(pieces).boxed();
    s.blob_put(&desc, stream).await.unwrap();
    let patches: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    let sizes: Vec<usize> = patches.iter().map(|r| r.body.len()).collect();
    assert_eq!(sizes, vec![1_048_576, 1_500_000 - 1_048_576]);
    let ranges: Vec<&str> = patches
        .iter()
        .map(|r| r.headers["content-range"].to_str().unwrap())
        .collect();
    assert_eq!(ranges, vec!["0-1048575", "1048576-1499999"]);
}

#[tokio::test]
async fn tag_lists_follow_links_and_accept_null() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .and(query_param_is_missing("last"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", "</v2/app/tags/list?last=b&n=2>; rel=\"next\"")
                .set_body_json(json!({"name": "app", "tags": ["b", "a"]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .and(query_param("last", "b"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": null})),
        )
        .mount(&server)
        .await;
    assert_eq!(
        store(&server, ClientOptions::default())
            .tag_list()
            .await
            .unwrap(),
        vec!["a", "b"]
    );
}

#[tokio::test]
async fn a_manifest_whose_bytes_do_not_match_the_sent_digest_is_refused() {
    let server = MockServer::start().await;
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    Mock::given(method("GET"))
        .and(path("/v2/app/manifests/v1"))
        .and(header_exists("accept"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", media_type::OCI_INDEX)
                .insert_header("docker-content-digest", Digest::sha256(b"other").as_str())
                .set_body_bytes(body.to_vec()),
        )
        .mount(&server)
        .await;
    let err = store(&server, ClientOptions::default())
        .manifest_fetch(&lineage_oci::TagOrDigest::Tag("v1".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, lineage_store::StoreError::Verify { .. }),
        "{err}"
    );
    let _ = RawManifest::from_bytes(body.to_vec(), None).unwrap();
}

/// An artifact manifest naming the empty config `{}` as config and layer, and its blob route.
fn empty_artifact() -> (RawManifest, String) {
    let empty = Digest::sha256(b"{}");
    let body = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": "application/x.test",
        "config": {"mediaType": media_type::OCI_EMPTY, "digest": empty, "size": 2},
        "layers": [{"mediaType": media_type::OCI_EMPTY, "digest": empty, "size": 2}],
    });
    let raw = RawManifest::from_bytes(serde_json::to_vec(&body).unwrap(), None).unwrap();
    (raw, format!("/v2/app/blobs/{empty}"))
}

fn blob_unknown() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"errors": [
        {"code": "DIGEST_INVALID", "message": "provided digest did not match uploaded content"},
        {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry"},
    ]}))
}

/// distribution 2.8 can call a blob unknown while another client's upload of the same blob
/// rewrites its link (seen with 32 concurrent `lineage attach`): the blob answers a HEAD, so
/// the PUT is sent again and succeeds.
#[tokio::test]
async fn a_blob_unknown_answer_for_blobs_that_exist_is_tried_again() {
    let server = MockServer::start().await;
    let (manifest, blob_route) = empty_artifact();
    let route = format!("/v2/app/manifests/{}", manifest.digest());
    Mock::given(method("PUT"))
        .and(path(route.clone()))
        .respond_with(blob_unknown())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path(blob_route))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let pushed = store(&server, ClientOptions::default())
        .manifest_put(&manifest, None)
        .await
        .unwrap();
    assert_eq!(&pushed.descriptor.digest, manifest.digest());
}

/// A blob that is really missing keeps the registry's answer, after one PUT.
#[tokio::test]
async fn a_blob_unknown_answer_for_a_missing_blob_is_reported() {
    let server = MockServer::start().await;
    let (manifest, blob_route) = empty_artifact();
    Mock::given(method("PUT"))
        .and(path(format!("/v2/app/manifests/{}", manifest.digest())))
        .respond_with(blob_unknown())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path(blob_route))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let err = store(&server, ClientOptions::default())
        .manifest_put(&manifest, None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("400") && text.contains("MANIFEST_BLOB_UNKNOWN"),
        "{text}"
    );
    assert!(text.contains(&manifest.digest().to_string()), "{text}");
}

#[test]
fn a_ca_file_that_is_not_pem_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ca.pem");
    std::fs::write(&f, b"not a certificate").unwrap();
    let err = RegistryClient::new(ClientOptions {
        ca_files: vec![f],
        ..ClientOptions::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("ca.pem"), "{err}");
}

/// The registry error under a store error.
fn registry_error(e: &lineage_store::StoreError) -> &RegistryError {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<RegistryError>())
        .unwrap_or_else(|| panic!("not a registry error: {e:?}"))
}

/// Assert `e` refuses an answer over `limit` for `what`, naming the registry and the limit.
fn assert_too_large(e: &RegistryError, registry: &str, what: &str, limit: usize, shown: &str) {
    match e {
        RegistryError::TooLarge {
            registry: r,
            what: w,
            limit: l,
            ..
        } => {
            assert_eq!((r.as_str(), *w, *l), (registry, what, limit));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = e.to_string();
    assert!(message.contains(&format!("from {registry} ")), "{message}");
    assert!(
        message.contains(&format!("over the {shown} limit")),
        "{message}"
    );
}

/// A registry stand-in for answers wiremock cannot give: every body is sent chunked, with
/// no `Content-Length`, generated as it goes, `total` bytes of `x`. It answers one
/// connection, and its task ends with the number of body bytes it wrote before the client
/// hung up.
async fn chunked_registry(
    status: &str,
    content_type: &str,
    total: usize,
) -> (String, tokio::task::JoinHandle<usize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return 0,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let data = vec![b'x'; 64 << 10];
        let chunk = [format!("{:x}\r\n", data.len()).as_bytes(), &data, b"\r\n"].concat();
        let mut written = 0;
        while written < total {
            if socket.write_all(&chunk).await.is_err() {
                return written;
            }
            written += data.len();
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
        written
    });
    (addr, task)
}

/// What a [`chunked_registry`] sends when the client does not stop: far more than any limit.
const ENDLESS: usize = 256 << 20;
/// What a client that stops at its limit lets a [`chunked_registry`] write: the limit plus
/// what the sockets' buffers take in (a few MiB on loopback), well short of [`ENDLESS`].
const STOPPED: usize = 64 << 20;

#[tokio::test]
async fn an_error_answer_that_does_not_end_is_an_ordinary_not_found() {
    let (addr, sent) = chunked_registry("404 Not Found", "text/plain", ENDLESS).await;
    let s = RegistryStore::for_repository(client(ClientOptions::default()), &addr, "app");
    let e = s.tag_list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    match registry_error(&e) {
        RegistryError::Status { status, body, .. } => {
            assert_eq!(*status, 404);
            // The first line of what was kept, as for any body that is not an envelope.
            assert_eq!(body.as_deref().map(str::len), Some(200));
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert!(sent.await.unwrap() < STOPPED);
}

#[tokio::test]
async fn an_error_answer_announced_over_the_limit_fails_like_a_short_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/app/manifests/v1"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_raw(vec![b'x'; limits::LISTING_PAGE + 1], "text/plain"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/manifests/v2"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": [{
            "code": "MANIFEST_UNKNOWN",
            "message": "x".repeat(limits::ERROR_BODY),
        }]})))
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let tag = |t: &str| TagOrDigest::Tag(t.into());
    for t in ["v1", "v2"] {
        let e = s.manifest_fetch(&tag(t)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(registry_error(&e).status(), Some(404), "{e}");
    }
}

#[tokio::test]
async fn a_tag_list_page_over_the_limit_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; limits::LISTING_PAGE + 1], "application/json"),
        )
        .mount(&server)
        .await;
    let e = store(&server, ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let shown = "4 MiB";
    assert_too_large(
        registry_error(&e),
        &host(&server),
        "tag list page",
        limits::LISTING_PAGE,
        shown,
    );
    assert!(e.to_string().contains(shown), "{e}");
}

#[tokio::test]
async fn a_tag_list_without_a_length_stops_at_the_limit() {
    let (addr, sent) = chunked_registry("200 OK", "application/json", ENDLESS).await;
    let s = RegistryStore::for_repository(client(ClientOptions::default()), &addr, "app");
    let e = s.tag_list().await.unwrap_err();
    assert_too_large(
        registry_error(&e),
        &addr,
        "tag list page",
        limits::LISTING_PAGE,
        "4 MiB",
    );
    assert!(sent.await.unwrap() < STOPPED);
}

#[tokio::test]
async fn a_manifest_without_a_length_stops_at_the_limit() {
    let (addr, sent) = chunked_registry("200 OK", media_type::OCI_MANIFEST, ENDLESS).await;
    let s = RegistryStore::for_repository(client(ClientOptions::default()), &addr, "app");
    let e = s
        .manifest_fetch(&TagOrDigest::Tag("v1".into()))
        .await
        .unwrap_err();
    assert_too_large(
        registry_error(&e),
        &addr,
        "manifest",
        lineage_oci::manifest::MAX_MANIFEST_SIZE,
        "4 MiB",
    );
    assert!(sent.await.unwrap() < STOPPED);
}

#[tokio::test]
async fn a_referrers_page_over_the_limit_is_refused() {
    let server = MockServer::start().await;
    let subject = Digest::sha256(b"subject");
    Mock::given(method("GET"))
        .and(path(format!("/v2/app/referrers/{subject}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; limits::LISTING_PAGE + 1], media_type::OCI_INDEX),
        )
        .mount(&server)
        .await;
    let e = store(&server, ClientOptions::default())
        .referrers(&subject, None)
        .await
        .unwrap_err();
    assert_too_large(
        registry_error(&e),
        &host(&server),
        "referrers page",
        limits::LISTING_PAGE,
        "4 MiB",
    );
}

#[tokio::test]
async fn a_catalog_page_over_the_limit_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/_catalog"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; limits::LISTING_PAGE + 1], "application/json"),
        )
        .mount(&server)
        .await;
    let e = client(ClientOptions::default())
        .catalog(&host(&server))
        .await
        .unwrap_err();
    assert_too_large(
        &e,
        &host(&server),
        "catalog page",
        limits::LISTING_PAGE,
        "4 MiB",
    );
}

#[tokio::test]
async fn a_token_answer_over_the_limit_is_refused() {
    let server = MockServer::start().await;
    let realm = format!("http://{}/token", host(&server));
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"svc\"").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; limits::TOKEN + 1], "application/json"),
        )
        .mount(&server)
        .await;
    let e = store(&server, ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    assert_too_large(
        registry_error(&e),
        &host(&server),
        "token answer",
        limits::TOKEN,
        "1 MiB",
    );
}

#[tokio::test]
async fn a_tag_list_whose_pages_never_end_stops_at_the_total_limit() {
    let server = MockServer::start().await;
    // A full page, of one long tag, that always links to itself.
    let filler = "x".repeat(limits::LISTING_PAGE - r#"{"tags":[""]}"#.len());
    let page = format!(r#"{{"tags":["{filler}"]}}"#);
    assert_eq!(page.len(), limits::LISTING_PAGE);
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", "</v2/app/tags/list?last=x>; rel=\"next\"")
                .set_body_raw(page, "application/json"),
        )
        .mount(&server)
        .await;
    let e = store(&server, ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    assert_too_large(
        registry_error(&e),
        &host(&server),
        "tag list",
        limits::LISTING_TOTAL,
        "64 MiB",
    );
    let pages = server.received_requests().await.unwrap().len();
    assert_eq!(pages, limits::LISTING_TOTAL / limits::LISTING_PAGE + 1);
}

#[tokio::test]
async fn a_token_realm_on_another_host_over_http_gets_no_credentials() {
    let registry = MockServer::start().await;
    let tokens = MockServer::start().await;
    // The registry is contacted as 127.0.0.1; `localhost` is another host name.
    let realm = format!("http://localhost:{}/token", tokens.address().port());
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .and(header("authorization", "Bearer anonymous-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "app", "tags": ["v1"]})),
        )
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"svc\"").as_str(),
        ))
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "anonymous-1", "expires_in": 300})),
        )
        .mount(&tokens)
        .await;
    let mut options = ClientOptions::default();
    options.credentials.insert(
        host(&registry),
        Credential::Basic {
            username: "user".into(),
            password: "secret".into(),
        },
    );
    let s = store(&registry, options);
    assert_eq!(s.tag_list().await.unwrap(), vec!["v1"]);
    let asked = tokens.received_requests().await.unwrap();
    assert_eq!(asked.len(), 1);
    assert!(
        asked
            .iter()
            .all(|r: &Request| !r.headers.contains_key("authorization")),
        "the registry's credentials went to a foreign realm over HTTP"
    );
}

#[tokio::test]
async fn error_answers_are_quoted_only_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/app/tags/list"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [
            {"code": "DENIED", "message": "internal note: db at 10.0.0.3"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/other/tags/list"))
        .respond_with(ResponseTemplate::new(404).set_body_string("private page: staff only\n"))
        .mount(&server)
        .await;
    let other = |options| RegistryStore::for_repository(client(options), &host(&server), "other");

    let quoted = store(&server, ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    assert!(quoted.to_string().contains("10.0.0.3"), "{quoted}");
    let quoted = other(ClientOptions::default())
        .tag_list()
        .await
        .unwrap_err();
    assert!(quoted.to_string().contains("staff only"), "{quoted}");

    let quiet = || ClientOptions {
        quote_error_bodies: false,
        ..ClientOptions::default()
    };
    let e = store(&server, quiet()).tag_list().await.unwrap_err();
    let text = lineage_store::one_line(&e);
    assert!(text.contains("403") && text.contains("DENIED"), "{text}");
    assert!(!text.contains("10.0.0.3"), "{text}");
    let e = other(quiet()).tag_list().await.unwrap_err();
    let text = lineage_store::one_line(&e);
    assert!(text.contains("404"), "{text}");
    assert!(!text.contains("staff only"), "{text}");
}

/// Issue 12 item 3: a request without an answer keeps the HTTP client's own error as its
/// typed source, and its one-line text already holds that error's chain, each cause once.
#[tokio::test]
async fn a_refused_connection_keeps_the_client_error_as_its_source() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let s = RegistryStore::for_repository(client(ClientOptions::default()), &addr, "app");
    let e = s.tag_list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    let registry = std::error::Error::source(&e)
        .and_then(|c| c.downcast_ref::<RegistryError>())
        .unwrap_or_else(|| panic!("not a registry error: {e:?}"));
    let RegistryError::Transport { source, .. } = registry else {
        panic!("not a transport error: {registry:?}");
    };
    let cause = source.as_ref().expect("the client's error is kept");
    assert!(cause.is_connect(), "{cause:?}");
    let text = registry.to_string();
    assert!(text.contains(&cause.to_string()), "{text}");
    assert_eq!(lineage_store::one_line(registry), text);
}

/// Issue 21: a refused connection and a name that does not resolve fail at the first try
/// (retrying cannot fix them), and the registry is not contacted again in the run; a 503
/// keeps its retries. Counted with the client's own attempts counter.
#[tokio::test]
async fn unreachable_registries_fail_fast_and_are_remembered() {
    // A port nothing listens on: bind, read the port, close.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let c = client(ClientOptions::default());
    let e = c.ping(&refused).await.unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(c.attempts(), 1, "one try, no retries: {e}");
    let again = c.ping(&refused).await.unwrap_err();
    assert_eq!(c.attempts(), 1, "remembered as down: {again}");
    assert!(again.to_string().contains("not tried again"), "{again}");

    let c = client(ClientOptions::default());
    let e = c.ping("nonexistent.invalid").await.unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(c.attempts(), 1, "one try, no retries: {e}");
    c.ping("nonexistent.invalid:5000").await.unwrap_err();
    c.ping("nonexistent.invalid").await.unwrap_err();
    assert_eq!(
        c.attempts(),
        2,
        "another port is another host; the same is not retried"
    );

    // A 503 is retried (`retries: 2`): three tries.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(ClientOptions::default());
    c.ping(&host(&server)).await.unwrap_err();
    assert_eq!(c.attempts(), 3);
}

/// The memo of unreachable hosts is keyed by the host a connection was attempted to: an
/// upload location on a host that refuses connections marks that host, not the registry,
/// which keeps answering; and a later request to that host fails before it is sent.
#[tokio::test]
async fn an_unreachable_upload_host_is_remembered_not_the_registry() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/app/blobs/uploads/"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("location", format!("http://{refused}/upload/s1").as_str()),
        )
        .mount(&server)
        .await;
    let s = store(&server, ClientOptions::default());
    let data = Bytes::from_static(b"to an upload host that is down");
    let desc = Descriptor::new(
        media_type::OCI_LAYER_TAR,
        Digest::sha256(&data),
        data.len() as u64,
    );
    let put = || {
        let stream = futures_util::stream::iter(vec![Ok(data.clone())]).boxed();
        s.blob_put(&desc, stream)
    };
    let e = put().await.unwrap_err();
    assert!(e.to_string().contains(&refused), "{e}");

    let c = s.client();
    c.ping(&host(&server))
        .await
        .expect("the registry itself answers; only the upload host is down");

    let sent = |requests: &[Request]| requests.len() as u64;
    let before = (
        c.attempts(),
        sent(&server.received_requests().await.unwrap()),
    );
    let again = put().await.unwrap_err();
    let after = (
        c.attempts(),
        sent(&server.received_requests().await.unwrap()),
    );
    assert!(again.to_string().contains("not tried again"), "{again}");
    assert_eq!(
        after.0 - before.0,
        after.1 - before.1,
        "every request sent went to the registry; none to the host known to be down"
    );
}
