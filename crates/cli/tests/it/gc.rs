//! `lineage gc` and `lineage delete --force` against real registries (issue 19): orphaned
//! referrers are found and removed, nothing live is lost, a concurrent attach stream survives
//! an `--apply` run, and each registry gets what it allows.
//!
//! - `LINEAGE_TEST_REGISTRY` (distribution 2.8, deletes on, referrers tag schema)
//! - `LINEAGE_TEST_CRANE_REGISTRY` (crane's registry, tag schema, deletes tags)
//! - `LINEAGE_TEST_ZUUL` (zuul-registry: no deletes)
//! - `lineage serve` (referrers API), started here

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::registry::{
    Ctx, TestRegistry, assert_digest, context, fallback_tag, index_digests, make_image,
    registry_from_env, skopeo_registry_exists, skopeo_registry_raw, unique_repo,
};
use crate::support::serve::Serve;
use crate::support::{oci, require_tools};

/// Push an image made by `scripts/make-image.sh` as `repo:tag`; returns its digest.
fn push(ctx: &Ctx, reg: &TestRegistry, repo: &str, tag: &str) -> String {
    let layout = ctx.join(&format!("src-{repo}-{tag}"));
    let digest = make_image(&layout, tag, &format!("{repo}-{tag}"), "amd64");
    ctx.ok(&[
        "copy",
        &oci(&layout, tag),
        &reg.reference(repo, &format!(":{tag}")),
    ]);
    digest
}

/// `lineage attach REF --artifact-type TYPE ARGS…`; returns the digest it prints.
fn attach(ctx: &Ctx, reference: &str, artifact_type: &str, args: &[&str]) -> String {
    let mut all = vec!["attach", reference, "--artifact-type", artifact_type];
    all.extend_from_slice(args);
    let r = ctx.ok(&all);
    assert_digest(&r.stdout_text(), &r.what)
}

/// Delete a manifest as another tool would (skopeo): the registry drops the manifest and its
/// tags, and leaves its referrers tag and referrers behind.
fn delete_elsewhere(reg: &TestRegistry, repo: &str, digest: &str) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["delete", "--tls-verify=false"]);
    if let Some((u, p)) = &reg.creds {
        cmd.arg("--creds").arg(format!("{u}:{p}"));
    }
    crate::support::run(cmd.arg(format!("docker://{}/{repo}@{digest}", reg.host)));
}

