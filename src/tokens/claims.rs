//! The claims of access tokens (RFC 9068) and ID tokens (OIDC Core §2), and signing and
//! verifying them with the key ring.

use josekit::jws::JwsHeader;
use josekit::jwt::{self, JwtPayload};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::TokenError;
use super::keys::{Alg, KeyRing};
use crate::labels::SecurityClaim;

/// RFC 9068 §2.2 claims, plus the SMART context Clearance adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The FHIR base URL the token is for, or the issuer for a plain OIDC request.
    pub aud: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub scope: String,
    /// When the user signed in; absent from backend-service tokens, where no one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    /// The patient's label choice, enforced by resource servers (PRODUCT.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityClaim>,
    /// SMART launch context: the patient and encounter the patient scopes are bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
}

/// OIDC Core §2 ID token claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    /// Authorized party: the client the token was issued to (OIDC Core §2).
    pub azp: String,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    /// The same claim as in the access token, so the app learns what it was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityClaim>,
    /// SMART v1: `profile` carried the user's FHIR resource URL for `openid profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The claims Clearance's ID tokens and UserInfo can carry (OIDC Discovery
/// `claims_supported`).
pub const CLAIMS_SUPPORTED: [&str; 16] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "fhirUser",
    "profile",
    "security",
];

/// Signs `claims` with the key active for `alg` at `now`, `kid` and `typ` in the header.
pub fn sign<T: Serialize>(
    ring: &KeyRing,
    alg: Alg,
    typ: &str,
    claims: &T,
    now: i64,
) -> Result<String, TokenError> {
    let key = ring.active(alg, now)?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let map = match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => map,
        _ => return Err(TokenError::Invalid("claims are not a JSON object")),
    };
    let payload = JwtPayload::from_map(map)?;
    Ok(jwt::encode_with_signer(&payload, &header, key.signer())?)
}

/// Decodes a JWT signed by a key of the ring: the header's `kid` picks the key, whose
/// algorithm must be the header's `alg`.
fn decode_with_ring(ring: &KeyRing, token: &str) -> Result<(JwtPayload, JwsHeader), TokenError> {
    jwt::decode_with_verifier_selector(token, |header| {
        Ok(header
            .key_id()
            .and_then(|kid| ring.by_kid(kid))
            .filter(|k| header.algorithm() == Some(k.alg.name()))
            .map(|k| k.verifier()))
    })
    .map_err(|_| TokenError::Invalid("signature"))
}

/// Verifies a JWT access token issued by us: signature with a key of the ring chosen by
/// `kid`, `typ: at+jwt` (RFC 9068 §4), issuer, and expiry. Returns its claims.
pub fn verify_access_token(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessTokenClaims, TokenError> {
    let (payload, header) = decode_with_ring(ring, token)?;
    if header.token_type() != Some(ACCESS_TOKEN_TYPE) {
        return Err(TokenError::Invalid("typ"));
    }
    let claims: AccessTokenClaims =
        serde_json::from_value(Value::Object(payload.claims_set().clone()))
            .map_err(|_| TokenError::Invalid("claims"))?;
    if claims.iss != issuer {
        return Err(TokenError::Invalid("iss"));
    }
    if claims.exp <= now {
        return Err(TokenError::Invalid("expired"));
    }
    Ok(claims)
}

/// Verifies an access token with a published key set (a resource server's view: the
/// standalone gateway holds the issuer's JWKS, not its key ring): RFC 9068 §4's `typ`, the
/// signature by the key the header's `kid` names, the issuer, and expiry with `leeway`
/// seconds of clock skew. Returns its claims.
pub fn verify_access_token_with_jwks(
    token: &str,
    jwks: &Value,
    issuer: &str,
    now: i64,
    leeway: i64,
) -> Result<AccessTokenClaims, TokenError> {
    let header = josekit::jwt::decode_header(token).map_err(|_| TokenError::Invalid("header"))?;
    if header.claim("typ").and_then(Value::as_str) != Some(ACCESS_TOKEN_TYPE) {
        return Err(TokenError::Invalid("typ"));
    }
    let claims = crate::tokens::client_keys::verify(token, jwks)?;
    let claims: AccessTokenClaims =
        serde_json::from_value(Value::Object(claims)).map_err(|_| TokenError::Invalid("claims"))?;
    if claims.iss != issuer {
        return Err(TokenError::Invalid("iss"));
    }
    if claims.exp + leeway <= now {
        return Err(TokenError::Invalid("expired"));
    }
    Ok(claims)
}

/// Verifies an ID token we issued (for `id_token_hint`): signature and issuer only; an
/// expired hint is still a valid hint (OIDC Core §3.1.2.1).
pub fn verify_id_token_hint(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
) -> Result<String, TokenError> {
    let (payload, _) = decode_with_ring(ring, token)?;
    if payload.issuer() != Some(issuer) {
        return Err(TokenError::Invalid("iss"));
    }
    payload
        .subject()
        .map(str::to_owned)
        .ok_or(TokenError::Invalid("sub"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::keys::generate_key;

    fn ring() -> KeyRing {
        let rows = vec![
            generate_key(Alg::Rs256, 0).unwrap(),
            generate_key(Alg::Es256, 0).unwrap(),
        ];
        KeyRing::from_rows(&rows, 0, 0).unwrap()
    }

    fn claims(exp: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://as.example".into(),
            sub: "u1".into(),
            aud: "https://as.example/fhir".into(),
            client_id: "c1".into(),
            iat: 100,
            exp,
            jti: "j1".into(),
            scope: "openid".into(),
            auth_time: Some(90),
            fhir_user: Some("Patient/1".into()),
            security: None,
            patient: None,
            encounter: None,
        }
    }

    #[test]
    fn access_token_round_trip_and_checks() {
        let ring = ring();
        let token = sign(&ring, Alg::Rs256, ACCESS_TOKEN_TYPE, &claims(200), 100).unwrap();
        let back = verify_access_token(&ring, &token, "https://as.example", 150).unwrap();
        assert_eq!(back.sub, "u1");
        assert_eq!(back.fhir_user.as_deref(), Some("Patient/1"));
        assert!(
            verify_access_token(&ring, &token, "https://as.example", 200).is_err(),
            "expired"
        );
        assert!(
            verify_access_token(&ring, &token, "https://other", 150).is_err(),
            "issuer"
        );
        let id_typed = sign(&ring, Alg::Rs256, "JWT", &claims(200), 100).unwrap();
        assert!(
            verify_access_token(&ring, &id_typed, "https://as.example", 150).is_err(),
            "typ"
        );
        let mut tampered = token.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        assert!(verify_access_token(&ring, &tampered, "https://as.example", 150).is_err());
        let other_ring = self::ring();
        assert!(verify_access_token(&other_ring, &token, "https://as.example", 150).is_err());
    }

    #[test]
    fn header_carries_kid_and_typ() {
        let ring = ring();
        let token = sign(&ring, Alg::Es256, ACCESS_TOKEN_TYPE, &claims(200), 100).unwrap();
        let header = jwt::decode_header(&token).unwrap();
        assert_eq!(
            header.claim("kid").unwrap(),
            ring.active(Alg::Es256, 100).unwrap().kid.as_str()
        );
        assert_eq!(header.claim("typ").unwrap(), "at+jwt");
        assert_eq!(header.claim("alg").unwrap(), "ES256");
    }
}
