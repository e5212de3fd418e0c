//! Everything `lineage` prints goes through here: the one place that knows where data and
//! messages go, whether the user asked for quiet, whether stderr gets colour, and how a
//! closed pipe ends a command.
//!
//! [`Printer`] is the choice made once, from `--quiet`, stderr being a terminal and
//! `NO_COLOR`, and handed to the commands (it is `Copy`): [`Printer::note`] writes the
//! summaries and progress lines that `--quiet` silences, [`Printer::warning`] and
//! [`Printer::error`] what it does not, [`Printer::bar`] a progress bar where one can be
//! drawn. Errors are rendered by [`crate::error::render`] in one style, with the printer's
//! colour choice.
//!
//! Rust ignores `SIGPIPE`, so writing to a pipe whose reader has gone (`lineage demo | head
//! -3`) fails with [`io::ErrorKind::BrokenPipe`], and std's `println!` turns that failure
//! into a panic. Here, data for stdout is written with `out!` and `outln!`, which return the
//! [`io::Result`]; commands pass it up with `?`, and `main` ends quietly with success when
//! the cause is a broken pipe ([`is_broken_pipe`]), as ripgrep does. Messages for stderr go
//! through [`stderr`], which drops a failure: a message that cannot be shown has nowhere
//! else to go.
//!
//! This module also replaces std's `print!`, `println!`, `eprint!` and `eprintln!` for every
//! module declared after it, so that no printing in the binary can panic: `print!` and
//! `println!` no longer compile (use `out!`/`outln!` and pass the error up), and the stderr
//! ones call [`stderr`].

use std::fmt;
use std::io::{self, IsTerminal as _, Write as _};
use std::sync::Arc;

/// How `lineage` prints to stderr for this run: quiet or not, colour or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    quiet: bool,
    colour: bool,
    terminal: bool,
}

impl Printer {
    /// The printer for `--quiet`: colour when stderr is a terminal and `NO_COLOR` is unset or
    /// empty (<https://no-color.org>).
    pub fn new(quiet: bool) -> Printer {
        let terminal = io::stderr().is_terminal();
        Printer {
            quiet,
            colour: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            terminal,
        }
    }

    /// Whether stderr gets colour.
    pub fn colour(self) -> bool {
        self.colour
    }

    /// A summary or progress line on stderr, unless `--quiet`.
    pub fn note(self, args: fmt::Arguments<'_>) {
        if !self.quiet {
            stderr(format_args!("{args}\n"));
        }
    }

    /// A line on stderr that `--quiet` does not silence: what a command is for (where a
    /// server listens, the demo's steps) or what it waits for (input from a terminal).
    pub fn message(self, args: fmt::Arguments<'_>) {
        stderr(format_args!("{args}\n"));
    }

    /// `warning: …` on stderr, even with `--quiet`.
    pub fn warning(self, args: fmt::Arguments<'_>) {
        stderr(format_args!("warning: {args}\n"));
    }

    /// `err` on stderr in the one error style ([`crate::error::render`]): for the error that
    /// ends the command, and for a failure a command reports and goes on from (a reference
    /// `lineage status` could not look up).
    pub fn error(self, err: &anyhow::Error) {
        stderr(format_args!("{}", crate::error::render(err, self.colour)));
    }

    /// A transfer progress bar for `label`, or `None` with `--quiet` or when stderr is not a
    /// terminal.
    pub fn bar(self, label: &str) -> Option<Arc<crate::progress::Bar>> {
        (!self.quiet && self.terminal).then(|| crate::progress::Bar::new(label))
    }
}

/// `value` as pretty JSON and a newline on stdout, as the commands print their JSON.
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    stdout(format_args!("{text}\n"))?;
    Ok(())
}

/// Write `args` to stdout and flush, so a closed pipe is reported by this call.
pub fn stdout(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    out.flush()
}

/// Write `bytes` to stdout as they are (a manifest's exact bytes) and flush.
pub fn stdout_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Write a message to stderr, dropping a failure: there is nowhere left to report it.
pub fn stderr(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

/// Whether `err` was caused by writing to a pipe whose reader has gone, which ends a command
/// quietly and successfully (`lineage tags … | head -1`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `print!` for data: formats to stdout and returns the [`io::Result`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!($($arg)*))
    };
}

/// A note on stderr through a [`Printer`], silenced by `--quiet`: `note!(printer, "…", …)`.
macro_rules! note {
    ($printer:expr, $($arg:tt)*) => {
        $crate::output::Printer::note($printer, format_args!($($arg)*))
    };
}

/// `println!` for data: formats a line to stdout and returns the [`io::Result`].
macro_rules! outln {
    () => {
        $crate::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

// std's printing macros, replaced for every module declared after this one (macros defined
// by `macro_rules!` shadow the prelude's): none of them can panic on a closed pipe.

/// std's `print!` would panic on a closed pipe: stdout is written with `out!`.
#[allow(unused_macros)] // It exists so that no command can use std's.
macro_rules! print {
    ($($arg:tt)*) => {
        compile_error!(
            "write stdout with out!(…)?, which reports a closed pipe instead of panicking"
        )
    };
}

/// std's `println!` would panic on a closed pipe: stdout is written with `outln!`.
#[allow(unused_macros)] // It exists so that no command can use std's.
macro_rules! println {
    ($($arg:tt)*) => {
        compile_error!(
            "write stdout with outln!(…)?, which reports a closed pipe instead of panicking"
        )
    };
}

/// std's `eprint!`, dropping a failure (see [`stderr`]).
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!($($arg)*))
    };
}

/// std's `eprintln!`, dropping a failure (see [`stderr`]). Commands write stderr through
/// their [`Printer`]; this exists so that no module can use std's, which panics.
#[allow(unused_macros)]
macro_rules! eprintln {
    () => {
        $crate::output::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_ends_quietly() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("cannot write the table");
        assert!(is_broken_pipe(&err), "{err:#}");
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
