//! `<FHIR base>/*`: the FHIR gateway (`crate::gateway`). Beside the authorization server it is
//! mounted at the path of the first FHIR base when `fhir_upstream` is set ([`router`]);
//! `clearance gateway` serves it alone ([`standalone_router`]). Answers are
//! `application/fhir+json`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use url::Url;

use super::AppState;
use crate::config::Config;
use crate::gateway::access::InProcess;
use crate::gateway::remote::Remote;
use crate::gateway::{self, FhirRequest, Gateway, Reply, Verifier};

/// The largest FHIR resource a write may carry.
const MAX_FHIR_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The gateways' routes beside the authorization server: one per FHIR base with an upstream
/// (`services.gateways`, in the same order).
pub fn router(config: &Config) -> Router<AppState> {
    let gateways = config.gateways();
    if gateways.is_empty() {
        return Router::new();
    }
    let mut router = Router::new();
    for (index, (base, _)) in gateways.into_iter().enumerate() {
        let Some(path) = base_path(base) else {
            continue;
        };
        let handler = move |state: State<AppState>,
                            method: Method,
                            headers: HeaderMap,
                            rest: Path<String>,
                            query: RawQuery,
                            body: Bytes| {
            beside(state, index, method, headers, rest, query, body)
        };
        router = router.route(&format!("{path}/{{*rest}}"), any(handler));
    }
    // FHIR resources may be larger than the protocol forms the rest of the server reads.
    router.layer(DefaultBodyLimit::max(MAX_FHIR_BODY_BYTES))
}

/// The path of a FHIR base (`/fhir` for `https://as.example/fhir`), or None for a base at
/// the root of its origin.
pub fn base_path(base: &str) -> Option<String> {
    let path = Url::parse(base)
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_owned();
    (!path.is_empty()).then_some(path)
}

/// A parsed request, as both mountings hand it over.
struct Incoming {
    method: Method,
    headers: HeaderMap,
    rest: String,
    query: Option<String>,
    body: Bytes,
}

async fn answer(gateway: &Gateway, verifier: &dyn Verifier, incoming: Incoming) -> Response {
    let authorization = incoming
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let request = FhirRequest {
        method: incoming.method.as_str(),
        path: &incoming.rest,
        query: incoming.query.as_deref(),
        authorization,
        body: &incoming.body,
    };
    response(gateway::serve(gateway, verifier, request).await)
}

#[tracing::instrument(name = "fhir", skip_all, fields(method = %method))]
async fn beside(
    State(services): State<AppState>,
    index: usize,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(fhir) = services.gateways.get(index) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let incoming = Incoming {
        method,
        headers,
        rest,
        query,
        body,
    };
    answer(fhir, &InProcess(&services), incoming).await
}

/// What the standalone gateway process holds.
pub struct Standalone {
    pub gateway: Gateway,
    pub verifier: Remote,
}

/// `clearance gateway`: only the FHIR base (and `/healthz`), tokens checked with the issuer's
/// JWKS and introspection.
pub fn standalone_router(standalone: Arc<Standalone>) -> Router {
    let path = base_path(&standalone.gateway.public).unwrap_or_default();
    Router::new()
        .route(&format!("{path}/{{*rest}}"), any(alone))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_FHIR_BODY_BYTES))
        .with_state(standalone)
}

#[tracing::instrument(name = "fhir", skip_all, fields(method = %method))]
async fn alone(
    State(standalone): State<Arc<Standalone>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let incoming = Incoming {
        method,
        headers,
        rest,
        query,
        body,
    };
    let mut response = answer(&standalone.gateway, &standalone.verifier, incoming).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
