//! `lineage probe` against real registries: the expected row of every check for
//! distribution 2.8 (deletes on, deletes off, basic auth), zuul-registry (bearer
//! tokens) and `lineage serve`, as `scripts/test.sh` starts them. The expected
//! values come from what these registries were measured to do (the project's
//! conformance profile for distribution 2.8, and the spec for lineage serve).
//! Also: a probe without `--write` sends only reads (counted from lineage serve's
//! access log), an unreachable registry gives error rows and exit 1, and a
//! write probe leaves no tag behind where deletes work.

use crate::support::registry::{Ctx, TestRegistry, registry_from_env, unique_repo};
use crate::support::serve::Serve;
use crate::support::{Scratch, handmade_layout, oci};
use serde_json::Value;

/// Expected results per registry kind, in the columns
/// distribution-on, distribution-off, distribution-auth, zuul, serve.
const EXPECTED: &[(&str, [&str; 5])] = &[
    ("ping", ["yes", "yes", "yes", "yes", "yes"]),
    ("auth", ["yes", "yes", "yes", "yes", "yes"]),
    ("referrers-api", ["no", "no", "no", "no", "yes"]),
    (
        "referrers-filter",
        ["skipped", "skipped", "skipped", "skipped", "yes"],
    ),
    (
        "referrers-pagination",
        ["skipped", "skipped", "skipped", "skipped", "yes"],
    ),
    ("oci-subject-header", ["no", "no", "no", "no", "yes"]),
    ("artifact-empty-config", ["yes", "yes", "yes", "yes", "yes"]),
    ("artifact-no-layers", ["yes", "yes", "yes", "yes", "yes"]),
    ("index-subject", ["yes", "yes", "yes", "yes", "yes"]),
    ("referrers-tag-schema", ["yes", "yes", "yes", "yes", "yes"]),
    ("manifest-delete", ["yes", "no", "yes", "no", "yes"]),
    ("tag-delete", ["no", "no", "no", "no", "yes"]),
    ("blob-delete", ["yes", "no", "yes", "no", "yes"]),
    ("tags-list", ["yes", "yes", "yes", "yes", "yes"]),
    ("tags-pagination", ["no", "no", "no", "no", "yes"]),
    ("catalog", ["yes", "yes", "yes", "no", "yes"]),
    ("blob-mount", ["yes", "yes", "yes", "no", "yes"]),
    ("chunked-upload", ["yes", "yes", "yes", "yes", "yes"]),
    ("chunked-out-of-order", ["no", "no", "no", "no", "yes"]),
    ("single-post-upload", ["no", "no", "no", "no", "yes"]),
    ("accept-strict", ["yes", "yes", "yes", "yes", "no"]),
    ("manifest-4mib", ["yes", "yes", "yes", "yes", "yes"]),
    ("blob-range", ["yes", "yes", "yes", "no", "yes"]),
    ("multi-tag-push", ["no", "no", "no", "no", "yes"]),
];

/// Details that must appear (check id, column, text), beyond the result.
const DETAILS: &[(&str, usize, &str)] = &[
    ("auth", 0, "none"),
    ("auth", 1, "none"),
    ("auth", 2, "basic"),
    ("auth", 3, "bearer"),
    ("auth", 4, "none"),
    ("referrers-api", 0, "HTTP 404"),
    ("referrers-api", 4, "HTTP 200"),
    ("tag-delete", 0, "HTTP 400 DIGEST_INVALID"),
    ("tag-delete", 1, "HTTP 405 UNSUPPORTED"),
    ("manifest-delete", 1, "HTTP 405 UNSUPPORTED"),
    ("single-post-upload", 0, "HTTP 202"),
    ("single-post-upload", 4, "HTTP 201"),
    ("accept-strict", 0, "MANIFEST_UNKNOWN"),
    ("blob-range", 3, "HTTP 200"),
];

/// Run `lineage probe ARGS -o json` and parse its report.
fn probe_json(ctx: &Ctx, args: &[&str]) -> (Value, crate::support::Run) {
    let mut all = vec!["probe", "--output", "json"];
    all.extend_from_slice(args);
    let r = ctx.run(&all);
    let v: Value = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("probe JSON: {e}\n{}", crate::support::registry::context(&r)));
    (v, r)
}

