//! The repositories a command over many repositories works on (`lineage gc`, `lineage
//! retire --filter`): a registry's catalog, or repositories named one by one when the
//! catalog is closed.

use lineage_oci::ImageRef;

use crate::error::{Hinted, UsageError};
use crate::open::Opener;

/// The repositories a target names: `host[:port]` is a registry (its catalog), anything with
/// a `/` a repository, named without tag or digest.
pub async fn repositories(
    opener: &Opener,
    target: &str,
    command: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    if !target.contains('/') || target.contains("://") {
        let host = crate::args::value::registry(target)
            .map_err(|e| UsageError(anyhow::anyhow!("`{target}`: {e}")))?
            .host;
        let client = opener.client().await?;
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
