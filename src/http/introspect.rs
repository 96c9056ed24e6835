//! `POST /introspect` (RFC 7662, SMART profile) and `POST /revoke` (RFC 7009). Both take a
//! form with `token` and client authentication; introspection needs a confidential client
//! (a resource server registers as one).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::AppState;
use super::error::oauth_error_response;
use crate::flow::client_auth;
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::flow::{OAuthError, introspect};
use crate::services::Services;
use crate::store::Client;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/introspect", post(introspect_token))
        .route("/revoke", post(revoke_token))
}

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Parses the form and authenticates the client; returns the form's `token`.
async fn authenticated(
    services: &Services,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Client, Option<String>), OAuthError> {
    let form = Params::parse(body, MAX_PROTOCOL_PARAMETERS);
    if form.too_many() || form.repeated().is_some() {
        return Err(OAuthError::invalid_request(
            "too many or repeated parameters",
        ));
    }
    let field = |name: &str| form.get(name);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials = client_auth::extract_all(
        authorization,
        field("client_id"),
        field("client_secret"),
        field("client_assertion_type"),
        field("client_assertion"),
    )?;
    let used_basic = credentials.used_basic();
    let client = client_auth::authenticate(services, &credentials)
        .await
        .map_err(|e| OAuthError {
            used_basic_auth: used_basic,
            ..e
        })?;
    Ok((client, field("token").map(str::to_owned)))
}

#[tracing::instrument(name = "introspect", skip_all)]
async fn introspect_token(
    State(services): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, token) = match authenticated(&services, &headers, &body).await {
        Ok(found) => found,
        Err(e) => return no_store(oauth_error_response(&e)),
    };
    if client.is_public() {
        let e = OAuthError::invalid_client("introspection needs a confidential client");
        return no_store(oauth_error_response(&e));
    }
    let Some(token) = token else {
        return no_store(oauth_error_response(&OAuthError::invalid_request(
            "token is required",
        )));
    };
    match introspect::introspect(&services, &client, &token).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => no_store(oauth_error_response(&OAuthError::from(e))),
    }
}

#[tracing::instrument(name = "revoke", skip_all)]
async fn revoke_token(
    State(services): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, token) = match authenticated(&services, &headers, &body).await {
        Ok(found) => found,
        Err(e) => return no_store(oauth_error_response(&e)),
    };
    let Some(token) = token else {
        return no_store(oauth_error_response(&OAuthError::invalid_request(
            "token is required",
        )));
    };
    match introspect::revoke(&services, &client, &token).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => no_store(oauth_error_response(&OAuthError::from(e))),
    }
}
