//! The dashboard's axum handlers: each reads its query, refuses an image outside the
//! server's scope before any request, gathers the facts through the policy routes' cached
//! [`Lookup`](lineage_lifecycle::Lookup), builds a view model and hands it to a pure render
//! function. Lookup and render times go out in a `Server-Timing` header.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lineage_integrations::{Looked, LookupFailed, audit};
use lineage_lifecycle::{Lookup, LookupError, effective, lineages};
use lineage_oci::{Digest, ImageRef};

use super::fleet::{self, FleetView};
use super::image::{self, ImageView, RecordView, ReferrerNode};
use super::pages::{self, HomeView, RepositoryView, SearchView};
use super::timeline::{self, RevisionView, TimelineView};
use crate::auth::Htpasswd;
use crate::policy::lookup_api::MAX_IMAGES;
use crate::policy::routes::PolicyState;

/// The largest fleet document: `kubectl get pods -A -o json` of a large cluster.
const MAX_FLEET_BODY: usize = 16 * 1024 * 1024;
/// How deep the referrer tree goes below the image.
const TREE_DEPTH: usize = 4;
/// The most referrers the tree shows.
const TREE_NODES: usize = 200;
/// How long the fleet audit may spend following successors past the recorded one.
const FOLLOW_BUDGET: Duration = Duration::from_secs(2);

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");
const ICON: &str = include_str!("assets/icon.svg");

/// The policy routes' state, which the dashboard reads through.
type Ui = Arc<PolicyState>;

/// The dashboard's routes over `state`, behind `htpasswd` when given.
pub(crate) fn router(state: Arc<PolicyState>, htpasswd: Option<Arc<Htpasswd>>) -> Router {
    let mut router = Router::new()
        .route("/ui", get(home))
        .route("/ui/", get(home))
        .route("/ui/repo", get(repository))
        .route("/ui/lineage", get(lineage))
        .route("/ui/image", get(image_page))
        .route("/ui/status.json", get(status_json))
        .route("/ui/fleet", get(fleet_form).post(fleet_audit))
        .route("/ui/search", get(search))
        .route("/ui/assets/{name}", get(asset));
    if let Some(h) = htpasswd {
        router = router.route_layer(axum::middleware::from_fn_with_state(
            h,
            crate::auth::require,
        ));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_FLEET_BODY))
        .with_state(state)
}

/// What every page's answer carries: no inline script or style, nothing from elsewhere.
fn secured(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// An HTML page with `status`, timed.
fn page(status: StatusCode, html: String, timing: &Timing) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&timing.header()) {
        response.headers_mut().insert("server-timing", v);
    }
    secured(response)
}

/// The time spent looking up and rendering, for the `Server-Timing` header.
struct Timing {
    start: Instant,
    lookup: Option<Duration>,
}

impl Timing {
    fn start() -> Timing {
        Timing {
            start: Instant::now(),
            lookup: None,
        }
    }

    /// The lookups are done: what follows is rendering.
    fn looked_up(&mut self) {
        self.lookup = Some(self.start.elapsed());
    }

    fn header(&self) -> String {
        let lookup = self.lookup.unwrap_or_default();
        let render = self.start.elapsed().saturating_sub(lookup);
        format!(
            "lookup;dur={:.3}, render;dur={:.3}",
            lookup.as_secs_f64() * 1000.0,
            render.as_secs_f64() * 1000.0
        )
    }
}

/// An error page; `search` is what the search box shows.
fn error_page(status: StatusCode, title: &str, message: &str, search: &str) -> Response {
    page(
        status,
        pages::error(title, message, search),
        &Timing::start(),
    )
}

/// The error page for a failed lookup: 404 when the image does not exist, else 502.
fn lookup_failed(e: &LookupError, search: &str) -> Response {
    let status = match e {
        LookupError::InvalidReference { .. } => StatusCode::BAD_REQUEST,
        e if e.is_not_found() => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    };
    error_page(status, "Cannot look this up", &e.message(), search)
}

/// The error page when the server does not answer for `reference`'s registry, if it does
/// not.
fn refused(ui: &Ui, reference: &str) -> Option<Response> {
    let refusal = ui.scope.refusal(reference)?;
    Some(error_page(
        StatusCode::FORBIDDEN,
        "Not answered here",
        &refusal.to_string(),
        reference,
    ))
}

