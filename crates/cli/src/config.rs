//! lineage's own config file: `$LINEAGE_CONFIG`, else `$XDG_CONFIG_HOME/lineage/config.json`,
//! else `~/.config/lineage/config.json`. Flags and environment variables take precedence.
//!
//! ```json
//! {"namespace": "vnd.myorganization.image", "plainHttp": ["registry.internal:5000"],
//!  "supportFor": "90d", "eolAfter": "30d",
//!  "baseRepositories": ["registry.internal:5000/base"],
//!  "trustPolicy": "/etc/lineage/trustpolicy.json",
//!  "signingKey": "/etc/lineage/release.key", "signingCert": "/etc/lineage/release.crt"}
//! ```

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;

/// The settings the file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The lifecycle namespace.
    pub namespace: Option<String>,
    /// Registries (host[:port]) reached over plain HTTP.
    #[serde(default)]
    pub plain_http: Vec<String>,
    /// `release`'s default `--support-for` (a duration such as `90d`).
    pub support_for: Option<String>,
    /// `release`'s default `--eol-after` (a duration such as `30d`).
    pub eol_after: Option<String>,
    /// Known base lineages (repositories) for layer matching, as `--base-repo`.
    #[serde(default)]
    pub base_repositories: Vec<String>,
    /// The trust policy file, as `--trust-policy` (issue 16).
    pub trust_policy: Option<PathBuf>,
    /// The signing key of `sign` and `--sign` (PEM), as `--key` / `--signing-key`.
    pub signing_key: Option<PathBuf>,
    /// The signing certificate chain of `sign` and `--sign` (PEM, leaf first), as
    /// `--cert` / `--signing-cert`.
    pub signing_cert: Option<PathBuf>,
}

/// Where the config file is looked for.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LINEAGE_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("lineage").join("config.json"))
}

/// Read the config file; a missing file is an empty config.
pub fn load() -> anyhow::Result<Config> {
    let Some(path) = path() else {
        return Ok(Config::default());
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("invalid config file `{}`", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the config file `{}`", path.display()))
        }
    }
}
