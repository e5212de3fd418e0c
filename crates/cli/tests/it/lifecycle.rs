//! The original write-up's scenario, one command per step, on three stores: an OCI layout,
//! distribution 2.8 (referrers tag schema) and `lineage serve` (referrers API).

use std::path::Path;

use crate::support::registry::registry_from_env;
use crate::support::scenario::build_revisions;
use crate::support::serve::Serve;
use crate::support::{Scratch, lineage_ok, lineage_run};
use serde_json::{Value, json};

fn status(cwd: &Path, reference: &str) -> Value {
    let out = lineage_ok(cwd, &["status", "--output", "json", reference]);
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

fn out(r: &crate::support::Run) -> String {
    String::from_utf8_lossy(&r.stdout).trim().to_string()
}

/// `repo` is `oci:DIR` or `host/repo`; `tag_ref` appends a tag to it.
fn scenario(s: &Scratch, repo: &str) {
    let tag_ref = |t: &str| format!("{repo}:{t}");
    let sc = crate::support::scenario::scenario(s, repo);
    let new = sc.released.clone();
    let src = |t: &str| format!("oci:{}:{t}", s.join("builds").display());
    // The revision defaults to the UTC date of `created`.
    assert_eq!(
        out(&lineage_ok(
            s.path(),
            &["resolve", &tag_ref("1.0-20230710")]
        )),
        new
    );
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &tag_ref("1.0")])),
        new
    );

    let old = tag_ref("1.0-20230707");
    let old_digest = out(&lineage_ok(s.path(), &["resolve", &old]));
    let by_digest = format!("{repo}@{old_digest}");
    for r in [&old, &by_digest] {
        let st = status(s.path(), r);
        assert_eq!(st["state"], "end-of-life", "{st}");
        assert_eq!(st["endOfLife"], "2023-07-10T08:00:00Z", "{st}");
        assert_eq!(st["reason"], "superseded", "{st}");
        assert_eq!(st["successor"]["digest"], new.as_str(), "{st}");
        assert_eq!(st["version"], "1.0");
        assert_eq!(st["revision"], "20230707");
        assert_eq!(st["source"], "referrer");
    }
    assert_eq!(status(s.path(), &tag_ref("1.0"))["state"], "supported");

    // The lineage, oldest first, and its newest supported revision.
    let history: Value = serde_json::from_slice(
        &lineage_ok(
            s.path(),
            &["history", repo, "--version", "1.0", "--output", "json"],
        )
        .stdout,
    )
    .unwrap();
    let states: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_str().unwrap(),
                h["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![("20230707", "end-of-life"), ("20230710", "supported")]
    );
    let latest = out(&lineage_ok(s.path(), &["latest", &old]));
    assert!(latest.ends_with(":1.0-20230710"), "{latest}");

    // Rerunning the release changes nothing.
    let again = lineage_ok(
        s.path(),
        &[
            "release",
            &src("rev2"),
            repo,
            "--version",
            "1.0",
            "--created",
            "2023-07-10T00:00:00-08:00",
        ],
    );
    assert_eq!(out(&again), new);
    assert!(
        again.stderr.contains("0 records written"),
        "{}",
        again.stderr
    );

    // --fail-on exits 3 for an end-of-life image, 0 for a supported one.
    assert_eq!(
        lineage_run(s.path(), &["status", "--fail-on", "end-of-life", &old]).code,
        Some(3)
    );
    assert_eq!(
        lineage_run(
            s.path(),
            &["status", "--fail-on", "end-of-life", &tag_ref("1.0")]
        )
        .code,
        Some(0)
    );

    // retire, then restore.
    lineage_ok(
        s.path(),
        &["retire", &tag_ref("1.0"), "--reason", "vulnerable"],
    );
    assert_eq!(status(s.path(), &tag_ref("1.0"))["state"], "end-of-life");
    lineage_ok(s.path(), &["restore", &tag_ref("1.0")]);
    assert_eq!(status(s.path(), &tag_ref("1.0"))["state"], "supported");

    // Without its record, the old revision is still caught by the lineage check.
    let record = status(s.path(), &old)["record"]
        .as_str()
        .unwrap()
        .to_string();
    lineage_ok(s.path(), &["delete", &format!("{repo}@{record}")]);
    let st = status(s.path(), &old);
    assert_eq!(st["state"], "superseded", "{st}");
    assert_eq!(st["source"], "lineage", "{st}");
}

