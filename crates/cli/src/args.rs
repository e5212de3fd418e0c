//! The command line as clap types: close to the flags, no I/O, no logic.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// lineage records the lifecycle of container images in the registry itself and answers:
/// is this image end-of-life, since when, and what replaces it?
#[derive(Debug, Parser)]
#[command(name = "lineage", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Show debug logs on stderr (`-vv` for trace logs). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print no progress and no summaries on stderr; errors are still printed.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy an image, index or artifact between stores, optionally with its referrers.
    ///
    /// Stores are registry references (`registry.example.com/repo:tag`), OCI layout
    /// directories (`oci:PATH[:TAG|@DIGEST]`) and OCI archives (`oci-archive:FILE[:TAG]`).
    /// Every digest is kept: manifests are copied byte for byte.
    #[command(
        after_help = "Examples:\n  lineage copy oci:build/image:1.0 oci-archive:image.tar:1.0\n  lineage copy --referrers oci:a:v1 oci:b:v1"
    )]
    Copy(CopyArgs),

    /// Print the digest of the manifest a reference names.
    #[command(after_help = "Example:\n  lineage resolve oci:build/image:1.0")]
    Resolve(RefArgs),

    /// Work with manifests.
    #[command(subcommand)]
    Manifest(ManifestCommand),

    /// List the tags of a repository, layout or archive, one per line.
    #[command(after_help = "Example:\n  lineage tags oci:build/image")]
    Tags(StoreArgs),
}

/// `lineage manifest …`
#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Write a manifest's exact bytes to stdout.
    #[command(after_help = "Example:\n  lineage manifest fetch oci:build/image:1.0 | jq .")]
    Fetch(ManifestFetchArgs),
}

/// Arguments of `lineage copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// What to copy.
    pub source: String,
    /// Where to copy it. Without a tag, the source's tag is used.
    pub destination: String,
    /// Also copy the referrers (signatures, SBOMs, lifecycle records) of every manifest
    /// copied, recursively.
    #[arg(short, long)]
    pub referrers: bool,
    /// With `--referrers`, copy only referrers of this artifact type (repeatable).
    #[arg(long = "include-type", value_name = "TYPE", requires = "referrers")]
    pub include_types: Vec<String>,
    /// With `--referrers`, skip referrers of this artifact type (repeatable).
    #[arg(long = "exclude-type", value_name = "TYPE", requires = "referrers")]
    pub exclude_types: Vec<String>,
    /// Blob transfers in flight at once.
    #[arg(long, default_value_t = lineage_store::copy::DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub concurrency: usize,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A single reference.
#[derive(Debug, Args)]
pub struct RefArgs {
    /// The reference.
    pub reference: String,
}

/// A store.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The repository, layout or archive.
    pub store: String,
}

/// Arguments of `lineage manifest fetch`.
#[derive(Debug, Args)]
pub struct ManifestFetchArgs {
    /// The manifest's reference.
    pub reference: String,
    /// Print the manifest's descriptor (JSON) instead of its bytes.
    #[arg(long)]
    pub descriptor: bool,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}
