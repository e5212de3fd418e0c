//! Referrers in a layout: manifests listed in `index.json` whose `subject` is the digest
//! asked for. Each listed manifest is read once per store handle and remembered.

use lineage_oci::{Descriptor, Digest};

use super::LayoutStore;
use crate::error::Result;
use crate::store::ReadStore;

/// Every listed manifest that has a `subject`: `(subject, its descriptor as a referrer)`.
pub(super) async fn all(store: &LayoutStore) -> Result<Vec<(Digest, Descriptor)>> {
    let index = store.index()?;
    let mut out: Vec<(Digest, Descriptor)> = Vec::new();
    for entry in &index.entries {
        let digest = &entry.desc.digest;
        let cached = store
            .subjects
            .lock()
            .ok()
            .and_then(|c| c.get(digest).cloned());
        let info = match cached {
            Some(info) => info,
            None => {
                let info = match store.manifest_get(digest).await {
                    Ok(m) => m.view().ok().and_then(|v| {
                        v.subject
                            .as_ref()
                            .map(|s| (s.digest.clone(), m.referrer_descriptor()))
                    }),
                    // A listed manifest whose blob is gone or corrupt cannot be a referrer we
                    // can serve.
                    Err(e) if e.is_not_found() => None,
                    Err(e) if e.kind() == crate::ErrorKind::Corrupt => {
                        tracing::warn!(store = store.name(), %digest, error = %e, "skipping an unreadable manifest");
                        None
                    }
                    Err(e) => return Err(e),
                };
                if let Ok(mut c) = store.subjects.lock() {
                    c.insert(digest.clone(), info.clone());
                }
                info
            }
        };
        if let Some(pair) = info
            && !out.iter().any(|(_, d)| d.digest == pair.1.digest)
        {
            out.push(pair);
        }
    }
    Ok(out)
}

pub(super) async fn list(
    store: &LayoutStore,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    let types: Vec<&str> = artifact_type.into_iter().collect();
    Ok(all(store)
        .await?
        .into_iter()
        .filter(|(s, d)| s == subject && lineage_oci::referrers::passes_filter(d, &types))
        .map(|(_, d)| d)
        .collect())
}