#[test]
fn scenario_on_an_oci_layout() {
    let s = Scratch::new();
    let repo = format!("oci:{}", s.join("registry-layout").display());
    scenario(&s, &repo);
}

#[test]
fn scenario_on_lineage_serve() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    scenario(&s, &format!("{}/flasksample", server.host));
}

#[test]
fn scenario_on_distribution_28() {
    let Some(reg) = registry_from_env(
        "scenario_on_distribution_28",
        "LINEAGE_TEST_REGISTRY",
        false,
    ) else {
        return;
    };
    let s = Scratch::new();
    scenario(
        &s,
        &reg.reference(&crate::support::registry::unique_repo("flasksample"), ""),
    );
}

#[test]
fn the_demo_runs_end_to_end() {
    let s = Scratch::new();
    let r = lineage_ok(s.path(), &["demo"]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        stdout.contains("\"state\": \"end-of-life\"") && stdout.contains("2023-07-10T08:00:00Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains("application/vnd.lineage.image.lifecycle.metadata"),
        "{stdout}"
    );
    // What acts on it: the admission webhook denies a Deployment pinned to revision 1,
    // naming the successor, and the updater moves a Dockerfile to it.
    let denied = stdout
        .lines()
        .find(|l| l.starts_with("denied (403): "))
        .unwrap_or_else(|| panic!("no denial in:\n{stdout}"));
    assert!(
        denied.contains("flasksample:1.0-20230707")
            && denied.contains("use ")
            && denied.contains("flasksample:1.0-20230710"),
        "{denied}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("-FROM ") && l.ends_with("flasksample:1.0-20230707"))
            && stdout
                .lines()
                .any(|l| l.starts_with("+FROM ") && l.ends_with("flasksample:1.0-20230710")),
        "{stdout}"
    );
    // Issue 16: the releases sign their records with the demo's throw-away chain; a forged,
    // unsigned end-of-life record on revision 2 decides without a trust policy and is
    // ignored under the demo's strict one, where revision 1's signed record still decides.
    let stderr = &r.stderr;
    assert!(
        stderr.contains("Signed record sha256:")
            && stderr.contains("as CN=release-pipeline,O=Example,ST=WA,C=US"),
        "{stderr}"
    );
    // The steps' headings are on stderr, in order; their tables and notes on stdout.
    let headings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("==> ")).collect();
    let at = |what: &str| {
        headings
            .iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no step `{what}` in {headings:#?}"))
    };
    assert!(
        at("lineage retire ") < at("(no trust policy")
            && at("(no trust policy") < at("--trust-policy "),
        "{headings:#?}"
    );
    assert!(
        headings[at("--trust-policy ")].contains("trustpolicy.json"),
        "{headings:#?}"
    );
    // The STATE column of each status row of `tag`: the walkthrough's status and history,
    // then the status after the forgery without and with the trust policy.
    let states = |tag: &str| -> Vec<&str> {
        stdout
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|r| r.ends_with(&format!("/flasksample:{tag}")))
            })
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect()
    };
    assert_eq!(states("1.0-20230707"), ["end-of-life"; 4], "{stdout}");
    assert_eq!(
        states("1.0-20230710"),
        ["supported", "supported", "end-of-life", "supported"],
        "{stdout}"
    );
    let trusted: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": record sha256:"))
        .collect();
    assert!(
        trusted
            .iter()
            .any(|l| l.contains("flasksample:1.0-20230707: record sha256:")
                && l.contains("is signed by `CN=release-pipeline,O=Example,ST=WA,C=US`")),
        "{trusted:#?}"
    );
    assert!(
        trusted
            .iter()
            .any(|l| l.contains("flasksample:1.0-20230710: record sha256:")
                && l.contains(": unsigned: ")
                && l.ends_with("the record is ignored")),
        "{trusted:#?}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("warning: ")
            && l.contains("flasksample:1.0-20230710")
            && l.contains(": unsigned: ")
            && l.ends_with("the record is ignored")),
        "{stderr}"
    );
    // The whole walkthrough as people read it, steps (stderr) then results (stdout), with
    // what changes from run to run made constant: the port, digests, the work directory,
    // and the times of now (the demo's own dates are 2023's).
    let host = stderr
        .split("listens on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {stderr}"));
    let work = regex::Regex::new(r"[^\s:(]*lineage-demo-[A-Za-z0-9]+").unwrap();
    let now = regex::Regex::new(r"20(2[4-9]|[3-9]\d)-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let text = format!("stderr:\n{stderr}\nstdout:\n{stdout}");
    let text = crate::support::redacted(&text, host);
    let text = work.replace_all(&text, "DEMO");
    let text = now.replace_all(&text, "NOW");
    insta::assert_snapshot!("demo-output", crate::support::columns(&text));
}

