//! The `lineage` binary against real registries: CNCF distribution 2.8
//! (Debian's `docker-registry`; no referrers API, so the `sha256-<hex>` tag
//! fallback) with deletes on, with deletes off and with htpasswd basic auth,
//! and zuul-registry (Bearer tokens). `scripts/test.sh` starts them and sets:
//!
//! - `LINEAGE_TEST_REGISTRY=host:port` (deletes on)
//! - `LINEAGE_TEST_REGISTRY_NODELETE=host:port` (deletes off)
//! - `LINEAGE_TEST_REGISTRY_AUTH=host:port`, `…_AUTH_USER`, `…_AUTH_PASS`
//! - `LINEAGE_TEST_ZUUL=host:port`, `LINEAGE_TEST_ZUUL_USER`, `LINEAGE_TEST_ZUUL_PASS`
//!
//! A test whose registry is not set prints `SKIPPED` and passes, except under
//! CI (`CI` set), where it fails. Every test uses repositories of its own, so
//! the tests run in parallel against one registry. What lineage wrote is
//! checked with skopeo, an independent client, where it can be.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::registry::{
    Ctx, TestRegistry, assert_digest, context, discover, fails_with, fallback_tag, index_digests,
    make_image, pipe_through, referrer_types, referrers, registry_from_env, skopeo_pull,
    skopeo_registry_exists, skopeo_registry_raw, unique_repo,
};
use crate::support::{
    assert_has_blobs, assert_layout_integrity, assert_same_bytes, blob_path, digest_of,
    handmade_layout, oci, reachable, read_blob, require_tools, tagged_digest,
};
use serde_json::{Value, json};

/// An image pushed to a test registry.
struct Pushed {
    /// Its manifest digest.
    digest: String,
    /// Its exact manifest bytes.
    manifest: Vec<u8>,
    /// The layout it was pushed from (tagged `tag`).
    layout: std::path::PathBuf,
}

/// Writes an image (two gzip layers, by `scripts/make-image.sh`) into a new
/// layout and pushes it with `lineage copy oci:… HOST/repo:tag`, which must
/// print the manifest digest.
fn push_image(ctx: &Ctx, reg: &TestRegistry, repo: &str, tag: &str) -> Pushed {
    let layout = ctx.join(&format!("src-{repo}-{tag}"));
    let digest = make_image(&layout, tag, repo, "amd64");
    let r = ctx.ok(&[
        "copy",
        &oci(&layout, tag),
        &reg.reference(repo, &format!(":{tag}")),
    ]);
    assert_eq!(
        r.stdout_text(),
        digest,
        "lineage copy prints the root digest: {}",
        context(&r)
    );
    Pushed {
        manifest: read_blob(&layout, &digest),
        digest,
        layout,
    }
}

/// `lineage attach REF --artifact-type TYPE ARGS…`; returns the digest it prints.
fn attach(ctx: &Ctx, reference: &str, artifact_type: &str, args: &[&str]) -> String {
    let mut all = vec!["attach", reference, "--artifact-type", artifact_type];
    all.extend_from_slice(args);
    let r = ctx.ok(&all);
    assert_digest(&r.stdout_text(), &r.what)
}

