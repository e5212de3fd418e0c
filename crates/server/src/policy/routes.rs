//! The HTTP side of the policy routes: small handlers that parse with the pure functions of
//! this module's siblings, look images up through the lifecycle engine's cached
//! [`Lookup`], answer, log and count. Mounted by `lineage serve` next to the registry and by
//! `lineage webhook` alone.
//!
//! | route | does |
//! |---|---|
//! | `POST /lifecycle/v1/lookup` | `{"images": […], "at": …}` → `{"results": […]}` |
//! | `POST /admission/v1/validate` | AdmissionReview v1 or v1beta1 → the same version |
//! | `POST /gatekeeper/v1/lookup` | Gatekeeper `ProviderRequest` → `ProviderResponse` |
//! | `GET /healthz`, `GET /readyz` | `ok` |
//! | `GET /metrics` | Prometheus text: lookups, cache hits, registry requests and time, decisions; on `lineage serve`, its garbage collections |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use lineage_lifecycle::Lookup;

use super::admission::{self, AdmissionReview, AdmissionSettings, ReviewResponse, Verdict};
use super::gatekeeper::{ProviderRequest, ProviderResponse};
use super::lookup_api::{LookupQuery, LookupResponse};
use super::scope::Scope;
use super::{LookupFailure, LookupResult};
use crate::auth::Htpasswd;

/// The largest request body: an AdmissionReview carries the object and the old object, each
/// up to etcd's 1.5 MiB.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How long an admission review may spend following successors past the recorded one
/// (the lookups themselves are bounded by the lookup's deadline; the API server waits 5 s).
const FOLLOW_BUDGET: std::time::Duration = std::time::Duration::from_millis(500);

/// What the policy routes share.
#[derive(Debug)]
pub struct PolicyState {
    /// The cached lookup (the dashboard's too).
    pub(crate) lookup: Lookup,
    /// How admission requests are decided.
    pub admission: AdmissionSettings,
    /// The registries the routes answer for.
    pub(crate) scope: Arc<Scope>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    lookup_requests: AtomicU64,
    gatekeeper_requests: AtomicU64,
    admission_allowed: AtomicU64,
    admission_denied: AtomicU64,
    admission_errors: AtomicU64,
    verdicts: [AtomicU64; 4],
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn verdict_index(v: Verdict) -> usize {
    match v {
        Verdict::Pass => 0,
        Verdict::Warn => 1,
        Verdict::Deny => 2,
        Verdict::Exempt => 3,
    }
}

impl PolicyState {
    /// Shared state for the routes. `lookup` should open stores through a
    /// [`ScopedOpener`](super::scope::ScopedOpener) over the same `scope`, so that a successor
    /// outside it is not fetched either.
    pub fn new(
        lookup: Lookup,
        admission: AdmissionSettings,
        scope: Arc<Scope>,
    ) -> Arc<PolicyState> {
        Arc::new(PolicyState {
            lookup,
            admission,
            scope,
            counters: Counters::default(),
        })
    }

    /// Look `images` up now (or at `at`), as the routes report results (in order; an
    /// image given twice is looked up once; one outside the scope is refused unasked). With `follow`, each successor is followed to the
    /// image to move to ([`Lookup::follow_successors`]) within [`FOLLOW_BUDGET`]; the lookup
    /// and Gatekeeper routes answer the recorded successor (DESIGN §4).
    async fn look_up(
        &self,
        images: Vec<String>,
        at: Option<chrono::DateTime<Utc>>,
        follow: bool,
    ) -> Vec<(String, LookupResult)> {
        let at = at.unwrap_or_else(Utc::now);
        let refusals: Vec<_> = images.iter().map(|i| self.scope.refusal(i)).collect();
        let asked: Vec<String> = images
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|(image, _)| image.clone())
            .collect();
        let mut results = self.lookup.lookup_many(&asked, at).await;
        if follow {
            results = self
                .lookup
                .follow_many(results, at, Some(FOLLOW_BUDGET))
                .await;
        }
        let mut answered = results
            .into_iter()
            .map(|r| r.map_err(LookupFailure::Lookup));
        images
            .into_iter()
            .zip(refusals)
            .map(|(image, refused)| {
                let result = match refused {
                    Some(refused) => Err(LookupFailure::Refused(refused)),
                    // One result per image asked, in order.
                    None => answered.next().unwrap_or(Err(LookupFailure::Missing)),
                };
                (image, result)
            })
            .collect()
    }
}