/// Push one image to `server` as `app:v1` and return its reference.
fn one_image(s: &Scratch, server: &Serve) -> String {
    let layout = s.join("one");
    crate::support::registry::make_image(&layout, "v1", "one", "amd64");
    let r = server.reference("app", ":v1");
    lineage_ok(
        s.path(),
        &["copy", &format!("oci:{}:v1", layout.display()), &r],
    );
    r
}

/// A record in the Microsoft dialect, as `oras attach` writes it, is honoured; so are
/// records in another namespace, when that namespace is asked for.
#[test]
fn microsoft_and_custom_namespace_records_are_read() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let r = one_image(&s, &server);
    assert_eq!(status(s.path(), &r)["state"], "unknown");
    lineage_ok(
        s.path(),
        &[
            "attach",
            &r,
            "--artifact-type",
            "application/vnd.microsoft.artifact.lifecycle",
            "--annotation",
            "vnd.microsoft.artifact.lifecycle.end-of-life.date=2024-01-01",
        ],
    );
    let st = status(s.path(), &r);
    assert_eq!(st["state"], "end-of-life", "{st}");
    assert_eq!(st["endOfLife"], "2024-01-01T00:00:00Z", "{st}");
    assert_eq!(st["dialect"], "vnd.microsoft.artifact.lifecycle", "{st}");

    let other = server.reference("app2", ":v1");
    lineage_ok(s.path(), &["copy", &r, &other]);
    lineage_ok(
        s.path(),
        &[
            "--namespace",
            "vnd.myorganization.image",
            "retire",
            &other,
            "--at",
            "2023-07-10T08:00:00Z",
            "--reason",
            "superseded",
        ],
    );
    let tree: Value = serde_json::from_slice(
        &lineage_ok(s.path(), &["discover", "--output", "json", &other]).stdout,
    )
    .unwrap();
    let record = &tree["referrers"][0];
    assert_eq!(
        record["artifactType"],
        "application/vnd.myorganization.image.lifecycle.metadata"
    );
    assert_eq!(
        record["annotations"]["vnd.myorganization.image.end-of-life"],
        "2023-07-10T08:00:00Z"
    );
    let st: Value = serde_json::from_slice(
        &lineage_ok(
            s.path(),
            &[
                "--namespace",
                "vnd.myorganization.image",
                "status",
                "--output",
                "json",
                &other,
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(st[0]["state"], "end-of-life", "{st}");
    assert_eq!(st[0]["dialect"], "vnd.myorganization.image");
}

/// With 1000 records on one image, `status` sends at most 3 requests and the newest wins.
#[test]
fn a_thousand_records_cost_three_requests() {
    use lineage_lifecycle::{Namespace, RecordSpec, WriteOptions};
    use lineage_store::Store;
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let r = one_image(&s, &server);
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
        let subject =
            lineage_store::ReadStore::resolve(&store, &lineage_oci::TagOrDigest::Tag("v1".into()))
                .await
                .unwrap();
        let options = WriteOptions {
            namespace: Namespace::default(),
            microsoft: false,
        };
        let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let empty = lineage_oci::Descriptor::empty();
        store
            .blob_put(
                &empty,
                lineage_store::blob::from_bytes(bytes::Bytes::from_static(b"{}")),
            )
            .await
            .unwrap();
        let mut pushes = Vec::new();
        for i in 0..1000i64 {
            let spec = RecordSpec {
                created: base + chrono::Duration::minutes(i),
                end_of_life: Some(base + chrono::Duration::days(i)),
                reason: None,
                successor: None,
                superseded_by: None,
                version: None,
                revision: None,
                end_of_support: None,
                scope: None,
            };
            let m = spec.manifests(&subject, &options).unwrap().profile;
            let store = store.clone();
            pushes.push(async move { store.manifest_put(&m, None).await.unwrap() });
            if pushes.len() == 16 {
                futures_util::future::join_all(pushes.drain(..)).await;
            }
        }
        futures_util::future::join_all(pushes).await;
    });
    // Reads only: the server logs a request once answered, so the line of a record PUT the
    // client has already seen acknowledged may still arrive while `status` runs.
    let reads = || -> Vec<String> {
        server
            .requests()
            .into_iter()
            .filter(|l| !l.contains("method=PUT") && !l.contains("method=POST"))
            .collect()
    };
    let before = reads().len();
    let st = status(s.path(), &r);
    let sent = reads().len() - before;
    assert!(
        sent <= 3,
        "status sent {sent} requests: {:?}",
        &reads()[before..]
    );
    // The newest record (created last) says end-of-life 999 days after 2024-01-01.
    assert_eq!(st["endOfLife"], "2026-09-26T00:00:00Z", "{st}");
}

