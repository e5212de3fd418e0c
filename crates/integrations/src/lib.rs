//! lineage's integrations with the tools around images: each turns lifecycle statuses into
//! something another tool or a person acts on.
//!
//! - [`report`]: Trivy and Grype reports enriched with the scanned image's lifecycle and its
//!   update path (JSON, SARIF, markdown);
//! - [`update`]: image references found in Dockerfiles, compose files, Kubernetes manifests,
//!   Helm values and GitHub workflows, and the edits that move them to successors;
//! - [`audit`]: a fleet view, one row per distinct image in use.
//!
//! Everything here is pure: the caller looks the references up (with the lifecycle engine's
//! cached batch lookup) and passes the statuses in, so the logic is tested without a
//! registry.

pub mod audit;
pub mod report;
pub mod update;

#[cfg(test)]
mod snapshot_tests;

use lineage_lifecycle::{LookupError, Status};

/// The result of looking one reference up, as the integrations consume it: the status, or
/// why there is none.
pub type Looked = Result<Status, LookupFailed>;

/// Why a reference has no status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupFailed {
    /// The lookup failed.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The caller did not look the reference up (its lookup gave no result for it).
    #[error("`{0}` was not looked up")]
    NotLookedUp(String),
}

impl LookupFailed {
    /// The error and its causes on one line, as reports, audits and notes show it.
    pub fn message(&self) -> String {
        match self {
            LookupFailed::Lookup(e) => e.message(),
            LookupFailed::NotLookedUp(_) => self.to_string(),
        }
    }

    /// Whether the message already names the reference (`cannot look up `…``), so that a
    /// note about it need not repeat it.
    pub fn names_reference(&self) -> bool {
        matches!(self, LookupFailed::Lookup(e) if !matches!(e, LookupError::InvalidReference { .. }))
    }
}

/// serde_json's message without its ` at line L column C` tail, for errors that report the
/// line and column themselves.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The failure of a lookup of `reference` that got no answer within 2 s.
    pub(crate) fn timed_out(reference: &str) -> LookupFailed {
        LookupFailed::Lookup(LookupError::TimedOut {
            reference: reference.to_string(),
            after: std::time::Duration::from_secs(2),
        })
    }
}
