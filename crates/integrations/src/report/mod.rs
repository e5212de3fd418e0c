//! Vulnerability reports enriched with the scanned image's lifecycle (issue 8): a Trivy JSON
//! report (SchemaVersion 2) or a Grype JSON report in, the same report with a `lifecycle`
//! section, a SARIF 2.1.0 log, or a short markdown summary out.
//!
//! The flow, as `lineage report enrich` runs it:
//! 1. [`Report::parse`] reads the report, tells Trivy from Grype, and finds the scanned image:
//!    its name as the user gave it (Trivy `ArtifactName`, Grype `source.target.userInput`) and
//!    the references to look up, best first ([`ScannedImage::candidates`]): a repo digest
//!    (`repo@sha256:…`, Trivy `Metadata.RepoDigests`, Grype `source.target.repoDigests`), then
//!    the platform manifest digest (Grype `manifestDigest`), and only when the report has no
//!    digest, the reference as scanned. The config digest (`ImageID`) is never used: no
//!    referrer hangs off it (research/consumers.md §2.3).
//! 2. The caller looks the candidates up in order (stopping at the first with lifecycle
//!    data) and hands the results to [`Lifecycle::decide`]. When the status names a successor
//!    by reference only, [`Lifecycle::successor_to_resolve`] says what to look up for its
//!    digest.
//! 3. One of [`Report::enriched`] (JSON), [`sarif`] or [`markdown`] writes the output.
//!
//! **The scanner's report is kept byte for byte.** serde_json here is built without
//! `preserve_order` (turning it on would change key order for every crate in the workspace,
//! including the deterministic manifests of DESIGN §2.1), and a parse/serialise round trip
//! would also respell numbers and escapes. So the JSON output splices the `lifecycle` member
//! into the raw text, just before the top-level object's closing brace, in the report's own
//! indentation; everything else is the input, unchanged ([`splice`]). A report that already
//! has a `lifecycle` member (enriched before) has that member's value replaced in place.

mod lifecycle;
mod markdown;
mod sarif;
mod scanner;
pub mod splice;

pub use lifecycle::{Lifecycle, SuccessorRef};
pub use markdown::markdown;
pub use sarif::{SARIF_SCHEMA, SARIF_VERSION, sarif};
pub use scanner::{Candidate, Finding, MatchedBy, ScannedImage, Scanner, Severity};

use serde_json::Value;

/// The name of the member [`Report::enriched`] adds to the report.
pub const LIFECYCLE_KEY: &str = "lifecycle";

/// Why a report cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The bytes are not UTF-8, so not JSON.
    #[error("not JSON: invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The text is not JSON.
    #[error("not JSON: {message} at line {line} column {column}")]
    Json {
        /// What the parser says, without the position.
        message: String,
        /// The line (1-based).
        line: usize,
        /// The column (1-based).
        column: usize,
    },
    /// The JSON is not an object.
    #[error(
        "neither a Trivy nor a Grype JSON report: the top level is {found}, not an object{hint}"
    )]
    NotAnObject {
        /// What the top level is (`an array`, `a string`…).
        found: &'static str,
        /// A note for a top-level array: Trivy before SchemaVersion 2 wrote one.
        hint: &'static str,
    },
    /// Neither scanner's shape.
    #[error(
        "neither a Trivy (SchemaVersion 2) nor a Grype JSON report: it has no `SchemaVersion` and no `matches` with a `source`"
    )]
    UnknownFormat,
    /// `--format` named one scanner, the report is not its.
    #[error("not a {expected} JSON report: {why}")]
    NotThe {
        /// The scanner named.
        expected: Scanner,
        /// What is missing.
        why: String,
    },
    /// A Trivy report of another schema version.
    #[error(
        "Trivy report of SchemaVersion {0}: lineage reads SchemaVersion 2 (`trivy image --format json`, Trivy 0.20 and later)"
    )]
    TrivySchema(String),
    /// The section could not be added to the text (not expected: the text parsed as an
    /// object).
    #[error("cannot add the `lifecycle` section to the report's text")]
    Splice,
}

/// A scanner's report, as read: its exact text, which scanner wrote it, the scanned image
/// and the vulnerabilities found.
#[derive(Debug, Clone)]
pub struct Report {
    text: String,
    scanner: Scanner,
    tool_version: Option<String>,
    image: ScannedImage,
    findings: Vec<Finding>,
}

impl Report {
    /// Read `bytes` as a report of `expected` (`None`: tell from the content: a Trivy report
    /// has `SchemaVersion`, a Grype report `matches` and `source`).
    ///
    /// Only the shape that identifies the scanner is required; every other field is read
    /// leniently (absent or of another type is the same as empty), since scanners omit empty
    /// fields and their schemas grow.
    pub fn parse(bytes: Vec<u8>, expected: Option<Scanner>) -> Result<Report, ReportError> {
        let text = String::from_utf8(bytes).map_err(|e| ReportError::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })?;
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let value: Value = serde_json::from_str(body).map_err(json_error)?;
        let Value::Object(top) = &value else {
            return Err(ReportError::NotAnObject {
                found: kind(&value),
                hint: if value.is_array() {
                    " (Trivy before 0.20 wrote an array; rescan with a current Trivy)"
                } else {
                    ""
                },
            });
        };
        let scanner = match expected {
            Some(s) => s,
            None => Scanner::detect(top).ok_or(ReportError::UnknownFormat)?,
        };
        scanner.check(top)?;
        let read = scanner.read(&value);
        Ok(Report {
            text,
            scanner,
            tool_version: read.tool_version,
            image: read.image,
            findings: read.findings,
        })
    }

    /// The report's text, exactly as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The scanner that wrote it.
    pub fn scanner(&self) -> Scanner {
        self.scanner
    }

    /// The scanner's version, when the report says (Trivy `Trivy.Version`, Grype
    /// `descriptor.version`).
    pub fn tool_version(&self) -> Option<&str> {
        self.tool_version.as_deref()
    }

    /// The scanned image.
    pub fn image(&self) -> &ScannedImage {
        &self.image
    }

    /// The vulnerabilities found, in report order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The report with `lifecycle` as its top-level [`LIFECYCLE_KEY`] member: the input
    /// text with the member spliced in (see the module documentation), nothing else changed.
    pub fn enriched(&self, lifecycle: &Lifecycle) -> Result<String, ReportError> {
        splice::set_member(&self.text, LIFECYCLE_KEY, lifecycle).ok_or(ReportError::Splice)
    }
}

