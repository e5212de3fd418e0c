//! Reading a repository for gc: its tags, every referrers tag and its index, whether the
//! subjects and entries exist, and with the referrers API its listings.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use lineage_oci::referrers::subject_of_fallback_tag;
use lineage_oci::{Descriptor, Digest, TagOrDigest, media_type};
use lineage_store::{ReadStore as _, StoreError};

use super::plan::{Facts, IndexFacts};
use super::{GcError, GcOptions};
use crate::RegistryStore;
use crate::store::{manifest, referrers};

fn read_error(store: &RegistryStore, what: impl Into<String>) -> impl Fn(StoreError) -> GcError {
    let repository = lineage_store::ReadStore::name(store).to_string();
    let what = what.into();
    move |source| GcError::Read {
        repository: repository.clone(),
        what: what.clone(),
        source,
    }
}

/// Read everything [`super::plan::plan`] decides from.
pub(super) async fn scan(store: &RegistryStore, options: &GcOptions) -> Result<Facts, GcError> {
    let n = options.concurrency.max(1);
    let all = store
        .tag_list()
        .await
        .map_err(read_error(store, "the tags"))?;
    let (fallback, plain): (Vec<String>, Vec<String>) = all
        .into_iter()
        .partition(|t| subject_of_fallback_tag(t).is_some());

    // What every other tag names (the HEAD also tells its media type).
    let named: BTreeMap<String, Descriptor> = stream::iter(plain)
        .map(|t| async move {
            match store.resolve(&TagOrDigest::Tag(t.clone())).await {
                Ok(d) => Ok(Some((t, d))),
                // A tag deleted meanwhile names nothing.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(read_error(store, format!("the tag `{t}`"))(e)),
            }
        })
        .buffer_unordered(n)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;
    let tags: BTreeMap<String, Digest> = named
        .iter()
        .map(|(t, d)| (t.clone(), d.digest.clone()))
        .collect();
    let tagged_indexes: BTreeSet<Digest> = named
        .values()
        .filter(|d| media_type::is_index(&d.media_type))
        .map(|d| d.digest.clone())
        .collect();

    // Every referrers tag's index.
    let subjects: Vec<Digest> = fallback
        .iter()
        .filter_map(|t| subject_of_fallback_tag(t))
        .collect();
    let indexes: BTreeMap<Digest, IndexFacts> = stream::iter(subjects)
        .map(|s| async move {
            let tag = lineage_oci::referrers::fallback_tag(&s);
            match referrers::read_fallback_strict(store, &s).await {
                Ok(Some((raw, entries))) => Ok(Some((
                    s,
                    IndexFacts {
                        tag,
                        digest: raw.digest().clone(),
                        entries,
                    },
                ))),
                Ok(None) => Ok(None),
                // An index lineage cannot read is never touched.
                Err(StoreError::InvalidInput { message, .. }) => {
                    tracing::warn!(repository = %lineage_store::ReadStore::name(store).to_string(), %tag, %message, "leaving an unusable referrers tag alone");
                    Ok(None)
                }
                Err(e) => Err(read_error(store, format!("the referrers tag `{tag}`"))(e)),
            }
        })
        .buffer_unordered(n)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;

    // Whether each subject, then each entry of a live index, exists: asked by digest even
    // when a tag named it a moment ago, since some registries (crane's) keep serving a tag
    // whose manifest was deleted by digest.
    let mut exists = heads(store, indexes.keys().cloned().collect(), n).await?;
    let live_entries: BTreeSet<Digest> = indexes
        .iter()
        .filter(|(s, _)| exists.get(*s) == Some(&true))
        .flat_map(|(_, i)| i.entries.iter().map(|e| e.digest.clone()))
        .filter(|d| !exists.contains_key(d))
        .collect();
    exists.extend(heads(store, live_entries.into_iter().collect(), n).await?);

    let mut facts = Facts {
        api: false,
        tags,
        indexes,
        exists,
        api_listings: BTreeMap::new(),
        index_children: BTreeSet::new(),
    };
    let probe = facts
        .indexes
        .keys()
        .next()
        .or_else(|| facts.tags.values().next())
        .cloned();
    let Some(probe) = probe else {
        return Ok(facts);
    };
    facts.api = if referrers::uses_tag_schema(store) {
        referrers::from_api(store, &probe, None)
            .await
            .map_err(read_error(store, "the referrers API"))?
            .is_some()
    } else {
        true
    };
    if facts.api {
        read_api(store, &mut facts, &tagged_indexes, n).await?;
    }
    Ok(facts)
}

/// With the referrers API: the listing of every referrers tag's subject (live ones, to judge
/// the tag redundant; gone ones, whose referrers the registry may still list), of everything
/// below a gone subject, and the children of the tagged image indexes (`tagged_indexes`,
/// known from the media types the tags resolved to).
async fn read_api(
    store: &RegistryStore,
    facts: &mut Facts,
    tagged_indexes: &BTreeSet<Digest>,
    n: usize,
) -> Result<(), GcError> {
    let mut asked: BTreeSet<Digest> = BTreeSet::new();
    let mut next: Vec<Digest> = facts.indexes.keys().cloned().collect();
    while !next.is_empty() {
        asked.extend(next.iter().cloned());
        let listings: Vec<(Digest, Vec<Descriptor>)> = stream::iter(next)
            .map(|d| async move {
                let listing = referrers::from_api(store, &d, None)
                    .await
                    .map_err(read_error(store, format!("the referrers of {d}")))?;
                Ok::<_, GcError>((d, listing.unwrap_or_default()))
            })
            .buffer_unordered(n)
            .try_collect()
            .await?;
        next = Vec::new();
        for (d, listing) in listings {
            // Below a gone subject, every referrer's own referrers are needed too.
            let below_gone = facts.gone(&d) || !facts.indexes.contains_key(&d);
            if below_gone {
                next.extend(
                    listing
                        .iter()
                        .chain(
                            facts
                                .indexes
                                .get(&d)
                                .map(|i| i.entries.iter())
                                .into_iter()
                                .flatten(),
                        )
                        .map(|c| c.digest.clone())
                        .filter(|c| !asked.contains(c)),
                );
            }
            facts.api_listings.insert(d, listing);
        }
        next.sort();
        next.dedup();
    }
    // Platform manifests of tagged indexes carry records too (`lineage release` writes them).
    let children: Vec<Digest> = stream::iter(tagged_indexes.iter().cloned())
        .map(|d| async move {
            let raw = match manifest::fetch(store, &TagOrDigest::Digest(d.clone())).await {
                Ok(raw) => raw,
                Err(e) if e.is_not_found() => return Ok(Vec::new()),
                Err(e) => return Err(read_error(store, format!("the manifest {d}"))(e)),
            };
            if !media_type::is_index(raw.media_type()) {
                return Ok(Vec::new());
            }
            Ok(raw
                .view()
                .map(|v| v.manifests.iter().map(|m| m.digest.clone()).collect())
                .unwrap_or_default())
        })
        .buffer_unordered(n)
        .try_collect::<Vec<Vec<Digest>>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    facts.index_children.extend(children);
    Ok(())
}

/// HEAD every digest: whether it exists.
pub(super) async fn heads(
    store: &RegistryStore,
    digests: Vec<Digest>,
    n: usize,
) -> Result<BTreeMap<Digest, bool>, GcError> {
    stream::iter(digests)
        .map(|d| async move {
            manifest::exists(store, &d)
                .await
                .map(|e| (d.clone(), e))
                .map_err(read_error(store, format!("whether {d} exists")))
        })
        .buffer_unordered(n)
        .try_collect()
        .await
}
