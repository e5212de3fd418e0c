//! What lineage reads from Trivy and Grype reports: which scanner wrote it, the scanned image
//! and the references to look it up by, and the vulnerabilities (research/consumers.md §2.1,
//! §2.2).

use std::fmt;

use lineage_lifecycle::verdict::words;
use lineage_oci::{Digest, ImageRef, TagOrDigest};
use serde_json::{Map, Value};

use super::ReportError;

/// A scanner whose JSON reports lineage reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scanner {
    /// Trivy, `--format json` (SchemaVersion 2).
    Trivy,
    /// Grype, `-o json`.
    Grype,
}

impl fmt::Display for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scanner::Trivy => "Trivy",
            Scanner::Grype => "Grype",
        })
    }
}

/// What a report says, read.
pub(super) struct Read {
    pub tool_version: Option<String>,
    pub image: ScannedImage,
    pub findings: Vec<Finding>,
}

impl Scanner {
    /// The scanner whose shape `top` has: Trivy has `SchemaVersion`, Grype `matches` and
    /// `source`.
    pub(super) fn detect(top: &Map<String, Value>) -> Option<Scanner> {
        [Scanner::Trivy, Scanner::Grype]
            .into_iter()
            .find(|s| s.check(top).is_ok() || s.claims(top))
    }

    /// Whether `top` has the key that only this scanner writes, even when the rest is wrong
    /// (so a Trivy report of another SchemaVersion gets the SchemaVersion error).
    fn claims(self, top: &Map<String, Value>) -> bool {
        match self {
            Scanner::Trivy => top.contains_key("SchemaVersion"),
            Scanner::Grype => false,
        }
    }

    /// Whether `top` is a report of this scanner, and why not.
    pub(super) fn check(self, top: &Map<String, Value>) -> Result<(), ReportError> {
        let not = |why: &str| ReportError::NotThe {
            expected: self,
            why: why.to_string(),
        };
        match self {
            Scanner::Trivy => match top.get("SchemaVersion") {
                None => Err(not("it has no `SchemaVersion`")),
                Some(v) if v.as_u64() == Some(2) => Ok(()),
                Some(v) => Err(ReportError::TrivySchema(v.to_string())),
            },
            Scanner::Grype => {
                if !top.get("matches").is_some_and(Value::is_array) {
                    Err(not("it has no `matches` array"))
                } else if !top.get("source").is_some_and(Value::is_object) {
                    Err(not("it has no `source` object"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Read the image and the findings of a report already [`Scanner::check`]ed.
    pub(super) fn read(self, top: &Value) -> Read {
        match self {
            Scanner::Trivy => Read {
                tool_version: text(&top["Trivy"]["Version"]),
                image: trivy_image(top),
                findings: trivy_findings(top),
            },
            Scanner::Grype => Read {
                tool_version: text(&top["descriptor"]["version"]),
                image: grype_image(top),
                findings: grype_findings(top),
            },
        }
    }
}

/// How the looked-up reference was found in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchedBy {
    /// A repo digest: the digest the registry served for the scanned reference (an index or
    /// a single manifest).
    RepoDigest,
    /// Grype's `manifestDigest`: the platform manifest that was scanned.
    ManifestDigest,
    /// The scanned reference named a digest itself.
    Digest,
    /// Only the scanned reference's tag: it may point elsewhere now than at scan time.
    Tag,
}

/// A reference to look the scanned image up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The reference, normalised (`registry/repository@sha256:…`, or `…:tag`).
    pub reference: String,
    /// Where it came from.
    pub matched_by: MatchedBy,
}

/// The image a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScannedImage {
    /// The image as the report names it, as the user gave it to the scanner (Trivy
    /// `ArtifactName`, Grype `source.target.userInput`).
    pub reference: Option<String>,
    /// The references to look up, best first; at most two.
    pub candidates: Vec<Candidate>,
    /// Why there is nothing to look up, when [`ScannedImage::candidates`] is empty.
    pub problem: Option<String>,
    /// What the report is of when it is not of a container image (Trivy `ArtifactType`,
    /// Grype `source.type`: `filesystem`, `repository`, `directory`…).
    pub not_an_image: Option<String>,
    /// Whether [`ScannedImage::reference`] is a file path (an image archive, `trivy image
    /// --input app.tar`) rather than an image reference.
    pub reference_is_path: bool,
}

/// The severity of a finding, in the scanners' common vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
    /// Negligible (Grype).
    Negligible,
    /// Not rated.
    Unknown,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];

    /// Read a scanner's severity, in any case (`CRITICAL`, `High`…).
    pub fn parse(s: &str) -> Severity {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .unwrap_or(Severity::Unknown)
    }

    /// The name, lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Negligible => "negligible",
            Severity::Unknown => "unknown",
        }
    }
}

