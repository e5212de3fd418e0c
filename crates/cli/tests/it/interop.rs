//! Interop tests: the `lineage` binary against images written and read by
//! independent, real tools (skopeo, umoci, buildah), and the seed's walkthrough
//! with the real ORAS CLI on three registries (`lineage serve` with the referrers API;
//! crane's registry and distribution 2.8 through the referrers tag schema).
//!
//! A test whose tools are not on `PATH` prints a `SKIPPED` note and passes,
//! except under CI (`CI` set), where that is a failure. `scripts/test.sh`
//! installs the tools. The bad-input tests need no external tool.

use std::fs;

use crate::support::{
    HELLO, Scratch, assert_has_blobs, assert_layout_integrity, assert_same_bytes, buildah,
    buildah_image, digest_of, handmade_layout, is_root, json, lineage_ok, lineage_run, oci,
    oci_archive, reachable, read_blob, require_tools, run, skopeo_raw, tagged_digest, tool,
    umoci_image,
};

/// 1. A layout written by umoci (no `mediaType` in its manifest or
///    `index.json`, stale blobs left behind) is copied by lineage without
///    changing a byte.
#[test]
fn umoci_layout_copies_byte_exact() {
    if !require_tools("umoci_layout_copies_byte_exact", &["umoci", "skopeo"]) {
        return;
    }
    let s = Scratch::new();
    let src = s.join("umoci-layout");
    umoci_image(&s, &src, "v1");
    let root = tagged_digest(&src, "v1");
    let want_blobs = reachable(&src, &root);
    assert_eq!(
        want_blobs.len(),
        3,
        "fixture: manifest, config and one layer expected: {want_blobs:?}"
    );

    let out = s.join("out");
    lineage_ok(s.path(), &["copy", &oci(&src, "v1"), &oci(&out, "v1")]);

    assert_same_bytes(
        &skopeo_raw(&oci(&out, "v1")),
        &skopeo_raw(&oci(&src, "v1")),
        "skopeo inspect --raw of the copy vs the umoci original",
    );
    assert_eq!(tagged_digest(&out, "v1"), root, "tag v1 in the copy");
    assert_layout_integrity(&out);
    assert_has_blobs(&out, &want_blobs);
}

/// 2. A layout written by lineage is read by skopeo (manifest bytes, full copy
///    with digest checks) and by umoci (stat and unpack).
#[test]
fn lineage_layout_reads_in_skopeo_and_umoci() {
    if !require_tools(
        "lineage_layout_reads_in_skopeo_and_umoci",
        &["umoci", "skopeo"],
    ) {
        return;
    }
    let s = Scratch::new();
    let base = s.join("umoci-layout");
    umoci_image(&s, &base, "v1");
    // The source is a layout written by skopeo.
    let src = s.join("skopeo-layout");
    tool(
        "skopeo",
        ["copy", "--quiet", &oci(&base, "v1"), &oci(&src, "v2")],
    );
    let src_digest = tagged_digest(&src, "v2");
    let src_manifest = read_blob(&src, &src_digest);

    let out = s.join("out");
    lineage_ok(s.path(), &["copy", &oci(&src, "v2"), &oci(&out, "v2")]);

    assert_same_bytes(
        &skopeo_raw(&oci(&out, "v2")),
        &src_manifest,
        "skopeo inspect --raw of lineage's layout vs the source manifest",
    );
    assert_layout_integrity(&out);

    let image = format!("{}:v2", out.display());
    tool("umoci", ["stat", "--image", &image]);
    let bundle = s.join("bundle");
    let mut unpack = std::process::Command::new("umoci");
    unpack.arg("unpack");
    if !is_root() {
        unpack.arg("--rootless");
    }
    run(unpack.args(["--image", &image]).arg(&bundle));
    let unpacked = bundle.join("rootfs/etc/hello.txt");
    assert_eq!(
        fs::read_to_string(&unpacked)
            .unwrap_or_else(|e| panic!("reading {}: {e}", unpacked.display())),
        HELLO,
        "file unpacked by umoci from lineage's layout"
    );

    // skopeo reads and verifies every blob when it copies.
    let check = s.join("skopeo-check");
    tool(
        "skopeo",
        ["copy", "--quiet", &oci(&out, "v2"), &oci(&check, "v2")],
    );
    assert_eq!(tagged_digest(&check, "v2"), src_digest);
}

