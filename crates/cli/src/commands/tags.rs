//! `lineage tags STORE`: tags, one per line.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::args::Output;
use crate::open::Opener;

/// Print the tags of the store `r` names; with `--output json`, as the registry API's tag
/// list `{"name", "tags"}`.
pub async fn run(opener: &Opener, r: &StoreRef, output: Output) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let tags = store
        .tag_list()
        .await
        .with_context(|| format!("cannot list the tags of `{}`", store.name()))?;
    match output {
        Output::Text => {
            for t in tags {
                outln!("{t}")?;
            }
        }
        Output::Json => {
            crate::output::json(&serde_json::json!({"name": store.name(), "tags": tags}))?
        }
    }
    Ok(())
}
