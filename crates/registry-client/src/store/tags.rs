//! Tag listing, following `Link` pagination; `"tags": null` (distribution after deletes) is an
//! empty list.

use lineage_store::Result;
use reqwest::Method;
use serde::Deserialize;

use super::RegistryStore;
use crate::client::Request;
use crate::link::{Listing, Pages};

#[derive(Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// Every tag, sorted and distinct.
pub(super) async fn list(store: &RegistryStore) -> Result<Vec<String>> {
    let mut tags = Vec::new();
    let mut req = Request::new(
        Method::GET,
        format!("/v2/{}/tags/list", store.repository),
        store.scope(false),
    );
    // A registry that loops its `Link` headers must not keep us here forever.
    let mut pages = Pages::new(&store.registry, Listing::Tags);
    for _ in 0..10_000 {
        let resp = store.client.send(&store.registry, req).await?;
        let resp = store.client.expect(resp, &Method::GET, &[200]).await?;
        let page = pages.read(resp).await?;
        tags.extend(page.json::<TagList>("tag list")?.tags.unwrap_or_default());
        match page.next {
            Some(u) => req = Request::to_url(Method::GET, u, store.scope(false)),
            None => break,
        }
    }
    tags.sort();
    tags.dedup();
    Ok(tags)
}
