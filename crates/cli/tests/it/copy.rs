//! `lineage copy`, `resolve`, `manifest` and `tags` end to end on layouts and archives,
//! with fixtures written through the store library and checked from the outside.

use std::path::Path;

use assert_cmd::Command;
use lineage_oci::{Digest, RawManifest, media_type};
use lineage_store::LayoutStore;
use serde_json::Value;

use crate::support::images::{push_image, push_index_of, push_referrer};

fn lineage() -> Command {
    let mut c = Command::cargo_bin("lineage").unwrap();
    c.env_remove("RUST_LOG").env("NO_COLOR", "1");
    c
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A layout with a two-platform index tagged `list`, an image tagged `v1`, and referrers.
struct Fixture {
    image: RawManifest,
    index: RawManifest,
    sbom: RawManifest,
    sig: RawManifest,
}

fn fixture(dir: &Path) -> Fixture {
    rt().block_on(async {
        let s = LayoutStore::open_or_create(dir).unwrap();
        let image = push_image(&s, "main", 1, Some("v1")).await;
        let index = push_index_of(&s, "list", 1, Some("list")).await;
        let sbom = push_referrer(&s, &image, "application/spdx+json", "sbom").await;
        let sig = push_referrer(
            &s,
            &image,
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            "signature",
        )
        .await;
        Fixture {
            image,
            index,
            sbom,
            sig,
        }
    })
}

fn referrers(layout: &Path, subject: &Digest) -> Vec<Digest> {
    rt().block_on(async {
        use lineage_store::ReadStore;
        let s = LayoutStore::open(layout).unwrap();
        s.referrers(subject, None)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.digest)
            .collect()
    })
}

fn oci(p: &Path, rest: &str) -> String {
    format!("oci:{}{rest}", p.display())
}

fn archive(p: &Path, rest: &str) -> String {
    format!("oci-archive:{}{rest}", p.display())
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn layout_to_layout_to_archive_and_back_keeps_every_digest() {
    let t = tempfile::tempdir().unwrap();
    let (a, b, tar, c) = (
        t.path().join("a"),
        t.path().join("b"),
        t.path().join("b.tar"),
        t.path().join("c"),
    );
    let f = fixture(&a);
    let digest = stdout_of(lineage().args(["copy", &oci(&a, ":v1"), &oci(&b, ":v1")]));
    assert_eq!(digest.trim(), f.image.digest().as_str());
    stdout_of(lineage().args(["copy", &oci(&a, ":v1"), &archive(&tar, ":v1")]));
    stdout_of(lineage().args(["copy", &archive(&tar, ":v1"), &oci(&c, ":v1")]));
    for layout in [&b, &c] {
        let bytes = lineage()
            .args(["manifest", &oci(layout, ":v1")])
            .output()
            .unwrap()
            .stdout;
        assert_eq!(bytes, f.image.bytes().as_ref());
        assert_eq!(
            stdout_of(lineage().args(["resolve", &oci(layout, ":v1")])).trim(),
            f.image.digest().as_str()
        );
        // Every blob hashes to its name.
        for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            assert_eq!(
                Digest::sha256(&std::fs::read(e.path()).unwrap()).encoded(),
                e.file_name().to_str().unwrap()
            );
        }
    }
    assert_eq!(stdout_of(lineage().args(["tags", &oci(&c, "")])), "v1\n");
}

#[test]
fn a_multi_platform_index_copies_whole() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let f = fixture(&a);
    let out =
        stdout_of(lineage().args(["copy", "--output", "json", &oci(&a, ":list"), &oci(&b, "")]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["digest"], f.index.digest().as_str());
    assert_eq!(v["mediaType"], media_type::OCI_INDEX);
    assert_eq!(
        v["tag"], "list",
        "the source tag is kept when the destination names none"
    );
    assert_eq!(v["manifestsCopied"], 3);
    assert_eq!(v["blobsCopied"], 4);
    let desc: Value = serde_json::from_str(&stdout_of(lineage().args([
        "manifest",
        "--descriptor",
        &oci(&b, ":list"),
    ])))
    .unwrap();
    assert_eq!(desc["digest"], f.index.digest().as_str());
    for entry in f.index.view().unwrap().manifests.iter() {
        let m = lineage()
            .args(["manifest", &oci(&b, &format!("@{}", entry.digest))])
            .output()
            .unwrap();
        assert!(m.status.success());
        assert_eq!(Digest::sha256(&m.stdout), entry.digest);
    }
}

