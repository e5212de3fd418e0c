//! `lineage delete REF`: delete a manifest, which by registry semantics takes every tag on
//! it, together with its referrers (recursively, `lineage_store::prune`), so no referrer is
//! left that nothing can reach. What would go beyond the named tag is listed first, and
//! deleting it needs `--force`; `--untag` removes only the named tag.

use anyhow::Context as _;
use lineage_oci::quantity::plural;
use lineage_oci::{Digest, TagOrDigest};
use lineage_store::Store;
use lineage_store::prune::{ReferrerTree, delete_referrers, referrer_tree};

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
    /// Its referrers, recursively, and those a tag keeps.
    referrers: ReferrerTree,
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
        let line = |d: &lineage_oci::Descriptor| match &d.artifact_type {
            Some(t) => format!("{} {t}", d.digest),
            None => d.digest.to_string(),
        };
        if !self.referrers.delete.is_empty() {
            let list: Vec<String> = self.referrers.delete.iter().map(|(d, _)| line(d)).collect();
            parts.push(format!(
                "{} deleted with it, recursively ({})",
                plural(self.referrers.delete.len() as u64, "referrer"),
                list.join(", ")
            ));
        }
        if !self.referrers.kept.is_empty() {
            let list: Vec<String> = self
                .referrers
                .kept
                .iter()
                .map(|(d, tags)| format!("{} (tag {})", line(d), tags.join(", ")))
                .collect();
            parts.push(format!(
                "{} left without its subject, kept because a tag names it ({})",
                plural(self.referrers.kept.len() as u64, "referrer"),
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
    let referrers = referrer_tree(store, digest).await?;
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
    // Referrers first, leaves first: an interrupted delete leaves the subject, through which
    // whatever is left stays reachable.
    delete_referrers(store.as_ref(), &goes.referrers)
        .await
        .with_context(|| {
            format!(
                "cannot delete the referrers of {} in {}",
                desc.digest,
                store.name()
            )
        })?;
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
