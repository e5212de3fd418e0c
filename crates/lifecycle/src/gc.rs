//! Redundant lifecycle records (`lineage gc --compact-records`): records on one subject that
//! repeat the record just before them and so change nothing, found from the referrers
//! listing (read here, or handed over by a caller that has just read it) and, on request,
//! deleted.
//!
//! The rule ([`redundant`]): order a subject's records as [`crate::effective`] does (newest
//! last); a record is redundant when it has the same artifactType and the same annotations,
//! `org.opencontainers.image.created` aside, as the record just before it. The newest record
//! (the one that decides the verdict) always stays, and so does every record that differs
//! from the one before it (it changed the verdict, or what the history shows, when written).
//! Records a tag names, records with referrers of their own (a signature) and, with
//! `created_before`, records not older than that stay too. Before each delete the listing is
//! read again and the record must still be redundant in it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, stream};
use lineage_oci::{Descriptor, Digest};
use lineage_store::{Store, StoreError};
use serde::Serialize;

use crate::profile::{ANNOTATION_CREATED, Namespace};
use crate::record::Records;

/// What became of a redundant record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordAction {
    /// Deleted.
    Removed,
    /// A dry run, or compaction not asked for: would be removed.
    WouldRemove,
    /// Stays; the reason says why.
    Kept,
}

/// A redundant record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordFinding {
    /// The image the record is about.
    pub subject: Digest,
    /// The record manifest.
    pub digest: Digest,
    /// Its artifact type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Its `org.opencontainers.image.created`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The record it repeats (the one before it).
    pub repeats: Digest,
    /// What became of it.
    pub action: RecordAction,
    /// Why it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How to compact.
#[derive(Debug, Clone, Default)]
pub struct CompactOptions {
    /// Whether compaction was asked for: without it every finding is kept.
    pub compact: bool,
    /// Delete redundant records (otherwise a dry run).
    pub apply: bool,
    /// The namespaces whose records are read.
    pub namespaces: Vec<Namespace>,
    /// Delete only records created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Manifests a tag names: never deleted.
    pub tagged: BTreeSet<Digest>,
    /// Subjects worked on at once.
    pub concurrency: usize,
    /// Referrers listings read moments ago (by gc's scan of the same repository), by subject:
    /// redundant records are found in these instead of in listings read again. A record is
    /// still deleted only after its subject's listing is read again and it is still redundant.
    pub listings: BTreeMap<Digest, Vec<Descriptor>>,
}

/// Why compaction stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The store answered unexpectedly; nothing more was deleted.
    #[error("stopped at record {record} of {subject} in {store}: {operation} failed")]
    Stopped {
        /// The store.
        store: String,
        /// The image.
        subject: Digest,
        /// The record (or the subject, when listing failed).
        record: Digest,
        /// What was being done.
        operation: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// The content that makes two records the same: artifactType and annotations but `created`.
fn content(d: &Descriptor) -> (Option<&str>, BTreeMap<&str, &str>) {
    let annotations = d
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != ANNOTATION_CREATED)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (d.artifact_type.as_deref(), annotations)
}

/// The redundant records among `listing` (a subject's referrers), each with the record it
/// repeats; see the module docs for the rule.
pub fn redundant<'a>(
    listing: &'a [Descriptor],
    namespaces: &[Namespace],
) -> Vec<(&'a Descriptor, &'a Descriptor)> {
    let mut records = Records::read(listing, namespaces).records;
    records.sort_by(|a, b| a.recency_cmp(b));
    let by_digest = |d: &Digest| listing.iter().find(|x| &x.digest == d);
    let ordered: Vec<&Descriptor> = records
        .iter()
        .filter_map(|r| by_digest(&r.digest))
        .collect();
    let mut out = Vec::new();
    // The newest (last) always stays.
    for i in 1..ordered.len().saturating_sub(1) {
        let (before, this) = (ordered[i - 1], ordered[i]);
        if content(before) == content(this) {
            out.push((this, before));
        }
    }
    out
}

