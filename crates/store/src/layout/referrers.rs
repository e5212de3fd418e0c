//! Referrers in a layout: manifests listed in `index.json` whose `subject` is the digest
//! asked for. Each listed manifest is read once per store handle and remembered.

use lineage_oci::{Descriptor, Digest};

use super::LayoutStore;
use crate::error::Result;
use crate::store::ReadStore;

pub(super) async fn list(
    store: &LayoutStore,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    let index = store.index()?;
    let mut out: Vec<Descriptor> = Vec::new();
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
                    // A listed manifest whose blob is gone cannot be a referrer we can serve.
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e),
                };
                if let Ok(mut c) = store.subjects.lock() {
                    c.insert(digest.clone(), info.clone());
                }
                info
            }
        };
        if let Some((s, desc)) = info
            && &s == subject
            && artifact_type.is_none_or(|t| desc.artifact_type.as_deref() == Some(t))
            && !out.iter().any(|d| d.digest == desc.digest)
        {
            out.push(desc);
        }
    }
    Ok(out)
}
