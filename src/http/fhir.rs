//! `<FHIR base>/*`: the FHIR gateway (`crate::gateway`), mounted at the path of the first
//! FHIR base when `fhir_upstream` is set. Answers are `application/fhir+json`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use url::Url;

use super::AppState;
use crate::config::Config;
use crate::gateway::{self, FhirRequest, Reply};

/// The gateway's routes, when an upstream is configured and the base lives on this origin.
pub fn router(config: &Config) -> Router<AppState> {
    let Some(path) = base_path(config) else {
        return Router::new();
    };
    Router::new()
        .route(&format!("{path}/{{*rest}}"), any(serve))
        // FHIR resources may be larger than the protocol forms the rest of the server reads.
        .layer(DefaultBodyLimit::max(MAX_FHIR_BODY_BYTES))
}

/// The largest FHIR resource a write may carry.
const MAX_FHIR_BODY_BYTES: usize = 2 * 1024 * 1024;

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
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let request = FhirRequest {
        method: method.as_str(),
        path: &rest,
        query: query.as_deref(),
        authorization,
        body: &body,
    };
    let reply = gateway::serve(&services, request).await;
    response(reply)
}

fn response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = if reply.body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&reply.body).unwrap_or_default()
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}
