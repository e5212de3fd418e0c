//! Garbage collection of a registry root: every repository's layout
//! ([`lineage_store::layout::gc`]: unreferenced blobs past a grace window, and on request
//! referrers whose subject is gone) and upload files abandoned longer than an age.
//!
//! It runs online on a schedule (`lineage serve --gc-interval`) through the registry's own
//! repository handles, so their referrers indexes follow what it removes; and on demand on
//! a root (`lineage serve gc --root DIR`), also while a server runs there: the sweep and a
//! manifest push serialise on the layout's cross-process lock. Removing referrers needs the
//! referrers index of the process that serves them, so on demand it is refused while a
//! server holds the root ([`GcError::Served`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use lineage_store::LayoutStore;
use lineage_store::layout::gc::{GcOptions, GcReport};
use serde::Serialize;

use super::state::{RUNNING_LOCK, Registry, UPLOADS_DIR};

/// What one collection of a root did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RootGcReport {
    /// Per repository, those where something was (or would be) removed, by name.
    pub repositories: Vec<RepositoryGcReport>,
    /// Repositories looked at.
    pub repositories_scanned: usize,
    /// Blobs removed, over all repositories.
    pub blobs_removed: usize,
    /// Referrers removed, over all repositories.
    pub referrers_removed: usize,
    /// Bytes freed, over all repositories and uploads.
    pub bytes_removed: u64,
    /// Upload files removed (abandoned longer than the age given).
    pub uploads_removed: usize,
    /// Whether upload files were left alone because a server runs on the root: its upload
    /// sessions are its own, expired by its `--upload-idle-timeout` (a session idle longer
    /// than the age given here may still be finished).
    pub uploads_left_to_server: bool,
    /// How long the collection took, in milliseconds.
    pub elapsed_ms: u64,
    /// Whether nothing was removed because this was a dry run.
    pub dry_run: bool,
}

/// One repository's part of a [`RootGcReport`].
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryGcReport {
    /// The repository.
    pub name: String,
    /// What its collection did.
    #[serde(flatten)]
    pub report: GcReport,
}

/// Why a collection of a root could not run.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The root cannot be read.
    #[error("cannot read the registry root `{}`", root.display())]
    Root {
        /// The root.
        root: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A repository's collection failed.
    #[error("cannot collect the garbage of repository `{name}`")]
    Repository {
        /// The repository.
        name: String,
        /// Why.
        #[source]
        source: lineage_store::StoreError,
    },
    /// Referrers cannot be removed from a root a server is serving.
    #[error(
        "a `lineage serve` is running on `{}`; referrers can only be removed by it (`--gc-interval` with `--delete-referrers-with-subject`), or with it stopped",
        root.display()
    )]
    Served {
        /// The root.
        root: PathBuf,
    },
}

/// Counters of the collections a running registry made.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    runs: AtomicU64,
    blobs_removed: AtomicU64,
    referrers_removed: AtomicU64,
    bytes_removed: AtomicU64,
    uploads_removed: AtomicU64,
    last_elapsed_ms: AtomicU64,
}

impl Metrics {
    fn record(&self, r: &RootGcReport) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.blobs_removed
            .fetch_add(r.blobs_removed as u64, Ordering::Relaxed);
        self.referrers_removed
            .fetch_add(r.referrers_removed as u64, Ordering::Relaxed);
        self.bytes_removed
            .fetch_add(r.bytes_removed, Ordering::Relaxed);
        self.uploads_removed
            .fetch_add(r.uploads_removed as u64, Ordering::Relaxed);
        self.last_elapsed_ms.store(r.elapsed_ms, Ordering::Relaxed);
    }

    /// The counters as `(name, value)`, Prometheus names.
    pub(crate) fn values(&self) -> [(&'static str, u64); 6] {
        [
            (
                "lineage_registry_gc_runs_total",
                self.runs.load(Ordering::Relaxed),
            ),
            (
                "lineage_registry_gc_blobs_removed_total",
                self.blobs_removed.load(Ordering::Relaxed),
            ),
            (
                "lineage_registry_gc_referrers_removed_total",
                self.referrers_removed.load(Ordering::Relaxed),
            ),
            (
                "lineage_registry_gc_bytes_removed_total",
                self.bytes_removed.load(Ordering::Relaxed),
            ),
            (
                "lineage_registry_gc_uploads_removed_total",
                self.uploads_removed.load(Ordering::Relaxed),
            ),
            (
                "lineage_registry_gc_last_duration_milliseconds",
                self.last_elapsed_ms.load(Ordering::Relaxed),
            ),
        ]
    }
}

