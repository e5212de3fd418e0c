//! The original write-up's scenario, one command per step, on three stores: an OCI layout,
//! distribution 2.8 (referrers tag schema) and `lineage serve` (referrers API).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::registry::registry_from_env;
use support::serve::Serve;
use support::{Scratch, lineage_ok, lineage_run};

/// Two small images without a `created` annotation (so `--created` decides), tagged `rev1`
/// and `rev2` in the layout `dir`.
fn build_revisions(dir: &Path) {
    use lineage_oci::{Descriptor, Digest, RawManifest, media_type};
    use lineage_store::{LayoutStore, Store, blob};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = LayoutStore::open_or_create(dir).unwrap();
        for tag in ["rev1", "rev2"] {
            let mut descs = Vec::new();
            for (mt, data) in [
                (
                    media_type::OCI_CONFIG,
                    format!(r#"{{"architecture":"amd64","os":"linux","rev":"{tag}"}}"#),
                ),
                (
                    media_type::OCI_LAYER_TAR,
                    format!("flasksample {tag}\n").repeat(32),
                ),
            ] {
                let d = Descriptor::new(mt, Digest::sha256(data.as_bytes()), data.len() as u64);
                s.blob_put(&d, blob::from_bytes(bytes::Bytes::from(data)))
                    .await
                    .unwrap();
                descs.push(d);
            }
            let m = RawManifest::from_canonical(
                &json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
                "config": descs[0], "layers": [descs[1]]}),
            )
            .unwrap();
            s.manifest_put(&m, Some(tag)).await.unwrap();
        }
    });
}

fn status(cwd: &Path, reference: &str) -> Value {
    let out = lineage_ok(cwd, &["status", "--output", "json", reference]);
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

fn out(r: &support::Run) -> String {
    String::from_utf8_lossy(&r.stdout).trim().to_string()
}

/// `repo` is `oci:DIR` or `host/repo`; `tag_ref` appends a tag to it.
fn scenario(s: &Scratch, repo: &str) {
    let tag_ref = |t: &str| format!("{repo}:{t}");
    let builds = s.join("builds");
    build_revisions(&builds);
    let src = |t: &str| format!("oci:{}:{t}", builds.display());

    lineage_ok(
        s.path(),
        &[
            "release",
            &src("rev1"),
            repo,
            "--version",
            "1.0",
            "--revision",
            "20230707",
            "--created",
            "2023-07-07T00:00:00-08:00",
        ],
    );
    let new = out(&lineage_ok(
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
    ));
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
        again.stderr.contains("0 record(s) written"),
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
        &reg.reference(&support::registry::unique_repo("flasksample"), ""),
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
}
