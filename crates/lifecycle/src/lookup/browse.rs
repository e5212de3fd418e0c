//! What a browsing client (the dashboard) reads besides a status: a repository's tags and
//! lineages, the revisions of one lineage with their statuses and release times, and an
//! image's own facts (its annotations, its referrers listing). Every status here is still
//! [`Lookup::lookup`]'s, that is `Engine::status_from` over the lookup's cached facts; the
//! extra reads go through the same store opener (so the same scope), the same per-registry
//! limit and the same caches, so a page that shows a status and its referrers costs no more
//! requests than the status alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use lineage_oci::{Descriptor, Digest, ImageRef, TagOrDigest, time};

use super::{Lookup, LookupError};
use crate::engine::EngineError;
use crate::facts::FactSource;
use crate::profile::{ANNOTATION_CREATED, revision_of};
use crate::record::{Record, Records};
use crate::status::Status;

/// One image as a browsing client shows it: its status and the facts it was decided from.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    /// The status (DESIGN §4), as [`Lookup::lookup`] gives it.
    pub status: Status,
    /// The image manifest's (or index's) own annotations.
    pub annotations: BTreeMap<String, String>,
    /// The image's `org.opencontainers.image.created`: its release time.
    pub created: Option<DateTime<Utc>>,
    /// The referrers listing of the image's digest, any artifact types.
    pub referrers: Arc<[Descriptor]>,
    /// The lifecycle records among them, in listing order (the engine's namespaces and
    /// Microsoft's; [`crate::effective`] picks the one in effect).
    pub records: Vec<Record>,
}

/// One revision of a lineage: its revision tag, and its status or why there is none.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The revision tag, `V-R`.
    pub tag: String,
    /// The revision, `R`.
    pub revision: String,
    /// The revision's status (its reference is `REPOSITORY:V-R`).
    pub status: Result<Status, LookupError>,
    /// The image's `org.opencontainers.image.created`: its release time.
    pub created: Option<DateTime<Utc>>,
}

/// The lineages among `tags`: each version (a tag `V` such that some tag `V-R` exists) with
/// its revision tags, in tag order. A tag may count in more than one lineage when versions
/// nest (`1` and `1.0`); that is how `lineage history` reads them too.
pub fn lineages(tags: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for version in tags {
        let revisions: Vec<String> = tags
            .iter()
            .filter(|t| revision_of(t, version).is_some())
            .cloned()
            .collect();
        if !revisions.is_empty() {
            out.insert(version.clone(), revisions);
        }
    }
    out
}

/// `repository` (`REGISTRY/REPO`, any tag or digest ignored) parsed, or why it does not
/// parse.
fn repository_of(repository: &str) -> Result<ImageRef, LookupError> {
    ImageRef::parse(repository).map_err(|error| LookupError::InvalidReference {
        reference: repository.to_string(),
        error,
    })
}

fn created_of(annotations: &BTreeMap<String, String>) -> Option<DateTime<Utc>> {
    annotations
        .get(ANNOTATION_CREATED)
        .and_then(|c| time::parse_lenient(c).ok())
}

impl Lookup {
    /// The tags of `repository` (`REGISTRY/REPO`), one store request within the registry's
    /// limit (not cached: a dashboard shows what is there now).
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, LookupError> {
        let image = repository_of(repository)?;
        let inner = &self.inner;
        let engine_error = |source| LookupError::Engine {
            reference: repository.to_string(),
            source,
        };
        let store = inner.store(&image).await.map_err(engine_error)?;
        let read = async { store.tag_list().await.map_err(EngineError::from) };
        inner
            .request(image.registry(), read)
            .await
            .map_err(engine_error)
    }

    /// The referrers listing of `digest` in `repository` (`REGISTRY/REPO`), any artifact
    /// types, from the lookup's cache of listings.
    pub async fn referrers_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Arc<[Descriptor]>, LookupError> {
        let image = repository_of(repository)?;
        let source = self.inner.source(&image);
        source
            .referrers(digest)
            .await
            .map_err(|source| LookupError::Engine {
                reference: format!("{}@{digest}", image.repository_ref()),
                source,
            })
    }

    /// The status of `reference` at `at` ([`Lookup::lookup`]) with the facts it was decided
    /// from: read again from the cache the lookup just filled, so no extra store request.
    pub async fn image(
        &self,
        reference: &str,
        at: DateTime<Utc>,
    ) -> Result<ImageFacts, LookupError> {
        let image = ImageRef::parse(reference).map_err(|error| LookupError::InvalidReference {
            reference: reference.to_string(),
            error,
        })?;
        let status = self.lookup_image(reference, &image, at).await?;
        let inner = &self.inner;
        let source = inner.source(&image);
        let engine_error = |source| LookupError::Engine {
            reference: reference.to_string(),
            source,
        };
        let target = image.target();
        let mut manifest = source.manifest(Some(&target)).await.map_err(engine_error)?;
        if manifest.digest != status.digest {
            // The tag moved between the two reads: the facts of the digest the status is of.
            let by_digest = TagOrDigest::Digest(status.digest.clone());
            manifest = source
                .manifest(Some(&by_digest))
                .await
                .map_err(engine_error)?;
        }
        let referrers = source
            .referrers(&status.digest)
            .await
            .map_err(engine_error)?;
        let records = Records::read(&referrers, &inner.engine.namespaces).records;
        Ok(ImageFacts {
            records,
            created: created_of(&manifest.annotations),
            annotations: manifest.annotations.clone(),
            referrers,
            status,
        })
    }

    /// Every revision of lineage `version` in `repository` (`REGISTRY/REPO`), oldest first
    /// (by revision, as `lineage history` orders them), each with its status at `at` and its
    /// release time; the revisions are looked up concurrently, within the registry's limit.
    pub async fn revisions(
        &self,
        repository: &str,
        version: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Revision>, LookupError> {
        let tags = self.tags(repository).await?;
        let base = repository_of(repository)?.repository_ref();
        let base = base.as_str();
        let mut revisions: Vec<(String, String)> = tags
            .iter()
            .filter_map(|t| revision_of(t, version).map(|r| (t.clone(), r.to_string())))
            .collect();
        revisions.sort_by(|a, b| a.1.cmp(&b.1));
        let looked = join_all(revisions.into_iter().map(|(tag, revision)| async move {
            let reference = format!("{base}:{tag}");
            let (status, created) = match self.image(&reference, at).await {
                Ok(facts) => (Ok(facts.status), facts.created),
                Err(e) => (Err(e), None),
            };
            Revision {
                tag,
                revision,
                status,
                created,
            }
        }))
        .await;
        Ok(looked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineages_are_versions_with_revision_tags() {
        let tags: Vec<String> = [
            "1.0",
            "1.0-20230707",
            "1.0-20230710",
            "latest",
            "2.0",
            "x-1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let l = lineages(&tags);
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!(l["1.0"], ["1.0-20230707", "1.0-20230710"]);
    }
}
