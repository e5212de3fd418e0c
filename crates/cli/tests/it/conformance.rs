//! The OCI distribution-spec conformance suite (`lineage-conformance`)
//! against the real CNCF distribution 2.8 registry that `scripts/test.sh`
//! starts (`LINEAGE_TEST_REGISTRY=host:port`, deletes on), judged with the
//! `distribution-2.8` profile: every failure must be one of that registry's
//! measured, expected differences.
//!
//! Without `LINEAGE_TEST_REGISTRY` the test prints `SKIPPED` and passes,
//! except under CI (`CI` set), where it fails.

use lineage_conformance::{Config, Outcome, Profile, run};

use crate::support::serve;

fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0"),
        Err(_) => false,
    }
}

fn registry() -> Option<String> {
    let host = std::env::var("LINEAGE_TEST_REGISTRY")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if host.is_none() {
        let note = "conformance: LINEAGE_TEST_REGISTRY is not set \
                    (scripts/test.sh starts the test registries)";
        assert!(
            !in_ci(),
            "{note}; CI is set, so this is a failure rather than a skip"
        );
        eprintln!("SKIPPED {note}");
    }
    host
}

#[tokio::test(flavor = "multi_thread")]
async fn distribution_28_has_no_unexpected_failures() {
    let Some(host) = registry() else {
        return;
    };
    let mut config = Config::new(format!("http://{host}"));
    config.namespace = "test-conformance/main".to_owned();
    config.crossmount_namespace = "test-conformance/cross".to_owned();
    config.profile = Profile::Distribution28;

    let report = run(&config).await;
    for c in &report.checks {
        let (word, detail) = match &c.outcome {
            Outcome::Pass => ("PASS", c.note.clone().unwrap_or_default()),
            Outcome::Fail(m) => ("FAIL", m.clone()),
            Outcome::Skip(m) => ("SKIP", m.clone()),
            Outcome::ExpectedFail(m) => ("XFAIL", m.clone()),
        };
        eprintln!("{word:<5} {} {detail}", c.id);
    }
    eprintln!("{}", report.summary());

    let unexpected: Vec<String> = report
        .unexpected_failures()
        .iter()
        .map(|c| format!("{}: {:?}", c.id, c.outcome))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected failures against distribution 2.8:\n{}",
        unexpected.join("\n")
    );

    // The suite really ran: the registry answered, and the checks the
    // profile names exist (so a renamed check cannot hide a difference).
    assert_eq!(
        report.get("pull/ping").map(|c| &c.outcome),
        Some(&Outcome::Pass)
    );
    assert!(
        report.checks.len() >= 80,
        "only {} checks ran",
        report.checks.len()
    );
    for d in Profile::Distribution28.expected_differences() {
        assert!(
            report.get(d.id).is_some(),
            "the profile expects a failure of {}, a check that did not run",
            d.id
        );
    }
    // What must work on distribution 2.8 does: the basic push and pull flows
    // and deletion by digest.
    for id in [
        "push/blob/monolithic",
        "push/blob/chunked/close-without-body",
        "push/blob/mount/from",
        "push/blob/cancel",
        "push/manifest/put-by-tag",
        "push/manifest/missing-blob",
        "pull/manifest/get-by-digest",
        "pull/blob/range/first-last",
        "discovery/referrers/push-missing-subject",
        "management/delete-manifest",
        "management/delete-blob",
    ] {
        assert_eq!(
            report.get(id).map(|c| &c.outcome),
            Some(&Outcome::Pass),
            "{id}"
        );
    }
}

/// The built-in registry must pass every check under the strict profile: it is the
/// project's reference implementation of the spec.
#[tokio::test(flavor = "multi_thread")]
async fn lineage_serve_passes_the_strict_profile() {
    let dir = tempfile::tempdir().unwrap();
    // Two entries per referrers page, so the suite walks `Link` pagination too.
    let server = serve::Serve::start(dir.path(), &["--referrers-page-size", "2"]);
    let mut config = Config::new(format!("http://{}", server.host));
    config.profile = Profile::Strict;
    let report = run(&config).await;
    let failures: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass))
        .map(|c| format!("{}: {:?}", c.id, c.outcome))
        .collect();
    eprintln!("{}", report.summary());
    assert!(
        report.checks.len() >= 80,
        "only {} checks ran",
        report.checks.len()
    );
    assert!(
        failures.is_empty(),
        "lineage serve is not fully conformant:\n{}",
        failures.join("\n")
    );
}

/// The official OCI distribution-spec conformance suite
/// (`github.com/opencontainers/distribution-spec/conformance`, built by `scripts/test.sh`
/// and named by `LINEAGE_TEST_OCI_CONFORMANCE`) with its default settings for spec 1.1:
/// every API it enables and every kind of data (images, indexes, artifacts, subjects,
/// sha512, empty blobs…) passes against `lineage serve`. A failing check is a bug in the
/// server, never an exclusion.
#[test]
fn lineage_serve_passes_the_official_conformance_suite() {
    let Some(suite) = std::env::var_os("LINEAGE_TEST_OCI_CONFORMANCE")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_file())
    else {
        let note = "official conformance: LINEAGE_TEST_OCI_CONFORMANCE is not set \
                    (scripts/test.sh builds the suite)";
        assert!(
            !in_ci(),
            "{note}; CI is set, so this is a failure rather than a skip"
        );
        eprintln!("SKIPPED {note}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = serve::Serve::start(&dir.path().join("root"), &[]);
    let results = dir.path().join("results");
    let out = std::process::Command::new(&suite)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OCI_REGISTRY", &server.host)
        .env("OCI_TLS", "disabled")
        .env("OCI_REPO1", "conformance/repo1")
        .env("OCI_REPO2", "conformance/repo2")
        .env("OCI_VERSION", "1.1")
        .env("OCI_RESULTS_DIR", &results)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_end().ends_with(": FAIL"))
        .collect();
    assert!(
        out.status.success() && failed.is_empty(),
        "the official conformance suite failed against lineage serve ({}):\n{}\n{}",
        out.status,
        failed.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    // It ran: the summary names the suite, and the results it writes exist.
    let passed = stdout
        .lines()
        .filter(|l| l.trim_end().ends_with(": Pass"))
        .count();
    assert!(passed >= 700, "only {passed} checks passed:\n{stdout}");
    assert!(
        results.join("junit.xml").is_file(),
        "no junit.xml in {}",
        results.display()
    );
}
