//! One registry's probe session: requests bounded by the timeout, and the first failure to
//! get an answer remembered, so a registry that goes away ends the probe with error rows
//! instead of a wait per remaining request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lineage_oci::manifest::MAX_MANIFEST_SIZE;
use lineage_oci::media_type;
use lineage_registry_client::auth::Scope;
use lineage_registry_client::raw::{RawRequest, RawResponse};
use lineage_registry_client::{RegistryClient, RegistryError};
use reqwest::Method;
use reqwest::header::ACCEPT;

use crate::ProbeOptions;

/// A run id unique enough for scratch tags: the time in nanoseconds and the process id.
pub fn unique_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

/// Why a request of the probe got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum SessionError {
    /// The credentials were missing or refused: this request was not sent, later ones are.
    #[error("{0}")]
    Refused(Arc<RegistryError>),
    /// The registry failed to answer; every later request of the session fails the same.
    #[error("{0}")]
    Broken(Arc<RegistryError>),
    /// No answer within the timeout; every later request of the session fails the same.
    #[error("{method} {target}: no answer within {} s", .timeout.as_secs_f64())]
    Timeout {
        /// The request's method.
        method: Method,
        /// What it asked for.
        target: String,
        /// The probe's timeout.
        timeout: Duration,
    },
}

/// Requests to one registry.
pub(crate) struct Session<'a> {
    client: &'a RegistryClient,
    pub registry: String,
    pub repository: String,
    pub options: &'a ProbeOptions,
    broken: Option<SessionError>,
    refused: Option<SessionError>,
}

impl<'a> Session<'a> {
    pub fn new(
        client: &'a RegistryClient,
        registry: &str,
        options: &'a ProbeOptions,
    ) -> Session<'a> {
        Session {
            client,
            registry: registry.to_string(),
            repository: options.repository.clone(),
            options,
            broken: None,
            refused: None,
        }
    }

    /// Why the registry stopped answering, once it has.
    pub fn broken(&self) -> Option<&SessionError> {
        self.broken.as_ref()
    }

    /// Why the last request that could not be authorised was not sent.
    pub fn refused(&self) -> Option<&SessionError> {
        self.refused.as_ref()
    }

    /// Send `req`; `Err` when no answer came within the timeout (and for every request
    /// after that).
    pub async fn send(&mut self, req: RawRequest) -> Result<RawResponse, SessionError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let method = req.method.clone();
        let target = req.target.clone();
        let timeout = self.options.timeout;
        let answer = tokio::time::timeout(timeout, self.client.raw(&self.registry, req)).await;
        let failure = match answer {
            Ok(Ok(r)) => {
                tracing::debug!(%method, %target, status = r.status, "probe");
                return Ok(r);
            }
            // Missing or refused credentials end one request, not the session.
            Ok(Err(e @ RegistryError::Auth { .. })) => {
                let refused = SessionError::Refused(Arc::new(e));
                self.refused = Some(refused.clone());
                return Err(refused);
            }
            Ok(Err(e)) => SessionError::Broken(Arc::new(e)),
            Err(_) => SessionError::Timeout {
                method,
                target,
                timeout,
            },
        };
        self.broken = Some(failure.clone());
        Err(failure)
    }

    /// GET a manifest by tag or digest with every manifest type accepted, its body kept up
    /// to one byte past the largest manifest a registry must accept.
    pub async fn get_manifest(&mut self, reference: &str) -> Result<RawResponse, SessionError> {
        let mut req = self
            .get(&format!("manifests/{reference}"))
            .header(ACCEPT, media_type::MANIFEST_TYPES.join(", "));
        req.max_body = MAX_MANIFEST_SIZE + 1;
        self.send(req).await
    }

    /// The scope of this session's repository (`push` for writes).
    pub fn scope(&self, push: bool) -> Scope {
        Scope::Repository {
            name: self.repository.clone(),
            push,
        }
    }

    /// `/v2/<repository>/<rest>`.
    pub fn path(&self, rest: &str) -> String {
        format!("/v2/{}/{rest}", self.repository)
    }

    /// A GET of `/v2/<repository>/<rest>`.
    pub fn get(&self, rest: &str) -> RawRequest {
        RawRequest::new(Method::GET, self.path(rest), self.scope(false))
    }

    /// A request that writes to `/v2/<repository>/<rest>`.
    pub fn write(&self, method: Method, rest: &str) -> RawRequest {
        RawRequest::new(method, self.path(rest), self.scope(true))
    }
}