/// One vulnerability the scanner found in one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The vulnerability's id (`CVE-…`, `GHSA-…`).
    pub id: String,
    /// Its severity.
    pub severity: Severity,
    /// The package's name.
    pub package: Option<String>,
    /// The installed version.
    pub installed_version: Option<String>,
    /// The versions that fix it, as the scanner writes them.
    pub fixed_version: Option<String>,
    /// A one-line title.
    pub title: Option<String>,
    /// A page about it.
    pub url: Option<String>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(text).collect())
        .unwrap_or_default()
}

fn trivy_image(top: &Value) -> ScannedImage {
    let reference = text(&top["ArtifactName"]);
    if let Some(kind) = text(&top["ArtifactType"]).filter(|k| k != "container_image") {
        return not_an_image(reference, kind);
    }
    let repo_digests = texts(&top["Metadata"]["RepoDigests"]);
    let tags = texts(&top["Metadata"]["RepoTags"]);
    image(reference, &repo_digests, &tags, None)
}

/// A report of something else than a container image: nothing to look up.
fn not_an_image(reference: Option<String>, kind: String) -> ScannedImage {
    ScannedImage {
        reference,
        candidates: Vec::new(),
        problem: Some(words::not_an_image(&kind)),
        not_an_image: Some(kind),
        reference_is_path: true,
    }
}

/// Whether a scanner's target `input` is a file path rather than an image reference: an
/// archive (`app.tar`, `image.tar.gz`, `oci.tgz`), an absolute or relative path, or a
/// scanner source scheme for files (`docker-archive:`, `oci-archive:`, `oci-dir:`, `dir:`,
/// `file:`). `app.tar` is also a valid repository name, but no registry image is scanned
/// by that spelling: the scanners are given archives by path.
pub(super) fn is_path(input: &str) -> bool {
    const FILE_SCHEMES: [&str; 6] = [
        "docker-archive:",
        "oci-archive:",
        "oci-dir:",
        "dir:",
        "file:",
        "singularity:",
    ];
    const ARCHIVES: [&str; 5] = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"];
    let lower = input.to_ascii_lowercase();
    FILE_SCHEMES.iter().any(|s| lower.starts_with(s))
        || input.starts_with(['/', '.', '~', '\\'])
        || input.contains('\\')
        || input.as_bytes().get(1) == Some(&b':') && input.as_bytes().get(2) == Some(&b'\\')
        || ARCHIVES.iter().any(|a| lower.ends_with(a))
}

fn grype_image(top: &Value) -> ScannedImage {
    let source = &top["source"];
    let target = &source["target"];
    // For a directory or file scan, `target` is a path (a string), not an image.
    let reference = text(&target["userInput"]).or_else(|| text(target));
    if let Some(kind) = text(&source["type"]).filter(|k| k != "image") {
        return not_an_image(reference, kind);
    }
    let repo_digests = texts(&target["repoDigests"]);
    let tags = texts(&target["tags"]);
    let manifest = text(&target["manifestDigest"]);
    image(reference, &repo_digests, &tags, manifest.as_deref())
}

