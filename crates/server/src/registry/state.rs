//! The registry's shared state: where repositories live, which are open, the in-memory
//! referrers index, and the upload sessions in progress.
//!
//! Storage is one OCI image layout per repository (`ROOT/<name>`), written through
//! [`LayoutStore`], so every repository is also readable as `oci:ROOT/<name>` by skopeo and
//! umoci. Upload sessions live in `ROOT/.lineage-uploads` (never a valid repository name),
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

use lineage_oci::{Descriptor, Digest};
use lineage_store::LayoutStore;
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
        }
    }
}

/// Referrers of each subject, per repository: `(repository, subject) → descriptors`.
type ReferrersIndex = HashMap<(String, Digest), Vec<Descriptor>>;

/// Everything the handlers share.
pub struct Registry {
    root: PathBuf,
    /// The policy.
    pub policy: Policy,
    repos: RwLock<HashMap<String, Arc<LayoutStore>>>,
    referrers: std::sync::RwLock<ReferrersIndex>,
    /// Upload sessions.
    pub uploads: Sessions,
}

/// Directory of upload sessions under the root.
pub const UPLOADS_DIR: &str = ".lineage-uploads";

impl Registry {
    /// Open the registry at `root` (created if missing): clean what interrupted writes left,
    /// and build the referrers index from disk.
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
        let registry = Registry {
            root,
            policy,
            repos: RwLock::new(HashMap::new()),
            referrers: std::sync::RwLock::new(HashMap::new()),
            uploads: sessions,
        };
        let names = registry.repositories().await?;
        let mut count = 0usize;
        for name in &names {
            let root = registry.root.join(name);
            clean_temp_files(&root).await;
            if let Some(store) = registry.repo(name).await {
                count += registry.index_repository(name, &store).await;
            }
        }
        tracing::info!(repositories = names.len(), referrers = count, root = %registry.root.display(), "registry opened");
        Ok(registry)
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
        let store = Arc::new(store.with_name(name.to_string()));
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
                .with_name(name.to_string()),
        );
        repos.insert(name.to_string(), store.clone());
        Ok(store)
    }

    /// Every repository under the root, sorted: directories holding an `oci-layout` file.
    pub async fn repositories(&self) -> std::io::Result<Vec<String>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &root, &mut out)?;
            out.sort();
            Ok(out)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Referrers of `subject` in `repo`.
    pub fn referrers(&self, repo: &str, subject: &Digest) -> Vec<Descriptor> {
        self.referrers
            .read()
            .map(|m| {
                m.get(&(repo.to_string(), subject.clone()))
                    .cloned()
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Record that `referrer` (a manifest with `subject`) is in `repo`.
    pub fn add_referrer(&self, repo: &str, subject: &Digest, referrer: Descriptor) {
        if let Ok(mut m) = self.referrers.write() {
            let list = m.entry((repo.to_string(), subject.clone())).or_default();
            if !list.iter().any(|d| d.digest == referrer.digest) {
                list.push(referrer);
            }
        }
    }

    /// Forget `referrer` wherever it is listed in `repo`.
    pub fn remove_referrer(&self, repo: &str, referrer: &Digest) {
        if let Ok(mut m) = self.referrers.write() {
            for ((r, _), list) in m.iter_mut() {
                if r == repo {
                    list.retain(|d| &d.digest != referrer);
                }
            }
        }
    }

    async fn index_repository(&self, name: &str, store: &LayoutStore) -> usize {
        let entries = match store.referrer_entries().await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(repository = name, error = %e, "cannot index the referrers of a repository");
                return 0;
            }
        };
        let count = entries.len();
        for (subject, referrer) in entries {
            self.add_referrer(name, &subject, referrer);
        }
        count
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
