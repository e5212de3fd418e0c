//! `lineage delete REF`: delete a manifest (and, by registry semantics, every tag on it).

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::commands::resolve_target;
use crate::open::Opener;

/// Resolve `r` and delete the manifest it names.
pub async fn run(opener: &Opener, r: &StoreRef, quiet: bool) -> anyhow::Result<()> {
    let store = opener.write(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot delete `{r}`"))?;
    store
        .manifest_delete(&desc.digest)
        .await
        .with_context(|| format!("cannot delete {} from {}", desc.digest, store.name()))?;
    store.flush().await?;
    if !quiet {
        eprintln!("Deleted `{r}` ({})", desc.digest);
    }
    outln!("{}", desc.digest)?;
    Ok(())
}