fn json_error(e: serde_json::Error) -> ReportError {
    ReportError::Json {
        message: crate::json_message(&e),
        line: e.line(),
        column: e.column(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small Trivy report, compact, of `image` with the repo digest `repo_digest`.
    pub(crate) fn trivy(image: &str, repo_digest: &str) -> String {
        format!(
            r#"{{"SchemaVersion":2,"Trivy":{{"Version":"0.58.1"}},"ArtifactName":"{image}","ArtifactType":"container_image","Metadata":{{"ImageID":"sha256:{config}","RepoTags":["{image}"],"RepoDigests":["{repo_digest}"]}},"Results":[{{"Target":"{image} (debian 12.1)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[{{"VulnerabilityID":"CVE-2023-4911","PkgName":"libc6","InstalledVersion":"2.36-9+deb12u1","FixedVersion":"2.36-9+deb12u3","Severity":"HIGH","Title":"glibc: buffer overflow in ld.so","PrimaryURL":"https://avd.aquasec.com/nvd/cve-2023-4911","CVSS":{{"nvd":{{"V3Score":7.80}}}}}}]}}]}}"#,
            config = "9".repeat(64)
        )
    }

    /// The Trivy report of the scenario's end-of-life image, `1.0-20230707`.
    pub(crate) fn eol_report() -> Report {
        let digest = format!(
            "127.0.0.1:5000/flasksample@{}",
            lineage_oci::Digest::sha256(b"old")
        );
        Report::parse(
            trivy("127.0.0.1:5000/flasksample:1.0-20230707", &digest).into_bytes(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn parse_detects_and_checks_the_scanner() {
        let digest = format!("ghcr.io/acme/api@sha256:{}", "a".repeat(64));
        let t = trivy("ghcr.io/acme/api:1.2", &digest);
        let r = Report::parse(t.clone().into_bytes(), None).unwrap();
        assert_eq!(r.scanner(), Scanner::Trivy);
        assert_eq!(r.tool_version(), Some("0.58.1"));
        assert_eq!(r.text(), t);
        assert_eq!(r.findings().len(), 1);
        assert!(Report::parse(t.clone().into_bytes(), Some(Scanner::Trivy)).is_ok());
        let e = Report::parse(t.into_bytes(), Some(Scanner::Grype)).unwrap_err();
        assert!(e.to_string().starts_with("not a Grype JSON report"), "{e}");

        let g = br#"{"matches":[],"source":{"type":"image","target":{}},"descriptor":{"name":"grype"}}"#;
        let r = Report::parse(g.to_vec(), None).unwrap();
        assert_eq!(r.scanner(), Scanner::Grype);
        let e = Report::parse(g.to_vec(), Some(Scanner::Trivy)).unwrap_err();
        assert!(e.to_string().contains("no `SchemaVersion`"), "{e}");
    }

    #[test]
    fn bad_input_errors_say_what_is_wrong() {
        let e = Report::parse(b"{\n  \"a\": 1,\n  oops\n}".to_vec(), None).unwrap_err();
        match &e {
            ReportError::Json { line, column, .. } => assert_eq!((*line, *column), (3, 3)),
            other => panic!("{other:?}"),
        }
        assert!(
            e.to_string().starts_with("not JSON: ") && e.to_string().ends_with("line 3 column 3"),
            "{e}"
        );
        let e = Report::parse(b"[]".to_vec(), None).unwrap_err();
        assert!(e.to_string().contains("an array"), "{e}");
        assert!(e.to_string().contains("Trivy before 0.20"), "{e}");
        let e = Report::parse(br#"{"bomFormat":"CycloneDX"}"#.to_vec(), None).unwrap_err();
        assert!(matches!(e, ReportError::UnknownFormat), "{e}");
        let e = Report::parse(vec![b'{', 0xff, b'}'], None).unwrap_err();
        assert_eq!(e.to_string(), "not JSON: invalid UTF-8 at byte 1");
        let e = Report::parse(br#"{"SchemaVersion":1}"#.to_vec(), None).unwrap_err();
        assert!(e.to_string().contains("SchemaVersion 1"), "{e}");
        let e = Report::parse(Vec::new(), None).unwrap_err();
        assert!(e.to_string().starts_with("not JSON: EOF"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_read_and_kept() {
        let digest = format!("ghcr.io/acme/api@sha256:{}", "a".repeat(64));
        let t = format!("\u{feff}{}", trivy("ghcr.io/acme/api:1.2", &digest));
        let r = Report::parse(t.clone().into_bytes(), None).unwrap();
        assert_eq!(r.text(), t);
        let at = chrono::DateTime::UNIX_EPOCH;
        let out = r
            .enriched(&Lifecycle::decide(r.image(), &Default::default(), at))
            .unwrap();
        assert!(out.starts_with('\u{feff}'));
    }
}