/// 3. An `oci-archive` written by buildah is copied by lineage into a layout
///    without changing the manifest bytes.
#[test]
fn buildah_archive_copies_byte_exact() {
    if !require_tools("buildah_archive_copies_byte_exact", &["buildah", "skopeo"]) {
        return;
    }
    let s = Scratch::new();
    let archive = s.join("img.tar");
    buildah_image(&s, "amd64", &oci_archive(&archive, "v1"));
    let want = skopeo_raw(&oci_archive(&archive, "v1"));
    let want_json = json(&want, "buildah's manifest");
    assert_eq!(
        want_json["annotations"]["k"], "v",
        "fixture: buildah config --annotation k=v should reach the manifest: {want_json}"
    );

    let out = s.join("out");
    lineage_ok(
        s.path(),
        &["copy", &oci_archive(&archive, "v1"), &oci(&out, "v1")],
    );

    assert_same_bytes(
        &skopeo_raw(&oci(&out, "v1")),
        &want,
        "skopeo inspect --raw of the copy vs the buildah archive",
    );
    let root = tagged_digest(&out, "v1");
    assert_eq!(root, digest_of(&want), "tag v1 in the copy");
    assert_layout_integrity(&out);
    let blobs = reachable(&out, &root);
    assert_eq!(blobs.len(), 3, "manifest, config and one layer: {blobs:?}");
    assert_has_blobs(&out, &blobs);
}

/// 4. An `oci-archive` written by lineage is read by skopeo, and copies back
///    into a layout with the same digest.
#[test]
fn lineage_archive_reads_in_skopeo_and_round_trips() {
    if !require_tools(
        "lineage_archive_reads_in_skopeo_and_round_trips",
        &["umoci", "skopeo"],
    ) {
        return;
    }
    let s = Scratch::new();
    let src = s.join("umoci-layout");
    umoci_image(&s, &src, "v1");
    let want = skopeo_raw(&oci(&src, "v1"));
    let want_digest = digest_of(&want);

    let archive = s.join("out.tar");
    lineage_ok(
        s.path(),
        &["copy", &oci(&src, "v1"), &oci_archive(&archive, "v1")],
    );
    assert!(archive.is_file(), "{} was not written", archive.display());

    assert_same_bytes(
        &skopeo_raw(&oci_archive(&archive, "v1")),
        &want,
        "skopeo inspect --raw of lineage's archive vs the source manifest",
    );
    // skopeo reads (and verifies) every blob of the archive.
    let check = s.join("skopeo-check");
    tool(
        "skopeo",
        [
            "copy",
            "--quiet",
            &oci_archive(&archive, "v1"),
            &oci(&check, "v1"),
        ],
    );
    assert_has_blobs(&check, &reachable(&src, &want_digest));

    let back = s.join("back");
    lineage_ok(
        s.path(),
        &["copy", &oci_archive(&archive, "v1"), &oci(&back, "v1")],
    );
    let resolved = lineage_ok(s.path(), &["resolve", &oci(&back, "v1")]).stdout_text();
    assert_eq!(
        resolved, want_digest,
        "lineage resolve after the round trip"
    );
    assert_eq!(tagged_digest(&back, "v1"), want_digest);
    assert_layout_integrity(&back);
}

