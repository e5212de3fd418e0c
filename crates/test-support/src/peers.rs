//! The real peers `scripts/test.sh` builds with `go install`: the ORAS CLI and
//! go-containerregistry's registry, found through `LINEAGE_TEST_ORAS` and
//! `LINEAGE_TEST_CRANE_REGISTRY`; and the three registries the walkthrough runs on.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::registry::{TestRegistry, registry_from_env, unique_repo};
use crate::serve::Serve;
use crate::{Scratch, in_ci, output};

/// The ORAS CLI `scripts/test.sh` built, or `None` after a `SKIPPED` note (a failure
/// under CI).
#[must_use]
pub fn oras(test: &str) -> Option<Oras> {
    built(test, "LINEAGE_TEST_ORAS", "oras").map(Oras)
}

/// The stdout of `program ARGS…`, which ran as `out`; a failure panics with its output.
fn succeeded(program: &str, args: &[&str], out: std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{program} {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The program `scripts/test.sh` built for `test` (its path in the environment variable
/// `var`), or `None` after a `SKIPPED` note (a failure under CI).
fn built(test: &str, var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => {
            let note = format!("{test}: {var} is not set (scripts/test.sh builds {what})");
            assert!(
                !in_ci(),
                "{note}; CI is set, so this is a failure rather than a skip"
            );
            eprintln!("SKIPPED {note}");
            None
        }
    }
}

/// The ORAS CLI.
pub struct Oras(PathBuf);

/// The `notation` CLI `scripts/test.sh` built (`LINEAGE_TEST_NOTATION`), or `None` after a
/// `SKIPPED` note (a failure under CI).
#[must_use]
pub fn notation(test: &str) -> Option<PathBuf> {
    built(test, "LINEAGE_TEST_NOTATION", "notation")
}

/// The `notation` CLI with a configuration of its own: `HOME` is `home` and its directory
/// (trust policy, trust store, keys) `home/xdg/notation`; nothing of the machine's is read,
/// credentials from the environment included.
pub struct Notation {
    bin: PathBuf,
    home: PathBuf,
}

impl Notation {
    /// `bin` ([`notation`]) with its configuration under `home` (created).
    #[must_use]
    pub fn new(bin: PathBuf, home: PathBuf) -> Notation {
        std::fs::create_dir_all(&home).expect("notation's home");
        Notation { bin, home }
    }

    /// notation's directory: its trust policy is `DIR/trustpolicy.json`, its trust store
    /// `DIR/truststore`.
    #[must_use]
    pub fn dir(&self) -> PathBuf {
        self.home.join("xdg").join("notation")
    }

    /// Run `notation ARGS…`.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        output(
            Command::new(&self.bin)
                .env("HOME", &self.home)
                .env("XDG_CONFIG_HOME", self.home.join("xdg"))
                .env_remove("NOTATION_USERNAME")
                .env_remove("NOTATION_PASSWORD")
                .current_dir(&self.home)
                .args(args),
        )
    }

    /// Run `notation ARGS…`, panicking with its output when it fails; returns stdout.
    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        succeeded("notation", args, self.run(args))
    }
}

impl Oras {
    /// Run `oras ARGS…` in `cwd` (plain HTTP: every test registry is on loopback), panicking
    /// with its output when it fails; returns stdout.
    pub fn ok(&self, cwd: &Path, args: &[&str]) -> Vec<u8> {
        succeeded("oras", args, self.run(cwd, args))
    }

    /// Run `oras ARGS… --plain-http` in `cwd`.
    pub fn run(&self, cwd: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command(cwd);
        cmd.args(args);
        if args.first() != Some(&"copy") {
            cmd.arg("--plain-http");
        }
        output(&mut cmd)
    }

    /// `oras` in `cwd` with its own empty docker config (`HOME` is `cwd`); add the
    /// arguments and `--plain-http`.
    pub fn command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.0);
        cmd.current_dir(cwd).env("HOME", cwd);
        cmd
    }

    /// `oras discover --format json REF`, parsed.
    pub fn discover(&self, cwd: &Path, reference: &str) -> Value {
        serde_json::from_slice(&self.ok(cwd, &["discover", "--format", "json", reference]))
            .expect("oras discover prints JSON")
    }
}

/// A registry the walkthrough runs on, kept alive while the test runs.
pub struct Peer {
    /// What it is, for messages: `lineage serve`, `crane registry`, `distribution 2.8`.
    pub name: &'static str,
    /// `host:port`.
    pub host: String,
    /// Whether it serves the referrers API (else ORAS and lineage use the tag schema).
    pub referrers_api: bool,
    _serve: Option<Serve>,
}

impl Peer {
    /// `HOST/REPO` for a new repository called after `name`.
    pub fn repo(&self, name: &str) -> String {
        format!("{}/{}", self.host, unique_repo(name))
    }
}

/// `lineage serve` (started here), crane's registry and distribution 2.8 (started by
/// `scripts/test.sh`); those not started are skipped with a note (a failure under CI).
pub fn peers(test: &str, s: &Scratch) -> Vec<Peer> {
    let serve = Serve::start(&s.join("serve-root"), &[]);
    let mut out = vec![Peer {
        name: "lineage serve",
        host: serve.host.clone(),
        referrers_api: true,
        _serve: Some(serve),
    }];
    for (name, var, referrers_api) in [
        // `crane registry serve` 0.22.1 does not enable go-containerregistry's referrers
        // API: ORAS and lineage both use the tag schema there.
        ("crane registry", "LINEAGE_TEST_CRANE_REGISTRY", false),
        ("distribution 2.8", "LINEAGE_TEST_REGISTRY", false),
    ] {
        if let Some(TestRegistry { host, .. }) = registry_from_env(test, var, false) {
            out.push(Peer {
                name,
                host,
                referrers_api,
                _serve: None,
            });
        }
    }
    out
}
