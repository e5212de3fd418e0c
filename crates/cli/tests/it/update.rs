//! `lineage update` (issue 8) against `lineage serve`: the fixture tree under
//! `tests/fixtures/update/input` (Dockerfile with `ARG` and stages, compose, Deployment, Helm
//! values, kustomization, workflow) pins revisions of one lineage; the end-of-life ones, and
//! only those, move to the successor, byte for byte as `tests/fixtures/update/expected` says,
//! and a second run changes nothing.
//!
//! The fixtures write `{{HOST}}` for the registry and `{{EOL_DIGEST}}`/`{{NEW_DIGEST}}` for the
//! digests of `1.0-20230707` (end-of-life since 2023-07-10T08:00:00Z) and `1.0-20230710` (its
//! successor); the test substitutes them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::serve::Serve;
use crate::support::{Scratch, assert_same_bytes, lineage_ok, lineage_run};
use serde_json::{Value, json};

/// The scenario in `repo`: the digests of `1.0-20230707` (end-of-life) and of its successor
/// `1.0-20230710`.
fn scenario(s: &Scratch, repo: &str) -> (String, String) {
    let sc = crate::support::scenario::scenario(s, repo);
    (sc.eol_digest, sc.successor_digest)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/update")
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The fixture tree `name` with the placeholders filled in.
fn tree(name: &str, fill: &dyn Fn(&str) -> String) -> BTreeMap<String, Vec<u8>> {
    files(&fixtures().join(name))
        .into_iter()
        .map(|(p, b)| (p, fill(&String::from_utf8(b).unwrap()).into_bytes()))
        .collect()
}

fn write_tree(dir: &Path, tree: &BTreeMap<String, Vec<u8>>) {
    for (p, b) in tree {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b).unwrap();
    }
}

#[track_caller]
fn assert_tree(dir: &Path, want: &BTreeMap<String, Vec<u8>>, when: &str) {
    let got = files(dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{when}: the files"
    );
    for (p, b) in want {
        assert_same_bytes(&got[p], b, &format!("{when}: {p}"));
    }
}

#[test]
fn update_moves_exactly_the_end_of_life_references() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = format!("{}/flasksample", server.host);
    let (eol, new) = scenario(&s, &repo);
    let fill = |t: &str| {
        t.replace("{{HOST}}", &server.host)
            .replace("{{EOL_DIGEST}}", &eol)
            .replace("{{NEW_DIGEST}}", &new)
    };
    let input = tree("input", &fill);
    let expected = tree("expected", &fill);
    let dir = s.join("tree");
    write_tree(&dir, &input);

    // The default prints a diff and writes nothing.
    let run = lineage_ok(s.path(), &["update", "tree"]);
    assert_tree(&dir, &input, "after the diff");
    let diff = String::from_utf8(run.stdout.clone()).unwrap();
    let differing: Vec<&String> = input.keys().filter(|p| input[*p] != expected[*p]).collect();
    assert_eq!(differing.len(), 6, "{differing:?}");
    for (p, before) in &input {
        let header = format!("--- a/tree/{p}\n+++ b/tree/{p}\n");
        assert_eq!(
            diff.contains(&header),
            *before != expected[p],
            "{p} in the diff:\n{diff}"
        );
    }
    // Each changed line shows once as removed (the input's) and once as added (expected).
    let removed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let added: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(removed.len(), 13, "{diff}");
    assert_eq!(added.len(), 13, "{diff}");
    let all = |t: &BTreeMap<String, Vec<u8>>| {
        t.values()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (all_in, all_out) = (all(&input), all(&expected));
    for l in &removed {
        assert!(all_in.contains(&l[1..]), "{l}");
    }
    for l in &added {
        assert!(all_out.contains(&l[1..]), "{l}");
        assert!(!l.contains("1.0-20230707") && !l.contains(&eol), "{l}");
    }
    assert!(
        run.stderr.contains("13 references to update in 6 files"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "tree/Dockerfile:5: {repo}:1.0-20230707 → {repo}:1.0-20230710 (end-of-life since 2023-07-10T08:00:00Z)"
        )),
        "{}",
        run.stderr
    );
    // The unknown images are named in warnings, not failures.
    assert!(
        run.stderr
            .contains("tree/docker-compose.yml:14: cannot look up"),
        "{}",
        run.stderr
    );

    // Before the end-of-life, nothing moves.
    let early = lineage_ok(s.path(), &["update", "tree", "--at", "2023-07-09"]);
    assert!(early.stdout.is_empty(), "{}", early.stdout_text());

    // --renovate names the same move.
    let r = lineage_ok(s.path(), &["update", "tree", "--renovate"]);
    let config: Value = serde_json::from_slice(&r.stdout).unwrap();
    let rules = config["packageRules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{config:#}");
    assert_eq!(rules[0]["matchDatasources"], json!(["docker"]));
    assert_eq!(rules[0]["matchPackageNames"], json!([repo]));
    assert_eq!(rules[0]["matchCurrentValue"], "1.0-20230707");
    assert_eq!(rules[0]["replacementName"], repo.as_str());
    assert_eq!(rules[0]["replacementVersion"], "1.0-20230710");
    // The digest-only pins have no Renovate rule, and say so.
    assert!(r.stderr.contains("pinned by digest alone"), "{}", r.stderr);
    assert_tree(&dir, &input, "after --renovate");

    // --write edits in place: byte for byte the expected tree.
    let w = lineage_ok(s.path(), &["update", "tree", "--write"]);
    assert!(w.stdout.is_empty());
    assert!(
        w.stderr.contains("updated 13 references in 6 files"),
        "{}",
        w.stderr
    );
    assert_tree(&dir, &expected, "after --write");

    // A second run changes nothing.
    let again = lineage_ok(s.path(), &["update", "tree"]);
    assert!(again.stdout.is_empty(), "{}", again.stdout_text());
    assert!(
        again.stderr.contains("nothing to update"),
        "{}",
        again.stderr
    );
    lineage_ok(s.path(), &["update", "tree", "--write"]);
    assert_tree(&dir, &expected, "after a second --write");

    // Files named one by one, and from inside the tree, read the same.
    let one = lineage_ok(
        &dir,
        &["update", "Dockerfile", "chart/values.yaml", "--renovate"],
    );
    let config: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(config, json!({"packageRules": []}));
}