/// 5. A two-platform index pushed by buildah into a layout is copied whole:
///    index bytes unchanged, and every manifest, config and layer present.
#[test]
fn multi_platform_index_copies_everything() {
    if !require_tools(
        "multi_platform_index_copies_everything",
        &["buildah", "skopeo"],
    ) {
        return;
    }
    let s = Scratch::new();
    let list = "localhost/lineage-interop-list:v1";
    run(buildah(&s).args(["manifest", "create", list]));
    for arch in ["amd64", "arm64"] {
        let image = format!("localhost/lineage-interop-{arch}:v1");
        buildah_image(&s, arch, &image);
        run(buildah(&s).args([
            "manifest",
            "add",
            list,
            &format!("containers-storage:{image}"),
        ]));
    }
    let src = s.join("index-layout");
    run(buildah(&s).args([
        "manifest",
        "push",
        "--all",
        "--quiet",
        list,
        &oci(&src, "list"),
    ]));

    let index_digest = tagged_digest(&src, "list");
    let index_bytes = read_blob(&src, &index_digest);
    let index = json(&index_bytes, "buildah's index");
    let mut archs: Vec<&str> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["platform"]["architecture"].as_str())
        .collect();
    archs.sort_unstable();
    assert_eq!(archs, ["amd64", "arm64"], "fixture: two platforms: {index}");
    let want_blobs = reachable(&src, &index_digest);
    assert_eq!(
        want_blobs.len(),
        7,
        "fixture: index + 2 x (manifest, config, layer): {want_blobs:?}"
    );

    let out = s.join("out");
    lineage_ok(s.path(), &["copy", &oci(&src, "list"), &oci(&out, "list")]);

    assert_eq!(
        tagged_digest(&out, "list"),
        index_digest,
        "tag list in the copy"
    );
    assert_same_bytes(&read_blob(&out, &index_digest), &index_bytes, "index blob");
    assert_same_bytes(
        &skopeo_raw(&oci(&out, "list")),
        &index_bytes,
        "skopeo inspect --raw of the copied index",
    );
    assert_has_blobs(&out, &want_blobs);
    assert_layout_integrity(&out);
    let resolved = lineage_ok(s.path(), &["resolve", &oci(&out, "list")]).stdout_text();
    assert_eq!(
        resolved, index_digest,
        "lineage resolve of the copied index"
    );

    // skopeo can read every image of the copied index.
    let check = s.join("skopeo-check");
    tool(
        "skopeo",
        [
            "copy",
            "--all",
            "--quiet",
            &oci(&out, "list"),
            &oci(&check, "list"),
        ],
    );
    assert_eq!(tagged_digest(&check, "list"), index_digest);
}

/// 6a. A source layout that does not exist: a clean error naming the path.
#[test]
fn error_missing_layout_path() {
    let s = Scratch::new();
    let missing = s.join("no-such-layout");
    let out = s.join("out");
    let result = lineage_run(s.path(), &["copy", &oci(&missing, "v1"), &oci(&out, "v1")]);
    result.fails_naming(&missing.display().to_string());
}

/// 6b. A malformed reference (`oci:` with no path): a clean error naming it.
#[test]
fn error_malformed_reference() {
    let s = Scratch::new();
    let out = s.join("out");
    let result = lineage_run(s.path(), &["copy", "oci:", &oci(&out, "v1")]);
    result.fails_naming("oci:");
    assert!(
        !out.exists(),
        "nothing should be written for a bad reference"
    );
}

/// 6c. An `index.json` that is not JSON: a clean error naming the layout.
#[test]
fn error_index_not_json() {
    let s = Scratch::new();
    let bad = s.join("bad-index");
    handmade_layout(&bad, "v1");
    fs::write(bad.join("index.json"), "this is { not JSON\n").expect("overwriting index.json");
    let out = s.join("out");
    let result = lineage_run(s.path(), &["copy", &oci(&bad, "v1"), &oci(&out, "v1")]);
    result.fails_naming(&bad.display().to_string());
}

/// 6d. A layer blob whose bytes no longer match its digest: copying it again
///     fails with a clean error naming that digest.
#[test]
fn error_corrupted_blob() {
    let s = Scratch::new();
    let src = s.join("handmade");
    let image = handmade_layout(&src, "v1");

    // A good copy first: the handmade image itself is fine.
    let copied = s.join("copied");
    lineage_ok(s.path(), &["copy", &oci(&src, "v1"), &oci(&copied, "v1")]);
    assert_same_bytes(
        &read_blob(&copied, &tagged_digest(&copied, "v1")),
        &image.manifest,
        "manifest of the first copy",
    );
    assert_eq!(tagged_digest(&copied, "v1"), image.manifest_digest);

    // Flip one byte in the middle of the copied layer.
    let layer_path = crate::support::blob_path(&copied, &image.layer_digest);
    let mut layer = fs::read(&layer_path).expect("reading the copied layer");
    let mid = layer.len() / 2;
    layer[mid] ^= 0xff;
    // The copy may share the file with the source (hard link, reflink): write a
    // new file in its place so the source stays intact.
    fs::remove_file(&layer_path).expect("removing the copied layer");
    fs::write(&layer_path, &layer).expect("writing the corrupted layer");
    assert_ne!(
        digest_of(&layer),
        image.layer_digest,
        "the flipped byte must change the digest"
    );

    let dest = s.join("dest");
    let result = lineage_run(s.path(), &["copy", &oci(&copied, "v1"), &oci(&dest, "v1")]);
    result.fails_naming(&image.layer_digest);
}

