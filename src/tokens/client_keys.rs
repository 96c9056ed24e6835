//! Clients' public keys (`private_key_jwt`, RFC 7523 as profiled by SMART
//! client-confidential-asymmetric): checking a registered JWKS, and verifying the signature
//! of a client assertion with the key its `kid` names.

use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{ES256, ES384, JwsVerifier, RS256, RS384};
use josekit::jwt::{self, JwtPayload};
use serde_json::Value;
use url::Url;

use super::TokenError;

/// The client assertion algorithms accepted: SMART requires RS384 and ES384; RS256 and
/// ES256 are accepted too.
pub const ASSERTION_ALGS: [&str; 4] = ["RS384", "ES384", "RS256", "ES256"];

/// Checks a JWKS document: a `keys` array of public RSA or EC keys, each with a `kid`.
pub fn validate_jwks(jwks: &Value) -> Result<(), String> {
    let keys = jwks["keys"].as_array().ok_or("a JWKS needs a keys array")?;
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    for key in keys {
        let kty = key["kty"].as_str().unwrap_or("");
        if !matches!(kty, "RSA" | "EC") {
            return Err(format!("key type {kty:?} is not supported (RSA or EC)"));
        }
        if key.get("d").is_some() {
            return Err("the JWKS holds a private key; register the public keys only".into());
        }
        if key["kid"].as_str().is_none_or(str::is_empty) {
            return Err("every key needs a kid".into());
        }
        Jwk::from_map(key.as_object().cloned().unwrap_or_default())
            .map_err(|e| format!("a key is malformed: {e}"))?;
    }
    Ok(())
}

pub fn validate_jwks_text(text: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    validate_jwks(&value)
}

/// A `jwks_uri` is https, or http on a loopback host for development.
pub fn validate_jwks_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("jwks_uri {uri:?} is not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "jwks_uri {uri:?} must use https (http only on loopback)"
        )),
    }
}

/// The unverified header and claims of an assertion: enough to find the client and its key.
pub struct Peeked {
    pub alg: String,
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub sub: Option<String>,
    /// Every claim, unverified: checked before the key set is fetched, and again after.
    pub claims: Value,
}

pub fn peek(assertion: &str) -> Result<Peeked, TokenError> {
    let header = jwt::decode_header(assertion).map_err(|_| TokenError::Invalid("header"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Invalid("alg"))?
        .to_owned();
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let payload = assertion
        .split('.')
        .nth(1)
        .ok_or(TokenError::Invalid("payload"))?;
    let claims: Value =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Invalid("payload"))?;
    Ok(Peeked {
        alg,
        kid,
        iss: claims["iss"].as_str().map(str::to_owned),
        sub: claims["sub"].as_str().map(str::to_owned),
        claims,
    })
}

fn verifier(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, TokenError> {
    Ok(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk)?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk)?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk)?),
        _ => return Err(TokenError::Invalid("alg")),
    })
}

/// Verifies the assertion's signature with the key of `jwks` whose `kid` matches the header's
/// (SMART: `kid` is required and selects the key), using the header's algorithm, which must
/// be one of `ASSERTION_ALGS` and fit the key. Returns the claims.
pub fn verify(assertion: &str, jwks: &Value) -> Result<serde_json::Map<String, Value>, TokenError> {
    let peeked = peek(assertion)?;
    if !ASSERTION_ALGS.contains(&peeked.alg.as_str()) {
        return Err(TokenError::Invalid("alg"));
    }
    let kid = peeked.kid.ok_or(TokenError::Invalid("kid"))?;
    let set = JwkSet::from_bytes(jwks.to_string().as_bytes())?;
    let candidates = set.get(&kid);
    let mut last = TokenError::Invalid("no key with that kid");
    for jwk in candidates {
        if jwk.algorithm().is_some_and(|a| a != peeked.alg) {
            continue;
        }
        let verifier = match verifier(&peeked.alg, jwk) {
            Ok(v) => v,
            Err(e) => {
                last = e;
                continue;
            }
        };
        match jwt::decode_with_verifier(assertion, verifier.as_ref()) {
            Ok((payload, _)) => return Ok(claims_of(payload)),
            Err(_) => last = TokenError::Invalid("signature"),
        }
    }
    Err(last)
}

fn claims_of(payload: JwtPayload) -> serde_json::Map<String, Value> {
    payload.claims_set().clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::KeyPair;
    use josekit::jws::JwsHeader;
    use serde_json::json;

    fn es384_pair(kid: &str) -> (josekit::jwk::alg::ec::EcKeyPair, Value) {
        let pair = ES384.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id(kid);
        let jwks = json!({"keys": [Value::Object(public.as_ref().clone())]});
        (pair, jwks)
    }

    fn sign(pair: &josekit::jwk::alg::ec::EcKeyPair, kid: &str) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id(kid);
        let mut payload = JwtPayload::new();
        payload.set_issuer("c1");
        let signer = ES384.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap();
        jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    }

    #[test]
    fn the_kid_selects_the_key() {
        let (pair, jwks) = es384_pair("k1");
        assert_eq!(verify(&sign(&pair, "k1"), &jwks).unwrap()["iss"], "c1");
        assert!(verify(&sign(&pair, "k2"), &jwks).is_err(), "unknown kid");
        let (other, _) = es384_pair("k1");
        assert!(
            verify(&sign(&other, "k1"), &jwks).is_err(),
            "another key with the same kid"
        );
    }

    #[test]
    fn jwks_checks() {
        let (_, jwks) = es384_pair("k1");
        assert!(validate_jwks(&jwks).is_ok());
        assert!(validate_jwks(&json!({"keys": []})).is_err());
        assert!(validate_jwks(&json!({"keys": [{"kty": "oct", "k": "x", "kid": "a"}]})).is_err());
        let mut private = jwks.clone();
        private["keys"][0]["d"] = json!("secret");
        assert!(validate_jwks(&private).is_err());
        let mut no_kid = jwks.clone();
        no_kid["keys"][0].as_object_mut().unwrap().remove("kid");
        assert!(validate_jwks(&no_kid).is_err());
        assert!(validate_jwks_uri("https://app.example/jwks").is_ok());
        assert!(validate_jwks_uri("http://127.0.0.1:9000/jwks").is_ok());
        assert!(validate_jwks_uri("http://app.example/jwks").is_err());
    }
}