/// `lineage gc ARGS… --output json`, which must succeed, parsed.
fn gc_json(ctx: &Ctx, args: &[&str]) -> Value {
    let mut all = vec!["gc"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let r = ctx.ok(&all);
    crate::support::json(&r.stdout, &r.what)
}

/// `(kind, digest, action)` of every finding of the first repository.
fn findings(report: &Value) -> BTreeSet<(String, String, String)> {
    report["repositories"][0]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {report}"))
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                f["digest"].as_str().unwrap_or_default().to_owned(),
                f["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn exists(reg: &TestRegistry, repo: &str, digest: &str) -> bool {
    skopeo_registry_exists(reg, &format!("{repo}@{digest}"))
}

/// The digests the referrers tag of `subject` lists.
fn listed(reg: &TestRegistry, repo: &str, subject: &str) -> BTreeSet<String> {
    index_digests(&crate::support::json(
        &skopeo_registry_raw(reg, &format!("{repo}:{}", fallback_tag(subject))),
        "the referrers index",
    ))
}

/// An orphaned tree (two referrers of a deleted image, a signature of one, and a referrer
/// that a tag keeps) beside a live image with a referrer. The dry run finds it and deletes
/// nothing; `--apply` removes exactly the orphans; a second run finds nothing.
fn orphans_are_removed_and_nothing_live_is_lost(reg: &TestRegistry, ctx: &Ctx, repo: &str) {
    let gone = push(ctx, reg, repo, "v1");
    let live = push(ctx, reg, repo, "v2");
    let one = attach(ctx, &reg.reference(repo, ":v1"), "application/x.one", &[]);
    let two = attach(ctx, &reg.reference(repo, ":v1"), "application/x.two", &[]);
    let sig = attach(
        ctx,
        &reg.reference(repo, &format!("@{two}")),
        "application/x.sig",
        &[],
    );
    let pinned = attach(
        ctx,
        &reg.reference(repo, ":v1"),
        "application/x.pinned",
        &[],
    );
    ctx.ok(&[
        "copy",
        &reg.reference(repo, &format!("@{pinned}")),
        &reg.reference(repo, ":pinned"),
    ]);
    let kept = attach(ctx, &reg.reference(repo, ":v2"), "application/x.live", &[]);
    delete_elsewhere(reg, repo, &gone);
    assert!(exists(reg, repo, &one), "the referrer outlives its subject");

    let target = reg.reference(repo, "");
    let dry = gc_json(ctx, &[&target]);
    let f = findings(&dry);
    for d in [&one, &two, &sig] {
        assert!(
            f.contains(&("orphaned-referrer".into(), d.clone(), "would-remove".into())),
            "{d}: {dry:#}"
        );
    }
    assert!(
        f.contains(&("orphaned-referrer".into(), pinned.clone(), "kept".into())),
        "{dry:#}"
    );
    assert!(
        f.iter().all(|(_, d, _)| d != &kept && d != &live),
        "nothing live is a finding: {dry:#}"
    );
    assert!(
        exists(reg, repo, &one) && exists(reg, repo, &sig),
        "a dry run deletes nothing"
    );

    let applied = gc_json(ctx, &[&target, "--apply"]);
    let f = findings(&applied);
    for d in [&one, &two, &sig] {
        assert!(
            f.contains(&("orphaned-referrer".into(), d.clone(), "removed".into())),
            "{d}: {applied:#}"
        );
        assert!(!exists(reg, repo, d), "{d} should be gone");
    }
    assert_eq!(
        applied["totals"]["removed"], 5,
        "three referrers and two referrers tags: {applied:#}"
    );
    for d in [&pinned, &kept, &live] {
        assert!(exists(reg, repo, d), "{d} is live and must stay");
    }
    assert_eq!(listed(reg, repo, &live), BTreeSet::from([kept.clone()]));
    let tags = ctx.ok(&["tags", &target]).stdout_text();
    assert!(
        !tags.contains(&fallback_tag(&gone)) && !tags.contains(&fallback_tag(&two)),
        "{tags}"
    );

    let again = gc_json(ctx, &[&target]);
    assert!(
        findings(&again).is_empty(),
        "nothing left to find: {again:#}"
    );
}

#[test]
fn gc_removes_orphans_on_distribution() {
    let test = "gc_removes_orphans_on_distribution";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    orphans_are_removed_and_nothing_live_is_lost(&reg, &ctx, &unique_repo("gc"));
}

#[test]
fn gc_removes_orphans_on_crane_registry() {
    let test = "gc_removes_orphans_on_crane_registry";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_CRANE_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    orphans_are_removed_and_nothing_live_is_lost(&reg, &ctx, &unique_repo("gc-crane"));
}

/// Issue 19, item 0: `lineage delete --force` of an image with referrers (and a referrer of a
/// referrer) deletes them all, and leaves no referrers tag behind.
#[test]
fn gc_delete_force_takes_the_referrers_along() {
    let test = "gc_delete_force_takes_the_referrers_along";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("gc-delete");
    let image = push(&ctx, &reg, &repo, "v1");
    let one = attach(&ctx, &reg.reference(&repo, ":v1"), "application/x.one", &[]);
    let two = attach(&ctx, &reg.reference(&repo, ":v1"), "application/x.two", &[]);
    let sig = attach(
        &ctx,
        &reg.reference(&repo, &format!("@{two}")),
        "application/x.sig",
        &[],
    );
    let r = ctx.run(&["delete", &reg.reference(&repo, &format!("@{image}"))]);
    assert_eq!(r.code, Some(1), "{}", context(&r));
    assert!(
        r.stderr.contains("3 referrers deleted with it"),
        "{}",
        context(&r)
    );
    ctx.ok(&[
        "delete",
        "--force",
        &reg.reference(&repo, &format!("@{image}")),
    ]);
    for d in [&image, &one, &two, &sig] {
        assert!(!exists(&reg, &repo, d), "{d} should be gone");
    }
    let tags = ctx.ok(&["tags", &reg.reference(&repo, "")]).stdout_text();
    assert!(tags.trim().is_empty(), "no referrers tag is left: {tags:?}");
}

/// Stale entries leave a live index; lifecycle records that repeat the one before them go
/// only with `--compact-records`, and the newest and every change stay.
#[test]
fn gc_drops_stale_entries_and_compacts_records() {
    let test = "gc_drops_stale_entries_and_compacts_records";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("gc-stale");
    let image = push(&ctx, &reg, &repo, "v1");
    let subject = reg.reference(&repo, ":v1");
    let record = |day: &str| {
        attach(
            &ctx,
            &subject,
            "application/vnd.lineage.image.lifecycle.metadata",
            &[
                "--annotation",
                &format!("org.opencontainers.image.created=2024-01-{day}T00:00:00Z"),
                "--annotation",
                "vnd.lineage.image.end-of-life=2024-02-01T00:00:00Z",
            ],
        )
    };
    let (a1, a2, a3) = (record("01"), record("02"), record("03"));
    let stale = attach(&ctx, &subject, "application/x.stale", &[]);
    delete_elsewhere(&reg, &repo, &stale);
    let target = reg.reference(&repo, "");

    let dry = gc_json(&ctx, &[&target]);
    assert!(
        findings(&dry).contains(&("stale-entry".into(), stale.clone(), "would-remove".into())),
        "{dry:#}"
    );
    let records = &dry["repositories"][0]["records"];
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{dry:#}");
    assert_eq!(records[0]["digest"], a2.as_str());
    assert_eq!(records[0]["repeats"], a1.as_str());
    assert_eq!(
        records[0]["action"], "kept",
        "only with --compact-records: {dry:#}"
    );

    let status_before = ctx
        .ok(&["status", &subject, "--output", "json"])
        .stdout_text();
    let applied = gc_json(&ctx, &[&target, "--apply", "--compact-records"]);
    assert!(
        findings(&applied).contains(&("stale-entry".into(), stale.clone(), "removed".into())),
        "{applied:#}"
    );
    assert_eq!(
        applied["repositories"][0]["records"][0]["action"], "removed",
        "{applied:#}"
    );
    assert_eq!(
        listed(&reg, &repo, &image),
        BTreeSet::from([a1.clone(), a3.clone()])
    );
    assert!(!exists(&reg, &repo, &a2));
    assert_eq!(
        ctx.ok(&["status", &subject, "--output", "json"])
            .stdout_text(),
        status_before,
        "the verdict is the same"
    );
}

/// Issue 19, safety: `lineage attach` runs one after another while `gc --apply
/// --compact-records` changes the same live referrers tag (it deletes redundant records
/// through the read, write, read back protocol) and removes orphans; every attached referrer
/// is listed afterwards. The attach stream starts when gc says it starts removing and runs
/// until gc exits.
///
/// (Stale entries cannot stand in for the records here: distribution 2.8 refuses an index
/// naming a missing manifest, so no attach succeeds until gc has dropped them.)
#[test]
fn gc_apply_loses_no_concurrent_attach() {
    let test = "gc_apply_loses_no_concurrent_attach";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("gc-race");
    let live = push(&ctx, &reg, &repo, "live");
    let gone = push(&ctx, &reg, &repo, "gone");
    let subject = reg.reference(&repo, ":live");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    expected.insert(attach(&ctx, &subject, "application/x.before", &[]));
    // Six identical records: the first and the newest stay, four are redundant.
    for day in 1..=6 {
        let r = attach(
            &ctx,
            &subject,
            "application/vnd.lineage.image.lifecycle.metadata",
            &[
                "--annotation",
                &format!("org.opencontainers.image.created=2024-01-0{day}T00:00:00Z"),
                "--annotation",
                "vnd.lineage.image.end-of-life=2024-02-01T00:00:00Z",
            ],
        );
        if day == 1 || day == 6 {
            expected.insert(r);
        }
    }
    for i in 0..6 {
        attach(
            &ctx,
            &reg.reference(&repo, ":gone"),
            "application/x.orphan",
            &["--annotation", &format!("n={i}")],
        );
    }
    delete_elsewhere(&reg, &repo, &gone);

    let mut gc = Command::new(env!("CARGO_BIN_EXE_lineage"))
        .current_dir(ctx.path())
        .env("DOCKER_CONFIG", &ctx.docker_config)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args([
            "gc",
            &reg.reference(&repo, ""),
            "--apply",
            "--compact-records",
            "--output",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting lineage gc");
    let mut lines = BufReader::new(gc.stderr.take().expect("piped stderr")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("reading gc's stderr");
        let starts = line.contains(": removing ");
        seen.push(line);
        if starts {
            break;
        }
    }
    assert!(
        seen.iter().any(|l| l.contains(": removing ")),
        "gc never started removing: {seen:#?}"
    );
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let mut n = 0;
    loop {
        expected.insert(attach(
            &ctx,
            &subject,
            "application/x.during",
            &["--annotation", &format!("n={n}")],
        ));
        n += 1;
        if gc.try_wait().expect("polling gc").is_some() {
            break;
        }
    }
    let out = gc.wait_with_output().expect("waiting for gc");
    let rest = drain.join().expect("gc's stderr");
    assert!(
        out.status.success(),
        "gc failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        rest.join("\n")
    );
    let report = crate::support::json(&out.stdout, "gc's report");
    assert_eq!(
        report["totals"]["removed"], 11,
        "6 orphans, 1 tag, 4 records: {report:#}"
    );
    let now = listed(&reg, &repo, &live);
    let lost: Vec<_> = expected.difference(&now).collect();
    assert!(
        lost.is_empty(),
        "{} of {} referrers lost: {lost:?}",
        lost.len(),
        expected.len()
    );
    assert_eq!(
        now, expected,
        "the live index lists exactly the live referrers"
    );
}

/// zuul-registry deletes nothing: gc finds an orphaned referrers tag, and `--apply` stops at
/// the refused delete with exit status 1, the report printed and the tag still there.
#[test]
fn gc_on_zuul_reports_and_stops_at_the_refused_delete() {
    let test = "gc_on_zuul_reports_and_stops_at_the_refused_delete";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_ZUUL", true) else {
        return;
    };
    let ctx = Ctx::new();
    ctx.login(&reg);
    let repo = unique_repo("gc-zuul");
    let image = push(&ctx, &reg, &repo, "v1");
    let r = attach(&ctx, &reg.reference(&repo, ":v1"), "application/x.one", &[]);
    // A referrers tag for a subject that does not exist: another tool's leftover.
    let nowhere = format!("sha256:{}", "0".repeat(64));
    ctx.ok(&[
        "copy",
        &reg.reference(&repo, &format!(":{}", fallback_tag(&image))),
        &reg.reference(&repo, &format!(":{}", fallback_tag(&nowhere))),
    ]);
    let target = reg.reference(&repo, "");
    let dry = gc_json(&ctx, &[&target]);
    let f = findings(&dry);
    assert!(
        f.iter()
            .any(|(k, _, a)| k == "orphaned-index" && a == "would-remove"),
        "{dry:#}"
    );
    assert!(
        f.contains(&("orphaned-referrer".into(), r.clone(), "kept".into())),
        "listed by a live index too: {dry:#}"
    );
    let applied = ctx.run(&["gc", &target, "--apply", "--output", "json"]);
    assert_eq!(applied.code, Some(1), "{}", context(&applied));
    assert!(
        applied.stderr.contains("gc stopped"),
        "{}",
        context(&applied)
    );
    let report = crate::support::json(&applied.stdout, "the report of the stopped run");
    assert!(report["stopped"].is_string(), "{report:#}");
    let tags = ctx.ok(&["tags", &target]).stdout_text();
    assert!(tags.contains(&fallback_tag(&nowhere)), "{tags}");
}

/// lineage serve has the referrers API: a referrers tag left from before is redundant once
/// the API lists its entries, and goes only with `--migrate`.
#[test]
fn gc_migrates_redundant_referrers_tags_on_serve() {
    let test = "gc_migrates_redundant_referrers_tags_on_serve";
    if !require_tools(test, &["curl"]) {
        return;
    }
    let ctx = Ctx::new();
    let serve = Serve::start(&ctx.join("root"), &[]);
    let reg = TestRegistry {
        host: serve.host.clone(),
        creds: None,
    };
    let repo = "app";
    let image = push(&ctx, &reg, repo, "v1");
    let r = attach(&ctx, &reg.reference(repo, ":v1"), "application/x.one", &[]);
    let descriptor = ctx.ok(&[
        "manifest",
        "--descriptor",
        &reg.reference(repo, &format!("@{r}")),
    ]);
    let entry = crate::support::json(&descriptor.stdout, "the referrer's descriptor");
    let index = serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]});
    let file = ctx.join("index.json");
    std::fs::write(&file, serde_json::to_vec(&index).unwrap()).unwrap();
    crate::support::run(Command::new("curl").args([
        "-sf",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.index.v1+json",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!(
            "http://{}/v2/{repo}/manifests/{}",
            serve.host,
            fallback_tag(&image)
        ),
    ]));
    let target = reg.reference(repo, "");
    let dry = gc_json(&ctx, &[&target]);
    assert_eq!(dry["repositories"][0]["referrersApi"], true);
    let f = findings(&dry);
    assert!(
        f.iter()
            .any(|(k, _, a)| k == "redundant-index" && a == "kept"),
        "{dry:#}"
    );
    gc_json(&ctx, &[&target, "--apply"]);
    assert!(
        ctx.ok(&["tags", &target])
            .stdout_text()
            .contains(&fallback_tag(&image)),
        "kept without --migrate"
    );
    let migrated = gc_json(&ctx, &[&target, "--apply", "--migrate"]);
    let f = findings(&migrated);
    assert!(
        f.iter()
            .any(|(k, _, a)| k == "redundant-index" && a == "removed"),
        "{migrated:#}"
    );
    assert!(
        !ctx.ok(&["tags", &target])
            .stdout_text()
            .contains(&fallback_tag(&image))
    );
    let tree = crate::support::registry::discover(&ctx, &reg.reference(repo, ":v1"), &[]);
    assert_eq!(
        crate::support::registry::referrers(&tree).len(),
        1,
        "the API still lists the referrer: {tree}"
    );
}

