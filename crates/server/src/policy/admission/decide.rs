//! The decision about a request: which images are exempt (namespaces and image patterns, the
//! webhook's own settings), the lifecycle policy's judgement of each other image
//! ([`lineage_lifecycle::verdict`]: grace period, mode, fail open or closed), and the
//! response and [`Outcome`] built from them. The words come from
//! [`lineage_lifecycle::verdict::words`].

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lineage_lifecycle::State;
use lineage_lifecycle::verdict::{
    AdmissionWords, Inherited, Judgement, Mode, Policy, Verdict, words,
};

use super::images::{ImageUse, previous_images};
use super::wire::{AdmissionReview, Operation, ReviewResponse, cap};
use crate::policy::{LookupResult, glob};

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
    /// Grace periods of particular Kubernetes namespaces (`*` globs, the first that
    /// matches wins) in place of `grace_period` (issue 18).
    pub namespace_grace_periods: Vec<(String, Duration)>,
    /// What enforce mode makes of an image whose base is end-of-life (`base-end-of-life`):
    /// deny, warn (the default) or ignore.
    pub inherited: Inherited,
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
            namespace_grace_periods: vec![],
            inherited: Inherited::Warn,
        }
    }
}

impl AdmissionSettings {
    /// The lifecycle policy these settings ask for (everything but the exemptions).
    pub fn policy(&self) -> Policy {
        Policy {
            mode: self.mode,
            grace_period: self.grace_period,
            fail_open: self.fail_open,
            inherited: self.inherited,
        }
    }

    /// The policy for an object in the Kubernetes namespace `namespace`: the grace period
    /// of the first `namespace_grace_periods` pattern that matches it, else `grace_period`.
    /// Cluster-scoped objects get `grace_period`.
    pub fn policy_for(&self, namespace: Option<&str>) -> Policy {
        let grace_period = namespace
            .and_then(|ns| {
                self.namespace_grace_periods
                    .iter()
                    .find(|(pattern, _)| glob::matches(pattern, ns))
            })
            .map_or(self.grace_period, |(_, d)| *d);
        Policy {
            grace_period,
            ..self.policy()
        }
    }
}

/// Whether the request's namespace is exempt: its objects are admitted without lookup.
/// Cluster-scoped objects are never exempt.
pub(crate) fn is_exempt_namespace(review: &AdmissionReview, settings: &AdmissionSettings) -> bool {
    review.request.namespace.as_deref().is_some_and(|ns| {
        settings
            .exempt_namespaces
            .iter()
            .any(|p| glob::matches(p, ns))
    })
}

