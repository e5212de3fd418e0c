//! `lineage serve`: a complete OCI distribution v1.1 registry with the referrers API, and the
//! server that lineage's later services (lookup API, admission webhook, the web dashboard
//! [`ui`]) join.
//!
//! [`app`] builds the axum router from shared state, so tests drive it without a socket;
//! [`serve`] binds, prints where it listens, and runs until SIGTERM or Ctrl-C, under the
//! [`ConnectionLimits`] (header and idle timeouts, the connection cap).

mod access;
pub mod auth;
mod connection;
pub mod policy;
pub mod registry;
pub mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

pub use connection::ConnectionLimits;
pub use registry::{Policy, Registry};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where repositories live.
    pub root: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    pub addr: SocketAddr,
    /// What the registry allows.
    pub policy: Policy,
    /// Basic auth from this htpasswd file.
    pub htpasswd: Option<PathBuf>,
    /// TLS certificate and key (PEM); reloaded when the files change.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve the policy routes (lookup, admission webhook, Gatekeeper provider, metrics)
    /// next to the registry, behind the same basic auth when [`ServeConfig::htpasswd`] is
    /// set (the health routes excepted). Their scope learns the registry's own names once it
    /// listens ([`policy::scope::Scope::attach`]).
    pub policy_routes: Option<Arc<policy::routes::PolicyState>>,
    /// Header and idle timeouts, and the connection cap.
    pub limits: ConnectionLimits,
    /// Leave the admission route outside the basic auth (the API server calls admission
    /// webhooks without Basic credentials).
    pub admission_without_auth: bool,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The root cannot be opened.
    #[error("cannot open the registry root `{}`", root.display())]
    Root {
        /// The root.
        root: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The htpasswd file is unusable.
    #[error(transparent)]
    Htpasswd(#[from] auth::HtpasswdError),
    /// The TLS certificate or key is unusable.
    #[error("cannot load the TLS certificate `{}` and key `{}`", cert.display(), key.display())]
    Tls {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server failed")]
    Run(#[source] std::io::Error),
}

/// The whole application: registry routes, optional basic auth, the policy routes and the
/// dashboard when given (behind the same auth, as `admission_without_auth` allows), the
/// access log.
pub fn app(
    registry: Arc<Registry>,
    auth: Option<Arc<auth::Htpasswd>>,
    policy_routes: Option<Arc<policy::routes::PolicyState>>,
    admission_without_auth: bool,
) -> Router {
    let mut router = registry::router().with_state(registry);
    if let Some(a) = &auth {
        router = router.layer(axum::middleware::from_fn_with_state(
            a.clone(),
            auth::require,
        ));
    }
    if let Some(p) = policy_routes {
        router = router.merge(ui::router(p.clone(), auth.clone()));
        let access = policy::routes::Access {
            htpasswd: auth,
            admission_without_auth,
        };
        router = router.merge(policy::routes::router(p, access));
    }
    router.layer(axum::middleware::from_fn(access::log))
}

/// Run the policy routes and the dashboard alone (`lineage webhook`) on `addr`, with TLS
/// when given, until SIGTERM or Ctrl-C.
pub async fn serve_policy(
    state: Arc<policy::routes::PolicyState>,
    addr: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    limits: ConnectionLimits,
    on_listen: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let app = ui::router(state.clone(), None)
        .merge(policy::routes::router(
            state,
            policy::routes::Access::default(),
        ))
        .layer(axum::middleware::from_fn(access::log));
    let (listener, local) = bind(addr)?;
    run(app, listener, local, tls, limits, on_listen).await
}

/// Run the server until SIGTERM or Ctrl-C. `on_listen` is told the bound address (useful
/// with port 0) and whether it is TLS.
pub async fn serve(
    config: ServeConfig,
    on_listen: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let registry = Registry::open(&config.root, config.policy.clone())
        .await
        .map_err(|source| ServeError::Root {
            root: config.root.clone(),
            source,
        })?;
    let auth = match &config.htpasswd {
        Some(p) => Some(Arc::new(auth::Htpasswd::load(p)?)),
        None => None,
    };
    let registry = Arc::new(registry);
    let (listener, local) = bind(config.addr)?;
    if let Some(p) = &config.policy_routes {
        p.scope.attach(registry.clone(), local);
    }
    tokio::spawn(expire_uploads(Arc::downgrade(&registry)));
    {
        let r = registry.clone();
        tokio::spawn(async move { r.load_referrers().await });
    }
    if let Some(interval) = registry.policy.gc_interval {
        tokio::spawn(registry::gc_scheduled(Arc::downgrade(&registry), interval));
    }
    let app = app(
        registry,
        auth,
        config.policy_routes.clone(),
        config.admission_without_auth,
    );
    run(
        app,
        listener,
        local,
        config.tls.clone(),
        config.limits,
        on_listen,
    )
    .await
}

/// Remove idle upload sessions and their files every so often, so they go even when no
/// new upload comes to sweep them; ends with the registry.
async fn expire_uploads(registry: std::sync::Weak<Registry>) {
    let period = registry.upgrade().map_or(Duration::from_secs(60), |r| {
        (r.uploads.idle_timeout() / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
    });
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(r) = registry.upgrade() else {
            return;
        };
        r.uploads.expire().await;
    }
}

/// Listen on `addr`; the listener and the address it got (port 0 picks one).
fn bind(addr: SocketAddr) -> Result<(std::net::TcpListener, SocketAddr), ServeError> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    Ok((listener, local))
}

/// Serve `app` on `listener`, bound to `local` (TLS with certificate reload when given),
/// under `limits` until SIGTERM or Ctrl-C.
async fn run(
    app: Router,
    listener: std::net::TcpListener,
    local: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    limits: ConnectionLimits,
    on_listen: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let addr = local;
    let bind_error = |source| ServeError::Bind { addr, source };
    let listener = connection::LimitedListener::new(listener, &limits).map_err(bind_error)?;
    let handle = axum_server::Handle::<connection::PeerAddr>::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    let mut server = axum_server::Server::from_listener(listener)
        .handle(handle)
        // Covers the wait for the first request's head including the protocol detection,
        // which hyper's `header_read_timeout` below does not.
        .first_request_timeout(limits.header_timeout);
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_timeout);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match &tls {
        Some((cert, key)) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: cert.clone(),
                    key: key.clone(),
                    source,
                })?;
            tokio::spawn(reload_certificates(
                rustls.clone(),
                cert.clone(),
                key.clone(),
            ));
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls)
                .handshake_timeout(limits.header_timeout);
            on_listen(local, true);
            server
                .acceptor(acceptor)
                .serve(service)
                .await
                .map_err(ServeError::Run)
        }
        None => {
            on_listen(local, false);
            server.serve(service).await.map_err(ServeError::Run)
        }
    }
}

async fn shutdown_on_signal<A: axum_server::Address>(handle: axum_server::Handle<A>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

/// Reload the certificate when its files change (cert-manager rotates them in place).
async fn reload_certificates(
    config: axum_server::tls_rustls::RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
) {
    let stamp = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last = (stamp(&cert), stamp(&key));
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let now = (stamp(&cert), stamp(&key));
        if now != last {
            match config.reload_from_pem_file(&cert, &key).await {
                Ok(()) => tracing::info!(cert = %cert.display(), "reloaded the TLS certificate"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reload the TLS certificate; keeping the old one")
                }
            }
            last = now;
        }
    }
}
