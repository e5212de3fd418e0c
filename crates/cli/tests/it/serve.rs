//! `lineage serve` with independent clients and under failure: skopeo in and out byte for
//! byte, the referrers API through `lineage attach`/`discover`, policies (read-only, no
//! deletes, htpasswd), a restart that rebuilds the referrers index, crash safety under
//! SIGKILL during concurrent pushes, and referrers copied between distribution 2.8 (tag
//! schema) and `lineage serve` (API) both ways.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::registry::{make_image, referrers, registry_from_env};
use crate::support::serve::Serve;
use crate::support::tls::make_certs;
use crate::support::{
    Scratch, json, lineage_ok, lineage_run, oci, require_tools, sha256_file, skopeo_raw, tool,
};
use serde_json::Value;

fn discover(cwd: &Path, reference: &str, extra: &[&str]) -> Value {
    let mut args = vec!["discover", reference, "--output", "json"];
    args.extend_from_slice(extra);
    json(&lineage_ok(cwd, &args).stdout, "discover output")
}

fn digests(tree: &Value) -> BTreeSet<String> {
    referrers(tree)
        .iter()
        .map(|r| r["digest"].as_str().unwrap().to_string())
        .collect()
}

fn stdout(r: &crate::support::Run) -> String {
    String::from_utf8_lossy(&r.stdout).trim().to_string()
}

