//! `lineage audit [FILE|-]`: a fleet view, one row per distinct image in use.
//!
//! The input (a file, or stdin for `-`) is read and grouped by
//! [`lineage_integrations::audit`], every distinct image is looked up once through the
//! lifecycle engine's batch lookup (at most three registry requests each, concurrently), and
//! the rows are printed worst first. A failed lookup is a row in state `unknown` with its
//! error, not a failure of the command. Input that cannot be read fails with exit status 1,
//! naming the file (and the line, for a list); `--fail-on STATE` exits 3 when any image is in
//! that state or past it.

use std::io::{IsTerminal as _, Read as _};

use anyhow::Context as _;
use lineage_integrations::audit;
use lineage_lifecycle::Namespace;

use crate::args::{AuditArgs, AuditOutput};
use crate::error::{Exit, exit_code};
use crate::open::Opener;
use crate::output::Printer;

/// The input's text and the name to show for it.
fn input(printer: Printer, path: &str) -> anyhow::Result<(String, String)> {
    if path == "-" {
        if std::io::stdin().is_terminal() {
            printer.message(format_args!(
                "Reading images from standard input (end with Ctrl-D)…"
            ));
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the images from standard input")?;
        Ok((text, "standard input".to_string()))
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the images from `{path}`"))?;
        Ok((text, format!("`{path}`")))
    }
}

/// A fleet view of the images in use.
pub async fn run(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: AuditArgs,
) -> anyhow::Result<()> {
    let at = a.at.unwrap_or_else(lineage_oci::time::now);
    let (text, name) = input(printer, &a.input)?;
    let images = audit::images(&text)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("cannot read the images from {name}"))?;

    let references: Vec<String> = images.iter().map(|i| i.reference.clone()).collect();
    let looked = if references.is_empty() {
        Default::default()
    } else {
        opener.statuses(namespace, &references, at).await?
    };
    let rows = audit::rows(images, &looked);

    match a.output {
        AuditOutput::Table => out!("{}", audit::table(&rows))?,
        AuditOutput::Markdown => out!("{}", audit::markdown(&rows))?,
        AuditOutput::Json => outln!("{}", audit::json(&rows))?,
    }
    for row in &rows {
        // The lookup's message names the reference already.
        if let Some(e) = &row.error {
            printer.warning(format_args!("{e}"));
        }
        for w in &row.warnings {
            printer.warning(format_args!(
                "{}: {}",
                row.image,
                serde_json::to_string(w).unwrap_or_default()
            ));
        }
    }
    note!(printer, "{}", audit::summary(&rows));

    if let Some(limit) = a.fail_on
        && audit::fails(&rows, limit)
    {
        return Err(Exit(exit_code::POLICY).into());
    }
    Ok(())
}
