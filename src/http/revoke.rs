//! `POST /revoke` (RFC 7009): a client revokes one of its own tokens.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::client_form::ClientForm;
use super::error::{json_error, no_store};
use crate::flow::{OAuthError, introspect};

pub fn router() -> Router<AppState> {
    Router::new().route("/revoke", post(revoke_token))
}

#[tracing::instrument(name = "revoke", skip_all, fields(client_id = %request.client.client_id))]
async fn revoke_token(State(services): State<AppState>, request: ClientForm) -> Response {
    let ClientForm {
        client,
        form,
        challenge,
    } = request;
    let Some(token) = form.get("token") else {
        return json_error(&OAuthError::invalid_request("token is required"), challenge);
    };
    // RFC 7009 §2.2: 200 whether or not the token was known.
    match introspect::revoke(&services, &client, token).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => json_error(&OAuthError::from(e), challenge),
    }
}
