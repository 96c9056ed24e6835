//! `/metrics` in the Prometheus text format, and the middleware that counts requests under
//! their route pattern (never the raw path, so ids and tokens never become labels).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The metrics, to anyone when no `metrics_token` is set, else only with that bearer token.
async fn metrics(State(services): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &services.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| crate::secrets::constant_time_eq(g.trim(), expected)) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            )
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        services.metrics.render(),
    )
        .into_response()
}

/// Middleware: counts every request under its route pattern (unmatched ones as "other").
pub async fn track(State(services): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(request).await;
    services.metrics.record(
        route.as_ref().map_or("other", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