#[test]
fn skopeo_copies_in_and_out_byte_for_byte() {
    if !require_tools("skopeo_copies_in_and_out_byte_for_byte", &["skopeo"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let layout = s.join("src");
    let digest = make_image(&layout, "v1", "skopeo", "amd64");
    let want = skopeo_raw(&oci(&layout, "v1"));
    let dst = format!("docker://{}", server.reference("team/app", ":v1"));
    tool(
        "skopeo",
        ["copy", "--dest-tls-verify=false", &oci(&layout, "v1"), &dst],
    );
    let got = tool("skopeo", ["inspect", "--raw", "--tls-verify=false", &dst]);
    assert_eq!(got, want, "skopeo read back different manifest bytes");
    let back = s.join("back");
    tool(
        "skopeo",
        ["copy", "--src-tls-verify=false", &dst, &oci(&back, "v1")],
    );
    assert_eq!(skopeo_raw(&oci(&back, "v1")), want);
    // The repository on disk is an OCI layout skopeo reads directly.
    let on_disk = oci(&server.root.join("team/app"), "v1");
    assert_eq!(skopeo_raw(&on_disk), want);
    assert_eq!(
        stdout(&lineage_ok(
            s.path(),
            &["resolve", &server.reference("team/app", ":v1")]
        )),
        digest
    );
}

#[test]
fn the_referrers_api_lists_filters_and_survives_a_restart() {
    let s = Scratch::new();
    let root = s.join("root");
    let server = Serve::start(&root, &[]);
    let layout = s.join("src");
    make_image(&layout, "v1", "referrers", "amd64");
    let image = server.reference("app", ":v1");
    lineage_ok(s.path(), &["copy", &oci(&layout, "v1"), &image]);
    let mut attached = BTreeSet::new();
    for (t, n) in [
        ("application/spdx+json", "1"),
        ("application/vnd.cyclonedx+json", "2"),
        ("application/spdx+json", "3"),
    ] {
        attached.insert(stdout(&lineage_ok(
            s.path(),
            &[
                "attach",
                &image,
                "--artifact-type",
                t,
                "--annotation",
                &format!("n={n}"),
            ],
        )));
    }
    let tree = discover(s.path(), &image, &[]);
    assert_eq!(digests(&tree), attached);
    let spdx = discover(
        s.path(),
        &image,
        &["--artifact-type", "application/spdx+json"],
    );
    assert_eq!(referrers(&spdx).len(), 2);
    assert!(
        referrers(&spdx)
            .iter()
            .all(|r| r["artifactType"] == "application/spdx+json")
    );
    assert!(
        referrers(&tree)
            .iter()
            .any(|r| r["annotations"]["n"] == "2")
    );
    // The registry's own answer: an index, with the filter applied on the server.
    let subject = stdout(&lineage_ok(s.path(), &["resolve", &image]));
    let out = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            &format!(
                "http://{}/v2/app/referrers/{subject}?artifactType=application/spdx%2Bjson",
                server.host
            ),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains("oci-filters-applied: artifacttype"), "{text}");
    assert!(
        text.contains("content-type: application/vnd.oci.image.index.v1+json"),
        "{text}"
    );
    // After a restart the index is rebuilt from disk.
    server.kill();
    let server = Serve::start(&root, &[]);
    assert_eq!(
        digests(&discover(s.path(), &server.reference("app", ":v1"), &[])),
        attached
    );
}

#[test]
fn policies_refuse_what_they_should() {
    if !require_tools("policies_refuse_what_they_should", &["htpasswd"]) {
        return;
    }
    let s = Scratch::new();
    let layout = s.join("src");
    make_image(&layout, "v1", "policies", "amd64");
    let src = oci(&layout, "v1");

    let no_delete = Serve::start(&s.join("nd"), &["--no-delete"]);
    let img = no_delete.reference("app", ":v1");
    lineage_ok(s.path(), &["copy", &src, &img]);
    let r = lineage_run(s.path(), &["delete", &img]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("UNSUPPORTED"), "{}", r.stderr);
    lineage_ok(s.path(), &["resolve", &img]);

    let read_only = Serve::start(&s.join("ro"), &["--read-only"]);
    let r = lineage_run(
        s.path(),
        &["copy", &src, &read_only.reference("app", ":v1")],
    );
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("UNSUPPORTED"), "{}", r.stderr);

    let htpasswd = s.join("htpasswd");
    tool(
        "htpasswd",
        ["-Bbc", htpasswd.to_str().unwrap(), "alice", "s3cret"],
    );
    let auth = Serve::start(&s.join("auth"), &["--htpasswd", htpasswd.to_str().unwrap()]);
    let docker_config = s.join("docker");
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut c = crate::support::lineage(s.path());
        c.env("DOCKER_CONFIG", &docker_config).args(args);
        if let Some(i) = stdin {
            c.write_stdin(i.to_string());
        }
        c.output().unwrap()
    };
    let denied = run(&["copy", &src, &auth.reference("app", ":v1")], None);
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("lineage login"));
    let wrong = run(
        &["login", &auth.host, "-u", "alice", "--password-stdin"],
        Some("nope\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    let ok = run(
        &["login", &auth.host, "-u", "alice", "--password-stdin"],
        Some("s3cret\n"),
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let copied = run(&["copy", &src, &auth.reference("app", ":v1")], None);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
}

/// A referrer pushed before its subject, and one whose subject never comes, are listed.
#[test]
fn referrers_before_and_without_their_subject() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    // Push the image to a layout first, attach there (the referrer exists before the
    // subject reaches the registry), then copy the referrer alone, then the image.
    let layout = s.join("src");
    make_image(&layout, "v1", "early", "amd64");
    let referrer = stdout(&lineage_ok(
        s.path(),
        &[
            "attach",
            &oci(&layout, "v1"),
            "--artifact-type",
            "application/x.early",
        ],
    ));
    lineage_ok(
        s.path(),
        &[
            "copy",
            &oci(&layout, &format!("@{referrer}")).replace(":@", "@"),
            &server.reference("app", ""),
        ],
    );
    let subject = stdout(&lineage_ok(s.path(), &["resolve", &oci(&layout, "v1")]));
    // The subject is not in the registry yet; the referrers API lists the referrer anyway.
    let out = Command::new("curl")
        .args([
            "-s",
            &format!("http://{}/v2/app/referrers/{subject}", server.host),
        ])
        .output()
        .unwrap();
    let index = json(&out.stdout, "referrers index");
    let listed: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![referrer.as_str()]);
    lineage_ok(
        s.path(),
        &["copy", &oci(&layout, "v1"), &server.reference("app", ":v1")],
    );
    let after = discover(s.path(), &server.reference("app", ":v1"), &[]);
    assert_eq!(digests(&after), BTreeSet::from([referrer]));
}

