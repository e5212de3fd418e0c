//! An OCI distribution-spec v1.1 conformance suite.
//!
//! The suite talks HTTP to a registry with [`reqwest`] and nothing else: it
//! builds its own blobs and manifests, computes digests with `sha2`, and does
//! not use any of lineage's crates, so it can judge lineage's registry as well
//! as any other.
//!
//! [`run`] pushes content into fresh repositories under
//! [`Config::namespace`] (a random run id keeps runs apart), then checks pull,
//! push, content discovery (tags, referrers, catalog) and content management
//! (deletes). Every check has a stable id such as
//! `push/blob/chunked/out-of-order-416` and ends as one [`Outcome`]. A
//! [`Profile`] says which failures are known, accepted differences of a given
//! registry; those become [`Outcome::ExpectedFail`] instead of
//! [`Outcome::Fail`], but only when the failure looks like the one that was
//! measured.
//!
//! ```no_run
//! # async fn demo() {
//! use lineage_conformance::{Config, Profile, run};
//! let mut config = Config::new("http://127.0.0.1:5000");
//! config.profile = Profile::Distribution28;
//! let report = run(&config).await;
//! assert!(report.unexpected_failures().is_empty());
//! # }
//! ```

mod checks;
mod content;
mod http;
mod profile;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use profile::ExpectedDifference;

/// What the suite runs against and how it judges the answers.
#[derive(Debug, Clone)]
pub struct Config {
    /// The registry's base URL, `http://host:port` or `https://host:port`.
    pub base_url: String,
    /// The repository namespace the suite pushes into; each run uses
    /// `<namespace>/<run-id>/<purpose>` repositories below it.
    pub namespace: String,
    /// The namespace cross-repository mounts go to (`<crossmount>/<run-id>`).
    pub crossmount_namespace: String,
    /// The user name for registries with authentication.
    pub username: Option<String>,
    /// The password for registries with authentication.
    pub password: Option<String>,
    /// Which failures are expected.
    pub profile: Profile,
}

impl Config {
    /// A strict configuration for the registry at `base_url`, with the
    /// default namespaces `conformance/main` and `conformance/cross` and no
    /// credentials.
    #[must_use]
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            namespace: "conformance/main".to_owned(),
            crossmount_namespace: "conformance/cross".to_owned(),
            username: None,
            password: None,
            profile: Profile::Strict,
        }
    }
}

/// A set of expected differences from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Spec behaviour: every check must pass.
    #[default]
    Strict,
    /// CNCF distribution 2.8 (Debian's `docker-registry` 2.8.2): no
    /// referrers API, no tag pagination, no tag deletion and the other
    /// measured differences listed by [`Profile::expected_differences`].
    Distribution28,
}

impl Profile {
    /// Every profile, in a stable order.
    pub const ALL: [Profile; 2] = [Profile::Strict, Profile::Distribution28];

    /// The profile's name on the command line: `strict` or `distribution-2.8`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::Distribution28 => "distribution-2.8",
        }
    }

    /// The failures this profile expects, with the reason for each.
    #[must_use]
    pub fn expected_differences(self) -> &'static [ExpectedDifference] {
        profile::differences(self)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown profile {s:?} (strict or distribution-2.8)"))
    }
}

/// The part of the spec a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Pulling blobs and manifests.
    Pull,
    /// Pushing blobs and manifests.
    Push,
    /// Listing tags, referrers and repositories.
    Discovery,
    /// Deleting tags, manifests and blobs.
    Management,
}

impl Group {
    /// `pull`, `push`, `discovery` or `management`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Group::Pull => "pull",
            Group::Push => "push",
            Group::Discovery => "discovery",
            Group::Management => "management",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    /// The registry behaved as the spec says.
    Pass,
    /// The registry did not, and the profile does not expect it; the text
    /// says what happened.
    Fail(String),
    /// The check could not run (for example an optional endpoint is absent);
    /// the text says why.
    Skip(String),
    /// The registry failed the check in the way the profile expects; the
    /// text gives the profile's reason and what happened.
    ExpectedFail(String),
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// A stable id, such as `push/blob/chunked/out-of-order-416`.
    pub id: String,
    /// The part of the spec it belongs to.
    pub group: Group,
    /// How it ended.
    pub outcome: Outcome,
    /// Extra information on a pass (for example which of two allowed
    /// answers the registry gave), or a note that an expected failure did
    /// not happen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The results of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One entry per check, in the order they ran.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// The checks that failed without the profile expecting it.
    #[must_use]
    pub fn unexpected_failures(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .collect()
    }

    /// The check with this id, if it ran.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Counts of (passed, failed, skipped, expected failures).
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut n = (0, 0, 0, 0);
        for c in &self.checks {
            match c.outcome {
                Outcome::Pass => n.0 += 1,
                Outcome::Fail(_) => n.1 += 1,
                Outcome::Skip(_) => n.2 += 1,
                Outcome::ExpectedFail(_) => n.3 += 1,
            }
        }
        n
    }

    /// `N passed, M failed, K skipped, X expected failures`.
    #[must_use]
    pub fn summary(&self) -> String {
        let (p, f, s, x) = self.counts();
        format!("{p} passed, {f} failed, {s} skipped, {x} expected failures")
    }
}

/// Runs every check against the registry in `config` and returns the
/// results. Network and protocol problems become failed checks; this never
/// panics on a misbehaving registry.
pub async fn run(config: &Config) -> Report {
    let raw = checks::run_all(config).await;
    Report {
        checks: raw
            .into_iter()
            .map(|r| profile::judge(config.profile, r))
            .collect(),
    }
}
