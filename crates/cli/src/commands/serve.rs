//! `lineage serve`: the built-in registry.

use anyhow::Context as _;
use lineage_lifecycle::Namespace;
use lineage_server::policy::scope::Scope;
use lineage_server::{Policy, ServeConfig};

use crate::args::ServeArgs;
use crate::error::UsageError;
use crate::open::Connection;
use crate::output::Printer;

/// Run the registry and the policy routes until SIGTERM or Ctrl-C.
pub async fn run(
    connection: &Connection,
    namespace: &Namespace,
    printer: Printer,
    a: ServeArgs,
) -> anyhow::Result<()> {
    if let Some(super::serve_gc::ServeCommand::Gc(g)) = a.command {
        return super::serve_gc::run(printer, g).await;
    }
    if a.upload_idle_timeout.is_zero() || a.max_uploads == 0 {
        anyhow::bail!(
            "`--upload-idle-timeout` and `--max-uploads` must be above zero, or no upload could finish"
        );
    }
    let limits = super::webhook::connection_limits(&a.connections)?;
    let scope = Scope::serve(&a.policy.lookup_registries, &a.registry_names)
        .map_err(|e| UsageError(anyhow::Error::new(e)))?;
    let policy_routes =
        super::webhook::policy_state(connection, namespace, &a.policy, None, scope)?;
    let config = ServeConfig {
        root: a.root.clone(),
        addr: a.addr,
        policy: Policy {
            read_only: a.read_only,
            no_delete: a.no_delete,
            referrers_page_size: a.referrers_page_size,
            upload_idle_timeout: a.upload_idle_timeout,
            max_uploads: a.max_uploads,
            gc_interval: a.gc_interval.filter(|d| !d.is_zero()),
            gc: a.gc.options(false),
        },
        htpasswd: a.htpasswd,
        tls: a.tls_cert.zip(a.tls_key),
        policy_routes: Some(policy_routes),
        limits,
        admission_without_auth: a.admission_without_auth,
    };
    let root = a.root.display().to_string();
    lineage_server::serve(config, |addr, tls| {
        // The one line scripts and tests wait for (port 0 picks the port).
        printer.message(format_args!(
            "lineage serve: listening on {}://{addr} (root {root})",
            if tls { "https" } else { "http" }
        ));
    })
    .await
    .context("lineage serve failed")
}