/// `REGISTRY/REPO` of `name`, or the error page saying why it is not one.
fn repository_name(name: &str) -> Result<String, Box<Response>> {
    ImageRef::parse(name.trim())
        .map(|r| r.repository_ref())
        .map_err(|e| {
            Box::new(error_page(
                StatusCode::BAD_REQUEST,
                "Not a repository",
                &e.to_string(),
                name,
            ))
        })
}

async fn home(State(ui): State<Ui>) -> Response {
    let mut timing = Timing::start();
    let repositories = match ui.scope.own() {
        Some((name, registry)) => match registry.repositories().await {
            Ok(repos) => Some(repos.into_iter().map(|r| format!("{name}/{r}")).collect()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the repositories for the dashboard");
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Repositories",
                    "cannot list the repositories",
                    "",
                );
            }
        },
        None => None,
    };
    timing.looked_up();
    page(
        StatusCode::OK,
        pages::home(&HomeView { repositories }),
        &timing,
    )
}

#[derive(serde::Deserialize)]
struct RepoQuery {
    name: String,
}

async fn repository(State(ui): State<Ui>, Query(q): Query<RepoQuery>) -> Response {
    let mut timing = Timing::start();
    let repo = match repository_name(&q.name) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    if let Some(r) = refused(&ui, &repo) {
        return r;
    }
    let tags = match ui.lookup.tags(&repo).await {
        Ok(t) => t,
        Err(e) => return lookup_failed(&e, &q.name),
    };
    timing.looked_up();
    let lineages = lineages(&tags);
    let other_tags = tags
        .iter()
        .filter(|t| !lineages.contains_key(*t) && !lineages.values().any(|r| r.contains(t)))
        .cloned()
        .collect();
    let view = RepositoryView {
        repository: repo,
        lineages,
        other_tags,
    };
    page(StatusCode::OK, pages::repository(&view), &timing)
}

#[derive(serde::Deserialize)]
struct LineageQuery {
    repo: String,
    version: String,
}

async fn lineage(State(ui): State<Ui>, Query(q): Query<LineageQuery>) -> Response {
    let mut timing = Timing::start();
    let repo = match repository_name(&q.repo) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    if let Some(r) = refused(&ui, &repo) {
        return r;
    }
    let revisions = match ui
        .lookup
        .revisions(&repo, &q.version, lineage_oci::time::now())
        .await
    {
        Ok(r) => r,
        Err(e) => return lookup_failed(&e, &q.repo),
    };
    timing.looked_up();
    let view = TimelineView {
        revisions: revisions
            .iter()
            .map(|r| RevisionView::of(&repo, r))
            .collect(),
        repository: repo,
        version: q.version,
    };
    page(StatusCode::OK, timeline::render(&view), &timing)
}

#[derive(serde::Deserialize)]
struct RefQuery {
    #[serde(rename = "ref")]
    reference: String,
}

