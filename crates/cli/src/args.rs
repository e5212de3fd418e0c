//! The command line as clap types: close to the flags, no I/O, no logic.
//!
//! Every value is parsed here, by clap, into the type the command uses (a
//! [`StoreRef`], a time, a [`State`], an admission mode…; [`value`] holds the parsers that
//! are not a library type's `FromStr`), so a bad value is a usage error naming the flag and
//! the value before any command runs. The global flags, which combine with the config file,
//! are resolved into [`crate::settings::Settings`]. This file holds the commands and the
//! flags of the store commands and `serve`; the lifecycle commands' flags are in
//! [`lifecycle`], those of `report`, `update` and `audit` in [`integrations`], the policy
//! routes' (`webhook`, and `serve`'s policy flags) in [`policy`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use lineage_oci::StoreRef;

mod integrations;
mod lifecycle;
mod policy;
pub mod value;

pub use integrations::{
    AuditArgs, AuditOutput, EnrichArgs, EnrichOutput, ReportCommand, ReportFormat, UpdateArgs,
};
pub use lifecycle::{
    DemoArgs, DialectArg, HistoryArgs, PushArgs, ReleaseArgs, RestoreArgs, RetireArgs, SignArgs,
    SignFlags, StatusArgs,
};
pub use policy::{ConnectionArgs, PolicyArgs, WebhookArgs};
use value::{parse_duration, parse_listen_addr};

