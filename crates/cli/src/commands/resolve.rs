//! `lineage resolve REF`: the digest a reference names.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::commands::resolve_target;
use crate::open;

/// Print the digest `r` names.
pub async fn run(r: &StoreRef) -> anyhow::Result<()> {
    let store = open::read(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot resolve `{r}`"))?;
    println!("{}", desc.digest);
    Ok(())
}
