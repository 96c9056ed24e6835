//! HTTP: axum only. Each endpoint family has its own `router()`; this module merges them and
//! adds the headers every response carries.

mod account;
mod assets;
mod authorize;
mod client_form;
mod consent;
mod csrf;
mod demo;
mod discovery;
mod error;
pub mod fhir;
mod health;
mod introspect;
mod launch;
mod login;
mod logout;
pub mod metrics;
mod pages;
mod picker;
mod register;
mod revoke;
mod smart;
mod token;
mod userinfo;
mod visitor;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::trace::TraceLayer;

use crate::services::Services;

pub type AppState = Arc<Services>;

/// Session keys.
pub(crate) const SIGNED_IN: &str = "signed_in";

pub fn router(services: AppState) -> Router {
    let demo_pages = if services.config.demo {
        demo::router()
    } else {
        Router::new()
    };
    let routes = Router::new()
        .merge(demo_pages)
        .merge(discovery::router())
        .merge(smart::router(&services.config))
        .merge(fhir::router(&services.config))
        .merge(introspect::router())
        .merge(revoke::router())
        .merge(launch::router())
        .merge(register::router())
        .merge(account::router())
        .merge(authorize::router())
        .merge(login::router())
        .merge(logout::router())
        .merge(consent::router())
        .merge(picker::router())
        .merge(token::router())
        .merge(userinfo::router())
        .merge(health::router())
        .merge(assets::router())
        .merge(pages::router())
        .merge(metrics::router())
        .route_layer(middleware::from_fn_with_state(
            services.clone(),
            metrics::track,
        ));
    // One span per request: its method and matched route, never the URI (a query can carry a
    // code, a state or a login hint). It costs a few microseconds a request (a fifth of a
    // discovery request, measured with bench/run.sh), so it is added only when INFO spans are
    // recorded (the default filter; not under RUST_LOG=warn).
    let routes = if tracing::enabled!(tracing::Level::INFO) {
        routes.route_layer(TraceLayer::new_for_http().make_span_with(request_span))
    } else {
        routes
    };
    routes
        // Every body here is a small form or JSON document (RFC 7591 metadata, a JWKS).
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            services.clone(),
            security_headers,
        ))
        .with_state(services)
}

fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}

/// The largest request body any endpoint reads: 64 KiB (axum's default is 2 MB). Larger
/// bodies are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// RFC 9700 §4.16: the authorization server prevents clickjacking with CSP
/// `frame-ancestors` and `X-Frame-Options`. Pages need no script; styles come from us only.
/// `form-action` is left out on purpose: Chromium applies it to the redirect that follows the
/// consent form, which must reach the client's registered redirect URI.
async fn security_headers(
    State(services): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // RFC 6797: browsers keep to https for this host once they have seen it over https.
    if services.config.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