/// Kill the server with SIGKILL while 16 clients push: after a restart, everything a client
/// was told had landed is complete and verifies, no partial blob is visible, and the
/// referrers API answers for every referrer that landed.
#[test]
fn sigkill_during_concurrent_pushes_loses_nothing_that_landed() {
    let s = Scratch::new();
    let root = s.join("root");
    let server = Serve::start(&root, &[]);
    let lineage = assert_cmd::cargo::cargo_bin("lineage");
    let mut clients = Vec::new();
    for i in 0..16 {
        let layout = s.join(&format!("src{i}"));
        make_image(&layout, "v1", &format!("crash{i}"), "amd64");
        // A bigger random layer, so pushes are still in flight when the server dies.
        let big = s.join(&format!("big{i}"));
        std::fs::write(&big, tool("head", ["-c", "3000000", "/dev/urandom"])).unwrap();
        let image = server.reference(&format!("crash/app{i}"), ":v1");
        let script = format!(
            "{l} -q copy {src} {image} && {l} -q attach {image} --artifact-type application/x.crash {big}:application/octet-stream",
            l = lineage.display(),
            src = oci(&layout, "v1"),
            big = big.display(),
        );
        let child = Command::new("bash")
            .args(["-c", &script])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        clients.push((i, image, child));
    }
    // Let the first four finish, then crash the server while the others are under way.
    let mut outcomes = Vec::new();
    for (i, image, child) in clients.drain(..4).collect::<Vec<_>>() {
        let out = child.wait_with_output().unwrap();
        outcomes.push((i, image, out.status.success(), last_line(&out.stdout)));
    }
    server.kill();
    for (i, image, child) in clients {
        let out = child.wait_with_output().unwrap();
        outcomes.push((i, image, out.status.success(), last_line(&out.stdout)));
    }
    assert!(
        outcomes.iter().filter(|o| o.2).count() >= 4,
        "the first four clients must have succeeded"
    );

    // No blob that is visible is partial: every file in every repository hashes to its name.
    for entry in walk(&root) {
        if entry.parent().is_some_and(|p| p.ends_with("blobs/sha256")) {
            let name = entry.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(
                sha256_file(&entry),
                name,
                "{} is partial or corrupt",
                entry.display()
            );
        }
    }
    let server = Serve::start(&root, &[]);
    let uploads: Vec<_> = std::fs::read_dir(root.join(".lineage-uploads"))
        .unwrap()
        .collect();
    assert!(
        uploads.is_empty(),
        "interrupted uploads are cleaned at start-up"
    );
    for (i, image, ok, artifact) in &outcomes {
        if !*ok {
            continue;
        }
        let image = image.replace(&image[..image.find('/').unwrap()], &server.host);
        let out = s.join(&format!("out{i}"));
        lineage_ok(s.path(), &["copy", "--referrers", &image, &oci(&out, "v1")]);
        let tree = discover(s.path(), &image, &[]);
        assert!(
            digests(&tree).contains(artifact),
            "client {i}: referrer {artifact} is missing after the crash"
        );
    }
}

