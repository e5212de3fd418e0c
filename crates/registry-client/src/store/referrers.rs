//! Referrers of a manifest (DESIGN §2.3): the referrers API where the registry serves it
//! (detected by a 200 image index, remembered per repository), else the referrers tag schema.
//!
//! Registries without the API need clients to maintain the `sha256-<hex>` index, and offer no
//! conditional writes. Concurrent writers can overwrite each other's updates, so a writer
//! here reads back after writing and keeps re-adding its entry until it has seen it present
//! twice, with a jittered pause between, which outlasts another writer's read-modify-write.

use std::time::{Duration, Instant};

use lineage_oci::referrers::fallback_tag;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest, media_type};
use lineage_store::{Result, StoreError};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::{RegistryStore, manifest};
use crate::capability::{ReferrersAnswer, artifact_type_filtered, referrers_answer};
use crate::client::{ReferrersSupport, Request};
use crate::link::{self, Pages};
use crate::referrers_index::{self as index, FallbackError};

/// Rounds of read, write, read back before giving up on a contended referrers tag.
const MAX_ROUNDS: u32 = 40;
/// Times an entry must be seen in place, a pause apart, before a write counts as done.
const CONFIRMATIONS: u32 = 3;

/// Whether this repository is known to lack the referrers API (or not known to have it).
pub(crate) fn uses_tag_schema(store: &RegistryStore) -> bool {
    store
        .client
        .referrers_support(&store.registry, &store.repository)
        != Some(ReferrersSupport::Api)
}