/// The scanners' own prefixes on the image they were given (`registry:`, `docker:`…), for
/// the sources that are registry references.
const REFERENCE_SCHEMES: [&str; 4] = ["registry:", "docker:", "podman:", "containerd:"];

/// `input` as an image reference, without a scanner's source scheme.
pub(super) fn parse_reference(input: &str) -> Option<ImageRef> {
    let bare = REFERENCE_SCHEMES
        .iter()
        .find_map(|s| {
            input
                .strip_prefix(s)
                // `docker:5000/app` is a registry on port 5000, not a scheme.
                .filter(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or(input);
    ImageRef::parse(bare).ok()
}

/// The scanned image: its name, and the references to look up, best first (see the module
/// documentation of [`crate::report`]): repo digests first, then the platform manifest, then
/// the reference the user gave, else (an archive, named by its path) its first repo tag. A
/// path is never looked up as a reference.
fn image(
    reference: Option<String>,
    repo_digests: &[String],
    tags: &[String],
    manifest_digest: Option<&str>,
) -> ScannedImage {
    let reference_is_path = reference.as_deref().is_some_and(is_path);
    let user = reference
        .as_deref()
        .filter(|_| !reference_is_path)
        .and_then(parse_reference)
        .or_else(|| tags.iter().find_map(|t| parse_reference(t)));
    let pinned: Vec<ImageRef> = repo_digests
        .iter()
        .filter_map(|r| parse_reference(r))
        .filter_map(|r| {
            let d = r.digest()?.clone();
            Some(r.with_target(Some(TagOrDigest::Digest(d))))
        })
        .collect();
    // The repo digest of the repository the user scanned, else the first (a local image can
    // carry digests from several repositories).
    let best = user
        .as_ref()
        .and_then(|u| {
            pinned
                .iter()
                .find(|p| p.repository_ref() == u.repository_ref())
        })
        .or_else(|| pinned.first());

    let mut candidates = Vec::new();
    if let Some(b) = best {
        candidates.push(Candidate {
            reference: b.to_string(),
            matched_by: MatchedBy::RepoDigest,
        });
    }
    let manifest = manifest_digest.and_then(|d| d.parse::<Digest>().ok());
    let repository = best.or(user.as_ref());
    if let (Some(d), Some(repo)) = (manifest, repository)
        && best.and_then(ImageRef::digest) != Some(&d)
    {
        candidates.push(Candidate {
            reference: repo
                .clone()
                .with_target(Some(TagOrDigest::Digest(d)))
                .to_string(),
            matched_by: MatchedBy::ManifestDigest,
        });
    }
    if candidates.is_empty()
        && let Some(u) = &user
    {
        candidates.push(Candidate {
            reference: u.to_string(),
            matched_by: if u.digest().is_some() {
                MatchedBy::Digest
            } else {
                MatchedBy::Tag
            },
        });
    }
    let problem = candidates.is_empty().then(|| match &reference {
        Some(r) if reference_is_path => format!(
            "`{r}` is an image archive, and the report has no repo digest or repo tag to look it up by"
        ),
        Some(r) => format!(
            "the report has no repo digest, and `{r}` is not a registry reference to look up"
        ),
        None => "the report names no image: no repo digest and no image reference".to_string(),
    });
    ScannedImage {
        reference,
        candidates,
        problem,
        not_an_image: None,
        reference_is_path,
    }
}

fn trivy_findings(top: &Value) -> Vec<Finding> {
    let results = top["Results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    results
        .iter()
        .flat_map(|r| {
            r["Vulnerabilities"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
        })
        .filter_map(|v| {
            Some(Finding {
                id: text(&v["VulnerabilityID"])?,
                severity: Severity::parse(v["Severity"].as_str().unwrap_or_default()),
                package: text(&v["PkgName"]),
                installed_version: text(&v["InstalledVersion"]),
                fixed_version: text(&v["FixedVersion"]),
                title: text(&v["Title"]),
                url: text(&v["PrimaryURL"]),
            })
        })
        .collect()
}

fn grype_findings(top: &Value) -> Vec<Finding> {
    let matches = top["matches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    matches
        .iter()
        .filter_map(|m| {
            let v = &m["vulnerability"];
            let fixed = texts(&v["fix"]["versions"]);
            Some(Finding {
                id: text(&v["id"])?,
                severity: Severity::parse(v["severity"].as_str().unwrap_or_default()),
                package: text(&m["artifact"]["name"]),
                installed_version: text(&m["artifact"]["version"]),
                fixed_version: (!fixed.is_empty()).then(|| fixed.join(", ")),
                title: text(&v["description"])
                    .map(|d| d.lines().next().unwrap_or_default().to_string()),
                url: text(&v["dataSource"]).or_else(|| texts(&v["urls"]).into_iter().next()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn read(v: Value) -> Read {
        let s = Scanner::detect(v.as_object().unwrap()).unwrap();
        s.check(v.as_object().unwrap()).unwrap();
        s.read(&v)
    }

    fn refs(i: &ScannedImage) -> Vec<(&str, MatchedBy)> {
        i.candidates
            .iter()
            .map(|c| (c.reference.as_str(), c.matched_by))
            .collect()
    }

    #[test]
    fn trivy_uses_the_repo_digest_never_the_image_id() {
        let r = read(json!({
            "SchemaVersion": 2, "ArtifactName": "ghcr.io/acme/api:1.2",
            "ArtifactType": "container_image",
            "Metadata": {"ImageID": d('c'), "RepoDigests": [format!("ghcr.io/acme/api@{}", d('a'))]}
        }));
        assert_eq!(r.image.reference.as_deref(), Some("ghcr.io/acme/api:1.2"));
        let want = format!("ghcr.io/acme/api@{}", d('a'));
        assert_eq!(refs(&r.image), [(want.as_str(), MatchedBy::RepoDigest)]);
        assert!(!format!("{:?}", r.image).contains(&d('c')));
        assert_eq!(r.image.problem, None);
    }

    #[test]
    fn the_repo_digest_of_the_scanned_repository_wins_and_familiar_names_are_normalised() {
        let r = read(json!({
            "SchemaVersion": 2, "ArtifactName": "nginx:1.25",
            "Metadata": {"RepoDigests": [
                format!("mirror.example.com/nginx@{}", d('b')),
                format!("nginx@{}", d('a')),
            ]}
        }));
        let want = format!("docker.io/library/nginx@{}", d('a'));
        assert_eq!(refs(&r.image), [(want.as_str(), MatchedBy::RepoDigest)]);
        // No match: the first.
        let r = read(json!({
            "SchemaVersion": 2, "ArtifactName": "other:1",
            "Metadata": {"RepoDigests": [format!("mirror.example.com/nginx@{}", d('b')), "garbage"]}
        }));
        let want = format!("mirror.example.com/nginx@{}", d('b'));
        assert_eq!(refs(&r.image), [(want.as_str(), MatchedBy::RepoDigest)]);
    }

    #[test]
    fn without_a_repo_digest_the_scanned_reference_is_looked_up() {
        let r = read(json!({"SchemaVersion": 2, "ArtifactName": "localhost:5000/app:1.0"}));
        assert_eq!(refs(&r.image), [("localhost:5000/app:1.0", MatchedBy::Tag)]);
        let pinned = format!("localhost:5000/app@{}", d('e'));
        let r = read(json!({"SchemaVersion": 2, "ArtifactName": pinned}));
        assert_eq!(refs(&r.image), [(pinned.as_str(), MatchedBy::Digest)]);
        // A tarball scan: nothing to look up, and why.
        let r = read(json!({"SchemaVersion": 2, "ArtifactName": "/tmp/Image.tar"}));
        assert!(r.image.candidates.is_empty());
        assert!(
            r.image
                .problem
                .as_deref()
                .unwrap()
                .contains("`/tmp/Image.tar`"),
            "{:?}",
            r.image.problem
        );
    }

    #[test]
    fn trivy_reports_of_other_artifacts_are_not_images() {
        let r = read(
            json!({"SchemaVersion": 2, "ArtifactName": ".", "ArtifactType": "filesystem",
            "Metadata": {"RepoDigests": [format!("a.io/x@{}", d('a'))]}}),
        );
        assert!(r.image.candidates.is_empty());
        assert_eq!(
            r.image.problem.as_deref(),
            Some("the report is not of an image: it is of type `filesystem`")
        );
        assert_eq!(r.image.not_an_image.as_deref(), Some("filesystem"));
    }

    #[test]
    fn grype_uses_the_repo_digest_then_the_platform_manifest() {
        let r = read(
            json!({"matches": [], "source": {"type": "image", "target": {
            "userInput": "registry:ghcr.io/acme/api:1.2", "imageID": d('c'),
            "manifestDigest": d('d'), "repoDigests": [format!("ghcr.io/acme/api@{}", d('b'))]}}}),
        );
        assert_eq!(
            r.image.reference.as_deref(),
            Some("registry:ghcr.io/acme/api:1.2")
        );
        let index = format!("ghcr.io/acme/api@{}", d('b'));
        let platform = format!("ghcr.io/acme/api@{}", d('d'));
        assert_eq!(
            refs(&r.image),
            [
                (index.as_str(), MatchedBy::RepoDigest),
                (platform.as_str(), MatchedBy::ManifestDigest)
            ]
        );
        // The same digest twice is looked up once.
        let r = read(
            json!({"matches": [], "source": {"type": "image", "target": {
            "userInput": "ghcr.io/acme/api:1.2", "manifestDigest": d('b'),
            "repoDigests": [format!("ghcr.io/acme/api@{}", d('b'))]}}}),
        );
        assert_eq!(refs(&r.image), [(index.as_str(), MatchedBy::RepoDigest)]);
        // Only the manifest digest: the repository comes from the user's reference.
        let r = read(
            json!({"matches": [], "source": {"type": "image", "target": {
            "userInput": "docker:5000/acme/api:1.2", "manifestDigest": d('d')}}}),
        );
        let want = format!("docker:5000/acme/api@{}", d('d'));
        assert_eq!(refs(&r.image), [(want.as_str(), MatchedBy::ManifestDigest)]);
    }

    #[test]
    fn grype_directory_scans_are_not_images() {
        let r = read(json!({"matches": [], "source": {"type": "directory", "target": "/src"}}));
        assert_eq!(r.image.reference.as_deref(), Some("/src"));
        assert!(r.image.candidates.is_empty());
        assert!(r.image.problem.unwrap().contains("`directory`"));
    }

    #[test]
    fn findings_of_both_scanners() {
        let r = read(json!({"SchemaVersion": 2, "Results": [
            {"Target": "a", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-1", "PkgName": "libc6", "InstalledVersion": "1",
                 "FixedVersion": "2", "Severity": "CRITICAL", "Title": "t", "PrimaryURL": "https://x/1"},
                {"PkgName": "no id"}]},
            {"Target": "b"},
            {"Target": "c", "Vulnerabilities": [{"VulnerabilityID": "GHSA-2", "Severity": "weird"}]}]}));
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.findings[0].severity, Severity::Critical);
        assert_eq!(r.findings[0].fixed_version.as_deref(), Some("2"));
        assert_eq!(r.findings[1].severity, Severity::Unknown);

        let r = read(json!({"matches": [
            {"vulnerability": {"id": "CVE-3", "severity": "Negligible", "dataSource": "https://y/3",
              "description": "first line\nsecond", "fix": {"versions": ["1.2.1", "1.3.0"], "state": "fixed"}},
             "artifact": {"name": "openssl", "version": "1.1.1"}}],
            "source": {"type": "image", "target": {}}, "descriptor": {"name": "grype", "version": "0.86.1"}}));
        assert_eq!(r.tool_version.as_deref(), Some("0.86.1"));
        let f = &r.findings[0];
        assert_eq!(f.severity, Severity::Negligible);
        assert_eq!(f.fixed_version.as_deref(), Some("1.2.1, 1.3.0"));
        assert_eq!(f.title.as_deref(), Some("first line"));
        assert_eq!(f.url.as_deref(), Some("https://y/3"));
    }

    fn fixture(name: &str) -> Value {
        let text = match name {
            "trivy-input-archive" => {
                include_str!("../../../cli/tests/fixtures/report/trivy-input-archive.json")
            }
            "trivy-input-archive-untagged" => {
                include_str!("../../../cli/tests/fixtures/report/trivy-input-archive-untagged.json")
            }
            "trivy-fs-lockfile" => {
                include_str!("../../../cli/tests/fixtures/report/trivy-fs-lockfile.json")
            }
            "grype-docker-archive" => {
                include_str!("../../../cli/tests/fixtures/report/grype-docker-archive.json")
            }
            "grype-directory" => {
                include_str!("../../../cli/tests/fixtures/report/grype-directory.json")
            }
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(text).unwrap()
    }

    /// Issue 21: `trivy image --input app.tar` names the archive's path in `ArtifactName`;
    /// the image's names are in `Metadata.RepoDigests` (first) and `Metadata.RepoTags`.
    #[test]
    fn trivy_archive_scans_use_the_metadata_never_the_path() {
        let r = read(fixture("trivy-input-archive"));
        assert_eq!(r.image.reference.as_deref(), Some("app.tar"));
        assert!(r.image.reference_is_path);
        assert_eq!(
            refs(&r.image),
            [(
                "ghcr.io/acme/app@sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
                MatchedBy::RepoDigest
            )]
        );
        // Without a repo digest: the repo tag, never `docker.io/library/app.tar:latest`.
        let mut v = fixture("trivy-input-archive");
        v["Metadata"]["RepoDigests"] = json!([]);
        let r = read(v);
        assert_eq!(refs(&r.image), [("ghcr.io/acme/app:1.4.2", MatchedBy::Tag)]);
        // Neither: nothing to look up, and why.
        let r = read(fixture("trivy-input-archive-untagged"));
        assert!(r.image.candidates.is_empty());
        assert_eq!(
            r.image.problem.as_deref(),
            Some(
                "`build/output/image.tar` is an image archive, and the report has no repo digest or repo tag to look it up by"
            )
        );
    }

    /// Issue 21: the same for Grype, whose `userInput` is the archive and whose names are
    /// `tags` and `repoDigests`.
    #[test]
    fn grype_archive_scans_use_the_tags_never_the_path() {
        let r = read(fixture("grype-docker-archive"));
        assert!(r.image.reference_is_path);
        assert_eq!(
            refs(&r.image),
            [(
                "ghcr.io/acme/app@sha256:9cba3ec1cd1d4b7e1d3c2c44e34b0bd0c0a3b3d12c5a4b6f3a7c2b1d0e9f8a7b",
                MatchedBy::ManifestDigest
            )]
        );
        let mut v = fixture("grype-docker-archive");
        v["source"]["target"]["manifestDigest"] = json!(null);
        let r = read(v);
        assert_eq!(refs(&r.image), [("ghcr.io/acme/app:1.4.2", MatchedBy::Tag)]);
    }

    /// Issue 21: reports of a lockfile or a directory are not of an image, said without "a".
    #[test]
    fn lockfile_and_directory_reports_are_not_images() {
        for (name, kind) in [
            ("trivy-fs-lockfile", "filesystem"),
            ("grype-directory", "directory"),
        ] {
            let r = read(fixture(name));
            assert!(r.image.candidates.is_empty(), "{name}");
            assert_eq!(r.image.not_an_image.as_deref(), Some(kind));
            let problem = r.image.problem.unwrap();
            assert!(!problem.contains(" a `"), "{problem}");
        }
        assert!(is_path("dir:."));
        assert!(is_path("C:\\images\\app.tar"));
        assert!(!is_path("ghcr.io/acme/app:1.4.2"));
        assert!(!is_path("localhost:5000/app"));
    }
}
