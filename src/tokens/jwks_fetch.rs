//! Fetching a client's `jwks_uri`: https only (http on loopback for the operator's own
//! clients), a timeout, a size limit, no redirects, a bounded number of fetches at once, and
//! a cache that also remembers failures.
//!
//! A key set is reused while its `Cache-Control: max-age` allows (at most an hour); a `kid`
//! it does not hold triggers a refetch, but never sooner than [`REFETCH_PAUSE`] after the
//! last fetch of that URI, successful or not, so that unauthenticated requests cannot make
//! the server fetch at will. For self-registered clients the address is checked after name
//! resolution (so DNS cannot point it inward): loopback, private, link-local and other
//! non-public addresses are refused (RFC 9700 §4.11 on server-side requests; blind SSRF).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::client_keys::{validate_jwks, validate_jwks_uri};
use crate::gate::Gate;

/// The largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The longest a document is kept, whatever its headers say (seconds).
pub const MAX_CACHE: i64 = 3600;
/// The shortest time between two fetches of one URI, and how long a failure is remembered.
pub const REFETCH_PAUSE: i64 = 10;

struct Entry {
    result: Result<Value, String>,
    fetched_at: i64,
    fresh_until: i64,
}

pub struct JwksFetcher {
    /// For the operator's clients: any address.
    open: reqwest::Client,
    /// For self-registered clients: public addresses only, checked after resolution.
    public_only: reqwest::Client,
    cache: Mutex<HashMap<String, Entry>>,
    fetches: Gate,
}

impl Default for JwksFetcher {
    fn default() -> Self {
        JwksFetcher::new()
    }
}

/// `max-age` from a Cache-Control value, within [`REFETCH_PAUSE`, `MAX_CACHE`]; a response
/// without one (or `no-store`, `no-cache`) is kept only for the refetch pause.
fn cache_lifetime(cache_control: Option<&str>) -> i64 {
    let Some(value) = cache_control.map(str::to_ascii_lowercase) else {
        return REFETCH_PAUSE;
    };
    if value.contains("no-store") || value.contains("no-cache") {
        return REFETCH_PAUSE;
    }
    value
        .split(',')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|v| v.trim_matches('"').parse::<i64>().ok())
        .map_or(REFETCH_PAUSE, |s| s.clamp(REFETCH_PAUSE, MAX_CACHE))
}

/// Is this an address of the public internet (not loopback, private, link-local, shared,
/// documentation, multicast or unspecified)?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A self-registered client's `jwks_uri`: https, and not a name or literal address that is
/// known to be internal. (Names are checked again after resolution, at fetch time.)
pub fn validate_public_jwks_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("jwks_uri {uri:?} is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!("jwks_uri {uri:?} must use https"));
    }
    let internal = match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
        }
        None => true,
    };
    if internal {
        return Err(format!(
            "jwks_uri {uri:?} names an internal address; it must be reachable on the internet"
        ));
    }
    Ok(())
}

/// Resolves names to public addresses only (the check happens on the addresses actually
/// connected to, so a name that resolves inward is refused).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn http_client(public_only: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none());
    let builder = if public_only {
        builder.dns_resolver(Arc::new(PublicOnly))
    } else {
        builder
    };
    builder.build().unwrap_or_default()
}

impl JwksFetcher {
    pub fn new() -> JwksFetcher {
        JwksFetcher {
            open: http_client(false),
            public_only: http_client(true),
            cache: Mutex::new(HashMap::new()),
            fetches: Gate::new(8, 32, Duration::from_secs(5)),
        }
    }

    /// The key set at `uri` for an assertion whose header names `kid`: from the cache while
    /// it is fresh and holds that `kid`, else fetched (at most once per refetch pause).
    pub async fn keys_for(
        &self,
        uri: &str,
        kid: &str,
        public_only: bool,
        now: i64,
    ) -> Result<Value, String> {
        if public_only {
            validate_public_jwks_uri(uri)?;
        } else {
            validate_jwks_uri(uri)?;
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(entry) = cache.get(uri)
        {
            let holds_kid = entry.result.as_ref().is_ok_and(|jwks| {
                jwks["keys"]
                    .as_array()
                    .is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid))
            });
            if (holds_kid && now < entry.fresh_until) || now < entry.fetched_at + REFETCH_PAUSE {
                return entry.result.clone();
            }
        }
        let Some(_permit) = self.fetches.enter().await else {
            return Err("too many key set fetches at once".into());
        };
        let (result, lifetime) = self.fetch(uri, public_only).await;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, e| now < e.fresh_until);
            }
            cache.insert(
                uri.to_owned(),
                Entry {
                    result: result.clone(),
                    fetched_at: now,
                    fresh_until: now + lifetime,
                },
            );
        }
        result
    }

    async fn fetch(&self, uri: &str, public_only: bool) -> (Result<Value, String>, i64) {
        let http = if public_only {
            &self.public_only
        } else {
            &self.open
        };
        let mut response = match http.get(uri).send().await {
            Ok(r) => r,
            Err(e) => return (Err(format!("cannot fetch: {e}")), REFETCH_PAUSE),
        };
        if !response.status().is_success() {
            return (
                Err(format!("jwks_uri answered {}", response.status())),
                REFETCH_PAUSE,
            );
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_JWKS_BYTES)
        {
            return (Err("the JWKS is too large".into()), REFETCH_PAUSE);
        }
        let lifetime = cache_lifetime(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_JWKS_BYTES {
                        return (Err("the JWKS is too large".into()), REFETCH_PAUSE);
                    }
                }
                Ok(None) => break,
                Err(e) => return (Err(format!("cannot read: {e}")), REFETCH_PAUSE),
            }
        }
        let result = serde_json::from_slice::<Value>(&body)
            .map_err(|_| "the JWKS is not JSON".to_owned())
            .and_then(|jwks| validate_jwks(&jwks).map(|()| jwks));
        match result {
            Ok(jwks) => (Ok(jwks), lifetime),
            Err(e) => (Err(e), REFETCH_PAUSE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetimes_follow_cache_control_within_bounds() {
        assert_eq!(cache_lifetime(None), REFETCH_PAUSE);
        assert_eq!(cache_lifetime(Some("no-store")), REFETCH_PAUSE);
        assert_eq!(cache_lifetime(Some("max-age=60, no-cache")), REFETCH_PAUSE);
        assert_eq!(cache_lifetime(Some("public, max-age=60")), 60);
        assert_eq!(cache_lifetime(Some("max-age=0")), REFETCH_PAUSE);
        assert_eq!(cache_lifetime(Some("max-age=999999")), MAX_CACHE);
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        assert!(validate_public_jwks_uri("https://keys.example.org/jwks").is_ok());
        for refused in [
            "http://keys.example.org/jwks",
            "https://127.0.0.1/jwks",
            "https://[::1]/jwks",
            "https://169.254.169.254/latest",
            "https://localhost/jwks",
            "https://10.0.0.5:8443/keys",
        ] {
            assert!(validate_public_jwks_uri(refused).is_err(), "{refused}");
        }
    }
}
