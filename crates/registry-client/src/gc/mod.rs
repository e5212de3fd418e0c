//! Referrer hygiene for one repository of a registry (`lineage gc`): what the referrers tag
//! schema leaves behind, found and, on request, removed without losing anything live.
//!
//! What it finds (DESIGN §2.3 says how the tag schema works):
//! - **orphaned indexes**: a `sha256-<hex>` tag whose subject is gone, with the referrers
//!   only it names, recursively (referrers of referrers, through their own tags or the
//!   referrers API);
//! - **stale entries**: entries of a live index naming manifests that no longer exist;
//! - **redundant indexes**: on a registry that now serves the referrers API, a tag whose
//!   every entry the API lists too (removed only with `migrate`);
//! - **unprotected referrers**: live referrers no tag names, which a registry garbage
//!   collector that deletes untagged manifests (`docker-registry garbage-collect
//!   --delete-untagged`) would remove.
//!
//! [`scan`] reads, [`plan`] decides (pure), [`apply`] deletes. The safety rules, each in one
//! place: a manifest that a tag names is never deleted ([`plan`]); right before each level
//! of a tree's deletes (a referrer's own referrers are a level below it) the subject is
//! checked to be still gone, and right before an index is deleted it is checked to be
//! unchanged ([`apply`]);
//! indexes of live subjects change only through the store's read, write, read back protocol;
//! the first unexpected answer stops every further delete.

mod apply;
pub mod plan;
mod scan;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest};
use lineage_store::StoreError;
use serde::Serialize;

use crate::RegistryStore;

/// What to do, beyond finding.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Delete what was found (otherwise a dry run).
    pub apply: bool,
    /// Remove redundant referrers tags on a registry that serves the referrers API.
    pub migrate: bool,
    /// List every unprotected referrer (otherwise only their number).
    pub protect: bool,
    /// Remove orphaned referrers only when their `org.opencontainers.image.created` is before
    /// this instant (a referrer without one is kept).
    pub created_before: Option<DateTime<Utc>>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            apply: false,
            migrate: false,
            protect: false,
            created_before: None,
            concurrency: 8,
        }
    }
}

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A referrers tag whose subject is gone.
    OrphanedIndex,
    /// A referrer only an orphaned index (or an orphaned referrer) names.
    OrphanedReferrer,
    /// An entry of a live index naming a manifest that no longer exists.
    StaleEntry,
    /// A referrers tag the referrers API makes redundant.
    RedundantIndex,
    /// A live referrer no tag names.
    UnprotectedReferrer,
}

impl FindingKind {
    /// The kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::OrphanedIndex => "orphaned-index",
            FindingKind::OrphanedReferrer => "orphaned-referrer",
            FindingKind::StaleEntry => "stale-entry",
            FindingKind::RedundantIndex => "redundant-index",
            FindingKind::UnprotectedReferrer => "unprotected-referrer",
        }
    }
}

/// What became of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Deleted (or dropped from its index).
    Removed,
    /// A dry run: would be removed with `--apply`.
    WouldRemove,
    /// Stays; the reason says why.
    Kept,
}

impl Action {
    /// The kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Removed => "removed",
            Action::WouldRemove => "would-remove",
            Action::Kept => "kept",
        }
    }
}

/// One thing found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// The manifest: the index for index kinds, else the referrer.
    pub digest: Digest,
    /// The subject it refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
    /// The referrers tag concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The referrer's artifact type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// What became of it.
    pub action: Action,
    /// Why it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything found in one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReport {
    /// `registry/repository`.
    pub repository: String,
    /// Whether the registry serves the referrers API for this repository.
    pub referrers_api: bool,
    /// Referrers tags read.
    pub indexes: usize,
    /// Live referrers no tag names (each is a finding only with `protect`).
    pub unprotected: usize,
    /// What was found, and what became of it.
    pub findings: Vec<Finding>,
    /// The manifests that have referrers, for the lifecycle record compaction.
    #[serde(skip)]
    pub subjects: Vec<Digest>,
    /// Every manifest a tag (other than a referrers tag) names.
    #[serde(skip)]
    pub tagged: BTreeSet<Digest>,
    /// The referrers of live subjects as the scan read them, where the record compaction may
    /// start from them ([`plan::Facts::listings`]).
    #[serde(skip)]
    pub listings: BTreeMap<Digest, Vec<Descriptor>>,
}

/// A step of a run, for progress on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcEvent {
    /// The repository was read.
    Scanned {
        /// Tags read.
        tags: usize,
        /// Referrers tags among them.
        indexes: usize,
    },
    /// Deleting starts: this many manifests and index changes.
    Removing {
        /// How many.
        total: usize,
    },
    /// One more removed.
    Removed,
}

/// Called with each step.
pub type Progress<'a> = &'a (dyn Fn(&GcEvent) + Send + Sync);

/// Why a run failed or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GcError {
    /// The repository could not be read; nothing was deleted.
    #[error("cannot read {what} of {repository}")]
    Read {
        /// `registry/repository`.
        repository: String,
        /// What was being read.
        what: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The registry answered unexpectedly while deleting; every further delete was skipped.
    #[error("stopped at {digest} in {repository}: {operation} was not answered as expected")]
    Stopped {
        /// `registry/repository`.
        repository: String,
        /// The manifest concerned.
        digest: Digest,
        /// What was being done.
        operation: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// The outcome of [`run`]: the report, and the error that stopped deleting, if any.
#[derive(Debug)]
pub struct GcRun {
    /// What was found and done.
    pub report: RepositoryReport,
    /// Set when the registry answered unexpectedly and deleting stopped.
    pub stopped: Option<GcError>,
}

/// Find (and with `options.apply`, remove) the referrer garbage of one repository.
pub async fn run(
    store: &RegistryStore,
    options: &GcOptions,
    progress: Progress<'_>,
) -> Result<GcRun, GcError> {
    let facts = scan::scan(store, options).await?;
    progress(&GcEvent::Scanned {
        tags: facts.tags.len() + facts.indexes.len(),
        indexes: facts.indexes.len(),
    });
    let planned = plan::plan(&facts, options);
    let mut report = RepositoryReport {
        repository: lineage_store::ReadStore::name(store).to_string(),
        referrers_api: facts.api,
        indexes: facts.indexes.len(),
        unprotected: planned.unprotected.len(),
        findings: Vec::new(),
        subjects: facts.subjects(),
        tagged: facts.tagged(),
        listings: facts.listings(&planned),
    };
    let stopped = apply::apply(store, &facts, &planned, options, progress, &mut report).await;
    report
        .findings
        .sort_by(|a, b| (a.kind, &a.digest).cmp(&(b.kind, &b.digest)));
    Ok(GcRun { report, stopped })
}
