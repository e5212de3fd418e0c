//! The docker `config.json` file: reading, looking up, and atomic rewrites.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize as _;
use serde_json::{Map, Value};

use super::auths;
use super::helper::Helper;
use super::keys::Target;
use super::{Credential, CredentialError};

/// How long a credential helper may take unless [`DockerConfig::with_helper_timeout`] says
/// otherwise.
const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// A docker `config.json`, kept as JSON so keys lineage does not know survive a rewrite.
///
/// Reads use the file as it was when loaded; every write ([`store`](Self::store),
/// [`erase`](Self::erase)) reads the file again, applies its one change and replaces the file
/// atomically, so changes made meanwhile by other programs are kept.
#[derive(Clone)]
pub struct DockerConfig {
    /// The file; empty when there is none to write (no `$DOCKER_CONFIG` and no `$HOME`).
    path: PathBuf,
    /// The whole file, always a JSON object.
    value: Value,
    /// How long each credential helper call may take.
    helper_timeout: Duration,
    /// Where credential helpers are looked for; `None` means `$PATH`.
    helper_dirs: Option<Vec<PathBuf>>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The JSON holds secrets; show only where it is and how helpers run.
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .field("helper_timeout", &self.helper_timeout)
            .field("helper_dirs", &self.helper_dirs)
            .finish_non_exhaustive()
    }
}

