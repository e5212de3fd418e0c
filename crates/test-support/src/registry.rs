//! Helpers for the tests against real registries started by `scripts/test.sh`:
//! finding them through `LINEAGE_TEST_*` variables, unique repository names,
//! running `lineage` with a private docker config, and reading registries with
//! skopeo (an independent client) and discover's JSON.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::{Run, Scratch, in_ci, json, lineage, output, run};

/// A registry the tests talk to: `host:port`, and credentials if it needs them.
#[derive(Debug, Clone)]
pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// `USER:PASS` for registries with auth.
    pub creds: Option<(String, String)>,
}

impl TestRegistry {
    /// `host:port/repo` followed by `suffix` (`:tag` or `@digest`).
    pub fn reference(&self, repo: &str, suffix: &str) -> String {
        format!("{}/{repo}{suffix}", self.host)
    }

    /// The user name; panics for a registry without credentials.
    pub fn user(&self) -> &str {
        &self.creds.as_ref().expect("registry has credentials").0
    }

    /// The password; panics for a registry without credentials.
    pub fn pass(&self) -> &str {
        &self.creds.as_ref().expect("registry has credentials").1
    }
}

/// Prints a SKIPPED note, or panics under CI.
fn skip(test: &str, why: &str) {
    let note = format!("{test}: {why} (scripts/test.sh starts the test registries)");
    assert!(
        !in_ci(),
        "{note}; CI is set, so this is a failure rather than a skip"
    );
    eprintln!("SKIPPED {note}");
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The registry named by the environment variable `var` (`host:port`), with
/// credentials from `<var>_USER` and `<var>_PASS` when `with_creds`.
///
/// Returns `None` after printing a `SKIPPED` note when a variable is unset;
/// under CI that is a failure instead.
#[must_use]
pub fn registry_from_env(test: &str, var: &str, with_creds: bool) -> Option<TestRegistry> {
    let Some(host) = env_var(var) else {
        skip(test, &format!("{var} is not set"));
        return None;
    };
    let creds = if with_creds {
        let (user_var, pass_var) = (format!("{var}_USER"), format!("{var}_PASS"));
        match (env_var(&user_var), env_var(&pass_var)) {
            (Some(u), Some(p)) => Some((u, p)),
            _ => {
                skip(test, &format!("{user_var} or {pass_var} is not set"));
                return None;
            }
        }
    } else {
        None
    };
    Some(TestRegistry { host, creds })
}

/// A repository name no other test (or earlier run) uses:
/// `test-<name>-<pid>-<nanos>-<n>`, with `_` in `name` turned into `-`.
pub fn unique_repo(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = name.to_ascii_lowercase().replace('_', "-");
    format!("test-{name}-{}-{nanos}-{n}", std::process::id())
}

/// A scratch directory plus a private, initially empty `DOCKER_CONFIG`
/// directory, so that no test sees the machine's credentials or another
/// test's.
pub struct Ctx {
    /// The scratch directory; `lineage` runs in it.
    pub scratch: Scratch,
    /// The `DOCKER_CONFIG` directory.
    pub docker_config: PathBuf,
}

impl Ctx {
    /// A new context.
    pub fn new() -> Self {
        let scratch = Scratch::new();
        let docker_config = scratch.join("docker-config");
        fs::create_dir(&docker_config).expect("creating the DOCKER_CONFIG directory");
        Self {
            scratch,
            docker_config,
        }
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.scratch.path()
    }

    /// `name` inside the scratch directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }

    /// `$DOCKER_CONFIG/config.json`.
    pub fn config_json(&self) -> PathBuf {
        self.docker_config.join("config.json")
    }

    /// Runs `lineage ARGS` with `stdin` as its standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let out = lineage(self.path())
            .env("DOCKER_CONFIG", &self.docker_config)
            .args(args)
            .write_stdin(stdin.to_vec())
            .output()
            .expect("running lineage");
        Run {
            what: format!("lineage {}", args.join(" ")),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `lineage ARGS` (empty stdin) and captures the result.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, b"")
    }

    /// Runs `lineage ARGS` and panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).success()
    }

    /// `lineage login HOST -u USER --password-stdin`, which must succeed.
    pub fn login(&self, reg: &TestRegistry) {
        self.run_stdin(
            &["login", &reg.host, "-u", reg.user(), "--password-stdin"],
            format!("{}\n", reg.pass()).as_bytes(),
        )
        .success();
    }
}

/// What a run printed, for assertion messages.
pub fn context(r: &Run) -> String {
    format!(
        "`{}` exited with {:?}\n--- stdout\n{}\n--- stderr\n{}",
        r.what,
        r.code,
        String::from_utf8_lossy(&r.stdout),
        r.stderr
    )
}

