//! Tag listing, following `Link` pagination; `"tags": null` (distribution after deletes) is an
//! empty list. Also the one listing of what no tag names, where a registry has one
//! (`lineage serve`'s `/_lineage/untagged` extension).

use lineage_oci::Descriptor;
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

#[derive(Deserialize)]
struct UntaggedList {
    manifests: Option<Vec<Descriptor>>,
}

/// The manifests no tag names, from `lineage serve`'s `/v2/<name>/_lineage/untagged`
/// extension, sorted and distinct by digest; `None` when the registry has no such listing (the
/// distribution API lists tags only: any 404, 405 or 400 on the first page says so).
pub(super) async fn untagged(store: &RegistryStore) -> Result<Option<Vec<Descriptor>>> {
    let mut manifests: Vec<Descriptor> = Vec::new();
    let mut req = Request::new(
        Method::GET,
        format!("/v2/{}/_lineage/untagged", store.repository),
        store.scope(false),
    );
    let mut pages = Pages::new(&store.registry, Listing::Untagged);
    for page_no in 0..10_000 {
        let resp = store.client.send(&store.registry, req).await?;
        if page_no == 0 && matches!(resp.status().as_u16(), 400 | 404 | 405) {
            return Ok(None);
        }
        let resp = store.client.expect(resp, &Method::GET, &[200]).await?;
        let page = pages.read(resp).await?;
        manifests.extend(
            page.json::<UntaggedList>("untagged manifests listing")?
                .manifests
                .unwrap_or_default(),
        );
        match page.next {
            Some(u) => req = Request::to_url(Method::GET, u, store.scope(false)),
            None => break,
        }
    }
    manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    manifests.dedup_by(|a, b| a.digest == b.digest);
    Ok(Some(manifests))
}
