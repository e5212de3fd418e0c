//! Following successors to the image to move to.
//!
//! A record names the successor of its day: revision 1 names revision 2. When revision 2 has
//! since been retired too, telling a user to move from 1 to 2 sends them to another end-of-life
//! image, and `lineage update` run twice would move the file twice. The tools that act on a
//! status (the updater, the report, the fleet audit) want the end of the chain instead: follow
//! the successors while each is end-of-life or superseded and names one of its own.
//!
//! `lineage status` and the lookup route keep the recorded successor (DESIGN §4): that is the
//! record's fact; the chain is a decision made from many records.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use lineage_oci::{Digest, ImageRef, TagOrDigest};

use crate::lookup::{Lookup, LookupError};
use crate::status::{State, Status, Successor};

/// The most successors followed from one image; a longer chain ends at the last one reached.
/// Chains inside one lineage are cut short by its rolling tag, so this bounds only chains
/// across lineages.
pub const MAX_SUCCESSOR_HOPS: usize = 32;

impl Lookup {
    /// `status` with its successor replaced by the image to move to at `at`: while the
    /// successor is end-of-life or superseded itself, the newest revision of its lineage when
    /// the rolling tag names one still supported or scheduled (see `Lookup::newest_of`),
    /// else the successor it names in turn. The chain ends at a successor that cannot be
    /// looked up (the last one reached stands), before an image already on the chain (a
    /// cycle), and after `MAX_SUCCESSOR_HOPS` (32). The successor returned carries the digest
    /// and revision its lookup found where the record named only a reference. A status
    /// without a successor is returned as it is.
    pub async fn follow_successors(&self, mut status: Status, at: DateTime<Utc>) -> Status {
        let Some(first) = status.successor.take() else {
            return status;
        };
        let mut seen = HashSet::from([status.digest.clone()]);
        let mut best = first;
        // The successor before `best`, known to be a new image.
        let mut previous: Option<Successor> = None;
        let mut base = ImageRef::parse(&status.reference).ok();
        for _ in 0..MAX_SUCCESSOR_HOPS {
            let Some(image) = successor_image(base.as_ref(), &best) else {
                break;
            };
            let Ok(found) = self.lookup_image(&image.to_string(), &image, at).await else {
                break;
            };
            if !seen.insert(found.digest.clone()) {
                // `best` names an image already on the chain.
                if let Some(p) = previous {
                    best = p;
                }
                break;
            }
            best.digest.get_or_insert_with(|| found.digest.clone());
            if best.revision.is_none() {
                best.revision = found.revision.clone();
            }
            if !found.state.is_retired() {
                break;
            }
            if let Some(newest) = self.newest_of(&image, &found, &seen, at).await {
                best = newest;
                break;
            }
            let Some(next) = found.successor else {
                break;
            };
            previous = Some(std::mem::replace(&mut best, next));
            base = Some(image);
        }
        status.successor = Some(best);
        status
    }

    /// [`Lookup::follow_successors`] for each status of `results` (a batch from
    /// [`Lookup::lookup_many`]), concurrently; failures pass through. With a `budget`, a status
    /// whose chain takes longer to follow keeps its recorded successor.
    pub async fn follow_many(
        &self,
        results: Vec<Result<Status, LookupError>>,
        at: DateTime<Utc>,
        budget: Option<Duration>,
    ) -> Vec<Result<Status, LookupError>> {
        join_all(results.into_iter().map(|r| async move {
            let status = r?;
            if status.successor.is_none() {
                return Ok(status);
            }
            let followed = self.follow_successors(status.clone(), at);
            Ok(match budget {
                None => followed.await,
                Some(b) => tokio::time::timeout(b, followed).await.unwrap_or(status),
            })
        }))
        .await
    }

