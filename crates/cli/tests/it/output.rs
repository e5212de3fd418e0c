//! Snapshots of the human-readable output `lineage` prints: the status and history tables,
//! the probe table, tags and the referrer tree, and the one style every error is rendered in
//! (`error:`, `  caused by:`, `hint:`), a bad flag value included. Hosts, scratch paths and
//! digests are redacted; timestamps are pinned with `--at` and `--annotation`.

use crate::support::scenario::scenario;
use crate::support::serve::Serve;
use crate::support::{Scratch, handmade_layout, lineage_ok, lineage_run, oci, redacted};

/// A host no output contains, for output without one.
const NO_HOST: &str = "\0no host\0";

/// `text` with `host` and the scratch directory `s` redacted, digests too.
fn clean(s: &Scratch, text: &[u8], host: &str) -> String {
    redacted(
        &String::from_utf8_lossy(text).replace(&s.path().display().to_string(), "SCRATCH"),
        host,
    )
}

#[test]
fn status_and_history_tables() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = server.reference("flasksample", "");
    let sc = scenario(&s, &repo);
    let status = lineage_ok(
        s.path(),
        &[
            "status",
            "--at",
            "2030-01-01",
            &sc.eol,
            &sc.successor,
            &sc.current,
        ],
    );
    insta::assert_snapshot!("status-table", clean(&s, &status.stdout, &server.host));
    let history = lineage_ok(s.path(), &["history", &repo, "--version", "1.0"]);
    insta::assert_snapshot!("history-table", clean(&s, &history.stdout, &server.host));
}

#[test]
fn probe_table_of_lineage_serve() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let r = lineage_run(
        s.path(),
        &[
            "probe",
            &server.host,
            "--repo",
            "app",
            "--label",
            "lineage serve",
        ],
    )
    .success();
    insta::assert_snapshot!("probe-table", clean(&s, &r.stdout, &server.host));
}

#[test]
fn tags_and_the_referrer_tree() {
    let s = Scratch::new();
    let layout = s.join("layout");
    handmade_layout(&layout, "v1");
    lineage_ok(
        s.path(),
        &["copy", &oci(&layout, "v1"), &oci(&layout, "v2")],
    );
    let tags = lineage_ok(s.path(), &["tags", &format!("oci:{}", layout.display())]);
    insta::assert_snapshot!("tags", clean(&s, &tags.stdout, NO_HOST));

    for (kind, created) in [
        ("application/vnd.example.sbom", "2023-07-10T00:00:00Z"),
        ("application/vnd.example.signature", "2023-07-11T00:00:00Z"),
    ] {
        let attached = lineage_ok(
            s.path(),
            &[
                "attach",
                &oci(&layout, "v1"),
                "--artifact-type",
                kind,
                "--annotation",
                &format!("org.opencontainers.image.created={created}"),
            ],
        )
        .stdout_text();
        // A referrer of the referrer: the tree goes two levels down.
        if kind.ends_with("sbom") {
            lineage_ok(
                s.path(),
                &[
                    "attach",
                    &format!("oci:{}@{attached}", layout.display()),
                    "--artifact-type",
                    "application/vnd.example.signature",
                    "--annotation",
                    "org.opencontainers.image.created=2023-07-12T00:00:00Z",
                ],
            );
        }
    }
    let tree = lineage_ok(s.path(), &["discover", &oci(&layout, "v1")]);
    insta::assert_snapshot!("discover-tree", clean(&s, &tree.stdout, NO_HOST));
}

#[test]
fn errors_render_in_one_style() {
    let s = Scratch::new();
    // A bad flag value: clap's words, naming the flag and the value.
    let bad_time = lineage_run(s.path(), &["status", "--at", "yesterday", "oci:x:v1"]);
    assert_eq!(bad_time.code, Some(2), "{}", bad_time.stderr);
    bad_time.fails_naming("--at");
    insta::assert_snapshot!("error-bad-flag-value", bad_time.stderr);
    let bad_state = lineage_run(s.path(), &["audit", "--fail-on", "doomed"]);
    assert_eq!(bad_state.code, Some(2), "{}", bad_state.stderr);
    insta::assert_snapshot!("error-bad-state", bad_state.stderr);
    let bad_ref = lineage_run(s.path(), &["resolve", "oci:"]);
    assert_eq!(bad_ref.code, Some(2), "{}", bad_ref.stderr);
    insta::assert_snapshot!("error-bad-reference", bad_ref.stderr);

    // A failure: the headline, then each cause once.
    let missing = s.join("missing");
    let failed = lineage_run(s.path(), &["resolve", &oci(&missing, "v1")]);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    failed.fails_naming("missing");
    insta::assert_snapshot!(
        "error-failure-with-causes",
        clean(&s, failed.stderr.as_bytes(), NO_HOST)
    );

    // A hint after the causes.
    let layout = s.join("layout");
    handmade_layout(&layout, "v1");
    lineage_ok(
        s.path(),
        &["copy", &oci(&layout, "v1"), &oci(&layout, "v2")],
    );
    let refused = lineage_run(s.path(), &["delete", &oci(&layout, "v1")]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    insta::assert_snapshot!(
        "error-with-hint",
        clean(&s, refused.stderr.as_bytes(), NO_HOST)
    );
}

/// `--quiet` silences notes (summaries, progress) and nothing else: warnings and errors stay.
#[test]
fn quiet_silences_notes_not_warnings() {
    let s = Scratch::new();
    let layout = s.join("layout");
    handmade_layout(&layout, "v1");
    let loud = lineage_ok(
        s.path(),
        &["copy", &oci(&layout, "v1"), &oci(&s.join("a"), "v1")],
    );
    assert!(loud.stderr.starts_with("Copied "), "{}", loud.stderr);
    let quiet = lineage_ok(
        s.path(),
        &[
            "--quiet",
            "copy",
            &oci(&layout, "v1"),
            &oci(&s.join("b"), "v1"),
        ],
    );
    assert_eq!(quiet.stderr, "");

    let server = Serve::start(&s.join("root"), &[]);
    let list = s.join("images.txt");
    std::fs::write(&list, server.reference("app", ":missing") + "\n").unwrap();
    let list = list.display().to_string();
    let loud = lineage_ok(s.path(), &["audit", &list]);
    assert!(loud.stderr.contains("warning: "), "{}", loud.stderr);
    assert!(loud.stderr.contains("1 distinct image"), "{}", loud.stderr);
    let quiet = lineage_ok(s.path(), &["-q", "audit", &list]);
    assert!(quiet.stderr.contains("warning: "), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("distinct image"), "{}", quiet.stderr);
}
