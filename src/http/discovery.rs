//! OIDC Discovery 1.0 §3 and RFC 8414 metadata (built by `flow::metadata`), and the JWKS.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use crate::flow::metadata;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration),
        )
        .route("/jwks", get(jwks))
}

async fn openid_configuration(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        services
            .metadata
            .openid
            .get_or_init(|| {
                Bytes::from(metadata::openid_configuration(&services.config).to_string())
            })
            .clone(),
    )
}

/// The published keys: bare public JWKs. Kept short in caches so a rotation is seen soon;
/// retired keys stay listed until every token they signed has expired.
async fn jwks(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        services.keys.current().jwks_json(),
    )
}
