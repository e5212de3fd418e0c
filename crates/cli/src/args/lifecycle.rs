//! The flags of the lifecycle commands: `push`, `status`, `release`, `retire`, `history` and
//! `demo` (`restore` and `latest` take a single reference, [`super::RefArgs`] and
//! [`super::RefOutputArgs`]).

use std::path::PathBuf;

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
    /// `org.opencontainers.image.created`, when the image has none (a different time than
    /// the image's own is refused unless `--override-created`).
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub created: Option<DateTime<Utc>>,
    /// More tags for the pushed image (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Replace the image's own `org.opencontainers.image.created` with `--created`.
    #[arg(long, requires = "created")]
    pub override_created: bool,
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
    /// (supported < superseded < scheduled < end-of-support < end-of-life).
    #[arg(long, value_name = "STATE")]
    pub fail_on: Option<State>,
    /// Read only records of this scope, and unscoped ones (repeatable), e.g. `public` for
    /// what a promotion to a public registry would carry.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
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
    /// The image's created time, when it does not carry one (a different time than the
    /// image's own is refused unless `--override-created`).
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
    /// Use `--created` even though the image carries a created time of its own (the
    /// image's `org.opencontainers.image.created` is replaced).
    #[arg(long, requires = "created")]
    pub override_created: bool,
    /// Keep supporting the previous revision this long after the new one is created, then
    /// its end-of-support (e.g. `90d`) [default: the config file's `supportFor`].
    #[arg(long, value_name = "DURATION", value_parser = super::value::parse_duration)]
    pub support_for: Option<std::time::Duration>,
    /// The previous revision reaches end-of-life this long after its end-of-support (e.g.
    /// `30d`) [default: the config file's `eolAfter`].
    #[arg(long, value_name = "DURATION", value_parser = super::value::parse_duration, conflicts_with = "eol_at")]
    pub eol_after: Option<std::time::Duration>,
    /// The scope of the records the release writes (`public`, `internal`, free text).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Also copy the source's referrers (SBOMs, signatures, records) whose scope may travel
    /// (unscoped and `public`, unless `--include-scope`), where their subject is unchanged.
    #[arg(long)]
    pub referrers: bool,
    /// With `--referrers`, the scopes that travel (repeatable; `*` for every scope);
    /// unscoped referrers always travel [default: public].
    #[arg(long = "include-scope", value_name = "SCOPE", requires = "referrers")]
    pub include_scopes: Vec<String>,
    /// Signing the records written.
    #[command(flatten)]
    pub signing: SignFlags,
}

/// Arguments of `lineage retire`.
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The image; with `--filter`, a registry (`host[:port]`: every repository its catalog
    /// lists) or repositories (`host/repo`, when the catalog is closed).
    #[arg(required = true, value_name = "REF")]
    pub targets: Vec<String>,
    /// From when it is end-of-life (default: now, unless `--end-of-support` is given); a
    /// future time schedules it.
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub at: Option<DateTime<Utc>>,
    /// From when it gets no more fixes (still admitted, with a warning, until `--at`).
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub end_of_support: Option<DateTime<Utc>>,
    /// Why: superseded, unsupported, vulnerable, withdrawn, internal, or free text.
    #[arg(long)]
    pub reason: Option<Reason>,
    /// What to use instead.
    #[arg(long, value_name = "REF", conflicts_with = "filter")]
    pub successor: Option<super::value::AsWritten>,
    /// Where the record may travel: `public`, `internal`, or free text (a promotion leaves
    /// records of other scopes than `public` behind unless told otherwise).
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Also write Microsoft's lifecycle record.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Signing the records written.
    #[command(flatten)]
    pub signing: SignFlags,
    /// Bulk: retire the tagged images of every repository whose name matches this regular
    /// expression (anchored: it must match the whole name).
    #[arg(long, value_name = "REPO_REGEX", help_heading = "Bulk retire")]
    pub filter: Option<String>,
    /// Bulk: only tags matching this regular expression (anchored; default: every tag).
    #[arg(
        long,
        value_name = "TAG_REGEX",
        requires = "filter",
        help_heading = "Bulk retire"
    )]
    pub tags: Option<String>,
    /// Bulk: also the manifests no tag names, where the registry can list them.
    #[arg(long, requires = "filter", help_heading = "Bulk retire")]
    pub untagged: bool,
    /// Bulk: say what would be retired, write nothing.
    #[arg(long, requires = "filter", help_heading = "Bulk retire")]
    pub dry_run: bool,
    /// Bulk: repositories worked on at once.
    #[arg(long, default_value_t = 4, requires = "filter", help_heading = "Bulk retire", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub concurrency: usize,
    /// Bulk: output format of the summary on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text, requires = "filter", help_heading = "Bulk retire")]
    pub output: Output,
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
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME", value_parser = super::value::time)]
    pub at: Option<DateTime<Utc>>,
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

/// `--sign` and its key and chain, on the commands that write records (`release`, `retire`,
/// `restore`).
#[derive(Debug, Clone, Default, Args)]
pub struct SignFlags {
    /// Sign each record written: a Notary Project signature (JWS, X.509 chain) pushed as a
    /// referrer of the record, as `notation sign` writes one.
    #[arg(long)]
    pub sign: bool,
    /// The signing key: PEM, PKCS#8 EC P-256/P-384 or RSA ≥ 2048 [default: the config
    /// file's `signingKey`].
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub signing_key: Option<PathBuf>,
    /// The signing certificate chain: PEM, leaf first, ending in its root [default: the
    /// config file's `signingCert`].
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub signing_cert: Option<PathBuf>,
}

/// Arguments of `lineage restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The image.
    pub reference: StoreRef,
    /// Signing the record written.
    #[command(flatten)]
    pub signing: SignFlags,
}

/// Arguments of `lineage sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// A lifecycle record (`REPO@DIGEST`), or an image: then every lifecycle record of it
    /// (and of its platform manifests) that has no signature yet.
    pub reference: StoreRef,
    /// The signing key: PEM, PKCS#8 EC P-256/P-384 or RSA ≥ 2048 [default: the config
    /// file's `signingKey`].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The signing certificate chain: PEM, leaf first, ending in its root [default: the
    /// config file's `signingCert`].
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}
