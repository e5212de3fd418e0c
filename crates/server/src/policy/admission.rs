//! The Kubernetes validating admission webhook: AdmissionReview v1 in, AdmissionReview v1
//! out (kubernetes/api `admission/v1/types.go`; research/consumers.md §1).
//!
//! A handler runs, in order:
//! 1. [`AdmissionReview::parse`] the body;
//! 2. [`images`]: every image the object runs, with where it sits;
//! 3. [`lookup_keys`]: the normalised references to look up (none in an exempt namespace,
//!    none for an exempt image), then looks each up;
//! 4. [`decide`]: the response to send, and an [`Outcome`] to log and count.
//!
//! What [`decide`] does with each image's status, by [`Mode`]:
//!
//! | status | enforce | warn | audit |
//! |---|---|---|---|
//! | `end-of-life`, past the grace period | deny | warning | allow |
//! | `end-of-life`, within the grace period | warning | warning | allow |
//! | `scheduled`, `superseded` | warning | warning | allow |
//! | `supported`, `unknown` | allow | allow | allow |
//! | lookup failed, fail open | warning | warning | allow |
//! | lookup failed, fail closed | deny | warning | allow |
//!
//! On UPDATE, an end-of-life image the old object already ran is warned about, not denied:
//! scaling, relabelling or rolling back a workload must not be blocked by an image it has
//! been running all along; only an image the update brings in is denied.
//!
//! Audit mode sends no warnings: the caller logs the [`Outcome`], whose verdicts are the
//! enforce column either way. A `dryRun` request is answered exactly as the real one would be
//! (the webhook has no side effects).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use lineage_lifecycle::{State, Status, Successor};
use lineage_oci::{ImageRef, ReferenceError};
use serde::Deserialize;

use super::{LookupFailure, glob};

/// The only `apiVersion` lineage speaks (configure the webhook with
/// `admissionReviewVersions: ["v1"]`); the response carries it too.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// The `kind` of requests and responses.
pub const KIND: &str = "AdmissionReview";

/// Warnings longer than this may be truncated by the API server; lineage cuts them here.
const WARNING_MAX_CHARS: usize = 256;

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

/// Where in a pod spec an image sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageRole {
    /// `containers[]`.
    Container,
    /// `initContainers[]`.
    InitContainer,
    /// `ephemeralContainers[]` (debug containers).
    EphemeralContainer,
    /// `volumes[].image` (an image volume, mounted as files).
    ImageVolume,
}

impl ImageRole {
    /// How messages name it: `container`, `init container`, …
    pub fn label(self) -> &'static str {
        match self {
            ImageRole::Container => "container",
            ImageRole::InitContainer => "init container",
            ImageRole::EphemeralContainer => "ephemeral container",
            ImageRole::ImageVolume => "image volume",
        }
    }
}

/// One image an object runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUse {
    /// The reference as written in the object (`nginx:1.25`), shown in messages.
    pub image: String,
    /// Where it is, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    /// The container's (or image volume's) name.
    pub name: String,
    /// What kind of container.
    pub role: ImageRole,
    /// [`ImageUse::lookup_key`], worked out once when the object is read.
    #[serde(skip)]
    key: Result<String, ReferenceError>,
}

impl ImageUse {
    fn new(image: String, path: String, name: String, role: ImageRole) -> ImageUse {
        let key = ImageRef::parse(&image).map(|r| r.to_string());
        ImageUse {
            image,
            path,
            name,
            role,
            key,
        }
    }

    /// The reference to look the image up by: [`ImageUse::image`] normalised (`nginx:1.25` is
    /// `docker.io/library/nginx:1.25`), so the same image written two ways is one lookup.
    pub fn lookup_key(&self) -> Result<&str, &ReferenceError> {
        self.key.as_deref()
    }

    /// `container "web"`, as messages name the use.
    fn subject(&self) -> String {
        format!("{} \"{}\"", self.role.label(), self.name)
    }
}

/// The fields of a pod spec that hold images.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Option<Vec<Container>>,
    #[serde(default)]
    init_containers: Option<Vec<Container>>,
    #[serde(default)]
    ephemeral_containers: Option<Vec<Container>>,
    #[serde(default)]
    volumes: Option<Vec<Volume>>,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Volume {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<ImageVolumeSource>,
}

#[derive(Debug, Deserialize)]
struct ImageVolumeSource {
    #[serde(default)]
    reference: Option<String>,
}

/// Every image the object under admission runs (research/consumers.md §1.3), from
/// `request.object` (on UPDATE too: the object as it will be).
///
/// - Pod: `spec.{containers,initContainers,ephemeralContainers}[].image` and
///   `spec.volumes[].image.reference`;
/// - the Pod `ephemeralcontainers` subresource: only `spec.ephemeralContainers[]`, the only
///   images that request can change (debugging a Pod must not hinge on its other images);
/// - Deployment, StatefulSet, DaemonSet, ReplicaSet (`apps`), Job (`batch`),
///   ReplicationController: the same under `spec.template.spec`;
/// - CronJob (`batch`): under `spec.jobTemplate.spec.template.spec`;
/// - PodTemplate: under `template.spec`.
///
/// Anything else (other kinds, other subresources, DELETE and CONNECT, a `null` object) runs
/// no images. Containers without an image are skipped.
pub fn images(review: &AdmissionReview) -> Result<Vec<ImageUse>, AdmissionError> {
    let request = &review.request;
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return Ok(vec![]);
    }
    images_of(request, request.object.as_ref())
}

/// The images the object before an UPDATE ran (none for other operations, or when the old
/// object cannot be read).
fn previous_images(request: &AdmissionRequest) -> HashSet<String> {
    if request.operation != Operation::Update {
        return HashSet::new();
    }
    images_of(request, request.old_object.as_ref())
        .map(|uses| uses.into_iter().map(|u| u.image).collect())
        .unwrap_or_default()
}