mod oras {
    //! The seed's walkthrough with the real ORAS CLI: records ORAS writes are read by
    //! lineage, records lineage writes are listed and fetched by ORAS byte for byte, and
    //! both tools see the same referrer graph, on every registry kind.

    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_json::Value;

    use crate::support::peers::{oras, peers};
    use crate::support::scenario::{build_images, scenario};
    use crate::support::{Scratch, digest_of, lineage_ok};

    const MYORG_TYPE: &str = "application/vnd.myorganization.image.lifecycle.metadata";
    const LINEAGE_TYPE: &str = "application/vnd.lineage.image.lifecycle.metadata";

    fn status(cwd: &Path, args: &[&str]) -> Value {
        let mut all = vec!["status", "--output", "json"];
        all.extend_from_slice(args);
        let out = lineage_ok(cwd, &all);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
    }

    /// A discover tree with every level's referrers in digest order (the two tools list
    /// them in the registry's order, which the tag schema does not fix).
    fn sorted(node: &Value) -> Value {
        let mut node = node.clone();
        if let Some(children) = node.get("referrers").and_then(Value::as_array) {
            let mut kids: Vec<Value> = children.iter().map(sorted).collect();
            kids.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
            node["referrers"] = Value::Array(kids);
        }
        node
    }

    /// Every digest in a discover tree below its root.
    fn digests(node: &Value, out: &mut BTreeSet<String>) {
        for r in node["referrers"].as_array().into_iter().flatten() {
            out.insert(r["digest"].as_str().unwrap().to_string());
            digests(r, out);
        }
    }

    /// `oras attach` of the seed, then `lineage status --namespace vnd.myorganization.image`.
    #[test]
    fn a_record_attached_by_oras_is_read_by_lineage() {
        let Some(oras) = oras("a_record_attached_by_oras_is_read_by_lineage") else {
            return;
        };
        let s = Scratch::new();
        let builds = s.join("builds");
        build_images(&builds, &["rev1"]);
        for peer in peers("a_record_attached_by_oras_is_read_by_lineage", &s) {
            let image = format!("{}:1.0-20230707", peer.repo("flasksample"));
            let src = format!("oci:{}:rev1", builds.display());
            lineage_ok(s.path(), &["copy", &src, &image]);
            oras.ok(
                s.path(),
                &[
                    "attach",
                    "--artifact-type",
                    MYORG_TYPE,
                    "--annotation",
                    "vnd.myorganization.image.end-of-life=2023-07-10T08:00:00Z",
                    &image,
                ],
            );
            let st = status(
                s.path(),
                &["--namespace", "vnd.myorganization.image", &image],
            );
            assert_eq!(st["state"], "end-of-life", "{}: {st}", peer.name);
            assert_eq!(
                st["endOfLife"], "2023-07-10T08:00:00Z",
                "{}: {st}",
                peer.name
            );
            assert_eq!(st["source"], "referrer", "{}: {st}", peer.name);
        }
    }

