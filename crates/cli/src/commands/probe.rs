//! `lineage probe REGISTRY…`: what each registry supports, as a table, markdown or JSON.
//! Registries are probed at once; each check's result is shown on stderr as it comes.

use anyhow::Context as _;
use lineage_probe::{CheckResult, Outcome, ProbeOptions, probe, render};
use lineage_registry_client::RegistryClient;

use crate::args::{ProbeArgs, ProbeOutput};
use crate::error::Exit;
use crate::open::Opener;
use crate::output::Printer;

/// Probe every registry and print the report.
pub async fn run(opener: &Opener, printer: Printer, a: ProbeArgs) -> anyhow::Result<()> {
    let mut registries = Vec::new();
    let mut options = opener.client_options()?;
    for r in &a.registries {
        if r.plain_http {
            options.plain_http_hosts.push(r.host.clone());
        }
        registries.push(r.host.clone());
    }
    // The probe reports what the registry answers, so it does not retry, and it bounds
    // every request.
    let timeout = a.timeout;
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
        note!(printer, "{registry}: {} {}", r.id, r.result.as_str());
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
