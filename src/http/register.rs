//! `POST /register` (RFC 7591) and `GET|PUT|DELETE /register/{client_id}` (RFC 7592).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::config::RegistrationPolicy;
use crate::flow::registration::{self, RegistrationError};
use crate::secrets;

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

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn error(e: RegistrationError) -> Response {
    let (status, code, description) = match e {
        RegistrationError::InvalidRedirectUri(d) => {
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri", d)
        }
        RegistrationError::InvalidClientMetadata(d) => {
            (StatusCode::BAD_REQUEST, "invalid_client_metadata", d)
        }
        RegistrationError::InvalidToken => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "invalid_token", "error_description": "a valid access token is required"})),
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return no_store(r);
        }
        RegistrationError::NotFound => (
            StatusCode::NOT_FOUND,
            "invalid_client_metadata",
            "no such client".to_owned(),
        ),
        RegistrationError::Store(e) => {
            let oauth = crate::flow::OAuthError::from(e);
            return no_store(super::error::oauth_error_response(&oauth));
        }
    };
    no_store(
        (
            status,
            Json(json!({"error": code, "error_description": description})),
        )
            .into_response(),
    )
}

fn json_body(body: &[u8]) -> Result<Value, RegistrationError> {
    serde_json::from_slice(body)
        .map_err(|_| RegistrationError::InvalidClientMetadata("the body must be JSON".into()))
}

#[tracing::instrument(name = "register", skip_all)]
async fn register(State(services): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match services.config.registration {
        RegistrationPolicy::Closed => {
            return no_store((StatusCode::FORBIDDEN, Json(json!({"error": "access_denied", "error_description": "dynamic registration is closed; ask the operator"}))).into_response());
        }
        RegistrationPolicy::InitialAccessToken => {
            let Some(token) = bearer(&headers) else {
                return error(RegistrationError::InvalidToken);
            };
            match services
                .store
                .spend_initial_access_token(&secrets::hash_secret(token), services.now())
                .await
            {
                Ok(true) => {}
                Ok(false) => return error(RegistrationError::InvalidToken),
                Err(e) => return error(RegistrationError::Store(e)),
            }
        }
        RegistrationPolicy::Open => {}
    }
    let result = match json_body(&body) {
        Ok(metadata) => registration::register(&services, &metadata).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(registered) => no_store((StatusCode::CREATED, Json(registered)).into_response()),
        Err(e) => error(e),
    }
}

async fn read(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    match registration::read(&services, &client_id, bearer(&headers)).await {
        Ok(view) => no_store(Json(view).into_response()),
        Err(e) => error(e),
    }
}

async fn update(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let result = match json_body(&body) {
        Ok(metadata) => {
            registration::update(&services, &client_id, bearer(&headers), &metadata).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => no_store(Json(view).into_response()),
        Err(e) => error(e),
    }
}

async fn delete(
    State(services): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    match registration::delete(&services, &client_id, bearer(&headers)).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => error(e),
    }
}
