//! `lineage serve` with independent clients and under failure: skopeo in and out byte for
//! byte, the referrers API through `lineage attach`/`discover`, policies (read-only, no
//! deletes, htpasswd), a restart that rebuilds the referrers index, crash safety under
//! SIGKILL during concurrent pushes and during `lineage serve gc`, and referrers copied
//! between distribution 2.8 (tag schema) and `lineage serve` (API) both ways.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::policy::Http;
use crate::support::registry::{index_digests, make_image, referrers, registry_from_env};
use crate::support::serve::Serve;
use crate::support::tls::make_certs;
use crate::support::{
    Scratch, json, lineage_ok, lineage_run, oci, require_tools, sha256_file, sha256_files,
    skopeo_raw, tool,
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
    let empty = EMPTY;
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

/// The manifest media types a test accepts when it fetches a manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// What a collection must keep in one repository: images, their referrers, and everything
/// they reach, with the bytes they had when pushed.
struct Live {
    repo: String,
    manifests: BTreeSet<String>,
    bytes: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Live {
    /// `images` of `repo` and their referrers (as the server lists them), and what they
    /// reach on disk in `root`.
    fn of(root: &Path, http: &Http, repo: &str, images: &[&str]) -> Live {
        let layout = root.join(repo);
        let mut manifests = BTreeSet::new();
        for image in images {
            let (code, body) = http.get(&format!("/v2/{repo}/referrers/{image}"));
            assert_eq!(code, 200, "referrers of {repo}@{image}: {body}");
            let listed = index_digests(&json(body.as_bytes(), "referrers listing"));
            assert!(!listed.is_empty(), "{repo}@{image} has referrers");
            manifests.extend(listed);
            manifests.insert(image.to_string());
        }
        let bytes = manifests
            .iter()
            .flat_map(|m| crate::support::reachable(&layout, m))
            .map(|d| {
                let b = crate::support::read_blob(&layout, &d);
                (d, b)
            })
            .collect();
        Live {
            repo: repo.to_string(),
            manifests,
            bytes,
        }
    }

    /// Every manifest and blob is served by digest, byte for byte as pushed.
    fn assert_served(&self, http: &Http, when: &str) {
        let requests: Vec<_> = self
            .bytes
            .keys()
            .map(|d| {
                if self.manifests.contains(d) {
                    http.request(
                        reqwest::Method::GET,
                        &format!("/v2/{}/manifests/{d}", self.repo),
                    )
                    .header("accept", MANIFEST_ACCEPT)
                } else {
                    http.request(
                        reqwest::Method::GET,
                        &format!("/v2/{}/blobs/{d}", self.repo),
                    )
                }
            })
            .collect();
        for ((d, want), (code, got)) in self.bytes.iter().zip(http.send_all(requests)) {
            assert_eq!(code, 200, "{when}: {}@{d} is not served", self.repo);
            assert!(got == *want, "{when}: {}@{d} is served changed", self.repo);
        }
    }
}

/// The digests the layout at `dir` lists: `index.json`'s entries, then the journal's whole
/// lines.
fn listed(dir: &Path) -> BTreeSet<String> {
    let mut out = index_digests(&json(
        &std::fs::read(dir.join("index.json")).unwrap(),
        "index.json",
    ));
    let journal = std::fs::read(dir.join(".lineage-journal")).unwrap_or_default();
    for line in journal.split_inclusive(|b| *b == b'\n') {
        if line.ends_with(b"\n") {
            out.insert(
                json(line, "journal line")["digest"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    out
}

/// The files in the layout `dir`'s `blobs/sha256`, as digests.
fn blob_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

/// Push the image `make-image.sh` makes from `seed` as `repo:tag`; its digest.
fn push_image(s: &Scratch, server: &Serve, repo: &str, tag: &str, seed: &str) -> String {
    let layout = s.join(&format!("src-{seed}"));
    let digest = make_image(&layout, tag, seed, "amd64");
    lineage_ok(
        s.path(),
        &[
            "copy",
            &oci(&layout, tag),
            &server.reference(repo, &format!(":{tag}")),
        ],
    );
    digest
}

/// An artifact manifest with one `application/octet-stream` layer, given as `(digest,
/// size)`, and a subject, given as `(media type, digest, size)`.
fn artifact(layer: (&str, usize), subject: (&str, &str, usize)) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x.orphan","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{EMPTY}","size":2}},"layers":[{{"mediaType":"application/octet-stream","digest":"{}","size":{}}}],"subject":{{"mediaType":"{}","digest":"{}","size":{}}}}}"#,
        layer.0, layer.1, subject.0, subject.1, subject.2
    )
}

/// The digest of `{}`, the OCI empty descriptor's content.
const EMPTY: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// Write each of `contents` to a file in `dir` named `PREFIX-N`; the files and their
/// digests (hashed by `sha256sum`, not by lineage).
fn write_hashed(dir: &Path, prefix: &str, contents: &[String]) -> Vec<String> {
    let paths: Vec<_> = contents
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = dir.join(format!("{prefix}-{i}"));
            std::fs::write(&p, c).unwrap();
            p
        })
        .collect();
    sha256_files(&paths)
        .into_iter()
        .map(|h| format!("sha256:{h}"))
        .collect()
}

/// Issue 15 item 5: SIGKILL during `lineage serve gc --delete-referrers-with-subject`, once
/// it has unlisted a repository's orphaned referrers and while it removes their blobs.
/// Afterwards no file is half-written or left over, every manifest still listed is whole on
/// disk, and after a restart every live manifest and blob (in the collected repository and
/// in another) is served byte for byte; a second collection then removes what the first
/// left: the orphans (and their own referrers) answer 404, the deleted subject lists no
/// referrers, and its repository holds exactly its live blobs.
#[test]
fn sigkill_during_serve_gc_loses_nothing_live() {
    // Enough orphans, each a manifest and a layer, that the sweep is still removing their
    // blobs when the test sees the first one go and kills it.
    const ORPHANS: usize = 1500;
    // Orphans that have a referrer of their own: collected in turn.
    const NESTED: usize = 20;
    let s = Scratch::new();
    let root = s.join("root");
    let server = Serve::start(&root, &[]);

    // Live content: an image with referrers in one repository; in the collected one, a kept
    // image whose referrer shares its layer with orphan 0.
    let live_image = push_image(&s, &server, "live/app", "v1", "gc-live");
    let keep_image = push_image(&s, &server, "doomed/app", "keep", "gc-keep");
    let doomed_image = push_image(&s, &server, "doomed/app", "v1", "gc-doomed");
    let layer_text = |i: usize| format!("orphan layer {i}\n");
    std::fs::write(s.join("sbom.json"), br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    std::fs::write(s.join("shared"), layer_text(0)).unwrap();
    let file = |name: &str| format!("{}:application/octet-stream", s.join(name).display());
    for (repo, tag, artifact_type, extra) in [
        ("live/app", ":v1", "application/x.scan", None),
        (
            "live/app",
            ":v1",
            "application/spdx+json",
            Some(file("sbom.json")),
        ),
        (
            "doomed/app",
            ":keep",
            "application/x.keep",
            Some(file("shared")),
        ),
    ] {
        let image = server.reference(repo, tag);
        let mut args = vec!["attach", &image, "--artifact-type", artifact_type];
        args.extend(extra.as_deref());
        lineage_ok(s.path(), &args);
    }

    // The orphans: referrers of the image about to be deleted, each with its own layer.
    let subject = json(
        &lineage_ok(
            s.path(),
            &[
                "manifest",
                "--descriptor",
                &server.reference("doomed/app", ":v1"),
            ],
        )
        .stdout,
        "descriptor",
    );
    let subject_size = subject["size"].as_u64().unwrap() as usize;
    let subject = (
        subject["mediaType"].as_str().unwrap(),
        doomed_image.as_str(),
        subject_size,
    );
    let work = s.join("orphans");
    std::fs::create_dir(&work).unwrap();
    let layers: Vec<String> = (0..ORPHANS).map(layer_text).collect();
    let layer_digests = write_hashed(&work, "layer", &layers);
    let layer = |i: usize| (layer_digests[i].as_str(), layers[i].len());
    let bodies: Vec<String> = (0..ORPHANS).map(|i| artifact(layer(i), subject)).collect();
    let orphan_digests = write_hashed(&work, "manifest", &bodies);
    let nested_bodies: Vec<String> = (0..NESTED)
        .map(|i| {
            let of = (
                "application/vnd.oci.image.manifest.v1+json",
                orphan_digests[i].as_str(),
                bodies[i].len(),
            );
            artifact(layer(i), of)
        })
        .collect();
    let nested_digests = write_hashed(&work, "nested", &nested_bodies);

    let http = Http::new(&server.host);
    let base = "/v2/doomed/app";
    let upload = |digest: &str, body: &[u8]| {
        http.request(
            reqwest::Method::POST,
            &format!("{base}/blobs/uploads/?digest={digest}"),
        )
        .body(body.to_vec())
    };
    let put = |digest: &str, body: &str| {
        http.request(reqwest::Method::PUT, &format!("{base}/manifests/{digest}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(body.to_string())
    };
    let mut blobs = vec![upload(EMPTY, b"{}")];
    blobs.extend((0..ORPHANS).map(|i| upload(&layer_digests[i], layers[i].as_bytes())));
    for (n, (code, body)) in http.send_all(blobs).into_iter().enumerate() {
        assert_eq!(
            code,
            201,
            "blob upload {n}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let orphans = (0..ORPHANS)
        .map(|i| put(&orphan_digests[i], &bodies[i]))
        .collect();
    let nested = (0..NESTED)
        .map(|i| put(&nested_digests[i], &nested_bodies[i]))
        .collect();
    for requests in [orphans, nested] {
        for (code, body) in http.send_all(requests) {
            assert_eq!(
                code,
                201,
                "manifest push: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    let live = [
        Live::of(&root, &http, "live/app", &[&live_image]),
        Live::of(&root, &http, "doomed/app", &[&keep_image]),
    ];
    assert!(
        live[1].bytes.contains_key(&layer_digests[0]),
        "the kept referrer shares orphan 0's layer"
    );
    let (code, _) = http
        .send_all(vec![http.request(
            reqwest::Method::DELETE,
            &format!("{base}/manifests/{doomed_image}"),
        )])
        .remove(0);
    assert_eq!(code, 202, "DELETE of the subject");
    drop(http);
    let doomed_dir = root.join("doomed/app");
    let garbage: BTreeSet<String> = blob_files(&doomed_dir)
        .into_iter()
        .filter(|d| !live[1].bytes.contains_key(d))
        .collect();
    assert!(
        garbage.len() >= 2 * ORPHANS + NESTED,
        "{} garbage blobs",
        garbage.len()
    );
    assert!(
        server.stop().success(),
        "lineage serve stops cleanly on SIGTERM"
    );

    // Collect, and kill the collection once it has started removing blobs of doomed/app
    // (it unlists the orphans first), before it has removed them all.
    let on_disk = || {
        std::fs::read_dir(doomed_dir.join("blobs/sha256"))
            .unwrap()
            .count()
    };
    let before = on_disk();
    let root_text = root.display().to_string();
    let gc_args = [
        "serve",
        "gc",
        "--root",
        &root_text,
        "--delete-referrers-with-subject",
        "--gc-grace",
        "0s",
    ];
    let mut gc = Command::new(assert_cmd::cargo::cargo_bin("lineage"))
        .args(gc_args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The test's patience, not a timing assertion.
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while on_disk() == before {
        if let Some(status) = gc.try_wait().unwrap() {
            panic!("lineage serve gc exited ({status}) before it removed a blob of doomed/app");
        }
        if std::time::Instant::now() > patience {
            let _ = gc.kill();
            panic!("lineage serve gc removed no blob of doomed/app in 5 minutes");
        }
        std::thread::yield_now();
    }
    gc.kill().unwrap();
    let status = gc.wait().unwrap();
    let left = garbage
        .iter()
        .filter(|d| crate::support::blob_path(&doomed_dir, d).exists())
        .count();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "lineage serve gc finished ({status}) before the SIGKILL; it must be killed mid-way (raise ORPHANS)"
    );
    assert!(
        left > 0,
        "lineage serve gc had removed every garbage blob when it was killed: not mid-way (raise ORPHANS)"
    );
    eprintln!(
        "killed lineage serve gc with {left} of {} garbage blobs left",
        garbage.len()
    );

    // On disk: every blob whole, every listed manifest with everything it reaches.
    for dir in [root.join("live/app"), doomed_dir.clone()] {
        crate::support::assert_layout_integrity(&dir);
        for m in listed(&dir) {
            for d in crate::support::reachable(&dir, &m) {
                assert!(
                    crate::support::blob_path(&dir, &d).is_file(),
                    "{} lists {m}, which reaches {d}, and {d} is gone",
                    dir.display()
                );
            }
        }
    }
    let started = std::time::Instant::now();
    let server = Serve::start(&root, &[]);
    eprintln!(
        "restart to ready after the kill: {} ms",
        started.elapsed().as_millis()
    );
    let leftovers: Vec<_> = walk(&root)
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(lineage_store::fs::TEMP_PREFIX)
            })
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let check_live = |server: &Serve, when: &str| {
        let http = Http::new(&server.host);
        for (repo, tags) in [("live/app", r#"["v1"]"#), ("doomed/app", r#"["keep"]"#)] {
            let (code, body) = http.get(&format!("/v2/{repo}/tags/list"));
            assert_eq!(code, 200, "{when}: tags of {repo}: {body}");
            assert_eq!(
                json(body.as_bytes(), "tags")["tags"].to_string(),
                tags,
                "{when}: tags of {repo}"
            );
        }
        for l in &live {
            l.assert_served(&http, when);
        }
        http
    };
    check_live(&server, "after the kill");
    assert!(server.stop().success());

    // A second collection completes; with the first, it leaves none of the orphans.
    let report = json(&lineage_ok(s.path(), &gc_args).stdout, "serve gc report");
    assert_eq!(report["dry_run"], false, "{report}");
    assert_eq!(
        report["blobs_removed"], left,
        "the second collection removes the garbage the first left: {report}"
    );
    let server = Serve::start(&root, &[]);
    let http = check_live(&server, "after the second collection");
    assert_eq!(
        blob_files(&doomed_dir),
        live[1].bytes.keys().cloned().collect(),
        "doomed/app holds exactly its live blobs"
    );
    let gone: Vec<_> = orphan_digests
        .iter()
        .chain(&nested_digests)
        .map(|d| {
            http.request(reqwest::Method::GET, &format!("{base}/manifests/{d}"))
                .header("accept", MANIFEST_ACCEPT)
        })
        .collect();
    for (d, (code, _)) in orphan_digests
        .iter()
        .chain(&nested_digests)
        .zip(http.send_all(gone))
    {
        assert_eq!(code, 404, "orphan {d} is still served");
    }
    let (code, body) = http.get(&format!("{base}/referrers/{doomed_image}"));
    assert_eq!(code, 200, "{body}");
    assert!(
        index_digests(&json(body.as_bytes(), "referrers")).is_empty(),
        "the deleted subject still lists referrers: {body}"
    );
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