#[test]
fn referrers_are_copied_on_request_and_filtered() {
    let t = tempfile::tempdir().unwrap();
    let (a, none, all, sboms) = (
        t.path().join("a"),
        t.path().join("n"),
        t.path().join("all"),
        t.path().join("s"),
    );
    let f = fixture(&a);
    stdout_of(lineage().args(["copy", &oci(&a, ":v1"), &oci(&none, "")]));
    assert!(referrers(&none, f.image.digest()).is_empty());

    stdout_of(lineage().args([
        "copy",
        "--referrers",
        &oci(&a, ":v1"),
        &archive(&t.path().join("r.tar"), ""),
    ]));
    stdout_of(lineage().args([
        "copy",
        "-r",
        &archive(&t.path().join("r.tar"), ":v1"),
        &oci(&all, ""),
    ]));
    let mut got = referrers(&all, f.image.digest());
    got.sort();
    let mut want = vec![f.sbom.digest().clone(), f.sig.digest().clone()];
    want.sort();
    assert_eq!(got, want);

    stdout_of(lineage().args([
        "copy",
        "-r",
        "--include-type",
        "application/spdx+json",
        &oci(&a, ":v1"),
        &oci(&sboms, ""),
    ]));
    assert_eq!(
        referrers(&sboms, f.image.digest()),
        vec![f.sbom.digest().clone()]
    );
}

/// Runs a failing command; returns its stderr after the common checks.
fn fails(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_input_gets_a_clear_error_and_a_non_zero_exit() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let f = fixture(&a);
    let dst = oci(&t.path().join("dst"), ":v1");

    let e = fails(lineage().args(["copy", "oci:", &dst]), 2);
    assert!(e.contains("invalid reference `oci:`"), "{e}");
    let e = fails(lineage().args(["copy", "oci:x:-bad", &dst]), 2);
    assert!(e.contains("-bad"), "{e}");

    let missing = t.path().join("missing");
    let e = fails(lineage().args(["copy", &oci(&missing, ":v1"), &dst]), 1);
    assert!(
        e.contains(&missing.display().to_string()) && e.contains("does not exist"),
        "{e}"
    );

    let e = fails(lineage().args(["copy", &oci(&a, ":nope"), &dst]), 1);
    assert!(e.contains("`nope` not found"), "{e}");

    // A corrupted layer: the error names the digest, and nothing lands at the destination.
    let corrupt = t.path().join("corrupt");
    stdout_of(lineage().args(["copy", &oci(&a, ":v1"), &oci(&corrupt, ":v1")]));
    let layer = &f.image.view().unwrap().layers[0].digest;
    let path = corrupt.join("blobs/sha256").join(layer.encoded());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    let out = t.path().join("out");
    let e = fails(
        lineage().args(["copy", &oci(&corrupt, ":v1"), &oci(&out, ":v1")]),
        1,
    );
    assert!(
        e.contains(&format!("cannot read blob {layer}")) && e.contains("digest mismatch"),
        "{e}"
    );
    assert!(
        !out.exists(),
        "a failed copy leaves no new destination behind"
    );

    // A truncated archive names the file.
    let tar = t.path().join("img.tar");
    stdout_of(lineage().args(["copy", &oci(&a, ":v1"), &archive(&tar, ":v1")]));
    let whole = std::fs::read(&tar).unwrap();
    std::fs::write(&tar, &whole[..whole.len() / 2]).unwrap();
    let e = fails(lineage().args(["copy", &archive(&tar, ":v1"), &dst]), 1);
    assert!(e.contains("img.tar") && e.contains("truncated"), "{e}");

    // An index.json that is not JSON names the file and position.
    std::fs::write(a.join("index.json"), b"{\"manifests\": [").unwrap();
    let e = fails(lineage().args(["copy", &oci(&a, ":v1"), &dst]), 1);
    assert!(
        e.contains("index.json is not valid JSON") && e.contains("line 1"),
        "{e}"
    );
}

#[test]
fn help_shows_examples() {
    let out = stdout_of(lineage().args(["copy", "--help"]));
    assert!(
        out.contains("Examples:") && out.contains("--referrers"),
        "{out}"
    );
    let usage = lineage().args(["copy"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
