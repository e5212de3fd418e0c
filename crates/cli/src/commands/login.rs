//! `lineage login` / `lineage logout`: credentials in docker's config.json, checked against
//! the registry before they are stored.

use std::io::Read;

use anyhow::Context as _;
use lineage_registry_client::credentials::{Credential, DockerConfig};
use lineage_registry_client::{ClientOptions, RegistryClient};

use crate::args::LoginArgs;
use crate::error::{Hinted, UsageError};
use crate::open::Connection;
use crate::output::Printer;

/// Docker Hub's aliases all mean `docker.io`.
fn normalise(registry: &str) -> String {
    let r = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let r = r.split('/').next().unwrap_or(r);
    match r {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

/// Check the credentials with a request to the registry, then store them.
pub async fn login(connection: &Connection, printer: Printer, a: LoginArgs) -> anyhow::Result<()> {
    let registry = normalise(&a.registry);
    let password = match (a.password, a.password_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from standard input")?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => {
            return Err(anyhow::Error::new(UsageError(anyhow::Error::new(Hinted {
                error: anyhow::anyhow!("no password given"),
                hint: "pipe it in with `--password-stdin`".into(),
            }))));
        }
    };
    if password.is_empty() {
        anyhow::bail!(UsageError(anyhow::anyhow!("the password is empty")));
    }
    let credential = Credential::Basic {
        username: a.username,
        password,
    };
    let mut options = ClientOptions {
        plain_http: connection.plain_http,
        insecure: connection.insecure,
        ca_files: connection.ca_files.clone(),
        ..ClientOptions::default()
    };
    options
        .credentials
        .insert(registry.clone(), credential.clone());
    let client = RegistryClient::new(options)?;
    client
        .ping(&registry)
        .await
        .with_context(|| format!("cannot log in to {registry}"))?;
    let mut config = DockerConfig::load_default().context("cannot read docker's config.json")?;
    config
        .store(&registry, &credential)
        .await
        .with_context(|| format!("cannot store the credentials for {registry}"))?;
    note!(
        printer,
        "Login succeeded; credentials for `{registry}` are in `{}`",
        config.path().display()
    );
    Ok(())
}

/// Forget the credentials of `registry`.
pub async fn logout(printer: Printer, registry: &str) -> anyhow::Result<()> {
    let registry = normalise(registry);
    let mut config = DockerConfig::load_default().context("cannot read docker's config.json")?;
    let removed = config
        .erase(&registry)
        .await
        .with_context(|| format!("cannot remove the credentials for {registry}"))?;
    if removed {
        note!(
            printer,
            "Removed the credentials for `{registry}` from `{}`",
            config.path().display()
        );
    } else {
        note!(
            printer,
            "No credentials for `{registry}` in `{}`",
            config.path().display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_aliases() {
        assert_eq!(normalise("index.docker.io"), "docker.io");
        assert_eq!(normalise("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise("localhost:5000"), "localhost:5000");
    }
}
