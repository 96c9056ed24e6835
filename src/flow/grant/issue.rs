//! Minting the token response for a grant: a JWT access token (RFC 9068), an ID token when
//! `openid` is granted (OIDC Core §3.1.3.3), and a fresh refresh token when `offline_access`
//! is granted.

use serde::Serialize;

use crate::flow::error::OAuthError;
use crate::scope::{self, ScopeSet};
use crate::secrets;
use crate::services::Services;
use crate::store::{AccessTokenRecord, Client, Grant, IssuedTokens, RefreshToken, StoreError};
use crate::tokens::claims::{ACCESS_TOKEN_TYPE, sign};
use crate::tokens::{AccessTokenClaims, Alg, IdTokenClaims};

/// RFC 6749 §5.1 (with `id_token` from OIDC Core §3.1.3.3). `expires_in` and `scope` always.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// SMART launch context (app-launch.html, token response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(rename = "fhirContext", skip_serializing_if = "Vec::is_empty")]
    pub fhir_context: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_patient_banner: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// `context-style`: EHR launch only, like the banner (the app should look like the EHR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smart_style_url: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Mints tokens for `scope` (the grant's scope or a subset of it) and returns them with the
/// rows to record; the caller writes those rows in the transaction that spends the code or
/// refresh token. A refresh token is issued when the grant includes `offline_access` or
/// `online_access` and the client may use the refresh grant; on refresh it replaces the
/// spent one.
pub async fn mint_tokens(
    services: &Services,
    client: &Client,
    grant: &Grant,
    scope: &ScopeSet,
    nonce: Option<&str>,
) -> Result<(TokenResponse, IssuedTokens), OAuthError> {
    let config = &services.config;
    let user = services
        .store
        .user_by_id(&grant.user_id)
        .await?
        .ok_or(OAuthError::invalid_grant("the user no longer exists"))?;
    let now = services.now();
    let ring = services.keys.current();
    let security = Some(grant.security());
    let fhir_user = user
        .fhir_user
        .clone()
        .filter(|_| scope.contains(scope::FHIR_USER));

    let access_claims = AccessTokenClaims {
        iss: config.issuer.clone(),
        sub: user.id.clone(),
        aud: grant.audience.clone(),
        client_id: client.client_id.clone(),
        iat: now,
        exp: now + config.access_token_ttl,
        jti: secrets::random_id(),
        scope: scope.to_string(),
        auth_time: Some(grant.auth_time),
        fhir_user: fhir_user.clone(),
        security: security.clone(),
        patient: grant.patient.clone(),
        encounter: grant.encounter.clone(),
    };
    let access_token = sign(&ring, Alg::Rs256, ACCESS_TOKEN_TYPE, &access_claims, now)?;
    let access = AccessTokenRecord {
        jti: access_claims.jti.clone(),
        grant_id: grant.id.clone(),
        expires_at: access_claims.exp,
    };

    let id_token = if scope.contains(scope::OPENID) {
        let id_token_alg = Alg::parse(&client.id_token_signed_response_alg).unwrap_or(Alg::Rs256);
        let claims = IdTokenClaims {
            iss: config.issuer.clone(),
            sub: user.id.clone(),
            aud: client.client_id.clone(),
            exp: now + config.id_token_ttl,
            iat: now,
            auth_time: grant.auth_time,
            nonce: nonce.map(str::to_owned),
            at_hash: id_token_alg.left_half_hash(&access_token),
            azp: client.client_id.clone(),
            profile: user
                .fhir_user
                .clone()
                .filter(|_| scope.contains(scope::PROFILE)),
            fhir_user,
            security,
        };
        Some(sign(&ring, id_token_alg, "JWT", &claims, now)?)
    } else {
        None
    };

    let (refresh_token, refresh_row) =
        if scope_of_grant_allows_refresh(grant) && client.may_use_grant("refresh_token") {
            let token = secrets::random_token();
            let row = RefreshToken {
                token_hash: secrets::hash_secret(&token),
                grant_id: grant.id.clone(),
                client_id: client.client_id.clone(),
                expires_at: now + config.refresh_token_ttl,
                created_at: now,
                used_at: None,
            };
            (Some(token), Some(row))
        } else {
            (None, None)
        };

    let response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: config.access_token_ttl,
        scope: scope.to_string(),
        id_token,
        refresh_token,
        patient: grant.patient.clone(),
        encounter: grant.encounter.clone(),
        fhir_context: serde_json::from_str(&grant.fhir_context).unwrap_or_default(),
        need_patient_banner: grant.need_patient_banner,
        intent: grant.intent.clone(),
        // `need_patient_banner` is stored for EHR launches only.
        smart_style_url: grant
            .need_patient_banner
            .map(|_| config.smart_style_url.clone()),
    };
    let issued = IssuedTokens {
        access,
        refresh: refresh_row,
    };
    Ok((response, issued))
}

fn has_scope(grant: &Grant, wanted: &str) -> bool {
    grant.scope.contains(wanted)
}

/// A refresh token comes with `offline_access` or `online_access` (SMART App Launch 2.2).
fn scope_of_grant_allows_refresh(grant: &Grant) -> bool {
    has_scope(grant, scope::OFFLINE_ACCESS) || has_scope(grant, scope::ONLINE_ACCESS)
}

/// May the grant's refresh tokens be used now? A grant with `online_access` but not
/// `offline_access` refreshes only while the sign-in that approved it lasts (SMART: "usable
/// for as long as the end-user remains online"): until sign-out, at most `session_ttl`.
pub async fn refresh_allowed_now(
    services: &Services,
    grant: &Grant,
    now: i64,
) -> Result<bool, StoreError> {
    if has_scope(grant, scope::OFFLINE_ACCESS) || !has_scope(grant, scope::ONLINE_ACCESS) {
        return Ok(true);
    }
    match &grant.sign_in_id {
        Some(id) => services.store.sign_in_active(id, now).await,
        None => Ok(false),
    }
}
