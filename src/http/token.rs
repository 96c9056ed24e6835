//! The token endpoint (RFC 6749 §3.2). Every response, errors included, carries
//! `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1, SMART).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::AppState;
use super::authorize::parse_pairs;
use super::error::oauth_error_response;
use crate::flow::OAuthError;
use crate::flow::grant::{self, TokenRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/token", post(token))
}

#[tracing::instrument(name = "token", skip_all)]
async fn token(State(services): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let mut response = if !is_form {
        oauth_error_response(&OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    } else {
        let form = parse_pairs(&body);
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let request = TokenRequest {
            form: &form,
            authorization,
        };
        match grant::exchange(&services, &request).await {
            Ok(tokens) => Json(tokens).into_response(),
            Err(e) => {
                tracing::info!(target: "audit", event = "token_request_refused", error = e.code.as_str());
                oauth_error_response(&e)
            }
        }
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
