//! The AdmissionReview v1 wire types lineage reads and writes (kubernetes/api
//! `admission/v1/types.go`): the request, only the fields lineage reads, and the response
//! with its `metav1.Status` for a denial. No decision is taken here.

use serde::Deserialize;

/// The only `apiVersion` lineage speaks (configure the webhook with
/// `admissionReviewVersions: ["v1"]`); the response carries it too.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// The `kind` of requests and responses.
pub const KIND: &str = "AdmissionReview";

/// Warnings longer than this may be truncated by the API server; lineage cuts them here.
pub(crate) const WARNING_MAX_CHARS: usize = 256;

/// An AdmissionReview request: only the fields lineage reads; the rest is ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The request.
    pub request: AdmissionRequest,
}

/// The `request` of an [`AdmissionReview`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifies this call; the response must carry it back unchanged.
    pub uid: String,
    /// The kind of the object (after `matchPolicy: Equivalent` conversion).
    pub kind: GroupVersionKind,
    /// The subresource, such as `ephemeralcontainers`; absent or empty for the resource
    /// itself.
    #[serde(default)]
    pub sub_resource: Option<String>,
    /// The object's name (may be absent on CREATE with `generateName`).
    #[serde(default)]
    pub name: Option<String>,
    /// The object's namespace; absent for cluster-scoped objects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// What is being done.
    pub operation: Operation,
    /// The object as it will be stored; `null` on DELETE.
    #[serde(default)]
    pub object: Option<serde_json::Value>,
    /// The object before an UPDATE; `null` otherwise.
    #[serde(default)]
    pub old_object: Option<serde_json::Value>,
    /// Whether nothing will be persisted.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// An API group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupVersionKind {
    /// The group; empty for the core group (Pods).
    #[serde(default)]
    pub group: String,
    /// The version.
    #[serde(default)]
    pub version: String,
    /// The kind.
    pub kind: String,
}

/// The operation under admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object.
    Create,
    /// A changed object (including the `ephemeralcontainers` subresource).
    Update,
    /// A deleted object.
    Delete,
    /// A connection (exec, attach, port-forward).
    Connect,
}

/// Why an admission request cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// The body is not an AdmissionReview.
    #[error("the request body is not an AdmissionReview: {0}")]
    Json(#[source] serde_json::Error),
    /// Another `apiVersion` (such as `admission.k8s.io/v1beta1`).
    #[error(
        "unsupported AdmissionReview apiVersion `{found}` (expected `{API_VERSION}`: set admissionReviewVersions: [\"v1\"] in the webhook configuration)"
    )]
    ApiVersion {
        /// The `apiVersion` sent.
        found: String,
    },
    /// Another `kind`.
    #[error("unsupported kind `{found}` (expected `{KIND}`)")]
    Kind {
        /// The `kind` sent.
        found: String,
    },
    /// The object's pod spec does not have the shape of a pod spec.
    #[error("the {kind} object's `{path}` is not a pod spec")]
    PodSpec {
        /// The object's kind.
        kind: String,
        /// Where the pod spec was read.
        path: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
}

impl AdmissionReview {
    /// Parse and check a request body.
    pub fn parse(body: &[u8]) -> Result<AdmissionReview, AdmissionError> {
        let review: AdmissionReview = serde_json::from_slice(body).map_err(AdmissionError::Json)?;
        if review.api_version != API_VERSION {
            return Err(AdmissionError::ApiVersion {
                found: review.api_version,
            });
        }
        if review.kind != KIND {
            return Err(AdmissionError::Kind { found: review.kind });
        }
        Ok(review)
    }
}

/// An AdmissionReview response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResponse {
    /// [`API_VERSION`].
    pub api_version: &'static str,
    /// [`KIND`].
    pub kind: &'static str,
    /// The answer.
    pub response: AdmissionResponse,
}

impl ReviewResponse {
    /// The answer to the review `uid`: denied with 403 and `denial` as the message when there
    /// is one, else allowed, with `warnings` for `kubectl` either way.
    pub(crate) fn new(
        uid: String,
        denial: Option<String>,
        warnings: Vec<String>,
    ) -> ReviewResponse {
        ReviewResponse {
            api_version: API_VERSION,
            kind: KIND,
            response: AdmissionResponse {
                uid,
                allowed: denial.is_none(),
                status: denial.map(|message| ResponseStatus {
                    status: "Failure",
                    code: 403,
                    reason: "Forbidden",
                    message,
                }),
                warnings,
            },
        }
    }
}

/// The `response` of a [`ReviewResponse`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's `uid`, unchanged.
    pub uid: String,
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Why not: only on a denial (the API server ignores it otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Shown to the client (kubectl prints `Warning: …`), one per image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The `metav1.Status` of a denial.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResponseStatus {
    /// `Failure`.
    pub status: &'static str,
    /// 403.
    pub code: u16,
    /// `Forbidden`.
    pub reason: &'static str,
    /// One line per denied image.
    pub message: String,
}

/// Cut a warning to [`WARNING_MAX_CHARS`] characters, ending it with `…` when cut.
pub(crate) fn cap(mut warning: String) -> String {
    if warning.chars().count() > WARNING_MAX_CHARS
        && let Some((at, _)) = warning.char_indices().nth(WARNING_MAX_CHARS - 1)
    {
        warning.truncate(at);
        warning.push('…');
    }
    warning
}