/// lineage records the lifecycle of container images in the registry itself and answers:
/// is this image end-of-life, since when, and what replaces it?
#[derive(Debug, Parser)]
#[command(name = "lineage", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Show debug logs on stderr (`-vv` for trace logs). `RUST_LOG` overrides.
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print no progress and no summaries on stderr; errors are still printed.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// Talk plain HTTP to registries (loopback registries fall back to it by themselves).
    #[arg(long, global = true, help_heading = "Global options")]
    pub plain_http: bool,

    /// Do not verify registries' TLS certificates.
    #[arg(long, global = true, help_heading = "Global options")]
    pub insecure: bool,

    /// Trust the CA certificates in this PEM file too (repeatable).
    #[arg(
        long = "ca-file",
        value_name = "FILE",
        global = true,
        help_heading = "Global options"
    )]
    pub ca_files: Vec<std::path::PathBuf>,

    /// Namespace of the lifecycle annotation keys (`NS.end-of-life`…) lineage writes and reads
    /// [default: the config file's `namespace`, else `vnd.lineage.image`].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "LINEAGE_NAMESPACE",
        value_name = "NS"
    )]
    pub namespace: Option<String>,

    /// A known base lineage: images whose layers begin with every layer of one of its
    /// revisions are built on it (repeatable; added to the config file's `baseRepositories`),
    /// e.g. `registry.example.com/base`.
    #[arg(
        long = "base-repo",
        global = true,
        help_heading = "Global options",
        value_name = "REPO"
    )]
    pub base_repos: Vec<String>,

    /// A trust policy in notation's `trustpolicy.json` shape, its trust store beside it
    /// (`truststore/x509/ca/NAME/*.pem`): lifecycle records count only as the policy allows
    /// (`status`, `history`, `latest`, `audit`, `report enrich`, `update`, `webhook`,
    /// `serve`) [default: the config file's `trustPolicy`, else none: every record counts].
    #[arg(
        long = "trust-policy",
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub trust_policy: Option<std::path::PathBuf>,

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
    Resolve(RefOutputArgs),

    /// Write a manifest's exact bytes to stdout (or its descriptor).
    #[command(after_help = "Example:\n  lineage manifest registry.example.com/app:1.0 | jq .")]
    Manifest(ManifestArgs),

    /// List the tags of a repository, layout or archive, one per line.
    #[command(after_help = "Example:\n  lineage tags registry.example.com/app")]
    Tags(StoreOutputArgs),

    /// Attach an artifact (SBOM, signature, report, or annotations only) to an image.
    #[command(
        after_help = "Examples:\n  lineage attach registry.example.com/app:1.0 \\\n      --artifact-type application/spdx+json sbom.spdx.json:application/spdx+json\n  lineage attach registry.example.com/app:1.0 \\\n      --artifact-type application/vnd.example.note --annotation reviewed=yes"
    )]
    Attach(AttachArgs),

    /// Show the referrers of an image, recursively.
    #[command(
        after_help = "Example:\n  lineage discover registry.example.com/app:1.0 --output tree"
    )]
    Discover(DiscoverArgs),

    /// Delete a manifest; on a registry without the referrers API the referrers tag is kept right.
    ///
    /// Deleting a manifest takes every tag naming it with it, and its referrers with it
    /// (recursively, so none is left that nothing can reach; a referrer a tag names stays):
    /// when more than the named tag would go, lineage lists it and asks for --force (or
    /// --untag, to remove only the tag).
    #[command(
        after_help = "Examples:\n  lineage delete registry.example.com/app@sha256:…\n  lineage delete registry.example.com/app:old-tag --untag"
    )]
    Delete(DeleteArgs),

    /// Find and remove referrer garbage: orphaned referrers, stale referrers tags, redundant records.
    ///
    /// A dry run unless --apply. Finds referrers tags (`sha256-<hex>`) whose subject is gone,
    /// with the referrers only they name (recursively), entries naming deleted manifests,
    /// tags the referrers API makes redundant (--migrate removes them) and lifecycle records
    /// that repeat the one before them (--compact-records removes them). A manifest a tag
    /// names is never deleted; right before each level of a tree's deletes the subject is
    /// checked to be still gone, and right before an index is deleted it is checked unchanged.
    #[command(
        after_help = "Examples:\n  lineage gc registry.example.com/app\n  lineage gc localhost:5000 --apply --older-than 7d\n  lineage gc registry.example.com/app --protect --output json"
    )]
    Gc(GcArgs),

    /// Check what registries support of OCI 1.1: referrers, artifacts, deletes, uploads…
    ///
    /// Read-only by default (GET requests only). `--write` also pushes to a scratch
    /// repository under unique tags and deletes what it pushed where the registry allows.
    /// Several registries give one table with a column each.
    #[command(after_help = "Examples:
  lineage probe ghcr.io --repo me/scratch --write
  lineage probe localhost:5000 registry.example.com --output markdown")]
    Probe(ProbeArgs),

    /// Serve the policy routes alone: lookup API, admission webhook, Gatekeeper provider.
    ///
    /// For a cluster whose images live in registries other than `lineage serve`: it reads
    /// lifecycle records from any registry, caches them, and answers Kubernetes (an
    /// AdmissionReview webhook), Gatekeeper (external data) and Kyverno (`apiCall`).
    #[command(
        after_help = "Example:\n  lineage webhook --addr 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\\n      --admission-mode audit"
    )]
    Webhook(WebhookArgs),

    /// Work with vulnerability reports: `lineage report enrich REPORT`.
    #[command(subcommand)]
    Report(ReportCommand),

    /// Find image references in files and move end-of-life ones to their successors.
    ///
    /// Reads Dockerfiles/Containerfiles, compose files, Kubernetes manifests, Helm values,
    /// kustomizations and GitHub workflows under the paths (default: the current directory).
    /// A successor retired since is followed to the newest. Prints a unified diff; `--write`
    /// edits the files in place, changing only the references' characters.
    #[command(
        after_help = "Examples:\n  lineage update\n  lineage update deploy/ Dockerfile --write\n  lineage update --renovate > renovate-lineage.json"
    )]
    Update(UpdateArgs),

    /// One row per distinct image in use: where, its state, end-of-life and successor.
    ///
    /// Reads image lists (one per line), `kubectl get pods -A -o json` output, or Kubernetes
    /// manifests, from a file or stdin.
    #[command(
        after_help = "Example:\n  kubectl get pods -A -o json | lineage audit - --fail-on end-of-life"
    )]
    Audit(AuditArgs),

    /// Store credentials for a registry in docker's config.json, after checking them.
    #[command(
        after_help = "Example:\n  echo \"$TOKEN\" | lineage login ghcr.io -u me --password-stdin"
    )]
    Login(LoginArgs),

    /// Copy an image into a store, adding lifecycle annotations to its top manifest.
    #[command(
        after_help = "Example:\n  lineage push oci:build/app:latest registry.example.com/app:1.0-20230707 \\\n      --version 1.0 --revision 20230707 --tag 1.0"
    )]
    Push(PushArgs),

    /// Show whether images are end-of-life, since when, and what replaces them.
    #[command(
        after_help = "Examples:\n  lineage status registry.example.com/app:1.0-20230707\n  lineage status --output json --fail-on end-of-life \\\n      registry.example.com/app@sha256:…"
    )]
    Status(StatusArgs),

    /// Release a new revision: push it annotated, tag V-R, move V, retire the previous revision.
    #[command(
        after_help = "Example:\n  lineage release oci:build/app:latest registry.example.com/app \\\n      --version 1.0 --created 2023-07-10T00:00:00-08:00"
    )]
    Release(ReleaseArgs),

    /// Record that an image is (or will be) past end-of-support or end-of-life.
    ///
    /// With `--filter`, retire every tagged image of the matching repositories of a
    /// registry (a dry run with `--dry-run`; a rerun writes only what is left).
    #[command(
        after_help = "Examples:\n  lineage retire registry.example.com/app:1.0-20230707 --reason vulnerable \\\n      --successor registry.example.com/app:1.0-20230710\n  lineage retire registry.example.com/app:1.0 --end-of-support 2030-01-01 \\\n      --at 2030-02-01\n  lineage retire --filter 'team/.*' --tags '1\\..*' --dry-run reg.example.com"
    )]
    Retire(RetireArgs),

    /// Record that an image is supported again (a correction; nothing is deleted).
    #[command(after_help = "Example:\n  lineage restore registry.example.com/app:1.0-20230707")]
    Restore(RestoreArgs),

    /// Sign a lifecycle record, or every unsigned lifecycle record of an image (a Notary
    /// Project signature, verified by `notation verify` and by `--trust-policy`).
    #[command(
        after_help = "Examples:\n  lineage sign registry.example.com/app@sha256:… --key k.pem --cert chain.pem\n  lineage sign registry.example.com/app:1.0 --key k.pem --cert chain.pem"
    )]
    Sign(SignArgs),

    /// Every revision of a lineage with its state, oldest first.
    #[command(after_help = "Example:\n  lineage history registry.example.com/app --version 1.0")]
    History(HistoryArgs),

    /// The newest supported revision of an image's lineage.
    #[command(after_help = "Example:\n  lineage latest registry.example.com/app:1.0-20230707")]
    Latest(RefOutputArgs),

    /// Run the lifecycle walkthrough end to end on an embedded registry.
    #[command(after_help = "Example:\n  lineage demo")]
    Demo(DemoArgs),

    /// Run the built-in OCI 1.1 registry (with the referrers API).
    #[command(
        after_help = "Examples:\n  lineage serve\n  lineage serve --root /srv/registry --addr 0.0.0.0:5000 \\\n      --htpasswd /etc/lineage/htpasswd --tls-cert tls.crt --tls-key tls.key"
    )]
    Serve(ServeArgs),

    /// Remove the credentials stored for a registry.
    #[command(after_help = "Example:\n  lineage logout ghcr.io")]
    Logout(LogoutArgs),
}

