//! The one client-authentication step of the form endpoints that need an authenticated
//! client (introspection, revocation, the EHR's `/launch`): the bounded form, its
//! credentials (`flow::client_auth::credentials`, the chain the token endpoint uses too) and
//! the client. A failure is answered in RFC 6749 §5.2's JSON, with the Basic challenge when
//! the request tried the `Authorization` header.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{Challenge, json_error};
use crate::flow::OAuthError;
use crate::flow::client_auth::{self, Accepted};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::store::Client;

/// A form posted by an authenticated client (header or form credentials).
pub struct ClientForm {
    pub client: Client,
    pub form: Params,
    /// The challenge to send with a later `invalid_client` answer.
    pub challenge: Challenge,
}

/// A form posted by an EHR, authenticated with HTTP Basic only: the form's `client_id`
/// names the app, not the EHR.
pub struct EhrForm(pub ClientForm);

async fn authenticate(
    request: Request,
    state: &AppState,
    accepted: Accepted,
) -> Result<ClientForm, Response> {
    let (parts, body) = request.into_parts();
    let challenge = match accepted {
        Accepted::BasicOnly => Challenge::Basic,
        Accepted::HeaderOrForm => Challenge::basic_if_tried(&parts.headers),
    };
    let refuse = |e: OAuthError| json_error(&e, challenge);
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let form = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials = client_auth::credentials(&form, authorization, accepted).map_err(refuse)?;
    let client = client_auth::authenticate(state, &credentials)
        .await
        .map_err(refuse)?;
    Ok(ClientForm {
        client,
        form,
        challenge,
    })
}

impl FromRequest<AppState> for ClientForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(request, state, Accepted::HeaderOrForm).await
    }
}

impl FromRequest<AppState> for EhrForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(request, state, Accepted::BasicOnly)
            .await
            .map(EhrForm)
    }
}
