//! `lineage manifest REF`: a manifest's exact bytes, or its descriptor.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::commands::resolve_target;
use crate::open::Opener;
use crate::output;

/// Write the manifest `r` names to stdout, exactly as stored.
pub async fn run(opener: &Opener, r: &StoreRef, descriptor: bool) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let what = || format!("cannot fetch the manifest `{r}`");
    if descriptor {
        let desc = resolve_target(store.as_ref(), r).await.with_context(what)?;
        crate::output::json(&desc)?;
        return Ok(());
    }
    let manifest = store
        .manifest_fetch_target(r.target().as_ref())
        .await
        .with_context(what)?;
    output::stdout_bytes(manifest.bytes())?;
    Ok(())
}
