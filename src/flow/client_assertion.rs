//! `private_key_jwt` client authentication (RFC 7523 §2.2/§3 as profiled by SMART
//! client-confidential-asymmetric). Every failure is `invalid_client`.

use serde_json::Value;

use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::OAuthError;
use crate::services::Services;
use crate::store::{AuthMethod, Client};
use crate::tokens::client_keys;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: `exp` at most five minutes ahead (SMART).
pub const MAX_LIFETIME: i64 = 300;
/// Tolerated clock difference between the client and us.
pub const CLOCK_SKEW: i64 = 30;

fn refused(description: &'static str) -> OAuthError {
    OAuthError::invalid_client(description)
}

/// Authenticates the client that signed `assertion`.
pub async fn authenticate(
    services: &Services,
    assertion_type: &str,
    assertion: &str,
    body_client_id: Option<&str>,
) -> Result<Client, OAuthError> {
    if assertion_type != ASSERTION_TYPE {
        return Err(refused(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let peeked =
        client_keys::peek(assertion).map_err(|_| refused("client_assertion is not a JWT"))?;
    let client_id = peeked
        .iss
        .as_deref()
        .ok_or(refused("the assertion has no iss"))?;
    if peeked.sub.as_deref() != Some(client_id) {
        return Err(refused(
            "the assertion's sub must equal its iss, the client_id",
        ));
    }
    if body_client_id.is_some_and(|id| id != client_id) {
        return Err(refused("client_id differs from the assertion's issuer"));
    }
    let client = services
        .store
        .client_by_id(client_id)
        .await?
        .ok_or(refused("client authentication failed"))?;
    if client.auth_method() != AuthMethod::PrivateKeyJwt {
        return Err(refused(
            "this client does not authenticate with private_key_jwt",
        ));
    }
    let jwks: Value = match (&client.jwks, &client.jwks_uri) {
        (Some(inline), _) => serde_json::from_str(inline)
            .map_err(|_| refused("the client's registered JWKS is unreadable"))?,
        (None, Some(uri)) => services.jwks_fetcher.fetch(uri).await.map_err(|e| {
            tracing::info!(client_id = %client.client_id, error = %e, "jwks_uri fetch failed");
            refused("the client's jwks_uri could not be read")
        })?,
        (None, None) => return Err(refused("the client has no keys")),
    };
    let claims = client_keys::verify(assertion, &jwks)
        .map_err(|_| refused("the assertion's signature does not verify with the client's keys"))?;

    let now = services.now();
    let token_endpoint = services.config.endpoint("/token");
    let audience_ok = match &claims.get("aud") {
        Some(Value::String(aud)) => *aud == token_endpoint || *aud == services.config.issuer,
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a == &token_endpoint || a == &services.config.issuer),
        _ => false,
    };
    if !audience_ok {
        return Err(refused("the assertion's aud must be the token endpoint"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(refused("the assertion has no exp"))?;
    if exp <= now - CLOCK_SKEW {
        return Err(refused("the assertion has expired"));
    }
    if exp > now + MAX_LIFETIME + CLOCK_SKEW {
        return Err(refused(
            "the assertion's exp is more than five minutes ahead",
        ));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + CLOCK_SKEW)
    {
        return Err(refused("the assertion is not valid yet"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or(refused("the assertion has no jti"))?;
    if jti.len() > 256 {
        return Err(refused("the assertion's jti is too long"));
    }
    if !services
        .store
        .record_assertion_jti(&client.client_id, jti, exp + CLOCK_SKEW)
        .await?
    {
        audit::record(
            services,
            Event::new(Kind::AssertionReplayed).client(&client.client_id),
        )
        .await;
        return Err(refused("the assertion's jti was already used"));
    }
    Ok(client)
}
