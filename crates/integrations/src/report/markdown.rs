//! The report as a short summary for people (a pull-request comment, a job summary): the
//! current image → the recommended image, and why.

use std::fmt::Write as _;

use lineage_lifecycle::State;
use lineage_lifecycle::verdict::words;

use super::scanner::Severity;
use super::{Lifecycle, Report};

/// A few lines of markdown: a heading `current → recommended` (or the state when there is
/// nothing to move to), the two images with their digests, why, the action, and what the
/// scan found in the current image. It does not claim the recommended image fixes anything:
/// it was not scanned.
pub fn markdown(report: &Report, l: &Lifecycle) -> String {
    let name = report
        .image()
        .reference
        .clone()
        .or_else(|| l.looked_up.clone())
        .unwrap_or_else(|| "the scanned image".to_string());
    let digest = |d: Option<String>| d.map(|d| format!(" (`{d}`)")).unwrap_or_default();
    let to = l.move_to();
    let mut out = String::new();

    let facts = l.facts();
    let is_image = report.image().not_an_image.is_none();
    let heading = if is_image {
        facts.heading(&name, to.as_deref())
    } else {
        words::not_an_image_heading(&name)
    };
    let _ = writeln!(out, "## lineage: {heading}\n");
    let _ = writeln!(
        out,
        "- **{}:** `{name}`{}",
        words::scanned_label(is_image),
        digest(l.digest.as_ref().map(|d| d.to_string()))
    );
    match &to {
        Some(to) => {
            let succ =
                words::digest_beside(to, l.successor.as_ref().and_then(|s| s.digest.as_ref()))
                    .map(|d| d.to_string());
            let _ = writeln!(out, "- **Recommended image:** `{to}`{}", digest(succ));
        }
        None if matches!(
            l.state,
            State::EndOfLife | State::Scheduled | State::EndOfSupport
        ) =>
        {
            let _ = writeln!(
                out,
                "- **Recommended image:** {}",
                words::NO_SUCCESSOR_ADVICE
            );
        }
        None => {}
    }
    let why = match (&report.image().problem, is_image) {
        (Some(problem), false) => problem.clone(),
        _ => facts.why(),
    };
    let _ = writeln!(out, "- **Why:** {why}.");
    let action = l
        .action
        .clone()
        .or_else(|| to.as_deref().map(words::action));
    if let Some(a) = action {
        let _ = writeln!(out, "- **Action:** {a}.");
    }
    let _ = writeln!(out, "- **Scan:** {}", scan_line(report));
    let _ = writeln!(
        out,
        "\nChecked at {}.",
        lineage_oci::time::format_rfc3339(&l.checked_at)
    );
    out
}

/// What the scanner found, by severity.
fn scan_line(report: &Report) -> String {
    let scanner = match report.tool_version() {
        Some(v) => format!("{} {v}", report.scanner()),
        None => report.scanner().to_string(),
    };
    let findings = report.findings();
    let what = match &report.image().not_an_image {
        None => "the current image".to_string(),
        Some(_) => {
            let name = report.image().reference.as_deref().unwrap_or(".");
            format!("`{name}`")
        }
    };
    if findings.is_empty() {
        return format!("{scanner} found no vulnerabilities in {what}.");
    }
    let counts: Vec<String> = Severity::ALL
        .into_iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    let plural = if findings.len() == 1 { "y" } else { "ies" };
    let tail = if report.image().not_an_image.is_none() {
        "; the recommended image was not part of this scan"
    } else {
        ""
    };
    format!(
        "{scanner} found {} vulnerabilit{plural} in {what} ({}){tail}.",
        findings.len(),
        counts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SuccessorRef;
    use crate::report::tests::eol_report as report;
    use lineage_oci::Digest;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        lineage_oci::time::parse_lenient(s).unwrap()
    }

    #[test]
    fn current_to_recommended_and_why() {
        let r = report();
        let mut l = Lifecycle::decide(r.image(), &Default::default(), at("2024-01-01"));
        l.state = State::EndOfLife;
        l.error = None;
        l.digest = Some(Digest::sha256(b"old"));
        l.end_of_life = Some(at("2023-07-10T08:00:00Z"));
        l.successor = Some(SuccessorRef {
            reference: Some("127.0.0.1:5000/flasksample:1.0-20230710".into()),
            digest: Some(Digest::sha256(b"new")),
        });
        l.action = Some("move to 127.0.0.1:5000/flasksample:1.0-20230710".into());
        let md = markdown(&r, &l);
        assert_eq!(
            md,
            format!(
                "## lineage: `127.0.0.1:5000/flasksample:1.0-20230707` → `127.0.0.1:5000/flasksample:1.0-20230710`

- **Current image:** `127.0.0.1:5000/flasksample:1.0-20230707` (`{}`)
- **Recommended image:** `127.0.0.1:5000/flasksample:1.0-20230710` (`{}`)
- **Why:** the current image is end-of-life since 2023-07-10T08:00:00Z.
- **Action:** move to 127.0.0.1:5000/flasksample:1.0-20230710.
- **Scan:** Trivy 0.58.1 found 1 vulnerability in the current image (1 high); the recommended image was not part of this scan.

Checked at 2024-01-01T00:00:00Z.
",
                Digest::sha256(b"old"),
                Digest::sha256(b"new")
            )
        );
    }

    #[test]
    fn unknown_and_without_successor() {
        let r = report();
        let l = Lifecycle::decide(r.image(), &Default::default(), at("2024-01-01"));
        let md = markdown(&r, &l);
        assert!(
            md.starts_with(
                "## lineage: the lifecycle of `127.0.0.1:5000/flasksample:1.0-20230707` is unknown\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("- **Why:** lineage could not look the image up: "),
            "{md}"
        );
        assert!(!md.contains("Recommended"), "{md}");
        assert!(!md.contains("Action"), "{md}");

        let mut l = l;
        l.state = State::EndOfLife;
        l.error = None;
        let md = markdown(&r, &l);
        assert!(
            md.starts_with(
                "## lineage: `127.0.0.1:5000/flasksample:1.0-20230707` is end-of-life\n"
            ),
            "{md}"
        );
        assert!(md.contains("none recorded"), "{md}");
    }

    /// Issue 21: a report of a lockfile is not of an image: no "Current image", and the
    /// article-free reason.
    #[test]
    fn a_report_not_of_an_image_says_so() {
        let r = Report::parse(
            include_bytes!("../../../cli/tests/fixtures/report/trivy-fs-lockfile.json").to_vec(),
            None,
        )
        .unwrap();
        let l = Lifecycle::decide(r.image(), &Default::default(), at("2024-01-01"));
        insta::assert_snapshot!(markdown(&r, &l), @r"
        ## lineage: `package-lock.json` is not an image

        - **Scanned (not an image):** `package-lock.json`
        - **Why:** the report is not of an image: it is of type `filesystem`.
        - **Scan:** Trivy found 1 vulnerability in `package-lock.json` (1 medium).

        Checked at 2024-01-01T00:00:00Z.
        ");
    }
}
