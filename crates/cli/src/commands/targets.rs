//! The repositories a command over many repositories works on (`lineage gc`, `lineage
//! retire --filter`): a registry's catalog, or repositories named one by one when the
//! catalog is closed; `http://` in front of a target asks for plain HTTP to its host.

use anyhow::Context as _;
use lineage_oci::ImageRef;
use lineage_registry_client::RegistryClient;

use crate::error::{Hinted, UsageError};
use crate::open::Opener;

/// A target as given, with its scheme taken off: `http://` asks for plain HTTP to its host.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]` or `host[:port]/repository`.
    pub name: String,
    /// Whether `http://` was given.
    pub plain_http: bool,
}

/// Split the scheme off `target`: `http://` and `https://` are allowed in front of a
/// registry or a repository.
pub fn target(target: &str) -> anyhow::Result<Target> {
    let Some((scheme, rest)) = target.split_once("://") else {
        return Ok(Target {
            name: target.to_string(),
            plain_http: false,
        });
    };
    let host = rest.split('/').next().unwrap_or(rest);
    let registry = crate::args::value::registry(&format!("{scheme}://{host}"))
        .map_err(|e| UsageError(anyhow::anyhow!("`{target}`: {e}")))?;
    Ok(Target {
        name: rest.trim_end_matches('/').to_string(),
        plain_http: registry.plain_http,
    })
}

/// The registry client for `given` targets and the `(registry, repository)` pairs they name,
/// without duplicates, in the order given. `command` names the command in hints.
pub async fn resolve(
    opener: &Opener,
    given: &[String],
    command: &str,
) -> anyhow::Result<(RegistryClient, Vec<(String, String)>)> {
    let given = given
        .iter()
        .map(|t| target(t))
        .collect::<anyhow::Result<Vec<Target>>>()?;
    // `http://HOST…` speaks plain HTTP to that host, whatever else the flags say.
    let client = if given.iter().any(|t| t.plain_http) {
        let mut options = opener.client_options()?;
        for t in given.iter().filter(|t| t.plain_http) {
            let host = t.name.split('/').next().unwrap_or(&t.name).to_string();
            if !options.plain_http_hosts.contains(&host) {
                options.plain_http_hosts.push(host);
            }
        }
        RegistryClient::new(options).context("cannot set up the registry client")?
    } else {
        opener.client().await?
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for t in &given {
        for pair in repositories(&client, &t.name, command).await? {
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    Ok((client, out))
}

/// The repositories a target names: `host[:port]` is a registry (its catalog), anything with
/// a `/` a repository, named without tag or digest.
async fn repositories(
    client: &RegistryClient,
    target: &str,
    command: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    if !target.contains('/') {
        let host = crate::args::value::registry(target)
            .map_err(|e| UsageError(anyhow::anyhow!("`{target}`: {e}")))?
            .host;
        let repos = client.catalog(&host).await.map_err(|e| {
            anyhow::Error::new(Hinted {
                error: anyhow::Error::new(e)
                    .context(format!("cannot list the repositories of {host}")),
                hint: format!(
                    "name the repositories instead: `lineage {command} {host}/REPOSITORY…`"
                ),
            })
        })?;
        return Ok(repos.into_iter().map(|r| (host.clone(), r)).collect());
    }
    let image = ImageRef::parse(target).map_err(|e| UsageError(anyhow::Error::new(e)))?;
    if !image.tag_defaulted() {
        return Err(UsageError(anyhow::anyhow!(
            "`{target}`: {command} works on whole repositories; name one without tag or digest"
        ))
        .into());
    }
    Ok(vec![(
        image.registry().to_string(),
        image.repository().to_string(),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_in_front_of_a_target() {
        let t = |s: &str| target(s).map(|t| (t.name, t.plain_http)).ok();
        assert_eq!(t("localhost:5000"), Some(("localhost:5000".into(), false)));
        assert_eq!(t("http://host:5000"), Some(("host:5000".into(), true)));
        assert_eq!(t("http://host:5000/"), Some(("host:5000".into(), true)));
        assert_eq!(
            t("http://host:5000/team/app"),
            Some(("host:5000/team/app".into(), true))
        );
        assert_eq!(
            t("https://ghcr.io/o/r"),
            Some(("ghcr.io/o/r".into(), false))
        );
        assert_eq!(t("ftp://host/app"), None);
        assert_eq!(t("http:///app"), None);
    }
}
