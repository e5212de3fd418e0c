//! lineage's policy routes: the lookup API, the admission webhook and the Gatekeeper
//! provider, with their HTTP handlers ([`routes`]) and the wire types each parses and
//! answers.
//!
//! - `lookup_api`: `POST /lifecycle/v1/lookup`, `{"images": […], "at": …}` in, one status per
//!   image out (the JSON of DESIGN §4), for Kyverno `apiCall`s and scripts;
//! - [`admission`]: the Kubernetes validating admission webhook (AdmissionReview v1): which
//!   images a Pod or workload runs, the exemptions, and the answer; what each status calls
//!   for and the words of it are the lifecycle crate's ([`lineage_lifecycle::verdict`]);
//! - `gatekeeper`: the Gatekeeper external data provider (`ProviderRequest` in,
//!   `ProviderResponse` out);
//! - [`scope`]: which registries the routes answer for, and where each image is read from;
//! - [`routes`]: the axum router and its handlers, the only part that does I/O: they parse
//!   the body with the functions of the modules above, look each image up with the lifecycle
//!   crate's cached [`Lookup`](lineage_lifecycle::Lookup) (each failure a
//!   [`LookupFailure`]), and send what those functions build. Everything else here is pure
//!   and decided from its arguments (the current time included), so it is tested without a
//!   registry.

pub mod admission;
pub(crate) mod gatekeeper;
mod glob;
pub(crate) mod lookup_api;
pub mod routes;
pub mod scope;

use lineage_lifecycle::{LookupError, Status};

pub use admission::{AdmissionReview, AdmissionSettings, Mode};

/// Why one image could not be looked up, as the policy routes report it.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum LookupFailure {
    /// The lookup failed.
    #[error(transparent)]
    Lookup(LookupError),
    /// The server does not answer for the image's registry ([`scope`]): no request was made.
    #[error(transparent)]
    Refused(scope::NotAllowed),
    /// The lookup gave no result for the image.
    #[error("no lookup result")]
    Missing,
}

impl LookupFailure {
    /// What went wrong, on one line, for people (it is sent to the client).
    pub(crate) fn message(&self) -> String {
        lineage_store::one_line(self)
    }

    /// Whether the image (its tag or digest) does not exist: a definite answer, unlike a
    /// registry that could not be reached.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, LookupFailure::Lookup(e) if e.is_not_found())
    }

    /// Whether the server refused to look the image up ([`scope`]): as definite as
    /// [`LookupFailure::is_not_found`].
    pub(crate) fn is_refused(&self) -> bool {
        matches!(self, LookupFailure::Refused(_))
    }
}

/// The result of looking up one image.
pub(crate) type LookupResult = Result<Status, LookupFailure>;
