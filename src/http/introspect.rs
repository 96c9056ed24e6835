//! `POST /introspect` (RFC 7662, SMART profile): a confidential client (a resource server
//! registers as one) asks what a token grants.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::AppState;
use super::client_form::ClientForm;
use super::error::{json_error, no_store};
use crate::flow::{OAuthError, introspect};

pub fn router() -> Router<AppState> {
    Router::new().route("/introspect", post(introspect_token))
}

#[tracing::instrument(name = "introspect", skip_all, fields(client_id = %request.client.client_id))]
async fn introspect_token(State(services): State<AppState>, request: ClientForm) -> Response {
    let ClientForm {
        client,
        form,
        challenge,
    } = request;
    if client.is_public() {
        let e = OAuthError::invalid_client("introspection needs a confidential client");
        return json_error(&e, challenge);
    }
    let Some(token) = form.get("token") else {
        return json_error(&OAuthError::invalid_request("token is required"), challenge);
    };
    match introspect::introspect(&services, &client, token).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => json_error(&OAuthError::from(e), challenge),
    }
}