/// The registry requests a gc report says were sent.
fn requests(report: &Value) -> u64 {
    report["requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no request count: {report:#}"))
}

/// An orphaned tree of `leaves` referrers (no tag in the repository), removed by `lineage gc
/// REPO --apply`; returns the registry requests gc reports it sent.
fn requests_to_remove(ctx: &Ctx, reg: &TestRegistry, leaves: usize) -> u64 {
    let repo = unique_repo("gc-cost");
    let gone = push(ctx, reg, &repo, "v1");
    for i in 0..leaves {
        attach(
            ctx,
            &reg.reference(&repo, ":v1"),
            "application/x.orphan",
            &["--annotation", &format!("n={i}")],
        );
    }
    delete_elsewhere(reg, &repo, &gone);
    let report = gc_json(ctx, &[&reg.reference(&repo, ""), "--apply"]);
    assert_eq!(
        report["totals"]["removed"],
        leaves + 1,
        "every referrer and the referrers tag: {report:#}"
    );
    requests(&report)
}

/// The cost of `--apply` on distribution 2.8: each more orphaned referrer costs one request,
/// its DELETE. The subject is checked to be still gone once per level of the tree, right
/// before that level's deletes, not once per delete.
#[test]
fn gc_apply_costs_one_request_per_orphan() {
    let test = "gc_apply_costs_one_request_per_orphan";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let two = requests_to_remove(&ctx, &reg, 2);
    let eight = requests_to_remove(&ctx, &reg, 8);
    assert_eq!(
        eight - two,
        6,
        "six more orphans, six more requests ({two} for 2, {eight} for 8)"
    );
}

