//! Inherited end-of-life (issue 17): application images built with buildah FROM bases that
//! `lineage release` published in `lineage serve`, and what `lineage status`, the lookup
//! route and admission say about them. The bases: `base:1.0-20230707`, end-of-life since
//! 2023-07-10T08:00:00Z, replaced by `base:1.0-20230710`, which is supported.

use std::path::Path;

use serde_json::{Value, json};

use crate::policy::{AccessLog, Http, admit, fixture, warnings, webhook, with_images};
use crate::support::images::buildah;
use crate::support::serve::Serve;
use crate::support::tools::run;
use crate::support::{Scratch, lineage_ok, require_tools};

const EOL_SINCE: &str = "2023-07-10T08:00:00Z";

/// The two released base revisions.
struct Bases {
    /// `HOST/base:1.0-20230707`, end-of-life.
    old: String,
    old_digest: String,
    /// `HOST/base:1.0-20230710`, its successor, supported.
    new: String,
    new_digest: String,
}

/// A buildah working container FROM `from` (`scratch` or a registry reference), with the file
/// `/NAME` added, committed as OCI to `dest` (`oci:DIR:TAG`); `arch` sets the architecture,
/// `squash` squashes the layers into one.
fn build(s: &Scratch, from: &str, name: &str, arch: Option<&str>, squash: bool, dest: &str) {
    let from = if from == "scratch" {
        from.to_string()
    } else {
        format!("docker://{from}")
    };
    let ctr = String::from_utf8(run(buildah(s).args([
        "from",
        "--quiet",
        "--tls-verify=false",
        &from,
    ])))
    .unwrap()
    .trim()
    .to_string();
    let file = s.join(&format!("file-{name}"));
    std::fs::write(&file, format!("{name}\n")).unwrap();
    run(buildah(s)
        .arg("copy")
        .arg(&ctr)
        .arg(&file)
        .arg(format!("/{name}")));
    if let Some(arch) = arch {
        run(buildah(s).args(["config", "--arch", arch, &ctr]));
    }
    let mut commit = buildah(s);
    commit.args(["commit", "--quiet", "--format", "oci", "--rm"]);
    if squash {
        commit.arg("--squash");
    }
    run(commit.args([&ctr, dest]));
}

/// Two base revisions built from scratch and released into `HOST/base`, the first retired
/// in favour of the second.
fn release_bases(s: &Scratch, server: &Serve) -> Bases {
    let builds = s.join("base-builds");
    let repo = server.reference("base", "");
    let mut digests = Vec::new();
    // buildah stamps the config with the build time, which a release prefers to
    // `--created`: the revision and the predecessor's end-of-life are given.
    for (tag, revision) in [("b1", "20230707"), ("b2", "20230710")] {
        let src = format!("oci:{}:{tag}", builds.display());
        build(s, "scratch", &format!("base-{tag}"), None, false, &src);
        let digest = lineage_ok(
            s.path(),
            &[
                "release",
                &src,
                &repo,
                "--version",
                "1.0",
                "--revision",
                revision,
                "--eol-at",
                EOL_SINCE,
            ],
        )
        .stdout_text();
        assert!(digest.starts_with("sha256:"), "{digest}");
        digests.push(digest);
    }
    Bases {
        old: format!("{repo}:1.0-20230707"),
        old_digest: digests[0].clone(),
        new: format!("{repo}:1.0-20230710"),
        new_digest: digests[1].clone(),
    }
}

/// An application image built FROM `from` with buildah, copied to `HOST/REPO:TAG`.
fn derived(s: &Scratch, server: &Serve, from: &str, repo: &str, tag: &str) -> String {
    let dir = s.join(&format!("app-{repo}-{tag}"));
    let src = format!("oci:{}:{tag}", dir.display());
    build(s, from, &format!("{repo}-{tag}"), None, false, &src);
    let dst = server.reference(repo, &format!(":{tag}"));
    lineage_ok(s.path(), &["copy", &src, &dst]);
    dst
}