/// Arguments of `lineage manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The manifest's reference.
    pub reference: StoreRef,
    /// Print the manifest's descriptor (JSON) instead of its bytes.
    #[arg(long)]
    pub descriptor: bool,
}

/// Arguments of `lineage attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The image to attach to.
    pub reference: StoreRef,
    /// The artifact's type, e.g. `application/spdx+json`.
    #[arg(long, value_name = "TYPE")]
    pub artifact_type: String,
    /// An annotation on the artifact manifest (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Files to attach, each with an optional media type (default
    /// `application/vnd.oci.image.layer.v1.tar`).
    #[arg(value_name = "FILE[:MEDIATYPE]")]
    pub files: Vec<String>,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Arguments of `lineage discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The image whose referrers to show.
    pub reference: StoreRef,
    /// Only referrers of this artifact type.
    #[arg(long, value_name = "TYPE")]
    pub artifact_type: Option<String>,
    /// How many levels of referrers to follow (referrers of referrers…); unlimited by default.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Stop with an error past this many referrers (counting referrers of referrers).
    #[arg(long, value_name = "N", default_value_t = crate::commands::discover::DEFAULT_MAX_NODES)]
    pub max_nodes: usize,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = DiscoverOutput::Tree)]
    pub output: DiscoverOutput,
}

/// Formats of `lineage discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscoverOutput {
    /// A tree starting at the subject (also `text`).
    #[value(alias = "text")]
    Tree,
    /// JSON in the shape of `oras discover --format json`.
    Json,
    /// One row per referrer.
    Table,
}

