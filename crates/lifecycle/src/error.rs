//! The one error type of this crate, for input a caller gave (a namespace, a reason, a record
//! to write). Malformed lifecycle data read from a store is not an error: it becomes a
//! [`crate::Warning`] and never a wrong state.

use lineage_oci::ManifestError;

/// What went wrong with a value given to the lifecycle core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// A namespace that cannot name lifecycle keys (DESIGN §3).
    #[error(
        "invalid lifecycle namespace `{namespace}`: {problem} (expected lowercase reverse-DNS like `vnd.lineage.image`)"
    )]
    InvalidNamespace {
        /// The namespace as given.
        namespace: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A reason that is empty or only whitespace.
    #[error(
        "empty lifecycle reason (expected `superseded`, `unsupported`, `vulnerable`, `withdrawn`, `internal` or free text)"
    )]
    EmptyReason,
    /// A record value that would be written empty, which readers take as absent.
    #[error("empty value for lifecycle annotation `{key}`")]
    EmptyValue {
        /// The annotation key.
        key: String,
    },
    /// The record manifest could not be built.
    #[error("cannot build the lifecycle record manifest")]
    Manifest(#[source] ManifestError),
    /// An end-of-support after the end-of-life it precedes (issue 18).
    #[error(
        "end-of-support {} is after end-of-life {}: support ends first, then the image reaches end-of-life",
        lineage_oci::time::format_rfc3339(end_of_support),
        lineage_oci::time::format_rfc3339(end_of_life)
    )]
    SupportAfterEndOfLife {
        /// The end-of-support given.
        end_of_support: chrono::DateTime<chrono::Utc>,
        /// The end-of-life given.
        end_of_life: chrono::DateTime<chrono::Utc>,
    },
}