fn status(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["status", "--output", "json"];
    all.extend_from_slice(args);
    let out = lineage_ok(cwd, &all);
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

/// The manifest `reference` names, as JSON.
fn manifest(cwd: &Path, reference: &str) -> Value {
    serde_json::from_slice(&lineage_ok(cwd, &["manifest", reference]).stdout).unwrap()
}

/// Copy `reference` to `HOST/REPO:TAG` with its manifest's annotations filtered by `keep`
/// (as a builder that writes none, or a squashing tool, leaves them), its blobs mounted from
/// the source repository.
fn without_annotations(
    s: &Scratch,
    server: &Serve,
    reference: &str,
    keep: impl Fn(&str) -> bool,
    repo: &str,
    tag: &str,
) -> String {
    let mut m = manifest(s.path(), reference);
    if let Some(a) = m["annotations"].as_object_mut() {
        a.retain(|k, _| keep(k));
    }
    let dir = s.join(&format!("stripped-{repo}-{tag}"));
    let src = format!("oci:{}:{tag}", dir.display());
    // The layout gets the blobs by a copy of the original, then the edited manifest.
    lineage_ok(s.path(), &["copy", reference, &src]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let layout = lineage_store::LayoutStore::open(&dir).unwrap();
        let raw = lineage_oci::RawManifest::from_canonical(&m).unwrap();
        lineage_store::Store::manifest_put(&layout, &raw, Some(tag))
            .await
            .unwrap();
    });
    let dst = server.reference(repo, &format!(":{tag}"));
    lineage_ok(s.path(), &["copy", &src, &dst]);
    dst
}

#[track_caller]
fn assert_built_on_old(st: &Value, bases: &Bases, evidence: &str) {
    assert_eq!(st["state"], "base-end-of-life", "{st}");
    assert_eq!(st["source"], "base", "{st}");
    assert_eq!(st["base"]["reference"], bases.old.as_str(), "{st}");
    assert_eq!(st["base"]["digest"], bases.old_digest.as_str(), "{st}");
    assert_eq!(st["base"]["state"], "end-of-life", "{st}");
    assert_eq!(st["base"]["endOfLife"], EOL_SINCE, "{st}");
    assert_eq!(
        st["base"]["successor"]["reference"],
        bases.new.as_str(),
        "{st}"
    );
    assert_eq!(
        st["base"]["successor"]["digest"],
        bases.new_digest.as_str(),
        "{st}"
    );
    assert_eq!(st["base"]["evidence"], evidence, "{st}");
}

