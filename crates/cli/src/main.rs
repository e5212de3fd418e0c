//! `lineage`: the command line of lineage.
//!
//! Arguments are parsed into clap types ([`args`]), turned into plain values, and handed to
//! one function per command ([`commands`]). Failures are rendered once, here, with the exit
//! codes documented in [`error::exit_code`].

mod args;
mod commands;
mod config;
mod error;
mod open;
mod progress;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use lineage_store::copy::CopyOptions;

use crate::args::{Cli, Command, ReportCommand};
use crate::error::{exit_code, render};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(
        cli.verbose,
        matches!(cli.command, Command::Serve(_) | Command::Webhook(_)),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit_code::FAILURE as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(exit_code::SUCCESS as u8),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            if let Some(error::Exit(code)) = err.downcast_ref::<error::Exit>() {
                return ExitCode::from(*code as u8);
            }
            eprint!("{}", render(&err));
            ExitCode::from(error::exit_code_for(&err) as u8)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = config::load()?;
    let namespace = cli
        .namespace
        .clone()
        .or(config.namespace.clone())
        .unwrap_or_else(|| lineage_lifecycle::DEFAULT_NAMESPACE.to_string());
    let connection = open::Connection {
        plain_http: cli.plain_http,
        plain_http_hosts: config.plain_http.clone(),
        insecure: cli.insecure,
        ca_files: cli.ca_files,
    };
    let opener = open::Opener::new(connection.clone());
    let quiet = cli.quiet;
    match cli.command {
        Command::Copy(a) => {
            let request = commands::copy::CopyRequest {
                source: open::parse(&a.source)?,
                destination: open::parse(&a.destination)?,
                options: CopyOptions {
                    concurrency: a.concurrency,
                    referrers: a.referrers,
                    include_types: a.include_types,
                    exclude_types: a.exclude_types,
                    progress: None,
                },
                output: a.output,
                quiet,
            };
            commands::copy::run(&opener, request).await
        }
        Command::Resolve(a) => commands::resolve::run(&opener, &open::parse(&a.reference)?).await,
        Command::Manifest(a) => {
            commands::manifest::run(&opener, &open::parse(&a.reference)?, a.descriptor).await
        }
        Command::Tags(a) => commands::tags::run(&opener, &open::parse(&a.store)?).await,
        Command::Attach(a) => {
            let request = commands::attach::AttachRequest {
                reference: open::parse(&a.reference)?,
                artifact_type: a.artifact_type,
                annotations: a.annotations,
                files: a.files,
                output: a.output,
            };
            commands::attach::run(&opener, request).await
        }
        Command::Discover(a) => {
            let r = open::parse(&a.reference)?;
            commands::discover::run(
                &opener,
                &r,
                a.artifact_type.as_deref(),
                a.depth,
                a.max_nodes,
                a.output,
            )
            .await
        }
        Command::Delete(a) => {
            commands::delete::run(&opener, &open::parse(&a.reference)?, quiet).await
        }
        Command::Login(a) => {
            commands::login::login(
                &connection,
                &a.registry,
                &a.username,
                a.password,
                a.password_stdin,
                quiet,
            )
            .await
        }
        Command::Report(ReportCommand::Enrich(a)) => {
            commands::report::enrich(&opener, &namespace, a).await
        }
        Command::Update(a) => commands::update::run(&opener, &namespace, a, quiet).await,
        Command::Audit(a) => commands::audit::run(&opener, &namespace, a).await,
        Command::Probe(a) => commands::probe::run(&opener, a, quiet).await,
        Command::Logout(a) => commands::login::logout(&a.registry, quiet).await,
        Command::Serve(a) => commands::serve::run(&connection, &namespace, a).await,
        Command::Webhook(a) => commands::webhook::run(&connection, &namespace, a).await,
        Command::Push(a) => commands::lifecycle::push(&opener, a, quiet).await,
        Command::Status(a) => commands::lifecycle::status(&opener, &namespace, a).await,
        Command::Release(a) => commands::lifecycle::release(&opener, &namespace, a, quiet).await,
        Command::Retire(a) => commands::lifecycle::retire(&opener, &namespace, a, quiet).await,
        Command::Restore(a) => {
            commands::lifecycle::restore(&opener, &namespace, &a.reference, quiet).await
        }
        Command::History(a) => commands::lifecycle::history(&opener, &namespace, a).await,
        Command::Latest(a) => commands::lifecycle::latest(&opener, &namespace, &a.reference).await,
        Command::Demo(a) => commands::demo::run(&namespace, a).await,
    }
}

/// Logs go to stderr: warnings by default, debug with `-v`, trace with `-vv`; `RUST_LOG`
/// overrides. Colour only on a terminal and never with `NO_COLOR`.
fn init_logging(verbose: u8, serving: bool) {
    let default = match verbose {
        // Only lineage's own warnings: dependencies' logs (a TLS verifier's, say) would
        // repeat what the error already says.
        // The access log is the server's output under `serve`, noise anywhere else (`demo`).
        0 if serving => {
            "off,lineage=warn,lineage_store=warn,lineage_registry_client=warn,lineage_lifecycle=warn,lineage_server=info"
        }
        0 => {
            "off,lineage=warn,lineage_oci=warn,lineage_store=warn,lineage_registry_client=warn,lineage_server=warn"
        }
        1 => {
            "warn,lineage=debug,lineage_oci=debug,lineage_store=debug,lineage_registry_client=debug,lineage_server=debug"
        }
        _ => {
            "debug,lineage=trace,lineage_oci=trace,lineage_store=trace,lineage_registry_client=trace,lineage_server=trace"
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(verbose > 1)
        .init();
}

/// Writing to a closed pipe (`lineage tags … | head -1`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
