//! The flags of the policy routes (lookup API, admission webhook, Gatekeeper provider),
//! shared by `lineage webhook` and `lineage serve`, and `lineage webhook`'s own.

use clap::Args;
use lineage_server::policy::Mode;

use super::value::{parse_duration, parse_listen_addr};

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
    pub admission_mode: Mode,
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
    /// The grace period of objects in these Kubernetes namespaces instead (`NS=DURATION`,
    /// repeatable, `*` globs; the first that matches wins), e.g. `team-*=7d`.
    #[arg(long = "namespace-grace-period", value_name = "NS=DURATION", value_parser = super::value::namespace_duration)]
    pub namespace_grace_periods: Vec<(String, std::time::Duration)>,
    /// Deny an image that cannot be looked up (default: admit it with a warning).
    #[arg(long)]
    pub fail_closed: bool,
    /// What enforce mode does with an image built on an end-of-life or superseded base
    /// (state `base-end-of-life`): `deny`, `warn` or `ignore`.
    #[arg(long, value_name = "SETTING", default_value = "warn")]
    pub inherited: lineage_lifecycle::verdict::Inherited,
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
