//! `GET /v2/_catalog`: the repositories of a registry, following `Link` pagination.

use reqwest::Method;
use serde::Deserialize;

use crate::auth::Scope;
use crate::client::{RegistryClient, Request};
use crate::error::RegistryError;

#[derive(Deserialize)]
struct Page {
    repositories: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every repository the registry lists, sorted. Registries without a catalog answer 404
    /// (an error with that status).
    pub async fn catalog(&self, registry: &str) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut req = Request::new(Method::GET, "/v2/_catalog", Scope::Catalog);
        for _ in 0..10_000 {
            let resp = self.send(registry, req).await?;
            let resp = self.expect(resp, &Method::GET, &[200]).await?;
            let next = crate::link::next(resp.headers(), resp.url());
            let url = crate::error::redact(resp.url());
            let body = resp.bytes().await.map_err(|e| RegistryError::Transport {
                method: "GET".into(),
                url: url.clone(),
                message: crate::client::flatten(&e),
                retryable: true,
            })?;
            let page: Page =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                    url,
                    message: format!("the catalog is not valid JSON: {e}"),
                })?;
            out.extend(page.repositories.unwrap_or_default());
            match next {
                Some(u) => req = Request::to_url(Method::GET, u, Scope::Catalog),
                None => break,
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