/// A dry run of `lineage gc REPO` over `live` images with one referrer each (nothing to
/// remove); returns the registry requests gc reports it sent.
fn requests_to_read(ctx: &Ctx, reg: &TestRegistry, live: usize) -> u64 {
    let repo = unique_repo("gc-read");
    for i in 0..live {
        let tag = format!("v{i}");
        push(ctx, reg, &repo, &tag);
        attach(
            ctx,
            &reg.reference(&repo, &format!(":{tag}")),
            "application/x.live",
            &[],
        );
    }
    let report = gc_json(ctx, &[&reg.reference(&repo, "")]);
    assert_eq!(
        report["totals"]["wouldRemove"], 0,
        "nothing to remove: {report:#}"
    );
    assert_eq!(report["repositories"][0]["indexes"], live, "{report:#}");
    requests(&report)
}

/// The cost of reading a repository on distribution 2.8: each more live image with a referrer
/// costs four requests (its tag, its referrers tag, and whether it and its referrer exist).
/// The record compaction starts from the referrers tags the scan has just read instead of
/// reading each again.
#[test]
fn gc_reads_each_live_referrers_tag_once() {
    let test = "gc_reads_each_live_referrers_tag_once";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    let ctx = Ctx::new();
    let one = requests_to_read(&ctx, &reg, 1);
    let three = requests_to_read(&ctx, &reg, 3);
    assert_eq!(
        three - one,
        8,
        "two more live images, four requests each ({one} for 1, {three} for 3)"
    );
}

