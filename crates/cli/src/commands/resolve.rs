//! `lineage resolve REF`: the digest a reference names.

use anyhow::Context as _;
use lineage_oci::StoreRef;

use crate::args::Output;
use crate::commands::resolve_target;
use crate::open::Opener;

/// Print the digest `r` names; with `--output json`, its descriptor and the reference.
pub async fn run(opener: &Opener, r: &StoreRef, output: Output) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot resolve `{r}`"))?;
    match output {
        Output::Text => outln!("{}", desc.digest)?,
        Output::Json => crate::output::json(&serde_json::json!({
            "reference": r.to_string(),
            "mediaType": desc.media_type,
            "digest": desc.digest,
            "size": desc.size,
        }))?,
    }
    Ok(())
}