/// Where the docker config lives given the values of `$DOCKER_CONFIG` and `$HOME`.
fn default_path_from(docker_config: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = docker_config.filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    let home = home.filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".docker").join("config.json"))
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; `None` when neither
    /// variable is set.
    pub fn default_path() -> Option<PathBuf> {
        default_path_from(std::env::var_os("DOCKER_CONFIG"), std::env::var_os("HOME"))
    }

    /// Reads the file at `path`; a missing (or empty) file is an empty config. Errors name the
    /// path, and for invalid JSON the line and column.
    pub fn load(path: impl Into<PathBuf>) -> Result<DockerConfig, CredentialError> {
        let path = path.into();
        let value = read_value(&path)?;
        Ok(DockerConfig {
            path,
            value,
            helper_timeout: DEFAULT_HELPER_TIMEOUT,
            helper_dirs: None,
        })
    }

    /// [`load`](Self::load) of [`default_path`](Self::default_path); an empty config when there
    /// is no home (it cannot be written to then).
    pub fn load_default() -> Result<DockerConfig, CredentialError> {
        match Self::default_path() {
            Some(path) => Self::load(path),
            None => Ok(DockerConfig {
                path: PathBuf::new(),
                value: Value::Object(Map::new()),
                helper_timeout: DEFAULT_HELPER_TIMEOUT,
                helper_dirs: None,
            }),
        }
    }

    /// Timeout for each credential helper process (default 30 s); a helper still running then is
    /// killed.
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Self {
        self.helper_timeout = timeout;
        self
    }

    /// Look for `docker-credential-<name>` programs in `dirs` instead of `$PATH`.
    pub fn with_helper_dirs<I, P>(mut self, dirs: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.helper_dirs = Some(dirs.into_iter().map(Into::into).collect());
        self
    }

    /// The file path (empty for a config without a file, see [`load_default`](Self::load_default)).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Credentials for `registry` (a host[:port], e.g. `ghcr.io`, `localhost:5000`, `docker.io`).
    ///
    /// Looks in `credHelpers` first (a helper configured for the registry is its only source, as
    /// with docker), then in `auths` (under the exact server address if present, else any key
    /// naming the same host, case-insensitively and ignoring scheme and path; Docker Hub's names
    /// are aliases), then asks `credsStore`. `None` when nothing has credentials for it.
    pub async fn get(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        let target = Target::parse(registry)?;
        let root = self.root()?;
        if let Some(name) = self.cred_helper(root, &target)? {
            return self
                .helper(&name, &target)
                .get(&target.server_address())
                .await;
        }
        if let Some(cred) = self.auths_credential(root, &target)? {
            return Ok(Some(cred));
        }
        if let Some(name) = self.creds_store(root)? {
            return self
                .helper(&name, &target)
                .get(&target.server_address())
                .await;
        }
        Ok(None)
    }

    /// The credential helper that [`store`](Self::store) and [`erase`](Self::erase) use for
    /// `registry` (`credHelpers`, else `credsStore`), or `None` when credentials go into `auths`.
    pub fn helper_for(&self, registry: &str) -> Result<Option<String>, CredentialError> {
        let target = Target::parse(registry)?;
        let root = self.root()?;
        Ok(match self.cred_helper(root, &target)? {
            Some(name) => Some(name),
            None => self.creds_store(root)?,
        })
    }

    /// Stores credentials for `registry`: through its `credHelpers` entry or `credsStore` when
    /// configured (helper `store`; `auths` then keeps an empty entry, as docker does), else in
    /// `auths` under the registry's server address (`auth` = base64 `user:pass`, or
    /// `identitytoken`). The file is re-read, changed and replaced atomically; every other key
    /// is kept.
    pub async fn store(
        &mut self,
        registry: &str,
        cred: &Credential,
    ) -> Result<(), CredentialError> {
        let target = Target::parse(registry)?;
        self.require_path(&target)?;
        self.value = read_value(&self.path)?;
        let server = target.server_address();
        let helper = self.helper_for(registry)?;
        if let Some(name) = &helper {
            self.helper(name, &target).store(&server, cred).await?;
        }
        let cred = cred.clone();
        let to_helper = helper.is_some();
        self.update(&target, move |auths| {
            let entry = auths.entry(server).or_insert(Value::Null);
            if to_helper {
                auths::clear_credentials(entry);
            } else {
                auths::encode_into(entry, &cred);
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Removes the credentials for `registry`: helper `erase` when a helper is configured for
    /// it, and every `auths` entry naming it; the file is re-read, changed and replaced
    /// atomically. Returns whether anything was removed.
    pub async fn erase(&mut self, registry: &str) -> Result<bool, CredentialError> {
        let target = Target::parse(registry)?;
        self.require_path(&target)?;
        self.value = read_value(&self.path)?;
        let helper_erased = match self.helper_for(registry)? {
            Some(name) => {
                self.helper(&name, &target)
                    .erase(&target.server_address())
                    .await?
            }
            None => false,
        };
        let matcher = target.clone();
        let file_erased = self
            .update(&target, move |auths| {
                let keys = matcher.matching_keys(auths);
                for key in &keys {
                    auths.remove(key);
                }
                !keys.is_empty()
            })
            .await?;
        Ok(helper_erased || file_erased)
    }

    fn helper<'a>(&'a self, name: &str, target: &'a Target) -> Helper<'a> {
        Helper::new(
            name,
            self.helper_dirs.as_deref(),
            self.helper_timeout,
            target.name(),
        )
    }

    fn require_path(&self, target: &Target) -> Result<(), CredentialError> {
        if self.path.as_os_str().is_empty() {
            return Err(CredentialError::NoConfigPath {
                registry: target.name().to_owned(),
            });
        }
        Ok(())
    }

    fn root(&self) -> Result<&Map<String, Value>, CredentialError> {
        self.value
            .as_object()
            .ok_or_else(|| self.malformed("the top level is not a json object"))
    }

    fn malformed(&self, reason: &str) -> CredentialError {
        CredentialError::Malformed {
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// An object-valued top-level key; `None` when absent or null.
    fn section<'a>(
        &self,
        root: &'a Map<String, Value>,
        key: &str,
    ) -> Result<Option<&'a Map<String, Value>>, CredentialError> {
        match root.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(self.malformed(&format!("`{key}` is not a json object"))),
        }
    }

    /// The `credHelpers` helper for the registry.
    fn cred_helper(
        &self,
        root: &Map<String, Value>,
        target: &Target,
    ) -> Result<Option<String>, CredentialError> {
        let Some(helpers) = self.section(root, "credHelpers")? else {
            return Ok(None);
        };
        match target.find(helpers) {
            None | Some((_, Value::Null)) => Ok(None),
            Some((_, Value::String(name))) if name.is_empty() => Ok(None),
            Some((_, Value::String(name))) => Ok(Some(name.clone())),
            Some((key, _)) => {
                Err(self.malformed(&format!("`credHelpers` entry `{key}` is not a string")))
            }
        }
    }

    /// The `credsStore` helper.
    fn creds_store(&self, root: &Map<String, Value>) -> Result<Option<String>, CredentialError> {
        match root.get("credsStore") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(name)) if name.is_empty() => Ok(None),
            Some(Value::String(name)) => Ok(Some(name.clone())),
            Some(_) => Err(self.malformed("`credsStore` is not a string")),
        }
    }

    /// The credential in `auths` for the registry.
    fn auths_credential(
        &self,
        root: &Map<String, Value>,
        target: &Target,
    ) -> Result<Option<Credential>, CredentialError> {
        let Some(auths) = self.section(root, "auths")? else {
            return Ok(None);
        };
        let Some((_, entry)) = target.find(auths) else {
            return Ok(None);
        };
        auths::decode_entry(entry).map_err(|reason| CredentialError::InvalidAuth {
            path: self.path.clone(),
            registry: target.name().to_owned(),
            reason,
        })
    }

    /// Re-reads the file, applies `change` to its `auths` object (created if missing) and, when
    /// `change` says it changed something, writes the file atomically. Returns what `change`
    /// returned.
    async fn update<F>(&mut self, target: &Target, change: F) -> Result<bool, CredentialError>
    where
        F: FnOnce(&mut Map<String, Value>) -> bool + Send + 'static,
    {
        let path = self.path.clone();
        let registry = target.name().to_owned();
        let task = tokio::task::spawn_blocking(move || -> Result<_, CredentialError> {
            let mut value = read_value(&path)?;
            let malformed = |reason: &str| CredentialError::Malformed {
                path: path.clone(),
                reason: reason.to_owned(),
            };
            let root = value
                .as_object_mut()
                .ok_or_else(|| malformed("the top level is not a json object"))?;
            let auths = root
                .entry("auths")
                .or_insert_with(|| Value::Object(Map::new()));
            if auths.is_null() {
                *auths = Value::Object(Map::new());
            }
            let auths = auths
                .as_object_mut()
                .ok_or_else(|| malformed("`auths` is not a json object"))?;
            let changed = change(auths);
            if changed {
                write_atomic(&path, &value)?;
                tracing::debug!(path = %path.display(), %registry, "docker config updated");
            }
            Ok((value, changed))
        });
        let (value, changed) = match task.await {
            Ok(result) => result?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                return Err(CredentialError::Write {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                });
            }
        };
        self.value = value;
        Ok(changed)
    }
}

