//! `POST /register` (RFC 7591) and `GET|PUT|DELETE /register/{client_id}` (RFC 7592).
//! Errors are RFC 7591 §3.2.2 JSON; a missing or wrong token is answered with a Bearer
//! challenge (RFC 6750 §3).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::AppState;
use super::error::{Challenge, json_error, no_store};
use crate::flow::registration;
use crate::flow::{ErrorCode, OAuthError};

pub fn router() -> Router<AppState> {
    Router::new().route("/register", post(register)).route(
        "/register/{client_id}",
        axum::routing::get(read).put(update).delete(delete),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The answer, never cached (RFC 7591 §3.2.1), or the error in RFC 7591's JSON.
fn respond(result: Result<(StatusCode, Option<Value>), OAuthError>) -> Response {
    match result {
        Ok((status, body)) => {
            let mut response = match body {
                Some(body) => (status, Json(body)).into_response(),
                None => status.into_response(),
            };
            no_store(response.headers_mut());
            response
        }
        Err(e) if e.code == ErrorCode::InvalidToken => json_error(&e, Challenge::Bearer),
        Err(e) => json_error(&e, Challenge::None),
    }
}

fn json_body(body: &[u8]) -> Result<Value, OAuthError> {
    serde_json::from_slice(body)
        .map_err(|_| OAuthError::invalid_client_metadata("the body must be JSON"))
}

#[tracing::instrument(name = "register", skip_all)]
async fn register(State(services): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        registration::admit(&services, bearer(&headers)).await?;
        let registered = registration::register(&services, &json_body(&body)?).await?;
        Ok((StatusCode::CREATED, Some(registered)))
    };
    respond(result.await)
}

async fn read(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let result = registration::read(&services, &client_id, bearer(&headers)).await;
    respond(result.map(|view| (StatusCode::OK, Some(view))))
}

async fn update(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let metadata = json_body(&body)?;
        registration::update(&services, &client_id, bearer(&headers), &metadata).await
    };
    respond(result.await.map(|view| (StatusCode::OK, Some(view))))
}

async fn delete(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let result = registration::delete(&services, &client_id, bearer(&headers)).await;
    respond(result.map(|()| (StatusCode::NO_CONTENT, None)))
}
