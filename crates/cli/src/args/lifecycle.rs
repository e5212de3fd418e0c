//! The flags of the lifecycle commands: `push`, `status`, `release`, `retire`, `history` and
//! `demo` (`restore` and `latest` take a single reference, [`super::RefArgs`] and
//! [`super::RefOutputArgs`]).

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use lineage_lifecycle::{Reason, State};
use lineage_oci::StoreRef;

use super::Output;

/// Arguments of `lineage push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image.
    pub source: StoreRef,
    /// Where to push it (its tag, if any, is applied).
    pub destination: StoreRef,
    /// `org.opencontainers.image.version`.
    #[arg(long)]
    pub version: Option<String>,
    /// `org.opencontainers.image.revision`.
    #[arg(long)]
    pub revision: Option<String>,
    /// `org.opencontainers.image.created`, when the image has none.
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub created: Option<DateTime<Utc>>,
    /// More tags for the pushed image (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// Arguments of `lineage status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The images.
    #[arg(required = true)]
    pub references: Vec<StoreRef>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub at: Option<DateTime<Utc>>,
    /// Exit with status 3 when any image is in this state or past it
    /// (supported < superseded < scheduled < end-of-life).
    #[arg(long, value_name = "STATE")]
    pub fail_on: Option<State>,
}

/// Arguments of `lineage release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The new image.
    pub source: StoreRef,
    /// The repository to release into (no tag).
    pub repository: StoreRef,
    /// The version; its tag rolls to the newest revision.
    #[arg(long, value_parser = super::value::tag)]
    pub version: String,
    /// The revision (default: the UTC date YYYYMMDD of the image's created time).
    #[arg(long)]
    pub revision: Option<String>,
    /// The image's created time, when it does not carry one.
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub created: Option<DateTime<Utc>>,
    /// End-of-life of the previous revision (default: the new image's created time).
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub eol_at: Option<DateTime<Utc>>,
    /// Also write Microsoft's lifecycle record.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Move the version tag back to this older revision: it is restored, and the newer
    /// revision the tag names is retired in its favour.
    #[arg(long)]
    pub rollback: bool,
}

/// Arguments of `lineage retire`.
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The image.
    pub reference: StoreRef,
    /// From when it is end-of-life (default: now); a future time schedules it.
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub at: Option<DateTime<Utc>>,
    /// Why: superseded, unsupported, vulnerable, withdrawn, internal, or free text.
    #[arg(long)]
    pub reason: Option<Reason>,
    /// What to use instead.
    #[arg(long, value_name = "REF")]
    pub successor: Option<super::value::AsWritten>,
    /// Also write Microsoft's lifecycle record.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
}

/// Extra dialects to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// `application/vnd.microsoft.artifact.lifecycle`.
    Microsoft,
}

/// Arguments of `lineage history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The repository.
    pub repository: StoreRef,
    /// Only this version's lineage.
    #[arg(long)]
    pub version: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Arguments of `lineage demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Use this registry instead of an embedded `lineage serve`.
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
}