    /// Records `lineage release` wrote are listed by `oras discover` with their
    /// artifactType and annotations, `oras manifest fetch` returns the bytes lineage wrote,
    /// and with an SBOM and a referrer of it attached by ORAS, `lineage discover` and
    /// `oras discover` print the same tree.
    #[test]
    fn lineage_records_are_listed_and_fetched_by_oras() {
        let Some(oras) = oras("lineage_records_are_listed_and_fetched_by_oras") else {
            return;
        };
        let servers = Scratch::new();
        for peer in peers("lineage_records_are_listed_and_fetched_by_oras", &servers) {
            let s = Scratch::new();
            let repo = peer.repo("flasksample");
            let sc = scenario(&s, &repo);
            let tree = oras.discover(s.path(), &sc.eol);
            let records: Vec<&Value> = tree["referrers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["artifactType"] == LINEAGE_TYPE)
                .collect();
            assert_eq!(records.len(), 1, "{}: {tree}", peer.name);
            let record = records[0];
            let ann = &record["annotations"];
            assert_eq!(
                ann["vnd.lineage.image.end-of-life"], "2023-07-10T08:00:00Z",
                "{}",
                peer.name
            );
            assert_eq!(
                ann["vnd.lineage.image.reason"], "superseded",
                "{}",
                peer.name
            );
            assert_eq!(
                ann["vnd.lineage.image.superseded-by"],
                sc.successor_digest.as_str()
            );
            assert_eq!(ann["vnd.lineage.image.successor"], sc.successor.as_str());

            let digest = record["digest"].as_str().unwrap();
            let by_digest = format!("{repo}@{digest}");
            let fetched = oras.ok(s.path(), &["manifest", "fetch", &by_digest]);
            let written = lineage_ok(s.path(), &["manifest", &by_digest]).stdout;
            assert_eq!(
                fetched, written,
                "{}: oras and lineage fetch other bytes",
                peer.name
            );
            assert_eq!(digest_of(&fetched), digest, "{}", peer.name);
            let view: Value = serde_json::from_slice(&fetched).unwrap();
            assert_eq!(
                view["annotations"], *ann,
                "{}: descriptor and manifest annotations",
                peer.name
            );

            // An SBOM attached by ORAS and a signature of the SBOM.
            std::fs::write(s.join("sbom.spdx.json"), br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
            std::fs::write(s.join("sig.txt"), b"signature").unwrap();
            oras.ok(
                s.path(),
                &[
                    "attach",
                    "--artifact-type",
                    "application/spdx+json",
                    &sc.eol,
                    "sbom.spdx.json:application/spdx+json",
                ],
            );
            let tree = oras.discover(s.path(), &sc.eol);
            let sbom = tree["referrers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["artifactType"] == "application/spdx+json")
                .unwrap_or_else(|| panic!("{}: no SBOM in {tree}", peer.name));
            let sbom_ref = format!("{repo}@{}", sbom["digest"].as_str().unwrap());
            oras.ok(
                s.path(),
                &[
                    "attach",
                    "--artifact-type",
                    "application/vnd.example.signature",
                    &sbom_ref,
                    "sig.txt",
                ],
            );
            let theirs = sorted(&oras.discover(s.path(), &sc.eol));
            let ours: Value = serde_json::from_slice(
                &lineage_ok(s.path(), &["discover", "--output", "json", &sc.eol]).stdout,
            )
            .unwrap();
            assert_eq!(
                sorted(&ours),
                theirs,
                "{}: lineage discover vs oras discover",
                peer.name
            );
            let mut all = BTreeSet::new();
            digests(&theirs, &mut all);
            assert_eq!(
                all.len(),
                3,
                "{}: record, SBOM, signature: {theirs}",
                peer.name
            );
        }
    }

    /// `oras copy -r` of the scenario from lineage serve to crane's registry and to
    /// distribution keeps every verdict; `lineage copy --referrers` back keeps every
    /// referrer ORAS lists.
    #[test]
    fn copies_by_oras_and_lineage_keep_the_verdicts() {
        let Some(oras) = oras("copies_by_oras_and_lineage_keep_the_verdicts") else {
            return;
        };
        let s = Scratch::new();
        let all = peers("copies_by_oras_and_lineage_keep_the_verdicts", &s);
        let origin = &all[0];
        let repo = origin.repo("flasksample");
        let sc = scenario(&s, &repo);
        let verdicts = |repo: &str| -> Vec<(String, String, String)> {
            let history: Value = serde_json::from_slice(
                &lineage_ok(
                    s.path(),
                    &["history", repo, "--version", "1.0", "--output", "json"],
                )
                .stdout,
            )
            .unwrap();
            history
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["revision"].as_str().unwrap().to_string(),
                        h["state"].as_str().unwrap().to_string(),
                        h["endOfLife"].to_string(),
                    )
                })
                .collect()
        };
        let want = verdicts(&repo);
        assert_eq!(want.len(), 2, "{want:?}");
        for peer in &all[1..] {
            let copy = peer.repo("oras-copy");
            for tag in ["1.0-20230707", "1.0-20230710", "1.0"] {
                oras.ok(
                    s.path(),
                    &[
                        "copy",
                        "-r",
                        "--from-plain-http",
                        "--to-plain-http",
                        &format!("{repo}:{tag}"),
                        &format!("{copy}:{tag}"),
                    ],
                );
            }
            assert_eq!(
                verdicts(&copy),
                want,
                "{}: history of oras's copy",
                peer.name
            );
            let st = status(s.path(), &[&format!("{copy}:1.0-20230707")]);
            assert_eq!(st["state"], "end-of-life", "{}: {st}", peer.name);
            assert_eq!(
                st["successor"]["digest"],
                sc.successor_digest.as_str(),
                "{}",
                peer.name
            );

            // Back with lineage copy --referrers, into a new repository of lineage serve.
            let back = origin.repo("lineage-copy");
            lineage_ok(
                s.path(),
                &[
                    "copy",
                    "--referrers",
                    &format!("{copy}:1.0-20230707"),
                    &format!("{back}:1.0-20230707"),
                ],
            );
            let mut theirs = BTreeSet::new();
            digests(
                &oras.discover(s.path(), &format!("{copy}:1.0-20230707")),
                &mut theirs,
            );
            let mut ours = BTreeSet::new();
            digests(
                &oras.discover(s.path(), &format!("{back}:1.0-20230707")),
                &mut ours,
            );
            assert!(!theirs.is_empty(), "{}", peer.name);
            assert_eq!(
                ours, theirs,
                "{}: referrers after lineage copy --referrers",
                peer.name
            );
        }
    }