/// Bad input: clear errors, or a warning — never a wrong state.
#[test]
fn bad_input_gives_errors_or_warnings_not_wrong_states() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let r = one_image(&s, &server);
    let missing = lineage_run(s.path(), &["status", &server.reference("app", ":nope")]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("`nope` not found"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        lineage_run(s.path(), &["status", "--at", "yesterday", &r]).code,
        Some(2)
    );
    assert_eq!(
        lineage_run(s.path(), &["status", "--fail-on", "doomed", &r]).code,
        Some(2)
    );

    lineage_ok(
        s.path(),
        &[
            "attach",
            &r,
            "--artifact-type",
            "application/vnd.lineage.image.lifecycle.metadata",
            "--annotation",
            "vnd.lineage.image.end-of-life=not-a-date",
        ],
    );
    let st = status(s.path(), &r);
    assert_ne!(st["state"], "end-of-life", "{st}");
    assert_eq!(st["warnings"].as_array().map(Vec::len), Some(1), "{st}");

    // The same registry, restarted read-only: the write is refused, clearly.
    let root = server.root.clone();
    server.kill();
    let read_only = Serve::start(&root, &["--read-only"]);
    let refused = lineage_run(s.path(), &["retire", &read_only.reference("app", ":v1")]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.starts_with("error: ") && refused.stderr.contains("UNSUPPORTED"),
        "{}",
        refused.stderr
    );
    assert_ne!(
        status(s.path(), &read_only.reference("app", ":v1"))["state"],
        "end-of-life"
    );
}

/// `lineage push` adds the lifecycle annotations to the top manifest and applies the tags;
/// the config file's namespace is used when no flag names one.
#[test]
fn push_annotates_and_the_config_file_sets_the_namespace() {
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let dst = format!("oci:{}", s.join("pushed").display());
    let digest = out(&lineage_ok(
        s.path(),
        &[
            "push",
            &format!("oci:{}:rev1", builds.display()),
            &format!("{dst}:1.0-20230707"),
            "--version",
            "1.0",
            "--revision",
            "20230707",
            "--created",
            "2023-07-07T00:00:00-08:00",
            "--tag",
            "1.0",
        ],
    ));
    let manifest: Value =
        serde_json::from_slice(&lineage_ok(s.path(), &["manifest", &format!("{dst}:1.0")]).stdout)
            .unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.0"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        "20230707"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"],
        "2023-07-07T08:00:00Z"
    );
    assert_eq!(
        out(&lineage_ok(
            s.path(),
            &["resolve", &format!("{dst}:1.0-20230707")]
        )),
        digest
    );
    assert_eq!(
        status(s.path(), &format!("{dst}:1.0"))["state"],
        "supported"
    );

    let config = s.join("config.json");
    std::fs::write(&config, r#"{"namespace": "vnd.myorganization.image"}"#).unwrap();
    let with_config = |args: &[&str]| {
        crate::support::lineage(s.path())
            .env("LINEAGE_CONFIG", &config)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        with_config(&[
            "retire",
            &format!("{dst}:1.0"),
            "--at",
            "2023-07-10T08:00:00Z"
        ])
        .status
        .success()
    );
    let st: Value = serde_json::from_slice(
        &with_config(&["status", "--output", "json", &format!("{dst}:1.0")]).stdout,
    )
    .unwrap();
    assert_eq!(st[0]["dialect"], "vnd.myorganization.image", "{st}");
    std::fs::write(&config, b"{not json").unwrap();
    let bad = with_config(&["status", &format!("{dst}:1.0")]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("config.json"));
}

