//! The standalone gateway's token check (`clearance gateway`): a stateless process next to the
//! FHIR server, any number behind a load balancer. It verifies a token's signature with the
//! issuer's published JWKS (cached as its `Cache-Control` allows, refetched on an unknown
//! `kid` at most once per `REFETCH_PAUSE`), then asks the issuer's introspection endpoint
//! (RFC 7662, with the gateway's own confidential-client credentials) whether the grant is
//! still active and what the patient shares now. Introspection answers are cached for
//! `introspection_cache_seconds` (10 s by default): a revocation or "share less" reaches this
//! gateway within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Verifier;
use super::access::{Access, Denied, bearer};
use crate::gate::Gate;
use crate::labels::SecurityClaim;
use crate::tokens::claims::verify_access_token_with_jwks;
use crate::tokens::client_keys::peek;
use crate::tokens::jwks_fetch::JwksFetcher;

/// Clock skew allowed on `exp` (RFC 9068 §4: "usually no more than a few minutes").
pub const LEEWAY: i64 = 30;
/// Introspection answers kept at most (beyond this, expired ones are dropped, then all).
const MAX_CACHED: usize = 10_000;

/// Where the issuer publishes its keys and answers introspection, and who asks.
pub struct RemoteSettings {
    pub issuer: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub client_id: String,
    pub client_secret: String,
    pub cache_seconds: i64,
}

pub struct Remote {
    settings: RemoteSettings,
    keys: JwksFetcher,
    http: reqwest::Client,
    /// Introspection calls at once (and waiting): a flood of tokens cannot pile up calls.
    calls: Gate,
    /// SHA-256 of the token → (the introspection answer, when it was fetched).
    cache: Mutex<HashMap<[u8; 32], (Value, i64)>>,
}

impl Remote {
    pub fn new(settings: RemoteSettings) -> Remote {
        Remote {
            settings,
            keys: JwksFetcher::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            calls: Gate::new(32, 256, Duration::from_secs(3)),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// The issuer's introspection answer for `token`, from the cache while it is fresh.
    async fn introspect(&self, token: &str, now: i64) -> Result<Value, Denied> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Ok(cache) = self.cache.lock()
            && let Some((answer, at)) = cache.get(&key)
            && now < at + self.settings.cache_seconds
        {
            return Ok(answer.clone());
        }
        let _permit = self.calls.enter().await.ok_or(Denied::Unavailable)?;
        let response = self
            .http
            .post(&self.settings.introspection_endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "introspection failed");
                Denied::Unavailable
            })?;
        if !response.status().is_success() {
            tracing::warn!(status = %response.status(), "introspection refused the gateway");
            return Err(Denied::Unavailable);
        }
        let body = response.bytes().await.map_err(|_| Denied::Unavailable)?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| Denied::Unavailable)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                let ttl = self.settings.cache_seconds;
                cache.retain(|_, (_, at)| now < *at + ttl);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(key, (answer.clone(), now));
        }
        Ok(answer)
    }
}

#[async_trait::async_trait]
impl Verifier for Remote {
    async fn verify(&self, authorization: Option<&str>, audience: &str) -> Result<Access, Denied> {
        let token = bearer(authorization)?;
        let now = Remote::now();
        let kid = peek(token)
            .ok()
            .and_then(|p| p.kid)
            .ok_or(Denied::InvalidToken)?;
        let jwks = self
            .keys
            .keys_for(&self.settings.jwks_uri, &kid, false, now)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the issuer's JWKS cannot be read");
                Denied::Unavailable
            })?;
        let claims =
            verify_access_token_with_jwks(token, &jwks, &self.settings.issuer, now, LEEWAY)
                .map_err(|_| Denied::InvalidToken)?;
        if claims.aud != audience {
            return Err(Denied::InvalidToken);
        }
        // The signature says who issued it; introspection says whether its grant still
        // stands and what the patient shares now (it only ever narrows).
        let answer = self.introspect(token, now).await?;
        if answer["active"] != true {
            return Err(Denied::InvalidToken);
        }
        let claim: SecurityClaim = answer
            .get("security")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok())
            .or(claims.security)
            .ok_or(Denied::InvalidToken)?;
        Ok(Access::new(
            claims.client_id,
            &claims.scope,
            claims.patient,
            claims.fhir_user.as_deref(),
            claim,
        ))
    }
}