    /// The newest revision of the lineage of `found` (the image `image` names), when its
    /// rolling tag (the version, DESIGN §1) names an image that is not on the chain (`seen`)
    /// and is supported or scheduled; named by the revision tag `VERSION-REVISION` that
    /// `lineage release` writes, and only when that tag names the same image (a reference
    /// written into a file must not be the rolling tag).
    async fn newest_of(
        &self,
        image: &ImageRef,
        found: &Status,
        seen: &HashSet<Digest>,
        at: DateTime<Utc>,
    ) -> Option<Successor> {
        let tagged = |tag: String| image.clone().with_target(Some(TagOrDigest::Tag(tag)));
        let version = found.version.as_deref()?;
        let newest = self
            .lookup(&tagged(version.to_string()).to_string(), at)
            .await
            .ok()?;
        if seen.contains(&newest.digest)
            || !matches!(newest.state, State::Supported | State::Scheduled)
        {
            return None;
        }
        let revision = newest.revision?;
        let pinned = tagged(crate::profile::revision_tag(version, &revision)).to_string();
        let check = self.lookup(&pinned, at).await.ok()?;
        (check.digest == newest.digest).then_some(Successor {
            reference: Some(pinned),
            digest: Some(newest.digest),
            revision: Some(revision),
        })
    }
}