/// buildah writes the base annotations by default and copies the base's own annotations
/// (version, revision) into the derived image; lineage finds the base by them, reports its
/// end-of-life and successor, and never takes the derived image for revision 20230707 of
/// the base's lineage. A cold status costs at most 5 registry requests. The table says
/// "rebuild on" the successor. A derived image whose base is supported is supported.
#[test]
fn a_derived_image_inherits_its_bases_end_of_life_by_annotation() {
    if !require_tools("inherited_by_annotation", &["buildah"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let app = derived(&s, &server, &bases.old, "app", "1");

    let m = manifest(s.path(), &app);
    let a = &m["annotations"];
    assert_eq!(
        a["org.opencontainers.image.base.digest"],
        bases.old_digest.as_str(),
        "{m}"
    );
    assert_eq!(
        a["org.opencontainers.image.base.name"],
        bases.old.as_str(),
        "{m}"
    );
    assert_eq!(
        a["org.opencontainers.image.version"], "1.0",
        "inherited: {m}"
    );

    let mut log = AccessLog::new(&server);
    let st = status(s.path(), &[&app]);
    let cold = log.registry_requests();
    eprintln!(
        "cold status of a derived image (annotations): {} registry requests",
        cold.len()
    );
    assert!(
        cold.len() <= 5,
        "a cold status of a derived image sent {} registry requests: {cold:#?}",
        cold.len()
    );
    assert_built_on_old(&st, &bases, "annotation");
    assert_eq!(
        st["version"],
        Value::Null,
        "the base's version is not the app's: {st}"
    );
    assert_eq!(st["revision"], Value::Null, "{st}");
    assert_eq!(st["successor"], Value::Null, "{st}");

    let table = lineage_ok(s.path(), &["status", &app]).stdout_text();
    assert!(table.contains("base-end-of-life"), "{table}");
    assert!(
        table.contains(&format!("rebuild on {}", bases.new)),
        "{table}"
    );
    insta::assert_snapshot!(
        "derived-status-table",
        crate::support::columns(&crate::support::redacted(&table, &server.host))
    );

    // `--fail-on base-end-of-life` fails; `--fail-on superseded` does not.
    let code =
        crate::support::lineage_run(s.path(), &["status", "--fail-on", "base-end-of-life", &app])
            .code;
    assert_eq!(code, Some(3));
    lineage_ok(s.path(), &["status", "--fail-on", "superseded", &app]);

    // Built on the supported revision: supported, through its base.
    let fine = derived(&s, &server, &bases.new, "app", "2");
    let st = status(s.path(), &[&fine]);
    assert_eq!(st["state"], "supported", "{st}");
    assert_eq!(st["source"], "base", "{st}");
    assert_eq!(st["base"]["state"], "supported", "{st}");
    assert_eq!(st["base"]["reference"], bases.new.as_str(), "{st}");
    assert_eq!(st["version"], Value::Null, "{st}");

    // The base itself is unchanged: a revision of its lineage, no base.
    let st = status(s.path(), &[&bases.old]);
    assert_eq!(st["state"], "end-of-life", "{st}");
    assert_eq!(st["revision"], "20230707", "{st}");
    assert!(st.get("base").is_none(), "{st}");
}

/// Without base annotations, the base is found by layers against `--base-repo`; a squashed
/// image without annotations has no evidence, and the table says so plainly.
#[test]
fn a_derived_image_without_annotations_is_matched_by_layers() {
    if !require_tools("inherited_by_layers", &["buildah"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let built = derived(&s, &server, &bases.old, "build", "1");
    // The base annotations dropped; the inherited version and revision kept.
    let app = without_annotations(
        &s,
        &server,
        &built,
        |k| !k.starts_with("org.opencontainers.image.base."),
        "app",
        "1",
    );
    let base_repo = server.reference("base", "");

    let st = status(s.path(), &["--base-repo", &base_repo, &app]);
    assert_built_on_old(&st, &bases, "layers");
    assert_eq!(st["version"], Value::Null, "inherited from the base: {st}");

    // Not named as a known base: no evidence.
    let st = status(s.path(), &[&app]);
    assert!(st.get("base").is_none(), "{st}");

    // Squashed, without annotations: its one layer begins with no base's.
    let dir = s.join("squashed");
    let src = format!("oci:{}:sq", dir.display());
    build(&s, &bases.old, "squashed", None, true, &src);
    let squashed_built = server.reference("build", ":sq");
    lineage_ok(s.path(), &["copy", &src, &squashed_built]);
    let squashed = without_annotations(&s, &server, &squashed_built, |_| false, "app", "sq");
    let st = status(s.path(), &["--base-repo", &base_repo, &squashed]);
    assert_eq!(st["state"], "unknown", "{st}");
    assert!(st.get("base").is_none(), "{st}");
    let table =
        lineage_ok(s.path(), &["status", "--base-repo", &base_repo, &squashed]).stdout_text();
    assert!(
        table.contains("base unknown: no base annotation, no build provenance"),
        "{table}"
    );
}

/// A two-platform index whose amd64 image is built on the end-of-life base and arm64 image on
/// the supported one: the index inherits the worst, naming the platform.
#[test]
fn an_index_inherits_the_worst_base_of_its_platforms() {
    if !require_tools("inherited_index", &["buildah"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let amd = format!("oci:{}:amd64", s.join("plat").display());
    let arm = format!("oci:{}:arm64", s.join("plat").display());
    build(&s, &bases.old, "app-amd64", Some("amd64"), false, &amd);
    build(&s, &bases.new, "app-arm64", Some("arm64"), false, &arm);
    run(buildah(&s).args(["manifest", "create", "app-index"]));
    for src in [&amd, &arm] {
        run(buildah(&s).args(["manifest", "add", "app-index", src]));
    }
    let index = format!("oci:{}:multi", s.join("index").display());
    run(buildah(&s).args(["manifest", "push", "--all", "app-index", &index]));
    let app = server.reference("app", ":multi");
    lineage_ok(s.path(), &["copy", &index, &app]);

    let st = status(s.path(), &[&app]);
    assert_built_on_old(&st, &bases, "annotation");
    assert_eq!(st["base"]["platform"], "linux/amd64", "{st}");
}

/// A base of a base: `mid` is released as its own lineage, built on the end-of-life base;
/// it is `base-end-of-life`, and so is an application built on it, with the chain shown.
#[test]
fn a_base_of_a_base_that_is_end_of_life_passes_on() {
    if !require_tools("inherited_chain", &["buildah"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let mid_src = format!("oci:{}:mid", s.join("mid").display());
    build(&s, &bases.old, "mid", None, false, &mid_src);
    let mid_repo = server.reference("mid", "");
    lineage_ok(
        s.path(),
        &[
            "release",
            &mid_src,
            &mid_repo,
            "--version",
            "2.0",
            "--revision",
            "20230801",
        ],
    );
    let mid = format!("{mid_repo}:2.0-20230801");
    let st = status(s.path(), &[&mid]);
    assert_built_on_old(&st, &bases, "annotation");
    assert_eq!(st["version"], "2.0", "its own version: {st}");

    let app = derived(&s, &server, &mid, "app", "1");
    let st = status(s.path(), &[&app]);
    assert_eq!(st["state"], "base-end-of-life", "{st}");
    assert_eq!(st["base"]["reference"], mid.as_str(), "{st}");
    assert_eq!(st["base"]["state"], "base-end-of-life", "{st}");
    assert_eq!(st["base"]["base"]["reference"], bases.old.as_str(), "{st}");
    assert_eq!(st["base"]["base"]["state"], "end-of-life", "{st}");
}

/// The lookup route and admission through `lineage webhook`: the derived image's state and
/// base; admission warns by default (`--inherited warn`), denies with `--inherited deny`,
/// says nothing with `--inherited ignore`. By layer prefix against 100 known base revisions,
/// a cold lookup costs at most 6 registry requests once the known bases are indexed.
#[test]
fn lookup_and_admission_of_derived_images() {
    if !require_tools("inherited_policy", &["buildah"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let app = derived(&s, &server, &bases.old, "app", "1");
    let base_repo = server.reference("base", "");
    known_base_revisions(&server, 98);

    let hook = webhook(&["--base-repo", &base_repo]);
    let http = Http::new(&hook.host);
    let answer = http.post_json("/lifecycle/v1/lookup", &json!({ "images": [&app] }));
    let r = &answer["results"][0];
    assert_eq!(r["state"], "base-end-of-life", "{answer}");
    assert_eq!(
        r["base"]["successor"]["reference"],
        bases.new.as_str(),
        "{answer}"
    );

    // Gatekeeper's values are the same status, `base` included.
    let answer = http.post_json(
        "/gatekeeper/v1/lookup",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
            "request": {"keys": [&app]}}),
    );
    let value = &answer["response"]["items"][0]["value"];
    assert_eq!(value["state"], "base-end-of-life", "{answer}");
    assert_eq!(value["base"]["state"], "end-of-life", "{answer}");
    assert_eq!(value["base"]["evidence"], "annotation", "{answer}");

    let response = admit(&http, with_images(fixture("pod-create"), &app));
    assert_eq!(response["allowed"], true, "{response}");
    let w = warnings(&response);
    assert!(
        w.iter()
            .any(|w| w.contains(&app) && w.contains(&format!("rebuild on {}", bases.new))),
        "{w:#?}"
    );
    let deny = webhook(&["--base-repo", &base_repo, "--inherited", "deny"]);
    let response = admit(
        &Http::new(&deny.host),
        with_images(fixture("pod-create"), &app),
    );
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("end-of-life base"), "{response}");
    let ignore = webhook(&["--base-repo", &base_repo, "--inherited", "ignore"]);
    let response = admit(
        &Http::new(&ignore.host),
        with_images(fixture("pod-create"), &app),
    );
    assert_eq!(response["allowed"], true, "{response}");
    assert!(warnings(&response).is_empty(), "{response}");

    // Layers only, against 100 known revisions, the index built by an earlier lookup.
    let built = derived(&s, &server, &bases.old, "build", "2");
    let layered = without_annotations(
        &s,
        &server,
        &built,
        |k| !k.starts_with("org.opencontainers.image.base."),
        "layered",
        "1",
    );
    // A fresh webhook, its known bases indexed by the lookup of a revision that reads none
    // of the facts the derived image needs (no version, no record): the derived image's
    // lookup, and its base's, are cold.
    let fresh = webhook(&["--base-repo", &base_repo]);
    let http = Http::new(&fresh.host);
    let known = server.reference("base", ":0.9-0");
    let answer = http.post_json("/lifecycle/v1/lookup", &json!({ "images": [&known] }));
    assert_eq!(answer["results"][0]["state"], "unknown", "{answer}");
    let mut log = AccessLog::new(&server);
    let answer = http.post_json("/lifecycle/v1/lookup", &json!({ "images": [&layered] }));
    let cold = log.registry_requests();
    eprintln!(
        "cold lookup of a derived image by layers against 100 known revisions: {} registry requests",
        cold.len()
    );
    assert_eq!(
        answer["results"][0]["state"], "base-end-of-life",
        "{answer}"
    );
    assert_eq!(
        answer["results"][0]["base"]["evidence"], "layers",
        "{answer}"
    );
    assert!(
        cold.len() <= 6,
        "a cold lookup by layer prefix sent {} registry requests: {cold:#?}",
        cold.len()
    );
    let _ = http.post_json("/lifecycle/v1/lookup", &json!({ "images": [&layered] }));
    let warm = log.registry_requests();
    assert!(warm.is_empty(), "a warm lookup sent requests: {warm:#?}");
}

/// `n` more revisions of `HOST/base` (tags `0.9-N`): handmade images of one layer each, with
/// a config whose one diff_id is their own, so the known bases hold `n + 2` revisions.
fn known_base_revisions(server: &Serve, n: usize) {
    use lineage_oci::{Descriptor, Digest, media_type};
    use lineage_store::{Store, blob};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client =
            lineage_registry_client::RegistryClient::new(lineage_registry_client::ClientOptions {
                plain_http: true,
                ..Default::default()
            })
            .unwrap();
        let store =
            lineage_registry_client::RegistryStore::for_repository(client, &server.host, "base");
        let layer_bytes = bytes::Bytes::from_static(b"not a real layer");
        let layer = Descriptor::new(
            "application/vnd.oci.image.layer.v1.tar",
            Digest::sha256(&layer_bytes),
            layer_bytes.len() as u64,
        );
        store
            .blob_put(&layer, blob::from_bytes(layer_bytes))
            .await
            .unwrap();
        for i in 0..n {
            let diff_id = Digest::sha256(format!("known base {i}").as_bytes());
            let config = serde_json::to_vec(&json!({
                "architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]}
            }))
            .unwrap();
            let config = bytes::Bytes::from(config);
            let config_desc = Descriptor::new(
                media_type::OCI_CONFIG,
                Digest::sha256(&config),
                config.len() as u64,
            );
            store
                .blob_put(&config_desc, blob::from_bytes(config))
                .await
                .unwrap();
            let m = json!({
                "schemaVersion": 2,
                "mediaType": media_type::OCI_MANIFEST,
                "config": config_desc,
                "layers": [layer],
            });
            let raw = lineage_oci::RawManifest::from_canonical(&m).unwrap();
            store
                .manifest_put(&raw, Some(&format!("0.9-{i}")))
                .await
                .unwrap();
        }
    });
}

/// A provenance attestation shaped as BuildKit attaches it (`docker buildx build
/// --provenance=mode=min`): the index lists the platform image and, for it, an attestation
/// manifest (`vnd.docker.reference.type: attestation-manifest`, platform `unknown/unknown`)
/// whose in-toto layer is a SLSA v0.2 provenance statement naming the base among its
/// materials, beside the Dockerfile frontend. The platform image carries no base annotation:
/// the base is found by the provenance.
#[test]
fn a_buildkit_provenance_attestation_names_the_base() {
    if !require_tools("inherited_provenance", &["buildah"]) {
        return;
    }
    use lineage_oci::{Descriptor, Digest, media_type};
    use lineage_store::{Store, blob};
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let bases = release_bases(&s, &server);
    let built = derived(&s, &server, &bases.old, "build", "1");
    let platform_ref = without_annotations(&s, &server, &built, |_| false, "app", "amd64");
    let platform: Value = serde_json::from_slice(
        &lineage_ok(s.path(), &["resolve", "--output", "json", &platform_ref]).stdout,
    )
    .unwrap();
    let platform_digest = platform["digest"].as_str().unwrap().to_string();
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();

    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{
            "name": format!("pkg:docker/{}/app@prov?platform=linux%2Famd64", server.host),
            "digest": {"sha256": hex(&platform_digest)}
        }],
        "predicate": {
            "builder": {"id": ""},
            "buildType": "https://mobyproject.org/buildkit@v1",
            "materials": [
                {
                    "uri": "pkg:docker/docker/dockerfile@1.5",
                    "digest": {"sha256": hex(&Digest::sha256(b"frontend").to_string())}
                },
                {
                    "uri": format!("pkg:docker/{}/base@1.0-20230707?platform=linux%2Famd64", server.host),
                    "digest": {"sha256": hex(&bases.old_digest)}
                }
            ],
            "invocation": {
                "configSource": {"entryPoint": "Dockerfile"},
                "parameters": {"frontend": "dockerfile.v0"},
                "environment": {"platform": "linux/amd64"}
            },
            "metadata": {
                "buildInvocationID": "x3nj0kuzy0tbbqcyxy2o4yq1d",
                "completeness": {"parameters": false, "environment": true, "materials": false},
                "reproducible": false
            }
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client =
            lineage_registry_client::RegistryClient::new(lineage_registry_client::ClientOptions {
                plain_http: true,
                ..Default::default()
            })
            .unwrap();
        let store =
            lineage_registry_client::RegistryStore::for_repository(client, &server.host, "app");
        let put = |bytes: Vec<u8>, media: &str| {
            let bytes = bytes::Bytes::from(bytes);
            let desc = Descriptor::new(media, Digest::sha256(&bytes), bytes.len() as u64);
            (desc, bytes)
        };
        let (mut layer, layer_bytes) = put(
            serde_json::to_vec(&statement).unwrap(),
            "application/vnd.in-toto+json",
        );
        layer.set_annotation(
            "in-toto.io/predicate-type",
            "https://slsa.dev/provenance/v0.2",
        );
        store
            .blob_put(&layer, blob::from_bytes(layer_bytes))
            .await
            .unwrap();
        let config = json!({
            "architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest.to_string()]}
        });
        let (config, config_bytes) =
            put(serde_json::to_vec(&config).unwrap(), media_type::OCI_CONFIG);
        store
            .blob_put(&config, blob::from_bytes(config_bytes))
            .await
            .unwrap();
        let attestation = lineage_oci::RawManifest::from_canonical(&json!({
            "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "config": config, "layers": [layer]
        }))
        .unwrap();
        store.manifest_put(&attestation, None).await.unwrap();
        let index = lineage_oci::RawManifest::from_canonical(&json!({
            "schemaVersion": 2, "mediaType": media_type::OCI_INDEX,
            "manifests": [
                {
                    "mediaType": platform["mediaType"], "digest": platform_digest,
                    "size": platform["size"],
                    "platform": {"architecture": "amd64", "os": "linux"}
                },
                {
                    "mediaType": media_type::OCI_MANIFEST,
                    "digest": attestation.digest().to_string(),
                    "size": attestation.bytes().len(),
                    "annotations": {
                        "vnd.docker.reference.digest": platform_digest,
                        "vnd.docker.reference.type": "attestation-manifest"
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"}
                }
            ]
        }))
        .unwrap();
        store.manifest_put(&index, Some("prov")).await.unwrap();
    });
    let st = status(s.path(), &[&server.reference("app", ":prov")]);
    assert_eq!(st["state"], "base-end-of-life", "{st}");
    assert_eq!(st["base"]["evidence"], "provenance", "{st}");
    assert_eq!(st["base"]["digest"], bases.old_digest.as_str(), "{st}");
    assert_eq!(st["base"]["reference"], bases.old.as_str(), "{st}");
    assert_eq!(st["base"]["platform"], "linux/amd64", "{st}");
    assert_eq!(
        st["base"]["successor"]["reference"],
        bases.new.as_str(),
        "{st}"
    );
}