/// The artifact digest `attach` printed: the last line (`copy` printed the image's first).
fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `lineage copy --referrers` from distribution 2.8 (referrers tag schema) to `lineage serve`
/// (referrers API) and back keeps every referrer.
#[test]
fn referrers_cross_between_tag_schema_and_api_registries() {
    let Some(dist) = registry_from_env(
        "referrers_cross_between_tag_schema_and_api_registries",
        "LINEAGE_TEST_REGISTRY",
        false,
    ) else {
        return;
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let layout = s.join("src");
    make_image(&layout, "v1", "cross", "amd64");
    let repo = crate::support::registry::unique_repo("cross");
    let on_dist = dist.reference(&repo, ":v1");
    lineage_ok(s.path(), &["copy", &oci(&layout, "v1"), &on_dist]);
    let mut want = BTreeSet::new();
    for t in [
        "application/spdx+json",
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.lineage.image.lifecycle.metadata",
    ] {
        want.insert(stdout(&lineage_ok(
            s.path(),
            &["attach", &on_dist, "--artifact-type", t],
        )));
    }
    let on_serve = server.reference("cross/app", ":v1");
    lineage_ok(s.path(), &["copy", "--referrers", &on_dist, &on_serve]);
    assert_eq!(digests(&discover(s.path(), &on_serve, &[])), want);
    let back = dist.reference(&format!("{repo}-back"), ":v1");
    lineage_ok(s.path(), &["copy", "--referrers", &on_serve, &back]);
    assert_eq!(digests(&discover(s.path(), &back, &[])), want);
}

/// oras-py, an independent client, pushes an artifact with a `subject`; the referrers API of
/// `lineage serve` lists it, and `lineage discover` sees it with its annotation.
#[test]
fn an_oras_py_push_with_a_subject_is_listed() {
    let python = match std::env::var("LINEAGE_TEST_ORAS_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            assert!(
                !crate::support::in_ci(),
                "LINEAGE_TEST_ORAS_PYTHON is not set (scripts/test.sh installs oras-py)"
            );
            eprintln!(
                "SKIPPED an_oras_py_push_with_a_subject_is_listed: LINEAGE_TEST_ORAS_PYTHON is not set"
            );
            return;
        }
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let layout = s.join("src");
    make_image(&layout, "v1", "oras", "amd64");
    let image = server.reference("oras/app", ":v1");
    lineage_ok(s.path(), &["copy", &oci(&layout, "v1"), &image]);
    let desc = json(
        &lineage_ok(s.path(), &["manifest", "--descriptor", &image]).stdout,
        "descriptor",
    );
    std::fs::write(s.join("sbom.json"), br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    let script = r#"
import sys, oras.provider, oras.oci
host, repo, media, digest, size = sys.argv[1:6]
reg = oras.provider.Registry(hostname=host, insecure=True)
subject = oras.oci.Subject(mediaType=media, digest=digest, size=int(size))
r = reg.push(target=f"{host}/{repo}:sbom", files=["sbom.json:application/spdx+json"],
             subject=subject, manifest_annotations={"pushed-by": "oras-py"})
print(r.status_code, r.headers.get("OCI-Subject", ""))
"#;
    let out = Command::new(&python)
        .current_dir(s.path())
        .args(["-c", script, &server.host, "oras/app"])
        .args([
            desc["mediaType"].as_str().unwrap(),
            desc["digest"].as_str().unwrap(),
            &desc["size"].to_string(),
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oras-py failed: {printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        printed.trim(),
        format!("201 {}", desc["digest"].as_str().unwrap()),
        "the push answer carries OCI-Subject"
    );
    let tree = discover(s.path(), &image, &[]);
    let found = referrers(&tree);
    assert_eq!(found.len(), 1, "{tree}");
    assert_eq!(found[0]["annotations"]["pushed-by"], "oras-py");
}

/// `--tls-cert/--tls-key`: the server speaks HTTPS with the given certificate, and clients
/// trust it through `--ca-file`.
#[test]
fn serves_tls_with_the_given_certificate() {
    if !require_tools("serves_tls_with_the_given_certificate", &["openssl"]) {
        return;
    }
    let s = Scratch::new();
    let certs = make_certs(&s.join("tls"), "serve");
    let p = |path: &std::path::Path| path.display().to_string();
    let server = Serve::start(
        &s.join("root"),
        &["--tls-cert", &p(&certs.cert), "--tls-key", &p(&certs.key)],
    );
    let layout = s.join("src");
    let digest = make_image(&layout, "v1", "tls-serve", "amd64");
    let image = server.reference("app", ":v1");
    let untrusted = lineage_run(s.path(), &["copy", &oci(&layout, "v1"), &image]);
    assert_eq!(untrusted.code, Some(1));
    assert!(
        untrusted.stderr.contains("not trusted"),
        "{}",
        untrusted.stderr
    );
    lineage_ok(
        s.path(),
        &[
            "--ca-file",
            &p(&certs.ca),
            "copy",
            &oci(&layout, "v1"),
            &image,
        ],
    );
    assert_eq!(
        stdout(&lineage_ok(
            s.path(),
            &["--ca-file", &p(&certs.ca), "resolve", &image]
        )),
        digest
    );
}

/// Issue 15 item 5: SIGKILL while eight clients push referrers (the journal's path: untagged
/// manifests with a subject): after a restart, every manifest a client was answered 201 for
/// is served and listed, and the journal holds only whole lines. The restart's time to
/// ready is printed.
#[test]
fn sigkill_during_concurrent_referrer_pushes_loses_no_acknowledged_manifest() {
    let s = Scratch::new();
    let root = s.join("root");
    let server = Serve::start(&root, &[]);
    let empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let subject = format!("sha256:{}", "ab".repeat(32));
    let base = format!("http://{}/v2/crash", server.host);
    tool(
        "curl",
        [
            "-sf",
            "-X",
            "POST",
            "--data-binary",
            "{}",
            &format!("{base}/blobs/uploads/?digest={empty}"),
        ],
    );
    let script = |client: usize| {
        format!(
            r#"for n in $(seq 1 60); do
  body='{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x.crash","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}}],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{subject}","size":100}},"annotations":{{"n":"{client}-'$n'"}}}}'
  d=sha256:$(printf %s "$body" | sha256sum | cut -d' ' -f1)
  code=$(curl -s -o /dev/null -w '%{{http_code}}' -X PUT -H 'content-type: application/vnd.oci.image.manifest.v1+json' --data-binary "$body" "{base}/manifests/$d") || exit 0
  [ "$code" = 201 ] || exit 0
  echo "$d"
done"#
        )
    };
    let mut clients: Vec<std::process::Child> = (0..8)
        .map(|i| {
            Command::new("bash")
                .args(["-c", &script(i)])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // The first client's 60 pushes were all answered; the others are under way.
    let first = clients.remove(0).wait_with_output().unwrap();
    server.kill();
    let mut acknowledged: BTreeSet<String> = String::from_utf8_lossy(&first.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(acknowledged.len(), 60);
    for c in clients {
        let out = c.wait_with_output().unwrap();
        acknowledged.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
    }
    let journal = std::fs::read(root.join("crash/.lineage-journal")).unwrap_or_default();
    let started = std::time::Instant::now();
    let server = Serve::start(&root, &[]);
    eprintln!(
        "restart to ready: {} ms with {} referrers acknowledged ({} journal bytes)",
        started.elapsed().as_millis(),
        acknowledged.len(),
        journal.len()
    );
    let base = format!("http://{}/v2/crash", server.host);
    let listing: Value = serde_json::from_slice(&tool(
        "curl",
        ["-sf", &format!("{base}/referrers/{subject}")],
    ))
    .unwrap();
    let listed: BTreeSet<String> = listing["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    for d in &acknowledged {
        assert!(listed.contains(d), "{d} was acknowledged and is not listed");
        let code = tool(
            "curl",
            [
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "accept: application/vnd.oci.image.manifest.v1+json",
                &format!("{base}/manifests/{d}"),
            ],
        );
        assert_eq!(code, b"200", "{d}");
    }
}

/// Issue 15: `lineage serve gc` on the root of a running server leaves upload files to the
/// server (its sessions are its own) and says so; what it reports is JSON on stdout and one
/// summary for people on stderr.
#[test]
fn serve_gc_on_a_served_root_leaves_uploads_to_the_server() {
    let s = Scratch::new();
    let root = s.join("root");
    let _server = Serve::start(&root, &[]);
    let root_text = root.display().to_string();
    let run = lineage_ok(
        s.path(),
        &[
            "serve",
            "gc",
            "--root",
            &root_text,
            "--dry-run",
            "--upload-max-age",
            "0s",
        ],
    );
    let report = json(&run.stdout, "serve gc report");
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["uploads_left_to_server"], true, "{report}");
    assert_eq!(report["uploads_removed"], 0, "{report}");
    // The elapsed milliseconds vary from run to run.
    let stderr = run.stderr.replace(&root_text, "ROOT");
    let stderr: String = stderr
        .lines()
        .map(|l| match (l.rfind('('), l.strip_suffix(" ms)")) {
            (Some(open), Some(_)) => format!("{}(N ms)\n", &l[..open]),
            _ => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("serve-gc-served-root", stderr);
}
