//! `lineage probe REGISTRY…`: what each registry supports, as a table, markdown or JSON.
//! Registries are probed at once; each check's result is shown on stderr as it comes.

use std::time::Duration;

use anyhow::Context as _;
use lineage_probe::{CheckResult, Outcome, ProbeOptions, probe, render};
use lineage_registry_client::RegistryClient;

use crate::args::{ProbeArgs, ProbeOutput};
use crate::error::{Exit, UsageError};
use crate::open::Opener;

/// The registry host of an argument: `host[:port]`, a scheme prefix allowed (and, for
/// `http://`, plain HTTP used).
pub(crate) fn registry_of(arg: &str) -> anyhow::Result<(String, bool)> {
    let (rest, plain) = match arg.split_once("://") {
        Some(("http", rest)) => (rest, true),
        Some(("https", rest)) => (rest, false),
        Some((scheme, _)) => {
            return Err(UsageError(anyhow::anyhow!(
                "`{arg}`: unknown scheme `{scheme}` (give `host[:port]`)"
            ))
            .into());
        }
        None => (arg, false),
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(UsageError(anyhow::anyhow!(
            "`{arg}` is not a registry: give `host[:port]`, e.g. `localhost:5000` or `ghcr.io`"
        ))
        .into());
    }
    Ok((host.to_string(), plain))
}

/// Probe every registry and print the report.
pub async fn run(opener: &Opener, a: ProbeArgs, quiet: bool) -> anyhow::Result<()> {
    if !lineage_oci::reference::is_valid_repository(&a.repo) {
        return Err(UsageError(anyhow::anyhow!(
            "`--repo {}` is not a valid repository name",
            a.repo
        ))
        .into());
    }
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        return Err(UsageError(anyhow::anyhow!(
            "`--timeout {}` must be a positive number of seconds",
            a.timeout
        ))
        .into());
    }
    let mut registries = Vec::new();
    let mut options = opener.client_options()?;
    for arg in &a.registries {
        let (host, plain) = registry_of(arg)?;
        if plain {
            options.plain_http_hosts.push(host.clone());
        }
        registries.push(host);
    }
    // The probe reports what the registry answers, so it does not retry, and it bounds
    // every request.
    let timeout = Duration::from_secs_f64(a.timeout);
    options.retries = 0;
    options.connect_timeout = timeout;
    options.read_timeout = timeout;
    let client = RegistryClient::new(options).context("cannot set up the registry client")?;
    let probe_options = ProbeOptions {
        repository: a.repo.clone(),
        write: a.write,
        timeout,
        run_id: lineage_probe::unique_run_id(),
    };
    let progress = move |registry: &str, r: &CheckResult| {
        if !quiet {
            eprintln!("{registry}: {} {}", r.id, r.result.as_str());
        }
    };
    let reports = futures_util::future::join_all(
        registries
            .iter()
            .map(|r| probe(&client, r, &probe_options, &progress)),
    )
    .await;
    let text = match a.output {
        ProbeOutput::Json => format!("{}\n", render::json(&reports)),
        ProbeOutput::Table => render::table(&reports, &a.labels),
        ProbeOutput::Markdown => render::markdown(&reports, &a.labels),
    };
    out!("{text}")?;
    let unreachable = reports.iter().any(|r| {
        r.get(lineage_probe::CheckId::Ping)
            .is_some_and(|c| c.result == Outcome::Error)
    });
    if unreachable {
        return Err(Exit(1).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_arguments() {
        assert_eq!(
            registry_of("localhost:5000").ok(),
            Some(("localhost:5000".into(), false))
        );
        assert_eq!(
            registry_of("http://127.0.0.1:5000/").ok(),
            Some(("127.0.0.1:5000".into(), true))
        );
        assert_eq!(
            registry_of("https://ghcr.io").ok(),
            Some(("ghcr.io".into(), false))
        );
        assert!(registry_of("ghcr.io/me/app").is_err());
        assert!(registry_of("ftp://x").is_err());
        assert!(registry_of("").is_err());
    }
}