/// A local address other than loopback, where the machine has one: a registry reached there
/// gets no automatic fallback to plain HTTP.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the local address of the route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// `lineage gc http://HOST…` speaks plain HTTP to HOST: the registry (its catalog) and a
/// repository, on an address where nothing falls back to HTTP by itself.
#[test]
fn gc_speaks_plain_http_to_an_http_target() {
    let test = "gc_speaks_plain_http_to_an_http_target";
    let Some(ip) = non_loopback_ip() else {
        eprintln!("{test}: skipped: no address other than loopback on this machine");
        return;
    };
    let ctx = Ctx::new();
    let root = ctx.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let serve = Serve::start_command(
        "serve",
        &[
            "--addr",
            "0.0.0.0:0",
            "--root",
            root.to_str().expect("a UTF-8 path"),
        ],
    );
    let port = serve
        .host
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .expect("a port");
    let local = TestRegistry {
        host: format!("127.0.0.1:{port}"),
        creds: None,
    };
    push(&ctx, &local, "app", "v1");
    let host = format!("{ip}:{port}");
    for target in [format!("http://{host}"), format!("http://{host}/app")] {
        let report = gc_json(&ctx, &[&target]);
        assert_eq!(
            report["repositories"][0]["repository"],
            format!("{host}/app").as_str(),
            "{target}: {report:#}"
        );
    }
}

