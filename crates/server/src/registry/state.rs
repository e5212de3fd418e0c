//! The registry's shared state: where repositories live, which are open, and the upload
//! sessions in progress.
//!
//! Storage is one OCI image layout per repository (`ROOT/<name>`), written through
//! [`LayoutStore`] with its journal on, so every repository is also readable as
//! `oci:ROOT/<name>` by skopeo and umoci, and a referrer push does not rewrite `index.json`.
//! Each repository's store owns its referrers index, built in the background after start
//! (the registry answers at once; a listing waits for its repository's index). Upload sessions live in `ROOT/.lineage-uploads` (never a valid repository name),
//! which is emptied at start-up; [`Sessions`] owns them.
//!
//! Names nest: `org/team` lives in `ROOT/org/team`, inside the directory of `org`'s layout
//! when `org` exists too, in either order of creation. They cannot collide: a name whose
//! component after the first is a layout entry (`blobs`, `index.json`, `oci-layout`) is
//! `NAME_INVALID` ([`super::path::is_valid_name`]), so the only foreign entries in a layout
//! directory are other repositories' directories, and a layout is created in a directory
//! holding nothing else. The mapping is the one earlier versions wrote, so existing roots
//! are read as they are; a repository an earlier version stored under a name now invalid
//! (one inside another's `blobs/`) is no longer served, and its directory is left for the
//! operator to remove.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lineage_store::LayoutStore;
use lineage_store::layout::gc::GcOptions;
use tokio::sync::RwLock;

use super::sessions::{Clock, Sessions, SystemClock};

/// Options that change what the registry allows.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Refuse every write.
    pub read_only: bool,
    /// Refuse deletes (405 `UNSUPPORTED`, like distribution with deletes off).
    pub no_delete: bool,
    /// Entries per referrers page.
    pub referrers_page_size: usize,
    /// How long an upload session may stay idle before it expires and its file is removed.
    pub upload_idle_timeout: Duration,
    /// How many upload sessions may be open at once; one more answers 429
    /// `TOOMANYREQUESTS`.
    pub max_uploads: usize,
    /// Collect garbage this often ([`super::gc`]); never when `None`.
    pub gc_interval: Option<Duration>,
    /// What a scheduled collection removes.
    pub gc: GcOptions,
}

impl Policy {
    /// The default [`Policy::upload_idle_timeout`]: an hour, far longer than any client
    /// pauses between the chunks of one upload.
    pub const DEFAULT_UPLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
    /// The default [`Policy::max_uploads`].
    pub const DEFAULT_MAX_UPLOADS: usize = 1024;
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            read_only: false,
            no_delete: false,
            referrers_page_size: 4096,
            upload_idle_timeout: Policy::DEFAULT_UPLOAD_IDLE_TIMEOUT,
            max_uploads: Policy::DEFAULT_MAX_UPLOADS,
            gc_interval: None,
            gc: GcOptions::default(),
        }
    }
}

/// Everything the handlers share.
pub struct Registry {
    root: PathBuf,
    /// The policy.
    pub policy: Policy,
    repos: RwLock<HashMap<String, Arc<LayoutStore>>>,
    /// Upload sessions.
    pub(crate) uploads: Sessions,
    /// What garbage collection did since start.
    pub(crate) gc_metrics: super::gc::Metrics,
    /// Held (shared) while the registry runs: `lineage serve gc` on the same root sees it.
    _running: Option<std::fs::File>,
}

/// Directory of upload sessions under the root.
pub(crate) const UPLOADS_DIR: &str = ".lineage-uploads";

/// The file a running registry holds a shared lock on.
pub(crate) const RUNNING_LOCK: &str = ".lineage-serve.lock";

impl Registry {
    /// Open the registry at `root` (created if missing): clean what interrupted writes left,
    /// and start building each repository's referrers index in the background.
    pub async fn open(root: &Path, policy: Policy) -> std::io::Result<Registry> {
        tokio::fs::create_dir_all(root).await?;
        let root = tokio::fs::canonicalize(root).await?;
        let uploads = root.join(UPLOADS_DIR);
        if tokio::fs::metadata(&uploads).await.is_ok() {
            tokio::fs::remove_dir_all(&uploads).await?;
        }
        tokio::fs::create_dir_all(&uploads).await?;
        let sessions = Sessions::new(
            uploads,
            policy.upload_idle_timeout,
            policy.max_uploads,
            Arc::new(SystemClock),
        );
        let running = std::fs::File::create(root.join(RUNNING_LOCK))?;
        running.lock_shared()?;
        let registry = Registry {
            root,
            policy,
            repos: RwLock::new(HashMap::new()),
            uploads: sessions,
            gc_metrics: super::gc::Metrics::default(),
            _running: Some(running),
        };
        let names = registry.repositories().await?;
        for name in &names {
            clean_temp_files(&registry.root.join(name)).await;
        }
        tracing::info!(repositories = names.len(), root = %registry.root.display(), "registry opened");
        Ok(registry)
    }

