//! `lineage report enrich REPORT`: a Trivy or Grype JSON report with the scanned image's
//! lifecycle (`lineage_integrations::report` holds the logic; this reads, looks up, writes).

use std::collections::HashMap;
use std::io::Read as _;

use anyhow::Context as _;
use chrono::Utc;
use lineage_integrations::report::{Lifecycle, Report, Scanner, markdown, sarif};
use lineage_lifecycle::{Namespace, State};

use crate::args::{EnrichArgs, EnrichOutput, ReportFormat};
use crate::open::Opener;
use crate::output::Printer;

/// Enrich a scanner's report with the scanned image's lifecycle.
///
/// The image is looked up by the report's repo digest, then (Grype) its platform manifest
/// digest, stopping at the first with lifecycle data: at most two lookups, plus one for the
/// successor's digest when only its reference is recorded. An image lineage cannot find is
/// no error: the report is written with `lifecycle.state` `unknown` and the reason in
/// `lifecycle.error`.
pub async fn enrich(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: EnrichArgs,
) -> anyhow::Result<()> {
    let at = a.at.unwrap_or_else(lineage_oci::time::now);
    let name = if a.report == "-" {
        "standard input".to_string()
    } else {
        format!("`{}`", a.report)
    };
    let bytes = read(&a.report)
        .await
        .with_context(|| format!("cannot read the report {name}"))?;
    let expected = match a.format {
        ReportFormat::Auto => None,
        ReportFormat::Trivy => Some(Scanner::Trivy),
        ReportFormat::Grype => Some(Scanner::Grype),
    };
    let report = Report::parse(bytes, expected)
        .with_context(|| format!("cannot enrich the report {name}"))?;

    let mut looked = HashMap::new();
    for c in &report.image().candidates {
        tracing::debug!(reference = %c.reference, matched_by = ?c.matched_by, "looking up the scanned image");
        let result = lookup(opener, namespace, &c.reference, at).await?;
        let known = matches!(&result, Ok(s) if s.state != State::Unknown);
        looked.insert(c.reference.clone(), result);
        if known {
            break;
        }
    }
    let mut section = Lifecycle::decide(report.image(), &looked, at);
    if let Some(successor) = section.successor_to_resolve().map(str::to_string) {
        let result = lookup(opener, namespace, &successor, at).await?;
        section.resolve_successor(&result);
    }
    if let Some(e) = &section.error {
        printer.warning(format_args!(
            "the lifecycle of the scanned image is unknown: {e}"
        ));
    }

    let out = match a.output {
        EnrichOutput::Json => report
            .enriched(&section)
            .with_context(|| format!("cannot enrich the report {name}"))?,
        EnrichOutput::Sarif => {
            let mut s = serde_json::to_string_pretty(&sarif(&report, &section))?;
            s.push('\n');
            s
        }
        EnrichOutput::Markdown => markdown(&report, &section),
    };
    out!("{out}")?;
    Ok(())
}

/// The report's bytes: the file, or stdin for `-`.
async fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    if path == "-" {
        return tokio::task::spawn_blocking(|| {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
        })
        .await?
        .map_err(anyhow::Error::new);
    }
    Ok(tokio::fs::read(path).await?)
}

/// The lookup of one reference; a lookup that fails is a result (`Err` with its error), not
/// an error of the command.
async fn lookup(
    opener: &Opener,
    namespace: &Namespace,
    reference: &str,
    at: chrono::DateTime<Utc>,
) -> anyhow::Result<lineage_integrations::Looked> {
    let mut results = opener
        .statuses(namespace, &[reference.to_string()], at)
        .await?;
    Ok(results.remove(reference).unwrap_or_else(|| {
        Err(lineage_integrations::LookupFailed::NotLookedUp(
            reference.to_string(),
        ))
    }))
}
