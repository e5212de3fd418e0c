//! Everything `lineage` prints goes through here, so that a closed pipe is handled in one
//! place.
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
//! module declared after it, so that no printing in the binary can panic: the stdout ones
//! call [`stdout_or_unwind`], for code that prints without returning a `Result` (a failed
//! write unwinds with an [`Unwritable`] payload, without a panic message, that `main` turns
//! back into the error), and the stderr ones call [`stderr`].

use std::fmt;
use std::io::{self, Write as _};

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

/// A stdout write that failed where no error could be returned; `main` catches the unwind
/// that carries it (see [`caught`]).
#[derive(Debug)]
pub struct Unwritable(pub io::Error);

/// Write `args` to stdout; on failure, unwind with [`Unwritable`] instead of panicking.
/// [`std::panic::resume_unwind`] does not run the panic hook, so nothing is printed.
pub fn stdout_or_unwind(args: fmt::Arguments<'_>) {
    if let Err(e) = stdout(args) {
        std::panic::resume_unwind(Box::new(Unwritable(e)));
    }
}

/// The outcome of `catch_unwind` around a command: an [`Unwritable`] unwind becomes the I/O
/// error it carries; any other panic continues.
pub fn caught<T>(outcome: std::thread::Result<anyhow::Result<T>>) -> anyhow::Result<T> {
    match outcome {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<Unwritable>() {
            Ok(unwritable) => {
                Err(anyhow::Error::new(unwritable.0).context("cannot write to standard output"))
            }
            Err(other) => std::panic::resume_unwind(other),
        },
    }
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

/// std's `print!`, unwinding quietly instead of panicking (see [`stdout_or_unwind`]).
#[allow(unused_macros)] // No command uses it today; it is here so that none can panic.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::stdout_or_unwind(format_args!($($arg)*))
    };
}

/// std's `println!`, unwinding quietly instead of panicking (see [`stdout_or_unwind`]).
macro_rules! println {
    () => {
        $crate::output::stdout_or_unwind(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout_or_unwind(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// std's `eprint!`, dropping a failure (see [`stderr`]).
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!($($arg)*))
    };
}

/// std's `eprintln!`, dropping a failure (see [`stderr`]).
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
    fn an_unwritable_unwind_becomes_a_broken_pipe_error() {
        let outcome = std::panic::catch_unwind(|| -> anyhow::Result<()> {
            std::panic::resume_unwind(Box::new(Unwritable(io::Error::from(
                io::ErrorKind::BrokenPipe,
            ))))
        });
        let err = match caught(outcome) {
            Ok(()) => panic!("the unwind was lost"),
            Err(e) => e,
        };
        assert!(is_broken_pipe(&err), "{err:#}");
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn other_panics_continue() {
        let outcome = std::panic::catch_unwind(|| caught::<()>(Err(Box::new("not ours"))));
        assert!(outcome.is_err());
    }
}
