//! Issue 18, richer lifecycle, on `lineage serve`, distribution 2.8
//! (`LINEAGE_TEST_REGISTRY`, referrers tag schema) and crane's registry
//! (`LINEAGE_TEST_CRANE_REGISTRY`): the end-of-support → end-of-life timeline, scope
//! filtering on promotion, bulk retire with a dry run and an idempotent rerun, and the
//! `--created` conflict.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::registry::{registry_from_env, unique_repo};
use crate::support::scenario::build_revisions;
use crate::support::serve::Serve;
use crate::support::{Scratch, lineage_ok, lineage_run};

/// The registries of these tests: a fresh `lineage serve`, and the two started by
/// `scripts/test.sh` when they are there. Each is `(label, host, serve)`.
fn registries(test: &str, s: &Scratch) -> Vec<(&'static str, String, Option<Serve>)> {
    let serve = Serve::start(&s.join("serve-root"), &[]);
    let mut out = vec![("lineage serve", serve.host.clone(), Some(serve))];
    if let Some(r) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) {
        out.push(("distribution 2.8", r.host, None));
    }
    if let Some(r) = registry_from_env(test, "LINEAGE_TEST_CRANE_REGISTRY", false) {
        out.push(("crane registry", r.host, None));
    }
    out
}

/// `lineage retire --filter FILTER FLAGS… --output json TARGET`: the bulk retire's summary.
pub(crate) fn bulk_retire(s: &Scratch, filter: &str, flags: &[&str], target: &str) -> Value {
    let mut args = vec!["retire", "--filter", filter];
    args.extend_from_slice(flags);
    args.extend(["--output", "json", target]);
    let out = lineage_ok(s.path(), &args);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status_json(s: &Scratch, reference: &str, at: &str) -> Value {
    let out = lineage_ok(
        s.path(),
        &["status", "--output", "json", "--at", at, reference],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

/// `lineage retire --end-of-support T1 --at T2`, read at three times: before, between,
/// after; `history --at` and `status` show both dates (snapshots, from `lineage serve`).
#[test]
fn end_of_support_then_end_of_life_at_three_times() {
    let test = "end_of_support_then_end_of_life_at_three_times";
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    for (label, host, serve) in registries(test, &s) {
        // A fresh `lineage serve` holds nothing else: a fixed name keeps the snapshots' columns.
        let name = match serve {
            Some(_) => "eos/app".to_string(),
            None => unique_repo("eos"),
        };
        let repo = format!("{host}/{name}");
        lineage_ok(
            s.path(),
            &[
                "release",
                &format!("oci:{}:rev1", builds.display()),
                &repo,
                "--version",
                "1.0",
                "--revision",
                "1",
                "--created",
                "2029-01-01T00:00:00Z",
            ],
        );
        let image = format!("{repo}:1.0-1");
        lineage_ok(
            s.path(),
            &[
                "retire",
                &image,
                "--end-of-support",
                "2030-01-01T00:00:00Z",
                "--at",
                "2030-02-01T00:00:00Z",
                "--reason",
                "unsupported",
            ],
        );
        let before = status_json(&s, &image, "2029-12-01T00:00:00Z");
        assert_eq!(before["state"], "scheduled", "{label}: {before}");
        assert_eq!(before["endOfSupport"], "2030-01-01T00:00:00Z", "{label}");
        assert_eq!(before["endOfLife"], "2030-02-01T00:00:00Z", "{label}");
        assert_eq!(before["daysLeft"], 31, "{label}: days to end-of-support");
        let between = status_json(&s, &image, "2030-01-15T00:00:00Z");
        assert_eq!(between["state"], "end-of-support", "{label}: {between}");
        assert_eq!(between["daysLeft"], 17, "{label}: days to end-of-life");
        let after = status_json(&s, &image, "2030-02-01T00:00:00Z");
        assert_eq!(after["state"], "end-of-life", "{label}: {after}");
        assert!(after.get("daysLeft").is_none(), "{label}: {after}");
        // `--fail-on end-of-support` fails between, not before.
        let fail = |at: &str| {
            lineage_run(
                s.path(),
                &["status", "--fail-on", "end-of-support", "--at", at, &image],
            )
            .code
        };
        assert_eq!(fail("2029-12-01"), Some(0), "{label}");
        assert_eq!(fail("2030-01-15"), Some(3), "{label}");
        // Retiring again with the same dates writes nothing.
        let again = lineage_ok(
            s.path(),
            &[
                "retire",
                &image,
                "--end-of-support",
                "2030-01-01T00:00:00Z",
                "--at",
                "2030-02-01T00:00:00Z",
                "--reason",
                "unsupported",
            ],
        );
        assert!(
            again.stderr.contains("0 records written"),
            "{label}: {}",
            again.stderr
        );
        if label == "lineage serve" {
            // The table's padding follows the registry's port: compared by columns.
            let redact = |t: &str| crate::support::columns(&crate::support::redacted(t, &host));
            let history = lineage_ok(
                s.path(),
                &["history", &repo, "--at", "2030-01-15T00:00:00Z"],
            );
            insta::assert_snapshot!(
                "history-end-of-support",
                redact(&history.stdout_text().replace(&repo, "HOST/REPO"))
            );
            let status = lineage_ok(
                s.path(),
                &["status", "--at", "2029-12-01T00:00:00Z", &image],
            );
            insta::assert_snapshot!(
                "status-scheduled-days-left",
                redact(&status.stdout_text().replace(&repo, "HOST/REPO"))
            );
        }
    }
}

/// Every referrer digest of `digest` in `host/repo`, read with plain HTTP requests (not
/// lineage): the referrers API where the registry answers it, else the referrers tag.
fn referrer_digests(host: &str, repo: &str, digest: &str) -> BTreeSet<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let accept = "application/vnd.oci.image.index.v1+json";
        let api = client
            .get(format!("http://{host}/v2/{repo}/referrers/{digest}"))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let index: Value = if api.status() == 200 {
            serde_json::from_slice(&api.bytes().await.unwrap()).unwrap()
        } else {
            let tag = digest.replace(':', "-");
            let r = client
                .get(format!("http://{host}/v2/{repo}/manifests/{tag}"))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            if r.status() == 404 {
                return BTreeSet::new();
            }
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
        };
        index["manifests"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|d| d["digest"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The lifecycle records among `reference`'s referrers, by `lineage discover`.
fn record_types(s: &Scratch, reference: &str) -> Vec<String> {
    let tree: Value = serde_json::from_slice(
        &lineage_ok(s.path(), &["discover", "--output", "json", reference]).stdout,
    )
    .unwrap();
    tree["referrers"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r["artifactType"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

const RECORD: &str = "application/vnd.lineage.image.lifecycle.metadata";
const NOTE: &str = "application/vnd.example.note";

/// A record in scope `internal` never reaches a promotion's destination; a public referrer
/// does; `--include-scope internal` takes it along; `status --scope public` reads what the
/// destination would.
#[test]
fn scoped_records_stay_behind_on_promotion() {
    let test = "scoped_records_stay_behind_on_promotion";
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let source = Serve::start(&s.join("source-root"), &[]);
    let staging = format!("{}/staging/app", source.host);
    lineage_ok(
        s.path(),
        &[
            "release",
            &format!("oci:{}:rev1", builds.display()),
            &staging,
            "--version",
            "1.0",
            "--revision",
            "1",
            "--created",
            "2029-01-01T00:00:00Z",
        ],
    );
    let image = format!("{staging}:1.0-1");
    // "Don't scan this staging image": an internal end-of-life record.
    lineage_ok(
        s.path(),
        &[
            "retire",
            &image,
            "--reason",
            "internal",
            "--scope",
            "internal",
            "--dialect",
            "microsoft",
        ],
    );
    lineage_ok(
        s.path(),
        &[
            "attach",
            &image,
            "--artifact-type",
            NOTE,
            "--annotation",
            "vnd.lineage.image.scope=public",
        ],
    );
    assert_eq!(
        status_json(&s, &image, "2099-01-01")["state"],
        "end-of-life"
    );
    let public_view = lineage_ok(
        s.path(),
        &["status", "--output", "json", "--scope", "public", &image],
    );
    let public_view: Value = serde_json::from_slice(&public_view.stdout).unwrap();
    assert_eq!(public_view[0]["state"], "supported", "{public_view}");

    for (label, host, _serve) in registries(test, &s) {
        let name = unique_repo("promoted");
        let dst = format!("{host}/{name}");
        // A release promotion with the referrers: the image keeps its digest (it carries
        // its version, revision and created already), the public note travels.
        lineage_ok(
            s.path(),
            &[
                "release",
                &image,
                &dst,
                "--version",
                "1.0",
                "--revision",
                "1",
                "--referrers",
            ],
        );
        let promoted = format!("{dst}:1.0-1");
        let types = record_types(&s, &promoted);
        assert!(types.iter().any(|t| t == NOTE), "{label}: {types:?}");
        assert!(
            !types.iter().any(|t| t == RECORD || t.contains("microsoft")),
            "{label}: the internal records leaked: {types:?}"
        );
        assert_eq!(
            status_json(&s, &promoted, "2099-01-01")["state"],
            "supported",
            "{label}"
        );
        // `copy --referrers`: the same rule; `--include-scope internal` takes them along.
        let copied = format!("{host}/{}:x", unique_repo("copied"));
        let out = lineage_ok(s.path(), &["copy", "--referrers", &image, &copied]);
        assert!(
            out.stderr.contains("2 left out by scope"),
            "{label}: {}",
            out.stderr
        );
        let types = record_types(&s, &copied);
        assert!(
            types.iter().any(|t| t == NOTE) && !types.iter().any(|t| t == RECORD),
            "{label}: {types:?}"
        );
        let all = format!("{host}/{}:x", unique_repo("copied-all"));
        lineage_ok(
            s.path(),
            &[
                "copy",
                "--referrers",
                "--include-scope",
                "internal",
                &image,
                &all,
            ],
        );
        let types = record_types(&s, &all);
        assert!(types.iter().any(|t| t == RECORD), "{label}: {types:?}");
        assert_eq!(
            status_json(&s, &all, "2099-01-01")["state"],
            "end-of-life",
            "{label}"
        );
    }
}

/// 50 repositories × 3 tags (three images each, and a fourth tag `dev` the tag filter
/// leaves out): a dry run writes nothing, the run writes a record per image, the rerun
/// writes nothing (checked by independent HTTP listings of the referrers, and on `lineage
/// serve` by its request log).
#[test]
fn bulk_retire_of_fifty_repositories() {
    let test = "bulk_retire_of_fifty_repositories";
    let s = Scratch::new();
    let builds = s.join("builds");
    crate::support::scenario::build_images(&builds, &["r1", "r2", "r3"]);
    for (label, host, serve) in registries(test, &s) {
        let prefix = unique_repo("bulk");
        let repos: Vec<String> = (0..50).map(|i| format!("{prefix}/app-{i:02}")).collect();
        for repo in &repos {
            for (image, tag, extra) in [
                ("r1", "1.0", Some("dev")),
                ("r2", "1.1", None),
                ("r3", "2.0", None),
            ] {
                let src = format!("oci:{}:{image}", builds.display());
                let dst = format!("{host}/{repo}:{tag}");
                let mut args = vec!["push", src.as_str(), dst.as_str()];
                if let Some(t) = extra {
                    args.extend(["--tag", t]);
                }
                lineage_ok(s.path(), &args);
            }
        }
        // Another repository the filter does not match.
        let other = format!("{prefix}-other/app");
        lineage_ok(
            s.path(),
            &[
                "push",
                &format!("oci:{}:r1", builds.display()),
                &format!("{host}/{other}:1.0"),
            ],
        );
        let filter = format!("{}/app-[0-9]+", regex_escape(&prefix));
        let bulk = |extra: &[&str]| -> Value {
            let mut args = vec![
                "retire",
                "--filter",
                &filter,
                "--tags",
                "[0-9.]+",
                "--reason",
                "unsupported",
                "--concurrency",
                "8",
                "--output",
                "json",
            ];
            args.extend_from_slice(extra);
            args.push(&host);
            let out = lineage_ok(s.path(), &args);
            assert!(
                out.stderr.contains("[50/50]"),
                "{label}: progress: {}",
                out.stderr
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };

        let dry = bulk(&["--dry-run"]);
        assert_eq!(dry["repositories"], 50, "{label}: {dry}");
        assert_eq!(dry["images"], 150, "{label}: `dev` is left out");
        assert_eq!(dry["recordsToWrite"], 150, "{label}");
        assert_eq!(dry["recordsWritten"], 0, "{label}");
        // The subjects, as the summary names them; their referrers read without lineage.
        let images: Vec<(String, String)> = dry["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let reference = i["reference"].as_str().unwrap();
                let repo = reference
                    .strip_prefix(&format!("{host}/"))
                    .and_then(|r| r.rsplit_once(':'))
                    .map(|(r, _)| r.to_string())
                    .unwrap();
                (repo, i["digest"].as_str().unwrap().to_string())
            })
            .collect();
        assert_eq!(images.len(), 150);
        // (repository, subject, record): identical images in two repositories get records
        // of the same digest, one in each.
        let listing = || -> BTreeSet<(String, String, String)> {
            images
                .iter()
                .flat_map(|(r, d)| {
                    referrer_digests(&host, r, d)
                        .into_iter()
                        .map(move |x| (r.clone(), d.clone(), x))
                })
                .collect()
        };
        assert!(listing().is_empty(), "{label}: the dry run wrote");

        let run = bulk(&[]);
        assert_eq!(run["recordsWritten"], 150, "{label}: {run}");
        assert_eq!(run["failed"], 0, "{label}");
        let after = listing();
        assert_eq!(after.len(), 150, "{label}: one record per retired image");
        let state = status_json(&s, &format!("{host}/{}:dev", repos[0]), "2099-01-01");
        assert_eq!(state["state"], "end-of-life", "{label}");
        assert_eq!(
            status_json(&s, &format!("{host}/{other}:1.0"), "2099-01-01")["state"],
            "unknown",
            "{label}: outside the filter"
        );

        let mark = serve.as_ref().map(|sv| sv.mark("before-rerun"));
        let rerun = bulk(&[]);
        assert_eq!(rerun["recordsWritten"], 0, "{label}: {rerun}");
        assert_eq!(rerun["alreadyRetired"], 150, "{label}");
        assert_eq!(listing(), after, "{label}: the rerun wrote");
        if let (Some(sv), Some(mark)) = (&serve, mark) {
            let writes = sv.requests()[mark..]
                .iter()
                .filter(|l| !l.contains("method=GET") && !l.contains("method=HEAD"))
                .count();
            assert_eq!(writes, 0, "{label}: requests other than reads on the rerun");
        }
    }
}

/// `retire --filter … --untagged`: images whose tag moved on are retired too. `lineage
/// serve` lists every untagged manifest (both are found); distribution and crane list tags
/// only, so the one with a referrer is found through its referrers tag, the other is not,
/// and the summary says that repository was searched through referrers tags only. The
/// attached artifact is never retired; the rerun writes nothing.
#[test]
fn bulk_retire_of_untagged_images() {
    let test = "bulk_retire_of_untagged_images";
    let s = Scratch::new();
    let builds = s.join("builds");
    crate::support::scenario::build_images(&builds, &["r1", "r2", "r3"]);
    for (label, host, serve) in registries(test, &s) {
        let name = unique_repo("untagged");
        let repo = format!("{host}/{name}");
        let push = |image: &str| -> String {
            lineage_ok(
                s.path(),
                &[
                    "push",
                    &format!("oci:{}:{image}", builds.display()),
                    &format!("{repo}:1.0"),
                ],
            );
            let out = lineage_ok(s.path(), &["resolve", &format!("{repo}:1.0")]);
            out.stdout_text().trim().to_string()
        };
        // r1 gets a referrer, then `1.0` moves to r3, then to r2: r1 and r3 are untagged.
        let r1 = push("r1");
        lineage_ok(
            s.path(),
            &[
                "attach",
                &format!("{repo}@{r1}"),
                "--artifact-type",
                "application/vnd.example.note",
            ],
        );
        let r3 = push("r3");
        let r2 = push("r2");
        assert!(r1 != r2 && r2 != r3 && r1 != r3, "{label}");
        let bulk = |extra: &[&str]| -> Value {
            let flags = [&["--untagged", "--reason", "superseded"], extra].concat();
            bulk_retire(&s, &name, &flags, &host)
        };
        let digests = |v: &Value| -> BTreeSet<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["digest"].as_str().unwrap().to_string())
                .collect()
        };
        let dry = bulk(&["--dry-run"]);
        let (found, expected) = if serve.is_some() {
            assert_eq!(dry["untagged"]["listed"], 1, "{label}: {dry}");
            assert_eq!(dry["untagged"]["referrersTagsOnly"], serde_json::json!([]));
            (2, BTreeSet::from([r1.clone(), r2.clone(), r3.clone()]))
        } else {
            assert_eq!(
                dry["untagged"]["referrersTagsOnly"],
                serde_json::json!([format!("{host}/{name}")]),
                "{label}: {dry}"
            );
            (1, BTreeSet::from([r1.clone(), r2.clone()]))
        };
        assert_eq!(dry["untagged"]["found"], found, "{label}: {dry}");
        assert_eq!(digests(&dry), expected, "{label}: the note is not an image");
        assert_eq!(dry["recordsWritten"], 0, "{label}");
        assert_eq!(
            status_json(&s, &format!("{repo}@{r1}"), "2099-01-01")["state"],
            "unknown",
            "{label}: the dry run wrote"
        );

        let run = bulk(&[]);
        assert_eq!(run["recordsWritten"], found + 1, "{label}: {run}");
        assert_eq!(run["failed"], 0, "{label}");
        let untagged_ref = format!("{repo}@{r1}");
        let item = run["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["digest"] == r1.as_str())
            .unwrap();
        assert_eq!(item["reference"], untagged_ref.as_str(), "{label}");
        let how = if serve.is_some() {
            "listing"
        } else {
            "referrers-tags"
        };
        assert_eq!(item["untagged"], how, "{label}");
        assert_eq!(
            status_json(&s, &untagged_ref, "2099-01-01")["state"],
            "end-of-life",
            "{label}"
        );
        let r3_state = &status_json(&s, &format!("{repo}@{r3}"), "2099-01-01")["state"];
        if serve.is_some() {
            assert_eq!(r3_state, "end-of-life", "{label}");
        } else {
            assert_ne!(r3_state, "end-of-life", "{label}: not findable there");
        }

        let rerun = bulk(&[]);
        assert_eq!(rerun["recordsWritten"], 0, "{label}: {rerun}");
        assert_eq!(rerun["alreadyRetired"], found + 1, "{label}");
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$-".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// `push --created` over an image with its own created time: refused naming both, unless
/// `--override-created`.
#[test]
fn push_created_conflict_and_override() {
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let first = format!("oci:{}", s.join("first").display());
    lineage_ok(
        s.path(),
        &[
            "push",
            &format!("oci:{}:rev1", builds.display()),
            &format!("{first}:a"),
            "--created",
            "2029-01-01T00:00:00Z",
        ],
    );
    let again = format!("oci:{}", s.join("again").display());
    let refused = lineage_run(
        s.path(),
        &[
            "push",
            &format!("{first}:a"),
            &format!("{again}:a"),
            "--created",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    insta::assert_snapshot!(
        "push-created-conflict",
        refused
            .stderr
            .replace(&s.path().display().to_string(), "SCRATCH")
    );
    lineage_ok(
        s.path(),
        &[
            "push",
            &format!("{first}:a"),
            &format!("{again}:a"),
            "--created",
            "2030-01-01T00:00:00Z",
            "--override-created",
        ],
    );
    let m: Value =
        serde_json::from_slice(&lineage_ok(s.path(), &["manifest", &format!("{again}:a")]).stdout)
            .unwrap();
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "2030-01-01T00:00:00Z"
    );
}