/// (a) A two-platform index goes from a layout to the registry and back:
/// byte-exact in the registry (index and a child by digest, read by skopeo),
/// and every blob comes back. Uses `--plain-http`, which loopback registries
/// do not need but must accept.
#[test]
fn multi_platform_index_round_trips() {
    let test = "multi_platform_index_round_trips";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo", "python3", "tar", "gzip"]) {
        return;
    }
    let ctx = Ctx::new();
    let src = ctx.join("src");
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let digest = make_image(&src, arch, "multi-platform", arch);
        let size = read_blob(&src, &digest).len();
        children.push((arch, digest, size));
    }
    // Formatted by hand (indentation, key order, trailing newline) so that a
    // client re-serialising it would change the digest.
    let entries: Vec<String> = children
        .iter()
        .map(|(arch, digest, size)| {
            format!(
                "    {{\n      \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n      \"digest\": \"{digest}\",\n      \"size\": {size},\n      \"platform\": {{ \"architecture\": \"{arch}\", \"os\": \"linux\" }}\n    }}"
            )
        })
        .collect();
    let index_bytes = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n  \"manifests\": [\n{}\n  ],\n  \"annotations\": {{ \"org.example.test\": \"multi-platform\" }}\n}}\n",
        entries.join(",\n")
    )
    .into_bytes();
    let index_digest = digest_of(&index_bytes);
    fs::write(blob_path(&src, &index_digest), &index_bytes).unwrap();
    let index_json_path = src.join("index.json");
    let mut layout_index: Value =
        serde_json::from_slice(&fs::read(&index_json_path).unwrap()).unwrap();
    layout_index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest,
            "size": index_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": "list"},
        }));
    fs::write(&index_json_path, serde_json::to_vec(&layout_index).unwrap()).unwrap();
    let want_blobs = reachable(&src, &index_digest);
    assert_eq!(
        want_blobs.len(),
        1 + 2 * 4,
        "fixture: index + 2 x (manifest, config, 2 layers): {want_blobs:?}"
    );

    let repo = unique_repo("multi-platform");
    let remote = reg.reference(&repo, ":list");
    let r = ctx.ok(&["--plain-http", "copy", &oci(&src, "list"), &remote]);
    assert_eq!(r.stdout_text(), index_digest, "{}", context(&r));

    assert_same_bytes(
        &skopeo_registry_raw(&reg, &format!("{repo}:list")),
        &index_bytes,
        "skopeo inspect --raw of the pushed index",
    );
    let (_, child, _) = &children[1];
    assert_same_bytes(
        &skopeo_registry_raw(&reg, &format!("{repo}@{child}")),
        &read_blob(&src, child),
        "skopeo inspect --raw of the arm64 manifest by digest",
    );

    let out = ctx.join("out");
    let r = ctx.ok(&["--plain-http", "copy", &remote, &oci(&out, "list")]);
    assert_eq!(r.stdout_text(), index_digest, "{}", context(&r));
    assert_eq!(tagged_digest(&out, "list"), index_digest, "tag list in OUT");
    assert_has_blobs(&out, &want_blobs);
    assert_layout_integrity(&out);
}

/// The SBOM files of scenario (b): (file name, artifact and media type, content).
const SBOMS: [(&str, &str, &str); 3] = [
    (
        "sbom.spdx.json",
        "application/spdx+json",
        "{\"spdxVersion\":\"SPDX-2.3\",\"dataLicense\":\"CC0-1.0\",\"SPDXID\":\"SPDXRef-DOCUMENT\",\"name\":\"lineage-test\",\"packages\":[]}\n",
    ),
    (
        "sbom.spdx",
        "text/spdx",
        "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: lineage-test\n",
    ),
    (
        "bom.cdx.json",
        "application/vnd.cyclonedx+json",
        "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"version\":1,\"components\":[]}\n",
    ),
];

