//! How failures reach the user: one headline naming what failed, the chain of causes, an
//! optional hint, and a documented exit code.

use std::fmt;

/// Exit codes of `lineage`, stable for scripts.
pub mod exit_code {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// The command failed (a store, a file, the network).
    pub const FAILURE: i32 = 1;
    /// The command line or an argument was invalid.
    pub const USAGE: i32 = 2;
    /// `--fail-on`: an image is in (or past) the state named.
    pub const POLICY: i32 = 3;
    /// Interrupted by `SIGINT` (Ctrl-C): 128 + 2, as shells report it.
    pub const INTERRUPTED: i32 = 130;
    /// Stopped by `SIGTERM`: 128 + 15, as shells report it.
    pub const TERMINATED: i32 = 143;
}

/// Leave with an exit code and no error message (the command printed what it had to say).
#[derive(Debug)]
pub struct Exit(pub i32);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// The command was stopped by a signal; `main` prints `interrupted` and exits with
/// [`Interrupted::exit_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// `SIGINT`, as Ctrl-C sends it.
    Interrupt,
    /// `SIGTERM`, as `kill` and service managers send it.
    Terminate,
}

impl Interrupted {
    /// [`exit_code::INTERRUPTED`] or [`exit_code::TERMINATED`].
    pub fn exit_code(self) -> i32 {
        match self {
            Interrupted::Interrupt => exit_code::INTERRUPTED,
            Interrupted::Terminate => exit_code::TERMINATED,
        }
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// An error with a hint for the user, attached where the cause is known.
#[derive(Debug)]
pub struct Hinted {
    /// What went wrong.
    pub error: anyhow::Error,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// A bad argument: exits with [`exit_code::USAGE`].
#[derive(Debug)]
pub struct UsageError(pub anyhow::Error);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for UsageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Render `err` for stderr, the one style every error is shown in: `error: headline`,
/// `  caused by: …` lines, `hint: …`, and for a bad argument clap's own footer, so every
/// usage error reads alike. `error:` is red and bold, as clap draws it, when `colour` (see
/// [`crate::output::Printer`], which decides it).
pub fn render(err: &anyhow::Error, colour: bool) -> String {
    let label = if colour {
        "\x1b[1m\x1b[31merror:\x1b[0m"
    } else {
        "error:"
    };
    let mut out = format!("{label} {err}\n");
    let mut hint = None;
    let mut shown = err.to_string();
    for cause in err.chain().skip(1) {
        if let Some(h) = hint_of(cause) {
            hint.get_or_insert_with(|| h.to_string());
        }
        let text = cause.to_string();
        // Wrappers repeat their inner message, and a message may already carry its causes'
        // text (`lineage_store::one_line`); show each message once.
        if !shown.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
            shown.push('\n');
            shown.push_str(&text);
        }
    }
    if let Some(h) = hint_of(err.as_ref()) {
        hint = Some(h.to_string());
    }
    if let Some(h) = hint {
        out.push_str(&format!("hint: {h}\n"));
    }
    if exit_code_for(err) == exit_code::USAGE {
        out.push_str("\nFor more information, try '--help'.\n");
    }
    out
}

/// clap's "unrecognized subcommand" with its suggestions best first (clap lists the closest
/// last: `stauts` gave `'audit', 'tags', 'status'`); `None` for every other parse error.
pub fn unknown_subcommand(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::InvalidSubcommand {
        return None;
    }
    let given = match e.get(ContextKind::InvalidSubcommand) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => return None,
    };
    let mut suggested = match e.get(ContextKind::SuggestedSubcommand) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    suggested.reverse();
    let tip = match suggested.split_first() {
        None => String::new(),
        Some((best, [])) => format!("\n  tip: did you mean '{best}'?\n"),
        Some((best, others)) => format!(
            "\n  tip: did you mean '{best}'? (or {})\n",
            others
                .iter()
                .map(|o| format!("'{o}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(format!(
        "error: unrecognized subcommand '{given}'\n{tip}\nUsage: lineage [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n"
    ))
}

/// The hint `e` carries: its own, or that of the error a [`UsageError`] wraps.
fn hint_of<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e str> {
    if let Some(h) = e.downcast_ref::<Hinted>() {
        return Some(&h.hint);
    }
    e.downcast_ref::<UsageError>()
        .and_then(|u| u.0.downcast_ref::<Hinted>())
        .map(|h| h.hint.as_str())
}

/// The exit code for `err`.
pub fn exit_code_for(err: &anyhow::Error) -> i32 {
    if err.chain().any(|c| c.is::<UsageError>()) {
        exit_code::USAGE
    } else {
        exit_code::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn an_unknown_subcommand_suggests_the_closest_first() {
        use clap::Parser as _;
        let e = crate::args::Cli::try_parse_from(["lineage", "stauts"]).unwrap_err();
        let text = unknown_subcommand(&e).unwrap();
        assert!(text.contains("tip: did you mean 'status'?"), "{text}");
        insta::assert_snapshot!("unknown-subcommand", text);
        let e = crate::args::Cli::try_parse_from(["lineage", "status", "--nope"]).unwrap_err();
        assert!(unknown_subcommand(&e).is_none());
    }

    #[test]
    fn usage_errors_end_as_clap_ends_them_and_colour_only_when_asked() {
        let err = anyhow::Error::new(UsageError(anyhow::anyhow!("`x` is not a tag")));
        assert_eq!(
            render(&err, false),
            "error: `x` is not a tag\n\nFor more information, try '--help'.\n"
        );
        assert!(render(&err, true).starts_with("\x1b[1m\x1b[31merror:\x1b[0m `x`"));
        let hinted = anyhow::Error::new(UsageError(anyhow::Error::new(Hinted {
            error: anyhow::anyhow!("REPOSITORY `a:1` names the tag `1`"),
            hint: "the source comes first".into(),
        })));
        insta::assert_snapshot!("usage-error-with-hint", render(&hinted, false));
        let failure = anyhow::anyhow!("registry down");
        assert_eq!(render(&failure, false), "error: registry down\n");
    }

    #[test]
    fn renders_headline_causes_and_hint() {
        let base = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Err::<(), _>(base)
            .context("cannot read `x/index.json`")
            .map_err(|e| {
                anyhow::Error::new(Hinted {
                    error: e,
                    hint: "create it first".into(),
                })
            })
            .context("cannot copy oci:x:v1")
            .unwrap_err();
        let text = render(&err, false);
        assert_eq!(
            text,
            "error: cannot copy oci:x:v1\n  caused by: cannot read `x/index.json`\n  caused by: no such file\nhint: create it first\n"
        );
        assert_eq!(exit_code_for(&err), exit_code::FAILURE);
        let usage = anyhow::Error::new(UsageError(anyhow::anyhow!("bad reference")));
        assert_eq!(exit_code_for(&usage), exit_code::USAGE);
    }
}
