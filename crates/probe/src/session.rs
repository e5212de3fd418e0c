//! One registry's probe session: requests bounded by the timeout, and the first failure to
//! get an answer remembered, so a registry that goes away ends the probe with error rows
//! instead of a wait per remaining request.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// Requests to one registry.
pub(crate) struct Session<'a> {
    client: &'a RegistryClient,
    pub registry: String,
    pub repository: String,
    pub options: &'a ProbeOptions,
    broken: Option<String>,
    refused: Option<String>,
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
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Why the last request that could not be authorised was not sent.
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// Send `req`; `Err` when no answer came within the timeout (and for every request
    /// after that).
    pub async fn send(&mut self, req: RawRequest) -> Result<RawResponse, String> {
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
                let message = e.to_string();
                self.refused = Some(message.clone());
                return Err(message);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "{method} {target}: no answer within {} s",
                timeout.as_secs_f64()
            ),
        };
        self.broken = Some(failure.clone());
        Err(failure)
    }

    /// GET a manifest by tag or digest with every manifest type accepted, its body kept up
    /// to one byte past the largest manifest a registry must accept.
    pub async fn get_manifest(&mut self, reference: &str) -> Result<RawResponse, String> {
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
