//! `<FHIR base>/*`: the FHIR gateway (`crate::gateway`), mounted at the path of the first
//! FHIR base when `fhir_upstream` is set. Answers are `application/fhir+json`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use url::Url;

use super::AppState;
use crate::config::Config;
use crate::gateway::{self, Reply};

/// The gateway's routes, when an upstream is configured and the base lives on this origin.
pub fn router(config: &Config) -> Router<AppState> {
    let Some(path) = base_path(config) else {
        return Router::new();
    };
    Router::new().route(&format!("{path}/{{*rest}}"), any(serve))
}

/// The path of the first FHIR base (`/fhir` for `<issuer>/fhir`).
fn base_path(config: &Config) -> Option<String> {
    config.fhir_upstream.as_ref()?;
    let base = Url::parse(config.fhir_base_urls.first()?).ok()?;
    let path = base.path().trim_end_matches('/').to_owned();
    (!path.is_empty()).then_some(path)
}

#[tracing::instrument(name = "fhir", skip_all, fields(method = %method))]
async fn serve(
    State(services): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let reply = gateway::serve(
        &services,
        method.as_str(),
        &rest,
        query.as_deref(),
        authorization,
    )
    .await;
    response(reply)
}

fn response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = serde_json::to_vec(&reply.body).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    let mut set = |name: header::HeaderName, value: Option<String>| {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    };
    set(header::WWW_AUTHENTICATE, reply.challenge);
    set(header::ETAG, reply.etag);
    set(header::LAST_MODIFIED, reply.last_modified);
    response
}