/// Find (and with `options.apply`, delete) the redundant records of every subject.
/// Returns the findings, and the error that stopped deleting, if any.
pub async fn compact(
    store: &dyn Store,
    subjects: &[Digest],
    options: &CompactOptions,
) -> (Vec<RecordFinding>, Option<CompactError>) {
    let stop: std::sync::Mutex<Option<CompactError>> = std::sync::Mutex::new(None);
    let per_subject: Vec<Vec<RecordFinding>> = stream::iter(subjects)
        .map(|s| compact_one(store, s, options, &stop))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut findings: Vec<RecordFinding> = per_subject.into_iter().flatten().collect();
    findings.sort_by(|a, b| (&a.subject, &a.digest).cmp(&(&b.subject, &b.digest)));
    (findings, stop.into_inner().ok().flatten())
}

fn stopped(stop: &std::sync::Mutex<Option<CompactError>>) -> bool {
    stop.lock().map(|s| s.is_some()).unwrap_or(true)
}

fn set_stop(stop: &std::sync::Mutex<Option<CompactError>>, e: CompactError) {
    if let Ok(mut s) = stop.lock()
        && s.is_none()
    {
        *s = Some(e);
    }
}

async fn compact_one(
    store: &dyn Store,
    subject: &Digest,
    options: &CompactOptions,
    stop: &std::sync::Mutex<Option<CompactError>>,
) -> Vec<RecordFinding> {
    let fail =
        |record: &Digest, operation: &'static str, source: StoreError| CompactError::Stopped {
            store: store.name().to_string(),
            subject: subject.clone(),
            record: record.clone(),
            operation,
            source,
        };
    if stopped(stop) {
        return Vec::new();
    }
    let read;
    let listing = match options.listings.get(subject) {
        Some(known) => known,
        None => match store.referrers(subject, None).await {
            Ok(l) => {
                read = l;
                &read
            }
            Err(e) if e.is_not_found() => return Vec::new(),
            Err(e) => {
                set_stop(stop, fail(subject, "listing the referrers", e));
                return Vec::new();
            }
        },
    };
    let mut out = Vec::new();
    for (record, repeats) in redundant(listing, &options.namespaces) {
        let mut f = RecordFinding {
            subject: subject.clone(),
            digest: record.digest.clone(),
            artifact_type: record.artifact_type.clone(),
            created: record.annotation(ANNOTATION_CREATED).map(String::from),
            repeats: repeats.digest.clone(),
            action: RecordAction::WouldRemove,
            reason: None,
        };
        let keep = |f: &mut RecordFinding, why: &str| {
            f.action = RecordAction::Kept;
            f.reason = Some(why.to_string());
        };
        if !options.compact {
            keep(&mut f, "pass --compact-records to remove it");
        } else if options.tagged.contains(&record.digest) {
            keep(&mut f, "a tag names it");
        } else if let Some(limit) = options.created_before
            && f.created
                .as_deref()
                .and_then(|c| lineage_oci::time::parse_lenient(c).ok())
                .is_none_or(|c| c >= limit)
        {
            keep(&mut f, "not older than --older-than");
        } else {
            match store.referrers(&record.digest, None).await {
                Ok(l) if !l.is_empty() => {
                    keep(&mut f, "it has referrers of its own (a signature?)")
                }
                Ok(_) => {}
                Err(e) => {
                    set_stop(
                        stop,
                        fail(&record.digest, "listing the record's referrers", e),
                    );
                    keep(&mut f, "not attempted: gc stopped at an unexpected answer");
                }
            }
        }
        if options.apply && f.action == RecordAction::WouldRemove {
            if stopped(stop) {
                keep(&mut f, "not attempted: gc stopped at an unexpected answer");
            } else {
                remove(store, subject, &mut f, options, stop, &fail).await;
            }
        }
        out.push(f);
    }
    out
}

