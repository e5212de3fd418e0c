//! `lineage-conformance`: runs the OCI distribution-spec conformance suite
//! against a registry and prints one line per check and a summary.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use lineage_conformance::{Config, Outcome, Profile, Report, run};

/// Runs the OCI distribution-spec v1.1 conformance suite against a registry.
///
/// Prints `PASS`, `FAIL`, `SKIP` or `XFAIL` (a failure the profile expects)
/// with each check's id and detail, then `N passed, M failed, …`. Exits 1
/// when any check failed unexpectedly.
#[derive(Debug, Parser)]
#[command(name = "lineage-conformance", version)]
struct Cli {
    /// The registry's base URL, e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    registry: String,
    /// Which differences from the spec are expected.
    #[arg(long, value_enum, default_value_t = ProfileArg::Strict)]
    profile: ProfileArg,
    /// The namespace to push test repositories under.
    #[arg(long, value_name = "NS", default_value = "conformance/main")]
    namespace: String,
    /// The namespace cross-repository mounts go to.
    #[arg(long, value_name = "NS", default_value = "conformance/cross")]
    crossmount_namespace: String,
    /// The user name, for registries with authentication.
    #[arg(long, value_name = "U", requires = "password_stdin")]
    username: Option<String>,
    /// Read the password from standard input (one line).
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// Spec behaviour: every check must pass.
    Strict,
    /// Debian's docker-registry 2.8.2 (CNCF distribution 2.8).
    #[value(name = "distribution-2.8")]
    Distribution28,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    /// One line per check and a summary.
    Text,
    /// The whole report as JSON.
    Json,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            // The style of lineage's own errors: a headline, then each cause once.
            let mut text = format!("error: {e}\n");
            let mut shown = e.to_string();
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                if !shown.contains(&cause) {
                    text.push_str(&format!("  caused by: {cause}\n"));
                    shown.push_str(&cause);
                }
            }
            eprint!("{text}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<bool> {
    let cli = Cli::parse();
    let password = if cli.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the password from standard input")?;
        let p = s.lines().next().unwrap_or_default().to_owned();
        if p.is_empty() {
            bail!("--password-stdin: standard input holds no password");
        }
        Some(p)
    } else {
        None
    };
    let config = Config {
        base_url: cli.registry.clone(),
        namespace: cli.namespace.clone(),
        crossmount_namespace: cli.crossmount_namespace.clone(),
        username: cli.username.clone(),
        password,
        profile: match cli.profile {
            ProfileArg::Strict => Profile::Strict,
            ProfileArg::Distribution28 => Profile::Distribution28,
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(run(&config));
    match cli.output {
        Output::Text => print_text(&report),
        Output::Json => {
            let v = serde_json::json!({
                "registry": config.base_url,
                "profile": config.profile.name(),
                "checks": report.checks,
                "summary": report.summary(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(report.unexpected_failures().is_empty())
}

fn print_text(report: &Report) {
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &report.checks {
        let (word, detail) = match &c.outcome {
            Outcome::Pass => ("PASS", c.note.clone().unwrap_or_default()),
            Outcome::Fail(m) => ("FAIL", m.clone()),
            Outcome::Skip(m) => ("SKIP", m.clone()),
            Outcome::ExpectedFail(m) => ("XFAIL", m.clone()),
        };
        let line = format!("{word:<5} {:<width$}  {detail}", c.id);
        println!("{}", line.trim_end());
    }
    println!("{}", report.summary());
}
