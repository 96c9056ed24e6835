//! OIDC Core §5.3 UserInfo, GET and POST. The bearer token comes in the `Authorization`
//! header, or in a form body for POST (RFC 6750 §2.2), never both.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::{Challenge, bearer_required, json_error};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::flow::{OAuthError, userinfo};

pub fn router() -> Router<AppState> {
    Router::new().route("/userinfo", get(userinfo_get).post(userinfo_post))
}

fn bearer_from_header(headers: &HeaderMap) -> Option<Result<String, OAuthError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(OAuthError::invalid_request(
            "the Authorization header is not a Bearer token",
        ));
    Some(parsed)
}

fn bearer_error_response(e: Option<&OAuthError>) -> Response {
    match e {
        None => bearer_required(),
        Some(e) => json_error(e, Challenge::Bearer),
    }
}

async fn userinfo_get(State(services): State<AppState>, headers: HeaderMap) -> Response {
    match bearer_from_header(&headers) {
        None => bearer_error_response(None),
        Some(Err(e)) => bearer_error_response(Some(&e)),
        Some(Ok(token)) => answer(&services, &token).await,
    }
}

async fn userinfo_post(
    State(services): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    let in_body = form.get("access_token").map(str::to_owned);
    match (bearer_from_header(&headers), in_body) {
        (Some(_), Some(_)) => bearer_error_response(Some(&OAuthError::invalid_request(
            "send the token in one place only",
        ))),
        (Some(Err(e)), None) => bearer_error_response(Some(&e)),
        (Some(Ok(token)), None) | (None, Some(token)) => answer(&services, &token).await,
        (None, None) => bearer_error_response(None),
    }
}

async fn answer(services: &AppState, token: &str) -> Response {
    match userinfo::userinfo(services, token).await {
        Ok(claims) => Json(claims).into_response(),
        Err(e) => bearer_error_response(Some(&e)),
    }
}
