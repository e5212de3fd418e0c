//! `lineage delete REF`: delete a manifest, which by registry semantics takes every tag on
//! it and leaves its referrers without a subject. What would go beyond the named tag is
//! listed first, and deleting it needs `--force`; `--untag` removes only the named tag.

use anyhow::Context as _;
use lineage_oci::quantity::plural;
use lineage_oci::{Digest, TagOrDigest};
use lineage_store::Store;

use crate::args::DeleteArgs;
use crate::commands::lifecycle::usage;
use crate::commands::resolve_target;
use crate::error::Hinted;
use crate::open::Opener;
use crate::output::Printer;

/// What deleting a manifest takes with it besides the tag named.
struct Collateral {
    /// The other tags naming the manifest.
    tags: Vec<String>,
    /// Its referrers, by digest and artifact type.
    referrers: Vec<(Digest, Option<String>)>,
}

impl Collateral {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.referrers.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.tags.is_empty() {
            parts.push(format!(
                "{} ({})",
                plural(self.tags.len() as u64, "other tag"),
                self.tags.join(", ")
            ));
        }
        if !self.referrers.is_empty() {
            let list: Vec<String> = self
                .referrers
                .iter()
                .map(|(d, t)| match t {
                    Some(t) => format!("{d} {t}"),
                    None => d.to_string(),
                })
                .collect();
            parts.push(format!(
                "{} left without its subject ({})",
                plural(self.referrers.len() as u64, "referrer"),
                list.join(", ")
            ));
        }
        parts.join(" and ")
    }
}

/// The tags of `store` other than `named` that name `digest`, and `digest`'s referrers.
async fn collateral(
    store: &dyn Store,
    digest: &Digest,
    named: Option<&str>,
) -> anyhow::Result<Collateral> {
    let tags = store
        .tags_naming(digest)
        .await?
        .into_iter()
        .filter(|t| Some(t.as_str()) != named)
        .collect();
    let referrers = store
        .referrers(digest, None)
        .await?
        .into_iter()
        .map(|d| (d.digest, d.artifact_type))
        .collect();
    Ok(Collateral { tags, referrers })
}

/// `lineage delete REF [--force | --untag]`.
pub async fn run(opener: &Opener, printer: Printer, a: &DeleteArgs) -> anyhow::Result<()> {
    let r = &a.reference;
    let named = match r.written_target() {
        Some(TagOrDigest::Tag(t)) => Some(t),
        _ => None,
    };
    let store = opener.write(r).await?;
    if a.untag {
        let Some(tag) = named else {
            return Err(usage(anyhow::anyhow!(
                "--untag removes a tag, but `{r}` names no tag"
            )));
        };
        store
            .tag_delete(&tag)
            .await
            .with_context(|| format!("cannot remove the tag `{tag}` from {}", store.name()))?;
        store.flush().await?;
        note!(printer, "Removed the tag `{r}`; the manifest stays");
        return Ok(());
    }
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot delete `{r}`"))?;
    let goes = collateral(store.as_ref(), &desc.digest, named.as_deref())
        .await
        .with_context(|| format!("cannot tell what deleting `{r}` would take with it"))?;
    if !goes.is_empty() && !a.force {
        let hint = match &named {
            Some(tag) => format!(
                "pass --force to delete them too, or --untag to remove only the tag `{tag}`"
            ),
            None => "pass --force to delete them too".to_string(),
        };
        return Err(anyhow::Error::new(Hinted {
            error: anyhow::anyhow!(
                "deleting `{r}` deletes the manifest {}, and with it {}",
                desc.digest,
                goes.describe()
            ),
            hint,
        }));
    }
    store
        .manifest_delete(&desc.digest)
        .await
        .with_context(|| format!("cannot delete {} from {}", desc.digest, store.name()))?;
    store.flush().await?;
    note!(printer, "Deleted `{r}` ({})", desc.digest);
    if !goes.is_empty() {
        note!(printer, "  also gone: {}", goes.describe());
    }
    outln!("{}", desc.digest)?;
    Ok(())
}
