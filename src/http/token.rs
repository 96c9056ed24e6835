//! The token endpoint (RFC 6749 §3.2). Every response, errors included, carries
//! `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1, SMART).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use url::Url;

use super::AppState;
use super::error::{Challenge, json_error, no_store};
use crate::flow::OAuthError;
use crate::flow::audit::{self, Event, Kind};
use crate::flow::clients;
use crate::flow::grant::{self, TokenRequest};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::services::Services;
use crate::store::Client;

pub fn router() -> Router<AppState> {
    Router::new().route("/token", post(token).options(preflight))
}

/// The origins (scheme://host:port) of a client's redirect URIs.
fn origins_of(client: &Client) -> Vec<String> {
    client
        .redirect_uris()
        .iter()
        .filter_map(|u| Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .collect()
}

/// SMART (Inferno "CORS on the token endpoint"): a public browser app may read the token
/// response, errors included, from the origins of its registered redirect URIs. The client
/// is the one the request turned out to be from (a refresh may name none: its token does),
/// or else the one its `client_id` names. Confidential clients get no CORS: their secrets do
/// not belong in a browser.
async fn cors_origin(
    services: &Services,
    origin: &str,
    resolved: Option<Client>,
    form: &Params,
) -> Option<HeaderValue> {
    let client = match resolved {
        Some(client) => client,
        None => clients::find(services, form.get("client_id")?)
            .await
            .ok()
            .flatten()?,
    };
    (client.is_public() && origins_of(&client).iter().any(|o| o == origin))
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

/// CORS preflight. The answer to the POST itself decides whether the browser may read it.
async fn preflight(headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, authorization"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

// Span fields: only what is safe in a log (the grant type when it is one we know, the
// client once authenticated), never a code, a token or a secret.
#[tracing::instrument(name = "token", skip_all, fields(grant_type, client_id))]
async fn token(State(services): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let form = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    let challenge = Challenge::basic_if_tried(&headers);
    let (mut response, client) = if !is_form {
        let refused = json_error(
            &OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"),
            challenge,
        );
        (refused, None)
    } else {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let request = TokenRequest {
            form: &form,
            authorization,
        };
        let exchange = grant::exchange(&services, &request).await;
        let span = tracing::Span::current();
        if let Some(grant_type) = form
            .get("grant_type")
            .filter(|g| grant::GRANT_TYPES.contains(g))
        {
            span.record("grant_type", grant_type);
        }
        if let Some(client) = &exchange.client {
            span.record("client_id", client.client_id.as_str());
        }
        let response = match exchange.result {
            Ok(tokens) => Json(tokens).into_response(),
            Err(e) => {
                audit::record(
                    &services,
                    Event::new(Kind::TokenRefused).detail(e.code.as_str()),
                )
                .await;
                json_error(&e, challenge)
            }
        };
        (response, exchange.client)
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match origin {
        Some(origin) if is_form => cors_origin(&services, origin, client, &form).await,
        _ => None,
    };
    let h = response.headers_mut();
    no_store(h);
    if let Some(allowed) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
