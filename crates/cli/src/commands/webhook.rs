//! `lineage webhook`, and the policy routes `lineage serve` adds: the cached lookup over
//! lineage's registry client, with the decision settings from the flags.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lineage_lifecycle::{Lookup, LookupOptions, Namespace, StoreOpener};
use lineage_registry_client::RegistryClient;
use lineage_server::policy::AdmissionSettings;
use lineage_server::policy::routes::PolicyState;
use lineage_server::policy::scope::{Scope, ScopedOpener};

use crate::args::{ConnectionArgs, PolicyArgs, WebhookArgs};
use crate::error::UsageError;
use crate::open::{Connection, RegistryOpener};
use crate::output::Printer;

/// The routes' shared state for `args`: a registry client that gives up early enough for
/// the API server's 5 s webhook timeout, the engine for `namespace`, the caches, and
/// `scope` over every store the lookup opens.
pub fn policy_state(
    connection: &Connection,
    namespace: &Namespace,
    args: &PolicyArgs,
    docker_config: Option<&Path>,
    scope: Scope,
) -> anyhow::Result<Arc<PolicyState>> {
    let mut options = connection.client_options(docker_config)?;
    options
        .plain_http_hosts
        .extend(args.plain_http_hosts.iter().cloned());
    // Callers of the policy routes must not read what other hosts answer.
    options.quote_error_bodies = false;
    options.retries = 1;
    options.backoff = Duration::from_millis(100);
    options.connect_timeout = Duration::from_secs(2);
    options.read_timeout = Duration::from_secs(3);
    let client = RegistryClient::new(options).context("cannot set up the registry client")?;
    let scope = Arc::new(scope);
    let network: Arc<dyn StoreOpener> = Arc::new(RegistryOpener::new(client));
    let lookup = Lookup::new(
        crate::commands::lifecycle::engine(namespace, None),
        Arc::new(ScopedOpener::new(scope.clone(), network)),
        LookupOptions {
            digest_ttl: args.digest_ttl,
            tag_ttl: args.tag_ttl,
            per_registry_concurrency: args.registry_concurrency,
            // The API server gives a webhook 5 s at most (`timeoutSeconds`): an answer in
            // time is worth more than a late one.
            deadline: Some(Duration::from_secs(4)),
            ..LookupOptions::default()
        },
    );
    let admission = AdmissionSettings {
        mode: args.admission_mode,
        grace_period: args.grace_period,
        exempt_namespaces: args.exempt_namespaces.clone(),
        exempt_images: args.exempt_images.clone(),
        fail_open: !args.fail_closed,
        namespace_grace_periods: args.namespace_grace_periods.clone(),
        inherited: args.inherited,
    };
    Ok(PolicyState::new(lookup, admission, scope))
}

/// The connection limits of `serve` and `webhook`; zero is refused, as it would serve
/// nothing.
pub fn connection_limits(
    args: &ConnectionArgs,
) -> anyhow::Result<lineage_server::ConnectionLimits> {
    if args.header_timeout.is_zero() || args.idle_timeout.is_zero() || args.max_connections == 0 {
        return Err(UsageError(anyhow::anyhow!(
            "`--header-timeout`, `--idle-timeout` and `--max-connections` must be above zero, or no request could be served"
        ))
        .into());
    }
    Ok(lineage_server::ConnectionLimits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
    })
}

/// Serve the policy routes until SIGTERM or Ctrl-C.
pub async fn run(
    connection: &Connection,
    namespace: &Namespace,
    printer: Printer,
    a: WebhookArgs,
) -> anyhow::Result<()> {
    let scope = Scope::webhook(&a.policy.lookup_registries)
        .map_err(|e| UsageError(anyhow::Error::new(e)))?;
    if a.policy.lookup_registries.is_empty() {
        tracing::warn!(
            "no --lookup-registry: the policy routes look up images of any registry, for anyone who can reach them"
        );
    }
    let state = policy_state(
        connection,
        namespace,
        &a.policy,
        a.docker_config.as_deref(),
        scope,
    )?;
    let limits = connection_limits(&a.connections)?;
    let mode = state.admission.mode;
    let tls = a.tls_cert.zip(a.tls_key);
    lineage_server::serve_policy(state, a.addr, tls, limits, |addr, tls| {
        // The one line scripts and tests wait for (port 0 picks the port).
        printer.message(format_args!(
            "lineage webhook: listening on {}://{addr} (admission mode {mode})",
            if tls { "https" } else { "http" }
        ));
    })
    .await
    .context("lineage webhook failed")
}
