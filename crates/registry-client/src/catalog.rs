//! `GET /v2/_catalog`: the repositories of a registry, following `Link` pagination.

use reqwest::Method;
use serde::Deserialize;

use crate::auth::Scope;
use crate::client::{RegistryClient, Request};
use crate::error::RegistryError;
use crate::link::{Listing, Pages};

#[derive(Deserialize)]
struct Catalog {
    repositories: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every repository the registry lists, sorted. Registries without a catalog answer 404
    /// (an error with that status).
    pub async fn catalog(&self, registry: &str) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut req = Request::new(Method::GET, "/v2/_catalog", Scope::Catalog);
        let mut pages = Pages::new(registry, Listing::Catalog);
        for _ in 0..10_000 {
            let resp = self.send(registry, req).await?;
            let resp = self.expect(resp, &Method::GET, &[200]).await?;
            let page = pages.read(resp).await?;
            out.extend(
                page.json::<Catalog>("catalog")?
                    .repositories
                    .unwrap_or_default(),
            );
            match page.next {
                Some(u) => req = Request::to_url(Method::GET, u, Scope::Catalog),
                None => break,
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
