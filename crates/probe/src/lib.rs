//! `lineage probe`: what a registry supports of OCI distribution 1.1 and the image spec's
//! artifact features, checked with lineage's own client and reported as one row per check.
//!
//! Registries answer unsupported operations inconsistently (405, 400, a plain-text 404, or
//! silent acceptance), so every check states what counts as support and reports the status
//! and error codes it saw. Without `write`, only `GET` requests are sent (and the token
//! requests auth needs); with it, pushes go to a scratch repository under unique tags and
//! are deleted afterwards where the registry allows.

mod content;
mod read;
pub mod render;
mod session;
mod write;

use std::collections::BTreeMap;
use std::time::Duration;

use lineage_registry_client::RegistryClient;
use serde::Serialize;

pub use session::unique_run_id;

/// A check, in report order. The ids are stable: scripts and documents refer to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// `GET /v2/` answers as a registry (200, or 401 asking for credentials).
    Ping,
    /// How the registry authenticates (none, basic or bearer) and whether lineage gets in.
    Auth,
    /// `GET /v2/<name>/referrers/<digest>` answers 200 with an image index.
    ReferrersApi,
    /// The referrers API filters by `artifactType` and says so in `OCI-Filters-Applied`.
    ReferrersFilter,
    /// The referrers API pages long listings with `Link`.
    ReferrersPagination,
    /// A manifest PUT with `subject` is answered with `OCI-Subject`.
    OciSubjectHeader,
    /// An artifact manifest with `artifactType` and the empty config is accepted.
    ArtifactEmptyConfig,
    /// An artifact manifest with `layers: []` is accepted.
    ArtifactNoLayers,
    /// An image index with `subject` and `artifactType` is accepted.
    IndexSubject,
    /// An image index tagged `sha256-<hex>` (the referrers tag schema) is stored byte-exact.
    ReferrersTagSchema,
    /// `DELETE /v2/<name>/manifests/<digest>` deletes.
    ManifestDelete,
    /// `DELETE /v2/<name>/manifests/<tag>` deletes the tag.
    TagDelete,
    /// `DELETE /v2/<name>/blobs/<digest>` deletes.
    BlobDelete,
    /// `GET /v2/<name>/tags/list` lists tags.
    TagsList,
    /// The tags list honours `n` and pages with `Link`.
    TagsPagination,
    /// `GET /v2/_catalog` lists repositories.
    Catalog,
    /// `POST …/blobs/uploads/?mount=&from=` mounts a blob from another repository (201).
    BlobMount,
    /// A blob uploads in chunks: POST, PATCH, PATCH, PUT.
    ChunkedUpload,
    /// A chunk at the wrong offset is refused with 416.
    ChunkedOutOfOrder,
    /// `POST …/blobs/uploads/?digest=` with the body completes the upload at once (201).
    SinglePostUpload,
    /// A GET of an OCI manifest without OCI types in `Accept` fails.
    AcceptStrict,
    /// A manifest of 4 MiB is accepted.
    Manifest4Mib,
    /// A blob GET with `Range` answers 206 with `Content-Range`.
    BlobRange,
    /// A manifest PUT with `?tag=a&tag=b` creates both tags.
    MultiTagPush,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 24] = [
        CheckId::Ping,
        CheckId::Auth,
        CheckId::ReferrersApi,
        CheckId::ReferrersFilter,
        CheckId::ReferrersPagination,
        CheckId::OciSubjectHeader,
        CheckId::ArtifactEmptyConfig,
        CheckId::ArtifactNoLayers,
        CheckId::IndexSubject,
        CheckId::ReferrersTagSchema,
        CheckId::ManifestDelete,
        CheckId::TagDelete,
        CheckId::BlobDelete,
        CheckId::TagsList,
        CheckId::TagsPagination,
        CheckId::Catalog,
        CheckId::BlobMount,
        CheckId::ChunkedUpload,
        CheckId::ChunkedOutOfOrder,
        CheckId::SinglePostUpload,
        CheckId::AcceptStrict,
        CheckId::Manifest4Mib,
        CheckId::BlobRange,
        CheckId::MultiTagPush,
    ];

    /// The stable id.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Ping => "ping",
            CheckId::Auth => "auth",
            CheckId::ReferrersApi => "referrers-api",
            CheckId::ReferrersFilter => "referrers-filter",
            CheckId::ReferrersPagination => "referrers-pagination",
            CheckId::OciSubjectHeader => "oci-subject-header",
            CheckId::ArtifactEmptyConfig => "artifact-empty-config",
            CheckId::ArtifactNoLayers => "artifact-no-layers",
            CheckId::IndexSubject => "index-subject",
            CheckId::ReferrersTagSchema => "referrers-tag-schema",
            CheckId::ManifestDelete => "manifest-delete",
            CheckId::TagDelete => "tag-delete",
            CheckId::BlobDelete => "blob-delete",
            CheckId::TagsList => "tags-list",
            CheckId::TagsPagination => "tags-pagination",
            CheckId::Catalog => "catalog",
            CheckId::BlobMount => "blob-mount",
            CheckId::ChunkedUpload => "chunked-upload",
            CheckId::ChunkedOutOfOrder => "chunked-out-of-order",
            CheckId::SinglePostUpload => "single-post-upload",
            CheckId::AcceptStrict => "accept-strict",
            CheckId::Manifest4Mib => "manifest-4mib",
            CheckId::BlobRange => "blob-range",
            CheckId::MultiTagPush => "multi-tag-push",
        }
    }

    /// Whether the check pushes or deletes, so it runs only with `--write`.
    pub fn writes(self) -> bool {
        !matches!(
            self,
            CheckId::Ping
                | CheckId::Auth
                | CheckId::ReferrersApi
                | CheckId::ReferrersFilter
                | CheckId::ReferrersPagination
                | CheckId::TagsList
                | CheckId::TagsPagination
                | CheckId::Catalog
                | CheckId::AcceptStrict
                | CheckId::BlobRange
        )
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Supported.
    Yes,
    /// Not supported (the detail says what the registry answered).
    No,
    /// Not run (the detail says why).
    Skipped,
    /// The registry could not be asked, or answered in a way that decides nothing.
    Error,
}

