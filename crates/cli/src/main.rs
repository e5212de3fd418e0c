//! `lineage`: the command line of lineage.
//!
//! Arguments are parsed into clap types ([`args`]), turned into plain values, and handed to
//! one function per command ([`commands`]). Failures are rendered once, here, with the exit
//! codes documented in [`error::exit_code`]. Everything printed goes through [`output`], and
//! a command interrupted by `SIGINT` or `SIGTERM` is dropped, which removes its temporary
//! files, before `lineage` exits with `interrupted`.

// First, so that its printing macros replace std's in every module below.
#[macro_use]
mod output;
mod args;
mod commands;
mod config;
mod error;
mod open;
mod progress;

use std::io::IsTerminal;
use std::process::ExitCode;

use lineage_store::copy::CopyOptions;

use crate::args::{Cli, Command, ReportCommand};
use crate::error::{exit_code, render};

fn main() -> ExitCode {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(text) = error::unknown_subcommand(&e) {
                eprint!("{text}");
                return ExitCode::from(exit_code::USAGE as u8);
            }
            e.exit()
        }
    };
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
    // `serve` and `webhook` shut down gracefully on these signals themselves.
    let interruptible = !matches!(cli.command, Command::Serve(_) | Command::Webhook(_));
    let result = runtime.block_on(async {
        if interruptible {
            until_interrupted(run(cli)).await
        } else {
            run(cli).await
        }
    });
    // Dropping the runtime drops the tasks of an interrupted command and waits for its
    // blocking file work, so its temporary files are gone before the process ends.
    drop(runtime);
    match result {
        Ok(()) => ExitCode::from(exit_code::SUCCESS as u8),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            if let Some(error::Exit(code)) = err.downcast_ref::<error::Exit>() {
                return ExitCode::from(*code as u8);
            }
            if let Some(interrupted) = err.downcast_ref::<error::Interrupted>() {
                eprintln!("interrupted");
                return ExitCode::from(interrupted.exit_code() as u8);
            }
            eprint!("{}", render(&err));
            ExitCode::from(error::exit_code_for(&err) as u8)
        }
    }
}

/// Run `command` until it ends or the process receives `SIGINT` (Ctrl-C) or `SIGTERM`. An
/// interrupted command's future is dropped, and with it the guards of its temporary files.
async fn until_interrupted(
    command: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use tokio::signal::unix::{SignalKind, signal};
    // Listening starts before the command does, so no signal can fall in between.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = command => result,
        _ = interrupt.recv() => Err(error::Interrupted::Interrupt.into()),
        _ = terminate.recv() => Err(error::Interrupted::Terminate.into()),
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
        Command::Resolve(a) => {
            commands::resolve::run(&opener, &open::parse(&a.reference)?, a.output).await
        }
        Command::Manifest(a) => {
            commands::manifest::run(&opener, &open::parse(&a.reference)?, a.descriptor).await
        }
        Command::Tags(a) => commands::tags::run(&opener, &open::parse(&a.store)?, a.output).await,
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
        Command::Delete(a) => commands::delete::run(&opener, &a, quiet).await,
        Command::Gc(a) => commands::gc::run(&opener, &namespace, a, quiet).await,
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
        Command::Latest(a) => {
            commands::lifecycle::latest(&opener, &namespace, &a.reference, a.output).await
        }
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
        // Its report of a failed write goes to stderr with std's `eprintln!`, which panics
        // when stderr is the closed pipe that failed.
        .log_internal_errors(false)
        .init();
}
