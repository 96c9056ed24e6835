//! SMART Backend Services: `client_credentials` (RFC 6749 §4.4) for confidential clients,
//! with `system/` scopes within what the operator pre-authorized. No refresh token; access
//! tokens live at most five minutes.

use super::TokenRequest;
use super::issue::TokenResponse;
use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::{ErrorCode, OAuthError};
use crate::labels::vocab::Confidentiality;
use crate::labels::{SecurityClaim, Sensitivity};
use crate::scope::smart::Context;
use crate::scope::{ScopeSet, SmartScope};
use crate::secrets;
use crate::services::Services;
use crate::store::Client;
use crate::tokens::claims::{ACCESS_TOKEN_TYPE, sign};
use crate::tokens::{AccessTokenClaims, Alg};

/// SMART Backend Services: an access token lives at most five minutes.
pub const MAX_TTL: i64 = 300;

/// Purpose of use of a backend service's tokens: healthcare operations (v3-ActReason).
pub const BACKEND_PURPOSE: &str = "HOPERAT";

/// A backend token's label claim is the client's ceiling; a client without one gets normal
/// records only (deny by default: no patient chose anything here).
fn backend_security(client: &Client) -> SecurityClaim {
    let ceiling = client.ceiling();
    let confidentiality = client
        .max_confidentiality
        .as_ref()
        .map(|_| ceiling.confidentiality)
        .unwrap_or(Confidentiality::N);
    let sensitivity = match (&client.allowed_sensitivity, ceiling.sensitivity) {
        (Some(_), Sensitivity::Codes(codes)) => codes.into_iter().collect(),
        _ => Vec::new(),
    };
    SecurityClaim {
        confidentiality,
        sensitivity,
        purpose_of_use: BACKEND_PURPOSE.to_owned(),
    }
}

pub async fn exchange(
    services: &Services,
    client: &Client,
    request: &TokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    let invalid_scope = |description| OAuthError::new(ErrorCode::InvalidScope, description);
    let asked = ScopeSet::parse(request.param("scope").unwrap_or_default())
        .map_err(|_| invalid_scope("scope is malformed"))?;
    if asked.is_empty() {
        return Err(invalid_scope(
            "scope is required: the system/ scopes wanted",
        ));
    }
    let allowed: Vec<SmartScope> = client
        .system_scopes
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter_map(SmartScope::parse)
        .collect();
    for scope in asked.iter() {
        let parsed = SmartScope::parse(scope)
            .ok_or_else(|| invalid_scope("only system/ scopes are granted to backend services"))?;
        if parsed.context != Context::System {
            return Err(invalid_scope(
                "only system/ scopes are granted to backend services",
            ));
        }
        if !allowed.iter().any(|a| a.contains(&parsed)) {
            return Err(invalid_scope(
                "a scope is outside what the operator pre-authorized for this client",
            ));
        }
    }
    let audience = match request.param("aud").or_else(|| request.param("resource")) {
        Some(aud) if services.config.is_fhir_base(aud) => {
            services.config.fhir_base(aud).unwrap_or(aud).to_owned()
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "aud is not a FHIR server this server issues tokens for",
            ));
        }
        None => services.config.fhir_base_urls[0].clone(),
    };
    let now = services.now();
    let ttl = services.config.access_token_ttl.min(MAX_TTL);
    let claims = AccessTokenClaims {
        iss: services.config.issuer.clone(),
        sub: client.client_id.clone(),
        aud: audience,
        client_id: client.client_id.clone(),
        iat: now,
        exp: now + ttl,
        jti: secrets::random_id(),
        scope: asked.to_string(),
        auth_time: None,
        fhir_user: None,
        security: Some(backend_security(client)),
        patient: None,
        encounter: None,
    };
    let access_token = sign(
        &services.keys.current(),
        Alg::Rs256,
        ACCESS_TOKEN_TYPE,
        &claims,
        now,
    )?;
    services
        .store
        .insert_client_token(
            &claims.jti,
            &client.client_id,
            claims.exp,
            &audit::entry(
                services,
                Event::new(Kind::BackendTokenIssued)
                    .client(&client.client_id)
                    .detail(asked.to_string()),
            ),
        )
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: asked.to_string(),
        id_token: None,
        refresh_token: None,
        patient: None,
        encounter: None,
        fhir_context: Vec::new(),
        need_patient_banner: None,
        intent: None,
        smart_style_url: None,
    })
}
