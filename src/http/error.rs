//! Errors as responses, in each protocol's own format, mapped to HTTP in this one place: JSON
//! per RFC 6749 §5.2 (token, introspection, revocation, launch), RFC 7591 §3.2.2
//! (registration) and RFC 6750 §3 (bearer-protected endpoints), and an HTML page for the
//! browser ([`PageError`]).

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::flow::{ErrorCode, OAuthError};
use crate::store::StoreError;

/// The one mapping from a protocol error code to its HTTP status.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        // RFC 6749 §5.2 (client authentication failed), RFC 6750 §3.1.
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope | ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The `WWW-Authenticate` challenge that goes with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    None,
    /// RFC 6749 §5.2: `invalid_client` after HTTP Basic is 401 with a Basic challenge.
    Basic,
    /// RFC 6750 §3: a bearer-protected endpoint names the error in its challenge.
    Bearer,
}

impl Challenge {
    /// Basic when the request tried the `Authorization` header (the only scheme a client
    /// authenticates with there), none otherwise.
    pub fn basic_if_tried(headers: &HeaderMap) -> Challenge {
        if headers.contains_key(header::AUTHORIZATION) {
            Challenge::Basic
        } else {
            Challenge::None
        }
    }
}

/// A JSON error body with its status and challenge. Never cached (RFC 6749 §5.1).
pub fn json_error(e: &OAuthError, challenge: Challenge) -> Response {
    let body = json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut response = (status_of(e.code), Json(body)).into_response();
    let challenge = match challenge {
        Challenge::Basic if e.code == ErrorCode::InvalidClient => {
            Some("Basic realm=\"clearance\", charset=\"UTF-8\"".to_owned())
        }
        Challenge::Bearer => Some(format!(
            "Bearer realm=\"clearance\", error=\"{}\", error_description=\"{}\"",
            e.code,
            e.description.replace(['"', '\\'], "'")
        )),
        _ => None,
    };
    let headers = response.headers_mut();
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(headers);
    response
}

/// RFC 6750 §3.1: a request to a bearer-protected endpoint without any token gets the bare
/// challenge and no error code.
pub fn bearer_required() -> Response {
    let body =
        json!({ "error": "invalid_request", "error_description": "a bearer token is required" });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"clearance\""),
    );
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1, RFC 7591 §3.2.1).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Why a page cannot be shown. Page handlers return it with `?`; a storage failure is logged
/// once, where it becomes this error, and the person sees a page, never a redirect.
#[derive(Debug)]
pub enum PageError {
    /// The database or the session store failed (already logged).
    Unavailable,
    /// The pending authorization request is unknown, expired or finished.
    Expired,
    /// A form's CSRF token is missing or wrong.
    FormExpired,
    BadRequest(String),
    NotFound(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => tracing::warn!(error = %e, "database unavailable"),
            other => tracing::error!(error = ?other, "storage failure"),
        }
        PageError::Unavailable
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store failure");
        PageError::Unavailable
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Unavailable => error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable. Please try again in a moment.",
            ),
            PageError::Expired => error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired or was already completed. Please go back to the app and start again.",
            ),
            PageError::FormExpired => error_page(
                StatusCode::FORBIDDEN,
                "The form expired. Please go back and try again.",
            ),
            PageError::BadRequest(message) => error_page(StatusCode::BAD_REQUEST, &message),
            PageError::NotFound(message) => error_page(StatusCode::NOT_FOUND, &message),
        }
    }
}

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub message: String,
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