/// Reads and parses the file; a missing or blank file is `{}`.
fn read_value(path: &Path) -> Result<Value, CredentialError> {
    if path.as_os_str().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Object(Map::new())),
        Err(source) => {
            return Err(CredentialError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_slice(text).map_err(|source| CredentialError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if !value.is_object() {
        return Err(CredentialError::Malformed {
            path: path.to_owned(),
            reason: "the top level is not a json object".to_owned(),
        });
    }
    Ok(value)
}

/// Replaces the file with `value`: a temporary file in the same directory (mode 0600, or the mode
/// of the file it replaces), written, synced and renamed over the file; the directory is created
/// with mode 0700 when missing. A symbolic link at `path` is followed, so the link survives.
fn write_atomic(path: &Path, value: &Value) -> Result<(), CredentialError> {
    let write_error = |source| CredentialError::Write {
        path: path.to_owned(),
        source,
    };
    let target = resolve_symlink(path);
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_private_dir(&dir).map_err(write_error)?;
    }
    let existing = std::fs::metadata(&target).ok().map(|m| m.permissions());

    let mut json = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut json,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    value
        .serialize(&mut serializer)
        .map_err(|e| write_error(std::io::Error::other(e)))?;
    json.push(b'\n');

    // The project's one durable write (temporary file, fsync, rename, fsync of the
    // directory), with the old file's permissions carried over in between.
    let store_error = |e: lineage_store::StoreError| write_error(std::io::Error::other(e));
    let mut temp = lineage_store::fs::private_temp_file_in(&dir).map_err(store_error)?;
    temp.write_all(&json).map_err(write_error)?;
    if let Some(permissions) = existing {
        temp.as_file()
            .set_permissions(permissions)
            .map_err(write_error)?;
    }
    lineage_store::fs::persist(temp, &target).map_err(store_error)
}

/// The file a symbolic link at `path` points to, or `path` itself.
fn resolve_symlink(path: &Path) -> PathBuf {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return path.to_owned();
    }
    std::fs::canonicalize(path).unwrap_or_else(|_| match std::fs::read_link(path) {
        Ok(link) if link.is_absolute() => link,
        Ok(link) => path.parent().map(|p| p.join(&link)).unwrap_or(link),
        Err(_) => path.to_owned(),
    })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn default_path_prefers_docker_config() {
        assert_eq!(
            default_path_from(Some("/cfg".into()), Some("/home/u".into())),
            Some(PathBuf::from("/cfg/config.json"))
        );
        assert_eq!(
            default_path_from(Some("".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(
            default_path_from(None, Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(default_path_from(None, None), None);
        assert_eq!(default_path_from(None, Some("".into())), None);
    }
}