/// The referrers of `subject`, of `artifact_type` when given.
pub(super) async fn list(
    store: &RegistryStore,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    if store
        .client
        .referrers_support(&store.registry, &store.repository)
        != Some(ReferrersSupport::TagSchema)
        && let Some(found) = from_api(store, subject, artifact_type).await?
    {
        return Ok(found);
    }
    let entries = match read_fallback(store, subject).await? {
        Some((_, entries)) => entries,
        None => Vec::new(),
    };
    Ok(index::filter(entries, artifact_type))
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// Ask the referrers API. `None` means the registry does not serve it.
pub(crate) async fn from_api(
    store: &RegistryStore,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Option<Vec<Descriptor>>> {
    let mut path = store.path("referrers", subject.as_str());
    if let Some(t) = artifact_type {
        path.push_str("?artifactType=");
        path.extend(url::form_urlencoded::byte_serialize(t.as_bytes()));
    }
    let mut req = Request::new(Method::GET, path, store.scope(false))
        .header(reqwest::header::ACCEPT, media_type::OCI_INDEX);
    let mut out = Vec::new();
    let mut filtered = true;
    let mut pages = Pages::new(&store.registry, link::Listing::Referrers);
    for page_no in 0..10_000 {
        let resp = store.client.send(&store.registry, req).await?;
        let status = resp.status();
        let answer = referrers_answer(
            status.as_u16(),
            resp.headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        if page_no == 0 {
            match answer {
                ReferrersAnswer::Api => {}
                ReferrersAnswer::NoApi => {
                    store.client.set_referrers_support(
                        &store.registry,
                        &store.repository,
                        ReferrersSupport::TagSchema,
                    );
                    return Ok(None);
                }
                // A 200 that is not an index (a login page, say) is not the API.
                ReferrersAnswer::Unexpected => {
                    tracing::warn!(registry = %store.registry, %status, "unexpected answer from the referrers API; using the referrers tag");
                    return Ok(None);
                }
                ReferrersAnswer::Failed => {
                    return Err(store.client.status_error(resp, &Method::GET).await.into());
                }
            }
        } else if status != StatusCode::OK {
            return Err(store.client.status_error(resp, &Method::GET).await.into());
        }
        filtered &= artifact_type_filtered(
            resp.headers()
                .get("oci-filters-applied")
                .and_then(|v| v.to_str().ok()),
        );
        let page = pages.read(resp).await?;
        let listing = page.json::<Listing>("referrers page")?;
        out.extend(listing.manifests);
        match page.next {
            Some(u) => {
                req = Request::to_url(Method::GET, u, store.scope(false))
                    .header(reqwest::header::ACCEPT, media_type::OCI_INDEX)
            }
            None => break,
        }
    }
    store
        .client
        .set_referrers_support(&store.registry, &store.repository, ReferrersSupport::Api);
    Ok(Some(if filtered {
        out
    } else {
        index::filter(out, artifact_type)
    }))
}

/// The referrers tag of `subject` and its entries; `None` when there is none. An index that
/// fails validation is reported and treated as absent (the spec's SHOULD for readers).
async fn read_fallback(
    store: &RegistryStore,
    subject: &Digest,
) -> Result<Option<(RawManifest, Vec<Descriptor>)>> {
    match read_fallback_strict(store, subject).await {
        Err(StoreError::InvalidInput { message, .. }) => {
            tracing::warn!(repository = %store.name, %message, "ignoring an unusable referrers tag");
            Ok(None)
        }
        other => other,
    }
}

pub(crate) async fn read_fallback_strict(
    store: &RegistryStore,
    subject: &Digest,
) -> Result<Option<(RawManifest, Vec<Descriptor>)>> {
    let tag = fallback_tag(subject);
    let raw = match manifest::fetch(store, &TagOrDigest::Tag(tag.clone())).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let entries = index::validate(&raw, subject, &tag).map_err(|e| fallback_error(store, e))?;
    Ok(Some((raw, entries)))
}

fn fallback_error(store: &RegistryStore, e: FallbackError) -> StoreError {
    StoreError::InvalidInput {
        store: store.name.clone(),
        message: e.to_string(),
    }
}

/// Add `referrer` to the referrers tag of `subject`, and make sure it stays there.
pub(crate) async fn fallback_add(
    store: &RegistryStore,
    subject: &Digest,
    referrer: &RawManifest,
) -> Result<()> {
    let entry = index::entry_for(referrer);
    converge(store, subject, &entry.digest, true, |current| {
        index::add(current, &entry)
    })
    .await
}

/// Remove `referrer` from the referrers tag of `subject`, and make sure it stays removed.
pub(super) async fn fallback_remove(
    store: &RegistryStore,
    subject: &Digest,
    referrer: &Digest,
) -> Result<()> {
    converge(store, subject, referrer, false, |current| match current {
        Some(c) => index::remove(c, referrer),
        None => Ok(None),
    })
    .await
}

/// Remove every one of `referrers` from the referrers tag of `subject` in one write per
/// round, through the same read, write, read back protocol as [`fallback_remove`], so entries
/// other writers add meanwhile survive.
pub(crate) async fn fallback_remove_all(
    store: &RegistryStore,
    subject: &Digest,
    referrers: &[Digest],
) -> Result<()> {
    let Some(first) = referrers.first() else {
        return Ok(());
    };
    converge_until(
        store,
        subject,
        first,
        false,
        |entries| !referrers.iter().any(|d| index::lists(entries, d)),
        |current| match current {
            Some(c) => index::remove_all(c, referrers),
            None => Ok(None),
        },
    )
    .await
}

/// Read, change, write, read back — until `digest` is seen listed (`want_listed`) or not,
/// `CONFIRMATIONS` times in a row, a jittered pause apart.
async fn converge<F>(
    store: &RegistryStore,
    subject: &Digest,
    digest: &Digest,
    want_listed: bool,
    change: F,
) -> Result<()>
where
    F: Fn(Option<&RawManifest>) -> Result<Option<RawManifest>, FallbackError>,
{
    converge_until(
        store,
        subject,
        digest,
        want_listed,
        |entries| index::lists(entries, digest) == want_listed,
        change,
    )
    .await
}

/// [`converge`] with the end state given by `done` over the index's entries (an absent index
/// has none); `digest` and `want_listed` only word the error.
async fn converge_until<D, F>(
    store: &RegistryStore,
    subject: &Digest,
    digest: &Digest,
    want_listed: bool,
    done: D,
    change: F,
) -> Result<()>
where
    D: Fn(&[Descriptor]) -> bool,
    F: Fn(Option<&RawManifest>) -> Result<Option<RawManifest>, FallbackError>,
{
    let tag = fallback_tag(subject);
    let mut confirmed = 0;
    // The slowest read or write seen here: another writer's read-modify-write takes about
    // as long under the same load, so the pauses between confirmations scale with it.
    let mut slowest = Duration::ZERO;
    for round in 0..MAX_ROUNDS {
        let started = Instant::now();
        let current = read_fallback_strict(store, subject).await?;
        slowest = slowest.max(started.elapsed());
        let reached = done(current.as_ref().map_or(&[][..], |(_, entries)| entries));
        if reached {
            confirmed += 1;
            if confirmed >= CONFIRMATIONS {
                return Ok(());
            }
        } else {
            confirmed = 0;
            if let Some(updated) = change(current.as_ref().map(|(raw, _)| raw))
                .map_err(|e| fallback_error(store, e))?
            {
                let started = Instant::now();
                write_index(store, &tag, &updated).await?;
                slowest = slowest.max(started.elapsed());
                tracing::debug!(%tag, round, digest = %updated.digest(), "wrote the referrers tag");
            }
        }
        tokio::time::sleep(pause(round, slowest)).await;
    }
    Err(StoreError::Backend {
        kind: lineage_store::ErrorKind::Io,
        message: format!(
            "the referrers tag `{tag}` in {} kept changing under concurrent writers; {digest} could not be {} after {MAX_ROUNDS} rounds",
            store.name,
            if want_listed { "added" } else { "removed" }
        ),
        source: None,
    })
}

/// Write a referrers index. A registry that checks an index's children (distribution 2.8)
/// refuses one that names a deleted manifest with `MANIFEST_BLOB_UNKNOWN`; such an entry was
/// left by a delete that has not yet taken it out (another writer's, in flight) or by a tool
/// that never does. Entries whose manifest is gone list nothing, so they are dropped and the
/// index written again.
async fn write_index(store: &RegistryStore, tag: &str, updated: &RawManifest) -> Result<()> {
    let refused = match manifest::put_bytes(store, updated, Some(tag)).await {
        Ok(_) => return Ok(()),
        Err(e) if names_unknown_blob(&e) => e,
        Err(e) => return Err(e),
    };
    let entries = updated
        .view()
        .map(|v| v.manifests.clone())
        .unwrap_or_default();
    let mut gone = Vec::new();
    for e in &entries {
        if !manifest::exists(store, &e.digest).await? {
            gone.push(e.digest.clone());
        }
    }
    let Some(pruned) = index::remove_all(updated, &gone).map_err(|e| fallback_error(store, e))?
    else {
        return Err(refused);
    };
    tracing::debug!(%tag, dropped = gone.len(), "dropped entries naming deleted manifests from the referrers tag");
    manifest::put_bytes(store, &pruned, Some(tag))
        .await
        .map(|_| ())
}

/// Whether a store error is the registry's `MANIFEST_BLOB_UNKNOWN`.
fn names_unknown_blob(e: &StoreError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<crate::error::RegistryError>())
        .is_some_and(|r| r.has_code(lineage_oci::errcode::ErrorCode::ManifestBlobUnknown))
}

/// At least 150 ms and three times the slowest request seen, plus jitter: long enough for
/// another writer's read-modify-write, measured under the same load, to land within it,
/// and spread out so writers that collided do not collide again.
fn pause(round: u32, slowest: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = Duration::from_millis(150).max(slowest * 3);
    let spread = Duration::from_millis(200).max(slowest);
    let jitter = spread.mul_f64(f64::from(nanos % 1000) / 1000.0);
    base + jitter + Duration::from_millis(u64::from(round.min(10)) * 10)
}

/// After `subject` is deleted, delete its referrers tag too (by the index's digest, which
/// removes the tag on registries that cannot delete tags). Failures are reported, not fatal.
pub(super) async fn drop_tag_of(store: &RegistryStore, subject: &Digest) {
    match read_fallback(store, subject).await {
        Ok(Some((raw, _))) => {
            if let Err(e) =
                manifest::delete_reference(store, &TagOrDigest::Digest(raw.digest().clone())).await
            {
                tracing::warn!(repository = %store.name, error = %e, "cannot delete the referrers tag of a deleted manifest");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(repository = %store.name, error = %e, "cannot read the referrers tag of a deleted manifest")
        }
    }
}