impl Outcome {
    /// The word shown in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Yes => "yes",
            Outcome::No => "no",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub id: CheckId,
    /// Its verdict.
    pub result: Outcome,
    /// One line: the status and error codes seen, or why it was skipped.
    pub detail: String,
}

/// Everything found about one registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The registry as the user named it.
    pub registry: String,
    /// One result per check, in [`CheckId::ALL`] order.
    pub checks: Vec<CheckResult>,
    /// What the probe left behind or could not clean up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// The result of `id`.
    pub fn get(&self, id: CheckId) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The repository checks read from, and (with `write`) push to.
    pub repository: String,
    /// Run the checks that push and delete.
    pub write: bool,
    /// The longest wait for any one request.
    pub timeout: Duration,
    /// Makes tags and content of this run unique.
    pub run_id: String,
}

/// Called with each result as it is decided.
pub type Progress<'a> = &'a (dyn Fn(&str, &CheckResult) + Send + Sync);

/// Results as they are decided, reported to the progress callback.
pub(crate) struct Results<'a> {
    registry: String,
    found: BTreeMap<CheckId, CheckResult>,
    progress: Progress<'a>,
}

impl<'a> Results<'a> {
    fn new(registry: &str, progress: Progress<'a>) -> Results<'a> {
        Results {
            registry: registry.to_string(),
            found: BTreeMap::new(),
            progress,
        }
    }

    /// Record `id`'s verdict, unless one was already recorded.
    pub(crate) fn set(&mut self, id: CheckId, result: Outcome, detail: impl Into<String>) {
        if self.found.contains_key(&id) {
            return;
        }
        let r = CheckResult {
            id,
            result,
            detail: detail.into(),
        };
        (self.progress)(&self.registry, &r);
        self.found.insert(id, r);
    }

    pub(crate) fn yes(&mut self, id: CheckId, detail: impl Into<String>) {
        self.set(id, Outcome::Yes, detail);
    }

    pub(crate) fn no(&mut self, id: CheckId, detail: impl Into<String>) {
        self.set(id, Outcome::No, detail);
    }

    pub(crate) fn skip(&mut self, id: CheckId, detail: impl Into<String>) {
        self.set(id, Outcome::Skipped, detail);
    }

    pub(crate) fn error(&mut self, id: CheckId, detail: impl Into<String>) {
        self.set(id, Outcome::Error, detail);
    }

    /// The verdict of `id`, if decided.
    pub(crate) fn outcome(&self, id: CheckId) -> Option<Outcome> {
        self.found.get(&id).map(|r| r.result)
    }

    /// Give every check not yet decided `result` with `detail`.
    fn fill(&mut self, result: Outcome, detail: &str) {
        for id in CheckId::ALL {
            self.set(id, result, detail);
        }
    }

    fn finish(self, notes: Vec<String>) -> Report {
        Report {
            registry: self.registry,
            checks: CheckId::ALL
                .iter()
                .filter_map(|id| self.found.get(id).cloned())
                .collect(),
            notes,
        }
    }
}

/// Probe `registry` (a host, with port when not the default) with `client`.
pub async fn probe(
    client: &RegistryClient,
    registry: &str,
    options: &ProbeOptions,
    progress: Progress<'_>,
) -> Report {
    let mut results = Results::new(registry, progress);
    let mut session = session::Session::new(client, registry, options);
    let Some(_) = read::ping_and_auth(&mut session, &mut results).await else {
        let why = session
            .broken()
            .map(|e| format!("registry unreachable: {e}"))
            .unwrap_or_else(|| "skipped: /v2/ did not answer as a registry".into());
        let outcome = if session.broken().is_some() {
            Outcome::Error
        } else {
            Outcome::Skipped
        };
        results.fill(outcome, &why);
        return results.finish(Vec::new());
    };
    let mut scratch = if options.write {
        write::push_phase(&mut session, &mut results).await
    } else {
        write::Scratch::default()
    };
    read::read_phase(&mut session, &mut results, &scratch).await;
    let notes = if options.write {
        write::delete_phase(&mut session, &mut results, &mut scratch).await
    } else {
        Vec::new()
    };
    if let Some(e) = session.broken() {
        results.fill(Outcome::Error, &format!("registry stopped answering: {e}"));
    }
    if !options.write {
        for id in CheckId::ALL.into_iter().filter(|id| id.writes()) {
            results.skip(id, "needs --write (pushes to a scratch repository)");
        }
    }
    let undecided = match session.refused() {
        Some(e) => format!("not authorised: {e}"),
        None => "not decided: an earlier step failed".to_string(),
    };
    results.fill(Outcome::Error, &undecided);
    results.finish(notes)
}
