//! `lineage`: the command line of lineage.
//!
//! Parse, then resolve settings, then act: clap parses the arguments into typed values
//! ([`args`]: references, times, states, modes are parsed there, so a bad one names its flag),
//! the global flags and the config file are resolved into [`settings::Settings`], and one
//! function per command acts ([`commands`]). Failures are rendered once, here, by the
//! [`output::Printer`] in the one style of [`error::render`], with the exit codes documented
//! in [`error::exit_code`]. Everything printed goes through [`output`], and
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
mod settings;

use std::process::ExitCode;

use lineage_store::copy::CopyOptions;

use crate::args::{Cli, Command, ReportCommand};
use crate::error::{exit_code, exit_code_for};
use crate::output::Printer;
use crate::settings::Settings;

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
    let printer = Printer::new(cli.quiet);
    init_logging(
        cli.verbose,
        matches!(cli.command, Command::Serve(_) | Command::Webhook(_)),
        printer,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let err = anyhow::Error::new(e).context("cannot start the async runtime");
            printer.error(&err);
            return ExitCode::from(exit_code_for(&err) as u8);
        }
    };
    // `serve` and `webhook` shut down gracefully on these signals themselves.
    let interruptible = !matches!(cli.command, Command::Serve(_) | Command::Webhook(_));
    let result = runtime.block_on(async {
        if interruptible {
            until_interrupted(run(cli, printer)).await
        } else {
            run(cli, printer).await
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
                printer.message(format_args!("interrupted"));
                return ExitCode::from(interrupted.exit_code() as u8);
            }
            printer.error(&err);
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

/// Resolve the settings, then run the command, whose arguments clap has already typed.
async fn run(cli: Cli, printer: Printer) -> anyhow::Result<()> {
    let config = config::load()?;
    let settings = Settings::resolve(&cli, &config, printer);
    commands::lifecycle::set_known_bases(settings.known_bases()?);
    commands::lifecycle::set_trust_policy(settings.trust_policy()?);
    let connection = &settings.connection;
    let opener = open::Opener::new(connection.clone());
    let p = settings.printer;
    match cli.command {
        Command::Copy(a) => {
            // Scoped records travel only where `--include-scope` lets them (issue 18).
            let referrer_filter = if a.referrers {
                Some(std::sync::Arc::new(lineage_lifecycle::scope::ScopeFilter {
                    scopes: lineage_lifecycle::scope::ScopeSet::new(&a.include_scopes),
                    namespaces: vec![settings.namespace()?],
                })
                    as std::sync::Arc<dyn lineage_store::copy::ReferrerFilter>)
            } else {
                None
            };
            let request = commands::copy::CopyRequest {
                source: a.source,
                destination: a.destination,
                options: CopyOptions {
                    concurrency: a.concurrency,
                    referrers: a.referrers,
                    include_types: a.include_types,
                    exclude_types: a.exclude_types,
                    progress: None,
                    referrer_filter,
                },
                output: a.output,
            };
            commands::copy::run(&opener, p, request).await
        }
        Command::Resolve(a) => commands::resolve::run(&opener, &a.reference, a.output).await,
        Command::Manifest(a) => commands::manifest::run(&opener, &a.reference, a.descriptor).await,
        Command::Tags(a) => commands::tags::run(&opener, &a.store, a.output).await,
        Command::Attach(a) => {
            let request = commands::attach::AttachRequest {
                reference: a.reference,
                artifact_type: a.artifact_type,
                annotations: a.annotations,
                files: a.files,
                output: a.output,
            };
            commands::attach::run(&opener, request).await
        }
        Command::Discover(a) => {
            commands::discover::run(
                &opener,
                &a.reference,
                a.artifact_type.as_deref(),
                a.depth,
                a.max_nodes,
                a.output,
            )
            .await
        }
        Command::Delete(a) => commands::delete::run(&opener, p, &a).await,
        Command::Gc(a) => commands::gc::run(&opener, &settings.namespace()?, p, a).await,
        Command::Login(a) => commands::login::login(connection, p, a).await,
        Command::Logout(a) => commands::login::logout(p, &a.registry).await,
        Command::Report(ReportCommand::Enrich(a)) => {
            commands::report::enrich(&opener, &settings.namespace()?, p, a).await
        }
        Command::Update(a) => commands::update::run(&opener, &settings.namespace()?, p, a).await,
        Command::Audit(a) => commands::audit::run(&opener, &settings.namespace()?, p, a).await,
        Command::Probe(a) => commands::probe::run(&opener, p, a).await,
        Command::Serve(a) => commands::serve::run(connection, &settings.namespace()?, p, a).await,
        Command::Webhook(a) => {
            commands::webhook::run(connection, &settings.namespace()?, p, a).await
        }
        Command::Push(a) => commands::push::push(&opener, p, a).await,
        Command::Release(a) => {
            let windows = settings.release_windows(a.support_for, a.eol_after)?;
            let signer = commands::sign::signer_for(&a.signing, &settings.signing)?;
            commands::push::release(&opener, &settings.namespace()?, p, a, windows, signer).await
        }
        Command::Sign(a) => {
            commands::sign::run(&opener, &settings.namespace()?, p, a, &settings.signing).await
        }
        Command::Status(a) => {
            commands::lifecycle::status(&opener, &settings.namespace()?, p, a).await
        }
        Command::Retire(a) => {
            let signer = commands::sign::signer_for(&a.signing, &settings.signing)?;
            commands::lifecycle::retire(&opener, &settings.namespace()?, p, a, signer).await
        }
        Command::Restore(a) => {
            let signer = commands::sign::signer_for(&a.signing, &settings.signing)?;
            commands::lifecycle::restore(&opener, &settings.namespace()?, p, &a.reference, signer)
                .await
        }
        Command::History(a) => {
            commands::lifecycle::history(&opener, &settings.namespace()?, a).await
        }
        Command::Latest(a) => {
            commands::lifecycle::latest(&opener, &settings.namespace()?, &a.reference, a.output)
                .await
        }
        Command::Demo(a) => commands::demo::run(&settings.namespace()?, p, a).await,
    }
}

/// Logs go to stderr: warnings by default, debug with `-v`, trace with `-vv`; `RUST_LOG`
/// overrides. Colour only on a terminal and never with `NO_COLOR`.
fn init_logging(verbose: u8, serving: bool, printer: Printer) {
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(printer.colour())
        .with_target(verbose > 1)
        // Its report of a failed write goes to stderr with std's `eprintln!`, which panics
        // when stderr is the closed pipe that failed.
        .log_internal_errors(false)
        .init();
}
