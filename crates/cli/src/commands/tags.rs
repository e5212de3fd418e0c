//! `lineage tags STORE`: tags, one per line.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::open::Opener;

/// Print the tags of the store `r` names.
pub async fn run(opener: &Opener, r: &StoreRef) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let tags = store
        .tag_list()
        .await
        .with_context(|| format!("cannot list the tags of `{}`", store.name()))?;
    for t in tags {
        outln!("{t}")?;
    }
    Ok(())
}