#[test]
fn bad_paths_are_errors() {
    let s = Scratch::new();
    lineage_run(s.path(), &["update", "missing"]).fails_naming("`missing`");
    fs::write(s.join("notes.txt"), "FROM a:1\n").unwrap();
    let r = lineage_run(s.path(), &["update", "notes.txt"]);
    assert_eq!(r.code, Some(2));
    r.fails_naming("`notes.txt`");
    // A tree without references needs no registry.
    fs::write(s.join("Dockerfile"), "FROM scratch\n").unwrap();
    let r = lineage_ok(s.path(), &["update"]);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("nothing to update: 0 image references in 1 file checked"),
        "{}",
        r.stderr
    );
}

/// Issue 21: what `lineage update` reads but does not edit — an image in a YAML flow
/// collection, a Helm `repo:` + `tag:` map, a templated value, a kustomize digest that is not
/// full, an invalid `COPY --from` — is warned about per reference, with its file and line.
#[test]
fn what_update_does_not_edit_is_warned_per_reference() {
    let s = Scratch::new();
    let dir = s.join("tree");
    let notes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/update-notes");
    write_tree(&dir, &files(&notes));
    let r = lineage_ok(s.path(), &["update", "tree"]);
    assert!(r.stdout.is_empty(), "{}", r.stdout_text());
    let mut warned: Vec<&str> = r.stderr.lines().filter(|l| l.contains("tree/")).collect();
    warned.sort_unstable();
    insta::assert_snapshot!(warned.join("\n"));
}

/// A file two revisions behind moves to the newest revision, not to the successor its record
/// names (retired since), and a second run changes nothing; before the second revision was
/// retired, the first moves to it.
#[test]
fn a_file_two_revisions_behind_moves_to_the_newest() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = format!("{}/chain", server.host);
    let digests = crate::support::scenario::release_chain(&s, &repo);
    let dockerfile = format!(
        "FROM {repo}:1.0-20230701 AS build\nFROM {repo}@{}\nFROM {repo}:1.0-20230710\n",
        digests[0]
    );
    let dir = s.join("tree");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("Dockerfile"), &dockerfile).unwrap();

    let early = lineage_ok(s.path(), &["update", "tree", "--at", "2023-07-15"]);
    let diff = early.stdout_text();
    assert!(
        diff.contains(&format!("+FROM {repo}:1.0-20230710 AS build")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("+FROM {repo}@{}", digests[1])),
        "{diff}"
    );

    lineage_ok(s.path(), &["update", "tree", "--write"]);
    let want = format!(
        "FROM {repo}:1.0-20230720 AS build\nFROM {repo}@{}\nFROM {repo}:1.0-20230720\n",
        digests[2]
    );
    assert_eq!(fs::read_to_string(dir.join("Dockerfile")).unwrap(), want);
    let again = lineage_ok(s.path(), &["update", "tree"]);
    assert!(again.stdout.is_empty(), "{}", again.stdout_text());

    // The audit names the same image to move to.
    fs::write(s.join("images.txt"), format!("{repo}:1.0-20230701\n")).unwrap();
    let audit = lineage_ok(s.path(), &["audit", "images.txt", "--output", "json"]);
    let rows: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert!(
        rows.to_string().contains(&format!("{repo}:1.0-20230720")),
        "{rows:#}"
    );
}
