//! The AdmissionReview wire types lineage reads and writes (kubernetes/api
//! `admission/v1/types.go`, and `admission/v1beta1/types.go`, whose shape is the same): the
//! request, only the fields lineage reads, and the response with its `metav1.Status` for a
//! denial, answered in the `apiVersion` asked. No decision is taken here.

use serde::Deserialize;

/// The `apiVersion` lineage prefers (configure the webhook with
/// `admissionReviewVersions: ["v1"]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// The older `apiVersion`, still sent by clusters configured with
/// `admissionReviewVersions: ["v1beta1", …]`; its request and response have the same shape as
/// v1's, and the API server requires the answer in the version it sent.
pub const API_VERSION_V1BETA1: &str = "admission.k8s.io/v1beta1";

/// Every `apiVersion` lineage answers, preferred first.
pub const API_VERSIONS: [&str; 2] = [API_VERSION, API_VERSION_V1BETA1];

/// The `kind` of requests and responses.
pub const KIND: &str = "AdmissionReview";

/// Warnings longer than this may be truncated by the API server; lineage cuts them here.
pub(crate) const WARNING_MAX_CHARS: usize = 256;

/// An AdmissionReview request: only the fields lineage reads; the rest is ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// One of [`API_VERSIONS`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The request.
    pub request: AdmissionRequest,
}

/// The fields that tell what a body is, read when the body is not a review so that the error
/// names what was sent rather than a serde position.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<serde_json::Value>,
    // Only whether they are there: skipped, not built (`request` holds the whole object).
    #[serde(default)]
    request: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    uid: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    operation: Option<serde::de::IgnoredAny>,
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
    pub object: Option<RawObject>,
    /// The object before an UPDATE; `null` otherwise.
    #[serde(default)]
    pub old_object: Option<RawObject>,
    /// Whether nothing will be persisted.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// An object under admission as it was sent: its JSON text, checked to be well-formed but not
/// built into a tree. Only the parts lineage reads are parsed, when they are read
/// ([`super::images`]): a pod's metadata, status and the fields of its containers other than
/// the name and image are skipped, not allocated.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct RawObject(Box<serde_json::value::RawValue>);

impl RawObject {
    /// The object's JSON text, exactly as sent.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The object as a raw JSON value.
    pub(crate) fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }
}

impl PartialEq for RawObject {
    fn eq(&self, other: &RawObject) -> bool {
        self.json() == other.json()
    }
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
    /// Another `apiVersion` (such as `admission.k8s.io/v2`).
    #[error(
        "unsupported AdmissionReview apiVersion `{found}` (expected `{API_VERSION}` or `{API_VERSION_V1BETA1}`: set admissionReviewVersions: [\"v1\"] in the webhook configuration)"
    )]
    ApiVersion {
        /// The `apiVersion` sent.
        found: String,
    },
    /// The body is an AdmissionRequest on its own, not wrapped in an AdmissionReview.
    #[error(
        "the body is a bare AdmissionRequest; expected an AdmissionReview wrapping it: {{\"apiVersion\": \"{API_VERSION}\", \"kind\": \"{KIND}\", \"request\": {{\"uid\": …, …}}}}"
    )]
    BareRequest,
    /// An AdmissionReview without its `request` (a response sent back, for example).
    #[error("the AdmissionReview has no `request` (expected `\"request\": {{\"uid\": …, …}}`)")]
    NoRequest,
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
    /// Parse and check a request body: an AdmissionReview of one of [`API_VERSIONS`].
    pub fn parse(body: &[u8]) -> Result<AdmissionReview, AdmissionError> {
        // The body is read once when it is a review; only one that is not is read again, to
        // say what it is instead of a serde position.
        match serde_json::from_slice::<AdmissionReview>(body) {
            Ok(review) => {
                if !API_VERSIONS.contains(&review.api_version.as_str()) {
                    return Err(AdmissionError::ApiVersion {
                        found: review.api_version,
                    });
                }
                if review.kind != KIND {
                    return Err(AdmissionError::Kind { found: review.kind });
                }
                Ok(review)
            }
            Err(e) => Err(Self::explain(body).unwrap_or(AdmissionError::Json(e))),
        }
    }

    /// What a body that does not parse as a review is, when its outline tells.
    fn explain(body: &[u8]) -> Option<AdmissionError> {
        let envelope: Envelope = serde_json::from_slice(body).ok()?;
        // A bare AdmissionRequest has `uid`, `operation` and a GroupVersionKind object as
        // `kind`, and no `apiVersion` or `request`.
        if envelope.api_version.is_none()
            && envelope.request.is_none()
            && (envelope.uid.is_some() || envelope.operation.is_some())
        {
            return Some(AdmissionError::BareRequest);
        }
        let found = envelope.api_version.unwrap_or_default();
        if !API_VERSIONS.contains(&found.as_str()) {
            return Some(AdmissionError::ApiVersion { found });
        }
        match envelope.kind {
            Some(serde_json::Value::String(k)) if k == KIND => {}
            other => {
                let found = match other {
                    Some(serde_json::Value::String(k)) => k,
                    Some(v) => v.to_string(),
                    None => String::new(),
                };
                return Some(AdmissionError::Kind { found });
            }
        }
        envelope
            .request
            .is_none()
            .then_some(AdmissionError::NoRequest)
    }

    /// The `apiVersion` to answer in: the one asked.
    pub fn answer_version(&self) -> &'static str {
        API_VERSIONS
            .into_iter()
            .find(|v| *v == self.api_version)
            .unwrap_or(API_VERSION)
    }
}

/// An AdmissionReview response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResponse {
    /// The request's `apiVersion` ([`AdmissionReview::answer_version`]).
    pub api_version: &'static str,
    /// [`KIND`].
    pub kind: &'static str,
    /// The answer.
    pub response: AdmissionResponse,
}

impl ReviewResponse {
    /// The answer to `review`: denied with 403 and `denial` as the message when there is one,
    /// else allowed, with `warnings` for `kubectl` either way; in the review's `apiVersion`,
    /// carrying its `uid` back.
    pub(crate) fn new(
        review: &AdmissionReview,
        denial: Option<String>,
        warnings: Vec<String>,
    ) -> ReviewResponse {
        ReviewResponse {
            api_version: review.answer_version(),
            kind: KIND,
            response: AdmissionResponse {
                uid: review.request.uid.clone(),
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