/// Arguments of `lineage probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The registries, as `host[:port]`.
    #[arg(required = true, value_name = "REGISTRY", value_parser = value::registry)]
    pub registries: Vec<value::Registry>,
    /// The repository to read from and, with `--write`, push to.
    #[arg(long, value_name = "R", default_value = "lineage-probe", value_parser = value::repository)]
    pub repo: String,
    /// Also run the checks that push and delete (in the scratch repository).
    #[arg(long)]
    pub write: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ProbeOutput::Table)]
    pub output: ProbeOutput,
    /// Column titles for the registries, in order (markdown and table output).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// The longest wait for any one request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = value::seconds)]
    pub timeout: std::time::Duration,
}

/// Formats of `lineage probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeOutput {
    /// A table: a row per check, a column per registry (also `text`).
    #[value(alias = "text")]
    Table,
    /// `[{"registry", "checks": [{"id", "result", "detail"}]}]`.
    Json,
    /// A markdown table ready for a document, then the details.
    Markdown,
}

/// Arguments of `lineage login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry, e.g. `ghcr.io` or `localhost:5000`.
    pub registry: String,
    /// The username.
    #[arg(short, long)]
    pub username: String,
    /// Read the password (or token) from standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// The password (visible to other users of this machine; prefer `--password-stdin`).
    #[arg(short, long)]
    pub password: Option<String>,
}

/// Arguments of `lineage serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where repositories are stored, one OCI image layout each.
    #[arg(long, default_value = "./lineage-data", value_name = "DIR")]
    pub root: std::path::PathBuf,
    /// Address to listen on (`IP:PORT`, `localhost:PORT`, `:PORT` for every interface);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:5000", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub addr: std::net::SocketAddr,
    /// Refuse every write.
    #[arg(long)]
    pub read_only: bool,
    /// Refuse deletes (405 UNSUPPORTED, as distribution with deletes off).
    #[arg(long)]
    pub no_delete: bool,
    /// Require basic auth against this htpasswd file (bcrypt entries: `htpasswd -B`).
    #[arg(long, value_name = "FILE")]
    pub htpasswd: Option<std::path::PathBuf>,
    /// TLS certificate (PEM); needs `--tls-key`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM); needs `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Referrers per page of the referrers API.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub referrers_page_size: usize,
    /// Expire an upload session idle this long and remove its temporary file.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub upload_idle_timeout: std::time::Duration,
    /// Upload sessions open at once; one more answers 429 TOOMANYREQUESTS.
    #[arg(long, default_value_t = lineage_server::Policy::DEFAULT_MAX_UPLOADS, value_name = "N")]
    pub max_uploads: usize,
    /// Client connection limits.
    #[command(flatten)]
    pub connections: ConnectionArgs,
    /// Another name clients call this registry by (`HOST[:PORT]`, repeatable), e.g. its DNS
    /// name behind a proxy: the policy routes read images under it from this registry's own
    /// store. The listening address, and `localhost:PORT` when listening on loopback or on
    /// every address, are always its names.
    #[arg(long = "registry-name", value_name = "HOST[:PORT]")]
    pub registry_names: Vec<String>,
    /// With `--htpasswd`, leave the admission route (`/admission/v1/validate`) open: the
    /// Kubernetes API server calls admission webhooks without Basic credentials. The lookup
    /// and Gatekeeper routes keep asking for them.
    #[arg(long, requires = "htpasswd")]
    pub admission_without_auth: bool,
    /// The policy routes served next to the registry.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Collect garbage this often while serving (e.g. `24h`); never unless given.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub gc_interval: Option<std::time::Duration>,
    /// What a scheduled collection removes.
    #[command(flatten)]
    pub gc: crate::commands::serve_gc::GcArgs,
    /// `lineage serve gc`.
    #[command(subcommand)]
    pub command: Option<crate::commands::serve_gc::ServeCommand>,
}

