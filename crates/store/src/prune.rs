//! Deleting a manifest together with its referrer graph, so a delete never leaves referrers
//! that nothing can reach: a registry without the referrers API finds referrers only through
//! the subject's `sha256-<hex>` tag, which goes with the subject.
//!
//! [`referrer_tree`] reads the graph below a manifest through [`ReadStore::referrers`] (the
//! referrers API, the tag schema or a layout's index alike); a referrer that a tag names is
//! kept, with everything below it, since the tag still reaches it. [`delete_referrers`]
//! deletes the rest leaves first through [`Store::manifest_delete`], so each store keeps its
//! own referrers indexes right as it always does.

use std::collections::{BTreeMap, BTreeSet};

use lineage_oci::{Descriptor, Digest, TagOrDigest};

use crate::error::Result;
use crate::store::{ReadStore, Store};

/// How many referrers one tree may hold; a graph larger than this is refused, not walked.
pub const MAX_NODES: usize = 100_000;

/// The referrers below a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferrerTree {
    /// Referrers to delete with the manifest, each with its subject, leaves first.
    pub delete: Vec<(Descriptor, Digest)>,
    /// Referrers that stay because a tag names them, each with those tags.
    pub kept: Vec<(Descriptor, Vec<String>)>,
}

impl ReferrerTree {
    /// Whether the manifest has no referrers.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.kept.is_empty()
    }
}

/// Every referrer below `root`, recursively, and which of them a tag keeps.
pub async fn referrer_tree(store: &dyn ReadStore, root: &Digest) -> Result<ReferrerTree> {
    let mut tree = ReferrerTree::default();
    let first = store.referrers(root, None).await?;
    if first.is_empty() {
        return Ok(tree);
    }
    let tags = tag_map(store).await?;
    let mut seen: BTreeSet<Digest> = BTreeSet::from([root.clone()]);
    // Depth-first, children before their subject.
    let mut stack: Vec<(Descriptor, Digest, bool)> = first
        .into_iter()
        .rev()
        .map(|d| (d, root.clone(), false))
        .collect();
    while let Some((node, subject, expanded)) = stack.pop() {
        if expanded {
            tree.delete.push((node, subject));
            continue;
        }
        if !seen.insert(node.digest.clone()) {
            continue;
        }
        if seen.len() > MAX_NODES {
            return Err(crate::error::StoreError::InvalidInput {
                store: store.name().to_string(),
                message: format!("{root} has more than {MAX_NODES} referrers below it"),
            });
        }
        if let Some(names) = tags.get(&node.digest) {
            tree.kept.push((node, names.clone()));
            continue;
        }
        let children = store.referrers(&node.digest, None).await?;
        let digest = node.digest.clone();
        stack.push((node, subject, true));
        stack.extend(
            children
                .into_iter()
                .rev()
                .map(|c| (c, digest.clone(), false)),
        );
    }
    Ok(tree)
}

/// What each tag names, a few tags resolved at a time.
async fn tag_map(store: &dyn ReadStore) -> Result<BTreeMap<Digest, Vec<String>>> {
    use futures_util::{StreamExt as _, stream};
    let lookups = store.tag_list().await?.into_iter().map(|t| async move {
        let found = store.resolve(&TagOrDigest::Tag(t.clone())).await;
        (t, found)
    });
    let mut answers = stream::iter(lookups).buffer_unordered(8);
    let mut out: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
    while let Some((tag, found)) = answers.next().await {
        match found {
            Ok(d) => out.entry(d.digest).or_default().push(tag),
            // A tag deleted meanwhile names nothing.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Delete the referrers of `tree`, leaves first; one already gone counts as deleted.
/// Returns how many were deleted.
pub async fn delete_referrers(store: &dyn Store, tree: &ReferrerTree) -> Result<usize> {
    for (node, _) in &tree.delete {
        match store.manifest_delete(&node.digest).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(tree.delete.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutStore;
    use crate::testing::{push_image, push_referrer};

    #[tokio::test]
    async fn the_tree_goes_leaves_first_and_a_tagged_referrer_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayoutStore::open_or_create(dir.path().join("l")).unwrap();
        let image = push_image(&store, "img", 1, Some("v1")).await;
        let sbom = push_referrer(&store, &image, "application/x.sbom", "sbom").await;
        let sig = push_referrer(&store, &sbom, "application/x.sig", "sig").await;
        let pinned = push_referrer(&store, &image, "application/x.pinned", "pinned").await;
        let under_pinned = push_referrer(&store, &pinned, "application/x.sig", "under").await;
        store.manifest_put(&pinned, Some("pinned")).await.unwrap();

        let tree = referrer_tree(&store, image.digest()).await.unwrap();
        let order: Vec<&Digest> = tree.delete.iter().map(|(d, _)| &d.digest).collect();
        assert_eq!(order, vec![sig.digest(), sbom.digest()], "leaves first");
        assert_eq!(tree.delete[0].1, *sbom.digest(), "the signature's subject");
        assert_eq!(tree.kept.len(), 1);
        assert_eq!(&tree.kept[0].0.digest, pinned.digest());
        assert_eq!(tree.kept[0].1, vec!["pinned".to_string()]);

        assert_eq!(delete_referrers(&store, &tree).await.unwrap(), 2);
        for gone in [&sig, &sbom] {
            assert!(!store.manifest_exists(gone.digest()).await.unwrap());
        }
        for stays in [&image, &pinned, &under_pinned] {
            assert!(store.manifest_exists(stays.digest()).await.unwrap());
        }
        let lone = push_image(&store, "lone", 1, None).await;
        assert!(
            referrer_tree(&store, lone.digest())
                .await
                .unwrap()
                .is_empty()
        );
    }
}
