//! The token endpoint's grants, one file each behind one `match` (RFC 6749 §4.1.3, §6).

mod authorization_code;
mod client_credentials;
mod issue;
mod refresh_token;

pub use issue::{TokenResponse, refresh_allowed_now};

use crate::flow::client_auth::{self, Accepted, Credentials};
use crate::flow::error::{ErrorCode, OAuthError};
use crate::flow::params::Params;
use crate::services::Services;
use crate::store::Client;

/// The grant types the token endpoint supports (discovery lists the same).
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// A token request as the HTTP layer hands it over: the form and the `Authorization` header.
pub struct TokenRequest<'a> {
    pub form: &'a Params,
    pub authorization: Option<&'a str>,
}

impl TokenRequest<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }
}

/// The outcome of a token request, and the client it turned out to be from (when known), so
/// that the HTTP layer can answer a public browser client's CORS request, errors included.
pub struct Exchange {
    pub result: Result<TokenResponse, OAuthError>,
    pub client: Option<Client>,
}

pub async fn exchange(services: &Services, request: &TokenRequest<'_>) -> Exchange {
    let credentials =
        match client_auth::credentials(request.form, request.authorization, Accepted::HeaderOrForm)
        {
            Ok(credentials) => credentials,
            Err(e) => return refused(e),
        };
    let mut client = None;
    let result = async {
        let grant_type = request
            .param("grant_type")
            .ok_or(OAuthError::invalid_request("grant_type is required"))?;
        let authenticated = match (&credentials, grant_type) {
            // SMART 2.2: a public app need not authenticate on refresh (client-js sends no
            // client_id then); the refresh token names its client.
            (Credentials::Missing, "refresh_token") => {
                refresh_token::public_client_of(services, request).await?
            }
            _ => client_auth::authenticate(services, &credentials).await?,
        };
        let client = client.insert(authenticated);
        if !GRANT_TYPES.contains(&grant_type) {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "supported grant types: authorization_code, refresh_token, client_credentials",
            ));
        }
        if !client.may_use_grant(grant_type) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client is not registered for this grant type",
            ));
        }
        match grant_type {
            "authorization_code" => authorization_code::exchange(services, client, request).await,
            "refresh_token" => refresh_token::exchange(services, client, request).await,
            _ => client_credentials::exchange(services, client, request).await,
        }
    }
    .await;
    Exchange { result, client }
}

fn refused(error: OAuthError) -> Exchange {
    Exchange {
        result: Err(error),
        client: None,
    }
}
