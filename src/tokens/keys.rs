//! The key ring: RSA (RS256, RS384) and EC (P-256 for ES256, P-384 for ES384) signing keys,
//! one key per algorithm (RFC 7517 §4.4: a key's `alg` names the one algorithm it is used
//! with), kept in the database so every instance signs with and publishes the same keys. The newest unretired key of an algorithm
//! signs; retired keys stay in the JWKS until every token they signed has expired.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::alg::ecdsa::EcdsaJwsAlgorithm;
use josekit::jws::alg::rsassa::RsassaJwsAlgorithm;
use josekit::jws::{ES256, ES384, JwsSigner, JwsVerifier, RS256, RS384};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384};

use super::TokenError;
use crate::store::SigningKeyRow;

/// The signing algorithms Clearance holds keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alg {
    /// RS256: what OIDC Core §15.1 and SMART require for ID tokens.
    #[default]
    Rs256,
    Rs384,
    Es256,
    Es384,
}

impl Alg {
    /// RS256 first: the default, and the one every relying party can verify.
    pub const ALL: [Alg; 4] = [Alg::Rs256, Alg::Rs384, Alg::Es256, Alg::Es384];

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
        }
    }

    /// OIDC Core §3.1.3.6 `at_hash`: the left half of the hash the JWS algorithm uses
    /// (SHA-256 for RS256/ES256, SHA-384 for RS384/ES384) over the access token, base64url.
    pub fn left_half_hash(self, token: &str) -> String {
        match self {
            Alg::Rs256 | Alg::Es256 => {
                URL_SAFE_NO_PAD.encode(&Sha256::digest(token.as_bytes())[..16])
            }
            Alg::Rs384 | Alg::Es384 => {
                URL_SAFE_NO_PAD.encode(&Sha384::digest(token.as_bytes())[..24])
            }
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The josekit algorithm: an RSA key (2048 bits) or an EC key on the algorithm's curve.
    fn family(self) -> Family {
        match self {
            Alg::Rs256 => Family::Rsa(RS256),
            Alg::Rs384 => Family::Rsa(RS384),
            Alg::Es256 => Family::Ec(ES256),
            Alg::Es384 => Family::Ec(ES384),
        }
    }
}

enum Family {
    Rsa(RsassaJwsAlgorithm),
    Ec(EcdsaJwsAlgorithm),
}

/// One key, ready to sign and verify.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// When it starts signing (a rotated key is published before).
    pub activates_at: i64,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public_jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn signer(&self) -> &dyn JwsSigner {
        self.signer.as_ref()
    }

    pub fn verifier(&self) -> &dyn JwsVerifier {
        self.verifier.as_ref()
    }

    fn from_row(row: &SigningKeyRow) -> Result<SigningKey, TokenError> {
        let alg = Alg::parse(&row.alg).ok_or(TokenError::Invalid("unknown key algorithm"))?;
        let pem = &row.private_pem;
        let (signer, verifier, public_jwk): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>, Jwk) =
            match alg.family() {
                Family::Rsa(rsa) => {
                    let jwk = rsa.key_pair_from_pem(pem)?.to_jwk_public_key();
                    let verifier = rsa.verifier_from_jwk(&jwk)?;
                    (Box::new(rsa.signer_from_pem(pem)?), Box::new(verifier), jwk)
                }
                Family::Ec(ec) => {
                    let jwk = ec.key_pair_from_pem(pem)?.to_jwk_public_key();
                    let verifier = ec.verifier_from_jwk(&jwk)?;
                    (Box::new(ec.signer_from_pem(pem)?), Box::new(verifier), jwk)
                }
            };
        let mut public_jwk = public_jwk;
        public_jwk.set_key_id(&row.kid);
        public_jwk.set_algorithm(alg.name());
        public_jwk.set_key_use("sig");
        Ok(SigningKey {
            kid: row.kid.clone(),
            alg,
            created_at: row.created_at,
            retired_at: row.retired_at,
            activates_at: row.activates_at,
            signer,
            verifier,
            public_jwk,
        })
    }
}

