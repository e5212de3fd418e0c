//! The request and decision logic of lineage's policy routes, without any HTTP: what the
//! handlers parse, what they look up, and what they answer.
//!
//! - [`lookup_api`]: `POST /lifecycle/v1/lookup`, `{"images": […], "at": …}` in,
//!   one status per image out (the JSON of DESIGN §4), for Kyverno `apiCall`s and scripts;
//! - [`admission`]: the Kubernetes validating admission webhook (AdmissionReview v1): which
//!   images a Pod or workload runs ([`admission::images`]), and whether to admit it
//!   ([`admission::decide`]) in enforce, warn or audit mode;
//! - [`gatekeeper`]: the Gatekeeper external data provider (`ProviderRequest` in,
//!   `ProviderResponse` out);
//! - [`scope`]: which registries the routes answer for, and where each image is read from.
//!
//! The handlers own the I/O: they parse the body with these functions, look each image up
//! with the lifecycle engine, turn each engine error into a [`LookupFailure`], and send what
//! these functions build. Everything else here is pure and decided from its arguments (the current
//! time included), so it is tested without a registry.

pub mod admission;
pub mod gatekeeper;
mod glob;
pub mod lookup_api;
pub mod routes;
pub mod scope;

use lineage_lifecycle::Status;

pub use admission::{
    AdmissionError, AdmissionReview, AdmissionSettings, ImageDecision, ImageRole, ImageUse, Mode,
    Outcome, ReviewResponse, UnknownMode, Verdict, decide, images, is_exempt_namespace,
    lookup_keys, needs_lookup,
};
pub use gatekeeper::{GatekeeperError, ProviderRequest, ProviderResponse};
pub use lookup_api::{FailedLookup, LookupApiError, LookupItem, LookupQuery, LookupResponse};

/// Why one image could not be looked up, as the policy routes report it. The caller converts
/// the lookup engine's error into this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LookupFailure {
    /// What went wrong, for people (it is sent to the client).
    pub message: String,
    /// The image (its tag or digest) does not exist: a definite answer, unlike a registry
    /// that could not be reached.
    pub not_found: bool,
    /// The server does not answer for the image's registry ([`scope`]): as definite as
    /// [`LookupFailure::not_found`], and no request was made.
    pub refused: bool,
}

/// The result of looking up one image.
pub type LookupResult = Result<Status, LookupFailure>;