impl Registry {
    /// Collect the garbage of every repository through this registry's handles; expired
    /// upload sessions go too.
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<RootGcReport, GcError> {
        let started = Instant::now();
        let names = self.repositories().await.map_err(|source| GcError::Root {
            root: self.root().to_path_buf(),
            source,
        })?;
        let mut report = RootGcReport {
            dry_run: options.dry_run,
            ..RootGcReport::default()
        };
        for name in names {
            if let Some(store) = self.repo(&name).await {
                collect_one(&mut report, name, &store, options).await?;
            }
        }
        if !options.dry_run {
            report.uploads_removed = self.uploads.expire().await;
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        self.gc_metrics.record(&report);
        tracing::info!(
            repositories = report.repositories_scanned,
            blobs = report.blobs_removed,
            referrers = report.referrers_removed,
            bytes = report.bytes_removed,
            uploads = report.uploads_removed,
            elapsed_ms = report.elapsed_ms,
            "garbage collected"
        );
        Ok(report)
    }

    /// The counters of the collections made since start, with their Prometheus names.
    pub fn gc_metrics(&self) -> Vec<(&'static str, u64)> {
        self.gc_metrics.values().to_vec()
    }
}

async fn collect_one(
    report: &mut RootGcReport,
    name: String,
    store: &LayoutStore,
    options: &GcOptions,
) -> Result<(), GcError> {
    let r = store
        .gc(options)
        .await
        .map_err(|source| GcError::Repository {
            name: name.clone(),
            source,
        })?;
    report.repositories_scanned += 1;
    report.blobs_removed += r.blobs_removed.len();
    report.referrers_removed += r.referrers_removed.len();
    report.bytes_removed += r.bytes_removed;
    if !r.blobs_removed.is_empty() || !r.referrers_removed.is_empty() {
        report
            .repositories
            .push(RepositoryGcReport { name, report: r });
    }
    Ok(())
}

/// Collect the garbage of the registry root `root` from outside the server (`lineage
/// serve gc`): every repository, and upload files untouched for `upload_age` unless a server
/// runs on the root (its sessions are its own: [`RootGcReport::uploads_left_to_server`]).
pub async fn collect_root(
    root: &Path,
    options: &GcOptions,
    upload_age: Duration,
) -> Result<RootGcReport, GcError> {
    let started = Instant::now();
    let root_error = |source| GcError::Root {
        root: root.to_path_buf(),
        source,
    };
    let running = served(root);
    if options.delete_referrers_with_subject && running {
        return Err(GcError::Served {
            root: root.to_path_buf(),
        });
    }
    let names = Registry::repositories_under(root)
        .await
        .map_err(root_error)?;
    let mut report = RootGcReport {
        dry_run: options.dry_run,
        ..RootGcReport::default()
    };
    for name in names {
        let store = LayoutStore::open(root.join(&name))
            .map_err(|source| GcError::Repository {
                name: name.clone(),
                source,
            })?
            .with_name(name.clone());
        collect_one(&mut report, name, &store, options).await?;
    }
    if running {
        report.uploads_left_to_server = true;
    } else {
        let (count, bytes) = old_uploads(&root.join(UPLOADS_DIR), upload_age, options.dry_run);
        report.uploads_removed = count;
        report.bytes_removed += bytes;
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Whether a server holds `root` (its shared lock on [`RUNNING_LOCK`]).
fn served(root: &Path) -> bool {
    let Ok(f) = std::fs::File::open(root.join(RUNNING_LOCK)) else {
        return false;
    };
    match f.try_lock() {
        Ok(()) => {
            let _ = f.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Remove upload files not written for `age`: `(count, bytes)`.
fn old_uploads(dir: &Path, age: Duration, dry_run: bool) -> (usize, u64) {
    let cutoff = SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut out = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.is_file()
            && m.modified().is_ok_and(|t| t < cutoff)
            && (dry_run || std::fs::remove_file(e.path()).is_ok())
        {
            out.0 += 1;
            out.1 += m.len();
        }
    }
    out
}

/// Collect garbage every `interval` while the registry lives.
pub(crate) async fn scheduled(registry: std::sync::Weak<Registry>, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(r) = registry.upgrade() else {
            return;
        };
        let options = r.policy.gc.clone();
        if let Err(e) = r.collect_garbage(&options).await {
            tracing::warn!(error = %e, "garbage collection failed; it runs again at the next interval");
        }
    }
}