    /// On distribution (no referrers API) 16 `oras attach` and 16 `lineage attach`
    /// processes at once on one subject: every lineage referrer is kept (lineage merges
    /// the fallback index with compare-and-swap); what ORAS loses is printed as a fact.
    #[test]
    fn concurrent_attaches_by_oras_and_lineage_on_the_tag_schema() {
        let test = "concurrent_attaches_by_oras_and_lineage_on_the_tag_schema";
        let Some(oras) = oras(test) else {
            return;
        };
        let s = Scratch::new();
        let Some(peer) = peers(test, &s).into_iter().find(|p| !p.referrers_api) else {
            return;
        };
        let builds = s.join("builds");
        build_images(&builds, &["rev1"]);
        let image = format!("{}:v1", peer.repo("concurrent"));
        lineage_ok(
            s.path(),
            &["copy", &format!("oci:{}:rev1", builds.display()), &image],
        );
        std::fs::write(s.join("note.txt"), b"note").unwrap();
        let lineage_bin = assert_cmd::cargo::cargo_bin("lineage");
        let mut children = Vec::new();
        for i in 0..16 {
            let tag = format!("n={i}");
            let mut l = std::process::Command::new(&lineage_bin);
            l.current_dir(s.path())
                .args([
                    "attach",
                    &image,
                    "--artifact-type",
                    "application/vnd.example.lineage",
                    "--annotation",
                    &tag,
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            children.push(("lineage", l.spawn().unwrap()));
            let mut o = oras.command(s.path());
            o.args([
                "attach",
                "--plain-http",
                "--artifact-type",
                "application/vnd.example.oras",
                "--annotation",
                &tag,
                &image,
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
            children.push(("oras", o.spawn().unwrap()));
        }
        let mut failed = [0usize; 2];
        for (who, child) in children {
            let out = child.wait_with_output().unwrap();
            if !out.status.success() {
                assert_eq!(
                    who,
                    "oras",
                    "lineage attach failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                failed[1] += 1;
            }
        }
        let tree = oras.discover(s.path(), &image);
        let count = |t: &str| {
            tree["referrers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["artifactType"] == t)
                .count()
        };
        assert_eq!(
            count("application/vnd.example.lineage"),
            16,
            "every lineage referrer is kept: {tree}"
        );
        let ours: Value = serde_json::from_slice(
            &lineage_ok(s.path(), &["discover", "--output", "json", &image]).stdout,
        )
        .unwrap();
        assert_eq!(
            sorted(&ours),
            sorted(&tree),
            "both tools read the same fallback index"
        );
        eprintln!(
            "MEASURED {test}: ORAS kept {} of 16 referrers ({} oras attach processes failed); lineage kept 16 of 16",
            count("application/vnd.example.oras"),
            failed[1] + failed[0]
        );
    }
}
