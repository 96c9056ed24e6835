//! Error responses in each protocol's own format: JSON per RFC 6749 §5.2 for the token
//! endpoint, RFC 6750 §3 for bearer-protected endpoints, and an HTML page for the browser.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pages::ErrorPage;
use crate::flow::{ErrorCode, OAuthError};

/// The token endpoint's error body. Its caller adds `Cache-Control: no-store`.
pub fn oauth_error_response(e: &OAuthError) -> Response {
    let status = match e.code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut response = (status, Json(body)).into_response();
    if e.code == ErrorCode::InvalidClient && e.used_basic_auth {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"clearance\", charset=\"UTF-8\""),
        );
    }
    response
}

/// RFC 6750 §3: a bearer-protected endpoint's error, with the `WWW-Authenticate` challenge.
/// A request without any token gets the bare challenge and no error code (§3.1).
pub fn bearer_error_response(e: Option<&OAuthError>) -> Response {
    let (status, challenge, body) = match e {
        None => (
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"clearance\"".to_owned(),
            json!({ "error": "invalid_request", "error_description": "a bearer token is required" }),
        ),
        Some(e) => {
            let status = match e.code {
                ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
                ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            (
                status,
                format!(
                    "Bearer realm=\"clearance\", error=\"{}\", error_description=\"{}\"",
                    e.code.as_str(),
                    e.description
                ),
                json!({ "error": e.code.as_str(), "error_description": e.description }),
            )
        }
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// An error shown to the person in the browser. Never a redirect.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        ErrorPage {
            message: message.to_owned(),
        },
    )
        .into_response()
}

pub fn unavailable_page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable. Please try again in a moment.",
    )
}
