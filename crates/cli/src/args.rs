//! The command line as clap types: close to the flags, no I/O, no logic.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// names is never deleted, and every delete is checked again right before it is made.
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

    /// Record that an image is (or will be) end-of-life.
    #[command(
        after_help = "Example:\n  lineage retire registry.example.com/app:1.0-20230707 --reason vulnerable \\\n      --successor registry.example.com/app:1.0-20230710"
    )]
    Retire(RetireArgs),

    /// Record that an image is supported again (a correction; nothing is deleted).
    #[command(after_help = "Example:\n  lineage restore registry.example.com/app:1.0-20230707")]
    Restore(RefArgs),

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
    pub reference: String,
    /// Print the manifest's descriptor (JSON) instead of its bytes.
    #[arg(long)]
    pub descriptor: bool,
}

/// Arguments of `lineage attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The image to attach to.
    pub reference: String,
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
    pub reference: String,
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
    #[arg(required = true, value_name = "REGISTRY")]
    pub registries: Vec<String>,
    /// The repository to read from and, with `--write`, push to.
    #[arg(long, value_name = "R", default_value = "lineage-probe")]
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
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
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
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
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
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
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
    pub fail_on: Option<String>,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
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

/// Arguments of `lineage push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image.
    pub source: String,
    /// Where to push it (its tag, if any, is applied).
    pub destination: String,
    /// `org.opencontainers.image.version`.
    #[arg(long)]
    pub version: Option<String>,
    /// `org.opencontainers.image.revision`.
    #[arg(long)]
    pub revision: Option<String>,
    /// `org.opencontainers.image.created`, when the image has none.
    #[arg(long, value_name = "TIME")]
    pub created: Option<String>,
    /// More tags for the pushed image (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// Arguments of `lineage status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The images.
    #[arg(required = true)]
    pub references: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Evaluate at this time instead of now (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Exit with status 3 when any image is in this state or past it
    /// (supported < superseded < scheduled < end-of-life).
    #[arg(long, value_name = "STATE")]
    pub fail_on: Option<String>,
}

/// Arguments of `lineage release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The new image.
    pub source: String,
    /// The repository to release into (no tag).
    pub repository: String,
    /// The version; its tag rolls to the newest revision.
    #[arg(long)]
    pub version: String,
    /// The revision (default: the UTC date YYYYMMDD of the image's created time).
    #[arg(long)]
    pub revision: Option<String>,
    /// The image's created time, when it does not carry one.
    #[arg(long, value_name = "TIME")]
    pub created: Option<String>,
    /// End-of-life of the previous revision (default: the new image's created time).
    #[arg(long, value_name = "TIME")]
    pub eol_at: Option<String>,
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
    pub reference: String,
    /// From when it is end-of-life (default: now); a future time schedules it.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Why: superseded, unsupported, vulnerable, withdrawn, internal, or free text.
    #[arg(long)]
    pub reason: Option<String>,
    /// What to use instead.
    #[arg(long, value_name = "REF")]
    pub successor: Option<String>,
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
    pub repository: String,
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
}

/// How long client connections may take and how many may be open (docs/security.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionArgs {
    /// Close a connection whose request line and headers do not arrive within this time
    /// (on a kept-alive connection, counted from the previous response).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,
    /// Close a connection on which no byte moves either way for this long (a stalled
    /// request body, a client that stops reading).
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration)]
    pub idle_timeout: std::time::Duration,
    /// Connections open at once; more wait in the listen backlog until one closes.
    #[arg(long, default_value_t = lineage_server::ConnectionLimits::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
}

/// How the policy routes (lookup, admission webhook, Gatekeeper provider) decide and cache.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Policy routes")]
pub struct PolicyArgs {
    /// What the admission webhook does with end-of-life images: deny them (`enforce`), admit
    /// them with a warning (`warn`), or only log (`audit`).
    #[arg(long, value_name = "MODE", default_value = "enforce")]
    pub admission_mode: String,
    /// Admit everything in this namespace without lookup (repeatable; `*` globs). Giving any
    /// replaces the default.
    #[arg(long = "exempt-namespace", value_name = "NS", default_values_t = [String::from("kube-system")])]
    pub exempt_namespaces: Vec<String>,
    /// Admit images matching this pattern without lookup (repeatable; `*` matches anything,
    /// `/` included), e.g. `registry.k8s.io/*`.
    #[arg(long = "exempt-image", value_name = "PATTERN")]
    pub exempt_images: Vec<String>,
    /// In enforce mode, only warn about an image whose end-of-life passed less than this long
    /// ago (`30m`, `12h`, `7d`).
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub grace_period: std::time::Duration,
    /// Deny an image that cannot be looked up (default: admit it with a warning).
    #[arg(long)]
    pub fail_closed: bool,
    /// How long what an image's digest says (its records) is cached.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub digest_ttl: std::time::Duration,
    /// How long a tag's resolution is cached.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub tag_ttl: std::time::Duration,
    /// Requests in flight to one registry at most.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub registry_concurrency: usize,
    /// Talk plain HTTP to this registry (`host[:port]`, repeatable), e.g. an in-cluster
    /// registry without TLS.
    #[arg(long = "plain-http-host", value_name = "HOST")]
    pub plain_http_hosts: Vec<String>,
    /// Answer for images of this registry too (`HOST[:PORT]` exactly as images name it,
    /// repeatable). `lineage serve` answers for its own repositories and these; `lineage
    /// webhook` for these, or for any registry when none is given (then anyone who can reach
    /// it can make it fetch from any host: see docs/security.md).
    #[arg(long = "lookup-registry", value_name = "HOST[:PORT]")]
    pub lookup_registries: Vec<String>,
}

