//! `lineage manifest fetch REF`: a manifest's exact bytes, or its descriptor.

use std::io::Write;

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::commands::resolve_target;
use crate::open;

/// Write the manifest `r` names to stdout, exactly as stored.
pub async fn fetch(r: &StoreRef, descriptor: bool) -> anyhow::Result<()> {
    let store = open::read(r).await?;
    let what = || format!("cannot fetch the manifest `{r}`");
    let desc = resolve_target(store.as_ref(), r).await.with_context(what)?;
    let mut out = std::io::stdout().lock();
    if descriptor {
        writeln!(out, "{}", serde_json::to_string_pretty(&desc)?)?;
    } else {
        let manifest = store.manifest_get(&desc.digest).await.with_context(what)?;
        out.write_all(manifest.bytes())?;
    }
    Ok(())
}
