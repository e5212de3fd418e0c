//! `lineage serve gc`, and the garbage-collection flags of `lineage serve`: their clap
//! arguments and the command. The collection itself is the server's
//! ([`lineage_server::registry::collect_root`]) and the layout store's.

use clap::{Args, Subcommand};
use lineage_server::registry::GcOptions;

use crate::args::value::parse_duration;
use crate::output::Printer;

/// Subcommands of `lineage serve`.
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Collect the garbage of a registry root: blobs no manifest names, upload files
    /// abandoned, and with `--delete-referrers-with-subject` referrers whose subject is gone.
    ///
    /// Safe while a server runs on the root (pushes and the sweep serialise on each
    /// repository's lock); removing referrers needs the server stopped, or its own
    /// `--gc-interval`. Prints a JSON report on stdout.
    #[command(after_help = "Example:\n  lineage serve gc --root ./lineage-data --dry-run")]
    Gc(ServeGcArgs),
}

/// Arguments of `lineage serve gc`.
#[derive(Debug, Args)]
pub struct ServeGcArgs {
    /// The registry root.
    #[arg(long, default_value = "./lineage-data", value_name = "DIR")]
    pub root: std::path::PathBuf,
    /// Report what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove upload files untouched this long.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub upload_max_age: std::time::Duration,
    /// What is collected.
    #[command(flatten)]
    pub collect: GcArgs,
}

/// What a collection removes, for `lineage serve` (scheduled) and `lineage serve gc`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Garbage collection")]
pub struct GcArgs {
    /// Keep blobs written more recently than this, whatever names them: a blob uploaded
    /// just before the manifest that names it is never collected.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub gc_grace: std::time::Duration,
    /// Also remove referrers whose subject is no longer in the repository (default: keep
    /// them, as the distribution spec allows).
    #[arg(long)]
    pub delete_referrers_with_subject: bool,
}

impl GcArgs {
    /// The collection these flags ask for.
    pub fn options(&self, dry_run: bool) -> GcOptions {
        GcOptions {
            grace: self.gc_grace,
            delete_referrers_with_subject: self.delete_referrers_with_subject,
            dry_run,
        }
    }
}

/// Collect, and print the report (JSON) on stdout.
pub async fn run(printer: Printer, a: ServeGcArgs) -> anyhow::Result<()> {
    let report = lineage_server::registry::collect_root(
        &a.root,
        &a.collect.options(a.dry_run),
        a.upload_max_age,
    )
    .await?;
    crate::output::json(&report)?;
    note!(
        printer,
        "lineage serve gc: {} {} blob(s), {} referrer(s), {} upload(s), {} bytes in {} repositories ({} ms)",
        if report.dry_run {
            "would remove"
        } else {
            "removed"
        },
        report.blobs_removed,
        report.referrers_removed,
        report.uploads_removed,
        report.bytes_removed,
        report.repositories_scanned,
        report.elapsed_ms
    );
    if report.uploads_left_to_server {
        note!(
            printer,
            "lineage serve gc: upload files left alone: a server runs on `{}` and expires its own sessions (its --upload-idle-timeout)",
            a.root.display()
        );
    }
    Ok(())
}