impl Default for PolicyArgs {
    /// The flags' defaults, as `lineage webhook` with none given.
    fn default() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            policy: PolicyArgs,
        }
        Defaults::parse_from(["lineage"]).policy
    }
}

/// Arguments of `lineage webhook`.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Address to listen on (`IP:PORT`, `localhost:PORT`, `:PORT` for every interface);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "HOST:PORT", value_parser = parse_listen_addr)]
    pub addr: std::net::SocketAddr,
    /// TLS certificate (PEM), reloaded when it changes; needs `--tls-key`. The API server
    /// and Gatekeeper call webhooks over HTTPS only.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM); needs `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Registry credentials from this docker config file, e.g. a mounted
    /// `kubernetes.io/dockerconfigjson` secret's `.dockerconfigjson` (default: docker's
    /// config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<std::path::PathBuf>,
    /// Client connection limits.
    #[command(flatten)]
    pub connections: ConnectionArgs,
    /// How the routes decide and cache.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// An address to listen on: `IP:PORT` (`[::1]:PORT` for IPv6), `localhost:PORT` (the IPv4
/// loopback), or `:PORT` (every IPv4 interface).
pub fn parse_listen_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let explain = || {
        format!(
            "`{text}` is not an address to listen on: expected IP:PORT such as 127.0.0.1:5000, \
             localhost:5000, or :5000 for every interface"
        )
    };
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(explain)?;
    let port: u16 = port.parse().map_err(|_| explain())?;
    let ip = match host {
        "" => std::net::Ipv4Addr::UNSPECIFIED,
        h if h.eq_ignore_ascii_case("localhost") => std::net::Ipv4Addr::LOCALHOST,
        _ => return Err(explain()),
    };
    Ok(std::net::SocketAddr::from((ip, port)))
}

/// A duration: `0`, or numbers with units `ms`, `s`, `m`, `h`, `d`, e.g. `90s`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a duration is needed (e.g. `30s`, `5m`, `12h`, `7d`)".into());
    }
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. `30s`, `5m`, `12h`, `7d`)"))?;
        let part = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
            "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
            "d" => std::time::Duration::from_secs(n.saturating_mul(86_400)),
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{unit}` (use ms, s, m, h or d)"
                ));
            }
        };
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
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

/// Arguments of `lineage delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The manifest, by tag or digest.
    pub reference: String,
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
    /// (`host/repo`).
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
    pub reference: String,
}

/// A single reference, and how to print the answer.
#[derive(Debug, Args)]
pub struct RefOutputArgs {
    /// The reference.
    pub reference: String,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A store, and how to print the answer.
#[derive(Debug, Args)]
pub struct StoreOutputArgs {
    /// The repository, layout or archive.
    pub store: String,
    /// Output format of the result on stdout.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A store.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The repository, layout or archive.
    pub store: String,
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
    use std::time::Duration;

    use super::{parse_duration, parse_listen_addr};

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

    #[test]
    fn listen_addresses() {
        let ok = |t: &str| parse_listen_addr(t).map(|a| a.to_string());
        assert_eq!(ok("127.0.0.1:5000"), Ok("127.0.0.1:5000".to_string()));
        assert_eq!(ok("[::1]:0"), Ok("[::1]:0".to_string()));
        assert_eq!(ok("localhost:0"), Ok("127.0.0.1:0".to_string()));
        assert_eq!(ok(":5000"), Ok("0.0.0.0:5000".to_string()));
        for bad in [
            "",
            "5000",
            "localhost",
            "example.com:80",
            "localhost:port",
            ":99999",
        ] {
            let err = parse_listen_addr(bad).unwrap_err();
            assert!(
                err.contains("expected IP:PORT such as 127.0.0.1:5000"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "5", "s", "5x", "-5s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
