//! The access log: one structured event per request (method, path, status, duration,
//! client), under the target `lineage_server::access`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware that logs each request when its response is ready.
pub async fn log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let started = Instant::now();
    let response = next.run(request).await;
    let length = response
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    tracing::info!(
        target: "lineage_server::access",
        %method,
        %path,
        status = response.status().as_u16(),
        length = %length,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        %client,
        "request"
    );
    response
}