/// The images `object` (of the request's kind and subresource) runs.
fn images_of(
    request: &AdmissionRequest,
    object: Option<&serde_json::Value>,
) -> Result<Vec<ImageUse>, AdmissionError> {
    let Some(object) = object.filter(|o| !o.is_null()) else {
        return Ok(vec![]);
    };
    let subresource = request.sub_resource.as_deref().unwrap_or_default();
    let kind = &request.kind;
    let (spec_path, ephemeral_only) = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") if subresource == "ephemeralcontainers" => ("spec", true),
        _ if !subresource.is_empty() => return Ok(vec![]),
        ("", "Pod") => ("spec", false),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => ("spec.template.spec", false),
        ("batch", "CronJob") => ("spec.jobTemplate.spec.template.spec", false),
        ("", "PodTemplate") => ("template.spec", false),
        _ => return Ok(vec![]),
    };
    let Some(spec) = spec_path
        .split('.')
        .try_fold(object, |value, key| value.get(key))
    else {
        return Ok(vec![]);
    };
    let spec = PodSpec::deserialize(spec).map_err(|source| AdmissionError::PodSpec {
        kind: kind.kind.clone(),
        path: spec_path.to_string(),
        source,
    })?;

    let mut uses = Vec::new();
    let mut containers = |list: Option<Vec<Container>>, field: &str, role: ImageRole| {
        for (i, c) in list.into_iter().flatten().enumerate() {
            if let Some(image) = c.image.filter(|i| !i.is_empty()) {
                uses.push(ImageUse::new(
                    image,
                    format!("{spec_path}.{field}[{i}].image"),
                    c.name.unwrap_or_default(),
                    role,
                ));
            }
        }
    };
    if !ephemeral_only {
        containers(spec.containers, "containers", ImageRole::Container);
        containers(
            spec.init_containers,
            "initContainers",
            ImageRole::InitContainer,
        );
    }
    containers(
        spec.ephemeral_containers,
        "ephemeralContainers",
        ImageRole::EphemeralContainer,
    );
    if !ephemeral_only {
        for (i, v) in spec.volumes.into_iter().flatten().enumerate() {
            if let Some(image) = v.image.and_then(|s| s.reference).filter(|r| !r.is_empty()) {
                uses.push(ImageUse::new(
                    image,
                    format!("{spec_path}.volumes[{i}].image.reference"),
                    v.name.unwrap_or_default(),
                    ImageRole::ImageVolume,
                ));
            }
        }
    }
    Ok(uses)
}

/// What the webhook does with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny end-of-life images; warn about the rest.
    #[default]
    Enforce,
    /// Admit everything, with warnings.
    Warn,
    /// Admit everything silently; the caller logs the outcome.
    Audit,
}

impl Mode {
    /// The mode's name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`Mode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown admission mode `{0}` (expected enforce, warn or audit)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Mode, UnknownMode> {
        [Mode::Enforce, Mode::Warn, Mode::Audit]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMode(s.to_string()))
    }
}

/// How the webhook decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Enforce, warn or audit.
    pub mode: Mode,
    /// In enforce mode, an image whose end-of-life passed less than this long ago is only
    /// warned about, so a release that just went end-of-life does not stop deployments at
    /// once.
    pub grace_period: Duration,
    /// Namespaces whose objects are admitted without any lookup; `*` matches any run of
    /// characters.
    pub exempt_namespaces: Vec<String>,
    /// Images admitted without lookup: patterns with `*` (matching any run of characters,
    /// `/` included), compared with the image as written and with its normalised reference
    /// (`nginx` is `docker.io/library/nginx:latest`).
    pub exempt_images: Vec<String>,
    /// When an image cannot be looked up: admit it with a warning (true) or deny it.
    pub fail_open: bool,
}

impl Default for AdmissionSettings {
    /// Enforce, no grace period, `kube-system` exempt, no exempt images, fail open.
    ///
    /// `kube-system` is exempt because the cluster's own components (DNS, CNI, proxies) must
    /// be able to restart even when their images are end-of-life; the webhook configuration
    /// should also leave it out with a `namespaceSelector`, and this keeps a cluster safe
    /// when it does not. Fail open matches the recommended `failurePolicy: Ignore`: an
    /// unreachable registry must not stop every deployment.
    fn default() -> AdmissionSettings {
        AdmissionSettings {
            mode: Mode::Enforce,
            grace_period: Duration::ZERO,
            exempt_namespaces: vec!["kube-system".to_string()],
            exempt_images: vec![],
            fail_open: true,
        }
    }
}

/// Whether the request's namespace is exempt: its objects are admitted without lookup.
/// Cluster-scoped objects are never exempt.
pub fn is_exempt_namespace(review: &AdmissionReview, settings: &AdmissionSettings) -> bool {
    review.request.namespace.as_deref().is_some_and(|ns| {
        settings
            .exempt_namespaces
            .iter()
            .any(|p| glob::matches(p, ns))
    })
}

/// Whether the image must be looked up: false when it matches an exempt image pattern.
pub fn needs_lookup(image: &ImageUse, settings: &AdmissionSettings) -> bool {
    let normalised = image.lookup_key().ok();
    !settings
        .exempt_images
        .iter()
        .any(|p| glob::matches(p, &image.image) || normalised.is_some_and(|n| glob::matches(p, n)))
}

