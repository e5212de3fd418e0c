//! The original write-up's scenario in a registry: two revisions of `flasksample` version
//! 1.0 released one after the other, so the first is end-of-life and the second replaces it.
//! The tests of everything that reads lifecycle (policy, reports, updater, audit) start here.

use std::path::Path;

pub use crate::images::build_images;
use crate::{Scratch, lineage_ok};

/// Two small images without a `created` annotation (so `--created` decides), tagged `rev1`
/// and `rev2` in the layout `dir`.
pub fn build_revisions(dir: &Path) {
    build_images(dir, &["rev1", "rev2"]);
}

/// Three revisions of version 1.0 released into `repo` one after the other with `lineage
/// release`, created 2023-07-01, -10 and -20: `1.0-20230701` is end-of-life since 2023-07-10
/// naming `1.0-20230710` as its successor, which is end-of-life since 2023-07-20 naming
/// `1.0-20230720`. Returns the three digests, oldest first.
pub fn release_chain(s: &Scratch, repo: &str) -> Vec<String> {
    let builds = s.join("chain-builds");
    build_images(&builds, &["r1", "r2", "r3"]);
    [
        ("r1", "2023-07-01T00:00:00Z"),
        ("r2", "2023-07-10T00:00:00Z"),
        ("r3", "2023-07-20T00:00:00Z"),
    ]
    .into_iter()
    .map(|(tag, created)| {
        let src = format!("oci:{}:{tag}", builds.display());
        let args = [
            "release",
            &src,
            repo,
            "--version",
            "1.0",
            "--created",
            created,
        ];
        let digest = lineage_ok(s.path(), &args).stdout_text();
        assert!(digest.starts_with("sha256:"), "release {tag}: {digest}");
        digest
    })
    .collect()
}

/// The references of the scenario in one repository.
pub struct Scenario {
    /// `HOST/REPO:1.0-20230707`: end-of-life since 2023-07-10T08:00:00Z.
    pub eol: String,
    /// `HOST/REPO@sha256:…`, the same image by digest.
    pub eol_by_digest: String,
    /// `HOST/REPO:1.0`: the current revision, supported.
    pub current: String,
    /// `HOST/REPO:1.0-20230710`: the successor of `eol`.
    pub successor: String,
    /// The digest of `eol`.
    pub eol_digest: String,
    /// The digest of `successor` (and of `current`).
    pub successor_digest: String,
    /// What the second `lineage release` printed (the digest it released).
    pub released: String,
}

/// Release two revisions of version 1.0 into `repo` (`HOST/REPO`) with `lineage release`:
/// `1.0-20230707` is end-of-life since 2023-07-10T08:00:00Z, replaced by `1.0-20230710`,
/// which `1.0` names.
pub fn scenario(s: &Scratch, repo: &str) -> Scenario {
    let builds = s.join("builds");
    build_revisions(&builds);
    let src = |t: &str| format!("oci:{}:{t}", builds.display());
    lineage_ok(
        s.path(),
        &[
            "release",
            &src("rev1"),
            repo,
            "--version",
            "1.0",
            "--revision",
            "20230707",
            "--created",
            "2023-07-07T00:00:00-08:00",
        ],
    );
    let released = lineage_ok(
        s.path(),
        &[
            "release",
            &src("rev2"),
            repo,
            "--version",
            "1.0",
            "--created",
            "2023-07-10T00:00:00-08:00",
        ],
    )
    .stdout_text();
    let resolve = |r: &str| {
        let digest = lineage_ok(s.path(), &["resolve", r]).stdout_text();
        assert!(digest.starts_with("sha256:"), "{r}: {digest}");
        digest
    };
    let eol = format!("{repo}:1.0-20230707");
    let successor = format!("{repo}:1.0-20230710");
    let eol_digest = resolve(&eol);
    Scenario {
        eol_by_digest: format!("{repo}@{eol_digest}"),
        successor_digest: resolve(&successor),
        eol_digest,
        eol,
        current: format!("{repo}:1.0"),
        successor,
        released,
    }
}