/// Releasing over a multi-platform index records end-of-life on the index and on each of its
/// platform manifests; `--dialect microsoft` adds Microsoft's record; `--at` before the
/// end-of-life makes it `scheduled`.
#[test]
fn index_releases_microsoft_dialect_and_scheduled() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    // Two multi-platform indexes, one per revision, built with make-image.sh.
    let mut sources = Vec::new();
    for rev in ["r1", "r2"] {
        let layout = s.join(&format!("idx-{rev}"));
        let mut entries = Vec::new();
        for arch in ["amd64", "arm64"] {
            let d = crate::support::registry::make_image(
                &layout,
                &format!("{rev}-{arch}"),
                &format!("{rev}{arch}"),
                arch,
            );
            let size = std::fs::metadata(
                layout
                    .join("blobs/sha256")
                    .join(d.trim_start_matches("sha256:")),
            )
            .unwrap()
            .len();
            entries.push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
                "platform": {"architecture": arch, "os": "linux"}}));
        }
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})).unwrap();
        let digest = format!("sha256:{}", crate::support::sha256_hex(&index));
        std::fs::write(
            layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
            &index,
        )
        .unwrap();
        let mut idx: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        idx["manifests"].as_array_mut().unwrap().push(json!({"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest, "size": index.len(), "annotations": {"org.opencontainers.image.ref.name": "list"}}));
        std::fs::write(layout.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
        sources.push(format!("oci:{}:list", layout.display()));
    }
    let repo = server.reference("multi", "");
    // The images carry their own created time (2024-01-01): a different `--created` is
    // refused, naming both, and nothing is written (issue 18; it used to be ignored).
    let refused = lineage_run(
        s.path(),
        &[
            "release",
            &sources[0],
            &repo,
            "--version",
            "2.0",
            "--revision",
            "1",
            "--created",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("`--created` says 2030-01-01T00:00:00Z")
            && refused
                .stderr
                .contains("own created time 2024-01-01T00:00:00Z")
            && refused.stderr.contains("--override-created"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        lineage_run(s.path(), &["resolve", &format!("{repo}:2.0")]).code,
        Some(1)
    );
    lineage_ok(
        s.path(),
        &[
            "release",
            &sources[0],
            &repo,
            "--version",
            "2.0",
            "--revision",
            "1",
        ],
    );
    lineage_ok(
        s.path(),
        &[
            "release",
            &sources[1],
            &repo,
            "--version",
            "2.0",
            "--revision",
            "2",
            "--eol-at",
            "2030-06-01T00:00:00Z",
            "--dialect",
            "microsoft",
        ],
    );
    let old = format!("{repo}:2.0-1");
    // The end-of-life (`--eol-at`) is in the future: scheduled; at a later time,
    // end-of-life.
    assert_eq!(status(s.path(), &old)["state"], "scheduled");
    let later: Value = serde_json::from_slice(
        &lineage_ok(
            s.path(),
            &["status", "--output", "json", "--at", "2031-01-01", &old],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(later[0]["state"], "end-of-life", "{later}");
    // Records on the index (profile and Microsoft) and on each platform manifest.
    let tree: Value = serde_json::from_slice(
        &lineage_ok(s.path(), &["discover", "--output", "json", &old]).stdout,
    )
    .unwrap();
    let types: std::collections::BTreeSet<String> = tree["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap().to_string())
        .collect();
    assert!(
        types.contains("application/vnd.lineage.image.lifecycle.metadata")
            && types.contains("application/vnd.microsoft.artifact.lifecycle"),
        "{types:?}"
    );
    let index: Value =
        serde_json::from_slice(&lineage_ok(s.path(), &["manifest", &old]).stdout).unwrap();
    for child in index["manifests"].as_array().unwrap() {
        let child_ref = format!("{repo}@{}", child["digest"].as_str().unwrap());
        let st: Value = serde_json::from_slice(
            &lineage_ok(
                s.path(),
                &[
                    "status",
                    "--output",
                    "json",
                    "--at",
                    "2031-01-01",
                    &child_ref,
                ],
            )
            .stdout,
        )
        .unwrap();
        assert_eq!(
            st[0]["state"], "end-of-life",
            "platform manifest {child_ref}: {st}"
        );
    }
}

/// The new user's mistakes that damaged a lineage (issue 22): rerunning an older release,
/// a tag where a repository is expected; and `status` with a reference that does not exist.
#[test]
fn release_mistakes_are_refused_and_status_reports_every_reference() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = format!("{}/flasksample", server.host);
    let sc = crate::support::scenario::scenario(&s, &repo);
    let src = format!("oci:{}:rev1", s.join("builds").display());

    // The first release again: 1.0 names the newer revision, so nothing moves.
    let again = lineage_run(
        s.path(),
        &[
            "release",
            &src,
            &repo,
            "--version",
            "1.0",
            "--revision",
            "20230707",
            "--created",
            "2023-07-07T00:00:00-08:00",
        ],
    );
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(
        again.stderr.contains("never moves a rolling tag backwards"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--rollback"), "{}", again.stderr);
    insta::assert_snapshot!(
        "release-backwards",
        crate::support::redacted(
            &again
                .stderr
                .replace(&s.path().display().to_string(), "SCRATCH"),
            &server.host
        )
    );
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &sc.current])),
        sc.successor_digest
    );
    assert_eq!(status(s.path(), &sc.current)["state"], "supported");
    assert_eq!(status(s.path(), &sc.eol)["state"], "end-of-life");
    assert_eq!(
        out(&lineage_ok(s.path(), &["latest", &sc.eol])),
        sc.successor
    );

    // With --rollback, 1.0 moves back: the old revision is supported, the newer retired.
    let back = lineage_run(
        s.path(),
        &[
            "release",
            &src,
            &repo,
            "--version",
            "1.0",
            "--revision",
            "20230707",
            "--rollback",
        ],
    );
    assert_eq!(back.code, Some(0), "{}", back.stderr);
    assert!(back.stderr.contains("rolled back"), "{}", back.stderr);
    insta::assert_snapshot!(
        "release-rollback",
        crate::support::redacted(&back.stderr, &server.host)
    );
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &sc.current])),
        sc.eol_digest
    );
    assert_eq!(status(s.path(), &sc.eol)["state"], "supported");
    let newer = status(s.path(), &sc.successor);
    assert_eq!(newer["state"], "end-of-life", "{newer}");
    assert_eq!(
        newer["successor"]["digest"],
        sc.eol_digest.as_str(),
        "{newer}"
    );
    assert_eq!(out(&lineage_ok(s.path(), &["latest", &sc.current])), sc.eol);

    // A tag in the repository argument is refused, naming it.
    let tagged = lineage_run(
        s.path(),
        &[
            "release",
            &src,
            &format!("{repo}:mytag"),
            "--version",
            "2.0",
        ],
    );
    assert_eq!(tagged.code, Some(2), "{}", tagged.stderr);
    assert!(
        tagged.stderr.contains("names the tag `mytag`"),
        "{}",
        tagged.stderr
    );
    assert!(
        tagged.stderr.contains("a repository is expected"),
        "{}",
        tagged.stderr
    );
    assert_eq!(
        lineage_run(s.path(), &["resolve", &format!("{repo}:2.0")]).code,
        Some(1),
        "nothing was released"
    );

    // The arguments the other way round: the hint says which comes first.
    let swapped = lineage_run(s.path(), &["release", &repo, &src, "--version", "2.0"]);
    assert_eq!(swapped.code, Some(2), "{}", swapped.stderr);
    assert!(
        swapped.stderr.contains("hint: the source comes first"),
        "{}",
        swapped.stderr
    );
    assert!(
        swapped
            .stderr
            .contains("For more information, try '--help'."),
        "{}",
        swapped.stderr
    );
    insta::assert_snapshot!(
        "release-swapped",
        crate::support::redacted(
            &swapped
                .stderr
                .replace(&s.path().display().to_string(), "SCRATCH"),
            &server.host
        )
    );

    // A repository without a tag: `latest` was assumed, and the error says so.
    let untagged = lineage_run(s.path(), &["resolve", &repo]);
    assert_eq!(untagged.code, Some(1), "{}", untagged.stderr);
    assert!(
        untagged.stderr.contains("so `latest` was assumed"),
        "{}",
        untagged.stderr
    );

    // `status A B` with B missing: a row for each, B unknown with its error, exit 1.
    let missing = format!("{repo}:no-such-tag");
    let both = lineage_run(s.path(), &["status", "--output", "json", &sc.eol, &missing]);
    assert_eq!(both.code, Some(1), "{}", both.stderr);
    let rows: Value = serde_json::from_slice(&both.stdout).unwrap();
    assert_eq!(rows[0]["state"], "supported", "{rows}");
    assert_eq!(rows[1]["reference"], missing.as_str(), "{rows}");
    assert_eq!(rows[1]["state"], "unknown", "{rows}");
    assert!(
        rows[1]["error"].as_str().unwrap().contains("no-such-tag"),
        "{rows}"
    );
    assert!(
        both.stderr
            .contains("1 of 2 references could not be looked up"),
        "{}",
        both.stderr
    );
    let table = lineage_run(s.path(), &["status", &sc.eol, &missing]);
    assert_eq!(table.code, Some(1));
    insta::assert_snapshot!(
        "status-with-a-failure",
        crate::support::redacted(
            &format!(
                "{}--- stderr\n{}",
                String::from_utf8_lossy(&table.stdout),
                table.stderr
            ),
            &server.host
        )
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(&sc.eol) && text.contains(&missing), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&missing) && l.contains("unknown")),
        "{text}"
    );
}