/// The report for people, of a dry run and of `--apply`: an orphaned referrers tag with two
/// referrers, a stale entry of a live tag, and a lifecycle record that repeats the one
/// before it (removed with `--compact-records`).
#[test]
fn gc_text_report_snapshots() {
    let test = "gc_text_report_snapshots";
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    if !require_tools(test, &["skopeo"]) {
        return;
    }
    let ctx = Ctx::new();
    let repo = unique_repo("gc-text");
    let gone = push(&ctx, &reg, &repo, "gone");
    push(&ctx, &reg, &repo, "live");
    // Two referrers alike but for an annotation lineage does not print: the same line twice.
    for i in 0..2 {
        attach(
            &ctx,
            &reg.reference(&repo, ":gone"),
            "application/x.orphan",
            &["--annotation", &format!("n={i}")],
        );
    }
    delete_elsewhere(&reg, &repo, &gone);
    let live = reg.reference(&repo, ":live");
    for day in 1..=3 {
        attach(
            &ctx,
            &live,
            "application/vnd.lineage.image.lifecycle.metadata",
            &[
                "--annotation",
                &format!("org.opencontainers.image.created=2024-01-0{day}T00:00:00Z"),
                "--annotation",
                "vnd.lineage.image.end-of-life=2024-02-01T00:00:00Z",
            ],
        );
    }
    let stale = attach(&ctx, &live, "application/x.stale", &[]);
    delete_elsewhere(&reg, &repo, &stale);
    let target = reg.reference(&repo, "");
    let text = |args: &[&str]| {
        let mut all = vec!["gc", target.as_str()];
        all.extend_from_slice(args);
        let r = ctx.ok(&all);
        crate::support::snapshot::redacted(&r.stdout_text(), &reg.host).replace(&repo, "REPO")
    };
    insta::assert_snapshot!("gc-dry-run", text(&[]));
    insta::assert_snapshot!("gc-apply", text(&["--apply", "--compact-records"]));
    insta::assert_snapshot!("gc-after", text(&[]));
}
