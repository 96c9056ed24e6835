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

/// Authenticates the client that signed `assertion`. Everything that can be checked
/// without the client's keys is checked first (type, `alg`, `kid`, `iss`/`sub`, `aud`,
/// `exp`, `jti`), so that a malformed or stale assertion never makes the server fetch a key
/// set; the signature is then verified and the `jti` recorded last.
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
    if !client_keys::ASSERTION_ALGS.contains(&peeked.alg.as_str()) {
        return Err(refused(
            "the assertion's alg must be RS384, ES384, RS256 or ES256",
        ));
    }
    let kid = peeked
        .kid
        .as_deref()
        .ok_or(refused("the assertion's header has no kid"))?;
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
    let now = services.now();
    check_claims(services, &peeked.claims, now)?;
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
        (None, Some(uri)) => {
            let public_only =
                client.is_dynamically_registered() && !services.config.jwks_uri_allow_private;
            services
                .jwks_fetcher
                .keys_for(uri, kid, public_only, now)
                .await
                .map_err(|e| {
                    tracing::info!(client_id = %client.client_id, error = %e, "jwks_uri fetch failed");
                    refused("the client's jwks_uri could not be read")
                })?
        }
        (None, None) => return Err(refused("the client has no keys")),
    };
    let claims = client_keys::verify(assertion, &jwks)
        .map_err(|_| refused("the assertion's signature does not verify with the client's keys"))?;
    let claims = Value::Object(claims);
    let jti = check_claims(services, &claims, now)?;
    if !services
        .store
        .record_assertion_jti(
            &client.client_id,
            &jti,
            claims["exp"].as_i64().unwrap_or(now) + CLOCK_SKEW,
        )
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

/// RFC 7523 §3 claim checks (`aud`, `exp`, `nbf`, `jti`); returns the `jti`.
fn check_claims(services: &Services, claims: &Value, now: i64) -> Result<String, OAuthError> {
    let token_endpoint = services.config.endpoint("/token");
    let audience_ok = match claims.get("aud") {
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
    Ok(jti.to_owned())
}