/// (b) Three SBOMs (SPDX JSON, SPDX text, CycloneDX) attached to a pushed
/// image: each artifact manifest is right (read by skopeo), discover lists
/// exactly them, filters by type, and `copy --referrers` brings all three and
/// their files into a layout.
#[test]
fn sbom_referrers_attach_discover_copy() {
    let test = "sbom_referrers_attach_discover_copy";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("sbom");
    let image = push_image(&ctx, &reg, &repo, "v1");
    let subject_ref = reg.reference(&repo, ":v1");

    let mut want = Vec::new();
    for (file, media_type, content) in SBOMS {
        fs::write(ctx.join(file), content).unwrap();
        let digest = attach(
            &ctx,
            &subject_ref,
            media_type,
            &[&format!("{file}:{media_type}")],
        );
        // The artifact as an independent client reads it.
        let manifest = skopeo_registry_raw(&reg, &format!("{repo}@{digest}"));
        assert_eq!(
            digest_of(&manifest),
            digest,
            "attach printed another digest"
        );
        let m = crate::support::json(&manifest, &digest);
        assert_eq!(m["artifactType"], media_type, "artifactType: {m}");
        assert_eq!(
            m["subject"]["digest"],
            image.digest.as_str(),
            "subject: {m}"
        );
        let layers = m["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1, "one layer per file: {m}");
        assert_eq!(layers[0]["mediaType"], media_type, "layer media type: {m}");
        assert_eq!(
            layers[0]["digest"],
            digest_of(content.as_bytes()).as_str(),
            "the layer is the file: {m}"
        );
        want.push((digest, media_type.to_owned()));
    }
    want.sort();

    let tree = discover(&ctx, &subject_ref, &[]);
    assert_eq!(
        tree["digest"],
        image.digest.as_str(),
        "discover root: {tree}"
    );
    assert_eq!(
        referrer_types(&tree),
        want,
        "discover --output json: {tree}"
    );

    let only = discover(&ctx, &subject_ref, &["--artifact-type", "text/spdx"]);
    let spdx_text: Vec<_> = want.iter().filter(|(_, t)| t == "text/spdx").collect();
    assert_eq!(
        referrer_types(&only),
        vec![spdx_text[0].clone()],
        "discover --artifact-type text/spdx: {only}"
    );

    let out = ctx.join("out");
    let r = ctx.ok(&["copy", "--referrers", &subject_ref, &oci(&out, "v1")]);
    assert_eq!(r.stdout_text(), image.digest, "{}", context(&r));
    let copied = discover(&ctx, &oci(&out, "v1"), &[]);
    assert_eq!(
        referrer_types(&copied),
        want,
        "discover of the copied layout: {copied}"
    );
    for (_, _, content) in SBOMS {
        let path = blob_path(&out, &digest_of(content.as_bytes()));
        assert!(path.is_file(), "{} is missing", path.display());
    }
    assert_has_blobs(&out, &reachable(&image.layout, &image.digest));
    assert_layout_integrity(&out);
}

/// (c) 100 `lineage attach` processes at once on one subject: none may lose
/// another's referrer in the `sha256-<hex>` fallback index.
#[test]
fn concurrent_attaches_lose_no_referrer() {
    const N: usize = 100;
    let test = "concurrent_attaches_lose_no_referrer";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("concurrent");
    let image = push_image(&ctx, &reg, &repo, "v1");
    let subject_ref = reg.reference(&repo, ":v1");

    let children: Vec<_> = (0..N)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_lineage"))
                .current_dir(ctx.path())
                .env("DOCKER_CONFIG", &ctx.docker_config)
                .env("NO_COLOR", "1")
                .env_remove("RUST_LOG")
                .args([
                    "attach",
                    &subject_ref,
                    "--artifact-type",
                    "application/x.test",
                ])
                .args(["--annotation", &format!("n={i}")])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting lineage attach")
        })
        .collect();
    let mut digests = BTreeSet::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child
            .wait_with_output()
            .expect("waiting for lineage attach");
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success(),
            "attach #{i} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        digests.insert(assert_digest(&stdout, &format!("attach #{i}")));
    }
    assert_eq!(digests.len(), N, "every attach makes its own artifact");

    let tag = fallback_tag(&image.digest);
    let index = crate::support::json(
        &skopeo_registry_raw(&reg, &format!("{repo}:{tag}")),
        "the referrers index",
    );
    let listed = index_digests(&index);
    let lost: Vec<_> = digests.difference(&listed).collect();
    assert!(
        lost.is_empty(),
        "{} of {N} referrers are missing from {repo}:{tag}: {lost:?}\n{index}",
        lost.len()
    );
    assert_eq!(listed, digests, "the referrers index lists exactly them");

    let tree = discover(&ctx, &subject_ref, &[]);
    let found: BTreeSet<String> = referrers(&tree)
        .iter()
        .map(|r| r["digest"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(found, digests, "discover lists all {N}: {tree}");
}

/// (d) Deleting a referrer takes it out of the fallback index; deleting the
/// subject removes the `sha256-<hex>` tag.
#[test]
fn delete_referrer_then_subject() {
    let test = "delete_referrer_then_subject";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("delete");
    let image = push_image(&ctx, &reg, &repo, "v1");
    let subject_ref = reg.reference(&repo, ":v1");
    let one = attach(
        &ctx,
        &subject_ref,
        "application/x.one",
        &["--annotation", "n=1"],
    );
    let two = attach(
        &ctx,
        &subject_ref,
        "application/x.two",
        &["--annotation", "n=2"],
    );
    let tag = fallback_tag(&image.digest);
    let fallback = || {
        index_digests(&crate::support::json(
            &skopeo_registry_raw(&reg, &format!("{repo}:{tag}")),
            "the referrers index",
        ))
    };
    assert_eq!(fallback(), BTreeSet::from([one.clone(), two.clone()]));

    ctx.ok(&["delete", &reg.reference(&repo, &format!("@{one}"))]);
    assert!(
        !skopeo_registry_exists(&reg, &format!("{repo}@{one}")),
        "the deleted referrer {one} is still readable"
    );
    let tree = discover(&ctx, &subject_ref, &[]);
    assert_eq!(
        referrer_types(&tree),
        vec![(two.clone(), "application/x.two".to_owned())],
        "discover after deleting {one}: {tree}"
    );
    assert_eq!(
        fallback(),
        BTreeSet::from([two]),
        "the fallback index after deleting {one}"
    );

    // The subject is tagged v1 and has a referrer: both would go, so --force.
    let refused = ctx.run(&[
        "delete",
        &reg.reference(&repo, &format!("@{}", image.digest)),
    ]);
    let stderr = fails_with(&refused, 1);
    assert!(
        stderr.contains("1 other tag (v1)")
            && stderr.contains("1 referrer")
            && stderr.contains("--force"),
        "{}",
        context(&refused)
    );
    ctx.ok(&[
        "delete",
        "--force",
        &reg.reference(&repo, &format!("@{}", image.digest)),
    ]);
    let r = ctx.run(&["manifest", &reg.reference(&repo, &format!(":{tag}"))]);
    let stderr = fails_with(&r, 1);
    assert!(
        stderr.to_ascii_lowercase().contains("not found"),
        "the referrers tag should be gone: {}",
        context(&r)
    );
    assert!(
        !skopeo_registry_exists(&reg, &format!("{repo}:{tag}")),
        "skopeo still reads {repo}:{tag}"
    );
}

/// (d) On a registry with deletes disabled, `lineage delete` fails with the
/// registry's `UNSUPPORTED`, and the manifest stays.
#[test]
fn delete_unsupported_fails_cleanly() {
    let test = "delete_unsupported_fails_cleanly";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY_NODELETE", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("nodelete");
    let image = push_image(&ctx, &reg, &repo, "v1");
    // The manifest is tagged v1, which would go with it: --force.
    let r = ctx.run(&[
        "delete",
        "--force",
        &reg.reference(&repo, &format!("@{}", image.digest)),
    ]);
    let stderr = fails_with(&r, 1);
    assert!(
        stderr.contains("UNSUPPORTED"),
        "stderr should name the registry's UNSUPPORTED: {}",
        context(&r)
    );
    assert_same_bytes(
        &skopeo_registry_raw(&reg, &format!("{repo}@{}", image.digest)),
        &image.manifest,
        "the manifest after the refused delete",
    );
}

/// The docker config at `path`, parsed.
fn read_config(path: &Path) -> Value {
    crate::support::json(
        &fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
        &path.display().to_string(),
    )
}

/// (e) Basic auth: without credentials a push fails and points at `lineage
/// login`; a wrong password is refused; `login` writes a 0600 docker config
/// that skopeo can use; then the push works; `logout` removes only that entry.
#[test]
fn basic_auth_login_copy_logout() {
    let test = "basic_auth_login_copy_logout";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY_AUTH", true) else {
        return;
    };
    if !require_tools(test, &["skopeo", "base64"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("basic-auth");
    let src = ctx.join("src");
    let image = handmade_layout(&src, "v1");
    let remote = reg.reference(&repo, ":v1");
    let config = ctx.config_json();

    let r = ctx.run(&["copy", &oci(&src, "v1"), &remote]);
    let stderr = fails_with(&r, 1);
    assert!(
        stderr.contains("lineage login"),
        "the error should point at `lineage login`: {}",
        context(&r)
    );

    let r = ctx.run_stdin(
        &["login", &reg.host, "-u", reg.user(), "--password-stdin"],
        b"not-the-password\n",
    );
    fails_with(&r, 1);
    if config.exists() {
        let c = read_config(&config);
        assert!(
            c["auths"].get(&reg.host).is_none(),
            "a refused login must not store credentials: {c}"
        );
    }

    ctx.login(&reg);
    let mode = fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode of {}: {mode:o}", config.display());
    let c = read_config(&config);
    let auth = c["auths"][&reg.host]["auth"]
        .as_str()
        .unwrap_or_else(|| panic!("no auths.\"{}\".auth in {c}", reg.host));
    let decoded = pipe_through("base64", &["-d"], auth.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&decoded),
        format!("{}:{}", reg.user(), reg.pass()),
        "auths.\"{}\".auth decodes to USER:PASS",
        reg.host
    );

    // Keys of other tools, and other registries' entries, must survive.
    let mut c = c;
    c["psFormat"] = json!("table {{.ID}}");
    c["auths"]["other.invalid"] = json!({"auth": "b3RoZXI6c2VjcmV0"});
    fs::write(&config, serde_json::to_vec_pretty(&c).unwrap()).unwrap();

    let r = ctx.ok(&["copy", &oci(&src, "v1"), &remote]);
    assert_eq!(r.stdout_text(), image.manifest_digest, "{}", context(&r));
    // skopeo, given lineage's config file and no other credentials, reads it.
    let with_authfile = crate::support::run(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
            .arg(&config)
            .arg(format!("docker://{remote}")),
    );
    assert_same_bytes(
        &with_authfile,
        &image.manifest,
        "skopeo --authfile $DOCKER_CONFIG/config.json",
    );

    ctx.ok(&["logout", &reg.host]);
    let c = read_config(&config);
    assert!(
        c["auths"].get(&reg.host).is_none(),
        "logout should remove {}: {c}",
        reg.host
    );
    assert_eq!(c["psFormat"], "table {{.ID}}", "logout keeps psFormat: {c}");
    assert_eq!(
        c["auths"]["other.invalid"]["auth"], "b3RoZXI6c2VjcmV0",
        "logout keeps other registries: {c}"
    );
    let r = ctx.run(&["tags", &reg.reference(&repo, "")]);
    fails_with(&r, 1);
}

/// (f) zuul-registry with Bearer tokens: after `lineage login`, an image goes
/// there and back with the same digest and blobs, and `tags` lists it.
#[test]
fn zuul_bearer_round_trip() {
    let test = "zuul_bearer_round_trip";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_ZUUL", true) else {
        return;
    };
    if !require_tools(test, &["skopeo", "tar", "gzip"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("zuul");
    let src = ctx.join("src");
    let digest = make_image(&src, "v1", "zuul", "amd64");
    let remote = reg.reference(&repo, ":v1");

    // Pull tokens are anonymous, push tokens are not.
    let r = ctx.run(&["copy", &oci(&src, "v1"), &remote]);
    fails_with(&r, 1);

    ctx.login(&reg);
    let r = ctx.ok(&["copy", &oci(&src, "v1"), &remote]);
    assert_eq!(r.stdout_text(), digest, "{}", context(&r));
    assert_same_bytes(
        &skopeo_registry_raw(&reg, &format!("{repo}:v1")),
        &read_blob(&src, &digest),
        "skopeo inspect --raw of the manifest in zuul-registry",
    );

    let out = ctx.join("out");
    let r = ctx.ok(&["copy", &remote, &oci(&out, "v1")]);
    assert_eq!(r.stdout_text(), digest, "{}", context(&r));
    assert_eq!(tagged_digest(&out, "v1"), digest, "tag v1 in OUT");
    assert_has_blobs(&out, &reachable(&src, &digest));
    assert_layout_integrity(&out);

    let r = ctx.ok(&["tags", &reg.reference(&repo, "")]);
    let tags = r.stdout_text();
    assert!(
        tags.lines().any(|t| t == "v1"),
        "lineage tags should list v1: {}",
        context(&r)
    );
}

/// (g) Registry errors name the registry, the repository and the digest, and
/// keep the registry's error code; a bad reference is a usage error.
#[test]
fn errors_name_registry_repository_and_digest() {
    let test = "errors_name_registry_repository_and_digest";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    let ctx = Ctx::new();
    let repo = unique_repo("errors");
    let image = push_image(&ctx, &reg, &repo, "v1");

    let zeros = format!("sha256:{}", "0".repeat(64));
    let r = ctx.run(&["manifest", &reg.reference(&repo, &format!("@{zeros}"))]);
    let stderr = fails_with(&r, 1);
    for needle in [
        reg.host.as_str(),
        repo.as_str(),
        zeros.as_str(),
        "MANIFEST_UNKNOWN",
    ] {
        assert!(
            stderr.contains(needle),
            "stderr should contain {needle:?}: {}",
            context(&r)
        );
    }

    let r = ctx.run(&[
        "copy",
        &oci(&image.layout, "v1"),
        &reg.reference("Bad_Repo", ":v1"),
    ]);
    fails_with(&r, 2);
}

/// (h) A copy between two repositories of one registry (a blob mount) keeps
/// the digest, and every blob is readable in the new repository.
#[test]
fn same_registry_copy_keeps_digest() {
    let test = "same_registry_copy_keeps_digest";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let a = unique_repo("mount-a");
    let b = unique_repo("mount-b");
    let image = push_image(&ctx, &reg, &a, "v1");

    let r = ctx.ok(&["copy", &reg.reference(&a, ":v1"), &reg.reference(&b, ":v1")]);
    assert_eq!(r.stdout_text(), image.digest, "{}", context(&r));
    assert_same_bytes(
        &skopeo_registry_raw(&reg, &format!("{b}:v1")),
        &image.manifest,
        "skopeo inspect --raw of the copy",
    );
    // skopeo fetches and verifies every blob from the new repository.
    let check = ctx.join("skopeo-check");
    skopeo_pull(&reg, &format!("{b}:v1"), &check, "v1");
    assert_eq!(tagged_digest(&check, "v1"), image.digest);
    assert_has_blobs(&check, &reachable(&image.layout, &image.digest));
}

/// A registry serving HTTPS with a certificate from a private CA: refused (with a hint, and
/// never silently retried over plain HTTP, even on loopback) until the CA is given with
/// `--ca-file`, or verification is skipped with `--insecure`.
#[test]
fn tls_needs_the_ca_or_insecure() {
    let test = "tls_needs_the_ca_or_insecure";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY_TLS", false) else {
        return;
    };
    let Ok(ca) = std::env::var("LINEAGE_TEST_REGISTRY_TLS_CA") else {
        assert!(
            !crate::support::in_ci(),
            "{test}: LINEAGE_TEST_REGISTRY_TLS_CA is not set"
        );
        return;
    };
    let ctx = Ctx::new();
    let repo = unique_repo("tls");
    let layout = ctx.join("layout");
    let digest = make_image(&layout, "v1", "tls", "amd64");
    let target = reg.reference(&repo, ":v1");

    let r = ctx.run(&["copy", &oci(&layout, "v1"), &target]);
    let stderr = fails_with(&r, 1);
    assert!(
        stderr.contains("not trusted") && stderr.contains("--ca-file"),
        "{}",
        context(&r)
    );
    assert!(
        !stderr.contains("HTTP request to an HTTPS server"),
        "fell back to plain HTTP: {}",
        context(&r)
    );

    let r = ctx.ok(&["--ca-file", &ca, "copy", &oci(&layout, "v1"), &target]);
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        digest,
        "{}",
        context(&r)
    );
    let r = ctx.ok(&["--insecure", "resolve", &target]);
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        digest,
        "{}",
        context(&r)
    );
}

