//! The flags of the commands over `lineage-integrations`: `report enrich`, `update` and
//! `audit`.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use lineage_lifecycle::State;

use super::value;

/// `lineage report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Add the scanned image's lifecycle and update path to a Trivy or Grype JSON report.
    ///
    /// The scanner's report is kept as it is; a `lifecycle` section says whether the image is
    /// end-of-life, since when, and what to move to.
    #[command(
        after_help = "Examples:\n  trivy image -f json -o trivy.json registry.example.com/app:1.0 && \\\n      lineage report enrich trivy.json\n  grype registry.example.com/app:1.0 -o json | lineage report enrich - \\\n      --output sarif"
    )]
    Enrich(EnrichArgs),
}

/// Arguments of `lineage report enrich`.
#[derive(Debug, Args)]
pub struct EnrichArgs {
    /// The report (JSON); `-` reads stdin.
    pub report: String,
    /// The scanner that wrote it.
    #[arg(long, value_enum, default_value_t = ReportFormat::Auto)]
    pub format: ReportFormat,
    /// What to write.
    #[arg(long, short, value_enum, default_value_t = EnrichOutput::Json)]
    pub output: EnrichOutput,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = value::time)]
    pub at: Option<DateTime<Utc>>,
}

/// Scanners whose reports `lineage report enrich` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tell from the content.
    Auto,
    /// Trivy JSON (SchemaVersion 2).
    Trivy,
    /// Grype JSON.
    Grype,
}

/// Outputs of `lineage report enrich`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnrichOutput {
    /// The scanner's report with a `lifecycle` section added.
    Json,
    /// SARIF 2.1.0: the scanner's runs, if any, plus a run of lineage's own.
    Sarif,
    /// A short summary for people.
    Markdown,
}

/// Arguments of `lineage update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Files or directories to read (default: the current directory).
    pub paths: Vec<std::path::PathBuf>,
    /// Edit the files in place instead of printing a diff.
    #[arg(long, conflicts_with = "renovate")]
    pub write: bool,
    /// Print Renovate `packageRules` for the same moves instead of a diff.
    #[arg(long)]
    pub renovate: bool,
    /// An image built from these files (repeatable): named when its base is one of the
    /// references moved, as it must be rebuilt after the update.
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = value::time)]
    pub at: Option<DateTime<Utc>>,
}

/// Arguments of `lineage audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The input: a file, or `-` for stdin (default).
    #[arg(default_value = "-")]
    pub input: String,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = AuditOutput::Table)]
    pub output: AuditOutput,
    /// Exit with status 3 when any image is in this state or past it
    /// (supported < superseded < scheduled < end-of-life).
    #[arg(long, value_name = "STATE")]
    pub fail_on: Option<State>,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = value::time)]
    pub at: Option<DateTime<Utc>>,
}

/// Formats of `lineage audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditOutput {
    /// A table for people (also `text`).
    #[value(alias = "text")]
    Table,
    /// JSON: one object per distinct image.
    Json,
    /// A markdown table.
    Markdown,
}