/// The image a successor names: its reference (by digest when the digest is known, so a tag
/// moved since is not read), or, for a successor recorded by digest alone, that digest in
/// `base`'s repository.
fn successor_image(base: Option<&ImageRef>, successor: &Successor) -> Option<ImageRef> {
    let by_digest = successor
        .digest
        .as_ref()
        .map(|d| TagOrDigest::Digest(d.clone()));
    match &successor.reference {
        Some(r) => {
            let image = ImageRef::parse(r).ok()?;
            Some(match by_digest {
                Some(target) if image.digest().is_none() => image.with_target(Some(target)),
                _ => image,
            })
        }
        None => Some(base?.clone().with_target(Some(by_digest?))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use lineage_oci::RawManifest;
    use lineage_oci::time::parse_lenient;
    use lineage_store::{LayoutStore, ReadStore, Store, StoreError};

    use super::*;
    use crate::lookup::tests::push_image;
    use crate::{Engine, LookupOptions, Reason, RecordSpec, StoreOpener};

    /// Every repository is the one layout.
    struct One(Arc<LayoutStore>);

    #[async_trait]
    impl StoreOpener for One {
        async fn open(&self, _: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
            Ok(self.0.clone())
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        parse_lenient(s).unwrap()
    }

    fn reference(revision: &str) -> String {
        format!("reg.example/app:1.0-{revision}")
    }

    async fn retire(
        layout: &LayoutStore,
        image: &RawManifest,
        end_of_life: &str,
        successor: Option<String>,
        superseded_by: Option<Digest>,
    ) {
        let spec = RecordSpec {
            created: t(end_of_life),
            end_of_life: Some(t(end_of_life)),
            reason: Some(Reason::Superseded),
            successor,
            superseded_by,
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        };
        Engine::default()
            .write_record(layout, &image.descriptor(), &spec)
            .await
            .unwrap();
    }

    /// Revisions 1–4 of `1.0`: 1 names 2 by reference (end-of-life 2023-02-01), 2 names 3 by
    /// reference (2023-03-01), 3 names 4 by digest alone (2023-04-01); 4 has no record. And a
    /// cycle: 8 and 9 name each other, both end-of-life 2023-05-01.
    async fn chain() -> (tempfile::TempDir, Lookup, Vec<RawManifest>) {
        let dir = tempfile::tempdir().unwrap();
        let layout = LayoutStore::open_or_create(dir.path()).unwrap();
        let mut images = Vec::new();
        for r in ["1", "2", "3", "4", "8", "9"] {
            images.push(push_image(&layout, r, "2023-01-01T00:00:00Z").await);
        }
        retire(
            &layout,
            &images[0],
            "2023-02-01",
            Some(reference("2")),
            None,
        )
        .await;
        retire(
            &layout,
            &images[1],
            "2023-03-01",
            Some(reference("3")),
            None,
        )
        .await;
        let four = images[3].digest().clone();
        retire(&layout, &images[2], "2023-04-01", None, Some(four)).await;
        retire(
            &layout,
            &images[4],
            "2023-05-01",
            Some(reference("9")),
            None,
        )
        .await;
        retire(
            &layout,
            &images[5],
            "2023-05-01",
            Some(reference("8")),
            None,
        )
        .await;
        let lookup = Lookup::new(
            Engine::default(),
            Arc::new(One(Arc::new(layout))),
            LookupOptions::default(),
        );
        (dir, lookup, images)
    }

    async fn followed(lookup: &Lookup, revision: &str, at: &str) -> Status {
        let status = lookup.lookup(&reference(revision), t(at)).await.unwrap();
        lookup.follow_successors(status, t(at)).await
    }

    #[tokio::test]
    async fn the_chain_is_followed_to_an_image_still_supported() {
        let (_dir, lookup, images) = chain().await;
        let s = followed(&lookup, "1", "2024-01-01").await;
        assert_eq!(s.state, State::EndOfLife);
        let successor = s.successor.unwrap();
        // 3 names 4 by digest alone: the reference stays the last one recorded, the digest is 4.
        assert_eq!(successor.digest.as_ref(), Some(images[3].digest()));
        assert_eq!(successor.reference, None);
        assert_eq!(successor.revision.as_deref(), Some("4"));
    }

    #[tokio::test]
    async fn the_chain_ends_where_the_successor_was_still_supported_at_the_time() {
        let (_dir, lookup, images) = chain().await;
        let s = followed(&lookup, "1", "2023-02-15").await;
        let successor = s.successor.unwrap();
        assert_eq!(successor.reference, Some(reference("2")));
        // The digest the lookup found is filled in.
        assert_eq!(successor.digest.as_ref(), Some(images[1].digest()));
        let s = followed(&lookup, "1", "2023-03-15").await;
        assert_eq!(s.successor.unwrap().reference, Some(reference("3")));
    }

    /// With the rolling tag `1.0` on revision 4, a chain retired past its first successor
    /// jumps to revision 4, named by its revision tag.
    #[tokio::test]
    async fn the_rolling_tag_cuts_the_chain_short() {
        let (dir, lookup, images) = chain().await;
        let layout = LayoutStore::open(dir.path()).unwrap();
        layout.manifest_put(&images[3], Some("1.0")).await.unwrap();
        let s = followed(&lookup, "1", "2024-01-01").await;
        assert_eq!(
            s.successor,
            Some(Successor {
                reference: Some(reference("4")),
                digest: Some(images[3].digest().clone()),
                revision: Some("4".into()),
            })
        );
        // 1, its successor 2, the rolling tag and the revision tag: revision 3 was never
        // looked up.
        assert_eq!(lookup.metrics().lookups, 4);
    }

    #[tokio::test]
    async fn a_cycle_ends_before_an_image_already_on_the_chain() {
        let (_dir, lookup, images) = chain().await;
        let s = followed(&lookup, "8", "2024-01-01").await;
        let successor = s.successor.unwrap();
        assert_eq!(successor.reference, Some(reference("9")));
        assert_eq!(successor.digest.as_ref(), Some(images[5].digest()));
    }

    #[tokio::test]
    async fn a_successor_that_cannot_be_looked_up_stands_as_recorded() {
        let (_dir, lookup, _images) = chain().await;
        let mut status = lookup
            .lookup(&reference("1"), t("2024-01-01"))
            .await
            .unwrap();
        let gone = Successor {
            reference: Some(reference("gone")),
            digest: None,
            revision: None,
        };
        status.successor = Some(gone.clone());
        let s = lookup.follow_successors(status, t("2024-01-01")).await;
        assert_eq!(s.successor, Some(gone));
    }

    #[tokio::test]
    async fn a_batch_is_followed_in_order_and_failures_pass_through() {
        let (_dir, lookup, images) = chain().await;
        let at = t("2024-01-01");
        let refs = [reference("1"), reference("missing"), reference("4")];
        let results = lookup.lookup_many(&refs, at).await;
        let followed = lookup.follow_many(results, at, None).await;
        assert_eq!(followed.len(), 3);
        let first = followed[0].as_ref().unwrap();
        assert_eq!(
            first.successor.as_ref().unwrap().digest.as_ref(),
            Some(images[3].digest())
        );
        assert!(followed[1].as_ref().unwrap_err().is_not_found());
        assert_eq!(followed[2].as_ref().unwrap().digest, *images[3].digest());
    }

    #[tokio::test]
    async fn a_supported_image_is_returned_as_it_is() {
        let (_dir, lookup, _images) = chain().await;
        let status = lookup
            .lookup(&reference("4"), t("2024-01-01"))
            .await
            .unwrap();
        let s = lookup
            .follow_successors(status.clone(), t("2024-01-01"))
            .await;
        assert_eq!(s, status);
    }
}