/// `delete REPO:TAG` takes the manifest and every other tag on it, and leaves its records
/// without a subject: lineage lists what would go and asks for `--force`, or removes only
/// the tag with `--untag` (issue 22).
#[test]
fn delete_lists_what_would_go_and_asks_for_force() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = format!("{}/flasksample", server.host);
    let sc = crate::support::scenario::scenario(&s, &repo);

    // 1.0-20230710 and 1.0 name one manifest.
    let r = lineage_run(s.path(), &["delete", &sc.successor]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("1 other tag (1.0)"), "{}", r.stderr);
    assert!(r.stderr.contains("--untag"), "{}", r.stderr);
    insta::assert_snapshot!(
        "delete-refused",
        crate::support::redacted(&r.stderr, &server.host)
    );
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &sc.current])),
        sc.successor_digest
    );

    lineage_ok(s.path(), &["delete", "--untag", &sc.successor]);
    assert_eq!(
        lineage_run(s.path(), &["resolve", &sc.successor]).code,
        Some(1)
    );
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &sc.current])),
        sc.successor_digest
    );

    // The end-of-life revision has its lifecycle record as a referrer.
    let record = status(s.path(), &sc.eol)["record"]
        .as_str()
        .unwrap()
        .to_string();
    let r = lineage_run(s.path(), &["delete", &sc.eol]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("1 referrer"), "{}", r.stderr);
    assert!(r.stderr.contains(&record), "{}", r.stderr);
    assert_eq!(
        out(&lineage_ok(s.path(), &["resolve", &sc.eol])),
        sc.eol_digest
    );

    let gone = lineage_ok(s.path(), &["delete", "--force", &sc.eol]);
    assert!(gone.stderr.contains("also gone"), "{}", gone.stderr);
    insta::assert_snapshot!(
        "delete-forced",
        crate::support::redacted(&gone.stderr, &server.host)
    );
    assert_eq!(lineage_run(s.path(), &["resolve", &sc.eol]).code, Some(1));

    // --untag needs a tag.
    let r = lineage_run(
        s.path(),
        &[
            "delete",
            "--untag",
            &format!("{repo}@{}", sc.successor_digest),
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

/// `--output json` on every command that prints data (issue 22): resolve, tags and latest
/// too, with the same vocabulary as status and history.
#[test]
fn resolve_tags_and_latest_print_json() {
    let s = Scratch::new();
    let repo = format!("oci:{}", s.join("layout").display());
    let sc = crate::support::scenario::scenario(&s, &repo);
    let json_of = |args: &[&str]| -> Value {
        serde_json::from_slice(&lineage_ok(s.path(), args).stdout).unwrap()
    };
    let resolved = json_of(&["resolve", "--output", "json", &sc.current]);
    assert_eq!(
        resolved["digest"],
        sc.successor_digest.as_str(),
        "{resolved}"
    );
    assert_eq!(
        resolved["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(
        resolved["size"].as_u64().is_some_and(|n| n > 0),
        "{resolved}"
    );
    let tags = json_of(&["tags", "-o", "json", &repo]);
    let mut listed: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, ["1.0", "1.0-20230707", "1.0-20230710"], "{tags}");
    let latest = json_of(&["latest", "-o", "json", &sc.eol]);
    assert_eq!(latest["reference"], sc.successor.as_str(), "{latest}");
    assert_eq!(latest["state"], "supported", "{latest}");
}
