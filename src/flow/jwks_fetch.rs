//! Fetching a client's `jwks_uri`: https only (http on loopback for development), a timeout,
//! a size limit, no redirects, and a cache that keeps a document no longer than its
//! `Cache-Control` allows (no header, `no-store` or `no-cache`: not kept at all).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::tokens::client_keys::{validate_jwks, validate_jwks_uri};

/// The largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The longest a document is kept, whatever its headers say.
pub const MAX_CACHE: Duration = Duration::from_secs(3600);

pub struct JwksFetcher {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Value, Instant)>>,
}

impl Default for JwksFetcher {
    fn default() -> Self {
        JwksFetcher::new()
    }
}

/// `max-age` from a Cache-Control value; `None` when the response may not be reused.
fn cache_lifetime(cache_control: Option<&str>) -> Option<Duration> {
    let value = cache_control?.to_ascii_lowercase();
    if value.contains("no-store") || value.contains("no-cache") {
        return None;
    }
    let seconds: u64 = value
        .split(',')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|v| v.trim_matches('"').parse().ok())?;
    (seconds > 0).then(|| Duration::from_secs(seconds).min(MAX_CACHE))
}

impl JwksFetcher {
    pub fn new() -> JwksFetcher {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        JwksFetcher {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The JWKS at `uri`, from the cache while it is fresh.
    pub async fn fetch(&self, uri: &str) -> Result<Value, String> {
        validate_jwks_uri(uri)?;
        if let Ok(cache) = self.cache.lock()
            && let Some((jwks, until)) = cache.get(uri)
            && Instant::now() < *until
        {
            return Ok(jwks.clone());
        }
        let mut response = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| format!("cannot fetch: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("jwks_uri answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_JWKS_BYTES)
        {
            return Err("the JWKS is too large".into());
        }
        let lifetime = cache_lifetime(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("cannot read: {e}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err("the JWKS is too large".into());
            }
        }
        let jwks: Value =
            serde_json::from_slice(&body).map_err(|_| "the JWKS is not JSON".to_owned())?;
        validate_jwks(&jwks)?;
        if let Ok(mut cache) = self.cache.lock() {
            match lifetime {
                Some(lifetime) => {
                    cache.insert(uri.to_owned(), (jwks.clone(), Instant::now() + lifetime));
                }
                None => {
                    cache.remove(uri);
                }
            }
        }
        Ok(jwks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetimes_follow_cache_control() {
        assert_eq!(cache_lifetime(None), None);
        assert_eq!(cache_lifetime(Some("no-store")), None);
        assert_eq!(cache_lifetime(Some("max-age=60, no-cache")), None);
        assert_eq!(
            cache_lifetime(Some("public, max-age=60")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(cache_lifetime(Some("max-age=0")), None);
        assert_eq!(cache_lifetime(Some("max-age=999999")), Some(MAX_CACHE));
    }
}
