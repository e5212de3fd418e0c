//! The Kubernetes validating admission webhook: AdmissionReview v1 (or v1beta1, same shape)
//! in, the same version out (kubernetes/api `admission/v1/types.go`; research/consumers.md §1).
//!
//! A handler runs, in order:
//! 1. [`AdmissionReview::parse`] the body ([`wire`]: the wire types only);
//! 2. [`images()`]: every image the object runs, with where it sits (module `images`);
//! 3. [`lookup_keys`]: the normalised references to look up (none in an exempt namespace,
//!    none for an exempt image), then looks each up;
//! 4. [`decide()`]: the response to send, and an `Outcome` to log and count (module
//!    `decide`).
//!
//! What an image's status calls for (enforce, warn or audit mode, the grace period, fail
//! open or closed) is the lifecycle crate's policy, [`lineage_lifecycle::verdict::policy`],
//! and the words of each message and warning are [`lineage_lifecycle::verdict::words`]'.
//! This module keeps what is the webhook's own: the exemptions ([`AdmissionSettings`]), the
//! UPDATE rule's input (which images the old object ran), and the AdmissionReview shapes.
//!
//! Audit mode sends no warnings: the caller logs the `Outcome`, whose verdicts are the
//! enforce column either way. A `dryRun` request is answered exactly as the real one would be
//! (the webhook has no side effects).

pub(crate) mod decide;
pub(crate) mod images;
pub mod wire;

pub use decide::AdmissionSettings;
pub(crate) use decide::{decide, lookup_keys, unreadable};
pub(crate) use images::images;
pub use lineage_lifecycle::verdict::{Mode, UnknownMode, Verdict};
pub use wire::{
    AdmissionError, AdmissionRequest, AdmissionResponse, AdmissionReview, GroupVersionKind,
    Operation, RawObject, ResponseStatus, ReviewResponse,
};

#[cfg(test)]
mod tests;