    /// Open every repository and build its referrers index, one after another (what a
    /// listing would otherwise wait for on first use).
    pub(crate) async fn load_referrers(&self) {
        let Ok(names) = self.repositories().await else {
            return;
        };
        let started = std::time::Instant::now();
        let mut count = 0usize;
        for name in &names {
            let Some(store) = self.repo(name).await else {
                continue;
            };
            match store.referrers_load().await {
                Ok(n) => count += n,
                Err(e) => {
                    tracing::warn!(repository = %name, error = %e, "cannot index the referrers of a repository");
                }
            }
        }
        tracing::info!(
            repositories = names.len(),
            referrers = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "referrers indexed"
        );
    }

    /// Take the time from `clock` (tests move it instead of sleeping).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Registry {
        self.uploads.set_clock(clock);
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of upload sessions.
    pub fn uploads_dir(&self) -> PathBuf {
        self.uploads.dir().to_path_buf()
    }

    /// The repository `name`, if it exists.
    pub async fn repo(&self, name: &str) -> Option<Arc<LayoutStore>> {
        if let Some(s) = self.repos.read().await.get(name) {
            return Some(s.clone());
        }
        let dir = self.root.join(name);
        if tokio::fs::metadata(dir.join("oci-layout")).await.is_err() {
            return None;
        }
        let store = LayoutStore::open(&dir).ok()?;
        let store = Arc::new(store.with_name(name.to_string()).with_journal());
        let mut repos = self.repos.write().await;
        Some(repos.entry(name.to_string()).or_insert(store).clone())
    }

    /// The repository `name`, created when missing.
    pub async fn repo_or_create(
        &self,
        name: &str,
    ) -> Result<Arc<LayoutStore>, lineage_store::StoreError> {
        if let Some(s) = self.repo(name).await {
            return Ok(s);
        }
        let mut repos = self.repos.write().await;
        if let Some(s) = repos.get(name) {
            return Ok(s.clone());
        }
        let store = Arc::new(
            LayoutStore::open_or_create_among(self.root.join(name), is_nested_repository)?
                .with_name(name.to_string())
                .with_journal(),
        );
        repos.insert(name.to_string(), store.clone());
        Ok(store)
    }

    /// Every repository under the root, sorted: directories holding an `oci-layout` file.
    pub(crate) async fn repositories(&self) -> std::io::Result<Vec<String>> {
        Registry::repositories_under(&self.root).await
    }

    /// Every repository under the root, sorted: directories holding an `oci-layout` file.
    pub(crate) async fn repositories_under(root: &Path) -> std::io::Result<Vec<String>> {
        let root = root.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &root, &mut out)?;
            out.sort();
            Ok(out)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    if dir.join("oci-layout").is_file()
        && let Ok(rel) = dir.strip_prefix(root)
        && let Some(name) = rel.to_str()
        && super::path::is_valid_name(name)
    {
        out.push(name.to_string());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Layout internals and our own directories are not repositories.
        if name.starts_with('.') || (dir != root && lineage_store::layout::is_layout_entry(&name)) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(root, &entry.path(), out)?;
        }
    }
    Ok(())
}

/// Whether `entry`, found in a repository's directory before its layout is created, can be
/// the directory of a repository nested in it (`org/team` in `org`).
fn is_nested_repository(entry: &str) -> bool {
    super::path::is_valid_name(entry)
}

/// Remove temporary files an interrupted write left in a repository.
async fn clean_temp_files(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(e)) = entries.next_entry().await {
        if e.file_name()
            .to_string_lossy()
            .starts_with(lineage_store::fs::TEMP_PREFIX)
        {
            tracing::info!(path = %e.path().display(), "removing a leftover of an interrupted write");
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}