/// Whether a registry name is a loopback host (reached over plain HTTP, DESIGN §2.2).
fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .filter(|(h, port)| !h.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()))
        .map_or(registry, |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

async fn image_page(State(ui): State<Ui>, Query(q): Query<RefQuery>) -> Response {
    let mut timing = Timing::start();
    let reference = q.reference.trim().to_string();
    if let Some(r) = refused(&ui, &reference) {
        return r;
    }
    let facts = match ui.lookup.image(&reference, lineage_oci::time::now()).await {
        Ok(f) => f,
        Err(e) => return lookup_failed(&e, &reference),
    };
    // The status's reference parsed, so the reference does.
    let parsed = ImageRef::parse(&reference).ok();
    let repository = parsed
        .as_ref()
        .map_or_else(|| reference.clone(), ImageRef::repository_ref);
    let (referrers, truncated) = referrer_tree(&ui.lookup, &repository, &facts.referrers).await;
    timing.looked_up();
    let in_effect = effective(&facts.records).map(|r| r.digest.clone());
    let mut records: Vec<RecordView> = facts
        .records
        .into_iter()
        .map(|record| RecordView {
            effective: Some(&record.digest) == in_effect.as_ref(),
            record,
            signed_by: None,
        })
        .collect();
    records.sort_by(|a, b| b.record.recency_cmp(&a.record));
    let view = ImageView {
        plain_http: parsed.as_ref().is_some_and(|p| is_loopback(p.registry())),
        reference,
        repository,
        status: facts.status,
        released: facts.created,
        records,
        referrers,
        truncated,
    };
    page(StatusCode::OK, image::render(&view), &timing)
}

/// The referrer tree below `listing` (the image's referrers), at most [`TREE_DEPTH`] deep
/// and [`TREE_NODES`] large, and whether it was cut short. A listing that cannot be read
/// is shown as no referrers.
async fn referrer_tree(
    lookup: &Lookup,
    repository: &str,
    listing: &[lineage_oci::Descriptor],
) -> (Vec<ReferrerNode>, bool) {
    let mut budget = TREE_NODES;
    let mut truncated = false;
    let nodes = level(lookup, repository, listing, 1, &mut budget, &mut truncated).await;
    (nodes, truncated)
}

fn level<'a>(
    lookup: &'a Lookup,
    repository: &'a str,
    listing: &'a [lineage_oci::Descriptor],
    depth: usize,
    budget: &'a mut usize,
    truncated: &'a mut bool,
) -> Pin<Box<dyn Future<Output = Vec<ReferrerNode>> + Send + 'a>> {
    Box::pin(async move {
        let mut nodes = Vec::new();
        for d in listing {
            if *budget == 0 {
                *truncated = true;
                break;
            }
            *budget -= 1;
            let children = if depth >= TREE_DEPTH {
                *truncated = true;
                Vec::new()
            } else {
                match lookup.referrers_of(repository, &d.digest).await {
                    Ok(l) => level(lookup, repository, &l, depth + 1, budget, truncated).await,
                    Err(e) => {
                        tracing::debug!(error = %e.message(), "cannot list the referrers of a referrer");
                        Vec::new()
                    }
                }
            };
            nodes.push(ReferrerNode {
                digest: d.digest.to_string(),
                artifact_type: d.artifact_type.clone(),
                media_type: d.media_type.to_string(),
                size: d.size,
                created: d
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(lineage_oci::artifact::ANNOTATION_CREATED).cloned()),
                children,
            });
        }
        nodes
    })
}

async fn status_json(State(ui): State<Ui>, Query(q): Query<RefQuery>) -> Response {
    let reference = q.reference.trim();
    if let Some(refusal) = ui.scope.refusal(reference) {
        return secured(
            (
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({"error": refusal.to_string()})),
            )
                .into_response(),
        );
    }
    match ui.lookup.lookup(reference, lineage_oci::time::now()).await {
        // `lineage status --output json`: an array, one object per reference.
        Ok(s) => secured(axum::Json([s]).into_response()),
        Err(e) => secured(
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!([{
                    "reference": reference,
                    "digest": null,
                    "state": lineage_lifecycle::State::Unknown,
                    "error": e.message(),
                }])),
            )
                .into_response(),
        ),
    }
}

async fn fleet_form() -> Response {
    page(
        StatusCode::OK,
        fleet::render(&FleetView::default()),
        &Timing::start(),
    )
}

#[derive(serde::Deserialize)]
struct FleetForm {
    input: String,
    #[serde(default)]
    format: Option<String>,
}