/// Who may call the policy routes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// The Basic credentials the lookup, Gatekeeper, metrics (and admission) routes want:
    /// `lineage serve --htpasswd`'s. `None`: anyone may call them.
    pub(crate) htpasswd: Option<Arc<Htpasswd>>,
    /// Leave the admission route open even with [`Access::htpasswd`] (`lineage serve
    /// --admission-without-auth`): the API server calls admission webhooks without Basic
    /// credentials.
    pub(crate) admission_without_auth: bool,
}

/// The policy routes over `state`, callable as `access` says.
pub(crate) fn router(state: Arc<PolicyState>, access: Access) -> Router {
    let mut open = Router::new()
        .route("/healthz", get(ok))
        .route("/readyz", get(ok));
    let mut guarded = Router::new()
        .route("/lifecycle/v1/lookup", post(lookup))
        .route("/gatekeeper/v1/lookup", post(gatekeeper))
        .route("/metrics", get(metrics));
    if access.admission_without_auth {
        open = open.route("/admission/v1/validate", post(validate));
    } else {
        guarded = guarded.route("/admission/v1/validate", post(validate));
    }
    if let Some(htpasswd) = access.htpasswd {
        guarded = guarded.route_layer(axum::middleware::from_fn_with_state(
            htpasswd,
            crate::auth::require,
        ));
    }
    open.merge(guarded)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn ok() -> &'static str {
    "ok\n"
}

/// A 400 with `{"error": …}`.
fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

async fn lookup(State(state): State<Arc<PolicyState>>, body: Bytes) -> Response {
    bump(&state.counters.lookup_requests);
    let query = match LookupQuery::parse(&body) {
        Ok(q) => q,
        Err(e) => return bad_request(format!("not a lookup request: {e}")),
    };
    let results = state.look_up(query.images, query.at, false).await;
    axum::Json(LookupResponse::new(results)).into_response()
}

async fn gatekeeper(State(state): State<Arc<PolicyState>>, body: Bytes) -> Response {
    bump(&state.counters.gatekeeper_requests);
    let request = match ProviderRequest::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable Gatekeeper ProviderRequest");
            return axum::Json(ProviderResponse::system_error(&e)).into_response();
        }
    };
    let results = state.look_up(request.request.keys, None, false).await;
    axum::Json(ProviderResponse::new(results)).into_response()
}

async fn validate(State(state): State<Arc<PolicyState>>, body: Bytes) -> Response {
    let review = match AdmissionReview::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            bump(&state.counters.admission_errors);
            return bad_request(e.to_string());
        }
    };
    axum::Json(state.admit(&review).await).into_response()
}

impl PolicyState {
    /// Decide an admission review: look its images up, answer, count and log the decision.
    pub async fn admit(&self, review: &AdmissionReview) -> ReviewResponse {
        let settings = &self.admission;
        let uses = match admission::images(review) {
            Ok(u) => u,
            Err(e) => {
                // Answer, so that the webhook's own setting (fail open or closed) applies
                // rather than the API server's failurePolicy.
                bump(&self.counters.admission_errors);
                return admission::unreadable(review, &e.to_string(), settings);
            }
        };
        let keys = admission::lookup_keys(review, &uses, settings);
        let results: HashMap<String, LookupResult> =
            self.look_up(keys, None, true).await.into_iter().collect();
        let (response, outcome) = admission::decide(review, &uses, &results, settings, Utc::now());
        for d in &outcome.images {
            bump(&self.counters.verdicts[verdict_index(d.verdict)]);
        }
        if outcome.allowed {
            bump(&self.counters.admission_allowed);
        } else {
            bump(&self.counters.admission_denied);
        }
        let notable = outcome
            .images
            .iter()
            .any(|d| matches!(d.verdict, Verdict::Warn | Verdict::Deny));
        // The outcome is written out only for a log that takes it.
        if notable && tracing::enabled!(target: "lineage_server::admission", tracing::Level::INFO) {
            let json = serde_json::to_string(&outcome).unwrap_or_default();
            tracing::info!(
                target: "lineage_server::admission",
                uid = %outcome.uid,
                allowed = outcome.allowed,
                mode = %settings.mode,
                outcome = %json,
                "admission decision"
            );
        }
        response
    }
}

