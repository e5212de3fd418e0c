//! `lineage resolve REF`: the digest a reference names.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::commands::resolve_target;
use crate::open::Opener;

/// Print the digest `r` names.
pub async fn run(opener: &Opener, r: &StoreRef) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot resolve `{r}`"))?;
    outln!("{}", desc.digest)?;
    Ok(())
}
