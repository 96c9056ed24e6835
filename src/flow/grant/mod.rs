//! The token endpoint's grants, one file each behind one `match` (RFC 6749 §4.1.3, §6).

mod authorization_code;
mod client_credentials;
mod issue;
mod refresh_token;

pub use issue::{TokenResponse, refresh_allowed_now};

use crate::flow::client_auth::{self, Credentials};
use crate::flow::error::{ErrorCode, OAuthError};
use crate::services::Services;

/// A token request as the HTTP layer hands it over: the form, de-duplicated, and the
/// `Authorization` header.
pub struct TokenRequest<'a> {
    pub form: &'a [(String, String)],
    pub authorization: Option<&'a str>,
}

impl TokenRequest<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

pub async fn exchange(
    services: &Services,
    request: &TokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    // RFC 6749 §3.2: parameters must not be repeated.
    for (i, (name, _)) in request.form.iter().enumerate() {
        if request.form[..i].iter().any(|(k, _)| k == name) {
            return Err(OAuthError::invalid_request("a parameter is repeated"));
        }
    }
    let credentials: Credentials = client_auth::extract_all(
        request.authorization,
        request.param("client_id"),
        request.param("client_secret"),
        request.param("client_assertion_type"),
        request.param("client_assertion"),
    )?;
    let used_basic = credentials.used_basic();
    let result = async {
        let grant_type = request
            .param("grant_type")
            .ok_or(OAuthError::invalid_request("grant_type is required"))?;
        let client = client_auth::authenticate(services, &credentials).await?;
        let supported = ["authorization_code", "refresh_token", "client_credentials"];
        if !supported.contains(&grant_type) {
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
            "authorization_code" => authorization_code::exchange(services, &client, request).await,
            "refresh_token" => refresh_token::exchange(services, &client, request).await,
            _ => client_credentials::exchange(services, &client, request).await,
        }
    }
    .await;
    result.map_err(|e| OAuthError {
        used_basic_auth: used_basic,
        ..e
    })
}