/// Write one Prometheus metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

async fn metrics(State(state): State<Arc<PolicyState>>) -> Response {
    let m = state.lookup.metrics();
    let c = &state.counters;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
    let mut out = String::new();
    family(
        &mut out,
        "lineage_lookups_total",
        "counter",
        "Image lookups asked for.",
        &[("", m.lookups.to_string())],
    );
    family(
        &mut out,
        "lineage_lookup_cache_hits_total",
        "counter",
        "Lookups answered from the cache, by cache (digest: image facts; tag: tag resolution).",
        &[
            ("{cache=\"digest\"}", m.digest_cache_hits.to_string()),
            ("{cache=\"tag\"}", m.tag_cache_hits.to_string()),
        ],
    );
    family(
        &mut out,
        "lineage_lookup_cache_misses_total",
        "counter",
        "Lookups that had to ask the registry, by cache.",
        &[
            ("{cache=\"digest\"}", m.digest_cache_misses.to_string()),
            ("{cache=\"tag\"}", m.tag_cache_misses.to_string()),
        ],
    );
    family(
        &mut out,
        "lineage_lookup_coalesced_total",
        "counter",
        "Lookups that waited for an identical one in flight.",
        &[("", m.coalesced.to_string())],
    );
    family(
        &mut out,
        "lineage_registry_requests_total",
        "counter",
        "Requests sent to registries.",
        &[("", m.registry_requests.to_string())],
    );
    family(
        &mut out,
        "lineage_registry_errors_total",
        "counter",
        "Registry requests that failed (not counting not-found answers).",
        &[("", m.registry_errors.to_string())],
    );
    family(
        &mut out,
        "lineage_registry_request_seconds",
        "summary",
        "Time spent in registry requests.",
        &[
            ("_sum", format!("{}", m.registry_seconds_total)),
            ("_count", m.registry_requests.to_string()),
        ],
    );
    let labels: Vec<String> = (m.records_by_signature.iter())
        .map(|(result, _)| format!("{{result=\"{result}\"}}"))
        .collect();
    let by_result: Vec<(&str, String)> = (labels.iter().zip(&m.records_by_signature))
        .map(|(labels, (_, n))| (labels.as_str(), n.to_string()))
        .collect();
    family(
        &mut out,
        "lineage_records_verified_total",
        "counter",
        "Lifecycle records whose signatures were verified under the trust policy, by result (verified, or why not).",
        &by_result,
    );
    family(
        &mut out,
        "lineage_policy_requests_total",
        "counter",
        "Requests to the lookup and Gatekeeper routes.",
        &[
            ("{route=\"lookup\"}", get(&c.lookup_requests)),
            ("{route=\"gatekeeper\"}", get(&c.gatekeeper_requests)),
        ],
    );
    let mode = state.admission.mode;
    family(
        &mut out,
        "lineage_admission_decisions_total",
        "counter",
        "Admission reviews answered, by mode and result (error: unreadable review).",
        &[
            (
                &format!("{{mode=\"{mode}\",result=\"allowed\"}}"),
                get(&c.admission_allowed),
            ),
            (
                &format!("{{mode=\"{mode}\",result=\"denied\"}}"),
                get(&c.admission_denied),
            ),
            (
                &format!("{{mode=\"{mode}\",result=\"error\"}}"),
                get(&c.admission_errors),
            ),
        ],
    );
    family(
        &mut out,
        "lineage_admission_images_total",
        "counter",
        "Images judged at admission, by what enforce mode makes of them (deny counts in every mode, so audit shows what enforce would block).",
        &[
            ("{verdict=\"pass\"}", get(&c.verdicts[0])),
            ("{verdict=\"warn\"}", get(&c.verdicts[1])),
            ("{verdict=\"deny\"}", get(&c.verdicts[2])),
            ("{verdict=\"exempt\"}", get(&c.verdicts[3])),
        ],
    );
    if let Some(registry) = state.scope.own_registry() {
        for (name, value) in registry.gc_metrics() {
            let (kind, help) = match name.strip_suffix("_total") {
                Some(_) => (
                    "counter",
                    "Garbage collections of lineage serve's root and what they removed (lineage serve --gc-interval).",
                ),
                None => (
                    "gauge",
                    "How long the last garbage collection of lineage serve's root took.",
                ),
            };
            family(&mut out, name, kind, help, &[("", value.to_string())]);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