/// Generates a new private key for `alg` and its row, with the RFC 7638 thumbprint as `kid`.
pub fn generate_key(alg: Alg, now: i64) -> Result<SigningKeyRow, TokenError> {
    let (pem, jwk) = match alg.family() {
        Family::Rsa(rsa) => {
            let pair = rsa.generate_key_pair(2048)?;
            (pair.to_pem_private_key(), pair.to_jwk_public_key())
        }
        Family::Ec(ec) => {
            let pair = ec.generate_key_pair()?;
            (pair.to_pem_private_key(), pair.to_jwk_public_key())
        }
    };
    let private_pem =
        String::from_utf8(pem).map_err(|_| TokenError::Invalid("PEM is not UTF-8"))?;
    Ok(SigningKeyRow {
        kid: jwk_thumbprint(&jwk)?,
        alg: alg.name().to_owned(),
        private_pem,
        created_at: now,
        retired_at: None,
        activates_at: now,
    })
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, compact JSON,
/// base64url. josekit has no helper for it.
pub fn jwk_thumbprint(jwk: &Jwk) -> Result<String, TokenError> {
    let required: &[&str] = match jwk.key_type() {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return Err(TokenError::Invalid("unsupported key type")),
    };
    let mut members = BTreeMap::new();
    for name in required {
        let value = jwk
            .parameter(name)
            .ok_or(TokenError::Invalid("JWK lacks a required member"))?;
        members.insert(*name, value.clone());
    }
    let canonical = serde_json::to_string(&members).map_err(|_| TokenError::Invalid("JWK"))?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// The keys loaded at one moment: the ones that sign, and every one still published.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
    /// The JWKS document, serialized once per ring (the ring is replaced, never changed).
    jwks_json: bytes::Bytes,
}

impl KeyRing {
    /// Builds the ring from stored rows. A retired key is kept while `now` is within
    /// `publish_after_retirement` seconds of its retirement.
    pub fn from_rows(
        rows: &[SigningKeyRow],
        now: i64,
        publish_after_retirement: i64,
    ) -> Result<KeyRing, TokenError> {
        let mut keys = Vec::new();
        for row in rows {
            if let Some(retired) = row.retired_at
                && retired + publish_after_retirement < now
            {
                continue;
            }
            keys.push(SigningKey::from_row(row)?);
        }
        // Newest first, so `active` finds the newest active key of an algorithm.
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        let mut ring = KeyRing {
            keys,
            jwks_json: bytes::Bytes::new(),
        };
        ring.jwks_json = bytes::Bytes::from(ring.jwks().to_string());
        Ok(ring)
    }

    /// The key that signs new tokens with `alg` at `now`: the newest one that has
    /// activated and not yet retired. A rotated key is published before it activates, and
    /// the key it replaces signs until then.
    pub fn active(&self, alg: Alg, now: i64) -> Result<&SigningKey, TokenError> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg)
            .find(|k| k.activates_at <= now && k.retired_at.is_none_or(|r| r > now))
            .ok_or(TokenError::NoKey(alg.name()))
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The serialized JWKS document, cheap to clone per request.
    pub fn jwks_json(&self) -> bytes::Bytes {
        self.jwks_json.clone()
    }

    /// The JWKS document: bare public keys with `kid`, `alg` and `use` (SMART
    /// `sso-openid-connect` requires bare JWKs; no private member ever appears).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.public_jwk.as_ref().clone()))
            .collect();
        json!({ "keys": keys })
    }
}

/// The current key ring, shared by all requests and replaced as a whole on reload.
#[derive(Debug, Default)]
pub struct Keys {
    current: RwLock<Arc<KeyRing>>,
}

impl Keys {
    pub fn new(ring: KeyRing) -> Keys {
        Keys {
            current: RwLock::new(Arc::new(ring)),
        }
    }

    pub fn current(&self) -> Arc<KeyRing> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, ring: KeyRing) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(ring);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example_and_follows_the_algorithm() {
        // OIDC Core Appendix A.3 access token and at_hash (RS256).
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(Alg::Rs256.left_half_hash(token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(Alg::Es256.left_half_hash(token), "77QmUPtjPfzWtF2AnpK9RQ");
        // SHA-384 for the 384 algorithms: 24 bytes, 32 characters.
        let h384 = Alg::Rs384.left_half_hash(token);
        assert_eq!(h384.len(), 32);
        assert_eq!(h384, Alg::Es384.left_half_hash(token));
        assert_eq!(
            h384,
            URL_SAFE_NO_PAD.encode(&Sha384::digest(token.as_bytes())[..24])
        );
    }

    #[test]
    fn every_algorithm_has_a_key_that_signs_and_verifies() {
        for alg in Alg::ALL {
            let row = generate_key(alg, 0).unwrap();
            let key = SigningKey::from_row(&row).unwrap();
            let jws = key.signer().sign(b"payload").unwrap();
            key.verifier().verify(b"payload", &jws).unwrap();
            assert_eq!(key.public_jwk.algorithm(), Some(alg.name()));
            assert_eq!(Alg::parse(alg.name()), Some(alg));
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn ring_signs_with_the_newest_key_and_publishes_retired_ones_for_a_while() {
        let old = SigningKeyRow {
            retired_at: Some(1_000),
            ..generate_key(Alg::Es256, 500).unwrap()
        };
        let new = generate_key(Alg::Es256, 1_000).unwrap();
        let rsa = generate_key(Alg::Rs256, 500).unwrap();
        let rows = vec![old.clone(), new.clone(), rsa.clone()];

        let ring = KeyRing::from_rows(&rows, 1_100, 300).unwrap();
        assert_eq!(ring.active(Alg::Es256, 1_100).unwrap().kid, new.kid);
        assert_eq!(ring.active(Alg::Rs256, 1_100).unwrap().kid, rsa.kid);
        assert!(ring.by_kid(&old.kid).is_some());
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
        for key in jwks["keys"].as_array().unwrap() {
            assert!(key.get("d").is_none(), "no private member in the JWKS");
            assert!(key["kid"].is_string());
        }

        let later = KeyRing::from_rows(&rows, 1_400, 300).unwrap();
        assert!(later.by_kid(&old.kid).is_none());
    }

    #[test]
    fn a_rotated_key_is_published_first_and_signs_only_from_its_activation() {
        let old = SigningKeyRow {
            retired_at: Some(2_000),
            ..generate_key(Alg::Rs256, 0).unwrap()
        };
        let new = SigningKeyRow {
            activates_at: 2_000,
            ..generate_key(Alg::Rs256, 1_850).unwrap()
        };
        let ring = KeyRing::from_rows(&[old.clone(), new.clone()], 1_900, 300).unwrap();
        assert!(ring.by_kid(&new.kid).is_some(), "published at once");
        assert_eq!(ring.active(Alg::Rs256, 1_900).unwrap().kid, old.kid);
        assert_eq!(ring.active(Alg::Rs256, 1_999).unwrap().kid, old.kid);
        assert_eq!(ring.active(Alg::Rs256, 2_000).unwrap().kid, new.kid);
    }
}