mod faults {
    //! The write commands through toxiproxy between lineage and `lineage serve`: under
    //! resets and cut connections a command finishes or fails with a clear error, and a
    //! rerun finishes the job with no lost or duplicated record.

    use serde_json::{Value, json};

    use crate::support::scenario::build_images;
    use crate::support::serve::Serve;
    use crate::support::toxiproxy::Toxiproxy;
    use crate::support::{Scratch, lineage_ok, lineage_run};

    const RECORD_TYPE: &str = "application/vnd.lineage.image.lifecycle.metadata";

    /// The lifecycle records `lineage discover` lists on `image`.
    fn records(cwd: &std::path::Path, image: &str) -> usize {
        let tree: Value = serde_json::from_slice(
            &lineage_ok(cwd, &["discover", "--output", "json", image]).stdout,
        )
        .unwrap();
        tree["referrers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["artifactType"] == RECORD_TYPE)
            .count()
    }

    #[test]
    fn release_through_resets_and_cuts_converges_on_rerun() {
        let test = "release_through_resets_and_cuts_converges_on_rerun";
        let Some(toxi) = Toxiproxy::start(test) else {
            return;
        };
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let via = toxi.proxy("release", &server.host);
        let builds = s.join("builds");
        build_images(&builds, &["rev1", "rev2"]);
        let release = |rev: &str, created: &str| {
            lineage_run(
                s.path(),
                &[
                    "release",
                    &format!("oci:{}:{rev}", builds.display()),
                    &format!("{via}/app"),
                    "--version",
                    "1.0",
                    "--created",
                    created,
                ],
            )
        };
        let first = release("rev1", "2024-01-01T00:00:00Z");
        assert_eq!(first.code, Some(0), "{}", first.stderr);

        // Every connection reset: a clear error naming the registry, no panic.
        toxi.add("release", "reset_peer", "downstream", json!({"timeout": 0}));
        let r = release("rev2", "2024-02-01T00:00:00Z");
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(r.stderr.contains(&via), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        toxi.remove("release", "reset_peer");

        // Every connection cut after 2 KiB: finished through retries, or a clean failure.
        toxi.add(
            "release",
            "limit_data",
            "downstream",
            json!({"bytes": 2048}),
        );
        let r = release("rev2", "2024-02-01T00:00:00Z");
        assert!(matches!(r.code, Some(0 | 1)), "{:?}: {}", r.code, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        toxi.remove("release", "limit_data");

        // The rerun finishes the job; the lineage is as one clean release leaves it.
        let r = release("rev2", "2024-02-01T00:00:00Z");
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let direct = |tag: &str| server.reference("app", &format!(":{tag}"));
        let st: Value = serde_json::from_slice(
            &lineage_ok(
                s.path(),
                &["status", "--output", "json", &direct("1.0-20240101")],
            )
            .stdout,
        )
        .unwrap();
        assert_eq!(st[0]["state"], "end-of-life", "{st}");
        let current = lineage_ok(s.path(), &["resolve", &direct("1.0")]).stdout_text();
        let rev2 = lineage_ok(s.path(), &["resolve", &direct("1.0-20240201")]).stdout_text();
        assert_eq!(current, rev2);
        assert_eq!(
            records(s.path(), &direct("1.0-20240101")),
            1,
            "no lost or duplicated record"
        );
        assert_eq!(records(s.path(), &direct("1.0-20240201")), 0);
    }

    #[test]
    fn copy_with_referrers_through_a_sliced_slow_link_is_complete() {
        let test = "copy_with_referrers_through_a_sliced_slow_link_is_complete";
        let Some(toxi) = Toxiproxy::start(test) else {
            return;
        };
        let s = Scratch::new();
        let from = Serve::start(&s.join("from"), &[]);
        let to = Serve::start(&s.join("to"), &[]);
        let builds = s.join("builds");
        build_images(&builds, &["rev1"]);
        let image = from.reference("app", ":v1");
        lineage_ok(
            s.path(),
            &["copy", &format!("oci:{}:rev1", builds.display()), &image],
        );
        for n in 0..3 {
            lineage_ok(
                s.path(),
                &[
                    "attach",
                    &image,
                    "--artifact-type",
                    "application/x.note",
                    "--annotation",
                    &format!("n={n}"),
                ],
            );
        }
        let via = toxi.proxy("copy", &to.host);
        // Answers arrive in 64-byte slices 1 ms apart, after 20 ms.
        toxi.add(
            "copy",
            "slicer",
            "downstream",
            json!({"average_size": 64, "size_variation": 32, "delay": 1000}),
        );
        toxi.add(
            "copy",
            "latency",
            "upstream",
            json!({"latency": 20, "jitter": 10}),
        );
        lineage_ok(
            s.path(),
            &["copy", "--referrers", &image, &format!("{via}/app:v1")],
        );
        toxi.remove("copy", "slicer");
        toxi.remove("copy", "latency");
        let count = |r: &str| -> usize {
            let tree: Value = serde_json::from_slice(
                &lineage_ok(s.path(), &["discover", "--output", "json", r]).stdout,
            )
            .unwrap();
            tree["referrers"].as_array().unwrap().len()
        };
        assert_eq!(count(&to.reference("app", ":v1")), 3);
        assert_eq!(
            lineage_ok(s.path(), &["resolve", &to.reference("app", ":v1")]).stdout_text(),
            lineage_ok(s.path(), &["resolve", &image]).stdout_text()
        );
    }

    use crate::support::faults::{Fault, FaultProxy, Rule};

    fn rule(needle: &str, every: usize, limit: usize, fault: Fault) -> Rule {
        Rule {
            needle: needle.to_string(),
            every,
            limit,
            fault,
        }
    }

    /// Run `args` until it succeeds, at most three times (a clean failure is allowed, a
    /// panic never); the runs' exit codes.
    fn until_done(cwd: &std::path::Path, args: &[&str]) -> Vec<Option<i32>> {
        let mut codes = Vec::new();
        for _ in 0..3 {
            let r = lineage_run(cwd, args);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            assert!(matches!(r.code, Some(0 | 1)), "{:?}: {}", r.code, r.stderr);
            codes.push(r.code);
            if r.code == Some(0) {
                return codes;
            }
        }
        panic!("lineage {args:?} did not finish in three runs: {codes:?}");
    }

    /// 429 with `Retry-After`, 503 and answers cut short on the way to `lineage serve`:
    /// release, retire, restore and attach finish (through retries, or on a rerun), and the
    /// lineage holds exactly the records one clean run of each leaves.
    #[test]
    fn write_commands_through_http_faults_converge() {
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let proxy = FaultProxy::start(
            &server.host,
            vec![
                rule("PUT /v2/", 2, 4, Fault::Unavailable),
                rule("POST /v2/", 3, 3, Fault::TooManyRequests),
                rule("GET /v2/app/referrers/", 3, 3, Fault::CutAfter(10)),
                rule("GET /v2/", 4, 4, Fault::TooManyRequests),
                rule("HEAD /v2/", 5, 4, Fault::Unavailable),
            ],
        );
        let builds = s.join("builds");
        build_images(&builds, &["rev1", "rev2"]);
        let via = |tag: &str| format!("{}/app{tag}", proxy.host);
        for (rev, created) in [
            ("rev1", "2024-01-01T00:00:00Z"),
            ("rev2", "2024-02-01T00:00:00Z"),
        ] {
            let src = format!("oci:{}:{rev}", builds.display());
            let repo = via("");
            until_done(
                s.path(),
                &[
                    "release",
                    &src,
                    &repo,
                    "--version",
                    "1.0",
                    "--created",
                    created,
                ],
            );
        }
        until_done(
            s.path(),
            &[
                "attach",
                &via(":1.0"),
                "--artifact-type",
                "application/x.note",
                "--annotation",
                "n=1",
            ],
        );
        until_done(
            s.path(),
            &[
                "retire",
                &via(":1.0-20240201"),
                "--at",
                "2030-01-01T00:00:00Z",
                "--reason",
                "unsupported",
            ],
        );
        until_done(s.path(), &["restore", &via(":1.0-20240201")]);
        assert!(
            proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "no fault was injected"
        );

        let direct = |tag: &str| server.reference("app", &format!(":{tag}"));
        assert_eq!(
            records(s.path(), &direct("1.0-20240101")),
            1,
            "one retirement record"
        );
        // The retirement of rev2, then its restore: two records, the restore in effect.
        assert_eq!(records(s.path(), &direct("1.0-20240201")), 2);
        let st: Value = serde_json::from_slice(
            &lineage_ok(s.path(), &["status", "--output", "json", &direct("1.0")]).stdout,
        )
        .unwrap();
        assert_eq!(st[0]["state"], "supported", "{st}");
        let tree: Value = serde_json::from_slice(
            &lineage_ok(s.path(), &["discover", "--output", "json", &direct("1.0")]).stdout,
        )
        .unwrap();
        let notes = tree["referrers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["artifactType"] == "application/x.note")
            .count();
        assert_eq!(notes, 1, "one attached note: {tree}");
    }

    /// A blob whose answer is cut short is fetched again, and the copy is whole.
    #[test]
    fn a_blob_cut_short_is_fetched_again() {
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let builds = s.join("builds");
        build_images(&builds, &["rev1"]);
        lineage_ok(
            s.path(),
            &[
                "copy",
                &format!("oci:{}:rev1", builds.display()),
                &server.reference("app", ":v1"),
            ],
        );
        let proxy = FaultProxy::start(
            &server.host,
            vec![rule("GET /v2/app/blobs/", 1, 1, Fault::CutAfter(10))],
        );
        let out = s.join("out");
        lineage_ok(
            s.path(),
            &[
                "copy",
                &format!("{}/app:v1", proxy.host),
                &format!("oci:{}:v1", out.display()),
            ],
        );
        assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            lineage_ok(s.path(), &["resolve", &format!("oci:{}:v1", out.display())]).stdout_text(),
            lineage_ok(s.path(), &["resolve", &server.reference("app", ":v1")]).stdout_text()
        );
        crate::support::assert_layout_integrity(&out);
    }

    /// A copy that fails at its last step (every manifest PUT refused) leaves its blobs in
    /// the destination; the rerun sends none of them again.
    #[test]
    fn an_interrupted_copy_resumes_without_sending_blobs_again() {
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let builds = s.join("builds");
        build_images(&builds, &["rev1"]);
        let src = format!("oci:{}:rev1", builds.display());
        let proxy = FaultProxy::start(
            &server.host,
            vec![rule(
                "PUT /v2/app/manifests/",
                1,
                usize::MAX,
                Fault::Unavailable,
            )],
        );
        let r = lineage_run(s.path(), &["copy", &src, &format!("{}/app:v1", proxy.host)]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(
            r.stderr.contains("503") || r.stderr.contains("UNAVAILABLE"),
            "{}",
            r.stderr
        );
        let before = server.mark("resume-before");
        lineage_ok(s.path(), &["copy", &src, &server.reference("app", ":v1")]);
        let after = server.mark("resume-after");
        let uploads: Vec<String> = server.requests()[before + 1..after]
            .iter()
            .filter(|l| l.contains("method=POST") || l.contains("method=PATCH"))
            .cloned()
            .collect();
        assert!(uploads.is_empty(), "blobs sent again: {uploads:?}");
        lineage_ok(s.path(), &["resolve", &server.reference("app", ":v1")]);
    }
}
