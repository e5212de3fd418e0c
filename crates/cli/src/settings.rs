//! The settings step between parsing and acting: the global flags combined with the config
//! file (`--namespace`, else the file's `namespace`, else the default; `--plain-http` and the
//! file's `plainHttp` hosts; the TLS flags; `--trust-policy`, else the file's `trustPolicy`; the
//! file's signing key and chain) and the printer `--quiet` asks for, resolved once
//! before any command runs. Per-command values were typed by clap already ([`crate::args`]).

use lineage_lifecycle::Namespace;

use crate::args::Cli;
use crate::config::Config;
use crate::error::UsageError;
use crate::open::Connection;
use crate::output::Printer;

/// What every command may need besides its own arguments.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How to print.
    pub printer: Printer,
    /// How to reach registries.
    pub connection: Connection,
    /// The namespace as given; checked by [`Settings::namespace`] for the commands that use
    /// it, so that a bad one does not stop a command that reads no lifecycle record.
    namespace: String,
    /// The config file's `supportFor` and `eolAfter`, checked by
    /// [`Settings::release_windows`] when `release` uses them.
    windows: (Option<String>, Option<String>),
    /// The known base repositories: `--base-repo` and the file's `baseRepositories`.
    pub base_repositories: Vec<String>,
    /// The trust policy file: `--trust-policy`, else the file's `trustPolicy`.
    pub trust_policy: Option<std::path::PathBuf>,
    /// The config file's `signingKey` and `signingCert`, the defaults of `sign`'s `--key`
    /// and `--cert` and of `--signing-key` and `--signing-cert`.
    pub signing: (Option<std::path::PathBuf>, Option<std::path::PathBuf>),
}

impl Settings {
    /// The settings for the global flags of `cli` and the config file's `config`; `printer`
    /// is the one `main` made from `--quiet` before anything could fail.
    pub fn resolve(cli: &Cli, config: &Config, printer: Printer) -> Settings {
        Settings {
            printer,
            connection: Connection {
                plain_http: cli.plain_http,
                plain_http_hosts: config.plain_http.clone(),
                insecure: cli.insecure,
                ca_files: cli.ca_files.clone(),
            },
            namespace: cli
                .namespace
                .clone()
                .or(config.namespace.clone())
                .unwrap_or_else(|| lineage_lifecycle::DEFAULT_NAMESPACE.to_string()),
            windows: (config.support_for.clone(), config.eol_after.clone()),
            base_repositories: config
                .base_repositories
                .iter()
                .chain(&cli.base_repos)
                .cloned()
                .collect(),
            trust_policy: cli.trust_policy.clone().or(config.trust_policy.clone()),
            signing: (config.signing_key.clone(), config.signing_cert.clone()),
        }
    }

    /// The trust policy and its trust store, read and checked (a usage error naming the file
    /// when it cannot be used); `None` when none is given.
    pub fn trust_policy(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<lineage_trust::TrustPolicy>>> {
        let Some(path) = &self.trust_policy else {
            return Ok(None);
        };
        let policy = lineage_trust::TrustPolicy::load(path).map_err(|e| {
            anyhow::Error::new(UsageError(
                anyhow::Error::new(e).context("invalid --trust-policy"),
            ))
        })?;
        Ok(Some(std::sync::Arc::new(policy)))
    }

    /// `release`'s support windows: the flags, else the config file's `supportFor` and
    /// `eolAfter` (a bad value there is a usage error naming the key).
    pub fn release_windows(
        &self,
        support_for: Option<std::time::Duration>,
        eol_after: Option<std::time::Duration>,
    ) -> anyhow::Result<(Option<std::time::Duration>, Option<std::time::Duration>)> {
        let read = |key: &str, v: &Option<String>| -> anyhow::Result<_> {
            v.as_deref()
                .map(|v| {
                    crate::args::value::parse_duration(v).map_err(|e| {
                        anyhow::Error::new(UsageError(anyhow::anyhow!("config file `{key}`: {e}")))
                    })
                })
                .transpose()
        };
        Ok((
            support_for.or(read("supportFor", &self.windows.0)?),
            eol_after.or(read("eolAfter", &self.windows.1)?),
        ))
    }

    /// The known bases, as a usage error when one is not a registry repository.
    pub fn known_bases(&self) -> anyhow::Result<lineage_lifecycle::KnownBases> {
        let mut repos = Vec::new();
        for r in &self.base_repositories {
            let image = lineage_oci::ImageRef::parse(r).map_err(|e| {
                anyhow::Error::new(UsageError(
                    anyhow::Error::new(e).context(format!("invalid --base-repo `{r}`")),
                ))
            })?;
            repos.push(image);
        }
        // Long-running services see new base revisions within the refresh interval.
        Ok(lineage_lifecycle::KnownBases::new(
            repos,
            Some(std::time::Duration::from_secs(300)),
        ))
    }

    /// The lifecycle namespace, as a usage error when it is not a valid one.
    pub fn namespace(&self) -> anyhow::Result<Namespace> {
        Namespace::new(&self.namespace).map_err(|e| anyhow::Error::new(UsageError(e.into())))
    }
}