/// Assert the report of one registry against column `col` of the table.
fn assert_expected(report: &Value, col: usize, what: &str) {
    let checks = report["checks"].as_array().expect("checks");
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let want_ids: Vec<&str> = EXPECTED.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, want_ids, "{what}: the checks and their order");
    let mut wrong = Vec::new();
    for (check, (id, want)) in checks.iter().zip(EXPECTED) {
        let got = check["result"].as_str().unwrap();
        if got != want[col] {
            wrong.push(format!(
                "{id}: expected {}, got {got} ({})",
                want[col], check["detail"]
            ));
        }
        assert!(
            !check["detail"].as_str().unwrap_or("").is_empty(),
            "{what}: {id} has no detail"
        );
    }
    for (id, c, text) in DETAILS.iter().filter(|(_, c, _)| *c == col) {
        let _ = c;
        let detail = checks
            .iter()
            .find(|x| x["id"] == *id)
            .and_then(|x| x["detail"].as_str())
            .unwrap_or("");
        if !detail.contains(text) {
            wrong.push(format!("{id}: detail {detail:?} should name {text:?}"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

/// A write probe of `reg` in a fresh repository, asserted against column `col`.
/// Returns the report and the repository.
fn write_probe(reg: &TestRegistry, col: usize, what: &str) -> (Value, String) {
    let ctx = Ctx::new();
    if reg.creds.is_some() {
        ctx.login(reg);
    }
    let repo = unique_repo("probe");
    let (v, r) = probe_json(&ctx, &[&reg.host, "--write", "--repo", &repo]);
    assert_eq!(r.code, Some(0), "{}", crate::support::registry::context(&r));
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["registry"], reg.host.as_str());
    assert_expected(&v[0], col, what);
    // Progress went to stderr, one line per check.
    assert!(
        r.stderr.contains(&format!("{}: referrers-api", reg.host)),
        "progress on stderr: {}",
        r.stderr
    );
    (v, repo)
}

/// The tags left in `repo` of `reg`.
fn tags_left(reg: &TestRegistry, repo: &str) -> Vec<String> {
    let ctx = Ctx::new();
    if reg.creds.is_some() {
        ctx.login(reg);
    }
    let r = ctx.run(&["tags", &reg.reference(repo, "")]);
    r.stdout_text().lines().map(str::to_string).collect()
}

#[test]
fn distribution_with_deletes() {
    let Some(reg) = registry_from_env("distribution_with_deletes", "LINEAGE_TEST_REGISTRY", false)
    else {
        return;
    };
    let (v, repo) = write_probe(&reg, 0, "distribution 2.8, deletes on");
    assert!(v[0].get("notes").is_none(), "nothing left behind: {v}");
    assert_eq!(
        tags_left(&reg, &repo),
        Vec::<String>::new(),
        "the probe deletes what it pushed"
    );
}

#[test]
fn distribution_without_deletes() {
    let Some(reg) = registry_from_env(
        "distribution_without_deletes",
        "LINEAGE_TEST_REGISTRY_NODELETE",
        false,
    ) else {
        return;
    };
    let (v, repo) = write_probe(&reg, 1, "distribution 2.8, deletes off");
    let notes = v[0]["notes"].to_string();
    assert!(
        notes.contains("left") && notes.contains(&repo) && notes.contains("405"),
        "the report says what was left behind and why: {notes}"
    );
}

#[test]
fn distribution_with_basic_auth() {
    let Some(reg) = registry_from_env(
        "distribution_with_basic_auth",
        "LINEAGE_TEST_REGISTRY_AUTH",
        true,
    ) else {
        return;
    };
    write_probe(&reg, 2, "distribution 2.8, basic auth");

    // Without credentials: the registry still answers ping, auth is an error that
    // points at `lineage login`.
    let ctx = Ctx::new();
    let (v, r) = probe_json(&ctx, &[&reg.host]);
    assert_eq!(r.code, Some(0), "{}", crate::support::registry::context(&r));
    let auth = &v[0]["checks"][1];
    assert_eq!(auth["id"], "auth");
    assert_eq!(auth["result"], "error", "{auth}");
    let detail = auth["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("basic") && detail.contains("lineage login"),
        "{detail}"
    );
}

#[test]
fn zuul_registry_with_bearer_tokens() {
    let Some(reg) = registry_from_env(
        "zuul_registry_with_bearer_tokens",
        "LINEAGE_TEST_ZUUL",
        true,
    ) else {
        return;
    };
    let (v, _) = write_probe(&reg, 3, "zuul-registry");
    assert!(
        v[0]["notes"].to_string().contains("does not delete"),
        "zuul-registry has no DELETE, and the report says so: {v}"
    );
}

#[test]
fn lineage_serve_and_read_only_probes_send_only_reads() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.join("root"), &["--referrers-page-size", "2"]);
    let reg = TestRegistry {
        host: serve.host.clone(),
        creds: None,
    };
    let (_, repo) = write_probe(&reg, 4, "lineage serve");
    assert_eq!(tags_left(&reg, &repo), Vec::<String>::new());

    // An image with two referrers for the read-only probe to find.
    let ctx = Ctx::new();
    let src = ctx.join("src");
    handmade_layout(&src, "v1");
    let image = serve.reference("app", ":v1");
    ctx.ok(&["copy", &oci(&src, "v1"), &image]);
    for kind in ["a", "b", "c"] {
        ctx.ok(&[
            "attach",
            &image,
            "--artifact-type",
            &format!("application/vnd.example.{kind}"),
        ]);
    }
    let before = serve.requests().len();
    let (v, r) = probe_json(&ctx, &[&serve.host, "--repo", "app"]);
    assert_eq!(r.code, Some(0), "{}", crate::support::registry::context(&r));
    let requests = serve.requests();
    let probe_requests = &requests[before..];
    assert!(
        probe_requests.len() >= 8,
        "the probe's requests are in the log: {probe_requests:?}"
    );
    let writes: Vec<&String> = probe_requests
        .iter()
        .filter(|l| !(l.contains("method=GET") || l.contains("method=HEAD")))
        .collect();
    assert!(
        writes.is_empty(),
        "a probe without --write sent writes: {writes:#?}"
    );
    let result = |id: &str| {
        v[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| {
                (
                    c["result"].as_str().unwrap().to_string(),
                    c["detail"].to_string(),
                )
            })
            .unwrap()
    };
    for (id, want) in [
        ("referrers-api", "yes"),
        ("referrers-filter", "yes"),
        ("referrers-pagination", "yes"),
        ("tags-list", "yes"),
        ("catalog", "yes"),
        ("accept-strict", "no"),
        ("blob-range", "yes"),
        ("tags-pagination", "skipped"),
        ("manifest-delete", "skipped"),
        ("single-post-upload", "skipped"),
    ] {
        let (got, detail) = result(id);
        assert_eq!(got, want, "{id}: {detail}");
    }
    assert!(result("referrers-api").1.contains("3 referrers"));
    assert!(result("manifest-delete").1.contains("--write"));
}

#[test]
fn several_registries_one_table_and_an_unreachable_one() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.join("root"), &[]);
    // A port nothing listens on: bind, note it, release it.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let ctx = Ctx::new();
    let r = ctx.run(&[
        "probe",
        &serve.host,
        &dead,
        "--output",
        "markdown",
        "--label",
        "lineage serve",
        "--label",
        "nothing",
        "--timeout",
        "5",
    ]);
    assert_eq!(
        r.code,
        Some(1),
        "an unreachable registry makes the exit 1: {}",
        crate::support::registry::context(&r)
    );
    let text = r.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "| check | lineage serve | nothing |");
    assert_eq!(lines[1], "|---|---|---|");
    assert!(
        lines.contains(&"| `referrers-api` | yes | error |"),
        "{text}"
    );
    assert!(lines.contains(&"| `ping` | yes | error |"), "{text}");
    assert!(text.contains("### nothing"), "{text}");
    assert!(text.contains("registry unreachable"), "{text}");

    let (v, r) = probe_json(&ctx, &[&dead]);
    assert_eq!(r.code, Some(1));
    let checks = v[0]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), EXPECTED.len());
    assert!(checks.iter().all(|c| c["result"] == "error"), "{v}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let ctx = Ctx::new();
    for args in [
        vec!["probe", "ghcr.io/me/app"],
        vec!["probe", "ftp://example.com"],
        vec!["probe", "localhost:5000", "--repo", "Not/Valid"],
        vec!["probe", "localhost:5000", "--timeout", "0"],
    ] {
        let r = ctx.run(&args);
        assert_eq!(r.code, Some(2), "{}", crate::support::registry::context(&r));
        assert!(r.stdout.is_empty());
    }
}
