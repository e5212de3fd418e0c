//! The OCI distribution v1.1 API: one catch-all route under `/v2/`, a hand-written path
//! parser, one module per noun, and garbage collection of the root ([`gc`]). Storage,
//! and the referrers index the API answers from, are the layout store's
//! ([`lineage_store::LayoutStore`]). See
//! <https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md>.

mod blobs;
pub(crate) mod error;
mod gc;
mod listing;
mod manifests;
pub(crate) mod path;
mod sessions;
mod state;
mod uploads;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use self::error::OciError;
pub(crate) use self::gc::scheduled as gc_scheduled;
pub use self::gc::{GcError, RepositoryGcReport, RootGcReport, collect_root};
use self::path::{PathError, Route};
pub use self::sessions::{Clock, SystemClock};
pub use self::state::{Policy, Registry};
pub use lineage_store::layout::gc::{GcOptions, GcReport, RemovedBlob};

/// The registry routes.
pub(crate) fn router() -> Router<Arc<Registry>> {
    Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

async fn dispatch(State(reg): State<Arc<Registry>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let pairs = query_pairs(parts.uri.query());
    let query: HashMap<String, String> = pairs.iter().cloned().collect();
    let route = match path::parse(parts.uri.path()) {
        Ok(r) => r,
        Err(PathError::NotFound) => return OciError::not_found().into_response(),
        Err(PathError::InvalidName(n)) => return OciError::name_invalid(&n).into_response(),
    };
    let writes = !matches!(method, Method::GET | Method::HEAD);
    if writes && reg.policy.read_only {
        return OciError::unsupported("the registry is read-only").into_response();
    }
    let result = handle(&reg, route, &method, &parts.headers, &query, &pairs, body).await;
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    reg: &Registry,
    route: Route,
    method: &Method,
    headers: &axum::http::HeaderMap,
    query: &HashMap<String, String>,
    pairs: &[(String, String)],
    body: Body,
) -> Result<Response, OciError> {
    let not_allowed = || {
        Err(OciError::unsupported(format!(
            "{method} is not allowed here"
        )))
    };
    match (route, method.clone()) {
        (Route::Base, Method::GET | Method::HEAD) => {
            let mut resp = (StatusCode::OK, "{}").into_response();
            uploads::insert(
                resp.headers_mut(),
                header::CONTENT_TYPE.as_str(),
                "application/json",
            );
            uploads::insert(
                resp.headers_mut(),
                "docker-distribution-api-version",
                "registry/2.0",
            );
            Ok(resp)
        }
        (Route::Catalog, Method::GET) => listing::catalog(reg, query).await,
        (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
            manifests::get(reg, &name, &reference, method).await
        }
        (Route::Manifest { name, reference }, Method::PUT) => {
            let tags: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k == "tag")
                .map(|(_, v)| v.clone())
                .collect();
            manifests::put(reg, &name, &reference, &tags, headers, body).await
        }
        (Route::Manifest { name, reference }, Method::DELETE) => {
            manifests::delete(reg, &name, &reference).await
        }
        (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
            blobs::get(reg, &name, &digest, method, headers).await
        }
        (Route::Blob { name, digest }, Method::DELETE) => blobs::delete(reg, &name, &digest).await,
        (Route::UploadStart { name }, Method::POST) => {
            uploads::start(reg, &name, query, body).await
        }
        (Route::Upload { name, id }, Method::PATCH) => {
            uploads::patch(reg, &name, &id, headers, body).await
        }
        (Route::Upload { name, id }, Method::PUT) => {
            uploads::put(reg, &name, &id, query, headers, body).await
        }
        (Route::Upload { name, id }, Method::GET) => uploads::status(reg, &name, &id).await,
        (Route::Upload { name, id }, Method::DELETE) => uploads::cancel(reg, &name, &id).await,
        (Route::Tags { name }, Method::GET) => listing::tags(reg, &name, query).await,
        (Route::Untagged { name }, Method::GET) => listing::untagged(reg, &name, query).await,
        (Route::Referrers { name, digest }, Method::GET) => {
            listing::referrers(reg, &name, &digest, pairs).await
        }
        _ => not_allowed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let p = query_pairs(Some("digest=sha256%3Aab&tag=a&tag=b&x=a+b&bad=%zz&end=%4"));
        assert_eq!(p[0], ("digest".into(), "sha256:ab".into()));
        assert_eq!(p[2], ("tag".into(), "b".into()));
        assert_eq!(p[3], ("x".into(), "a b".into()));
        assert_eq!(p[4], ("bad".into(), "%zz".into()));
        assert_eq!(p[5], ("end".into(), "%4".into()));
    }
}