/// Read the listing again; delete the record if it is still redundant there.
async fn remove(
    store: &dyn Store,
    subject: &Digest,
    f: &mut RecordFinding,
    options: &CompactOptions,
    stop: &std::sync::Mutex<Option<CompactError>>,
    fail: &(dyn Fn(&Digest, &'static str, StoreError) -> CompactError + Sync),
) {
    let fresh = match store.referrers(subject, None).await {
        Ok(l) => l,
        Err(e) => {
            set_stop(stop, fail(&f.digest, "listing the referrers again", e));
            f.action = RecordAction::Kept;
            f.reason = Some("not attempted: gc stopped at an unexpected answer".into());
            return;
        }
    };
    if !redundant(&fresh, &options.namespaces)
        .iter()
        .any(|(r, _)| r.digest == f.digest)
    {
        f.action = RecordAction::Kept;
        f.reason = Some("no longer redundant when checked again".into());
        return;
    }
    match store.manifest_delete(&f.digest).await {
        Ok(()) => f.action = RecordAction::Removed,
        Err(e) if e.is_not_found() => f.action = RecordAction::Removed,
        Err(e) => {
            set_stop(stop, fail(&f.digest, "deleting the record", e));
            f.action = RecordAction::Kept;
            f.reason = Some("not attempted: gc stopped at an unexpected answer".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::referrer;

    const PROFILE: &str = "application/vnd.lineage.image.lifecycle.metadata";

    fn eol(seed: &str, created: &str, at: &str) -> Descriptor {
        referrer(
            seed,
            PROFILE,
            &[
                ("org.opencontainers.image.created", created),
                ("vnd.lineage.image.end-of-life", at),
            ],
        )
    }

    fn restore(seed: &str, created: &str) -> Descriptor {
        referrer(
            seed,
            PROFILE,
            &[("org.opencontainers.image.created", created)],
        )
    }

    fn names<'a>(
        found: &[(&'a Descriptor, &'a Descriptor)],
        all: &[(&str, &Descriptor)],
    ) -> Vec<String> {
        found
            .iter()
            .map(|(r, _)| {
                all.iter()
                    .find(|(_, d)| d.digest == r.digest)
                    .map(|(n, _)| n.to_string())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn repeats_go_but_the_newest_and_every_change_stay() {
        let a1 = eol("a1", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z");
        let a2 = eol("a2", "2024-01-02T00:00:00Z", "2024-02-01T00:00:00Z");
        let a3 = eol("a3", "2024-01-03T00:00:00Z", "2024-02-01T00:00:00Z");
        let r = restore("r", "2024-01-04T00:00:00Z");
        let a4 = eol("a4", "2024-01-05T00:00:00Z", "2024-02-01T00:00:00Z");
        let a5 = eol("a5", "2024-01-06T00:00:00Z", "2024-02-01T00:00:00Z");
        let sbom = referrer("sbom", "application/spdx+json", &[]);
        // Listing order is not recency order.
        let listing = vec![
            a3.clone(),
            sbom.clone(),
            a1.clone(),
            a5.clone(),
            r.clone(),
            a2.clone(),
            a4.clone(),
        ];
        let all = [
            ("a1", &a1),
            ("a2", &a2),
            ("a3", &a3),
            ("r", &r),
            ("a4", &a4),
            ("a5", &a5),
        ];
        let found = redundant(&listing, &[Namespace::default()]);
        // a1 changed the verdict, a2 and a3 repeat it; r and a4 change it; a5 is the newest.
        assert_eq!(names(&found, &all), vec!["a2", "a3"]);
        assert_eq!(found[0].1.digest, a1.digest, "a2 repeats a1");
    }

    #[test]
    fn a_different_value_or_a_lone_record_is_not_redundant() {
        let a1 = eol("a1", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z");
        let b = eol("b", "2024-01-02T00:00:00Z", "2024-03-01T00:00:00Z");
        let a2 = eol("a2", "2024-01-03T00:00:00Z", "2024-02-01T00:00:00Z");
        let ns = [Namespace::default()];
        assert!(redundant(&[a1.clone(), b, a2.clone()], &ns).is_empty());
        assert!(
            redundant(&[a1.clone(), a2], &ns).is_empty(),
            "the newest stays"
        );
        assert!(redundant(&[a1], &ns).is_empty());
    }
}