async fn fleet_audit(State(ui): State<Ui>, Form(form): Form<FleetForm>) -> Response {
    let mut timing = Timing::start();
    let mut view = FleetView {
        input: form.input,
        rows: None,
        error: None,
    };
    let images = match audit::images(&view.input) {
        Ok(i) if i.len() > MAX_IMAGES => {
            view.error = Some(format!(
                "the input names {} distinct images, more than the {MAX_IMAGES} one audit here looks up; use `lineage audit`",
                i.len()
            ));
            return page(StatusCode::BAD_REQUEST, fleet::render(&view), &timing);
        }
        Ok(i) => i,
        Err(e) => {
            view.error = Some(lineage_store::one_line(&e));
            return page(StatusCode::BAD_REQUEST, fleet::render(&view), &timing);
        }
    };
    let references: Vec<String> = images.iter().map(|i| i.reference.clone()).collect();
    let now = lineage_oci::time::now();
    // As `lineage audit` looks them up: the batch lookup, then each successor followed.
    let results = ui.lookup.lookup_many(&references, now).await;
    let followed = ui
        .lookup
        .follow_many(results, now, Some(FOLLOW_BUDGET))
        .await;
    let looked: HashMap<String, Looked> = references
        .into_iter()
        .zip(
            followed
                .into_iter()
                .map(|r| r.map_err(LookupFailed::Lookup)),
        )
        .collect();
    let rows = audit::rows(images, &looked);
    timing.looked_up();
    let download = |content_type: &'static str, name: &'static str, body: String| {
        secured(
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CONTENT_DISPOSITION, name),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response(),
        )
    };
    match form.format.as_deref() {
        Some("markdown") => download(
            "text/markdown; charset=utf-8",
            "attachment; filename=\"lineage-audit.md\"",
            audit::markdown(&rows),
        ),
        Some("json") => download(
            "application/json",
            "attachment; filename=\"lineage-audit.json\"",
            audit::json(&rows),
        ),
        _ => {
            view.rows = Some(rows);
            page(StatusCode::OK, fleet::render(&view), &timing)
        }
    }
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(State(ui): State<Ui>, Query(q): Query<SearchQuery>) -> Response {
    let mut timing = Timing::start();
    let query = q.q.trim().to_string();
    let mut view = SearchView {
        query: query.clone(),
        ..SearchView::default()
    };
    if query.is_empty() {
        view.note = Some("Type a reference, a repository or a digest.".into());
        return page(StatusCode::OK, pages::search(&view), &timing);
    }
    let own = ui.scope.own();
    let repositories = match own {
        Some((_, registry)) => registry.repositories().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let own_name = own.map(|(n, _)| n.to_string());
    // A digest alone: the images of that digest in the server's own repositories.
    if let Ok(digest) = query.parse::<Digest>() {
        match (&own_name, own) {
            (Some(name), Some((_, registry))) => {
                for r in &repositories {
                    if let Some(store) = registry.repo(r).await
                        && lineage_store::ReadStore::manifest_get(store.as_ref(), &digest)
                            .await
                            .is_ok()
                    {
                        view.images.push(format!("{name}/{r}@{digest}"));
                    }
                }
                if view.images.is_empty() {
                    view.note = Some(format!("No repository here holds {digest}."));
                }
            }
            _ => {
                view.note = Some(
                    "A digest alone is searched in lineage serve's own repositories; here, name its repository: REGISTRY/REPO@sha256:…".into(),
                );
            }
        }
        timing.looked_up();
        return page(StatusCode::OK, pages::search(&view), &timing);
    }
    // A name of one of the server's own repositories, or part of one.
    if let Some(name) = &own_name {
        let bare = query.split(['@', ':']).next().unwrap_or(&query);
        for r in &repositories {
            if r.contains(bare) || format!("{name}/{r}").contains(&query) {
                view.repositories.push(format!("{name}/{r}"));
            }
        }
        // `repo:tag` or `repo@digest` of an own repository, without its registry.
        if repositories.iter().any(|r| r == bare) && query.len() > bare.len() {
            return redirect(&super::layout::image_link(&format!("{name}/{query}")));
        }
    }
    // A reference: its image page, or its repository's page when it names no tag.
    if let Ok(image) = ImageRef::parse(&query) {
        let last = query.rsplit('/').next().unwrap_or(&query);
        let names_target = query.contains('@') || last.contains(':');
        let looks_remote = query.contains('/');
        if names_target && (looks_remote || own_name.is_none()) {
            return redirect(&super::layout::image_link(&query));
        }
        if looks_remote && view.repositories.is_empty() {
            return redirect(&super::html::href(
                "/ui/repo",
                &[("name", &image.repository_ref())],
            ));
        }
    }
    if view.repositories.is_empty() && view.images.is_empty() {
        view.note = Some(format!("Nothing here matches {query}."));
    }
    timing.looked_up();
    page(StatusCode::OK, pages::search(&view), &timing)
}

/// A 303 to `location` (already escaped for HTML: unescaped here for the header).
fn redirect(location: &str) -> Response {
    let location = location.replace("&amp;", "&");
    secured((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

async fn asset(Path(name): Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "style.css" => ("text/css; charset=utf-8", STYLE),
        "app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "icon.svg" => ("image/svg+xml", ICON),
        _ => return secured(StatusCode::NOT_FOUND.into_response()),
    };
    secured(
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        for yes in [
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in ["registry.example", "10.0.0.1:5000", "localhost.example:1"] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
