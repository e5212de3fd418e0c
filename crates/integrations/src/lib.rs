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

use lineage_lifecycle::Status;

/// The result of looking one reference up, as the integrations consume it: the status, or
/// why there is none (the message is shown to the user).
pub type Looked = Result<Status, String>;

/// serde_json's message without its ` at line L column C` tail, for errors that report the
/// line and column themselves.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}
