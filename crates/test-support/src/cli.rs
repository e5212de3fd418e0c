//! Running the `lineage` binary under test: a command in a scratch directory without colour
//! or `RUST_LOG`, and [`Run`], its captured result with the checks every test makes.

use std::path::Path;

/// A `lineage` command for the binary under test, run in `cwd` so that nothing
/// it might create lands in the source tree.
pub fn lineage(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("lineage").expect("the `lineage` binary is built");
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    cmd
}

/// The result of a `lineage` run, with its output as text.
pub struct Run {
    /// What was run, for messages.
    pub what: String,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Stderr, lossily decoded.
    pub stderr: String,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "`{}` exited with {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }

    /// Panics unless the run exited 0.
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success: {}", self.context());
        self
    }

    /// Stdout as trimmed UTF-8 text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|_| panic!("stdout is not UTF-8: {}", self.context()))
            .trim()
            .to_owned()
    }

    /// Asserts a clean failure: exit code 1 or 2, no panic message anywhere,
    /// and exactly one `error: ` headline line on stderr, which it returns.
    pub fn clean_failure(&self) -> String {
        assert!(
            matches!(self.code, Some(1 | 2)),
            "expected exit code 1 or 2: {}",
            self.context()
        );
        let stdout = String::from_utf8_lossy(&self.stdout);
        assert!(
            !self.stderr.contains("panicked") && !stdout.contains("panicked"),
            "lineage panicked: {}",
            self.context()
        );
        let headlines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(
            headlines.len(),
            1,
            "expected exactly one `error: ` headline on stderr: {}",
            self.context()
        );
        let headline = headlines[0];
        assert!(
            headline.len() > "error: ".len(),
            "empty error headline: {}",
            self.context()
        );
        headline.to_owned()
    }

    /// Like [`Run::clean_failure`], and the headline must contain `needle`.
    pub fn fails_naming(&self, needle: &str) {
        let headline = self.clean_failure();
        assert!(
            headline.contains(needle),
            "the error headline does not name `{needle}`: {headline}\n{}",
            self.context()
        );
    }
}

/// Runs `lineage ARGS` in `cwd` and captures the result.
pub fn lineage_run(cwd: &Path, args: &[&str]) -> Run {
    let out = lineage(cwd).args(args).output().expect("running lineage");
    Run {
        what: format!("lineage {}", args.join(" ")),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `lineage ARGS` in `cwd` and panics unless it succeeds.
pub fn lineage_ok(cwd: &Path, args: &[&str]) -> Run {
    lineage_run(cwd, args).success()
}
