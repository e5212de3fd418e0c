//! Running external tools for a test: finding them on `PATH` (a skip, or a failure under
//! CI, when one is missing), running them with their output in the panic message, and
//! hashing with coreutils' `sha256sum` so that checks share no code with lineage.

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Whether the tests run under CI, where a missing tool is a failure, not a skip.
///
/// `CI` counts as set when it is non-empty and not `false` or `0`.
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0"),
        Err(_) => false,
    }
}

/// The full path of an executable called `name` on `PATH`, if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Checks that every tool in `tools` is on `PATH`.
///
/// Returns `false` after printing a skip note when one is missing, so the test
/// can `return` early; under CI (see [`in_ci`]) a missing tool fails the test.
#[must_use]
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| on_path(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let note = format!(
        "{test}: required tool(s) not on PATH: {} (scripts/test.sh installs them)",
        missing.join(", ")
    );
    if in_ci() {
        panic!("{note}; CI is set, so this is a failure rather than a skip");
    }
    eprintln!("SKIPPED {note}");
    false
}

/// Whether this process runs as root (umoci and buildah need `--rootless`
/// style options otherwise).
pub fn is_root() -> bool {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .expect("running `id -u`");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion with stdin closed and returns its output,
/// whatever its exit status.
pub fn output(cmd: &mut Command) -> Output {
    let what = describe(cmd);
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not start `{what}`: {e}"))
}

/// Runs `cmd`, panics with its stdout and stderr unless it exits 0, and
/// returns its stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let what = describe(cmd);
    let out = output(cmd);
    assert!(
        out.status.success(),
        "`{what}` failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    out.stdout
}

/// Runs `program` with `args`; see [`run`].
pub fn tool<I, S>(program: &str, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(program).args(args))
}

/// The exact manifest (or index) bytes skopeo reads for `reference`.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    tool("skopeo", ["inspect", "--raw", reference])
}

/// Lowercase hex SHA-256 of `bytes`, computed by coreutils' `sha256sum` so the
/// check does not share code with lineage.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running sha256sum");
    child
        .stdin
        .take()
        .expect("sha256sum stdin")
        .write_all(bytes)
        .expect("writing to sha256sum");
    let out = child.wait_with_output().expect("waiting for sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    parse_sha256sum(&out.stdout)
}

/// Lowercase hex SHA-256 of the file at `path`.
pub fn sha256_file(path: &Path) -> String {
    parse_sha256sum(&tool("sha256sum", [path]))
}

/// Lowercase hex SHA-256 of each file in `paths`, in order, from as few `sha256sum` runs
/// as the command line allows (one per file is slow for thousands of blobs).
pub fn sha256_files(paths: &[std::path::PathBuf]) -> Vec<String> {
    let mut out = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(512) {
        let text = String::from_utf8_lossy(&tool("sha256sum", chunk)).into_owned();
        out.extend(text.lines().map(|l| parse_sha256sum(l.as_bytes())));
    }
    assert_eq!(
        out.len(),
        paths.len(),
        "sha256sum printed one line per file"
    );
    out
}

fn parse_sha256sum(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let hex = text.split_whitespace().next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "unexpected sha256sum output: {text}");
    hex.to_owned()
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}