/// Arguments of `lineage logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry.
    pub registry: String,
}

/// Arguments of `lineage copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// What to copy.
    pub source: StoreRef,
    /// Where to copy it. Without a tag, the source's tag is used.
    pub destination: StoreRef,
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
    /// With `--referrers`, the record scopes (`NS.scope`) that travel (repeatable; `*` for
    /// every scope). Unscoped referrers always travel [default: public].
    #[arg(long = "include-scope", value_name = "SCOPE", requires = "referrers")]
    pub include_scopes: Vec<String>,
    /// Blob transfers in flight at once.
    #[arg(long, default_value_t = lineage_store::copy::DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub concurrency: usize,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Arguments of `lineage delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The manifest, by tag or digest.
    pub reference: StoreRef,
    /// Delete even when other tags name the manifest or it has referrers: the tags go with
    /// it, and so do its referrers, recursively (those a tag names stay).
    #[arg(long, conflicts_with = "untag")]
    pub force: bool,
    /// Remove only the named tag and keep the manifest (where the store can delete tags).
    #[arg(long)]
    pub untag: bool,
}

/// Arguments of `lineage gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// A registry (`host[:port]`: every repository its catalog lists) or repositories
    /// (`host/repo`); `http://` in front speaks plain HTTP to that host.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Remove what was found; without it nothing is deleted.
    #[arg(long)]
    pub apply: bool,
    /// Also remove referrers tags that the registry's referrers API makes redundant.
    #[arg(long)]
    pub migrate: bool,
    /// Also remove lifecycle records that repeat the record before them (the newest stays).
    #[arg(long)]
    pub compact_records: bool,
    /// List every live referrer no tag names: a registry GC that deletes untagged manifests
    /// (`docker-registry garbage-collect --delete-untagged`) would delete them.
    #[arg(long)]
    pub protect: bool,
    /// Remove only referrers and records created longer ago than D (by their
    /// `org.opencontainers.image.created`), e.g. `7d`.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub concurrency: usize,
    /// Output format of the report on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A single reference.
#[derive(Debug, Args)]
pub struct RefArgs {
    /// The reference.
    pub reference: StoreRef,
}

/// A single reference, and how to print the answer.
#[derive(Debug, Args)]
pub struct RefOutputArgs {
    /// The reference.
    pub reference: StoreRef,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A store, and how to print the answer.
#[derive(Debug, Args)]
pub struct StoreOutputArgs {
    /// The repository, layout or archive.
    pub store: StoreRef,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A store.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The repository, layout or archive.
    pub store: StoreRef,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text (also `table`: every command takes `text` and `json`).
    #[value(alias = "table")]
    Text,
    /// JSON.
    Json,
}

#[cfg(test)]
mod tests {
    /// One vocabulary: every command that prints data takes `text` for people and `json`.
    #[test]
    fn every_output_takes_text_and_json() {
        use clap::ValueEnum as _;
        for (name, text, json) in [
            (
                "output",
                super::Output::from_str("text", false).is_ok(),
                super::Output::from_str("json", false).is_ok(),
            ),
            (
                "discover",
                super::DiscoverOutput::from_str("text", false).is_ok(),
                super::DiscoverOutput::from_str("json", false).is_ok(),
            ),
            (
                "probe",
                super::ProbeOutput::from_str("text", false).is_ok(),
                super::ProbeOutput::from_str("json", false).is_ok(),
            ),
            (
                "audit",
                super::AuditOutput::from_str("text", false).is_ok(),
                super::AuditOutput::from_str("json", false).is_ok(),
            ),
        ] {
            assert!(text && json, "{name}");
        }
        assert_eq!(
            super::Output::from_str("table", false),
            Ok(super::Output::Text)
        );
    }
}