/// Whether the image must be looked up: false when it matches an exempt image pattern.
pub(crate) fn needs_lookup(image: &ImageUse, settings: &AdmissionSettings) -> bool {
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
pub(crate) fn lookup_keys(
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

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageDecision {
    /// The image and where it is.
    #[serde(flatten)]
    pub(crate) image: ImageUse,
    /// The normalised reference it was looked up by; `None` when exempt or unparsable.
    pub(crate) lookup_key: Option<String>,
    /// Its state at the time of the decision; `None` when not looked up or the lookup failed.
    pub(crate) state: Option<State>,
    /// What enforce mode makes of it.
    pub(crate) verdict: Verdict,
    /// The full sentence for a denial and for logs (names the image, its container, the
    /// end-of-life date and the successor, or the lookup error).
    pub(crate) message: Option<String>,
    /// The short warning sent to the client (always set with [`Verdict::Warn`] and
    /// [`Verdict::Deny`]).
    pub(crate) warning: Option<String>,
}

/// What was decided about a request, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    /// The request's `uid`.
    pub(crate) uid: String,
    /// The operation.
    pub(crate) operation: Operation,
    /// The object's kind.
    pub(crate) kind: String,
    /// The object's namespace.
    pub(crate) namespace: Option<String>,
    /// The object's name.
    pub(crate) name: Option<String>,
    /// The mode it was decided in.
    pub(crate) mode: Mode,
    /// Whether the request was a dry run (answered the same way).
    pub(crate) dry_run: bool,
    /// Whether the namespace is exempt.
    pub(crate) exempt_namespace: bool,
    /// Whether the object is admitted.
    pub(crate) allowed: bool,
    /// One decision per image, in [`images`](super::images::images) order.
    pub(crate) images: Vec<ImageDecision>,
}

/// The answer to a review whose object lineage cannot read the images of (a malformed pod
/// spec, `error`): the fail-open or fail-closed setting decides, as for a failed lookup.
pub(crate) fn unreadable(
    review: &AdmissionReview,
    error: &str,
    settings: &AdmissionSettings,
) -> ReviewResponse {
    let policy = settings.policy();
    let message = words::unreadable(error);
    let warnings = if policy.warns_unreadable() {
        vec![message.clone()]
    } else {
        Vec::new()
    };
    ReviewResponse::new(
        review,
        (!policy.admits_unreadable()).then_some(message),
        warnings,
    )
}

/// Decide a request (the table of [`lineage_lifecycle::verdict::policy`]) and build the
/// response.
///
/// `uses` are the request's [`images`](super::images::images); `results` the lookup results
/// keyed by [`lookup_keys`] (a key missing from it counts as a lookup failure); `now` is the
/// time the states are judged at: an image whose status says `scheduled` but whose
/// end-of-life is past `now` (a status cached a while) is end-of-life.
pub(crate) fn decide(
    review: &AdmissionReview,
    uses: &[ImageUse],
    results: &HashMap<String, LookupResult>,
    settings: &AdmissionSettings,
    now: DateTime<Utc>,
) -> (ReviewResponse, Outcome) {
    let request = &review.request;
    let policy = settings.policy_for(request.namespace.as_deref());
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
            judge(u, results, &policy, now, previous.contains(&u.image))
        })
        .collect();

    let allowed = policy.allows(decisions.iter().map(|d| d.verdict));
    let denials: Vec<&str> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Deny)
        .filter_map(|d| d.message.as_deref())
        .collect();
    let warnings = decisions
        .iter()
        .filter(|d| policy.warns(d.verdict))
        .filter_map(|d| d.warning.clone())
        .collect();
    let response = ReviewResponse::new(review, (!allowed).then(|| denials.join("\n")), warnings);
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

/// The decision about one image that needs a lookup; `already_running` when the object
/// before an UPDATE ran it too.
fn judge(
    u: &ImageUse,
    results: &HashMap<String, LookupResult>,
    policy: &Policy,
    now: DateTime<Utc>,
    already_running: bool,
) -> ImageDecision {
    let decision = |lookup_key, judgement: Judgement, words: Option<AdmissionWords>| {
        let judgement = if already_running {
            judgement.already_running()
        } else {
            judgement
        };
        let (message, warning) = match words {
            Some(w) => (Some(w.message), Some(cap(w.warning))),
            None => (None, None),
        };
        ImageDecision {
            image: u.clone(),
            lookup_key,
            state: judgement.state,
            verdict: judgement.verdict,
            message,
            warning,
        }
    };
    let failed = |lookup_key: Option<String>, error: &str| {
        let words = words::unchecked(&u.image, &u.subject(), error);
        decision(lookup_key, policy.judge_failure(), Some(words))
    };

    let key = match u.lookup_key() {
        Ok(key) => key.to_string(),
        Err(e) => return failed(None, &e.to_string()),
    };
    let status = match results.get(&key) {
        Some(Ok(status)) => status,
        Some(Err(failure)) => return failed(Some(key), &failure.message()),
        None => return failed(Some(key), &crate::policy::LookupFailure::Missing.message()),
    };
    let judgement = policy.judge(status, now);
    let words = words::admission(&u.image, &u.subject(), status, &judgement);
    decision(Some(key), judgement, words)
}