/// The references to look up for `uses`: normalised ([`ImageUse::lookup_key`]), without
/// duplicates, sorted; none in an exempt namespace, none for exempt images, none for images
/// that do not parse (those are [`decide`]d as lookup failures). The results go to
/// [`decide`] keyed by these strings.
pub fn lookup_keys(
    review: &AdmissionReview,
    uses: &[ImageUse],
    settings: &AdmissionSettings,
) -> Vec<String> {
    if is_exempt_namespace(review, settings) {
        return vec![];
    }
    uses.iter()
        .filter(|u| needs_lookup(u, settings))
        .filter_map(|u| u.lookup_key().ok().map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What enforce mode makes of one image (the mode then decides what the response does with
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing to say.
    Pass,
    /// Admit, with a warning.
    Warn,
    /// Deny.
    Deny,
    /// Not looked up: exempt namespace or exempt image.
    Exempt,
}

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDecision {
    /// The image and where it is.
    #[serde(flatten)]
    pub image: ImageUse,
    /// The normalised reference it was looked up by; `None` when exempt or unparsable.
    pub lookup_key: Option<String>,
    /// Its state at the time of the decision; `None` when not looked up or the lookup failed.
    pub state: Option<State>,
    /// What enforce mode makes of it.
    pub verdict: Verdict,
    /// The full sentence for a denial and for logs (names the image, its container, the
    /// end-of-life date and the successor, or the lookup error).
    pub message: Option<String>,
    /// The short warning sent to the client (always set with [`Verdict::Warn`] and
    /// [`Verdict::Deny`]).
    pub warning: Option<String>,
}

/// What was decided about a request, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The request's `uid`.
    pub uid: String,
    /// The operation.
    pub operation: Operation,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: Option<String>,
    /// The mode it was decided in.
    pub mode: Mode,
    /// Whether the request was a dry run (answered the same way).
    pub dry_run: bool,
    /// Whether the namespace is exempt.
    pub exempt_namespace: bool,
    /// Whether the object is admitted.
    pub allowed: bool,
    /// One decision per image, in [`images`] order.
    pub images: Vec<ImageDecision>,
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
    fn new(uid: String, denial: Option<String>, warnings: Vec<String>) -> ReviewResponse {
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

/// The answer to a review whose object lineage cannot read the images of (a malformed pod
/// spec, `error`): the fail-open or fail-closed setting decides, as for a failed lookup.
pub fn unreadable(
    review: &AdmissionReview,
    error: &str,
    settings: &AdmissionSettings,
) -> ReviewResponse {
    let message = format!("lineage cannot read the object's images: {error}");
    let allowed = settings.fail_open || settings.mode != Mode::Enforce;
    let warnings = if allowed && settings.mode != Mode::Audit {
        vec![message.clone()]
    } else {
        Vec::new()
    };
    ReviewResponse::new(
        review.request.uid.clone(),
        (!allowed).then_some(message),
        warnings,
    )
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

/// Decide a request (the table in the module documentation) and build the response.
///
/// `uses` are the request's [`images`]; `results` the lookup results keyed by
/// [`lookup_keys`] (a key missing from it counts as a lookup failure); `now` is the time the
/// states are judged at: an image whose status says `scheduled` but whose end-of-life is past
/// `now` (a status cached a while) is end-of-life.
pub fn decide(
    review: &AdmissionReview,
    uses: &[ImageUse],
    results: &HashMap<String, Result<Status, LookupFailure>>,
    settings: &AdmissionSettings,
    now: DateTime<Utc>,
) -> (ReviewResponse, Outcome) {
    let request = &review.request;
    let exempt_namespace = is_exempt_namespace(review, settings);
    let previous = previous_images(request);
    let decisions: Vec<ImageDecision> = uses
        .iter()
        .map(|u| {
            if exempt_namespace || !needs_lookup(u, settings) {
                return ImageDecision {
                    image: u.clone(),
                    lookup_key: None,
                    state: None,
                    verdict: Verdict::Exempt,
                    message: None,
                    warning: None,
                };
            }
            let mut d = judge(u, results, settings, now);
            if d.verdict == Verdict::Deny
                && d.state == Some(State::EndOfLife)
                && previous.contains(&u.image)
            {
                d.verdict = Verdict::Warn;
            }
            d
        })
        .collect();

    let denials: Vec<&str> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Deny)
        .filter_map(|d| d.message.as_deref())
        .collect();
    let allowed = settings.mode != Mode::Enforce || denials.is_empty();
    let warned = |d: &&ImageDecision| match settings.mode {
        Mode::Enforce => d.verdict == Verdict::Warn,
        Mode::Warn => matches!(d.verdict, Verdict::Warn | Verdict::Deny),
        Mode::Audit => false,
    };
    let warnings = decisions
        .iter()
        .filter(warned)
        .filter_map(|d| d.warning.clone())
        .collect();
    let response = ReviewResponse::new(
        request.uid.clone(),
        (!allowed).then(|| denials.join("\n")),
        warnings,
    );
    let outcome = Outcome {
        uid: request.uid.clone(),
        operation: request.operation,
        kind: request.kind.kind.clone(),
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        mode: settings.mode,
        dry_run: request.dry_run.unwrap_or(false),
        exempt_namespace,
        allowed,
        images: decisions,
    };
    (response, outcome)
}

/// The enforce-mode verdict on one image that needs a lookup.
fn judge(
    u: &ImageUse,
    results: &HashMap<String, Result<Status, LookupFailure>>,
    settings: &AdmissionSettings,
    now: DateTime<Utc>,
) -> ImageDecision {
    let decision = |lookup_key, state, verdict, message, warning: String| ImageDecision {
        image: u.clone(),
        lookup_key,
        state,
        verdict,
        message,
        warning: Some(cap(warning)),
    };
    let failed = |lookup_key: Option<String>, error: &str| {
        let verdict = if settings.fail_open {
            Verdict::Warn
        } else {
            Verdict::Deny
        };
        let message = format!(
            "image \"{}\" ({}) could not be checked: {error}",
            u.image,
            u.subject()
        );
        let warning = format!("{}: {} not checked: {error}", u.subject(), u.image);
        decision(lookup_key, None, verdict, Some(message), warning)
    };

    let key = match u.lookup_key() {
        Ok(key) => key.to_string(),
        Err(e) => return failed(None, &e.to_string()),
    };
    let status = match results.get(&key) {
        Some(Ok(status)) => status,
        Some(Err(failure)) => return failed(Some(key), &failure.message),
        None => return failed(Some(key), "no lookup result"),
    };

    // Judge at `now`, not at the time the status was computed.
    let state = match (status.state, status.end_of_life) {
        (State::EndOfLife | State::Scheduled, Some(eol)) if eol <= now => State::EndOfLife,
        (State::EndOfLife | State::Scheduled, Some(_)) => State::Scheduled,
        (state, _) => state,
    };
    let subject = u.subject();
    let image = &u.image;
    let eol = status.end_of_life;
    let use_successor = successor_short(status.successor.as_ref())
        .map(|s| format!("; use {s}"))
        .unwrap_or_default();
    let since = eol
        .map(|t| format!(" since {}", date(&t)))
        .unwrap_or_default();
    let warn = |warning: String| (Verdict::Warn, warning.clone(), warning);
    let (verdict, message, warning) = match state {
        State::EndOfLife => {
            // Denied from the end of the grace period; never when that overflows.
            let denied_from = match eol {
                Some(eol) => TimeDelta::from_std(settings.grace_period)
                    .ok()
                    .and_then(|grace| eol.checked_add_signed(grace)),
                None => Some(now),
            };
            if denied_from.is_some_and(|from| from <= now) {
                let since_full = eol
                    .map(|t| format!(" since {}", lineage_oci::time::format_rfc3339(&t)))
                    .unwrap_or_default();
                let reason = status
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default();
                let successor = successor_full(status.successor.as_ref())
                    .map(|s| format!("; use {s}"))
                    .unwrap_or_default();
                (
                    Verdict::Deny,
                    format!(
                        "image \"{image}\" ({subject}) is end-of-life{since_full}{reason}{successor}"
                    ),
                    format!("{subject}: {image} is end-of-life{since}{use_successor}"),
                )
            } else {
                let until = denied_from
                    .map(|t| format!(" (denied from {})", date(&t)))
                    .unwrap_or_default();
                warn(format!(
                    "{subject}: {image} is end-of-life{since}{until}{use_successor}"
                ))
            }
        }
        State::Scheduled => {
            let on = eol.map(|t| format!(" {}", date(&t))).unwrap_or_default();
            warn(format!(
                "{subject}: {image} reaches end-of-life{on}{use_successor}"
            ))
        }
        State::Superseded => warn(format!("{subject}: {image} is superseded{use_successor}")),
        State::Supported | State::Unknown => {
            return ImageDecision {
                image: u.clone(),
                lookup_key: Some(key),
                state: Some(state),
                verdict: Verdict::Pass,
                message: None,
                warning: None,
            };
        }
    };
    decision(Some(key), Some(state), verdict, Some(message), warning)
}

/// The date part of an instant, for short warnings.
fn date(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// `reference (digest)`, or whichever is known.
fn successor_full(s: Option<&Successor>) -> Option<String> {
    let s = s?;
    match (&s.reference, &s.digest) {
        (Some(r), Some(d)) => Some(format!("{r} ({d})")),
        (Some(r), None) => Some(r.clone()),
        (None, Some(d)) => Some(d.to_string()),
        (None, None) => None,
    }
}

/// The reference, else the digest: what to pull instead.
fn successor_short(s: Option<&Successor>) -> Option<String> {
    let s = s?;
    s.reference
        .clone()
        .or_else(|| s.digest.as_ref().map(|d| d.to_string()))
}

/// Cut a warning to [`WARNING_MAX_CHARS`] characters, ending it with `…` when cut.
fn cap(mut warning: String) -> String {
    if warning.chars().count() > WARNING_MAX_CHARS
        && let Some((at, _)) = warning.char_indices().nth(WARNING_MAX_CHARS - 1)
    {
        warning.truncate(at);
        warning.push('…');
    }
    warning
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::lookup_api::tests::{status, time};
    use lineage_oci::Digest;
    use serde_json::{Value, json};

    const FLASK: &str = "registry.example/flasksample:1.0-20230707";
    const SUCCESSOR: &str = "registry.example/flasksample:1.0-20230710";
    const EOL: &str = "2023-07-10T08:00:00Z";

    fn fixture(name: &str) -> &'static str {
        match name {
            "pod-create" => include_str!("../../tests/fixtures/admission/pod-create.json"),
            "deployment-create" => {
                include_str!("../../tests/fixtures/admission/deployment-create.json")
            }
            "deployment-update-dry-run" => {
                include_str!("../../tests/fixtures/admission/deployment-update-dry-run.json")
            }
            "statefulset-create" => {
                include_str!("../../tests/fixtures/admission/statefulset-create.json")
            }
            "daemonset-create" => {
                include_str!("../../tests/fixtures/admission/daemonset-create.json")
            }
            "replicaset-create" => {
                include_str!("../../tests/fixtures/admission/replicaset-create.json")
            }
            "job-create" => include_str!("../../tests/fixtures/admission/job-create.json"),
            "cronjob-create" => include_str!("../../tests/fixtures/admission/cronjob-create.json"),
            "pod-ephemeralcontainers" => {
                include_str!("../../tests/fixtures/admission/pod-ephemeralcontainers.json")
            }
            "pod-delete" => include_str!("../../tests/fixtures/admission/pod-delete.json"),
            "configmap-create" => {
                include_str!("../../tests/fixtures/admission/configmap-create.json")
            }
            other => panic!("no fixture {other}"),
        }
    }

    fn review(name: &str) -> AdmissionReview {
        AdmissionReview::parse(fixture(name).as_bytes()).unwrap()
    }

    /// The fixture with `edit` applied to its JSON.
    fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> AdmissionReview {
        let mut v: Value = serde_json::from_str(fixture(name)).unwrap();
        edit(&mut v);
        AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    fn found(name: &str) -> Vec<(String, String, String, ImageRole)> {
        images(&review(name))
            .unwrap()
            .into_iter()
            .map(|u| (u.path, u.image, u.name, u.role))
            .collect()
    }

    fn row(
        path: &str,
        image: &str,
        name: &str,
        role: ImageRole,
    ) -> (String, String, String, ImageRole) {
        (path.into(), image.into(), name.into(), role)
    }

    fn enforce() -> AdmissionSettings {
        AdmissionSettings::default()
    }

    fn now() -> DateTime<Utc> {
        time("2024-03-01T09:00:00Z")
    }

    /// Lookup results for `uses`, with `state` for each key as `pick` says (supported when it
    /// says nothing).
    fn results(
        uses: &[ImageUse],
        pick: impl Fn(&str) -> Option<Result<Status, LookupFailure>>,
    ) -> HashMap<String, Result<Status, LookupFailure>> {
        uses.iter()
            .filter_map(|u| u.lookup_key().ok().map(str::to_string))
            .map(|key| {
                let r = pick(&key).unwrap_or_else(|| Ok(status(&key, State::Supported, None)));
                (key, r)
            })
            .collect()
    }

    /// `FLASK` is end-of-life since `EOL`; everything else supported.
    fn flask_eol(key: &str) -> Option<Result<Status, LookupFailure>> {
        (key == FLASK).then(|| Ok(status(key, State::EndOfLife, Some(EOL))))
    }

    fn run(
        review: &AdmissionReview,
        settings: &AdmissionSettings,
        pick: impl Fn(&str) -> Option<Result<Status, LookupFailure>>,
    ) -> (Value, Outcome) {
        let uses = images(review).unwrap();
        let r = results(&uses, pick);
        let (response, outcome) = decide(review, &uses, &r, settings, now());
        (serde_json::to_value(response).unwrap(), outcome)
    }

    fn denial() -> String {
        format!(
            "image \"{FLASK}\" (container \"web\") is end-of-life since {EOL} (superseded); use {SUCCESSOR} ({})",
            Digest::sha256(b"successor")
        )
    }

    #[test]
    fn pod_images_with_paths() {
        use ImageRole::*;
        assert_eq!(
            found("pod-create"),
            [
                row("spec.containers[0].image", FLASK, "web", Container),
                row("spec.containers[1].image", "nginx:1.25", "proxy", Container),
                row(
                    "spec.initContainers[0].image",
                    "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
                    "migrate",
                    InitContainer
                ),
                row(
                    "spec.volumes[1].image.reference",
                    "registry.example/models:2024",
                    "models",
                    ImageVolume
                ),
            ]
        );
    }

    #[test]
    fn workload_images_with_paths() {
        use ImageRole::*;
        let t = "spec.template.spec";
        assert_eq!(
            found("deployment-create"),
            [
                row(&format!("{t}.containers[0].image"), FLASK, "web", Container),
                row(
                    &format!("{t}.initContainers[0].image"),
                    "busybox",
                    "wait-db",
                    InitContainer
                ),
            ]
        );
        assert_eq!(
            found("statefulset-create"),
            [
                row(
                    &format!("{t}.containers[0].image"),
                    "postgres:16",
                    "postgres",
                    Container
                ),
                row(
                    &format!("{t}.containers[1].image"),
                    "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                    "exporter",
                    Container
                ),
            ]
        );
        assert_eq!(
            found("daemonset-create"),
            [
                row(
                    &format!("{t}.containers[0].image"),
                    "registry.example/agent:3.1",
                    "agent",
                    Container
                ),
                row(
                    &format!("{t}.initContainers[0].image"),
                    "registry.example/agent-setup:3.1",
                    "setup",
                    InitContainer
                ),
            ]
        );
        assert_eq!(
            found("replicaset-create"),
            [row(
                &format!("{t}.containers[0].image"),
                FLASK,
                "web",
                Container
            )]
        );
        assert_eq!(
            found("job-create"),
            [row(
                &format!("{t}.containers[0].image"),
                "registry.example/migrate:1.0",
                "migrate",
                Container
            )]
        );
        let c = "spec.jobTemplate.spec.template.spec";
        assert_eq!(
            found("cronjob-create"),
            [
                row(
                    &format!("{c}.containers[0].image"),
                    "registry.example/report:2.1",
                    "report",
                    Container
                ),
                row(
                    &format!("{c}.initContainers[0].image"),
                    "curlimages/curl:8.6.0",
                    "fetch",
                    InitContainer
                ),
            ]
        );
        assert_eq!(
            found("deployment-update-dry-run"),
            found("deployment-create"),
            "UPDATE reads the new object"
        );
    }

    #[test]
    fn replication_controllers_and_pod_templates() {
        let rc = edited("replicaset-create", |v| {
            v["request"]["kind"] =
                json!({"group": "", "version": "v1", "kind": "ReplicationController"});
        });
        assert_eq!(
            images(&rc).unwrap()[0].path,
            "spec.template.spec.containers[0].image"
        );
        let pt = edited("replicaset-create", |v| {
            v["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "PodTemplate"});
            let template = v["request"]["object"]["spec"]["template"].take();
            v["request"]["object"] = json!({"kind": "PodTemplate", "template": template});
        });
        assert_eq!(
            images(&pt).unwrap()[0].path,
            "template.spec.containers[0].image"
        );
    }

    #[test]
    fn ephemeral_containers_subresource_checks_only_ephemeral_containers() {
        assert_eq!(
            found("pod-ephemeralcontainers"),
            [row(
                "spec.ephemeralContainers[0].image",
                "busybox:1.28",
                "debugger-8xkqz",
                ImageRole::EphemeralContainer
            )]
        );
        // The running container is end-of-life, yet debugging the Pod is allowed.
        let r = review("pod-ephemeralcontainers");
        let (json, outcome) = run(&r, &enforce(), flask_eol);
        assert_eq!(json["response"]["allowed"], true);
        assert_eq!(outcome.images.len(), 1);
    }

    #[test]
    fn delete_other_kinds_and_other_subresources_run_no_images() {
        for name in ["pod-delete", "configmap-create"] {
            let r = review(name);
            assert!(images(&r).unwrap().is_empty(), "{name}");
            let (json, outcome) = run(&r, &enforce(), |_| None);
            assert_eq!(
                json,
                json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "response": {"uid": r.request.uid, "allowed": true}})
            );
            assert!(outcome.allowed && outcome.images.is_empty());
        }
        let status = edited("pod-create", |v| {
            v["request"]["subResource"] = json!("status")
        });
        assert!(images(&status).unwrap().is_empty());
        let connect = edited("pod-create", |v| {
            v["request"]["operation"] = json!("CONNECT")
        });
        assert!(images(&connect).unwrap().is_empty());
        // A Deployment in another group is not a Deployment.
        let other = edited("deployment-create", |v| {
            v["request"]["kind"]["group"] = json!("example.com")
        });
        assert!(images(&other).unwrap().is_empty());
    }

    #[test]
    fn refuses_what_is_not_an_admission_review_v1() {
        let e = AdmissionReview::parse(b"{").unwrap_err();
        assert!(matches!(e, AdmissionError::Json(_)));
        let mut v: Value = serde_json::from_str(fixture("pod-create")).unwrap();
        v["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let e = AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unsupported AdmissionReview apiVersion `admission.k8s.io/v1beta1`")
        );
        v["apiVersion"] = json!(API_VERSION);
        v["kind"] = json!("Pod");
        let e = AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported kind `Pod` (expected `AdmissionReview`)"
        );
        v["kind"] = json!(KIND);
        v.as_object_mut().unwrap().remove("request");
        assert!(matches!(
            AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()),
            Err(AdmissionError::Json(_))
        ));

        let bad = edited("pod-create", |v| {
            v["request"]["object"]["spec"]["containers"] = json!("nginx")
        });
        assert_eq!(
            images(&bad).unwrap_err().to_string(),
            "the Pod object's `spec` is not a pod spec"
        );
    }

    #[test]
    fn lookup_keys_are_normalised_deduplicated_and_shown_as_written() {
        let r = review("pod-create");
        let uses = images(&r).unwrap();
        assert_eq!(uses[1].image, "nginx:1.25");
        assert_eq!(
            uses[1].lookup_key().unwrap(),
            "docker.io/library/nginx:1.25"
        );
        let keys = lookup_keys(&r, &uses, &enforce());
        assert_eq!(
            keys,
            [
                "docker.io/library/nginx:1.25",
                "registry.example/flasksample:1.0-20230707",
                "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
                "registry.example/models:2024",
            ]
        );
        let d = review("deployment-create");
        let uses = images(&d).unwrap();
        assert_eq!(
            uses[1].lookup_key().unwrap(),
            "docker.io/library/busybox:latest"
        );

        // Two spellings of one image: one lookup.
        let twice = edited("pod-create", |v| {
            v["request"]["object"]["spec"]["containers"][0]["image"] =
                json!("docker.io/library/nginx:1.25")
        });
        let uses = images(&twice).unwrap();
        assert_eq!(lookup_keys(&twice, &uses, &enforce()).len(), 3);
    }

    #[test]
    fn enforce_denies_end_of_life_naming_image_date_and_successor() {
        let r = review("pod-create");
        let (json, outcome) = run(&r, &enforce(), flask_eol);
        assert_eq!(
            json,
            json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {
                    "uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1",
                    "allowed": false,
                    "status": {"status": "Failure", "code": 403, "reason": "Forbidden", "message": denial()}
                }
            })
        );
        assert!(!outcome.allowed);
        assert_eq!(outcome.uid, "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1");
        assert_eq!(outcome.namespace.as_deref(), Some("shop"));
        assert_eq!(outcome.kind, "Pod");
        let verdicts: Vec<Verdict> = outcome.images.iter().map(|d| d.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Deny, Verdict::Pass, Verdict::Pass, Verdict::Pass]
        );
        assert_eq!(outcome.images[0].state, Some(State::EndOfLife));
        assert_eq!(outcome.images[0].lookup_key.as_deref(), Some(FLASK));
    }

    #[test]
    fn enforce_warns_on_scheduled_and_superseded_and_names_every_denied_image() {
        let r = review("pod-create");
        let (json, outcome) = run(&r, &enforce(), |key| match key {
            "docker.io/library/nginx:1.25" => Some(Ok(status(
                key,
                State::Scheduled,
                Some("2025-04-30T00:00:00Z"),
            ))),
            "registry.example/models:2024" => Some(Ok(status(key, State::Superseded, None))),
            _ => flask_eol(key),
        });
        assert_eq!(json["response"]["allowed"], false);
        assert_eq!(
            json["response"]["warnings"],
            json!([
                format!(
                    "container \"proxy\": nginx:1.25 reaches end-of-life 2025-04-30; use {SUCCESSOR}"
                ),
                format!(
                    "image volume \"models\": registry.example/models:2024 is superseded; use {SUCCESSOR}"
                ),
            ])
        );
        for w in json["response"]["warnings"].as_array().unwrap() {
            assert!(w.as_str().unwrap().chars().count() < 120, "{w}");
        }
        assert!(outcome.images.iter().all(|d| d.verdict != Verdict::Exempt));

        // Two denied images: one line each.
        let deployment = review("deployment-create");
        let (json, _) = run(&deployment, &enforce(), |key| {
            Some(Ok(status(key, State::EndOfLife, Some(EOL))))
        });
        let message = json["response"]["status"]["message"].as_str().unwrap();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(&format!("image \"{FLASK}\" (container \"web\")")));
        assert!(lines[1].starts_with(
            "image \"busybox\" (init container \"wait-db\") is end-of-life since 2023-07-10T08:00:00Z"
        ));
    }

    #[test]
    fn denial_without_reason_or_successor_reference() {
        let r = review("job-create");
        let key = "registry.example/migrate:1.0";
        let mut s = status(key, State::EndOfLife, Some(EOL));
        s.reason = None;
        s.successor = Some(Successor {
            reference: None,
            digest: Some(Digest::sha256(b"successor")),
            revision: None,
        });
        let (json, _) = run(&r, &enforce(), |_| Some(Ok(s.clone())));
        assert_eq!(
            json["response"]["status"]["message"],
            format!(
                "image \"{key}\" (container \"migrate\") is end-of-life since {EOL}; use {}",
                Digest::sha256(b"successor")
            )
        );
        s.successor = None;
        let (json, _) = run(&r, &enforce(), |_| Some(Ok(s.clone())));
        assert_eq!(
            json["response"]["status"]["message"],
            format!("image \"{key}\" (container \"migrate\") is end-of-life since {EOL}")
        );
    }

    #[test]
    fn warn_mode_admits_with_a_warning_per_image() {
        let settings = AdmissionSettings {
            mode: Mode::Warn,
            ..enforce()
        };
        let r = review("pod-create");
        let (json, outcome) = run(&r, &settings, |key| match key {
            "docker.io/library/nginx:1.25" => Some(Ok(status(
                key,
                State::Scheduled,
                Some("2025-04-30T00:00:00Z"),
            ))),
            _ => flask_eol(key),
        });
        assert_eq!(
            json["response"],
            json!({
                "uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1",
                "allowed": true,
                "warnings": [
                    format!("container \"web\": {FLASK} is end-of-life since 2023-07-10; use {SUCCESSOR}"),
                    format!("container \"proxy\": nginx:1.25 reaches end-of-life 2025-04-30; use {SUCCESSOR}"),
                ]
            })
        );
        assert!(outcome.allowed);
        assert_eq!(outcome.mode, Mode::Warn);
        assert_eq!(
            outcome.images[0].verdict,
            Verdict::Deny,
            "what enforce would do"
        );
    }

    #[test]
    fn audit_mode_admits_silently_and_reports_in_the_outcome() {
        let settings = AdmissionSettings {
            mode: Mode::Audit,
            fail_open: false,
            ..enforce()
        };
        let r = review("pod-create");
        let (json, outcome) = run(&r, &settings, |key| match key {
            "registry.example/models:2024" => Some(Err(LookupFailure {
                message: "timeout".into(),
                not_found: false,
                refused: false,
            })),
            _ => flask_eol(key),
        });
        assert_eq!(
            json["response"],
            json!({"uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1", "allowed": true})
        );
        assert!(outcome.allowed);
        assert_eq!(outcome.images[0].verdict, Verdict::Deny);
        assert_eq!(
            outcome.images[0].message.as_deref(),
            Some(denial().as_str())
        );
        assert_eq!(outcome.images[3].verdict, Verdict::Deny);
        // The outcome serialises for structured logs.
        let log = serde_json::to_value(&outcome).unwrap();
        assert_eq!(log["images"][0]["path"], "spec.containers[0].image");
        assert_eq!(log["images"][0]["verdict"], "deny");
        assert_eq!(log["images"][0]["state"], "end-of-life");
        assert_eq!(log["mode"], "audit");
        assert_eq!(log["operation"], "CREATE");
    }

    #[test]
    fn exempt_namespaces_are_admitted_without_lookup() {
        let system = edited("pod-create", |v| {
            v["request"]["namespace"] = json!("kube-system")
        });
        let settings = enforce();
        assert!(is_exempt_namespace(&system, &settings));
        assert!(!is_exempt_namespace(&review("pod-create"), &settings));
        let uses = images(&system).unwrap();
        assert!(lookup_keys(&system, &uses, &settings).is_empty());
        let (response, outcome) = decide(&system, &uses, &HashMap::new(), &settings, now());
        assert!(response.response.allowed && response.response.warnings.is_empty());
        assert!(outcome.exempt_namespace);
        assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Exempt));

        let settings = AdmissionSettings {
            exempt_namespaces: vec!["team-*".into()],
            ..enforce()
        };
        let team = edited("pod-create", |v| {
            v["request"]["namespace"] = json!("team-a")
        });
        assert!(is_exempt_namespace(&team, &settings));
        assert!(!is_exempt_namespace(&system, &settings));
        // Cluster-scoped: never exempt.
        let cluster = edited("pod-create", |v| {
            v["request"].as_object_mut().unwrap().remove("namespace");
        });
        let everything = AdmissionSettings {
            exempt_namespaces: vec!["*".into()],
            ..enforce()
        };
        assert!(!is_exempt_namespace(&cluster, &everything));
    }

    #[test]
    fn exempt_images_match_as_written_or_normalised() {
        let r = review("pod-create");
        let uses = images(&r).unwrap();
        let settings = AdmissionSettings {
            exempt_images: vec![
                "registry.example/flask*".into(),
                "docker.io/library/*".into(),
            ],
            ..enforce()
        };
        let needed: Vec<bool> = uses.iter().map(|u| needs_lookup(u, &settings)).collect();
        assert_eq!(needed, [false, false, true, true]);
        assert_eq!(
            lookup_keys(&r, &uses, &settings),
            [
                "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
                "registry.example/models:2024"
            ]
        );
        // The end-of-life image is exempt: admitted even with its status at hand.
        let (json, outcome) = run(&r, &settings, flask_eol);
        assert_eq!(json["response"]["allowed"], true);
        assert_eq!(outcome.images[0].verdict, Verdict::Exempt);
        assert_eq!(outcome.images[0].lookup_key, None);

        let as_written = AdmissionSettings {
            exempt_images: vec!["nginx:*".into()],
            ..enforce()
        };
        assert!(!needs_lookup(&uses[1], &as_written));
        assert!(needs_lookup(&uses[0], &as_written));
    }

    #[test]
    fn grace_period_turns_a_fresh_end_of_life_into_a_warning() {
        let settings = AdmissionSettings {
            grace_period: Duration::from_secs(7 * 24 * 3600),
            ..enforce()
        };
        let r = review("replicaset-create");
        let eol_at =
            |eol: &'static str| move |key: &str| Some(Ok(status(key, State::EndOfLife, Some(eol))));
        // Two days ago: warned, with the day it will be denied.
        let (json, outcome) = run(&r, &settings, eol_at("2024-02-28T09:00:00Z"));
        assert_eq!(json["response"]["allowed"], true);
        assert_eq!(
            json["response"]["warnings"],
            json!([format!(
                "container \"web\": {FLASK} is end-of-life since 2024-02-28 (denied from 2024-03-06); use {SUCCESSOR}"
            )])
        );
        assert_eq!(outcome.images[0].verdict, Verdict::Warn);
        // Exactly the grace period ago: denied.
        let (json, _) = run(&r, &settings, eol_at("2024-02-23T09:00:00Z"));
        assert_eq!(json["response"]["allowed"], false);
        // Without grace: denied at once.
        let (json, _) = run(&r, &enforce(), eol_at("2024-03-01T09:00:00Z"));
        assert_eq!(json["response"]["allowed"], false);
        // An absurd grace period never denies, and does not overflow.
        let forever = AdmissionSettings {
            grace_period: Duration::MAX,
            ..enforce()
        };
        let (json, _) = run(&r, &forever, eol_at("2024-02-28T09:00:00Z"));
        assert_eq!(json["response"]["allowed"], true);
    }

    #[test]
    fn a_cached_scheduled_status_past_its_end_of_life_is_end_of_life() {
        let r = review("replicaset-create");
        let (json, outcome) = run(&r, &enforce(), |key| {
            Some(Ok(status(
                key,
                State::Scheduled,
                Some("2024-03-01T08:59:59Z"),
            )))
        });
        assert_eq!(json["response"]["allowed"], false);
        assert_eq!(outcome.images[0].state, Some(State::EndOfLife));
        // And the other way round: a status computed with a later `at`.
        let (json, outcome) = run(&r, &enforce(), |key| {
            Some(Ok(status(
                key,
                State::EndOfLife,
                Some("2024-03-02T00:00:00Z"),
            )))
        });
        assert_eq!(json["response"]["allowed"], true);
        assert_eq!(outcome.images[0].state, Some(State::Scheduled));
    }

    #[test]
    fn lookup_failures_fail_open_or_closed() {
        let r = edited("job-create", |v| {
            let spec = &mut v["request"]["object"]["spec"]["template"]["spec"];
            spec["containers"].as_array_mut().unwrap().extend([
                json!({"name": "bad", "image": "Registry.Example/App:1"}),
                json!({"name": "unlooked", "image": "registry.example/other:1"}),
            ]);
        });
        let uses = images(&r).unwrap();
        assert_eq!(
            lookup_keys(&r, &uses, &enforce()),
            ["registry.example/migrate:1.0", "registry.example/other:1"],
            "an unparsable image is not looked up"
        );
        let mut results = HashMap::new();
        results.insert(
            "registry.example/migrate:1.0".to_string(),
            Err(LookupFailure {
                message: "registry.example did not answer in 2s".into(),
                not_found: false,
                refused: false,
            }),
        );
        // "registry.example/other:1" has no result at all.

        let (open, outcome) = decide(&r, &uses, &results, &enforce(), now());
        assert!(open.response.allowed);
        assert_eq!(
            open.response.warnings,
            [
                "container \"migrate\": registry.example/migrate:1.0 not checked: registry.example did not answer in 2s",
                "container \"bad\": Registry.Example/App:1 not checked: invalid reference `Registry.Example/App:1`: repository name `App` must be lowercase",
                "container \"unlooked\": registry.example/other:1 not checked: no lookup result",
            ]
        );
        assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Warn));

        let closed = AdmissionSettings {
            fail_open: false,
            ..enforce()
        };
        let (response, outcome) = decide(&r, &uses, &results, &closed, now());
        assert!(!response.response.allowed);
        assert!(response.response.warnings.is_empty());
        let status = response.response.status.unwrap();
        assert_eq!(status.code, 403);
        assert_eq!(
            status.message,
            "image \"registry.example/migrate:1.0\" (container \"migrate\") could not be checked: registry.example did not answer in 2s\n\
             image \"Registry.Example/App:1\" (container \"bad\") could not be checked: invalid reference `Registry.Example/App:1`: repository name `App` must be lowercase\n\
             image \"registry.example/other:1\" (container \"unlooked\") could not be checked: no lookup result"
        );
        assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Deny));
    }

    #[test]
    fn dry_run_is_answered_exactly_alike() {
        let dry = review("deployment-update-dry-run");
        assert_eq!(dry.request.dry_run, Some(true));
        let wet = edited("deployment-update-dry-run", |v| {
            v["request"]["dryRun"] = json!(false)
        });
        for settings in [
            enforce(),
            AdmissionSettings {
                mode: Mode::Warn,
                ..enforce()
            },
        ] {
            let (a, outcome) = run(&dry, &settings, flask_eol);
            let (b, _) = run(&wet, &settings, flask_eol);
            assert_eq!(a, b);
            assert!(outcome.dry_run);
            assert_eq!(a["response"]["uid"], "c4a3bd1e-2f0a-4a55-a7c2-33b0d1e8f901");
        }
    }

    #[test]
    fn an_update_is_denied_only_for_images_it_brings_in() {
        // The old object already ran the end-of-life image: scaling it is allowed, with a
        // warning.
        let kept = review("deployment-update-dry-run");
        let (json, outcome) = run(&kept, &enforce(), flask_eol);
        assert_eq!(json["response"]["allowed"], true, "{json}");
        assert!(
            json["response"]["warnings"][0]
                .as_str()
                .is_some_and(|w| w.contains(FLASK))
        );
        assert_eq!(outcome.images[0].verdict, Verdict::Warn);
        // The update brings the end-of-life image in: denied.
        let brought = edited("deployment-update-dry-run", |v| {
            v["request"]["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("registry.example/flasksample:0.9");
        });
        let (json, _) = run(&brought, &enforce(), flask_eol);
        assert_eq!(json["response"]["allowed"], false, "{json}");
        // A CREATE never counts an old object.
        let created = edited("deployment-update-dry-run", |v| {
            v["request"]["operation"] = json!("CREATE");
        });
        let (json, _) = run(&created, &enforce(), flask_eol);
        assert_eq!(json["response"]["allowed"], false, "{json}");
    }

    #[test]
    fn uid_is_echoed_as_given() {
        for uid in ["705ab4f5-6393-11e8-b7cc-42010a800002", "not-a-uuid", ""] {
            let r = edited("deployment-create", |v| v["request"]["uid"] = json!(uid));
            let (json, outcome) = run(&r, &enforce(), |_| None);
            assert_eq!(json["response"]["uid"], uid);
            assert_eq!(json["apiVersion"], "admission.k8s.io/v1");
            assert_eq!(json["kind"], "AdmissionReview");
            assert_eq!(outcome.uid, uid);
        }
    }

    #[test]
    fn modes_parse_and_print() {
        for m in [Mode::Enforce, Mode::Warn, Mode::Audit] {
            assert_eq!(m.to_string().parse::<Mode>().unwrap(), m);
        }
        assert_eq!(
            "Enforce".parse::<Mode>().unwrap_err().to_string(),
            "unknown admission mode `Enforce` (expected enforce, warn or audit)"
        );
        let d = AdmissionSettings::default();
        assert_eq!(d.mode, Mode::Enforce);
        assert_eq!(d.grace_period, Duration::ZERO);
        assert_eq!(d.exempt_namespaces, ["kube-system"]);
        assert!(d.exempt_images.is_empty());
        assert!(d.fail_open);
    }

    #[test]
    fn long_warnings_are_cut() {
        let long = "x".repeat(300);
        let cut = cap(format!("é{long}"));
        assert_eq!(cut.chars().count(), WARNING_MAX_CHARS);
        assert!(cut.starts_with('é') && cut.ends_with('…'));
        let short = "container \"web\": app:1 is superseded".to_string();
        assert_eq!(cap(short.clone()), short);
        let exact = "y".repeat(WARNING_MAX_CHARS);
        assert_eq!(cap(exact.clone()), exact);
    }
}