/// Asserts that a run failed cleanly (see [`Run::clean_failure`]) with exit
/// code `code`, and returns its stderr.
#[track_caller]
pub fn fails_with(r: &Run, code: i32) -> String {
    r.clean_failure();
    assert_eq!(r.code, Some(code), "exit code: {}", context(r));
    r.stderr.clone()
}

/// Asserts that `digest` looks like `sha256:<64 hex>` and returns it.
#[track_caller]
pub fn assert_digest(digest: &str, what: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    assert!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{what} should print a sha256 digest, got {digest:?}"
    );
    digest.to_owned()
}

/// `skopeo inspect --raw` of `docker://HOST/repo_ref`, with TLS verification
/// off (the test registries speak plain HTTP) and the registry's credentials.
fn skopeo_inspect_raw(reg: &TestRegistry, repo_ref: &str) -> Command {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some((u, p)) = &reg.creds {
        cmd.arg("--creds").arg(format!("{u}:{p}"));
    }
    cmd.arg(format!("docker://{}/{repo_ref}", reg.host));
    cmd
}

/// The exact manifest bytes skopeo reads for `HOST/repo_ref` (`repo:tag` or
/// `repo@digest`); panics if skopeo fails.
pub fn skopeo_registry_raw(reg: &TestRegistry, repo_ref: &str) -> Vec<u8> {
    run(&mut skopeo_inspect_raw(reg, repo_ref))
}

/// Whether skopeo can read `HOST/repo_ref` at all (it exits 0).
pub fn skopeo_registry_exists(reg: &TestRegistry, repo_ref: &str) -> bool {
    output(&mut skopeo_inspect_raw(reg, repo_ref))
        .status
        .success()
}

/// `skopeo copy docker://HOST/repo_ref oci:LAYOUT:TAG`: skopeo fetches and
/// verifies every blob.
pub fn skopeo_pull(reg: &TestRegistry, repo_ref: &str, layout: &Path, tag: &str) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--all", "--src-tls-verify=false"]);
    if let Some((u, p)) = &reg.creds {
        cmd.arg("--src-creds").arg(format!("{u}:{p}"));
    }
    cmd.arg(format!("docker://{}/{repo_ref}", reg.host))
        .arg(format!("oci:{}:{tag}", layout.display()));
    run(&mut cmd);
}

/// The `sha256-<hex>` tag under which a registry without the referrers API
/// keeps the referrers index of `subject` (`sha256:<hex>`).
pub fn fallback_tag(subject: &str) -> String {
    subject.replacen(':', "-", 1)
}

/// The digests an image index lists.
pub fn index_digests(index: &Value) -> BTreeSet<String> {
    index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("not an index: {index}"))
        .iter()
        .map(|d| {
            d["digest"]
                .as_str()
                .unwrap_or_else(|| panic!("descriptor without digest: {d}"))
                .to_owned()
        })
        .collect()
}

/// `lineage discover REF --output json [EXTRA…]`, parsed.
pub fn discover(ctx: &Ctx, reference: &str, extra: &[&str]) -> Value {
    let mut args = vec!["discover", reference, "--output", "json"];
    args.extend_from_slice(extra);
    let r = ctx.ok(&args);
    json(&r.stdout, &r.what)
}

/// The direct referrers in discover's JSON (`referrers` of the root).
pub fn referrers(tree: &Value) -> Vec<Value> {
    tree["referrers"]
        .as_array()
        .unwrap_or_else(|| panic!("discover JSON has no referrers array: {tree}"))
        .clone()
}

/// `digest -> artifactType` of the direct referrers in discover's JSON.
pub fn referrer_types(tree: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = referrers(tree)
        .iter()
        .map(|r| {
            (
                r["digest"]
                    .as_str()
                    .unwrap_or_else(|| panic!("referrer without digest: {r}"))
                    .to_owned(),
                r["artifactType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The project's `scripts/make-image.sh`.
pub fn make_image_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("scripts")
        .join("make-image.sh")
}

/// Runs `scripts/make-image.sh -t TAG -s SEED -a ARCH LAYOUT` and returns the
/// manifest digest it prints.
pub fn make_image(layout: &Path, tag: &str, seed: &str, arch: &str) -> String {
    let out = run(Command::new("bash")
        .arg(make_image_script())
        .args(["-t", tag, "-s", seed, "-a", arch])
        .arg(layout));
    let digest = String::from_utf8_lossy(&out).trim().to_owned();
    assert_digest(&digest, "make-image.sh")
}

/// Runs `program ARGS` with `input` on its stdin and returns its stdout;
/// panics unless it exits 0.
pub fn pipe_through(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    child
        .stdin
        .take()
        .expect("child stdin")
        .write_all(input)
        .unwrap_or_else(|e| panic!("writing to {program}: {e}"));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    out.stdout
}
